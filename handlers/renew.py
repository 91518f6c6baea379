"""/renew -> plan choices -> /buy -> confirmation -> /confirm orders exactly once; /cap."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from bot.context import Context
from bot.errors import BotError, NotAllowed, UsageError
from bot.messages import Choice, Incoming, Reply
from bot.records import Household, Line, OrderRecord, Pending, PendingKind, PendingState
from handlers import actions, parsing
from handlers.balance import fetch_and_render
from handlers.render import howto_command, plan_label
from providers.base import Money, OrderStatus, Plan
from providers.errors import OutcomeUnknown, ProviderError

PENDING_TTL = timedelta(minutes=15)
SPENT = (OrderStatus.COMPLETED.value, OrderStatus.PENDING.value, OrderStatus.UNKNOWN.value)


async def renew(incoming: Incoming, ctx: Context) -> Reply:
    """Offer the top-ups that fit a line."""
    lines = await ctx.lines.all()
    if not lines:
        return Reply(ctx.t("lines.none", prefix=ctx.prefix))
    if not incoming.args and len(lines) > 1:
        return Reply(ctx.t("renew.which"), choices=tuple(Choice(line.label, f"{ctx.prefix}renew {line.label}") for line in lines))
    line = await ctx.find_line(" ".join(incoming.args)) if incoming.args else lines[0]
    ctx.require_manager(line)
    provider = ctx.providers.get(line.provider)
    if provider is None or not provider.supports_topup:
        howto = await howto_command(ctx, line)
        return Reply(ctx.t("renew.manual", label=line.label, howto=howto), choices=(Choice(ctx.t("button.howto"), howto),))
    plans = await provider.plans(line.ref)
    if not plans:
        return Reply(ctx.t("provider.topup_not_allowed", provider=ctx.t.provider(line.provider)))
    return Reply(
        ctx.t("renew.choose", label=line.label),
        choices=tuple(Choice(plan_label(ctx, p), f"{ctx.prefix}buy {line.id} {p.id}") for p in plans[:10]),
    )


async def buy(incoming: Incoming, ctx: Context) -> Reply:
    """A plan was chosen: check rights and cap, then ask for confirmation."""
    if len(incoming.args) != 2:
        raise UsageError("renew.usage", prefix=ctx.prefix)
    line = await _line_by_id(ctx, incoming.args[0])
    ctx.require_manager(line)
    plan = await _plan(ctx, line, incoming.args[1])
    await _check_cap(ctx, plan.price)
    token = secrets.token_urlsafe(6)
    await ctx.orders.ask(
        Pending(
            token=token,
            kind=PendingKind.TOPUP,
            household_id=ctx.household.id,
            line_id=line.id,
            actor=ctx.actor,
            created_at=ctx.now,
            plan_id=plan.id,
            plan_title=plan_label(ctx, plan),
            price=plan.price,
        )
    )
    return Reply(
        ctx.t("renew.confirm", label=line.label, plan=plan_label(ctx, plan)),
        choices=actions.pay_or_cancel(ctx, plan.price, token),
    )


async def confirm(incoming: Incoming, ctx: Context) -> Reply:
    """Carry out a confirmed action once; a second confirmation only reports the first."""
    pending, line = await _pending(ctx, incoming)
    if pending.state == PendingState.DONE:
        return Reply(ctx.t("confirm.already_done"))
    if pending.state == PendingState.CANCELLED:
        return Reply(_cancelled(ctx, pending, line))
    if pending.state == PendingState.PLACING:
        return await _reconcile(ctx, pending, line)
    if ctx.now - pending.created_at > PENDING_TTL:
        raise BotError("confirm.expired", renew=ctx.cmd("renew"))
    if pending.kind == "unlink":
        await ctx.orders.close(pending, PendingState.DONE)
        await ctx.lines.remove(line)
        return Reply(ctx.t("unlink.done", label=line.label))
    assert pending.price is not None and pending.plan_id is not None
    await _check_cap(ctx, pending.price)
    return await _place(ctx, pending, line)


async def _place(ctx: Context, pending: Pending, line: Line) -> Reply:
    # The order and its client reference are durable before the provider hears of them.
    order = OrderRecord(
        client_ref=pending.token,
        household_id=ctx.household.id,
        line_id=line.id,
        provider=line.provider,
        iccid=line.ref,
        plan_id=pending.plan_id or "",
        status=OrderStatus.PENDING.value,
        created_at=ctx.now,
        price=pending.price,
    )
    if not await ctx.orders.reserve(pending, order):  # on disk before the call; a second confirm got here first
        return Reply(ctx.t("renew.pending", label=line.label, confirm=ctx.cmd(f"confirm {pending.token}")))
    provider = ctx.providers[line.provider]
    try:  # providers.orders reconciles an open outcome into a PENDING order; an error: nothing bought
        result = await provider.topup(line.ref, order.plan_id, client_ref=order.client_ref)
    except OutcomeUnknown:  # an adapter without the order flow may still say so: never resend
        return Reply(ctx.t("renew.pending", label=line.label, confirm=ctx.cmd(f"confirm {pending.token}")))
    except ProviderError:  # nothing was bought: say why; a new /renew may try again
        await ctx.orders.settle(replace(order, status=OrderStatus.FAILED.value))
        await ctx.orders.close(pending, PendingState.DONE)
        raise
    return await _finish(ctx, pending, line, order, result.status, result.provider_order_id)


async def _reconcile(ctx: Context, pending: Pending, line: Line) -> Reply:
    order = await ctx.orders.order(pending.token)
    if order is None:
        return Reply(ctx.t("confirm.already_done"))
    try:
        result = await ctx.providers[line.provider].order_status(line.ref, order.client_ref)
    except ProviderError:
        return Reply(ctx.t("renew.pending", label=line.label, confirm=ctx.cmd(f"confirm {pending.token}")))
    return await _finish(ctx, pending, line, order, result.status, result.provider_order_id)


async def _finish(
    ctx: Context, pending: Pending, line: Line, order: OrderRecord, status: OrderStatus, provider_order_id: str | None
) -> Reply:
    await ctx.orders.settle(replace(order, status=status.value, provider_order_id=provider_order_id))
    if status == OrderStatus.PENDING:
        return Reply(ctx.t("renew.pending", label=line.label, confirm=ctx.cmd(f"confirm {pending.token}")))
    await ctx.orders.close(pending, PendingState.DONE)
    if status != OrderStatus.COMPLETED:
        return Reply(ctx.t("renew.failed", label=line.label))
    await ctx.lines.seen(line, None, fresh_cycle=True)
    balance = await fetch_and_render(ctx, line)
    return Reply(
        ctx.t("renew.done", label=line.label, plan=pending.plan_title or "") + "\n\n" + balance,
        choices=actions.under_receipt(ctx, line),
        keep=True,
    )


async def cancel(incoming: Incoming, ctx: Context) -> Reply:
    """Drop a pending action."""
    pending, line = await _pending(ctx, incoming)
    if pending.state != PendingState.OPEN:
        return Reply(ctx.t("confirm.already_done"))
    await ctx.orders.close(pending, PendingState.CANCELLED)
    return Reply(_cancelled(ctx, pending, line))


def _cancelled(ctx: Context, pending: Pending, line: Line) -> str:
    """What a cancel left as it was: the line stays (a removal), nothing was ordered (a top-up)."""
    if pending.kind == PendingKind.UNLINK:
        return ctx.t("unlink.cancelled", label=line.label)
    return ctx.t("confirm.cancelled")


async def _pending(ctx: Context, incoming: Incoming) -> tuple[Pending, Line]:
    if len(incoming.args) != 1:
        raise UsageError("confirm.unknown")
    pending = await ctx.orders.pending(incoming.args[0][:32])
    if pending is None:
        raise BotError("confirm.unknown")
    line = await ctx.lines.get(pending.line_id)
    if line is None:
        raise BotError("confirm.already_done" if pending.state == PendingState.DONE else "confirm.unknown")
    ctx.require_manager(line)
    return pending, line


async def _line_by_id(ctx: Context, line_id: str) -> Line:
    line = await ctx.lines.get(line_id[:16])
    if line is None:
        raise BotError("confirm.unknown")
    return line


async def _plan(ctx: Context, line: Line, plan_id: str) -> Plan:
    for plan in await ctx.providers[line.provider].plans(line.ref):
        if plan.id == plan_id:
            return plan
    raise BotError("provider.plan_unavailable", provider=ctx.t.provider(line.provider))


async def spent_this_month(ctx: Context, currency: str) -> Decimal:
    start = ctx.t.local(ctx.now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    orders = await ctx.orders.all()
    return sum(
        (
            o.price.amount
            for o in orders
            if o.price and o.price.currency == currency and o.status in SPENT and o.created_at >= start
        ),
        Decimal(0),
    )


async def _check_cap(ctx: Context, price: Money) -> None:
    cap = ctx.household.cap
    if cap is None:
        return
    if price.currency != cap.currency:
        raise NotAllowed("cap.other_currency", currency=price.currency, cap=ctx.t.money(cap.amount, cap.currency))
    spent = await spent_this_month(ctx, cap.currency)
    if spent + price.amount > cap.amount:
        raise NotAllowed(
            "cap.exceeded",
            cap=ctx.t.money(cap.amount, cap.currency),
            left=ctx.t.money(max(cap.amount - spent, Decimal(0)), cap.currency),
        )


async def cap(incoming: Incoming, ctx: Context) -> Reply:
    """Show or set the household's monthly spending cap for renewals (admins set it)."""
    args = incoming.args
    current = ctx.household.cap
    if not args:
        if current is None:
            return Reply(ctx.t("cap.none", prefix=ctx.prefix))
        spent = await spent_this_month(ctx, current.currency)
        return Reply(
            ctx.t("cap.show", cap=ctx.t.money(current.amount, current.currency), spent=ctx.t.money(spent, current.currency))
        )
    ctx.require_admin()
    if ctx.household.family:
        await ctx.settings.note_admin(ctx.household.id, ctx.actor)
    if len(args) == 1 and args[0].casefold() in ("off", "av", "关", "none"):
        await ctx.settings.save(replace(ctx.household, cap=None))
        return Reply(ctx.t("cap.off"))
    amount, currency = parsing.parse_money(" ".join(args), ctx.t.lang)
    household: Household = replace(ctx.household, cap=Money(amount, currency))
    await ctx.settings.save(household)
    return Reply(ctx.t("cap.set", cap=ctx.t.money(amount, currency)))
