"""Time as an argument: every component asks a Clock, tests move a FakeClock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """``now()`` returns an aware UTC datetime; it never goes backwards for one Clock."""

    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to (tests, the console's ``advance``)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when < self._now:
            raise ValueError("a FakeClock never goes backwards")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        self.set(self._now + delta)
        return self._now


class OffsetClock:
    """Real time plus an offset that only grows: the interactive console's ``/tick``."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def set(self, when: datetime) -> None:
        self._offset += max(when - self.now(), timedelta(0))

    def advance(self, delta: timedelta) -> datetime:
        self._offset += max(delta, timedelta(0))
        return self.now()
