"""Keyed tables spread over several TinyDB files, so one write never rewrites everything.

TinyDB keeps a whole database in one JSON document, and its ``Table`` re-reads and
re-converts the whole table on every insert or update, so one write cost grows with the
data (measured in docs/benchmarks.md: 0.6 ms a write at 10 000 lines, most of a reminder
sweep). ``Shards`` therefore reads each file once and then works on the raw
``{table: {doc_id: doc}}`` data in memory: a write replaces one document and marks its file
dirty, nothing else. The files keep TinyDB's layout, so TinyDB can still open them.

Each key goes to the same file every time (CRC-32 of the key); the per-line tables share the
line id as key, so everything about one line lives in one file. ``flush`` writes only the
files that changed, each atomically.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.middlewares import CachingMiddleware

from bot.errors import StoreError
from bot.storage import AtomicJSONStorage

Data = dict[str, dict[str, dict[str, Any]]]  # table -> doc id -> document


def _open(path: Path) -> TinyDB:
    storage = CachingMiddleware(AtomicJSONStorage)  # type: ignore[no-untyped-call]
    storage.WRITE_CACHE_SIZE = 10**9  # only an explicit flush writes
    return TinyDB(path, storage=storage)


def open_files(path: str, *, schema: int, shards: int) -> list[TinyDB]:
    """The data file and its shard files in ``<path>.d/``. The data file's meta record keeps
    the schema version and the shard count, so an existing file keeps its layout; a file of
    another schema raises ``StoreError`` and is not touched."""
    main = _open(Path(path))
    meta = main.table("meta")
    info = meta.get(doc_id=1)
    if info is None:
        meta.insert({"schema": schema, "shards": shards})
    elif info.get("schema") != schema:
        raise StoreError(f"{path} has data schema {info.get('schema')}; this bot reads {schema}")
    count = int(info["shards"]) if info else shards
    folder = Path(path + ".d")
    return [main, *(_open(folder / f"{n:02d}.json") for n in range(1, count))]


class Shards:
    def __init__(self, dbs: list[TinyDB]) -> None:
        if not dbs:
            raise ValueError("at least one database")
        self.dbs = dbs
        self.data: list[Data] = [db.storage.read() or {} for db in dbs]  # read once; the disk is not read again
        # written through TinyDB itself before (the schema record): still to be flushed
        self._dirty = {i for i, db in enumerate(dbs) if getattr(db.storage, "_cache_modified_count", 0)}

    def table(self, name: str) -> KeyedTable:
        return KeyedTable(self, name)

    def touch(self, shard: int) -> None:
        self._dirty.add(shard)

    def dirty(self) -> int:
        """How many files have changes not yet written."""
        return len(self._dirty)

    def flush(self) -> None:
        """Write every changed file; a file that fails stays dirty, so the next flush retries it."""
        for shard in sorted(self._dirty):
            storage = self.dbs[shard].storage
            storage.write(self.data[shard])
            if isinstance(storage, CachingMiddleware):
                storage.flush()  # type: ignore[no-untyped-call]
            self._dirty.discard(shard)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            for db in self.dbs:
                db.close()


class KeyedTable:
    """A table addressed by a string key, with an in-memory key -> (shard, doc id) index.

    ``get`` returns a copy; ``values`` yields the stored documents themselves, for scans
    that only read (never change one in place: ``put`` a new one)."""

    def __init__(self, shards: Shards, name: str) -> None:
        self._shards = shards
        self._docs = [data.setdefault(name, {}) for data in shards.data]
        self._ids = [{doc["_key"]: doc_id for doc_id, doc in docs.items()} for docs in self._docs]
        self._next = [max((int(i) for i in docs), default=0) + 1 for docs in self._docs]

    def _shard(self, key: str) -> int:
        return zlib.crc32(key.encode("utf-8")) % len(self._docs)

    def get(self, key: str) -> dict[str, Any] | None:
        shard = self._shard(key)
        doc_id = self._ids[shard].get(key)
        return None if doc_id is None else dict(self._docs[shard][doc_id])

    def put(self, key: str, doc: dict[str, Any]) -> None:
        shard = self._shard(key)
        doc_id = self._ids[shard].get(key)
        if doc_id is None:
            doc_id = self._ids[shard][key] = str(self._next[shard])
            self._next[shard] += 1
        self._docs[shard][doc_id] = {**doc, "_key": key}
        self._shards.touch(shard)

    def delete(self, key: str) -> None:
        shard = self._shard(key)
        doc_id = self._ids[shard].pop(key, None)
        if doc_id is not None:
            del self._docs[shard][doc_id]
            self._shards.touch(shard)

    def values(self) -> Iterator[dict[str, Any]]:
        for docs in self._docs:
            yield from docs.values()

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._ids)
