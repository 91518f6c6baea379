"""One unit of work over ``Documents``: the domain methods of ``Tx``, writes kept aside.

Reads look at the unit's own writes first, then at the committed documents; nothing is
changed until the backend applies ``ops()`` after making them durable. Used by the memory
and the TinyDB backends alike (see ``bot.store.interface`` for the contract).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.names import PlatformName
from bot.records import (
    AlertState,
    Household,
    Line,
    OrderRecord,
    OutboxItem,
    Pending,
    Sample,
    from_doc,
    to_doc,
)
from bot.store import samples as packed
from bot.store.interface import KEEP_FINISHED, MAX_SAMPLES, SAMPLE_DAYS
from bot.store.kept import StateViews
from bot.store.tables import Doc, Documents, effective_due
from providers.base import EsimBalance

Op = tuple[str, str, Doc | None]


class DocumentTx(StateViews):
    def __init__(self, docs: Documents) -> None:
        self._docs = docs
        self._writes: dict[tuple[str, str], Doc | None] = {}
        self.callbacks: list[Callable[[], None]] = []
        self.closed = False

    # -- plumbing -------------------------------------------------------------------------
    def after_commit(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)

    def ops(self) -> list[Op]:
        return [(table, key, doc) for (table, key), doc in self._writes.items()]

    def _get(self, table: str, key: str) -> Doc | None:
        if self.closed:
            raise RuntimeError("this unit of work has ended")
        if (table, key) in self._writes:
            doc = self._writes[(table, key)]
            return None if doc is None else dict(doc)
        return self._docs.get(table, key)

    def _put(self, table: str, key: str, doc: Doc | None) -> None:
        if self.closed:
            raise RuntimeError("this unit of work has ended")
        self._writes[(table, key)] = doc

    def _written(self, table: str) -> dict[str, Doc | None]:
        return {key: doc for (t, key), doc in self._writes.items() if t == table}

    def _record(self, table: str, key: str, cls: type[Any]) -> Any:
        doc = self._get(table, key)
        return None if doc is None else from_doc(cls, doc)

    # -- households and users -------------------------------------------------------------
    async def household(self, household_id: str) -> Household | None:
        return self._record("households", household_id, Household)  # type: ignore[no-any-return]

    async def save_household(self, household: Household) -> None:
        self._put("households", household.id, to_doc(household))

    async def move_household(self, old_id: str, new_id: str) -> None:
        doc = self._get("households", old_id)
        if doc is None or self._get("households", new_id) is not None:
            return
        self._put("households", new_id, {**doc, "id": new_id})
        self._put("households", old_id, None)
        for line in await self.lines(old_id):
            await self.save_line(replace(line, household_id=new_id))
        for order in await self.orders(old_id):
            await self.save_order(replace(order, household_id=new_id))
        for key in self._docs.keys("pending"):
            pending = self._get("pending", key)
            if pending is not None and pending["household_id"] == old_id:
                self._put("pending", key, {**pending, "household_id": new_id})
        platform = PlatformName(old_id.split(":", 1)[0])
        new_chat = new_id.split(":", 1)[1]
        for item in await self.outbox_pending():
            if item.household_id == old_id and item.private_user is None:
                await self.save_outbox(replace(item, chat=new_chat, household_id=new_id, platform=platform))

    async def user_language(self, user_id: str) -> str | None:
        doc = self._get("users", user_id)
        return None if doc is None else doc.get("language")

    async def set_user_language(self, user_id: str, language: str | None) -> None:
        self._put("users", user_id, {**(self._get("users", user_id) or {}), "language": language})

    async def user_hint(self, user_id: str) -> str | None:
        doc = self._get("users", user_id)
        return None if doc is None else doc.get("hint")

    async def set_user_hint(self, user_id: str, hint: str) -> None:
        doc = self._get("users", user_id) or {}
        if doc.get("hint") != hint:  # unchanged: no write, so a read-only command writes nothing
            self._put("users", user_id, {**doc, "hint": hint})

    # -- lines ----------------------------------------------------------------------------
    async def line(self, line_id: str) -> Line | None:
        return self._record("lines", line_id, Line)  # type: ignore[no-any-return]

    async def lines(self, household_id: str) -> list[Line]:
        ids = set(self._docs.by_household.get(household_id, ()))
        for key, doc in self._written("lines").items():
            ids.discard(key)
            if doc is not None and doc["household_id"] == household_id:
                ids.add(key)
        found = [line for i in ids if (line := await self.line(i)) is not None]
        return sorted(found, key=lambda line: (line.created_at, line.label))

    async def line_by_ref(self, ref: str) -> Line | None:
        for _key, doc in self._written("lines").items():
            if doc is not None and doc["ref"] == ref:
                return from_doc(Line, doc)
        line_id = self._docs.by_ref.get(ref)
        return None if line_id is None else await self.line(line_id)

    async def save_line(self, line: Line) -> None:
        self._put("lines", line.id, to_doc(line))

    async def delete_line(self, line_id: str) -> None:
        for table in ("lines", "samples", "alerts", "schedule"):
            if self._get(table, line_id) is not None:
                self._put(table, line_id, None)
        for item in await self.outbox_pending():
            if item.line_id == line_id:
                self._put("outbox", item.id, None)

    async def count_lines(self) -> int:
        written = self._written("lines")
        added = sum(1 for k, d in written.items() if d is not None and self._docs.get("lines", k) is None)
        removed = sum(1 for k, d in written.items() if d is None and self._docs.get("lines", k) is not None)
        return self._docs.count("lines") + added - removed

    async def record_link_failure(self, user_id: str, at: datetime) -> None:
        doc = self._get("failures", user_id) or {"at": []}
        self._put("failures", user_id, {"at": [*doc["at"][-19:], to_doc(at)]})

    async def link_failures_since(self, user_id: str, since: datetime) -> int:
        doc = self._get("failures", user_id) or {"at": []}
        return sum(1 for at in doc["at"] if datetime.fromisoformat(at) >= since)

    # -- confirmations and orders ---------------------------------------------------------
    async def pending(self, token: str, *, for_update: bool = False) -> Pending | None:
        # one process, one event loop: a unit's read and write never interleave with another's
        return self._record("pending", token, Pending)  # type: ignore[no-any-return]

    async def save_pending(self, pending: Pending) -> None:
        self._put("pending", pending.token, to_doc(pending))

    async def order(self, client_ref: str) -> OrderRecord | None:
        return self._record("orders", client_ref, OrderRecord)  # type: ignore[no-any-return]

    async def save_order(self, order: OrderRecord) -> None:
        self._put("orders", order.client_ref, to_doc(order))

    async def orders(self, household_id: str) -> list[OrderRecord]:
        refs = set(self._docs.orders_of.get(household_id, ()))
        refs.update(key for key, doc in self._written("orders").items() if doc is not None)
        found = [o for r in refs if (o := await self.order(r)) is not None and o.household_id == household_id]
        return sorted(found, key=lambda o: o.created_at)

    # -- samples and reminder state -------------------------------------------------------
    async def add_sample(self, line_id: str, balance: EsimBalance) -> None:
        doc = self._get("samples", line_id) or {}
        points = packed.add(packed.unpack(doc), balance.as_of, balance.data_remaining_bytes, cap=MAX_SAMPLES, days=SAMPLE_DAYS)
        if points is not None:
            self._put("samples", line_id, {**packed.pack(points), "last": to_doc(balance)})

    async def samples(self, line_id: str) -> list[Sample]:
        return [Sample(at, left) for at, left in packed.unpack(self._get("samples", line_id))]

    async def last_balance(self, line_id: str) -> EsimBalance | None:
        doc = self._get("samples", line_id)
        return None if doc is None or "last" not in doc else from_doc(EsimBalance, doc["last"])

    async def alert_state(self, line_id: str) -> AlertState | None:
        return self._record("alerts", line_id, AlertState)  # type: ignore[no-any-return]

    async def save_alert_state(self, line_id: str, state: AlertState) -> None:
        self._put("alerts", line_id, to_doc(state))

    # -- the poll schedule ----------------------------------------------------------------
    async def due(self, line_id: str) -> datetime | None:
        doc = self._get("schedule", line_id)
        return None if doc is None else datetime.fromisoformat(doc["at"])

    async def set_due(self, line_id: str, at: datetime | None) -> None:
        self._put("schedule", line_id, None if at is None else {"at": to_doc(at)})

    async def next_due(self) -> datetime | None:
        times = [effective_due(d) for d in self._written("schedule").values() if d is not None]
        for at, key in self._docs.due:
            if ("schedule", key) not in self._writes:
                times.append(at)
                break
        return min(times, default=None)

    async def claim_due_lines(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[str]:
        found = [k for k, d in self._written("schedule").items() if d is not None and effective_due(d) <= now]
        for _at, key in self._docs.due.irange(maximum=(now, "\uffff")):
            if len(found) >= limit:
                break
            if ("schedule", key) not in self._writes:
                found.append(key)
        for key in found[:limit]:
            doc = self._get("schedule", key)
            if doc is not None:
                self._put("schedule", key, {"at": doc["at"], "owner": owner, "until": to_doc(now + lease)})
        return found[:limit]

    # -- the outbox -----------------------------------------------------------------------
    async def outbox_pending(self) -> list[OutboxItem]:
        written = self._written("outbox")
        keys = [key for _at, _created, key in self._docs.outbox_due if key not in written]
        keys += [key for key, doc in written.items() if doc is not None and doc.get("state") == "pending"]
        items = [item for k in keys if (item := self._record("outbox", k, OutboxItem)) is not None]
        return sorted(items, key=lambda i: (i.not_before, i.created_at, i.id))

    async def outbox_changes(self, since: int | None) -> tuple[list[OutboxItem], int | None]:
        """One process: what it stored it mirrored already; a full read is all there is."""
        return await self.outbox_pending(), None

    async def save_outbox(self, item: OutboxItem) -> None:
        self._put("outbox", item.id, to_doc(item))
        if item.state != "pending" and len(self._docs.finished) > 2 * KEEP_FINISHED:
            for key in list(itertools.islice(self._docs.finished, KEEP_FINISHED)):  # prune now and then
                if ("outbox", key) not in self._writes:
                    self._put("outbox", key, None)

    async def claim_outbox(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[OutboxItem]:
        written = self._written("outbox")
        keys = [
            k
            for k, d in written.items()
            if d is not None
            and d.get("state") == "pending"
            and effective_due({"at": d["not_before"], "until": d.get("until")}) <= now
        ]
        for _at, _created, key in self._docs.outbox_due.irange(maximum=(now, "\uffff", "\uffff")):
            if len(keys) >= limit:
                break
            if key not in written:
                keys.append(key)
        claimed: list[OutboxItem] = []
        for key in keys[:limit]:
            doc = self._get("outbox", key)
            if doc is not None:
                self._put("outbox", key, {**doc, "owner": owner, "until": to_doc(now + lease)})
                claimed.append(from_doc(OutboxItem, doc))
        return sorted(claimed, key=lambda i: (i.not_before, i.created_at, i.id))

    # -- small state of other parts (providers' order books, the demo's day 0) ------------
    async def get_state(self, namespace: str, key: str) -> Any:
        doc = self._get("state", f"{namespace}/{key}")
        return None if doc is None else doc["value"]

    async def put_state(self, namespace: str, key: str, value: Any) -> None:
        self._put("state", f"{namespace}/{key}", None if value is None else {"value": value})
