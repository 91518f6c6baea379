"""The decision to order, made in the unit of work of the balance that fired it.

``RenewalObserver`` stands beside the reminder planner (the poller's ``Observer``): every
balance the poller, a command or a webhook stores passes the line's rules here, in the
same unit. A trigger that fires becomes one ``Decision`` and one open confirmation, both
under a token derived from the line and the trigger: a replay, a restart or a second worker
meets the stored decision and makes nothing new (and the money guard lets one order
through per token in any case).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from bot.metrics import Metrics
from bot.records import Alert, AlertKind, Household, Line, Pending, PendingKind
from bot.reminders.forecast import runs_out
from bot.reminders.timing import quiet_until
from bot.renewal.records import AutoRule, Decision, Kind
from bot.renewal.rules import NOTICE, QUEUED, cycle_trigger, ends, low_trigger, token
from bot.store import Tx
from providers.base import EsimBalance

log = logging.getLogger(__name__)
ACTOR = "auto"  # the confirmation's actor: made by a rule, not by a person


class Observer(Protocol):
    """The planner: ``observe`` plans reminders, ``announce`` queues renewal news."""

    async def observe(
        self, tx: Tx, line: Line, household: Household, balance: EsimBalance, now: datetime, *, fresh_cycle: bool = False
    ) -> list[str]: ...

    async def announce(self, tx: Tx, line: Line, household: Household, alert: Alert, now: datetime) -> None: ...


class RenewalObserver:
    """The planner's ``observe``, then the line's automatic rules, in the same unit."""

    def __init__(self, inner: Observer, *, metrics: Metrics) -> None:
        self._inner, self._metrics = inner, metrics

    async def observe(
        self, tx: Tx, line: Line, household: Household, balance: EsimBalance, now: datetime, *, fresh_cycle: bool = False
    ) -> list[str]:
        crossed = await self._inner.observe(tx, line, household, balance, now, fresh_cycle=fresh_cycle)
        for decision in await decide(tx, line, household, balance, now):
            self._metrics.inc("esimbot_auto_orders_total", outcome="decided", reason=decision.reason or decision.kind)
            # the token and the line id only: never an ICCID or an activation code
            log.info("automatic order %s of line %s decided for %s", decision.token, line.id, decision.charge_at.isoformat())
            await self._inner.announce(tx, line, household, news(AlertKind.AUTO_NOTICE, line, decision), now)
        return crossed


async def decide(tx: Tx, line: Line, household: Household, balance: EsimBalance, now: datetime) -> list[Decision]:
    """The new decisions this balance makes (none for a trigger already decided)."""
    rules = [rule for rule in await tx.auto_rules(line.id) if rule.stopped is None]
    if not rules:
        return []
    if ends(balance):
        await tx.drop_auto_rules(line.id)
        return []
    made = []
    for rule in rules:
        decision = await _fire(tx, line, household, rule, balance, now)
        if decision is not None:
            made.append(decision)
    return made


async def _fire(tx: Tx, line: Line, household: Household, rule: AutoRule, balance: EsimBalance, now: datetime) -> Decision | None:
    fired = _trigger(rule, balance, now)
    if fired is None:
        return None
    trigger, charge_at = fired
    reason = None
    tok = token(line.id, trigger)
    if await tx.auto_decision(tok) is not None:
        return None
    quiet = quiet_until(household, now)
    if quiet is not None:  # the notice waits for the quiet hours' end, the order its time after that
        charge_at = max(charge_at, quiet + NOTICE[rule.kind])
    if rule.kind == Kind.LOW and (dry := runs_out(balance, await tx.samples(line.id))) and dry <= charge_at:
        charge_at, reason = now, "dry"  # the line would run out before the notice ends: order at once
    decision = Decision(tok, line.household_id, line.id, rule.kind, trigger, rule.plan_id, rule.price, now, charge_at)
    decision = replace(decision, reason=reason, title=rule.title)
    await tx.save_auto_decision(decision, open_=True)
    await tx.save_pending(auto_pending(decision))
    return decision


def news(kind: AlertKind, line: Line, d: Decision, note: str | None = None) -> Alert:
    """What the readers are told about decision ``d`` (words in ``bot.reminders.text``)."""
    queued = line.provider in QUEUED
    plan = d.title or d.plan_id
    return Alert(kind, line.label, line.provider, plan=plan, token=d.token, note=note or d.reason, at=d.charge_at, queued=queued)


def auto_pending(d: Decision) -> Pending:
    """The decision's confirmation: ``/cancel <token>`` drops it while it is open."""
    return Pending(d.token, PendingKind.TOPUP, d.household_id, d.line_id, ACTOR, d.made_at, plan_id=d.plan_id, price=d.price)


def _trigger(rule: AutoRule, balance: EsimBalance, now: datetime) -> tuple[str, datetime] | None:
    if rule.kind == Kind.CYCLE:
        return cycle_trigger(rule, now)
    trigger = low_trigger(rule, balance)
    return (trigger, now + NOTICE[Kind.LOW]) if trigger else None
