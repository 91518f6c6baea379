"""The Store: domain-shaped persistence, with a memory and a TinyDB file implementation.

Contract (``tests/test_store_contract.py`` runs it on both):
- reads return what the last write stored; missing keys give ``None`` or ``[]``;
- every method is synchronous and cheap: data lives in memory, nothing reads the disk
  after ``open``;
- ``commit()`` makes every change so far durable (a crash after it loses nothing);
  ``commit(lazy=True)`` may wait up to a second for the next one; changes not yet
  committed may be lost by a crash, never half-written;
- ``samples`` keep at most ``MAX_SAMPLES`` per line, oldest dropped first, and ignore a
  balance older than the newest kept; finished outbox items are forgotten once
  ``KEEP_SENT`` to ``2 * KEEP_SENT`` newer ones are kept; ``delete_line`` removes
  everything kept about the line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from tinydb import TinyDB
from tinydb.storages import MemoryStorage

from bot.errors import StoreError
from bot.records import AlertState, Household, Line, OrderRecord, OutboxItem, Pending, Sample, from_doc, to_doc
from bot.storage import FileLock
from bot.tables import Shards, open_files
from providers.base import EsimBalance

SCHEMA_VERSION = 1
DEFAULT_SHARDS = 32
GROUP_COMMIT_SECONDS = 1.0
MAX_SAMPLES = 24
KEEP_SENT = 200


class Store(Protocol):
    def household(self, household_id: str) -> Household | None: ...
    def save_household(self, household: Household) -> None: ...
    def user_language(self, user_id: str) -> str | None: ...
    def set_user_language(self, user_id: str, language: str | None) -> None: ...
    def user_hint(self, user_id: str) -> str | None: ...
    def set_user_hint(self, user_id: str, hint: str) -> None: ...
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
    def commit(self, *, lazy: bool = False) -> None: ...
    def has_unsaved(self) -> bool: ...
    def close(self) -> None: ...


class DocStore:
    """Store over a TinyDB database; see the module docstring for the contract."""

    def __init__(self, shards: Shards, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._shards = shards
        self._clock = clock
        self._last_flush = clock()
        names = ("households", "users", "lines", "failures", "pending", "orders", "samples", "state",
                 "alerts", "schedule", "outbox")
        self._t = {name: shards.table(name) for name in names}
        self._finished = 2 * KEEP_SENT + 1  # unknown at start: the first finished item prunes
        self._by_household: dict[str, set[str]] = {}
        self._by_ref: dict[str, str] = {}
        for doc in self._t["lines"].values():
            self._index(doc)

    def _index(self, doc: dict[str, Any], *, remove: bool = False) -> None:
        ids = self._by_household.setdefault(doc["household_id"], set())
        if remove:
            ids.discard(doc["_key"])
            if self._by_ref.get(doc["ref"]) == doc["_key"]:
                del self._by_ref[doc["ref"]]
        else:
            ids.add(doc["_key"])
            self._by_ref[doc["ref"]] = doc["_key"]

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
        self._t["users"].put(user_id, {**(self._t["users"].get(user_id) or {}), "language": language})

    def user_hint(self, user_id: str) -> str | None:
        """The language the user's platform last reported (Telegram's language_code...)."""
        doc = self._t["users"].get(user_id)
        return None if doc is None else doc.get("hint")

    def set_user_hint(self, user_id: str, hint: str) -> None:
        doc = self._t["users"].get(user_id) or {}
        if doc.get("hint") != hint:
            self._t["users"].put(user_id, {**doc, "hint": hint})

    def line(self, line_id: str) -> Line | None:
        return self._get("lines", line_id, Line)  # type: ignore[no-any-return]

    def lines(self, household_id: str) -> list[Line]:
        found = [line for i in self._by_household.get(household_id, ()) if (line := self.line(i)) is not None]
        return sorted(found, key=lambda line: (line.created_at, line.label))

    def all_lines(self) -> Iterator[Line]:
        return (from_doc(Line, d) for d in self._t["lines"].values())

    def line_by_ref(self, ref: str) -> Line | None:
        line_id = self._by_ref.get(ref)
        return None if line_id is None else self.line(line_id)

    def save_line(self, line: Line) -> None:
        old = self._t["lines"].get(line.id)
        if old is not None:
            self._index(old, remove=True)
        doc = to_doc(line)
        self._t["lines"].put(line.id, doc)
        self._index({**doc, "_key": line.id})

    def delete_line(self, line_id: str) -> None:
        old = self._t["lines"].get(line_id)
        if old is not None:
            self._index(old, remove=True)
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
        if doc["items"] and doc["items"][-1][0] > point[0]:
            return  # an answer older than what we know (clock skew, a late reply): keep the newer
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
            self._finished += 1
            if self._finished > 2 * KEEP_SENT:  # prune now and then, not on every send
                done = [d for d in self._t["outbox"].values() if d["state"] != "pending"]
                for old in sorted(done, key=lambda d: d["created_at"])[:-KEEP_SENT]:
                    self._t["outbox"].delete(old["_key"])
                self._finished = KEEP_SENT

    def move_household(self, old_id: str, new_id: str) -> None:
        """A chat got a new id: the household, its lines and orders follow it."""
        doc = self._t["households"].get(old_id)
        if doc is None or self._t["households"].get(new_id) is not None:
            return
        self._t["households"].put(new_id, {**doc, "id": new_id})
        self._t["households"].delete(old_id)
        for line in self.lines(old_id):
            self.save_line(replace(line, household_id=new_id))
        for table in ("orders", "pending"):
            for item in list(self._t[table].values()):
                if item["household_id"] == old_id:
                    self._t[table].put(item["_key"], {**item, "household_id": new_id})

    def get_state(self, namespace: str, key: str) -> Any:
        doc = self._t["state"].get(f"{namespace}/{key}")
        return None if doc is None else doc["value"]

    def put_state(self, namespace: str, key: str, value: Any) -> None:
        self._t["state"].put(f"{namespace}/{key}", {"value": value})

    def commit(self, *, lazy: bool = False) -> None:
        """Write every changed file now; ``lazy`` (poll results, samples) at most once a
        second, so frequent small changes are group-committed."""
        if lazy and self._clock() - self._last_flush < GROUP_COMMIT_SECONDS:
            return
        self._shards.flush()
        self._last_flush = self._clock()

    def has_unsaved(self) -> bool:
        return self._shards.dirty() > 0

    def close(self) -> None:
        self._shards.close()


class MemoryStore(DocStore):
    """Everything in memory; for tests and the console's throwaway sessions."""

    def __init__(self) -> None:
        super().__init__(Shards([TinyDB(storage=MemoryStorage)]))


class TinyDBStore(DocStore):
    """The data file (``path``) plus shard files in ``<path>.d/``, each written atomically on
    ``commit()``; one process per data file (a lock beside it)."""

    def __init__(self, path: str, *, shards: int = DEFAULT_SHARDS) -> None:
        self._lock = FileLock(path)
        self._lock.acquire()
        try:
            dbs = open_files(path, schema=SCHEMA_VERSION, shards=shards)
            folder = Path(path + ".d")
            try:
                super().__init__(Shards(dbs))
            except (KeyError, TypeError, ValueError) as exc:  # a record without its key, or of the wrong kind
                raise StoreError(f"the data file {path} (or a file in {folder}) is not a bot database; "
                                 "it was left untouched") from exc
            self.commit()
        except BaseException:
            self._lock.release()
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._lock.release()
