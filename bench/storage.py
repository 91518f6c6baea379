"""2. Storage: one write (save_line + commit) and one read (line by id) at N lines, file size,
against stdlib sqlite3 in WAL mode holding the same documents; the growth exponents; and the
job queue's share of time inside the store during a reminder sweep.

sqlite3 runs with ``synchronous=FULL`` so that, like ``commit()``, a committed write survives
a power cut; it stores each document as JSON text under its key and its read decodes the same
record, so both sides do the same work apart from the storage itself.
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

from bench.common import T0, Config, Results, Row, Timed, ms, slope
from bench.data import DEMO_ICCIDS, copy_dataset, dataset, fill, line_id, size_on_disk
from bot.clock import FakeClock
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.records import AlertState, Line, from_doc, to_doc
from bot.scheduler import JobQueue
from bot.storage import AtomicJSONStorage
from bot.store import DocStore, MemoryStore, TinyDBStore
from providers.base import EsimBalance
from providers.demo import DemoProvider

SECTION = "2. storage"
TABLES = ("households", "lines", "samples", "alerts", "schedule", "state")
READS = 2000  # reads timed together: one read is too short for the clock


class SqliteStore:
    """The same documents in sqlite3 (WAL), one table per store table, JSON text by key."""

    def __init__(self, path: Path, source: DocStore) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        for name in TABLES:
            self.db.execute(f"CREATE TABLE {name} (key TEXT PRIMARY KEY, doc TEXT NOT NULL)")
            rows = ((d["_key"], json.dumps(d, ensure_ascii=False, separators=(",", ":"))) for d in source._t[name].values())
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


def _write_times(store: Any, size: int, ops: int, run: int) -> list[float]:
    took = []
    for k in range(ops):
        key = line_id((k * 7919 + run * 104729) % size)  # spread over the set, so over the shard files
        line = store.line(key)
        started = time.perf_counter()
        store.save_line(replace(line, label=f"renamed {run}.{k}"))
        if hasattr(store, "commit"):
            store.commit()
        took.append(time.perf_counter() - started)
    return took


def _read_time(store: Any, size: int) -> float:
    keys = [line_id((k * 7919) % size) for k in range(READS)]
    started = time.perf_counter()
    for key in keys:
        store.line(key)
    return (time.perf_counter() - started) / READS


def fsync_floor(folder: Path, times: int = 20) -> float:
    """Median ms of one atomic write of a tiny document: what any durable write pays on this disk."""
    storage = AtomicJSONStorage(folder / "floor" / "tiny.json")
    took = []
    for i in range(times):
        started = time.perf_counter()
        storage.write({"t": {"1": {"n": i}}})
        took.append(time.perf_counter() - started)
    return ms(sorted(took)[times // 2])


async def _reads_and_writes(config: Config, folder: Path, results: Results) -> None:
    results.facts["fsync_floor_ms"] = fsync_floor(folder)
    medians: dict[str, list[float]] = {"write": [], "sql_write": [], "read": [], "sql_read": []}
    sizes = config.storage_sizes
    for size in sizes:
        path = copy_dataset(dataset(folder, size), folder / f"storage-{size}" / "bot.json")
        store = TinyDBStore(str(path))
        sql = SqliteStore(folder / f"storage-{size}" / "sqlite.db", store)
        try:
            runs: dict[str, list[float]] = {k: [] for k in medians}
            for run in range(config.repeats):
                writes = _write_times(store, size, config.storage_ops, run)
                sql_writes = _write_times(sql, size, config.storage_ops, run)
                runs["write"].append(ms(sorted(writes)[len(writes) // 2]))
                runs["sql_write"].append(ms(sorted(sql_writes)[len(sql_writes) // 2]))
                runs["read"].append(_read_time(store, size) * 1e6)
                runs["sql_read"].append(_read_time(sql, size) * 1e6)
            results.add(Row(SECTION, f"write (save_line + commit) at {size:,} lines", "ms", runs["write"],
                            "sqlite3 WAL", runs["sql_write"]))
            results.add(Row(SECTION, f"read (line by id) at {size:,} lines", "µs", runs["read"], "sqlite3 WAL",
                            runs["sql_read"]))
            mb = size_on_disk(path) / 1e6
            sql_mb = sql.size() / 1e6
            results.add(Row(SECTION, f"file size at {size:,} lines", "MB", [mb], "sqlite3 WAL", [sql_mb]))
            results.facts[f"bytes_per_line_file_{size}"] = mb * 1e6 / size
            for key in medians:
                medians[key].append(sorted(runs[key])[len(runs[key]) // 2])
        finally:
            store.close()
            sql.db.close()
    for what in ("write", "read"):
        ours, theirs = slope(sizes, medians[what]), slope(sizes, medians[f"sql_{what}"])
        results.facts[f"{what}_exponent"], results.facts[f"sql_{what}_exponent"] = ours, theirs
        results.facts[f"{what}_times"] = dict(zip(sizes, medians[what], strict=True))
        results.add(Row(SECTION, f"growth exponent of a {what} ({sizes[0]:,} to {sizes[-1]:,} lines)", "log-log slope",
                        [ours], "sqlite3 WAL", [theirs], note="1 = linear in the data size, 0 = flat"))
    write_ms, largest = medians["write"][-1], sizes[-1]
    exponent = results.facts["write_exponent"]
    if exponent > 0.2:  # grows with the data: where does it pass 50 ms (fitted power law)?
        results.facts["write_50ms_lines"] = largest * (50 / write_ms) ** (1 / exponent)


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


class SweepRig:
    """The real job queue over a store (timed), the mapped demo provider and an outbox with no
    platform (alerts are stored, not sent: fan-out is measured in section 4)."""

    def __init__(self, store: DocStore, clock: FakeClock) -> None:
        self.store, self.clock, self.timed = store, clock, Timed(store)
        demo = MappedDemo(DemoProvider(self.timed, clock.now))  # type: ignore[arg-type]
        metrics = Metrics()
        self.outbox = Outbox(store=self.timed, platforms={}, render=lambda item: "", metrics=metrics)  # type: ignore[arg-type]
        self.jobs = JobQueue(store=self.timed, providers={"demo": demo}, outbox=self.outbox,  # type: ignore[arg-type, dict-item]
                             clock=clock, metrics=metrics)

    async def sweep(self) -> tuple[float, float, float]:
        """Every line polled once: (seconds, % of them inside the store, longest store call in s)."""
        self.clock.advance(timedelta(hours=2))  # every line is due (the demo cadence is one hour)
        await asyncio.sleep(1.0)  # the group commit waits a second since the last one
        self.timed.reset()
        started = time.perf_counter()
        await self.jobs.run_due()
        took = time.perf_counter() - started
        return took, 100 * self.timed.spent / took, self.timed.longest

    def rearm(self, count: int, size: int) -> None:
        """Forget what ``count`` of the ``size`` lines announced, so their next poll alerts again."""
        for i in range(count):
            self.store.save_alert_state(line_id(i * 7 % size), AlertState(cycle_started=T0))


async def _steady(store: DocStore, repeats: int) -> tuple[SweepRig, list[float], list[float], float]:
    rig = SweepRig(store, FakeClock(T0))
    seconds, shares, longest = [], [], 0.0
    for _ in range(repeats):
        took, share, long = await rig.sweep()
        seconds.append(took)
        shares.append(share)
        longest = max(longest, long)
    return rig, seconds, shares, longest


async def _job_queue_share(config: Config, folder: Path, results: Results) -> None:
    n = config.share_lines
    store = TinyDBStore(str(copy_dataset(dataset(folder, n), folder / "share" / "bot.json")))
    try:
        rig, seconds, shares, longest = await _steady(store, config.repeats)
        rearmed = max(1, n // 20)
        rig.rearm(rearmed, n)
        backlog = rig.outbox.backlog
        storm, storm_share, storm_longest = await rig.sweep()
        alerts = rig.outbox.backlog - backlog
    finally:
        store.close()
    memory = MemoryStore()
    fill(memory, n)
    memory.put_state("demo", "day0", T0.isoformat())
    _, mem_seconds, mem_shares, _ = await _steady(memory, config.repeats)
    results.add(Row(SECTION, f"job queue sweep of {n:,} lines (demo, no network)", "s", seconds,
                    "same on MemoryStore", mem_seconds))
    results.add(Row(SECTION, f"job queue time inside the store, sweep of {n:,} lines (demo, no network)", "%", shares,
                    "same on MemoryStore", mem_shares, note="CPU-bound: no provider wait at all"))
    results.add(Row(SECTION, f"sweep of {n:,} lines when {rearmed:,} cross a threshold ({alerts:,} alerts)", "s",
                    [storm], "quiet sweep", seconds))
    results.facts.update(share_longest_ms=ms(longest), storm_alerts=alerts, storm_share=storm_share,
                         storm_longest_ms=ms(storm_longest), storm_seconds=storm,
                         share_sweep_per_line_us=sorted(seconds)[len(seconds) // 2] / n * 1e6)


async def run(config: Config, folder: Path, results: Results) -> None:
    await _reads_and_writes(config, folder, results)
    await _job_queue_share(config, folder, results)
