"""/link, /unlink, /lines and /left: which lines a household watches."""

from __future__ import annotations

import secrets
from datetime import timedelta

from bot.context import Context, mask_iccid
from bot.errors import BotError, OneOf, RateLimitedUser, UsageError
from bot.messages import Incoming, Reply
from bot.records import Line, Pending, PendingKind
from handlers import actions, parsing, values
from handlers.render import line_summary, render_balance
from providers.base import EsimBalance, HandTracked, Provider
from providers.errors import ClaimRejected, NotFound, ProviderError

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=1)
MAX_LINES = 50
OPERATORS = ("telenor", "telia", "ice", "talkmore", "onecall", "chilimobil", "mycall", "nicemobil", "happybytes", "other")


async def link(incoming: Incoming, ctx: Context) -> Reply | list[Reply]:
    """Link an eSIM by ICCID and activation code, or a manual line."""
    args = incoming.args
    hand = ctx.hand_tracker()
    if hand is not None and args and args[0].casefold() == hand.name:
        return await link_manual(hand, args[1:], ctx)
    args = tuple(word for arg in args for word in arg.split())  # no value here keeps a no-break space
    if len(args) < 2:
        raise UsageError("link.usage", prefix=ctx.prefix)
    iccid, rest = parsing.take_iccid(args)
    named = [a.split("=", 1)[1].lower() for a in rest if a.lower().startswith("provider=")]
    rest = tuple(a for a in rest if not a.lower().startswith("provider="))
    if not rest:
        raise UsageError("link.usage", prefix=ctx.prefix)
    code, label_words = parsing.normalize(rest[0]), rest[1:]  # full-width letters from CJK keyboards
    label = parsing.parse_label(" ".join(label_words)) if label_words else f"esim-{iccid[-4:]}"
    await _check_attempts(ctx)
    existing = await ctx.lines.linked_anywhere(iccid)
    if existing is not None and existing.household_id == ctx.household.id:
        raise BotError("link.already_here", label=existing.label)
    await _check_room(ctx, label)
    provider = await _claim(ctx, iccid, code, named[0] if named else None)
    if existing is not None:
        # Said only after the code proved possession, so nobody can probe which ICCIDs are in use.
        raise BotError("link.already_elsewhere")
    line = Line(
        id=secrets.token_hex(4),
        household_id=ctx.household.id,
        label=label,
        owner=ctx.actor,
        owner_name=incoming.display_name[:40],
        provider=provider.name,
        ref=iccid,
        created_at=ctx.now,
    )
    return await _linked(ctx, line, await _first_balance(ctx, provider, line))


