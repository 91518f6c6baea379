"""The embedded default: TinyDB tables in memory, made durable by a snapshot and a journal.

Files, for a data file ``bot.json`` (an operator's map of them is in the README):
- ``bot.json``: the snapshot, TinyDB's JSON layout (``TinyDB("bot.json")`` opens it);
- ``bot.json.journal``: one checked record per unit committed since the snapshot;
- ``bot.json.journal.old``: the records a running compaction is folding into a new snapshot;
- ``bot.json.lock``: one process per data file (``bot.store.lock``);
- ``bot.json.v1-backup/``: the version-1 files, kept when they were upgraded.

Start: lock, read the snapshot, replay the journal(s), cut a torn last record off (one log
line), refuse anything damaged without changing a byte. A commit appends one record (one
``write``, one ``fsync``) and then applies it in memory, so its cost does not grow with the
data. When the journal outgrows the snapshot, a compaction writes a new snapshot from a
shallow copy of the tables, a slice at a time so commands go on meanwhile, then drops the
folded records. A crash at any point leaves files that open to the last committed unit.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import StoreError
from bot.store import journal as journal_file
from bot.store import migrate_v1, snapshot
from bot.store.files import fsync_folder, os_problem, read_bytes, refuse, write_atomic
from bot.store.journal import Journal
from bot.store.lock import FileLock
from bot.store.memory import DocumentStore
from bot.store.tables import Data

log = logging.getLogger(__name__)
COMPACT_MIN_BYTES = 8 << 20


class TinyDBStore(DocumentStore):
    """See the module docstring; ``now`` stamps an upgrade from version 1."""

    def __init__(self, path: str | os.PathLike[str], *, compact_min_bytes: int = COMPACT_MIN_BYTES,
                 now: datetime | None = None) -> None:
        self.path = Path(os.path.realpath(path))  # a symlink to the file keeps its journal beside the file
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self.old_path = self.path.with_name(self.path.name + ".journal.old")
        self._compact_min = compact_min_bytes
        self._compaction: asyncio.Task[None] | None = None
        self.compactions = 0
        self._lock = FileLock(self.path)
        self._lock.acquire()
        try:
            data, seq, self.snapshot_bytes = self._load(now or datetime.now(UTC))
            super().__init__(data, seq=seq)
            self.journal = Journal(self.journal_path)
            self._replay()
        except BaseException:
            self._lock.release()
            raise

    # -- start ----------------------------------------------------------------------------
    def _load(self, now: datetime) -> tuple[Data, int, int]:
        raw = read_bytes(self.path)
        if raw is None:
            for part in (self.journal_path, self.old_path, self.path.with_name(self.path.name + ".d")):
                if part.exists():
                    raise refuse(self.path, f"is missing while {part.name} is there (the data is incomplete)")
            return self._create({}, 0, "new data file")
        meta, data = snapshot.decode(self.path, raw)
        if meta.get("schema") == 1 and "shards" in meta:
            data = migrate_v1.read_v1(self.path, meta, data, now)
            snapshot.validate(self.path, data)
            kept = migrate_v1.backup(self.path)
            log.info("upgrading %s from version 1: %s; the old files are kept in %s",
                     self.path.name, migrate_v1.counts(data), kept)
            result = self._create(data, 0, "upgrade")
            migrate_v1.remove_shards(self.path)
            return result
        if meta.get("_key") != "store" or not isinstance(meta.get("seq"), int):
            raise refuse(self.path, "is not a bot data file (foreign meta record)", "start with --db pointing elsewhere")
        if meta.get("schema") != snapshot.SCHEMA:
            raise refuse(self.path, f"has data schema {meta.get('schema')}; this bot reads {snapshot.SCHEMA}",
                         "run the bot version that wrote it, or start with --db pointing elsewhere")
        if not self.journal_path.exists() and not self.old_path.exists():
            raise refuse(self.journal_path, "is missing (changes after the last snapshot would be lost)")
        snapshot.validate(self.path, data)
        return data, int(meta["seq"]), len(raw)

    def _create(self, data: Data, seq: int, why: str) -> tuple[Data, int, int]:
        """A first snapshot, with its journal made first: a crash in between re-runs this."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            Journal(self.journal_path).close()
            body = b"".join(snapshot.chunks(data, seq))
            write_atomic(self.path, [body])
        except OSError as exc:
            raise refuse(self.path, f"cannot be written ({os_problem(exc)}) for the {why}",
                         "make the folder writable, free some space, or start with --db pointing elsewhere") from exc
        return data, seq, len(body)

    def _replay(self) -> None:
        start = self.seq
        for path in (self.old_path, self.journal_path):
            contents = journal_file.read(path)
            if contents is None:
                continue
            for seq, ops in contents.records:
                if seq <= self.seq:
                    continue  # already in the snapshot (a compaction ended before dropping it)
                if seq != self.seq + 1:
                    raise refuse(path, f"does not follow the snapshot (record {seq} after {self.seq})")
                for table, key, doc in ops:
                    self.docs.put(table, key, doc)
                self.seq = seq
            if contents.torn:
                if path == self.old_path:
                    raise refuse(path, "ends in a damaged record")
                log.warning("%s: dropped a torn last record (the bot stopped while writing it)", path.name)
                self.journal.cut(contents.good_bytes)
        if self.seq > start:
            log.info("%s: replayed %d changes after the snapshot", self.journal_path.name, self.seq - start)
        self.docs.forget_claims()  # held by the process that stopped; not written, only forgotten
        if self.old_path.exists():  # a compaction was cut short: finish it now
            self._write_snapshot_now()

    # -- running --------------------------------------------------------------------------
    def _durable(self, seq: int, ops: journal_file.Ops) -> None:
        self.journal.append(seq, ops)

    def _after_commit(self) -> None:
        if self.journal.size > max(self._compact_min, self.snapshot_bytes) and self._compaction is None:
            self._begin_compaction()

    def _write_snapshot_now(self) -> None:
        body = b"".join(snapshot.chunks(self.docs, self.seq))
        write_atomic(self.path, [body])
        self.snapshot_bytes = len(body)
        self.old_path.unlink(missing_ok=True)
        fsync_folder(self.path.parent)

    async def compact(self) -> None:
        """Fold the journal into a new snapshot now (also started by itself as it grows)."""
        if self._compaction is None:
            self._begin_compaction()
        assert self._compaction is not None
        await asyncio.shield(self._compaction)

    def _begin_compaction(self) -> None:
        """The picture is the tables as of this moment (frozen, not copied); the journal goes
        on in a new file; the snapshot is written in the background."""
        try:
            if not self.old_path.exists():
                self.journal.rotate(self.old_path)
        except OSError as exc:
            log.error("compaction of %s could not start (%s); the journal keeps every change", self.path.name, exc)
            return
        self.docs.freeze()
        self._compaction = asyncio.get_running_loop().create_task(self._compact(self.seq), name="store-compaction")

    async def _compact(self, seq: int) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            size = 0
            try:
                for chunk in snapshot.chunks(self.docs, seq):
                    os.write(fd, chunk)
                    size += len(chunk)
                    await asyncio.sleep(0)  # commands go first
                # one fsync at the end, in a thread: flushing as it went (every 0.25-4 MB) was
                # measured to stall the journal's own fsyncs more (p99 of commands 3.2-3.7x, not 1.3x)
                await asyncio.to_thread(os.fsync, fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            fsync_folder(self.path.parent)
            self.snapshot_bytes = size
            self.old_path.unlink(missing_ok=True)
            fsync_folder(self.path.parent)
            self.compactions += 1
        except (OSError, StoreError) as exc:
            tmp.unlink(missing_ok=True)
            log.error("compaction of %s failed (%s); the journal keeps every change", self.path.name, exc)
        finally:
            self.docs.thaw()
            self._compaction = None

    async def close(self) -> None:
        try:
            if self._compaction is not None:
                await self._compaction
        finally:
            self.journal.close()
            self._lock.release()
