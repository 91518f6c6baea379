"""Damage fuzzing of the embedded store's files: flip, cut, duplicate and swap bytes and
records of the snapshot and the journal at random (seeded), then start.

What must hold for every case: the start either refuses with a message naming a store file
and changes no byte, or (for a cut final record only) starts with at most one log line and
holds everything acknowledged before the first damaged byte; any other damage that starts
must have changed nothing that matters (the state is the undamaged one).
``tests/test_store_damage.py`` runs a few hundred cases in ``make test``; ``python -m
tests.store_damage`` runs thousands (``make chaos``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import StoreError
from bot.store import TinyDBStore
from tests.store_crashes import HOUSEHOLD, State, apply, state, units

MUTATIONS = ("flip", "cut", "duplicate bytes", "swap bytes", "duplicate record", "swap records")


@dataclass
class Base:
    """Undamaged files, and the state after each whole journal record (``states[k]``: k records)."""

    snapshot: bytes
    journal: bytes
    states: list[State]
    ends: list[int]  # byte offset where record k ends, k = 1..


def build(folder: Path) -> Base:
    async def story() -> None:
        store = TinyDBStore(folder / "bot.json", compact_min_bytes=1 << 30)
        for n, ops in enumerate([HOUSEHOLD, *units(5, 24)]):
            await apply(store, ops)
            if n == 12:
                await store.compact()  # a snapshot with documents, a journal after it
        await store.close()

    asyncio.run(story())
    journal = (folder / "bot.json.journal").read_bytes()
    ends = [i + 1 for i, byte in enumerate(journal) if byte == 0x0A]
    states = [opened(folder, journal[:end]) for end in [0, *ends]]
    return Base((folder / "bot.json").read_bytes(), journal, states, ends)


def opened(folder: Path, journal: bytes) -> State:
    (folder / "bot.json.journal").write_bytes(journal)
    store = TinyDBStore(folder / "bot.json")
    got = state(store)
    asyncio.run(store.close())
    return got


def mutate(data: bytes, kind: str, rnd: random.Random) -> tuple[bytes, int]:
    """The damaged bytes and the offset of the first byte that differs (or may)."""
    size = len(data)
    if kind == "flip":
        at = rnd.randrange(size)
        return data[:at] + bytes([data[at] ^ rnd.randrange(1, 256)]) + data[at + 1 :], at
    if kind == "cut":
        at = rnd.randrange(size)
        return data[:at], at
    if kind == "duplicate bytes":
        a = rnd.randrange(size)
        b = min(size, a + rnd.randint(1, 200))
        at = rnd.randrange(size + 1)
        return data[:at] + data[a:b] + data[at:], at
    if kind == "swap bytes":
        n = rnd.randint(1, max(1, size // 4))
        a, b = sorted(rnd.sample(range(size - n + 1), 2)) if size - n >= 1 else (0, 0)
        if b < a + n:
            return data, size
        return data[:a] + data[b : b + n] + data[a + n : b] + data[a : a + n] + data[b + n :], a
    records = data.splitlines(keepends=True)
    if len(records) < 2:
        return data, size
    i, j = sorted(rnd.sample(range(len(records)), 2))
    if kind == "duplicate record":
        records.insert(j, records[i])
    else:
        records[i], records[j] = records[j], records[i]
    return b"".join(records), len(b"".join(records[:i]))


@dataclass
class Report:
    cases: int = 0
    refused: int = 0
    started: int = 0
    problems: list[str] = field(default_factory=list)


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.warnings = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings += record.levelno >= logging.WARNING


def case(base: Base, folder: Path, seed: int) -> str | None:
    """One damaged start; what is wrong with how it went (None: nothing)."""
    rnd = random.Random(seed)
    target = rnd.choice(("bot.json", "bot.json.journal", "bot.json.journal"))
    kind = rnd.choice(MUTATIONS)
    original = base.snapshot if target == "bot.json" else base.journal
    damaged, at = mutate(original, kind, rnd)
    folder.mkdir(parents=True)
    (folder / "bot.json").write_bytes(base.snapshot)
    (folder / "bot.json.journal").write_bytes(base.journal)
    (folder / target).write_bytes(damaged)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    what = f"seed {seed}: {kind} in {target} at byte {at}"
    counter = _Count()
    logging.getLogger("bot.store").addHandler(counter)
    try:
        store = TinyDBStore(folder / "bot.json")
    except StoreError as exc:
        after = {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.endswith(".lock")}
        if after != before:
            return f"{what}: refused, but changed the files"
        if str(folder) not in str(exc) or "nothing was changed" not in str(exc):
            return f"{what}: refused without naming the file: {exc}"
        return "refused"
    except Exception as exc:  # a traceback is what this looks for
        return f"{what}: {type(exc).__name__} instead of a clear refusal: {exc}"
    finally:
        logging.getLogger("bot.store").removeHandler(counter)
    got = state(store)
    asyncio.run(store.close())
    return judge(base, got, target, kind, at, counter.warnings, what)


def judge(base: Base, got: State, target: str, kind: str, at: int, warnings: int, what: str) -> str | None:
    if warnings > 1:
        return f"{what}: started with {warnings} warnings"
    if got == base.states[-1]:
        return None  # nothing lost (the damage was a no-op, or cut only what was never whole)
    if target != "bot.json.journal" or kind != "cut":
        return f"{what}: started with other data than was saved"
    whole_before = sum(end <= at for end in base.ends)
    if got not in base.states[whole_before:]:
        return f"{what}: lost changes acknowledged before the cut"
    return None


def fuzz(root: Path, cases: int, first_seed: int = 0) -> Report:
    base = build(root / "base")
    report = Report()
    for seed in range(first_seed, first_seed + cases):
        folder = root / f"case{seed}"
        result = case(base, folder, seed)
        shutil.rmtree(folder)
        report.cases += 1
        if result == "refused":
            report.refused += 1
        elif result is None:
            report.started += 1
        else:
            report.problems.append(result)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.store_damage", description=__doc__)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="esim-damage-") as tmp:
        report = fuzz(Path(tmp), args.cases, args.seed)
    print(f"damage cases: {report.cases}; refused: {report.refused}; started: {report.started}; problems: {len(report.problems)}")
    for problem in report.problems[:20]:
        print("  " + problem)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
