"""Keyed tables spread over several TinyDB files, so one write never rewrites everything.

TinyDB keeps a whole database in one JSON document and rewrites (and re-converts) a table
on every change, so cost grows with the data. ``Shards`` holds N databases and puts each
key in the same one every time (CRC-32 of the key); the per-line tables share the line id
as key, so everything about one line lives in one file. ``flush`` writes only the files
that changed, each atomically.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from tinydb import TinyDB
from tinydb.middlewares import CachingMiddleware
from tinydb.table import Document, Table


class Shards:
    def __init__(self, dbs: list[TinyDB]) -> None:
        if not dbs:
            raise ValueError("at least one database")
        self.dbs = dbs

    def table(self, name: str) -> KeyedTable:
        return KeyedTable([db.table(name) for db in self.dbs])

    def dirty(self) -> int:
        """How many files have changes not yet written."""
        return sum(1 for db in self.dbs if getattr(db.storage, "_cache_modified_count", 0))

    def flush(self) -> None:
        for db in self.dbs:
            storage = db.storage
            if isinstance(storage, CachingMiddleware):
                storage.flush()  # type: ignore[no-untyped-call]  # writes only if changed

    def close(self) -> None:
        for db in self.dbs:
            db.close()


class KeyedTable:
    """A table addressed by a string key, with an in-memory key -> (shard, doc_id) index."""

    def __init__(self, tables: list[Table]) -> None:
        self._tables = tables
        self._ids: list[dict[str, int]] = [{doc["_key"]: doc.doc_id for doc in t.all()} for t in tables]

    def _shard(self, key: str) -> int:
        return zlib.crc32(key.encode("utf-8")) % len(self._tables)

    def get(self, key: str) -> dict[str, Any] | None:
        shard = self._shard(key)
        doc_id = self._ids[shard].get(key)
        return None if doc_id is None else self._tables[shard].get(doc_id=doc_id)  # type: ignore[return-value]

    def put(self, key: str, doc: dict[str, Any]) -> None:
        shard = self._shard(key)
        doc = {**doc, "_key": key}
        doc_id = self._ids[shard].get(key)
        if doc_id is None:
            self._ids[shard][key] = self._tables[shard].insert(doc)
        else:
            self._tables[shard].upsert(Document(doc, doc_id=doc_id))

    def delete(self, key: str) -> None:
        shard = self._shard(key)
        doc_id = self._ids[shard].pop(key, None)
        if doc_id is not None:
            self._tables[shard].remove(doc_ids=[doc_id])

    def values(self) -> Iterator[dict[str, Any]]:
        for table in self._tables:
            yield from table.all()

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._ids)
