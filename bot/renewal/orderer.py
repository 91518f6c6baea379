"""Places the decided automatic orders when their notice time is over, exactly once.

The confirmation stored with the decision is the source of truth: ``OrderBook.reserve``
(the money guard's compare-and-set) turns it from open to placing with the order record,
durable before the provider is called, so of a Cancel, a second worker and a restart only
one wins; a placing confirmation is reconciled with ``order_status``, never sent again.
Guard-rails run just before the reserve: an outage waits, a price drift or a gone plan
stops the rule, the daily and monthly limits and the family's cap skip the order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.metrics import Metrics
from bot.records import Alert, AlertKind, Household, Line, OrderRecord, Pending, PendingState
from bot.renewal.decide import auto_pending, news
from bot.renewal.records import ADMINS, Decision, Step, admins_key
from bot.renewal.rules import cap_reason, limit_reason, price_reason, token
from bot.services import OrderBook
from bot.store import Store, Tx
from providers.base import EsimBalance, Order, OrderStatus, Plan, Provider
from providers.errors import EsimTerminal, OutcomeUnknown, ProviderError, TopUpNotAllowed, TryLater

log = logging.getLogger(__name__)
WAIT = timedelta(minutes=30)  # an outage: look again after this
RETRY = timedelta(minutes=15)  # the one retry after a transient failure
SPENT = (OrderStatus.COMPLETED.value, OrderStatus.PENDING.value, OrderStatus.UNKNOWN.value)
STOPS = ("price", "plan_gone")  # the rule stops until the owner confirms it again
ENDS = (EsimTerminal, TopUpNotAllowed)  # recycled, cancelled or expired beyond renewal: the rules end


TOLD = {Step.DONE: AlertKind.AUTO_DONE, Step.FAILED: AlertKind.AUTO_FAILED, Step.SKIPPED: AlertKind.AUTO_SKIPPED}


class Announce(Protocol):
    """``Planner.announce``: queue renewal news for the line's readers in the unit ``tx``."""

    async def __call__(self, tx: Tx, line: Line, household: Household, alert: Alert, now: datetime) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """What became of a decision in one pass: ``step`` and why (``reason``)."""

    decision: Decision
    step: Step
    reason: str | None = None
    balance: EsimBalance | None = None  # a receipt: the line as the provider reads it after the order


