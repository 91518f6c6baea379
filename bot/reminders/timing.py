"""When an alert may go: the household's quiet hours and a reader's snooze of one topic."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.records import AlertKind, Household

SNOOZE = timedelta(days=1)  # "Snooze 1 day" under an alert


class Topic(StrEnum):
    """What a snooze covers: ``data`` (low, depleted) or ``expiry`` (soon, expired)."""

    DATA = "data"
    EXPIRY = "expiry"

    @classmethod
    def of(cls, kind: AlertKind) -> Topic:
        return cls.EXPIRY if kind in (AlertKind.EXPIRY, AlertKind.EXPIRED) else cls.DATA

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
