"""The embedded default: TinyDB tables in memory, made durable by a snapshot and a journal.

Files, for a data file ``bot.json`` (an operator's map of them is in the README):
- ``bot.json``: the snapshot, TinyDB's JSON layout (``TinyDB("bot.json")`` opens it);
- ``bot.json.journal``: one checked record per unit committed since the snapshot;
- ``bot.json.journal.old``: the records a running compaction is folding into a new snapshot;
- ``bot.json.lock``: one process per data file (``bot.store.lock``);
- ``bot.json.v1-backup/``: the version-1 files, kept when they were upgraded.

Start: lock, read and check the snapshot and the journal(s) whole, and only then change
anything: replay, cut a torn last record off (one log line), finish what a crash cut short
(a compaction, the first start, the upgrade's clean-up). Anything damaged is refused with
a message naming the file and the record, without changing a byte. A commit appends one record (one
``write``, one ``fsync``) and then applies it in memory, so its cost does not grow with the
data. When the journal outgrows the snapshot, a compaction writes a new snapshot from a
shallow copy of the tables, a slice at a time so commands go on meanwhile, then drops the
folded records. A crash at any point leaves files that open to the last committed unit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import StoreError
from bot.store import journal as journal_file
from bot.store import migrate_v1, snapshot
from bot.store.files import Disk, check_regular, os_problem, read_bytes, refuse, release_freed_memory, temp_of
from bot.store.journal import Journal
from bot.store.lock import FileLock
from bot.store.memory import DocumentStore
from bot.store.tables import Data

log = logging.getLogger(__name__)
COMPACT_MIN_BYTES = 8 << 20
Records = list[tuple[Path, int, journal_file.Ops]]


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The load makes millions of acyclic containers; the cyclic collector would walk the
    growing heap again and again meanwhile (measured: 7.7 s of a 100 000-line load, 5.1 s
    without). Reference counting still frees everything; the collector is back after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class TinyDBStore(DocumentStore):
    """See the module docstring; ``now`` stamps an upgrade from version 1; ``disk`` does every
    file operation (a crash test passes one that stops at a chosen write)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        compact_min_bytes: int = COMPACT_MIN_BYTES,
        now: datetime | None = None,
        disk: Disk | None = None,
    ) -> None:
        self.path = Path(os.path.realpath(path))  # a symlink to the file keeps its journal beside the file
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self.old_path = self.path.with_name(self.path.name + ".journal.old")
        self.shards_path = self.path.with_name(self.path.name + ".d")
        self.disk = disk or Disk()
        self._compact_min = compact_min_bytes
        self._compaction: asyncio.Task[None] | None = None
        self.compactions = 0
        self._lock = FileLock(self.path)
        self._lock.acquire()
        try:
            with _no_cycle_collection():
                data, seq, self.snapshot_bytes = self._load(now or datetime.now(UTC))
                records, torn_at = self._read_journals(seq)
                super().__init__(data, seq=seq)
                self._replay(records)
            release_freed_memory()
            self.journal = Journal(self.journal_path, self.disk)
            self._finish(torn_at)
        except BaseException:
            self._lock.release()
            raise

    # -- start: read and check everything, change nothing ---------------------------------
    def _load(self, now: datetime) -> tuple[Data, int, int]:
        raw = read_bytes(self.path)
        if raw is None:
            return self._first_start()
        meta, data = snapshot.decode(self.path, raw)
        if meta.get("schema") == 1 and "shards" in meta:
            return self._upgrade(meta, data, now)
        if meta.get("_key") != "store" or not isinstance(meta.get("seq"), int):
            raise refuse(self.path, "is not a bot data file (foreign meta record)", "start with --db pointing elsewhere")
        if meta.get("schema") != snapshot.SCHEMA:
            raise refuse(
                self.path,
                f"has data schema {meta.get('schema')}; this bot reads {snapshot.SCHEMA}",
                "run the bot version that wrote it, or start with --db pointing elsewhere",
            )
        if not check_regular(self.journal_path) and not check_regular(self.old_path):
            raise refuse(self.journal_path, "is missing (changes after the last snapshot would be lost)")
        snapshot.validate(self.path, data)
        return data, int(meta["seq"]), len(raw)

    def _read_journals(self, seq: int) -> tuple[Records, int | None]:
        """Every record of the old and the current journal, checked; where a torn tail starts."""
        old = journal_file.read(self.old_path, after=seq)
        if old is not None and old.torn:
            raise refuse(self.old_path, "ends in a damaged record")
        last = old.records[-1][0] if old is not None and old.records else seq
        current = journal_file.read(self.journal_path, after=last)
        records = [
            (path, n, ops)
            for path, contents in ((self.old_path, old), (self.journal_path, current))
            if contents is not None
            for n, ops in contents.records
        ]
        return records, current.good_bytes if current is not None and current.torn else None

    def _replay(self, records: Records) -> None:
        start = self.seq
        for path, seq, ops in records:
            if seq <= self.seq:
                continue  # already in the snapshot (a compaction ended before dropping it)
            if seq != self.seq + 1:
                raise refuse(path, f"does not follow the snapshot (record {seq} after {self.seq})")
            for table, key, doc in ops:
                self.docs.put(table, key, doc)
            self.seq = seq
        if self.seq > start:
            log.info("%s: replayed %d changes after the snapshot", self.journal_path.name, self.seq - start)

    # -- start: first start and upgrade, each step safe to run again ----------------------
    def _first_start(self) -> tuple[Data, int, int]:
        for part in (self.old_path, self.shards_path):
            if os.path.lexists(part):
                raise refuse(self.path, f"is missing while {part.name} is there (the data is incomplete)")
        journal = read_bytes(self.journal_path)
        if journal is None:
            return self._create({}, 0, "new data file")
        if journal == b"" and self._finish_creation():
            return {}, 0, self.path.stat().st_size
        hint = (
            f"restore it from the backup; if this bot never started here before, delete the empty {self.journal_path.name}"
            if journal == b""
            else "restore it from the backup"
        )
        raise refuse(self.path, f"is missing while {self.journal_path.name} is there (the data is incomplete)", hint)

    def _finish_creation(self) -> bool:
        """A first start cut short after its journal was made: its whole snapshot waits in
        the temp file (written before the journal), so putting it in place finishes it."""
        tmp = temp_of(self.path)
        raw = read_bytes(tmp)
        try:
            meta, data = snapshot.decode(tmp, raw) if raw else ({}, {})
        except StoreError:
            return False
        if meta.get("seq") != 0 or "crc32" not in meta or any(data.values()):
            return False
        self.disk.rename(tmp, self.path)
        self.disk.fsync_folder(self.path.parent)
        log.info("%s: finished a first start that was cut short", self.path.name)
        return True

    def _upgrade(self, meta: dict[str, object], data: Data, now: datetime) -> tuple[Data, int, int]:
        data = migrate_v1.read_v1(self.path, meta, data, now)
        snapshot.validate(self.path, data)
        if read_bytes(self.journal_path):
            raise refuse(self.journal_path, "holds changes beside a version-1 data file")
        kept = migrate_v1.backup(self.path, self.disk)
        log.info("upgrading %s from version 1: %s; the old files are kept in %s", self.path.name, migrate_v1.counts(data), kept)
        result = self._create(data, 0, "upgrade")
        self.disk.remove(self.shards_path)
        return result

    def _create(self, data: Data, seq: int, why: str) -> tuple[Data, int, int]:
        """A first snapshot: written whole to the temp file, then the empty journal, then the
        snapshot put in place. A crash at any step leaves files that the next start finishes."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            body = b"".join(snapshot.chunks(data, seq))
            tmp = temp_of(self.path)
            self.disk.write_file(tmp, [body])
            os.close(self.disk.open_append(self.journal_path))
            self.disk.fsync_folder(self.path.parent)
            self.disk.rename(tmp, self.path)
            self.disk.fsync_folder(self.path.parent)
        except OSError as exc:
            raise refuse(
                self.path,
                f"cannot be written ({os_problem(exc)}: {exc.filename}) for the {why}",
                "make the folder writable, free some space, or start with --db pointing elsewhere",
            ) from exc
        return data, seq, len(body)

    def _finish(self, torn_at: int | None) -> None:
        """Everything read and checked: now cut a torn tail and finish what a crash cut short."""
        if torn_at is not None:
            log.warning("%s: dropped a torn last record (the bot stopped while writing it)", self.journal_path.name)
            self.journal.cut(torn_at)
        self.docs.forget_claims()  # held by the process that stopped; not written, only forgotten
        if self.old_path.exists():  # a compaction was cut short: finish it now
            self._write_snapshot_now()
        self.disk.remove(temp_of(self.path))  # a snapshot begun by a compaction that was cut short
        if os.path.isdir(self.shards_path) and migrate_v1.backup_of(self.path).is_dir():
            self.disk.remove(self.shards_path)  # the upgrade was cut short after its snapshot
            log.info(
                "%s: removed the version-1 folder %s (kept in %s)",
                self.path.name,
                self.shards_path.name,
                migrate_v1.backup_of(self.path).name,
            )

    # -- running --------------------------------------------------------------------------
    def _durable(self, seq: int, ops: journal_file.Ops) -> None:
        self.journal.append(seq, ops)

    def _after_commit(self) -> None:
        if self.journal.size > max(self._compact_min, self.snapshot_bytes) and self._compaction is None:
            self._begin_compaction()

    def _write_snapshot_now(self) -> None:
        body = b"".join(snapshot.chunks(self.docs, self.seq))
        self.disk.write_atomic(self.path, [body])
        self.snapshot_bytes = len(body)
        self.disk.remove(self.old_path)
        self.disk.fsync_folder(self.path.parent)

    async def compact(self) -> None:
        """Fold the journal into a new snapshot now (also started by itself as it grows)."""
        if self._compaction is None:
            self._begin_compaction()
        if self._compaction is not None:  # None: it could not start, and said why in the log
            await asyncio.shield(self._compaction)

    def _begin_compaction(self) -> None:
        """The picture is the tables as of this moment (frozen, not copied); the journal goes
        on in a new file; the snapshot is written in the background."""
        try:
            if not self.old_path.exists():
                self.journal.rotate(self.old_path)
        except (OSError, StoreError) as exc:
            log.error("compaction of %s could not start (%s); the journal keeps every change", self.path.name, exc)
            return
        self.docs.freeze()
        self._compaction = asyncio.get_running_loop().create_task(self._compact(self.seq), name="store-compaction")

    async def _compact(self, seq: int) -> None:
        tmp = temp_of(self.path)
        try:
            size = await self._write_temp(tmp, seq)
            self.disk.rename(tmp, self.path)
            self.disk.fsync_folder(self.path.parent)
            self.snapshot_bytes = size
            self.disk.remove(self.old_path)
            self.disk.fsync_folder(self.path.parent)
            self.compactions += 1
        except (OSError, StoreError) as exc:
            with contextlib.suppress(OSError):
                self.disk.remove(tmp)
            log.error("compaction of %s failed (%s); the journal keeps every change", self.path.name, exc)
        finally:
            self.docs.thaw()
            self._compaction = None

    async def _write_temp(self, tmp: Path, seq: int) -> int:
        fd = self.disk.create_new(tmp)
        size = 0
        try:
            for chunk in snapshot.chunks(self.docs, seq):
                self.disk.write(fd, tmp, chunk)
                size += len(chunk)
                await asyncio.sleep(0)  # commands go first
            # one fsync at the end, in a thread: flushing as it went (every 0.25-4 MB) was
            # measured to stall the journal's own fsyncs more (p99 of commands 3.2-3.7x, not 1.3x)
            await self.disk.fsync_later(fd, tmp)
        finally:
            os.close(fd)
        return size

    async def close(self) -> None:
        try:
            if self._compaction is not None:
                await self._compaction
        finally:
            self.journal.close()
            self._lock.release()
