"""The embedded store's files: journal replay, torn tails, damage refused byte for byte,
compaction, the upgrade from version 1, and one process per data file however it is named."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tinydb import TinyDB

from bot.errors import StoreError
from bot.records import Household, Line
from bot.store import TinyDBStore, snapshot
from bot.store.journal import Journal, encode

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
FIXTURE_V1 = Path(__file__).parent / "fixtures" / "v1"


def line(n: int) -> Line:
    return Line(
        id=f"line{n}",
        household_id="console:h1",
        label=f"l{n}",
        owner="console:u1",
        owner_name="Li",
        provider="demo",
        ref=f"8947{n:015d}",
        created_at=T0 + timedelta(minutes=n),
    )


async def write_lines(store: TinyDBStore, numbers: range) -> None:
    for n in numbers:
        async with store.transaction() as tx:
            await tx.save_line(line(n))


async def ids(store: TinyDBStore) -> list[str]:
    async with store.transaction() as tx:
        return [x.id for x in await tx.lines("console:h1")]


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.endswith(".lock")}


def crash(store: TinyDBStore) -> None:
    """What SIGKILL leaves: the files as they are, no clean-up, the lock gone with the process."""
    store.journal.close()
    store._lock.release()


def next_record(journal: bytes) -> bytes:
    """The record that would follow the journal's last one (the same operations again)."""
    seq, ops = json.loads(journal.splitlines()[-1][9:])
    return encode(seq + 1, ops)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.json"


# -- journal ----------------------------------------------------------------------------------


async def test_every_unit_is_one_journal_record_replayed_at_start(db: Path) -> None:
    store = TinyDBStore(db)
    await write_lines(store, range(3))
    records = Path(str(db) + ".journal").read_bytes().splitlines()
    assert len(records) == 3 and all(len(r.split(b" ", 1)[0]) == 8 for r in records)  # checksum, then the unit
    crash(store)
    again = TinyDBStore(db)
    assert await ids(again) == ["line0", "line1", "line2"]
    await again.close()


