"""Pure reminder rules: which alerts are due for a balance, given settings and history.

No I/O and no clock: everything comes in as arguments. A threshold fires once per bundle
cycle; a new cycle (data added, expiry moved later) re-arms them, and thresholds already
crossed when a cycle starts (or a line is linked) count as announced. Data thresholds
compare what the reader sees: whole percent left, rounded down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.records import Alert, AlertKind, AlertState, ReminderSettings, ThresholdKey
from bot.reminders import ladder
from bot.reminders.ladder import NO_DEADLINES, Deadlines
from providers.base import BalanceEvent, EsimBalance, Status

CRITICAL_HOURS = 24
SEVERITY = (
    AlertKind.AFTER_EXPIRY,
    AlertKind.EXPIRED,
    AlertKind.DEPLETED,
    AlertKind.EXPIRY_DAY,
    AlertKind.EXPIRY,
    AlertKind.KEEPALIVE,
    AlertKind.DATA_BYTES,
    AlertKind.DATA,
)


@dataclass(frozen=True)
class Evaluation:
    state: AlertState
    due: tuple[ThresholdKey, ...]  # newly crossed: alert now
    crossed: tuple[ThresholdKey, ...]  # every threshold crossed now (announced or not)
    new_cycle: bool


def crossed_keys(
    balance: EsimBalance, settings: ReminderSettings, now: datetime, deadlines: Deadlines = NO_DEADLINES
) -> list[ThresholdKey]:
    """Every threshold this balance is past (``data:20``, ``expiry:24``, ``depleted``...)."""
    key = ThresholdKey.of
    keys: list[ThresholdKey] = []
    if deadlines.keepalive is not None:
        keys += ladder.crossed(ladder.keepalive_points(deadlines.keepalive, settings), now)
    expired = balance.status == Status.EXPIRED or (balance.expires_at is not None and now >= balance.expires_at)
    if expired:
        after = balance.expires_at is not None and settings.after_expiry and now >= balance.expires_at + ladder.AFTER
        return [key(AlertKind.EXPIRED), *([key(AlertKind.AFTER_EXPIRY)] if after else [])]
    left, total = balance.data_remaining_bytes, balance.data_total_bytes
    if not balance.data_unlimited and left is not None:
        if left <= 0 or balance.status == Status.DEPLETED:
            keys.append(key(AlertKind.DEPLETED))
        if total:
            pct = left * 100 // total
            keys += [key(AlertKind.DATA, p) for p in settings.data_percent if pct <= p]
        keys += [key(AlertKind.DATA_BYTES, b) for b in settings.data_bytes if left <= b]
    if balance.expires_at is not None:
        keys += ladder.crossed_expiry(balance.expires_at, settings, deadlines.morning, now)
    return keys


def is_new_cycle(state: AlertState | None, balance: EsimBalance) -> bool:
    if state is None:
        return True
    if balance.expires_at and state.expires_at and balance.expires_at > state.expires_at + timedelta(minutes=1):
        return True
    if balance.data_total_bytes and state.total and balance.data_total_bytes > state.total:
        return True
    grew = balance.data_remaining_bytes is not None and state.remaining is not None
    return grew and balance.data_remaining_bytes > state.remaining + 1024 * 1024  # type: ignore[operator]


def evaluate(
    state: AlertState | None,
    balance: EsimBalance,
    settings: ReminderSettings,
    now: datetime,
    *,
    fresh_cycle: bool = False,
    deadlines: Deadlines = NO_DEADLINES,
) -> Evaluation | None:
    """Decide the due alerts; None when the balance is older than what we already saw.
    A keep-alive deadline that moved (a top-up or use) re-arms its own points only."""
    if state is not None and state.last_as_of is not None and balance.as_of < state.last_as_of:
        return None  # clock skew or a late answer: never go backwards
    crossed = crossed_keys(balance, settings, now, deadlines)
    new_cycle = fresh_cycle or is_new_cycle(state, balance)
    if state is not None and state.keepalive_at != deadlines.keepalive:
        kept = tuple(k for k in state.announced if k.kind is not AlertKind.KEEPALIVE)
        passed = [k for k in crossed if k.kind is AlertKind.KEEPALIVE]  # a new deadline's past points are old news
        state = replace(state, announced=(*kept, *passed), keepalive_at=deadlines.keepalive)
    if new_cycle or state is None:
        announced: tuple[ThresholdKey, ...] = tuple(crossed)
        due: tuple[ThresholdKey, ...] = ()
        started = now
    else:
        due = tuple(k for k in crossed if k not in state.announced)
        announced = tuple(dict.fromkeys((*state.announced, *due)))
        started = state.cycle_started
    new_state = AlertState(
        cycle_started=started,
        announced=announced,
        expires_at=balance.expires_at,
        total=balance.data_total_bytes,
        remaining=balance.data_remaining_bytes,
        last_as_of=min(balance.as_of, now),  # an answer stamped in the future must not hide the next ones
        keepalive_at=deadlines.keepalive,
    )
    if not settings.enabled:
        due = ()
    return Evaluation(new_state, due, tuple(crossed), new_cycle)


def headline(keys: Sequence[ThresholdKey]) -> tuple[AlertKind, int | None]:
    """The most severe of several due thresholds: one message says the current situation."""
    worst = min(map(ThresholdKey, keys), key=lambda k: (SEVERITY.index(k.kind), k.value or 0))
    return worst.kind, worst.value


def make_alert(
    keys: Sequence[ThresholdKey],
    label: str,
    provider: str,
    balance: EsimBalance,
    runs_out_at: datetime | None,
    operator: str | None = None,
) -> Alert:
    kind, threshold = headline(keys)
    return Alert(
        kind=kind,
        label=label,
        provider=provider,
        threshold=threshold,
        remaining=balance.data_remaining_bytes,
        total=balance.data_total_bytes,
        unlimited=balance.data_unlimited,
        expires_at=balance.expires_at,
        runs_out_at=runs_out_at,
        operator=operator,
    )


def next_crossing(
    balance: EsimBalance,
    settings: ReminderSettings,
    state: AlertState,
    runs_out_at: datetime | None,
    deadlines: Deadlines = NO_DEADLINES,
) -> tuple[datetime | None, datetime | None]:
    """The earliest moments an unannounced threshold may be crossed, to look just then:
    (expiry moment: known from the expiry date or the keep-alive deadline; data moment:
    predicted from the pace). Once "expired" is announced only "after expiry" is left this
    cycle (the lead times it skipped would be moments in the past: a poll every minute);
    the normal cadence notices a renewal."""
    key, announced = ThresholdKey.of, state.announced
    keepalive = ladder.keepalive_points(deadlines.keepalive, settings) if deadlines.keepalive else []
    expiry = [at for at in [ladder.upcoming(keepalive, announced)] if at is not None]
    if key(AlertKind.EXPIRED) in announced:
        after = balance.expires_at is not None and settings.after_expiry and key(AlertKind.AFTER_EXPIRY) not in announced
        expiry += [balance.expires_at + ladder.AFTER] if after and balance.expires_at else []
        return min(expiry, default=None), None
    if balance.expires_at is not None:
        expiry += [at for at in [ladder.next_expiry(balance.expires_at, settings, deadlines.morning, announced)] if at]
        expiry.append(balance.expires_at)
    data: list[datetime] = []
    left, total = balance.data_remaining_bytes, balance.data_total_bytes
    if runs_out_at is not None and left and not balance.data_unlimited:
        span = runs_out_at - balance.as_of
        marks = [b for b in settings.data_bytes if key(AlertKind.DATA_BYTES, b) not in announced]
        if total:
            # whole percent p is shown once less than (p + 1) % is left
            marks += [(p + 1) * total // 100 - 1 for p in settings.data_percent if key(AlertKind.DATA, p) not in announced]
        data += [balance.as_of + span * ((left - mark) / left) for mark in marks if 0 <= mark < left]
        data.append(runs_out_at)
    return min(expiry, default=None), min(data, default=None)


def balance_from_event(last: EsimBalance | None, event: BalanceEvent) -> EsimBalance | None:
    """What a provider's push says about a line, on top of its last balance: data left (given,
    or worked out from the share used), empty, expired, a new expiry. None when it says
    nothing we can use; never more data than the last balance had."""
    if last is None:
        return None
    changes: dict[str, Any] = {}
    if event.kind == "depleted":
        changes.update(data_remaining_bytes=0, status=Status.DEPLETED)
    elif event.kind == "expired":
        changes.update(status=Status.EXPIRED, expires_at=min(last.expires_at or event.received_at, event.received_at))
    elif event.remaining_bytes is not None:
        changes["data_remaining_bytes"] = event.remaining_bytes
    elif event.threshold_used_percent is not None and last.data_total_bytes and not last.data_unlimited:
        changes["data_remaining_bytes"] = last.data_total_bytes * (100 - event.threshold_used_percent) // 100
    if event.expires_at is not None and event.kind != "expired":
        changes["expires_at"] = event.expires_at
    left = changes.get("data_remaining_bytes")
    if left is not None and last.data_remaining_bytes is not None and left > last.data_remaining_bytes:
        del changes["data_remaining_bytes"]
    if not changes:
        return None
    return replace(last, as_of=max(event.received_at, last.as_of), **changes)


def is_critical(alert: Alert, settings: ReminderSettings) -> bool:
    """The kinds that repeat until acknowledged: data used up or under the last threshold,
    expired, expiring (or a prepaid number closing) within a day."""
    kind, value = alert.kind, alert.threshold
    if kind in (AlertKind.DEPLETED, AlertKind.EXPIRED, AlertKind.AFTER_EXPIRY, AlertKind.EXPIRY_DAY):
        return True
    if kind in (AlertKind.EXPIRY, AlertKind.KEEPALIVE):
        return value is not None and value <= CRITICAL_HOURS
    last = min(settings.data_percent if kind is AlertKind.DATA else settings.data_bytes, default=None)
    return kind in (AlertKind.DATA, AlertKind.DATA_BYTES) and value is not None and value == last


def outruns_snooze(alert: Alert) -> bool:
    """A snooze never hides that the line ran out: these come during one (once: thresholds
    are announced once a cycle)."""
    return alert.kind in (AlertKind.DEPLETED, AlertKind.EXPIRED)
