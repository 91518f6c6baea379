"""The committed data: TinyDB tables in memory, addressed by string key, with indexes.

TinyDB keeps everything as ``{table: {doc_id: document}}``; its ``Table`` rebuilds the
whole table dict on every write (``Table._update_table`` converts every key twice), which
costs O(lines) per write: 9 ms a write at 100 000 documents here. ``KeyedTable`` is the
documented extension point for that (a custom ``TinyDB.table_class``): it hands TinyDB's own
update functions a view of the stored dict that converts only the keys they touch, so a
write costs the same at any size. Everything else is TinyDB's API: ``get(doc_id=)``,
``insert(Document(...))``, ``remove(doc_ids=)``, iteration.

Each document carries its string key in ``_key``; ``Documents`` maps keys to doc ids.
Stored documents are never changed in place (a write removes and inserts). For a snapshot
written while commands go on, ``freeze`` starts keeping the document each write replaces
(copy on write, one entry per document changed meanwhile) and ``frozen`` walks the tables
as they were then, a slice at a time, without copying them first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from datetime import datetime
from typing import Any

from sortedcontainers import SortedList
from tinydb import TinyDB
from tinydb.storages import MemoryStorage
from tinydb.table import Document, Table

Doc = dict[str, Any]
Data = dict[str, dict[str, Doc]]  # table -> doc id (as a string) -> document
TABLES = ("households", "users", "lines", "failures", "pending", "orders", "samples", "alerts", "schedule", "outbox", "state")
_INDEXED = ("lines", "orders", "schedule", "outbox")  # the tables ``_index`` keeps indexes or claims of


class _IntKeys(MutableMapping[int, Doc]):
    """The stored ``{str(doc_id): doc}`` dict seen with int keys, converting only what is touched."""

    def __init__(self, raw: dict[str, Doc]) -> None:
        self._raw = raw

    def __getitem__(self, key: int) -> Doc:
        return self._raw[str(key)]

    def __setitem__(self, key: int, value: Doc) -> None:
        self._raw[str(key)] = value

    def __delitem__(self, key: int) -> None:
        del self._raw[str(key)]

    def __contains__(self, key: object) -> bool:
        return str(key) in self._raw

    def __iter__(self) -> Iterator[int]:
        return (int(k) for k in list(self._raw))

    def __len__(self) -> int:
        return len(self._raw)


class KeyedTable(Table):
    def _update_table(self, updater: Callable[[dict[int, Mapping[str, Any]]], None]) -> None:
        tables = self._storage.read()
        if tables is None:
            tables = {}
        updater(_IntKeys(tables.setdefault(self.name, {})))  # type: ignore[arg-type]
        self._storage.write(tables)
        self.clear_cache()


class _Tiny(TinyDB):
    table_class = KeyedTable


def effective_due(doc: Doc) -> datetime:
    """A claimed entry comes due again when its lease runs out."""
    at = datetime.fromisoformat(doc["at"])
    until = doc.get("until")
    return max(at, datetime.fromisoformat(until)) if until else at


class Documents:
    """Committed documents by (table, key), and the indexes the domain queries need."""

    def __init__(self, data: Data | None = None) -> None:
        self.db = _Tiny(storage=MemoryStorage)
        self.db.storage.write({name: dict((data or {}).get(name, {})) for name in TABLES})
        self._tables = {name: self.db.table(name) for name in TABLES}
        self._ids: dict[str, dict[str, int]] = {}
        self._next: dict[str, int] = {}
        self.by_household: dict[str, set[str]] = {}
        self.by_ref: dict[str, str] = {}
        self.orders_of: dict[str, set[str]] = {}
        self.due = SortedList()  # (moment, line id)
        self.due_at: dict[str, datetime] = {}
        self.outbox_due = SortedList()  # (not_before, created_at, id) of pending alerts
        self.outbox_at: dict[str, tuple[datetime, str, str]] = {}
        self.finished: dict[str, None] = {}  # sent or dropped alerts, oldest first
        self.claimed: set[tuple[str, str]] = set()  # (table, key) of entries under a lease
        self._before: dict[tuple[str, str], Doc | None] | None = None  # (table, doc id) -> as frozen
        raw = self.db.storage.read() or {}
        for name in TABLES:  # the stored dicts as they are: no TinyDB Document made per document at start
            ids = self._ids[name] = {doc["_key"]: int(doc_id) for doc_id, doc in raw[name].items()}
            if name in _INDEXED:  # for the others ``_index`` has nothing to do at start (no claims yet)
                for doc in raw[name].values():
                    self._index(name, doc["_key"], None, doc)
            self._next[name] = max(ids.values(), default=0) + 1

    def get(self, table: str, key: str) -> Doc | None:
        doc_id = self._ids[table].get(key)
        if doc_id is None:
            return None
        found = self._tables[table].get(doc_id=doc_id)
        return None if found is None else dict(found)  # type: ignore[arg-type]

    def keys(self, table: str) -> list[str]:
        return list(self._ids[table])

    def count(self, table: str) -> int:
        return len(self._ids[table])

    def put(self, table: str, key: str, doc: Doc | None) -> None:
        """Replace (or with ``None`` remove) one document, keeping the indexes in step."""
        t, ids = self._tables[table], self._ids[table]
        doc_id = ids.get(key)
        old = None
        if doc_id is not None:
            old = t.get(doc_id=doc_id)
            t.remove(doc_ids=[doc_id])
        if self._before is not None:
            if doc_id is None:
                self._before.setdefault((table, str(self._next[table])), None)  # new since the freeze
            else:
                self._before.setdefault((table, str(doc_id)), dict(old) if old is not None else None)
        if doc is None:
            ids.pop(key, None)
        else:
            if doc_id is None:
                doc_id = ids[key] = self._next[table]
                self._next[table] += 1
            t.insert(Document({**doc, "_key": key}, doc_id=doc_id))
        self._index(table, key, old, doc)

    def _index(self, table: str, key: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
        if new is not None and new.get("owner") and table in ("schedule", "outbox"):
            self.claimed.add((table, key))
        else:
            self.claimed.discard((table, key))
        if table == "lines":
            if old is not None:
                self.by_household.get(old["household_id"], set()).discard(key)
                if self.by_ref.get(old["ref"]) == key:
                    del self.by_ref[old["ref"]]
            if new is not None:
                self.by_household.setdefault(new["household_id"], set()).add(key)
                self.by_ref[new["ref"]] = key
        elif table == "orders":
            if old is not None:
                self.orders_of.get(old["household_id"], set()).discard(key)
            if new is not None:
                self.orders_of.setdefault(new["household_id"], set()).add(key)
        elif table == "schedule":
            if key in self.due_at:
                self.due.discard((self.due_at.pop(key), key))
            if new is not None:
                self.due_at[key] = at = effective_due(dict(new))
                self.due.add((at, key))
        elif table == "outbox":
            self.finished.pop(key, None)
            if new is not None and new.get("state") != "pending":
                self.finished[key] = None
            if key in self.outbox_at:
                self.outbox_due.discard(self.outbox_at.pop(key))
            if new is not None and new.get("state") == "pending":
                entry = (effective_due({"at": new["not_before"], "until": new.get("until")}), str(new["created_at"]), key)
                self.outbox_at[key] = entry
                self.outbox_due.add(entry)

    def forget_claims(self) -> int:
        """Drop every lease (one process per data file: its leases died with the last one)."""
        held = list(self.claimed)
        for table, key in held:
            doc = self.get(table, key)
            assert doc is not None
            self.put(table, key, {k: v for k, v in doc.items() if k not in ("owner", "until", "_key")})
        return len(held)

    def freeze(self) -> None:
        """From now on keep what each write replaces, until ``thaw``."""
        self._before = {}

    def thaw(self) -> None:
        self._before = None

    def frozen_ids(self, table: str) -> list[str]:
        """The doc ids of ``table`` at ``freeze`` and maybe some added since (``frozen`` leaves
        those out): one C-level copy of the keys, so this never holds the loop for long."""
        raw = (self.db.storage.read() or {}).get(table, {})
        before = self._before if self._before is not None else {}
        return list(raw) + [i for (t, i), doc in before.items() if t == table and doc is not None and i not in raw]

    def frozen(self, table: str, ids: list[str]) -> dict[str, Doc]:
        """Documents ``ids`` of ``table`` as they were at ``freeze``."""
        raw = (self.db.storage.read() or {}).get(table, {})
        before = self._before if self._before is not None else {}
        out = {}
        for doc_id in ids:
            doc = before[(table, doc_id)] if (table, doc_id) in before else raw.get(doc_id)
            if doc is not None:
                out[doc_id] = doc
        return out
