"""2. Storage: one unit of work that changes one line, against stdlib sqlite3 doing the same
durable write; a read; the file size; the growth exponents; ``/link`` as lines are added;
commands while a compaction runs; and a reminder sweep, quiet and with threshold crossings.

sqlite3 runs in WAL mode with ``synchronous=FULL`` so that, like the end of a unit of work,
a committed write survives a power cut; it stores each document as JSON text under its key
and its read decodes the same record, so both sides do the same work apart from storage.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import T0, Config, Results, Row, ms, percentile, slope
from bench.data import DEMO_ICCIDS, copy_dataset, dataset, line_id, size_on_disk
from bench.pipeline import pipeline
from bot.app import ProviderState, build
from bot.clock import FakeClock
from bot.config import Settings
from bot.messages import Address, Incoming
from bot.metrics import Metrics
from bot.records import Alert, AlertKind, AlertState, Line, OutboxItem, from_doc, to_doc
from bot.store import TinyDBStore
from providers.base import GB, EsimBalance
from providers.demo import DemoProvider

SECTION = "2. storage"
TABLES = ("households", "lines", "samples", "alerts", "schedule", "state")
READS = 2000  # reads timed together: one read is too short for the clock


class SqliteStore:
    """The same documents in sqlite3 (WAL, synchronous=FULL), one table per store table."""

    def __init__(self, path: Path, source: TinyDBStore) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        for name in TABLES:
            self.db.execute(f"CREATE TABLE {name} (key TEXT PRIMARY KEY, doc TEXT NOT NULL)")
            rows = (
                (k, json.dumps(source.docs.get(name, k), ensure_ascii=False, separators=(",", ":")))
                for k in source.docs.keys(name)
            )
            self.db.execute("BEGIN")
            self.db.executemany(f"INSERT INTO {name} VALUES (?, ?)", rows)
            self.db.execute("COMMIT")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def save_line(self, line: Line) -> None:
        doc = json.dumps({**to_doc(line), "_key": line.id}, ensure_ascii=False, separators=(",", ":"))
        self.db.execute("BEGIN")
        self.db.execute("INSERT OR REPLACE INTO lines VALUES (?, ?)", (line.id, doc))
        self.db.execute("COMMIT")

    def line(self, key: str) -> Line | None:
        row = self.db.execute("SELECT doc FROM lines WHERE key = ?", (key,)).fetchone()
        return None if row is None else from_doc(Line, json.loads(row[0]))

    def size(self) -> int:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        wal = Path(str(self.path) + "-wal")
        return self.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


async def _line(store: TinyDBStore, key: str) -> Line:
    async with store.transaction() as tx:
        found = await tx.line(key)
    assert found is not None
    return found


async def _unit_write(store: TinyDBStore, line: Line) -> float:
    started = time.perf_counter()
    async with store.transaction() as tx:
        await tx.save_line(line)
    return time.perf_counter() - started


async def _writes(store: TinyDBStore, sql: SqliteStore, size: int, ops: int, run: int) -> tuple[float, float]:
    """Median seconds of one durable write: ours, sqlite3's (interleaved, so both see the same disk)."""
    ours, theirs = [], []
    for k in range(ops):
        key = line_id((k * 7919 + run * 104729) % size)
        line = replace(await _line(store, key), label=f"renamed {run}.{k}")
        ours.append(await _unit_write(store, line))
        started = time.perf_counter()
        sql.save_line(line)
        theirs.append(time.perf_counter() - started)
    return percentile(ours, 50), percentile(theirs, 50)


async def _reads(store: TinyDBStore, sql: SqliteStore, size: int) -> tuple[float, float]:
    keys = [line_id((k * 7919) % size) for k in range(READS)]
    started = time.perf_counter()
    for key in keys:
        async with store.transaction() as tx:
            await tx.line(key)
    ours = (time.perf_counter() - started) / READS
    started = time.perf_counter()
    for key in keys:
        sql.line(key)
    return ours, (time.perf_counter() - started) / READS


