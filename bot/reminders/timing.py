"""When an alert may go: the household's quiet hours and a reader's snooze of one topic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.records import AlertKind, Household

MORNING = "08:00"  # the morning of a household without quiet hours


class Topic(StrEnum):
    """What a snooze covers: ``data`` (low, depleted) or ``expiry`` (soon, expired)."""

    DATA = "data"
    EXPIRY = "expiry"

    @classmethod
    def of(cls, kind: AlertKind) -> Topic:
        return cls.DATA if kind in (AlertKind.DATA, AlertKind.DATA_BYTES, AlertKind.DEPLETED) else cls.EXPIRY

    @classmethod
    def parse(cls, text: str) -> Topic | None:
        return cls(text) if text in (cls.DATA, cls.EXPIRY) else None


def quiet_until(household: Household, now: datetime) -> datetime | None:
    """The end of the household's quiet hours if ``now`` falls inside them, else None.
    Computed on local wall-clock time, so daylight-saving changes keep 08:00 at 08:00."""
    if not household.quiet_start or not household.quiet_end:
        return None
    tz = ZoneInfo(household.timezone)
    local = now.astimezone(tz)
    start = time.fromisoformat(household.quiet_start)
    end = time.fromisoformat(household.quiet_end)
    t = local.time().replace(tzinfo=None)
    inside = start <= t or t < end if start > end else start <= t < end
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)


def morning(household: Household, day: datetime) -> datetime:
    """The morning of ``day``'s date in the household's time zone: when its quiet hours end
    (08:00 without quiet hours)."""
    tz = ZoneInfo(household.timezone)
    return _morning(household.timezone, household.quiet_end or MORNING, day.astimezone(tz).date())


@lru_cache(maxsize=4096)
def _morning(zone: str, end: str, day: date) -> datetime:
    """That date's ``end`` o'clock in ``zone``, in UTC (a sweep asks it of every line: kept)."""
    return datetime.combine(day, time.fromisoformat(end), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def next_morning(household: Household, now: datetime) -> datetime:
    """The next end of the quiet hours after ``now`` ("until tomorrow morning")."""
    today = morning(household, now)
    if today > now:
        return today
    tz = ZoneInfo(household.timezone)
    return morning(household, datetime.combine(now.astimezone(tz).date() + timedelta(days=1), time(12), tzinfo=tz))


def repeats(household: Household, first: datetime, every: timedelta, times: int) -> list[datetime]:
    """When a repeat-until-acknowledged alert comes back: every ``every`` after the first,
    ``times`` times, a repeat in the quiet hours at their end (one at a time: the
    moments only grow, so two repeats never leave together)."""
    out: list[datetime] = []
    at = first
    for _ in range(max(times, 0)):
        at = at + every
        at = quiet_until(household, at) or at
        out.append(at)
    return out
