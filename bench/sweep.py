"""3. Reminder sweep: N eSIM Go lines due at once, polled by the real job queue through the
real adapter against the emulator on 127.0.0.1 enforcing eSIM Go's documented limit.

A full sweep of 10 000 lines at 10 requests a second takes 2 000 s (a balance is two
requests), so a bounded window is measured: the rate served in ``sweep_window`` whole
one-second windows of the emulator, starting after the first second, and every 429 from the
sweep's start. The adapter is run as shipped and with its token bucket's burst set to 1
(evenly spaced requests), which is what a fixed-window limit needs. (Raising both limits
tenfold instead was tried: one process then serves both sides and its CPU, not the limit,
sets the pace, about 92 req/s of 100 with a burst of 1 on this machine.)
Then the CPU time of the pure rules (``bot.reminders.evaluate``) per 100 000 evaluations.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import ladder, renewal
from bench.common import T0, Config, Results, Row
from bench.data import QUIET, copy_dataset, dataset, iccid
from bench.emulator import API_KEY, LimitedEsimGo, sims
from bench.pipeline import pipeline
from bot.clock import FakeClock
from bot.metrics import Metrics
from bot.records import AlertState, ReminderSettings
from bot.reminders.rules import evaluate
from bot.store import TinyDBStore
from providers._limits import TokenBucket
from providers.base import GB, EsimBalance, Status
from providers.esimgo import EsimGoProvider

SECTION = "3. reminder sweep"


async def _paced_sweep(
    store: TinyDBStore, n: int, rate: float, window: int, burst: int | None, warmup: float
) -> dict[str, float]:
    clock = FakeClock(T0 + timedelta(hours=2))  # every line is due
    async with LimitedEsimGo.running(sims=sims([iccid(i) for i in range(n)], T0), limit=rate) as emu:
        provider = EsimGoProvider(api_key=API_KEY, base_url=emu.base_url, now=clock.now, rate_per_second=rate)
        if burst is not None:  # the adapter as it could be configured: its limiter swapped in place
            provider._http.limiter = TokenBucket(rate, burst)
        metrics = Metrics()
        jobs, _queue = pipeline(
            store,
            providers={"esimgo": provider},
            platforms={},
            clock=clock,  # type: ignore[dict-item]
            metrics=metrics,
        )
        try:
            task = asyncio.create_task(jobs.run_due())
            await asyncio.sleep(warmup)
            emu.forget_calls()
            begin = emu.next_window()  # whole windows of the emulator: a part of one could hold all of it
            end = begin + window
            await asyncio.sleep(end - time.monotonic())
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            await provider.aclose()
        return {"rate": emu.served_between(begin, end) / (end - begin), "refused": emu.refused}


async def _paced(config: Config, folder: Path, results: Results) -> None:
    n = config.sweep_lines
    source = dataset(folder, n, provider="esimgo")
    variants = (  # (label, rate, window, burst, runs)
        ("as shipped", config.sweep_rate, config.sweep_window, None, config.repeats),
        ("token bucket burst 1", config.sweep_rate, config.sweep_window, 1, config.repeats),
    )
    for name, rate, window, burst, repeats in variants:
        runs = []
        for run in range(repeats):  # a fresh copy each time: a sweep leaves its claims behind
            store = TinyDBStore(copy_dataset(source, folder / f"sweep-{burst}-{run}" / "bot.json"))
            try:
                runs.append(await _paced_sweep(store, n, rate, window, burst, config.sweep_warmup))
            finally:
                await store.close()
        label = f"{n:,} eSIM Go lines, limit {rate:g} req/s, adapter {name}"
        results.add(
            Row(
                SECTION,
                f"request rate served, {label}",
                "req/s",
                [r["rate"] for r in runs],
                "allowed",
                [rate] * len(runs),
                goal=">= 0.95 ratio",
                met=min(r["rate"] for r in runs) / rate >= 0.95,
                note=f"{window:g} whole 1-s windows after {config.sweep_warmup:g} s",
            )
        )
        results.add(
            Row(
                SECTION,
                f"429 answers, {label}",
                "count",
                [r["refused"] for r in runs],
                "goal",
                [0] * len(runs),
                goal="0",
                met=max(r["refused"] for r in runs) == 0,
                note="whole run",
            )
        )


def _cases() -> list[tuple[AlertState | None, EsimBalance, ReminderSettings, Any]]:
    """A mix of balances (plenty, low, empty, unlimited, expired) and histories."""
    settings = (ReminderSettings(), ReminderSettings(data_bytes=(500_000_000,), expiry_hours=(72, 24, 2)))
    states: tuple[AlertState | None, ...] = (
        None,
        AlertState(cycle_started=T0),
        AlertState(cycle_started=T0, announced=QUIET[2:], expires_at=T0 + timedelta(days=5), total=10 * GB, remaining=GB),
    )
    out = []
    for k in range(240):
        left = (k * 37 % 100) * GB // 10
        bal = EsimBalance(
            provider="demo",
            iccid="8947000000000000012",
            status=Status.EXPIRED if k % 11 == 0 else Status.ACTIVE,
            as_of=T0 + timedelta(minutes=k),
            data_total_bytes=None if k % 13 == 0 else 10 * GB,
            data_remaining_bytes=None if k % 13 == 0 else left,
            data_unlimited=k % 13 == 0,
            expires_at=T0 + timedelta(hours=k % 120),
        )
        out.append((states[k % 3], bal, settings[k % 2], T0 + timedelta(minutes=k)))
    return out


def _noop(state: AlertState | None, balance: EsimBalance, settings: ReminderSettings, now: Any) -> None:
    return None


def _cpu(fn: Any, cases: list[Any], count: int) -> float:
    """CPU seconds for ``count`` calls over the cases, scaled to 100 000 calls."""
    calls = (cases * (count // len(cases) + 1))[:count]
    started = time.process_time()
    for state, bal, settings, now in calls:
        fn(state, bal, settings, now)
    return (time.process_time() - started) * 100_000 / count


async def _rules(config: Config, results: Results) -> None:
    cases = _cases()
    ours = [_cpu(evaluate, cases, config.evaluations) for _ in range(config.repeats)]
    base = [_cpu(_noop, cases, config.evaluations) for _ in range(config.repeats)]
    results.add(
        Row(
            SECTION,
            "CPU time of bot.reminders.evaluate per 100 000 evaluations",
            "s",
            ours,
            "no-op with the same arguments",
            base,
        )
    )


async def run(config: Config, folder: Path, results: Results) -> None:
    await _paced(config, folder, results)
    await _rules(config, results)
    await renewal.run(config, results)
    await ladder.run(config, results)
