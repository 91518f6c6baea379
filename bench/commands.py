"""1. Command overhead: /balance and /lines through Router.handle, the file store and the
demo provider (no network), against a no-op command through the same router.

The bot is wired by ``bot.app.build`` on a data set of N lines; the measured household is a
family with three demo lines. Every call is one message, as a platform would hand it over,
including the router's commit before the reply.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.common import T0, Config, Results, Row, ms, percentile
from bench.data import MEASURED, copy_dataset, dataset
from bot.app import build
from bot.clock import FakeClock
from bot.config import Settings
from bot.context import Command, Context
from bot.messages import Address, Incoming, Reply
from bot.store import TinyDBStore

SECTION = "1. command overhead"
BUDGET = 3.0  # seconds of calls per command and round at most (a slow command gets fewer samples)
MIN_CALLS = 20


async def _noop(incoming: Incoming, ctx: Context) -> Reply:
    """The baseline: a command that does nothing."""
    return Reply("ok")


def _message(command: str) -> Incoming:
    address = Address("telegram", MEASURED.split(":", 1)[1], "1")
    return Incoming(
        address=address, text=f"/{command}", at=T0, command=command, is_group=True, is_admin=True, display_name="Anna"
    )


async def _latencies(handle: Callable[[Incoming], Awaitable[list[Reply]]], command: str, calls: int) -> list[float]:
    """``calls`` timed calls, or fewer (at least ``MIN_CALLS``) when they take over ``BUDGET`` s."""
    message = _message(command)
    took: list[float] = []
    for _ in range(3):  # warm caches up
        assert await handle(message), f"/{command} gave no reply"
    deadline = time.perf_counter() + BUDGET
    while len(took) < calls and (len(took) < MIN_CALLS or time.perf_counter() < deadline):
        started = time.perf_counter()
        await handle(message)
        took.append(time.perf_counter() - started)
    return took


async def run(config: Config, folder: Path, results: Results) -> None:
    for size in config.command_sizes:
        store = TinyDBStore(copy_dataset(dataset(folder, size), folder / f"commands-{size}" / "bot.json"))
        app = build(Settings(db_path=str(folder / "unused.json")), clock=FakeClock(T0), console=None, store=store)
        try:
            for step in app.startup:
                await step()
            app.router.commands["noop"] = Command("noop", _noop, "help.help", hidden=True)
            handle = app.router.handle
            rounds: dict[str, list[list[float]]] = {"noop": [], "balance": [], "lines": []}
            for _ in range(config.repeats):
                for command in rounds:  # interleaved, so a busy moment hits every command alike
                    rounds[command].append(await _latencies(handle, command, config.command_calls))
            for q in (50, 99):
                base = [ms(percentile(r, q)) for r in rounds["noop"]]
                for command in ("balance", "lines"):
                    values = [ms(percentile(r, q)) for r in rounds[command]]
                    samples = min(len(r) for r in rounds[command])
                    results.add(
                        Row(
                            SECTION,
                            f"/{command} p{q} at {size:,} lines",
                            "ms",
                            values,
                            f"no-op command p{q}",
                            base,
                            note=f"{samples} calls a run" if samples < 100 else "",
                        )
                    )
                    results.facts[f"{command}_p{q}_{size}"] = sorted(values)[len(values) // 2]
            results.facts[f"noop_p50_{size}"] = ms(percentile(rounds["noop"][0], 50))
        finally:
            await store.close()
    sizes = config.command_sizes
    small, large = sizes[0], sizes[-1]
    if large != small:
        p99 = [results.facts[f"balance_p99_{large}"]]
        ok = p99[0] <= 1.3 * results.facts[f"balance_p99_{small}"] and p99[0] < 5
        results.add(
            Row(
                SECTION,
                f"/balance p99 at {large:,} lines",
                "ms",
                p99,
                f"/balance p99 at {small:,} lines",
                [results.facts[f"balance_p99_{small}"]],
                goal="<= 1.3 ratio and < 5 ms",
                met=ok,
            )
        )