class AutoOrderer:
    """``run_due(now)``: one pass over the decisions whose charge time has come."""

    def __init__(
        self, *, store: Store, providers: Mapping[str, Provider], metrics: Metrics, announce: Announce | None = None
    ) -> None:
        self._store, self._providers, self._metrics, self._announce = store, providers, metrics, announce

    async def next_due(self) -> datetime | None:
        async with self._store.transaction() as tx:
            return min((d.charge_at for d in await tx.open_auto_decisions()), default=None)

    async def run_due(self, now: datetime) -> list[Outcome]:
        async with self._store.transaction() as tx:
            due = [d for d in await tx.open_auto_decisions() if d.charge_at <= now]
        outcomes = [await self._one(d, now) for d in due]
        for o in outcomes:
            if o.step != Step.NOTICED:
                self._metrics.inc("esimbot_auto_orders_total", outcome=o.step.value, reason=o.reason or "")
            # the token and the line id only: never an ICCID or an activation code
            log.info("automatic order %s of line %s: %s (%s)", o.decision.token, o.decision.line_id, o.step.value, o.reason)
        return outcomes

    async def _tell(self, tx: Tx, o: Outcome, now: datetime) -> Outcome:
        """The receipt (plan, price, data left), a failure or a stop to the owner and the
        family; a stop at the cap to the owner and each admin; an outage once. Queued in the
        unit ``tx`` that records the outcome, so a crash loses neither or both."""
        kind = TOLD.get(o.step) or (AlertKind.AUTO_NOTICE if o.reason == "outage" != o.decision.reason else None)
        if kind is None or self._announce is None:
            return o
        line, household = await tx.line(o.decision.line_id), await tx.household(o.decision.household_id)
        if line is None or household is None:
            return o
        alert = replace(news(kind, line, o.decision, o.reason), price=o.decision.price)
        if o.reason == "cap":
            alert = replace(alert, admins=tuple(await tx.get_state(ADMINS, admins_key(household.id)) or ()))
        if o.balance is not None:
            b = o.balance
            alert = replace(alert, remaining=b.data_remaining_bytes, total=b.data_total_bytes, unlimited=b.data_unlimited)
        await self._announce(tx, line, household, alert, now)
        return o

    async def _one(self, d: Decision, now: datetime) -> Outcome:
        async with self._store.transaction() as tx:
            pending, line = await tx.pending(d.token), await tx.line(d.line_id)
            household = await tx.household(d.household_id)
        if line is None or household is None:  # unlinked in the notice window: its rules ended with it
            return await self._close(d, Step.CANCELLED, "unlinked", now)
        if pending is None or pending.state == PendingState.CANCELLED:  # Cancel in the notice window
            return await self._close(d, Step.CANCELLED, "cancelled", now)
        if pending.state != PendingState.OPEN:  # reserved before a crash: ask, never resend
            return await self._reconcile(d, line, now)
        provider = self._providers.get(line.provider)
        if provider is None:
            return await self._close(d, Step.FAILED, "manual", now)
        try:
            plans = await provider.plans(line.ref)
        except ENDS:
            return await self._end(d, pending, now)
        except ProviderError:
            return await self._wait(d, now)
        reason = await self._guard(d, line, household, plans, now)
        if reason is not None:
            return await self._skip(d, pending, reason, now)
        return await self._place(d, pending, line, now)

    async def _guard(self, d: Decision, line: Line, household: Household, plans: list[Plan], now: datetime) -> str | None:
        month = now.astimezone(ZoneInfo(household.timezone)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        async with self._store.transaction() as tx:
            rule = next((r for r in await tx.auto_rules(line.id) if r.kind == d.kind), None)
            if rule is None or rule.stopped is not None:
                return "rule_off"
            made, orders = await tx.auto_made(line.id), await tx.orders(household.id)
        spent = _spent(orders, month, household.cap.currency) if household.cap else Decimal(0)
        return price_reason(rule, plans) or limit_reason(rule, made, now, month) or cap_reason(household.cap, spent, d.price)

    async def _place(self, d: Decision, pending: Pending, line: Line, now: datetime) -> Outcome:
        status = OrderStatus.PENDING.value
        order = OrderRecord(d.token, d.household_id, line.id, line.provider, line.ref, d.plan_id, status, now, d.price)
        async with self._store.transaction() as tx:
            book = OrderBook(tx, self._store, d.household_id)
        if not await book.reserve(pending, order):
            return Outcome(d, Step.PLACING, "taken")
        async with self._store.transaction() as tx:
            await tx.save_auto_decision(replace(d, step=Step.PLACING), open_=True)
        try:
            result = await self._providers[line.provider].topup(line.ref, d.plan_id, client_ref=d.token)
        except OutcomeUnknown:
            return Outcome(d, Step.PLACING, "unknown")
        except ENDS:
            return await self._end(d, pending, now, replace(order, status=OrderStatus.FAILED.value))
        except ProviderError as exc:
            return await self._failed(d, order, exc, now)
        return await self._finish(d, order, result, line, now)

    async def _reconcile(self, d: Decision, line: Line, now: datetime) -> Outcome:
        async with self._store.transaction() as tx:
            order = await tx.order(d.token)
        if order is None:
            return await self._close(d, Step.DONE, None, now)
        try:
            result = await self._providers[line.provider].order_status(line.ref, d.token)
        except ProviderError:
            return Outcome(d, Step.PLACING, "unknown")
        return await self._finish(d, order, result, line, now)

    async def _finish(self, d: Decision, order: OrderRecord, result: Order, line: Line, now: datetime) -> Outcome:
        """The provider's answer, the decision's end and what people are told, in one unit: a
        crash before it commits asks the provider again, a crash after it repeats nothing."""
        saved = replace(order, status=result.status.value, provider_order_id=result.provider_order_id)
        if result.status == OrderStatus.PENDING:
            async with self._store.transaction() as tx:
                await tx.save_order(saved)
            return Outcome(d, Step.PLACING, "pending")
        done = result.status == OrderStatus.COMPLETED
        balance = await _read_back(self._providers[line.provider], line) if done else None
        async with self._store.transaction() as tx:
            await tx.save_order(saved)
            if done:  # what the daily and monthly limits count
                await tx.add_auto_made(d.line_id, order.created_at)
            return await self._closed(tx, d, Step.DONE if done else Step.FAILED, None if done else "refused", now, balance)

    async def _failed(self, d: Decision, order: OrderRecord, exc: ProviderError, now: datetime) -> Outcome:
        """Nothing was bought. A transient failure gets one retry under a new reference."""
        async with self._store.transaction() as tx:
            await tx.save_order(replace(order, status=OrderStatus.FAILED.value))
            await _close_pending(tx, d.token, PendingState.DONE)
            if isinstance(exc, TryLater) and d.attempt == 0:
                again = replace(d, token=token(d.line_id, d.trigger, 1), attempt=1, charge_at=now + RETRY, step=Step.NOTICED)
                await tx.save_auto_decision(replace(d, step=Step.FAILED, reason="retry"), open_=False)
                await tx.save_auto_decision(again, open_=True)
                await tx.save_pending(auto_pending(replace(again, made_at=now)))
                return await self._tell(tx, Outcome(d, Step.FAILED, "retry"), now)
            await tx.save_auto_decision(replace(d, step=Step.FAILED, reason=type(exc).__name__), open_=False)
            return await self._tell(tx, Outcome(d, Step.FAILED, type(exc).__name__), now)

    async def _skip(self, d: Decision, pending: Pending, reason: str, now: datetime) -> Outcome:
        async with self._store.transaction() as tx:
            await tx.save_pending(replace(pending, state=PendingState.CANCELLED))
            if reason in STOPS:
                for rule in await tx.auto_rules(d.line_id):
                    if rule.kind == d.kind:
                        await tx.save_auto_rule(replace(rule, stopped=reason))
        return await self._close(d, Step.SKIPPED, reason, now)

    async def _end(self, d: Decision, pending: Pending, now: datetime, order: OrderRecord | None = None) -> Outcome:
        """The line is beyond renewal: nothing was bought, and all of its rules end."""
        async with self._store.transaction() as tx:
            if order is not None:
                await tx.save_order(order)
            await tx.save_pending(replace(pending, state=PendingState.CANCELLED))
            await tx.drop_auto_rules(d.line_id)
        return await self._close(d, Step.SKIPPED, "ended", now)

    async def _wait(self, d: Decision, now: datetime) -> Outcome:
        """The provider is down: nothing is charged; the attempt waits."""
        self._metrics.inc("esimbot_auto_orders_total", outcome="skipped", reason="outage")
        async with self._store.transaction() as tx:
            await tx.save_auto_decision(replace(d, charge_at=now + WAIT, reason="outage"), open_=True)
            return await self._tell(tx, Outcome(d, Step.NOTICED, "outage"), now)

    async def _close(
        self, d: Decision, step: Step, reason: str | None, now: datetime, balance: EsimBalance | None = None
    ) -> Outcome:
        """The decision ends, and what people are told of it is queued in the same unit."""
        async with self._store.transaction() as tx:
            return await self._closed(tx, d, step, reason, now, balance)

    async def _closed(
        self, tx: Tx, d: Decision, step: Step, reason: str | None, now: datetime, balance: EsimBalance | None = None
    ) -> Outcome:
        await tx.save_auto_decision(replace(d, step=step, reason=reason), open_=False)
        await _close_pending(tx, d.token, PendingState.DONE)
        return await self._tell(tx, Outcome(d, step, reason, balance), now)


def _spent(orders: list[OrderRecord], month: datetime, currency: str) -> Decimal:
    """What the family's orders in ``currency`` cost since ``month`` began (automatic ones too)."""
    counted = (o for o in orders if o.price and o.price.currency == currency and o.status in SPENT and o.created_at >= month)
    return sum((o.price.amount for o in counted if o.price), Decimal(0))


async def _close_pending(tx: Tx, tok: str, state: PendingState) -> None:
    pending = await tx.pending(tok)
    if pending is not None and pending.state in (PendingState.OPEN, PendingState.PLACING):
        await tx.save_pending(replace(pending, state=state))


async def _read_back(provider: Provider, line: Line) -> EsimBalance | None:
    """The line's data just after the order, for the receipt (None: the provider did not say)."""
    try:
        return await provider.balance(line.ref)
    except ProviderError:
        return None
