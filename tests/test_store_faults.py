"""The six store faults found under crashes and damage at operator scale (issue 30), each
pinned: a snapshot written while writes interleave with it, a first start cut short, a
checked journal record with a broken document, damage taken for a torn tail, a FIFO where
the journal belongs, a full disk's log line without a file name; and the version-1 folder
left behind by an upgrade cut short."""

from __future__ import annotations

import errno
import json
import logging
import os
import random
import shutil
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.errors import StoreError, StoreWriteError
from bot.records import Line
from bot.store import TinyDBStore, snapshot
from bot.store.journal import encode
from bot.store.tables import Documents
from tests.store_crashes import FIXTURE_V1, Crash, CrashDisk, state

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def user(n: int, version: int = 0) -> tuple[str, str, dict[str, Any]]:
    return ("users", f"u{n}", {"language": "zh", "v": version})


def line(n: int, label: str | None = None) -> Line:
    return Line(
        id=f"line{n}",
        household_id="console:h1",
        label=label or f"l{n}",
        owner="console:u1",
        owner_name="Li",
        provider="demo",
        ref=f"8947{n:015d}",
        created_at=T0 + timedelta(minutes=n),
    )


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.endswith(".lock")}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.json"


# -- 1. the snapshot writer, for any interleaving of writes with its slices -------------------

Write = tuple[str, int, int]  # (add | change | delete, user number, version)


@st.composite
def interleavings(draw: st.DrawFn) -> tuple[int, list[list[Write]]]:
    """Users at the freeze, then the writes that happen before each slice is written (new
    users, and changes that move the older ones behind them, as TinyDB's dict order does)."""
    start = draw(st.integers(0, 60))
    write = st.tuples(st.sampled_from(["add", "change", "delete"]), st.integers(0, start + 40), st.integers(1, 5))
    return start, draw(st.lists(st.lists(write, max_size=60), max_size=12))


THE_REPORT = (10, [[], [], [("add", n, 1) for n in range(10, 40)] + [("change", n, 1) for n in range(10)]])


@settings(max_examples=300, deadline=None)
@given(interleavings())
@example(THE_REPORT)
def test_a_snapshot_written_while_documents_come_and_go_is_whole_and_as_frozen(case: tuple[int, list[list[Write]]]) -> None:
    start, pauses = case
    docs = Documents()
    for n in range(start):
        docs.put(*user(n))
    frozen = {"users": {key: {**doc, "_key": key} for key in docs.keys("users") if (doc := docs.get("users", key))}}
    docs.freeze()
    chunks: Iterator[bytes] = snapshot.chunks(docs, 7)
    out = []
    for chunk in chunks:
        out.append(chunk)
        for kind, n, version in pauses.pop(0) if pauses else []:
            docs.put(*(user(n, version)[:2] + ((None,) if kind == "delete" else (user(n, version)[2],))))
    raw = b"".join(out)
    meta, data = snapshot.decode(Path("bot.json"), raw)  # whole JSON with a matching checksum
    assert meta["seq"] == 7
    assert {d["_key"]: d for d in data["users"].values()} == {k: d for k, d in frozen["users"].items()}


async def test_the_compaction_of_the_report_reopens(db: Path) -> None:
    """The case seen: 10 users, a compaction, 30 users added and the 10 old ones changed while it runs."""
    store = TinyDBStore(db)
    for n in range(10):
        async with store.transaction() as tx:
            await tx.set_user_language(f"u{n}", "zh")
    store._begin_compaction()
    for n in range(10, 40):
        async with store.transaction() as tx:
            await tx.set_user_language(f"u{n}", "nb")
    for n in range(10):
        async with store.transaction() as tx:
            await tx.set_user_language(f"u{n}", "en")
    await store.compact()
    await store.close()
    again = TinyDBStore(db)
    async with again.transaction() as tx:
        assert [await tx.user_language(f"u{n}") for n in (0, 9, 10, 39)] == ["en", "en", "nb", "nb"]
    await again.close()


# -- 2. a first start is safe to run again after a kill at any step ---------------------------


async def test_a_first_start_killed_at_every_step_starts_next_time(tmp_path: Path) -> None:
    steps = CrashDisk()
    TinyDBStore(tmp_path / "dry" / "bot.json", disk=steps)._lock.release()
    assert steps.count >= 5, steps.kinds
    for at in range(1, steps.count + 1):
        folder = tmp_path / f"kill{at}"
        with pytest.raises(Crash):
            TinyDBStore(folder / "bot.json", disk=CrashDisk(at, seed=at))
        store = TinyDBStore(folder / "bot.json")
        async with store.transaction() as tx:
            await tx.save_line(line(1))
        await store.close()
        again = TinyDBStore(folder / "bot.json")
        assert list(state(again)["lines"]) == ["line1"], f"step {at}: {steps.kinds[at - 1]}"
        await again.close()


def test_an_empty_journal_beside_no_snapshot_says_what_to_do(db: Path) -> None:
    db.parent.mkdir(parents=True)
    Path(str(db) + ".journal").write_bytes(b"")
    with pytest.raises(StoreError, match=r"never started here before, delete the empty bot\.json\.journal"):
        TinyDBStore(db)
    assert files(db.parent) == {"bot.json.journal": b""}


