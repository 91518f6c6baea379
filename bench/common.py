"""What every benchmark shares: the run's settings, result rows, statistics, timers.

A ``Row`` is one measurement repeated ``len(values)`` times next to a baseline measured in
the same run; its ratio is median(value) / median(baseline), so a slower or busier machine
moves both sides together.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)  # the simulated "now" of every generated data set


@dataclass(frozen=True)
class Config:
    """Sizes and repeats: ``full`` for ``make bench``, ``tiny`` for the smoke test."""

    tiny: bool
    repeats: int
    command_sizes: tuple[int, ...]
    command_calls: int
    storage_sizes: tuple[int, ...]
    storage_ops: int
    share_lines: int
    sweep_lines: int
    sweep_rate: float  # requests a second the emulator allows (eSIM Go documents 10)
    sweep_window: int  # whole seconds measured, after ``sweep_warmup``
    sweep_warmup: float
    evaluations: int
    fanout_alerts: int
    fanout_chats: int
    fanout_target: int  # alerts measured (the first ones delivered)
    fanout_timeout: float
    fanout_runs: int
    fanout_rate: float  # overall messages a second the loopback Bot API allows
    memory_sizes: tuple[int, ...]
    startup_runs: int
    link_count: int  # /link manual calls in a row
    burst: int  # write commands per burst (compaction row)
    crossings: int  # lines that cross a threshold in the storm sweep
    postgres_sizes: tuple[int, ...] = (10_000, 100_000)  # lines in the PostgreSQL section
    worker_updates: int = 600  # webhook updates timed per worker count
    failover_kills: int = 10
    scale_sizes: tuple[int, ...] = (1_000, 100_000, 1_000_000)  # lines under one PostgreSQL worker
    scale_calls: int = 200  # /balance updates timed at each size
    capacity_updates: int = 400  # updates whose CPU time is measured (bench.capacity)


FULL = Config(
    tiny=False,
    repeats=3,
    command_sizes=(100, 10_000, 100_000),
    command_calls=200,
    storage_sizes=(1_000, 10_000, 100_000),
    storage_ops=30,
    share_lines=10_000,
    sweep_lines=10_000,
    sweep_rate=10.0,
    sweep_window=5,
    sweep_warmup=1.0,
    evaluations=100_000,
    fanout_alerts=10_000,
    fanout_chats=2_500,
    fanout_target=600,
    fanout_timeout=40.0,
    fanout_runs=2,
    fanout_rate=30.0,
    memory_sizes=(10_000, 100_000),
    startup_runs=5,
    link_count=10_000,
    burst=200,
    crossings=500,
)
TINY = Config(
    tiny=True,
    repeats=1,
    command_sizes=(100,),
    command_calls=10,
    storage_sizes=(100, 300),
    storage_ops=3,
    share_lines=100,
    sweep_lines=400,
    sweep_rate=100.0,
    sweep_window=1,
    sweep_warmup=0.2,
    evaluations=1_000,
    fanout_alerts=40,
    fanout_chats=20,
    fanout_target=20,
    fanout_timeout=10.0,
    fanout_runs=1,
    fanout_rate=300.0,
    memory_sizes=(100,),
    startup_runs=1,
    link_count=50,
    burst=20,
    crossings=10,
    postgres_sizes=(100,),
    worker_updates=30,
    failover_kills=1,
    scale_sizes=(100,),
    scale_calls=10,
    capacity_updates=20,
)


@dataclass
class Row:
    section: str
    name: str
    unit: str
    values: list[float]
    baseline_name: str
    baseline: list[float]
    goal: str = ""  # how the goal reads, e.g. ">= 0.95 (ratio)"
    met: bool | None = None  # None: no goal
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def ratio(self) -> float:
        base = statistics.median(self.baseline)
        return self.median / base if base else math.inf


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # named numbers the interpretation quotes
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each section

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of at least one sample."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def slope(sizes: Sequence[float], times: Sequence[float]) -> float:
    """Least-squares slope of log(time) over log(size): 1 means linear growth, 0 flat."""
    xs, ys = [math.log(s) for s in sizes], [math.log(max(t, 1e-12)) for t in times]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def ms(seconds: float) -> float:
    return seconds * 1000


class Timed:
    """Wraps an object so the wall time inside its method calls adds up (outermost calls only:
    a store method calling another store method is counted once). ``longest`` is the longest
    single call, e.g. a commit that blocks the event loop."""

    def __init__(self, inner: Any, clock: Callable[[], float] = time.perf_counter) -> None:
        self._inner, self._clock = inner, clock
        self.spent, self.calls, self.longest = 0.0, 0, 0.0
        self._depth = 0

    def reset(self) -> None:
        self.spent, self.calls, self.longest = 0.0, 0, 0.0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return attr(*args, **kwargs)
            self._depth += 1
            started = self._clock()
            try:
                return attr(*args, **kwargs)
            finally:
                took = self._clock() - started
                self._depth -= 1
                self.spent += took
                self.calls += 1
                self.longest = max(self.longest, took)

        return timed


def fmt(value: float) -> str:
    """A number for the table: three significant digits, no scientific notation for sizes."""
    if value == 0 or math.isinf(value) or math.isnan(value):
        return str(value if not math.isnan(value) else "n/a")
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}".replace(",", " ")
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{digits}f}"
