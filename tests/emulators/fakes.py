"""Fakes the provider tests inject instead of real time: no test sleeps for a rate limit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from providers._limits import Pacing

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


class FakeTime:
    """A monotonic clock that only moves when someone sleeps; every sleep is recorded."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)

    @property
    def pacing(self) -> Pacing:
        return Pacing(monotonic=self.monotonic, sleep=self.sleep)

    @property
    def slept(self) -> float:
        return sum(self.sleeps)


def fixed_now() -> datetime:
    return NOW
