"""The Store: domain-shaped persistence, with a memory and a TinyDB file implementation.

Contract (``tests/test_store_contract.py`` runs it on both):
- reads return what the last write stored; missing keys give ``None`` or ``[]``;
- every method is synchronous and cheap: data lives in memory, nothing reads the disk
  after ``open``;
- ``commit()`` makes every change so far durable (a crash after it loses nothing);
  changes not yet committed may be lost by a crash, never half-written;
- ``samples`` keep at most ``MAX_SAMPLES`` per line, oldest dropped first; sent outbox
  items are forgotten after ``KEEP_SENT`` newer ones; ``delete_line`` removes everything
  kept about the line.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from tinydb import TinyDB
from tinydb.middlewares import CachingMiddleware
from tinydb.storages import MemoryStorage
from tinydb.table import Document, Table

from bot.errors import StoreError
from bot.records import AlertState, Household, Line, OrderRecord, OutboxItem, Pending, Sample, from_doc, to_doc
from bot.storage import AtomicJSONStorage, FileLock
from providers.base import EsimBalance

SCHEMA_VERSION = 1
MAX_SAMPLES = 24
KEEP_SENT = 200


class Store(Protocol):
    def household(self, household_id: str) -> Household | None: ...
    def save_household(self, household: Household) -> None: ...
    def user_language(self, user_id: str) -> str | None: ...
    def set_user_language(self, user_id: str, language: str | None) -> None: ...
    def line(self, line_id: str) -> Line | None: ...
    def lines(self, household_id: str) -> list[Line]: ...
    def all_lines(self) -> Iterator[Line]: ...
    def line_by_ref(self, ref: str) -> Line | None: ...
    def save_line(self, line: Line) -> None: ...
    def delete_line(self, line_id: str) -> None: ...
    def record_link_failure(self, user_id: str, at: datetime) -> None: ...
    def link_failures_since(self, user_id: str, since: datetime) -> int: ...
    def pending(self, token: str) -> Pending | None: ...
    def save_pending(self, pending: Pending) -> None: ...
    def order(self, client_ref: str) -> OrderRecord | None: ...
    def save_order(self, order: OrderRecord) -> None: ...
    def orders(self, household_id: str) -> list[OrderRecord]: ...
    def add_sample(self, line_id: str, balance: EsimBalance) -> None: ...
    def samples(self, line_id: str) -> list[Sample]: ...
    def last_balance(self, line_id: str) -> EsimBalance | None: ...
    def alert_state(self, line_id: str) -> AlertState | None: ...
    def save_alert_state(self, line_id: str, state: AlertState) -> None: ...
    def schedule(self) -> dict[str, datetime]: ...
    def set_due(self, line_id: str, at: datetime | None) -> None: ...
    def outbox(self) -> list[OutboxItem]: ...
    def save_outbox(self, item: OutboxItem) -> None: ...
    def move_household(self, old_id: str, new_id: str) -> None: ...
    def get_state(self, namespace: str, key: str) -> Any: ...
    def put_state(self, namespace: str, key: str, value: Any) -> None: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...


class _Keyed:
    """A TinyDB table addressed by a string key, with an in-memory key -> doc_id index."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._ids = {doc["_key"]: doc.doc_id for doc in table.all()}

    def get(self, key: str) -> dict[str, Any] | None:
        doc_id = self._ids.get(key)
        return None if doc_id is None else self.table.get(doc_id=doc_id)  # type: ignore[return-value]

    def put(self, key: str, doc: dict[str, Any]) -> None:
        doc = {**doc, "_key": key}
        doc_id = self._ids.get(key)
        if doc_id is None:
            self._ids[key] = self.table.insert(doc)
        else:
            self.table.upsert(Document(doc, doc_id=doc_id))

    def delete(self, key: str) -> None:
        doc_id = self._ids.pop(key, None)
        if doc_id is not None:
            self.table.remove(doc_ids=[doc_id])

    def values(self) -> Iterator[dict[str, Any]]:
        yield from self.table.all()


