"""/balance: data left, expiry and status of every line, in the reader's language."""

from __future__ import annotations

import asyncio
import logging

from bot.context import Context
from bot.errors import provider_message
from bot.messages import Incoming, Reply
from bot.records import Line
from handlers import actions
from handlers.render import render_balance
from providers.base import EsimBalance
from providers.errors import OperatorMustAct, ProviderError, Unavailable

log = logging.getLogger(__name__)
FETCH_TIMEOUT = 15.0


async def _ask(ctx: Context, line: Line) -> EsimBalance:
    """The provider's balance, every failure a ``ProviderError`` (a hung call is ``Unavailable``)."""
    provider = ctx.providers.get(line.provider)
    if provider is None:
        raise OperatorMustAct(line.provider, "provider not configured")
    try:
        return await asyncio.wait_for(provider.balance(line.ref), FETCH_TIMEOUT)
    except TimeoutError as exc:
        raise Unavailable(line.provider, f"no balance within {FETCH_TIMEOUT:.0f} s") from exc


async def fetch_and_render(ctx: Context, line: Line) -> str:
    """Ask the provider; when it fails, show the last known value with its age."""
    try:
        bal = await _ask(ctx, line)
    except ProviderError as exc:
        reason = ctx.t(provider_message(exc), provider=ctx.t.provider(line.provider))
        last = await ctx.lines.last_balance(line)
        if last is None:
            return ctx.t("balance.unavailable", label=line.label, reason=reason)
        return await render_balance(ctx, line, last, stale_reason=reason)
    await ctx.lines.seen(line, bal)
    return await render_balance(ctx, line, bal)


async def balance(incoming: Incoming, ctx: Context) -> Reply:
    """Show the balance of one line (by label) or of all lines in this chat."""
    arg = " ".join(incoming.args)
    lines = await ctx.lines.all() if not arg or arg.casefold() in ("all", "alle", "全部") else [await ctx.find_line(arg)]
    if not lines:
        return Reply(ctx.t("lines.none", prefix=ctx.prefix))
    texts = await asyncio.gather(*(fetch_and_render(ctx, line) for line in lines))
    header = [ctx.t.plural("balance.family_header", len(lines))] if ctx.household.family and len(lines) > 1 else []
    return Reply("\n\n".join([*header, *texts]), choices=actions.under_balance(ctx, lines), keep=True)
