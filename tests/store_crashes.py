"""Crash simulation at every write point of the embedded store, the way SQLite tests its commit.

A workload (a first start, units of work that add, rewrite and remove documents while
compactions run beside them, and a clean close) runs on a ``CrashDisk``: the store's own
``Disk`` that counts every write, fsync, rename and removal and, at the chosen one, dies
there (a write dies half-way, leaving a random prefix of its bytes), and from then on lets
nothing more reach the disk, as a SIGKILL would. Then a plain store opens the same files and
the check asks: do they load; does a second start read the same; is the state exactly what
the last acknowledged unit left, or that plus the one unit whose commit was under way; does
a new unit follow and survive another start. ``python -m tests.store_crashes`` runs every
point (``make chaos``); ``tests/test_store_crash_points.py`` runs a few hundred in
``make test``. The same is done for the upgrade from version 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.records import Household, Line
from bot.store import MemoryStore, TinyDBStore
from bot.store.files import Disk
from bot.store.memory import DocumentStore
from bot.store.tables import TABLES

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
FIXTURE_V1 = Path(__file__).parent / "fixtures" / "v1"
State = dict[str, dict[str, dict[str, Any]]]


class Crash(BaseException):
    """The process died at this step (a BaseException, so no ``except OSError`` tidies up)."""


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class CrashDisk(Disk):
    """Counts the steps; dies at step ``at`` (never when ``at`` is None)."""

    def __init__(self, at: int | None = None, seed: int = 0) -> None:
        self.at, self.count, self.dead = at, 0, False
        self.rnd = random.Random(seed)
        self.kinds: list[str] = []
        self.tasks: list[asyncio.Task[Any]] = []  # tasks that died here (a compaction), to collect

    def step(self, kind: str, path: Path) -> None:
        if self.dead:
            raise Crash("after the crash")
        self.count += 1
        self.kinds.append(f"{kind} {path.name}")
        if self.count == self.at:
            self._die()
            raise Crash(f"{kind} {path.name}")

    def _die(self) -> None:
        self.dead = True
        task = asyncio.current_task() if _loop_running() else None
        if task is not None and task.get_name() == "store-compaction":
            self.tasks.append(task)

    def write(self, fd: int, path: Path, data: bytes) -> None:
        if not self.dead and self.count + 1 == self.at and data:
            self.count += 1
            self.kinds.append(f"write {path.name}")
            self._die()
            os.write(fd, data[: self.rnd.randrange(len(data) + 1)])  # torn: whatever reached the file
            raise Crash(f"torn write {path.name}")
        super().write(fd, path, data)

    async def fsync_later(self, fd: int, path: Path) -> None:
        self.fsync(fd, path)  # in the loop, so every run interleaves the same way
        await asyncio.sleep(0)


def line(n: int, household: str, version: int) -> Line:
    return Line(
        id=f"line{n}",
        household_id=household,
        label=f"l{n}v{version}",
        owner="console:u1",
        owner_name="Li",
        provider="demo",
        ref=f"8947{n:015d}",
        created_at=T0 + timedelta(minutes=n),
    )


def units(seed: int, count: int) -> Iterable[list[tuple[str, int, int]]]:
    """Units of work as (action, line number, version): add lines in bursts, rewrite the
    older ones, remove some, so a compaction sees new documents before rewritten ones."""
    rnd, alive, next_n = random.Random(seed), [], 0
    for u in range(count):
        ops: list[tuple[str, int, int]] = []
        if u % 4 == 0 or not alive:
            for _ in range(rnd.randint(5, 30)):
                ops.append(("add", next_n, 0))
                alive.append(next_n)
                next_n += 1
        else:
            for n in rnd.sample(alive, min(len(alive), rnd.randint(1, 12))):
                ops.append(("save", n, u))
            if rnd.random() < 0.3:
                gone = rnd.choice(alive)
                alive.remove(gone)
                ops.append(("delete", gone, u))
        yield ops


HOUSEHOLD = [("household", 0, 0)]


async def apply(store: DocumentStore, ops: list[tuple[str, int, int]]) -> None:
    async with store.transaction() as tx:
        for action, n, version in ops:
            if action == "household":
                await tx.save_household(Household(id="console:h1", is_group=True, created_at=T0))
            elif action == "delete":
                await tx.delete_line(f"line{n}")
            else:
                await tx.save_line(line(n, "console:h1", version))


def state(store: DocumentStore) -> State:
    docs = store.docs
    return {t: {k: {f: v for f, v in (docs.get(t, k) or {}).items() if f != "_key"} for k in docs.keys(t)} for t in TABLES}


@dataclass
class Outcome:
    acked: list[State] = field(default_factory=list)  # the state after each acknowledged unit
    in_flight: State | None = None  # what the unit under way at the crash would have left
    crashed: str | None = None
    steps: int = 0
    compactions: int = 0


async def workload(folder: Path, disk: Disk, *, seed: int = 1, count: int = 40) -> Outcome:
    """Run the story on ``disk`` until it ends or dies; what was acknowledged on the way. A
    memory store takes every unit first: its state is what the unit under way would leave."""
    out, mirror = Outcome(), MemoryStore()
    store = None
    try:
        store = TinyDBStore(folder / "bot.json", disk=disk, compact_min_bytes=1 << 10, now=T0)
        out.acked.append(state(store))
        for number, ops in enumerate([HOUSEHOLD, *units(seed, count)]):
            await apply(mirror, ops)
            out.in_flight = state(mirror)
            await apply(store, ops)
            out.acked.append(out.in_flight)
            out.in_flight = None
            await asyncio.sleep(0)  # a compaction under way writes its next slice
            if number % 6 == 5:
                await store.compact()
        out.compactions = store.compactions
        await store.close()
    except Crash as crash:
        out.crashed = str(crash)
        if store is not None:
            await dead(store, disk)
    out.steps = getattr(disk, "count", 0)
    return out


async def dead(store: TinyDBStore, disk: Disk) -> None:
    """What SIGKILL leaves: the files as they are, nothing tidied, the lock gone with the process."""
    tasks = [t for t in [store._compaction, *getattr(disk, "tasks", [])] if t is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    store.journal.close() if hasattr(store, "journal") else None
    store._lock.release()


async def upgrade(folder: Path, disk: Disk) -> Outcome:
    """The version-1 folder of the fixtures, upgraded by a first start on ``disk``."""
    out = Outcome()
    if not (folder / "bot.json").exists():
        shutil.copytree(FIXTURE_V1, folder, dirs_exist_ok=True)
    try:
        store = TinyDBStore(folder / "bot.json", disk=disk, now=T0)
        out.acked.append(state(store))
        await store.close()
    except Crash as crash:
        out.crashed = str(crash)
    out.steps = getattr(disk, "count", 0)
    return out


async def check_point(
    folder: Path, at: int, *, story: str = "units", seed: int = 1, reference: State | None = None
) -> str | None:
    """Die at step ``at``, start again, and say what is wrong (None: nothing)."""
    disk = CrashDisk(at, seed=at)
    out = await (upgrade(folder, disk) if story == "upgrade" else workload(folder, disk, seed=seed))
    if out.crashed is None:
        return None
    where = f"step {at} ({out.crashed})"
    allowed = [out.acked[-1] if out.acked else empty()] + ([out.in_flight] if out.in_flight else [])
    if story == "upgrade":
        allowed = [reference or empty()]
    try:
        store = TinyDBStore(folder / "bot.json", now=T0)
    except Exception as exc:  # any failure to start is what this looks for
        return f"{where}: the files do not load: {exc}"
    got = state(store)
    if got not in allowed:
        await store.close()
        return f"{where}: the state after the restart is not the last acknowledged unit"
    await apply(store, [("add", 9999, 1)])
    after = state(store)
    await store.close()
    again = TinyDBStore(folder / "bot.json", now=T0)
    second = state(again)
    await again.close()
    if second != after:
        return f"{where}: a unit after the restart did not survive the next start"
    left = sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".old", ".d")))
    return f"{where}: files left behind after a clean start: {left}" if left else None


def empty() -> State:
    return {t: {} for t in TABLES}


def chosen(total: int, limit: int | None, seed: int) -> list[int]:
    """Every step, or ``limit`` of them: evenly spread, plus a seeded random few."""
    if limit is None or limit >= total:
        return list(range(1, total + 1))
    spread = {1 + (i * total) // (limit // 2) for i in range(limit // 2)}
    rest = [p for p in range(1, total + 1) if p not in spread]
    return sorted(spread | set(random.Random(seed).sample(rest, limit - len(spread))))


@dataclass
class Report:
    points: int = 0
    problems: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    compactions: int = 0
    steps: int = 0


async def run(root: Path, *, story: str = "units", seed: int = 1, limit: int | None = None) -> Report:
    """A dry run counts the steps; then the story dies at each chosen one and is checked."""
    dry_disk = CrashDisk()
    dry = await (upgrade(root / "dry", dry_disk) if story == "upgrade" else workload(root / "dry", dry_disk, seed=seed))
    report = Report(compactions=dry.compactions, steps=dry.steps)
    reference = dry.acked[-1] if dry.acked else None
    for at in chosen(dry.steps, limit, seed):
        folder = root / f"{story}-{seed}-{at}"
        folder.mkdir(parents=True)
        problem = await check_point(folder, at, story=story, seed=seed, reference=reference)
        kind = dry_disk.kinds[at - 1].split(" ")[0] if at <= len(dry_disk.kinds) else "?"
        report.kinds[kind] = report.kinds.get(kind, 0) + 1
        report.points += 1
        if problem:
            report.problems.append(problem)
        shutil.rmtree(folder)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.store_crashes", description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--limit", type=int, default=None, help="crash points a story (default: every one)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="esim-crash-points-") as tmp:
        stories = [("upgrade", 1)] + [("units", seed) for seed in args.seeds]
        for story, seed in stories:
            report = asyncio.run(run(Path(tmp) / f"{story}{seed}", story=story, seed=seed, limit=args.limit))
            failed += len(report.problems)
            print(
                f"{story} (seed {seed}): {report.points} of {report.steps} crash points {report.kinds}, "
                f"{report.compactions} compactions in the story, problems: {len(report.problems)}"
            )
            for problem in report.problems[:20]:
                print("  " + problem)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
