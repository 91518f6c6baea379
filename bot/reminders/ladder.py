"""The reminder ladder, pure and clock-free: the moments around a deadline at which a line is reminded.

A ladder is up to ``MAX_POINTS`` lead times before a deadline (``7d 3d 1d 6h``), optionally
the morning of the deadline's day and one reminder ``AFTER`` it. The plan's expiry and a
prepaid number's keep-alive deadline (closed after N days without a top-up or use) both
use it; each point is a threshold key, so it fires once per plan period like the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from bot.records import AlertKind, ReminderSettings, ThresholdKey

MAX_POINTS = 8
AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Deadlines:
    """What the rules need beside the balance, worked out by the caller who knows the
    household: the morning of the expiry date (its time zone and quiet hours) and a
    prepaid line's keep-alive deadline."""

    morning: datetime | None = None
    keepalive: datetime | None = None


NO_DEADLINES = Deadlines()
Points = list[tuple[ThresholdKey, datetime]]


def crossed_expiry(
    expires_at: datetime, settings: ReminderSettings, morning: datetime | None, now: datetime
) -> list[ThresholdKey]:
    """The expiry points passed at ``now`` but ``expired`` itself (every sweep runs it: no
    list of points is built)."""
    left = expires_at - now
    keys = [_key(AlertKind.EXPIRY, h) for h in settings.expiry_hours[:MAX_POINTS] if left <= _hours(h)]
    if settings.on_day and morning is not None and morning <= now and morning < expires_at:
        keys.append(_key(AlertKind.EXPIRY_DAY))
    if settings.after_expiry and -left >= AFTER:
        keys.append(_key(AlertKind.AFTER_EXPIRY))
    return keys


def next_expiry(
    expires_at: datetime, settings: ReminderSettings, morning: datetime | None, announced: tuple[ThresholdKey, ...]
) -> datetime | None:
    """The earliest point before or on the day not announced yet (``after expiry`` excluded:
    it is looked for once "expired" is said)."""
    moments = [expires_at - _hours(h) for h in settings.expiry_hours[:MAX_POINTS] if _key(AlertKind.EXPIRY, h) not in announced]
    if settings.on_day and morning is not None and morning < expires_at and _key(AlertKind.EXPIRY_DAY) not in announced:
        moments.append(morning)
    return min(moments, default=None)


@cache
def _key(kind: AlertKind, value: int | None = None) -> ThresholdKey:
    return ThresholdKey.of(kind, value)


@cache
def _hours(hours: int) -> timedelta:
    return timedelta(hours=hours)


def keepalive_points(deadline: datetime, settings: ReminderSettings) -> Points:
    """(key, moment) of the keep-alive reminders before a prepaid number closes: the same
    lead times as the expiry ladder, and the deadline itself."""
    hours = (*settings.expiry_hours[:MAX_POINTS], 0)
    return sorted(((ThresholdKey.of(AlertKind.KEEPALIVE, h), deadline - timedelta(hours=h)) for h in hours), key=lambda p: p[1])


def crossed(points: Points, now: datetime) -> list[ThresholdKey]:
    return [k for k, at in points if now >= at]


def upcoming(points: Points, announced: tuple[ThresholdKey, ...]) -> datetime | None:
    """The earliest moment of a point not announced yet (None: none is left)."""
    return min((at for k, at in points if k not in announced), default=None)
