"""3c. The cost of a longer reminder ladder in a sweep (issue 26): ``sweep_lines`` lines due at
once, answered at once by an in-process provider, one job loop pass on a memory store; every
household with a ladder of six points before expiry plus "on the day" (the morning worked out
in its time zone), against the same sweep with today's two points. Goal: at most 1.2x."""

from __future__ import annotations

import gc

from bench.common import Config, Results, Row
from bench.renewal import timed_sweep
from bot.records import ReminderSettings

SECTION = "3. reminder sweep"
SIX = ReminderSettings(expiry_hours=(168, 72, 48, 24, 12, 6), on_day=True, after_expiry=True)


async def run(config: Config, results: Results) -> None:
    n = config.sweep_lines
    six, two = [], []
    for run in range(config.repeats):  # alternating which goes first: neither pays for the other's garbage
        for settings in (ReminderSettings(), SIX) if run % 2 == 0 else (SIX, ReminderSettings()):
            gc.collect()
            (six if settings is SIX else two).append(await timed_sweep(n, settings=settings))
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
