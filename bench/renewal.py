"""3b. The cost of automatic renewal in a sweep (issue 25): ``sweep_lines`` lines due at once,
answered at once by an in-process provider, one job loop pass on a memory store; a tenth
of the lines carries an automatic rule (not fired: plenty of data), against the same sweep
without rules. Goal: at most 1.1x."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

from bench.common import T0, Config, Results, Row
from bench.pipeline import pipeline
from bot.clock import FakeClock
from bot.metrics import Metrics
from bot.records import Household, Line, ReminderSettings
from bot.renewal.records import AutoRule, Kind
from bot.store import MemoryStore
from providers.base import GB, EsimBalance, Money, Order, Plan, Status

SECTION = "3. reminder sweep"
PRICE = Money(Decimal("49"), "NOK")


class Instant:
    """A provider that answers every balance at once with half of 10 GB left."""

    name = "instant"
    supports_topup = True
    min_poll_seconds = 60

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock

    async def balance(self, iccid: str) -> EsimBalance:
        now = self._clock.now()
        return EsimBalance("instant", iccid, Status.ACTIVE, now, 10 * GB, 5 * GB, expires_at=now + timedelta(days=20))

    async def plans(self, iccid: str) -> list[Plan]:
        return [Plan("p1", "instant", "1 GB", PRICE, 7, data_bytes=GB)]

    async def topup(self, iccid: str, plan_id: str, *, client_ref: str) -> Order:
        raise NotImplementedError

    async def order_status(self, iccid: str, client_ref: str) -> Order:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


async def timed_sweep(n: int, *, with_rules: int = 0, settings: ReminderSettings | None = None) -> float:
    """One job loop pass over ``n`` due lines (households of ten with ``settings``), the first
    ``with_rules`` with an automatic rule that does not fire; seconds."""
    store, clock = MemoryStore(), FakeClock(T0)
    async with store.transaction() as tx:
        for i in range(n):
            if i % 10 == 0:
                await tx.save_household(Household(f"console:h{i // 10}", True, T0, reminders=settings or ReminderSettings()))
            await tx.save_line(Line(f"l{i}", f"console:h{i // 10}", f"x{i}", "console:u", "U", "instant", f"89{i:017d}", T0))
            await tx.set_due(f"l{i}", T0)
            if i < with_rules:
                await tx.save_auto_rule(AutoRule(f"l{i}", Kind.LOW, "p1", PRICE, "console:u", T0, percent=10))
    jobs, _queue = pipeline(store, providers={"instant": Instant(clock)}, platforms={}, clock=clock, metrics=Metrics())  # type: ignore[dict-item]
    clock.advance(timedelta(minutes=1))
    started = time.perf_counter()
    await jobs.run_due()
    return time.perf_counter() - started


async def run(config: Config, results: Results) -> None:
    n = config.sweep_lines
    ruled, plain = [], []
    for _ in range(config.repeats):
        plain.append(await timed_sweep(n))
        ruled.append(await timed_sweep(n, with_rules=n // 10))
    ratio = min(ruled) / min(plain)
    results.add(
        Row(
            SECTION,
            f"one sweep of {n:,} lines, {n // 10:,} with automatic rules",
            "s",
            ruled,
            "the same sweep without rules",
            plain,
            goal="<= 1.1 ratio",
            met=ratio <= 1.1,
            note="in-process provider, memory store: the renewal check alone",
        )
    )
