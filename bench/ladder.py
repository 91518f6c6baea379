"""3c. The cost of a longer reminder ladder in a sweep (issue 26): ``sweep_lines`` lines due at
once, answered at once by an in-process provider, one job loop pass on a memory store; every
household with a ladder of six points before expiry plus "on the day" (the morning worked out
in its time zone), against the same sweep with today's two points. Goal: at most 1.2x."""

from __future__ import annotations

import gc
import time
from datetime import timedelta

from bench.common import T0, Config, Results, Row
from bench.pipeline import pipeline
from bench.renewal import Instant
from bot.clock import FakeClock
from bot.metrics import Metrics
from bot.records import Household, Line, ReminderSettings
from bot.store import MemoryStore

SECTION = "3. reminder sweep"
SIX = ReminderSettings(expiry_hours=(168, 72, 48, 24, 12, 6), on_day=True, after_expiry=True)


async def _sweep(n: int, settings: ReminderSettings) -> float:
    store, clock = MemoryStore(), FakeClock(T0)
    async with store.transaction() as tx:
        for i in range(n):
            if i % 10 == 0:
                await tx.save_household(Household(f"console:h{i // 10}", True, T0, reminders=settings))
            await tx.save_line(Line(f"l{i}", f"console:h{i // 10}", f"x{i}", "console:u", "U", "instant", f"89{i:017d}", T0))
            await tx.set_due(f"l{i}", T0)
    jobs, _queue = pipeline(store, providers={"instant": Instant(clock)}, platforms={}, clock=clock, metrics=Metrics())  # type: ignore[dict-item]
    clock.advance(timedelta(minutes=1))
    started = time.perf_counter()
    await jobs.run_due()
    return time.perf_counter() - started


async def run(config: Config, results: Results) -> None:
    n = config.sweep_lines
    six, two = [], []
    for run in range(config.repeats):  # alternating which goes first: neither pays for the other's garbage
        for settings in (ReminderSettings(), SIX) if run % 2 == 0 else (SIX, ReminderSettings()):
            gc.collect()
            (six if settings is SIX else two).append(await _sweep(n, settings))
    ratio = min(six) / min(two)
    results.add(
        Row(
            SECTION,
            f"one sweep of {n:,} lines, ladders of 6 points (+ on the day, after expiry)",
            "s",
            six,
            "the same sweep with 2 points (3 days, 1 day)",
            two,
            goal="<= 1.2 ratio",
            met=ratio <= 1.2,
            note="in-process provider, memory store: the ladder's rules and next look alone",
        )
    )