async def _reads_and_writes(config: Config, folder: Path, results: Results) -> None:
    medians: dict[str, list[float]] = {"write": [], "sql_write": [], "read": [], "sql_read": []}
    sizes = config.storage_sizes
    for size in sizes:
        path = copy_dataset(dataset(folder, size), folder / f"storage-{size}" / "bot.json")
        store = TinyDBStore(path)
        sql = SqliteStore(folder / f"storage-{size}" / "sqlite.db", store)
        try:
            runs: dict[str, list[float]] = {k: [] for k in medians}
            for run in range(config.repeats):
                write, sql_write = await _writes(store, sql, size, config.storage_ops, run)
                read, sql_read = await _reads(store, sql, size)
                runs["write"].append(ms(write))
                runs["sql_write"].append(ms(sql_write))
                runs["read"].append(read * 1e6)
                runs["sql_read"].append(sql_read * 1e6)
            ratio = sorted(runs["write"])[len(runs["write"]) // 2] / sorted(runs["sql_write"])[len(runs["sql_write"]) // 2]
            results.add(
                Row(
                    SECTION,
                    f"unit of work changing one line at {size:,} lines",
                    "ms",
                    runs["write"],
                    "sqlite3 WAL FULL",
                    runs["sql_write"],
                    goal="<= 2 ratio",
                    met=ratio <= 2,
                )
            )
            results.add(
                Row(
                    SECTION, f"read (line by id, one unit) at {size:,} lines", "µs", runs["read"], "sqlite3 WAL", runs["sql_read"]
                )
            )
            results.add(
                Row(SECTION, f"files at {size:,} lines", "MB", [size_on_disk(path) / 1e6], "sqlite3 WAL", [sql.size() / 1e6])
            )
            for key in medians:
                medians[key].append(sorted(runs[key])[len(runs[key]) // 2])
        finally:
            await store.close()
            sql.db.close()
    for what in ("write", "read"):
        ours, theirs = slope(sizes, medians[what]), slope(sizes, medians[f"sql_{what}"])
        results.facts[f"{what}_exponent"] = ours
        goal = {"goal": "<= 0.1", "met": ours <= 0.1} if what == "write" else {}
        results.add(
            Row(
                SECTION,
                f"growth exponent of a {what} ({sizes[0]:,} to {sizes[-1]:,} lines)",
                "log-log slope",
                [ours],
                "sqlite3 WAL",
                [theirs],
                note="1 = linear in the data size, 0 = flat",
                **goal,
            )
        )


async def _links(config: Config, folder: Path, results: Results) -> None:
    """``/link manual`` through the router, one household per 40 lines, on a file store."""
    n = config.link_count
    store = TinyDBStore(folder / "links" / "bot.json")
    app = build(Settings(db_path=str(folder / "unused.json")), clock=FakeClock(T0), console=None, store=store)
    took: list[float] = []
    try:
        for step in app.startup:
            await step()
        for i in range(n):
            incoming = Incoming(
                address=Address("telegram", str(100 + i // 40), str(100 + i // 40)),
                at=T0,
                text=f"/link manual telenor l{i} 10 2027-01-31",
            )
            started = time.perf_counter()
            replies = await app.router.handle(incoming)
            took.append(time.perf_counter() - started)
            assert replies and "l" in replies[0].text
    finally:
        await store.close()
    tenth = max(1, n // 10)
    first, last = took[:tenth], took[-tenth:]
    ratio = (sum(last) / len(last)) / (sum(first) / len(first))
    results.add(
        Row(
            SECTION,
            f"/link, mean of the last tenth of {n:,} links",
            "ms",
            [ms(sum(last) / len(last))],
            "the first tenth",
            [ms(sum(first) / len(first))],
            goal="<= 1.5 ratio",
            met=ratio <= 1.5,
        )
    )


async def _burst(store: TinyDBStore, lines: list[Line], tag: str) -> list[float]:
    """One write command after another, each arriving as a message would (after a loop turn)."""
    took = []
    for k, line in enumerate(lines):
        started = time.perf_counter()
        await asyncio.sleep(0)  # a message arrives: whatever else runs on the loop goes first
        async with store.transaction() as tx:
            await tx.save_line(replace(line, label=f"{tag}{k}"))
        took.append(time.perf_counter() - started)
    return took


async def _compaction(config: Config, folder: Path, results: Results) -> None:
    size = config.storage_sizes[-1]
    store = TinyDBStore(copy_dataset(dataset(folder, size), folder / "compaction" / "bot.json"))
    try:
        lines = [await _line(store, line_id((k * 7919) % size)) for k in range(config.burst)]
        quiet, busy, spans = [], [], []
        for run in range(config.repeats):
            quiet.append(ms(percentile(await _burst(store, lines, f"q{run}."), 99)))
            started = time.perf_counter()
            compaction = asyncio.create_task(store.compact())
            during: list[float] = []
            while not compaction.done():
                during += await _burst(store, lines[:50], f"c{run}.")
            await compaction
            spans.append(time.perf_counter() - started)
            busy.append(ms(percentile(during, 99)))
        ratio = sorted(busy)[len(busy) // 2] / sorted(quiet)[len(quiet) // 2]
        results.add(
            Row(
                SECTION,
                f"write command p99 while a compaction of {size:,} lines runs",
                "ms",
                busy,
                "p99 without compaction",
                quiet,
                goal="<= 2 ratio",
                met=ratio <= 2,
                note=f"a compaction took {sorted(spans)[len(spans) // 2]:.1f} s",
            )
        )
    finally:
        await store.close()


class MappedDemo:
    """The demo provider for any ICCID: each line gets one of the six demo eSIMs, so a sweep
    over N generated lines runs the demo's real simulation without a network."""

    def __init__(self, demo: DemoProvider) -> None:
        self._demo = demo
        self.name, self.supports_topup, self.min_poll_seconds = demo.name, demo.supports_topup, demo.min_poll_seconds

    async def balance(self, iccid: str) -> EsimBalance:
        found = await self._demo.balance(DEMO_ICCIDS[int(iccid) % len(DEMO_ICCIDS)])
        return replace(found, iccid=iccid)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._demo, name)


async def _sweeps(config: Config, folder: Path, results: Results) -> None:
    """Every line polled once by the real job queue (no network): quiet, then with crossings."""
    n, crossings = config.share_lines, config.crossings
    store = TinyDBStore(copy_dataset(dataset(folder, n), folder / "sweep" / "bot.json"))
    clock, metrics = FakeClock(T0), Metrics()
    demo = MappedDemo(DemoProvider(ProviderState(store), clock.now))
    jobs, outbox = pipeline(store, providers={"demo": demo}, platforms={}, clock=clock, metrics=metrics)  # type: ignore[dict-item]
    quiet, storm = [], []
    try:
        for run in range(config.repeats):
            for rearm in (False, True):
                if rearm:
                    async with store.transaction() as tx:
                        for i in range(crossings):
                            await tx.save_alert_state(line_id((i * 7 + run) % n), AlertState(cycle_started=T0))
                clock.advance(timedelta(hours=2))  # every line is due (the demo cadence is one hour)
                before = outbox.backlog
                started = time.perf_counter()
                await jobs.run_due()
                (storm if rearm else quiet).append(time.perf_counter() - started)
                assert not rearm or outbox.backlog > before, "the crossings made no alert"
    finally:
        await store.close()
    ratio = sorted(storm)[len(storm) // 2] / sorted(quiet)[len(quiet) // 2]
    results.add(
        Row(
            SECTION,
            f"sweep of {n:,} lines with {crossings:,} threshold crossings",
            "s",
            storm,
            "a quiet sweep of the same lines",
            quiet,
            goal="<= 1.2 ratio",
            met=ratio <= 1.2,
        )
    )


async def _storm(config: Config, folder: Path, results: Results) -> None:
    """A storm: ``fanout_alerts`` lines cross a threshold one after the other, each alert
    queued in a unit of its own (as a poll does), on a file store: is the last one as cheap
    as the first?"""
    n = config.fanout_alerts
    store = TinyDBStore(folder / "storm" / "bot.json")
    _jobs, queue = pipeline(store, providers={}, platforms={}, clock=FakeClock(T0), metrics=Metrics())
    alert = Alert(kind=AlertKind.DATA, label="line", provider="demo", threshold=20, remaining=GB, total=10 * GB)
    took = []
    try:
        for i in range(n):
            item = OutboxItem(
                id=f"s{i:08d}",
                line_id=line_id(i),
                household_id=f"telegram:{i}",
                platform="telegram",
                chat=str(i),
                alert=alert,
                created_at=T0,
                not_before=T0 + timedelta(seconds=i),
            )
            started = time.perf_counter()
            async with store.transaction() as tx:
                await queue.enqueue(tx, item)
            took.append(time.perf_counter() - started)
    finally:
        await store.close()
    tenth = max(1, n // 10)
    first, last = sum(took[:tenth]) / tenth, sum(took[-tenth:]) / tenth
    results.add(
        Row(
            SECTION,
            f"one alert queued in its own unit, last tenth of a storm of {n:,}",
            "ms",
            [ms(last)],
            "the first tenth",
            [ms(first)],
            goal="<= 1.2 ratio",
            met=last <= 1.2 * first,
        )
    )


async def run(config: Config, folder: Path, results: Results) -> None:
    await _reads_and_writes(config, folder, results)
    await _storm(config, folder, results)
    await _links(config, folder, results)
    await _compaction(config, folder, results)
    await _sweeps(config, folder, results)