async def test_a_torn_last_record_is_dropped_with_one_log_line(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = TinyDBStore(db)
    await write_lines(store, range(2))
    crash(store)
    journal = Path(str(db) + ".journal")
    whole = journal.read_bytes()
    journal.write_bytes(whole + next_record(whole)[:30])  # died half-way through a third
    with caplog.at_level(logging.INFO):
        again = TinyDBStore(db)
    assert await ids(again) == ["line0", "line1"]
    assert [r.message for r in caplog.records if "torn" in r.message] == [
        "bot.json.journal: dropped a torn last record (the bot stopped while writing it)"
    ]
    assert journal.read_bytes() == whole  # cut back, so new records follow whole ones
    await write_lines(again, range(2, 3))
    await again.close()
    reopened = TinyDBStore(db)
    assert await ids(reopened) == ["line0", "line1", "line2"]
    await reopened.close()


@pytest.mark.parametrize("damage", ["checksum", "gap"])
async def test_damage_in_the_middle_is_refused_naming_the_file_and_nothing_changes(db: Path, damage: str) -> None:
    store = TinyDBStore(db)
    await write_lines(store, range(3))
    crash(store)
    journal = Path(str(db) + ".journal")
    records = journal.read_bytes().splitlines(keepends=True)
    if damage == "checksum":
        records[0] = records[0].replace(b"l0", b"X0")
    else:
        del records[1]
    journal.write_bytes(b"".join(records))
    before = files(db.parent)
    with pytest.raises(StoreError) as err:
        TinyDBStore(db)
    assert str(journal) in str(err.value) and "nothing was changed" in str(err.value)
    assert files(db.parent) == before


# -- compaction -------------------------------------------------------------------------------


async def test_compaction_writes_a_snapshot_tinydb_opens_and_empties_the_journal(db: Path) -> None:
    store = TinyDBStore(db)
    await write_lines(store, range(5))
    await store.compact()
    assert Path(str(db) + ".journal").read_bytes() == b""
    assert not Path(str(db) + ".journal.old").exists()
    keys = sorted(doc["_key"] for doc in TinyDB(db, access_mode="r").table("lines").all())
    assert keys == [f"line{n}" for n in range(5)]
    await write_lines(store, range(5, 6))
    crash(store)
    again = TinyDBStore(db)
    assert await ids(again) == [f"line{n}" for n in range(6)]
    await again.close()


async def test_commands_go_on_while_a_compaction_runs(db: Path) -> None:
    store = TinyDBStore(db)
    await write_lines(store, range(3000))
    compaction = asyncio.create_task(store.compact())
    await asyncio.sleep(0)
    written = 0
    while not compaction.done():
        await write_lines(store, range(3000 + written, 3001 + written))
        written += 1
        await asyncio.sleep(0)
    await compaction
    assert written > 1, "the compaction held the loop for all of its run"
    crash(store)
    again = TinyDBStore(db)
    assert len(await ids(again)) == 3000 + written
    await again.close()


async def test_the_store_compacts_by_itself_as_the_journal_grows(db: Path) -> None:
    store = TinyDBStore(db, compact_min_bytes=20_000)
    await write_lines(store, range(200))
    running = store._compaction
    assert running is not None or store.compactions >= 1  # started by itself
    if running is not None:
        await running  # its turns on the loop, and its fsync in a thread
    assert store.compactions >= 1
    await store.close()
    again = TinyDBStore(db)
    assert len(await ids(again)) == 200
    await again.close()


@pytest.mark.parametrize("stage", ["journal moved aside", "snapshot written"])
async def test_a_compaction_cut_short_loses_nothing(db: Path, stage: str) -> None:
    store = TinyDBStore(db)
    await write_lines(store, range(4))
    old = Path(str(db) + ".journal.old")
    store.journal.rotate(old)  # the first step of a compaction
    await write_lines(store, range(4, 6))
    if stage == "snapshot written":  # the new snapshot is in place; the folded records are still there
        db.write_bytes(b"".join(snapshot.chunks(store.docs, store.seq)))
    crash(store)
    again = TinyDBStore(db)
    assert await ids(again) == [f"line{n}" for n in range(6)]
    assert not old.exists()  # finished at start
    await write_lines(again, range(6, 7))
    await again.close()
    third = TinyDBStore(db)
    assert await ids(third) == [f"line{n}" for n in range(7)]
    await third.close()


# -- the upgrade from version 1 ---------------------------------------------------------------


async def test_a_version_1_folder_is_upgraded_once_with_a_backup(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shutil.copytree(FIXTURE_V1, tmp_path / "v1")
    db = tmp_path / "v1" / "bot.json"
    original = {p.relative_to(tmp_path / "v1"): p.read_bytes() for p in (tmp_path / "v1").rglob("*") if p.is_file()}
    with caplog.at_level(logging.INFO):
        store = TinyDBStore(db, now=T0)
    [upgrade] = [r.message for r in caplog.records if "upgrading" in r.message]
    assert "4 lines" in upgrade and "households" in upgrade and "v1-backup" in upgrade
    backup = tmp_path / "v1" / "bot.json.v1-backup"
    assert {p.relative_to(backup): p.read_bytes() for p in backup.rglob("*") if p.is_file()} == original
    assert not (tmp_path / "v1" / "bot.json.d").exists()
    async with store.transaction() as tx:
        mine = await tx.lines("console:c1")
        family = await tx.lines("console:g1")
        assert sorted(x.label for x in mine) == ["dad", "mom", "oma"] and [x.label for x in family] == ["kid"]
        mom = next(x for x in mine if x.label == "mom")
        assert mom.reminders is not None and mom.reminders.data_percent == (30,)
        samples = await tx.samples(mom.id)
        assert len(samples) >= 2 and samples[-1].remaining is not None
        assert await tx.user_hint("console:u1") == "zh"
        assert await tx.due(mom.id) is not None  # looked at again soon after the upgrade
        assert await tx.get_state("demo", "day0") is not None
    await store.close()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        again = TinyDBStore(db)
    assert not [r for r in caplog.records if "upgrading" in r.message]
    await again.close()


# -- one process per data file ----------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["same", "symlink to the file", "symlinked folder", "dot slash"])
async def test_a_second_process_is_refused_however_the_path_is_spelled(
    tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    first = TinyDBStore(db)
    other = db
    if spelling == "symlink to the file":
        other = tmp_path / "link.json"
        other.symlink_to(db)
    elif spelling == "symlinked folder":
        (tmp_path / "alias").symlink_to(db.parent, target_is_directory=True)
        other = tmp_path / "alias" / "bot.json"
    elif spelling == "dot slash":
        monkeypatch.chdir(db.parent)
        other = Path("./bot.json")
    with pytest.raises(StoreError, match="another bot process"):
        TinyDBStore(other)
    await first.close()
    second = TinyDBStore(other)
    await second.close()


# -- bad files at start -----------------------------------------------------------------------


def _snapshot_with(db: Path, table: str, doc: dict[str, object]) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_text(json.dumps({"meta": {"1": {"_key": "store", "schema": 2, "seq": 0}}, table: {"1": doc}}))
    Path(str(db) + ".journal").write_bytes(b"")


BAD = {
    "empty file": lambda db: db.write_bytes(b""),
    "truncated": lambda db: db.write_bytes(b'{"meta": {"1": {"_key": "store", "sch'),
    "foreign JSON": lambda db: db.write_text('{"users": {"1": {"name": "x"}}}'),
    "foreign layout": lambda db: db.write_text("[1, 2]"),
    "newer schema": lambda db: _snapshot_with(db, "meta", {"_key": "store", "schema": 9, "seq": 0}),
    "a number where a date belongs": lambda db: _snapshot_with(
        db,
        "lines",
        {
            "_key": "l1",
            "id": "l1",
            "household_id": "h",
            "label": "x",
            "owner": "u",
            "owner_name": "",
            "provider": "demo",
            "ref": "8947",
            "created_at": 5,
        },
    ),
    "journal missing": lambda db: (
        db.write_text(json.dumps({"meta": {"1": {"_key": "store", "schema": 2, "seq": 0}}})),
        Path(str(db) + ".journal").unlink(),
    ),
    "snapshot missing": lambda db: Path(str(db) + ".journal").write_bytes(b""),
    "FIFO as the data file": lambda db: os.mkfifo(db),
    "folder as the data file": lambda db: db.mkdir(),
    "folder as the lock file": lambda db: Path(str(db) + ".lock").mkdir(),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
async def test_a_bad_file_at_start_is_refused_clearly_and_nothing_changes(db: Path, case: str) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    Path(str(db) + ".journal").write_bytes(b"")
    BAD[case](db)
    before = sorted((p.name, p.read_bytes() if p.is_file() else None) for p in db.parent.iterdir())
    with pytest.raises(StoreError) as err:
        await asyncio.wait_for(asyncio.to_thread(TinyDBStore, db), 10)  # a FIFO must not hang the start
    message = str(err.value)
    assert str(db) in message or str(db.parent) in message, message
    assert "\n" not in message and "Traceback" not in message
    after = sorted((p.name, p.read_bytes() if p.is_file() else None) for p in db.parent.iterdir() if p.name != "bot.json.lock")
    assert after == [entry for entry in before if entry[0] != "bot.json.lock"]


async def test_a_disk_that_cannot_take_the_first_snapshot_is_refused(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("bot.store.files.Disk.write_file", full)
    with pytest.raises(StoreError, match="the disk is full"):
        TinyDBStore(db)


async def test_a_household_round_trip_survives_compaction_and_replay(db: Path) -> None:
    store = TinyDBStore(db)
    household = Household(id="console:h1", is_group=True, created_at=T0, language="zh")
    async with store.transaction() as tx:
        await tx.save_household(household)
        await tx.save_line(line(1))
    await store.compact()
    async with store.transaction() as tx:
        await tx.save_household(replace(household, language="nb"))
    crash(store)
    again = TinyDBStore(db)
    async with again.transaction() as tx:
        assert (await tx.household("console:h1")) == replace(household, language="nb")
    await again.close()


def test_journal_append_leaves_no_half_record_when_the_disk_fills(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(tmp_path / "j")
    journal.append(1, [("lines", "a", {"x": 1})])
    whole = (tmp_path / "j").read_bytes()
    real_write = os.write

    def half(fd: int, data: bytes) -> int:
        return real_write(fd, bytes(data)[: len(data) // 2])

    monkeypatch.setattr(os, "write", half)
    with pytest.raises(OSError):
        journal.append(2, [("lines", "b", {"x": 2})])
    monkeypatch.undo()
    assert (tmp_path / "j").read_bytes() == whole
    journal.close()


async def test_a_snapshot_holds_the_tables_as_they_were_when_the_compaction_began(db: Path) -> None:
    store = TinyDBStore(db)
    await write_lines(store, range(1000))
    compaction = asyncio.create_task(store.compact())
    await asyncio.sleep(0)  # the compaction has frozen the tables and begun writing
    async with store.transaction() as tx:  # changed, removed and added while it runs
        for n in range(0, 1000, 3):
            await tx.save_line(replace(line(n), label=f"changed{n}"))
        for n in range(1, 1000, 3):
            await tx.delete_line(f"line{n}")
        await tx.save_line(line(5000))
    await compaction
    labels = {doc["_key"]: doc["label"] for doc in TinyDB(db, access_mode="r").table("lines").all()}
    assert labels == {f"line{n}": f"l{n}" for n in range(1000)}  # the picture at the start, whole
    crash(store)
    again = TinyDBStore(db)  # and the journal brings the rest
    async with again.transaction() as tx:
        now = {x.id: x.label for x in await tx.lines("console:h1")}
    expected = {f"line{n}": (f"changed{n}" if n % 3 == 0 else f"l{n}") for n in range(1000) if n % 3 != 1}
    assert now == {**expected, "line5000": "l5000"}
    await again.close()
