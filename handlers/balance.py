"""/balance: data left, expiry and status of every line, in the reader's language."""

from __future__ import annotations

import asyncio
import logging

from bot.context import Context
from bot.errors import provider_message
from bot.messages import Choice, Incoming, Reply
from bot.records import Line
from handlers import actions
from handlers.render import describe, offer_auto, render_balance
from providers.base import EsimBalance
from providers.errors import OperatorMustAct, ProviderError

log = logging.getLogger(__name__)
OVERVIEW_FROM = 3  # more lines than this: one line each, details a tap away
ALL = ("all", "alle", "全部")


async def _ask(ctx: Context, line: Line) -> EsimBalance:
    """The provider's balance, every failure a ``ProviderError`` (the adapter owns the deadline)."""
    provider = ctx.providers.get(line.provider)
    if provider is None:
        raise OperatorMustAct(line.provider, "provider not configured")
    return await provider.balance(line.ref)


async def fetch(ctx: Context, line: Line) -> tuple[EsimBalance | None, str | None]:
    """The provider's balance, or the last known one with the reason it is stale (None: no figures)."""
    try:
        bal = await _ask(ctx, line)
    except ProviderError as exc:
        reason = ctx.t(provider_message(exc), provider=ctx.t.provider(line.provider))
        return await ctx.lines.last_balance(line), reason
    await ctx.lines.seen(line, bal)
    return bal, None


async def fetch_and_render(ctx: Context, line: Line) -> str:
    """Ask the provider; when it fails, show the last known value with its age."""
    bal, reason = await fetch(ctx, line)
    if bal is None:
        return ctx.t("balance.unavailable", label=line.label, reason=reason)
    rules = [describe(ctx.t, rule) for rule in await ctx.rules.auto_rules(line)]
    return "\n".join([await render_balance(ctx, line, bal, stale_reason=reason), *rules])


async def balance(incoming: Incoming, ctx: Context) -> Reply:
    """Show one line (by label), an overview of many, or every line in full (``all``)."""
    arg = " ".join(incoming.args)
    every = not arg or arg.casefold() in ALL
    lines = await ctx.lines.all() if every else [await ctx.find_line(arg)]
    if not lines:
        return Reply(ctx.t("lines.none", prefix=ctx.prefix))
    header = (
        [ctx.t.plural("balance.family_header", len(lines))]
        if ctx.household.family and len(lines) > 1
        else [ctx.t.plural("lines.header", len(lines))]
        if not arg and len(lines) > OVERVIEW_FROM
        else []
    )
    if not arg and len(lines) > OVERVIEW_FROM:
        return await overview(ctx, lines, header)
    texts = await asyncio.gather(*(fetch_and_render(ctx, line) for line in lines))
    auto = len(lines) == 1 and await offer_auto(ctx, lines[0])
    return Reply("\n\n".join([*header, *texts]), choices=actions.under_balance(ctx, lines, auto=auto), keep=True)


async def overview(ctx: Context, lines: list[Line], header: list[str]) -> Reply:
    """One line per eSIM (name, data left, expiry), the details a tap away: fits a phone."""
    found = await asyncio.gather(*(fetch(ctx, line) for line in lines))
    items = [overview_item(ctx, line, bal) for line, (bal, _reason) in zip(lines, found, strict=True)]
    every = ctx.cmd("balance " + ctx.t("balance.all_keyword"))  # "/balance alle" in nb: each word in ALL works
    return Reply(
        "\n".join([*header, *items, ctx.t("balance.overview", all=every)]),
        choices=tuple(Choice(line.label, ctx.cmd(f"balance {line.label}")) for line in lines),
        keep=True,
    )


def overview_item(ctx: Context, line: Line, bal: EsimBalance | None) -> str:
    t = ctx.t
    data = (
        "–"
        if bal is None
        else t("plan.unlimited")
        if bal.data_unlimited
        else t.data(bal.data_remaining_bytes)
        if bal.data_remaining_bytes is not None
        else "–"
    )
    expires = bal.expires_at if bal is not None else None
    expiry = (
        "–"
        if expires is None
        else t("status.expired")
        if expires <= ctx.now
        else t("balance.overview_expires", relative=t.days(expires, ctx.now))
    )
    return t("balance.overview_item", label=line.label, data=data, expiry=expiry)