async def test_an_upgrade_killed_after_its_snapshot_removes_the_old_folder_next_time(tmp_path: Path) -> None:
    folder = tmp_path / "v1"
    shutil.copytree(FIXTURE_V1, folder)
    dry = CrashDisk()
    shutil.copytree(FIXTURE_V1, tmp_path / "dry")
    TinyDBStore(tmp_path / "dry" / "bot.json", disk=dry, now=T0)._lock.release()
    removal = next(i for i, kind in enumerate(dry.kinds, 1) if kind == "remove bot.json.d")
    with pytest.raises(Crash):
        TinyDBStore(folder / "bot.json", disk=CrashDisk(removal), now=T0)
    assert (folder / "bot.json.d").is_dir()
    store = TinyDBStore(folder / "bot.json", now=T0)
    await store.close()
    assert not (folder / "bot.json.d").exists() and (folder / "bot.json.v1-backup" / "bot.json.d").is_dir()


# -- 3. every journal document is checked like a snapshot's -----------------------------------


@pytest.mark.parametrize("damage", ["no label", "a number for a date", "unknown table", "not an operation"])
async def test_a_checked_record_with_a_broken_document_is_refused_naming_file_and_record(db: Path, damage: str) -> None:
    store = TinyDBStore(db)
    async with store.transaction() as tx:
        await tx.save_line(line(1))
    await store.close()
    journal = Path(str(db) + ".journal")
    seq, ops = json.loads(journal.read_bytes().splitlines()[-1][9:])
    doc = dict(ops[0][2])
    if damage == "no label":
        del doc["label"]
        bad: list[Any] = [["lines", "line2", {**doc, "id": "line2"}]]
    elif damage == "a number for a date":
        bad = [["lines", "line2", {**doc, "created_at": 12}]]
    elif damage == "unknown table":
        bad = [["linez", "line2", doc]]
    else:
        bad = [["lines", "line2"]]
    journal.write_bytes(journal.read_bytes() + encode(seq + 1, bad))
    before = files(db.parent)
    with pytest.raises(StoreError, match=r"bot.json.journal: is damaged at byte \d+ \(record 2: it holds a damaged"):
        TinyDBStore(db)
    assert files(db.parent) == before


# -- 4. only the final, incomplete record is a torn tail --------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        "two bad records at the end",
        "random bytes",
        "a whole record without its newline damaged",
        "bytes that cannot start a record",
    ],
)
async def test_damage_that_is_not_a_torn_tail_is_refused_and_keeps_what_was_saved(db: Path, damage: str) -> None:
    store = TinyDBStore(db)
    for n in range(3):
        async with store.transaction() as tx:
            await tx.save_line(line(n))
    await store.close()
    journal = Path(str(db) + ".journal")
    records = journal.read_bytes().splitlines(keepends=True)
    if damage == "two bad records at the end":
        records[-2:] = [r.replace(b"l1", b"X1").replace(b"l2", b"X2") for r in records[-2:]]
    elif damage == "random bytes":
        records = [random.Random(4).randbytes(len(b"".join(records)))]
    elif damage == "a whole record without its newline damaged":
        records[-1] = records[-1][:-1] + b"x"
    else:
        records.append(b"hello")
    journal.write_bytes(b"".join(records))
    before = files(db.parent)
    with pytest.raises(StoreError, match=r"bot\.json\.journal: is damaged at byte"):
        TinyDBStore(db)
    assert files(db.parent) == before


async def test_a_record_cut_short_is_still_a_torn_tail(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = TinyDBStore(db)
    async with store.transaction() as tx:
        await tx.save_line(line(1))
    await store.close()
    journal = Path(str(db) + ".journal")
    whole = journal.read_bytes()
    seq, ops = json.loads(whole.splitlines()[-1][9:])
    following = encode(seq + 1, ops)
    for cut in (3, 9, 12, len(following) - 1):
        journal.write_bytes(whole + following[:cut])
        with caplog.at_level(logging.WARNING):
            again = TinyDBStore(db)
        assert list(state(again)["lines"]) == ["line1"]
        await again.close()
        assert journal.read_bytes() == whole
    assert sum("torn" in r.message for r in caplog.records) == 4


# -- 5. a FIFO where a file belongs is refused, never waited on -------------------------------


@pytest.mark.parametrize("name", ["bot.json.journal", "bot.json.journal.old", "bot.json.tmp"])
async def test_a_fifo_in_place_of_a_store_file_is_refused_at_once(db: Path, name: str) -> None:
    store = TinyDBStore(db)
    await store.close()
    fifo = db.parent / name
    fifo.unlink(missing_ok=True)
    os.mkfifo(fifo)
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("the start hangs on the FIFO")))
    signal.alarm(5)
    try:
        if name == "bot.json.tmp":  # a temp file is never opened for reading: it is replaced
            again = TinyDBStore(db)
            await again.compact()
            await again.close()
            assert not fifo.exists() or fifo.is_file()
        else:
            with pytest.raises(StoreError, match=f"{name}: is a special file"):
                TinyDBStore(db)
    finally:
        signal.alarm(0)


# -- 6. a failed write names its file ---------------------------------------------------------


async def test_a_full_disk_is_logged_with_the_file_it_could_not_write(
    db: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TinyDBStore(db)
    monkeypatch.setattr(os, "write", lambda fd, data: 0)  # a short write: the disk is full
    with caplog.at_level(logging.ERROR), pytest.raises(StoreWriteError):
        async with store.transaction() as tx:
            await tx.save_line(line(1))
    monkeypatch.undo()
    assert [r.getMessage() for r in caplog.records] == [
        f"could not save a change to {db.parent}/bot.json.journal (the disk is full); the bot keeps answering and tries again"
    ]
    await store.close()


async def test_a_compaction_that_fails_names_the_file(
    db: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TinyDBStore(db)
    async with store.transaction() as tx:
        await tx.save_line(line(1))

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with caplog.at_level(logging.ERROR):
        await store.compact()
    monkeypatch.undo()
    assert caplog.records and all(str(db.parent) in r.getMessage() for r in caplog.records), caplog.records
    await store.close()