class DocStore:
    """Store over a TinyDB database; see the module docstring for the contract."""

    def __init__(self, db: TinyDB) -> None:
        self._db = db
        meta = _Keyed(db.table("meta"))
        schema = meta.get("schema")
        if schema is None:
            meta.put("schema", {"version": SCHEMA_VERSION})
        elif schema.get("version") != SCHEMA_VERSION:
            raise StoreError(f"the data file has schema {schema.get('version')}, this bot reads {SCHEMA_VERSION}")
        names = ("households", "users", "lines", "failures", "pending", "orders", "samples", "state",
                 "alerts", "schedule", "outbox")
        self._t = {name: _Keyed(db.table(name)) for name in names}

    def _get(self, table: str, key: str, cls: type[Any]) -> Any:
        doc = self._t[table].get(key)
        return None if doc is None else from_doc(cls, doc)

    def household(self, household_id: str) -> Household | None:
        return self._get("households", household_id, Household)  # type: ignore[no-any-return]

    def save_household(self, household: Household) -> None:
        self._t["households"].put(household.id, to_doc(household))

    def user_language(self, user_id: str) -> str | None:
        doc = self._t["users"].get(user_id)
        return None if doc is None else doc.get("language")

    def set_user_language(self, user_id: str, language: str | None) -> None:
        self._t["users"].put(user_id, {"language": language})

    def line(self, line_id: str) -> Line | None:
        return self._get("lines", line_id, Line)  # type: ignore[no-any-return]

    def lines(self, household_id: str) -> list[Line]:
        found = [from_doc(Line, d) for d in self._t["lines"].values() if d["household_id"] == household_id]
        return sorted(found, key=lambda line: (line.created_at, line.label))

    def all_lines(self) -> Iterator[Line]:
        return (from_doc(Line, d) for d in self._t["lines"].values())

    def line_by_ref(self, ref: str) -> Line | None:
        for doc in self._t["lines"].values():
            if doc["ref"] == ref:
                return from_doc(Line, doc)
        return None

    def save_line(self, line: Line) -> None:
        self._t["lines"].put(line.id, to_doc(line))

    def delete_line(self, line_id: str) -> None:
        for table in ("lines", "samples", "alerts", "schedule"):
            self._t[table].delete(line_id)
        for doc in list(self._t["outbox"].values()):
            if doc["line_id"] == line_id:
                self._t["outbox"].delete(doc["_key"])

    def record_link_failure(self, user_id: str, at: datetime) -> None:
        doc = self._t["failures"].get(user_id) or {"at": []}
        self._t["failures"].put(user_id, {"at": [*doc["at"][-19:], to_doc(at)]})

    def link_failures_since(self, user_id: str, since: datetime) -> int:
        doc = self._t["failures"].get(user_id) or {"at": []}
        return sum(1 for at in doc["at"] if datetime.fromisoformat(at) >= since)

    def pending(self, token: str) -> Pending | None:
        return self._get("pending", token, Pending)  # type: ignore[no-any-return]

    def save_pending(self, pending: Pending) -> None:
        self._t["pending"].put(pending.token, to_doc(pending))

    def order(self, client_ref: str) -> OrderRecord | None:
        return self._get("orders", client_ref, OrderRecord)  # type: ignore[no-any-return]

    def save_order(self, order: OrderRecord) -> None:
        self._t["orders"].put(order.client_ref, to_doc(order))

    def orders(self, household_id: str) -> list[OrderRecord]:
        found = [from_doc(OrderRecord, d) for d in self._t["orders"].values() if d["household_id"] == household_id]
        return sorted(found, key=lambda o: o.created_at)

    def add_sample(self, line_id: str, balance: EsimBalance) -> None:
        doc = self._t["samples"].get(line_id) or {"items": []}
        point = [to_doc(balance.as_of), balance.data_remaining_bytes]
        items = [item for item in doc["items"] if item[0] < point[0]][-(MAX_SAMPLES - 1):]
        self._t["samples"].put(line_id, {"items": [*items, point], "last": to_doc(balance)})

    def samples(self, line_id: str) -> list[Sample]:
        doc = self._t["samples"].get(line_id) or {"items": []}
        return [Sample(datetime.fromisoformat(at), remaining) for at, remaining in doc["items"]]

    def last_balance(self, line_id: str) -> EsimBalance | None:
        doc = self._t["samples"].get(line_id)
        return None if doc is None else from_doc(EsimBalance, doc["last"])

    def alert_state(self, line_id: str) -> AlertState | None:
        return self._get("alerts", line_id, AlertState)  # type: ignore[no-any-return]

    def save_alert_state(self, line_id: str, state: AlertState) -> None:
        self._t["alerts"].put(line_id, to_doc(state))

    def schedule(self) -> dict[str, datetime]:
        return {d["_key"]: datetime.fromisoformat(d["at"]) for d in self._t["schedule"].values()}

    def set_due(self, line_id: str, at: datetime | None) -> None:
        if at is None:
            self._t["schedule"].delete(line_id)
        else:
            self._t["schedule"].put(line_id, {"at": to_doc(at)})

    def outbox(self) -> list[OutboxItem]:
        items = [from_doc(OutboxItem, d) for d in self._t["outbox"].values()]
        return sorted(items, key=lambda item: (item.created_at, item.id))

    def save_outbox(self, item: OutboxItem) -> None:
        self._t["outbox"].put(item.id, to_doc(item))
        if item.state != "pending":
            done = [d for d in self._t["outbox"].values() if d["state"] != "pending"]
            for old in sorted(done, key=lambda d: d["created_at"])[:-KEEP_SENT]:
                self._t["outbox"].delete(old["_key"])

    def move_household(self, old_id: str, new_id: str) -> None:
        """A chat got a new id: the household, its lines and orders follow it."""
        doc = self._t["households"].get(old_id)
        if doc is None or self._t["households"].get(new_id) is not None:
            return
        self._t["households"].put(new_id, {**doc, "id": new_id})
        self._t["households"].delete(old_id)
        for table in ("lines", "orders", "pending"):
            for item in list(self._t[table].values()):
                if item["household_id"] == old_id:
                    self._t[table].put(item["_key"], {**item, "household_id": new_id})

    def get_state(self, namespace: str, key: str) -> Any:
        doc = self._t["state"].get(f"{namespace}/{key}")
        return None if doc is None else doc["value"]

    def put_state(self, namespace: str, key: str, value: Any) -> None:
        self._t["state"].put(f"{namespace}/{key}", {"value": value})

    def commit(self) -> None:
        storage = self._db.storage
        if isinstance(storage, CachingMiddleware):
            storage.flush()  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._db.close()


class MemoryStore(DocStore):
    """Everything in memory; for tests and the console's throwaway sessions."""

    def __init__(self) -> None:
        super().__init__(TinyDB(storage=MemoryStorage))


class TinyDBStore(DocStore):
    """One JSON file, written atomically on ``commit()``; one process per file."""

    def __init__(self, path: str) -> None:
        self._lock = FileLock(path)
        self._lock.acquire()
        try:
            storage = CachingMiddleware(AtomicJSONStorage)  # type: ignore[no-untyped-call]
            storage.WRITE_CACHE_SIZE = 10**9  # only commit() writes
            db = TinyDB(path, storage=storage)
            super().__init__(db)
            self.commit()
        except BaseException:
            self._lock.release()
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._lock.release()