async def _check_attempts(ctx: Context) -> None:
    failures = await ctx.attempts.failed_since(ctx.actor, ctx.now - FAILURE_WINDOW)
    if failures >= MAX_FAILURES:
        raise RateLimitedUser(n=int(FAILURE_WINDOW.total_seconds() // 60))


async def _check_room(ctx: Context, label: str) -> None:
    lines = await ctx.lines.all()
    if len(lines) >= MAX_LINES:
        raise BotError("link.too_many", n=MAX_LINES)
    if any(line.label.casefold() == label.casefold() for line in lines):
        raise BotError("link.label_taken", label=label)


async def _claim(ctx: Context, iccid: str, code: str, named: str | None) -> Provider:
    claimable = {name: p for name, p in ctx.providers.items() if not isinstance(p, HandTracked)}
    candidates = [p for name, p in claimable.items() if named in (None, name)]
    if named is not None and not candidates:
        raise UsageError("link.unknown_provider", provider=named[:20], providers=OneOf(claimable))
    for provider in candidates:
        try:
            await provider.verify_claim(iccid, code)
            return provider
        except NotFound:
            continue
        except ClaimRejected:
            await ctx.attempts.failed(ctx.actor, ctx.now)
            raise
    await ctx.attempts.failed(ctx.actor, ctx.now)
    raise BotError("link.unknown_iccid", iccid=mask_iccid(iccid))


async def _first_balance(ctx: Context, provider: Provider, line: Line) -> EsimBalance | None:
    try:
        return await provider.balance(line.ref)
    except ProviderError:
        return None


async def _linked(ctx: Context, line: Line, bal: EsimBalance | None) -> Reply:
    warnings = await ctx.lines.add(line, bal)
    parts = [
        ctx.t("link.done_manual", label=line.label)
        if ctx.hand_tracked(line) is not None
        else ctx.t("link.done", label=line.label, iccid=mask_iccid(line.ref))
    ]
    parts += [ctx.t(w.msgid, **w.params) for w in warnings]
    if bal is not None:
        parts.append(await render_balance(ctx, line, bal))
    return Reply("\n\n".join(parts), choices=actions.under_balance(ctx, [line]), keep=True)


async def link_manual(hand: HandTracked, args: tuple[str, ...], ctx: Context) -> Reply:
    """/link manual <operator> <label> <GB> <expiry date>"""
    if len(args) < 4:
        raise UsageError("link.manual_usage", prefix=ctx.prefix)
    operator = parsing.normalize(args[0]).casefold()
    if operator not in OPERATORS:
        raise UsageError(
            "link.unknown_operator", operator=args[0][:20], operators=OneOf((*OPERATORS[:-1], ctx.t("link.operator_other")))
        )
    today = ctx.t.local(ctx.now).date()
    words, total, expires = values.label_size_date(args[1:], ctx.t.lang, ctx.household.timezone, today)
    label = parsing.parse_label(" ".join(words))
    await _check_room(ctx, label)
    ref = await hand.track(operator=operator, total_bytes=total, expires_at=expires, now=ctx.now)
    line = Line(
        id=secrets.token_hex(4),
        household_id=ctx.household.id,
        label=label,
        owner=ctx.actor,
        owner_name=ctx.incoming.display_name[:40],
        provider=hand.name,
        ref=ref,
        created_at=ctx.now,
    )
    return await _linked(ctx, line, await hand.balance(ref))


async def left(incoming: Incoming, ctx: Context) -> Reply:
    """/left <label> <amount>: record what a manual line has left (``2,5 GB``, ``0 MB``, ``20 %``)."""
    if len(incoming.args) < 2:
        raise UsageError("left.usage", prefix=ctx.prefix)
    line, amount = await values.line_and_amount(ctx, incoming.args)
    ctx.require_manager(line)
    hand = ctx.hand_tracked(line)
    if hand is None:
        raise BotError("left.not_manual", label=line.label)
    total = (await hand.balance(line.ref)).data_total_bytes
    remaining = values.amount_left(" ".join(amount), ctx.t.lang, total)
    await hand.set_remaining(line.ref, remaining, ctx.now)
    bal = await hand.balance(line.ref)
    await ctx.lines.seen(line, bal)
    return Reply(await render_balance(ctx, line, bal))


async def lines(incoming: Incoming, ctx: Context) -> Reply:
    """List the household's lines with masked ICCIDs."""
    found = await ctx.lines.all()
    if not found:
        return Reply(ctx.t("lines.none", prefix=ctx.prefix))
    items = [await line_summary(ctx, line) for line in found]
    return Reply("\n".join([ctx.t.plural("lines.header", len(found)), *items]))


async def unlink(incoming: Incoming, ctx: Context) -> Reply:
    """Ask to remove a line; /confirm does it."""
    if not incoming.args:
        raise UsageError("unlink.usage", prefix=ctx.prefix)
    line = await ctx.find_line(" ".join(incoming.args))
    ctx.require_manager(line)
    token = secrets.token_urlsafe(6)
    await ctx.orders.ask(
        Pending(
            token=token,
            kind=PendingKind.UNLINK,
            household_id=ctx.household.id,
            line_id=line.id,
            actor=ctx.actor,
            created_at=ctx.now,
        )
    )
    return Reply(ctx.t("unlink.ask", label=line.label), choices=actions.remove_or_cancel(ctx, token))
