"""One unit of work on PostgreSQL: the domain methods of ``Tx`` as SQL on one transaction.

Records are stored as the JSON documents of ``bot.records`` (``to_doc``/``from_doc``, the
same as the embedded backends), with the columns that queries, claims and indexes need beside
them (``migrations/001_initial.sql``). Writes go straight into the open transaction, so the
unit reads its own writes and nobody else sees them before the commit (read committed).
``wrote`` is set only by a statement that changed a row: a unit that changes nothing is not
counted as a commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from bot.names import PlatformName
from bot.records import AlertState, Household, Line, OrderRecord, OutboxItem, OutboxState, Pending, Sample, from_doc, to_doc
from bot.store import samples as packed
from bot.store.interface import KEEP_FINISHED, MAX_SAMPLES, SAMPLE_DAYS
from bot.store.kept import StateViews
from providers.base import EsimBalance

# The queries that run on a timer, each through an index whatever the number of rows that
# are not due (tests/test_store_postgres.py reads their plans): a batch of due lines, a batch
# of due alerts, the alerts changed since a mark.
CLAIM_DUE = (
    "WITH due AS (SELECT line_id, ready FROM schedule WHERE ready <= %s ORDER BY ready, line_id LIMIT %s "
    "FOR UPDATE SKIP LOCKED) UPDATE schedule s SET owner = %s, lease_until = %s FROM due "
    "WHERE s.line_id = due.line_id RETURNING due.ready, s.line_id"
)
CLAIM_OUTBOX = (
    "WITH due AS (SELECT id FROM outbox WHERE state = 'pending' AND ready <= %s ORDER BY ready, created_at, id "
    "LIMIT %s FOR UPDATE SKIP LOCKED) UPDATE outbox o SET owner = %s, lease_until = %s FROM due "
    "WHERE o.id = due.id RETURNING o.doc"
)
SAVE_OUTBOX = (
    "INSERT INTO outbox (id, state, not_before, created_at, household_id, line_id, finished, doc) VALUES "
    "(%s, %s, %s, %s, %s, %s, CASE WHEN %s THEN nextval('outbox_finished') END, %s) ON CONFLICT (id) DO UPDATE "
    "SET state = excluded.state, not_before = excluded.not_before, created_at = excluded.created_at, "
    "household_id = excluded.household_id, line_id = excluded.line_id, owner = NULL, lease_until = NULL, "
    "finished = excluded.finished, doc = excluded.doc, changed = pg_current_xact_id() RETURNING finished"
)
PRUNE_AFTER = (  # %%s: the save; the item's own id is never pruned in the statement that saves it
    f"WITH saved AS (%s) DELETE FROM outbox WHERE finished <= (SELECT finished FROM saved) - {2 * KEEP_FINISHED} AND id <> %%s"
)
OUTBOX_CHANGES = "SELECT doc FROM outbox WHERE changed >= %s::text::xid8 ORDER BY changed"


class PostgresTx(StateViews):
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn
        self.wrote = False
        self.callbacks: list[Callable[[], None]] = []
        self.closed = False

    # -- plumbing -------------------------------------------------------------------------
    def after_commit(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)

    async def _rows(self, sql: str, args: Sequence[Any] = (), *, writes: bool = False) -> list[tuple[Any, ...]]:
        if self.closed:
            raise RuntimeError("this unit of work has ended")
        cur = await self._conn.execute(sql, args)
        if writes and cur.rowcount:
            self.wrote = True
        return await cur.fetchall() if cur.description else []

    async def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        rows = await self._rows(sql, args)
        return rows[0][0] if rows else None

    async def _write(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return await self._rows(sql, args, writes=True)

    async def _doc(self, table: str, key_column: str, key: str, cls: type[Any]) -> Any:
        doc = await self._one(f"SELECT doc FROM {table} WHERE {key_column} = %s", (key,))
        return None if doc is None else from_doc(cls, doc)

    # -- households and users -------------------------------------------------------------
    async def household(self, household_id: str) -> Household | None:
        return await self._doc("households", "id", household_id, Household)  # type: ignore[no-any-return]

    async def save_household(self, household: Household) -> None:
        await self._write(
            "INSERT INTO households (id, doc) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            (household.id, Jsonb(to_doc(household))),
        )

    async def move_household(self, old_id: str, new_id: str) -> None:
        old = await self.household(old_id)
        if old is None or await self.household(new_id) is not None:
            return
        await self.save_household(replace(old, id=new_id))
        await self._write("DELETE FROM households WHERE id = %s", (old_id,))
        for line in await self.lines(old_id):
            await self.save_line(replace(line, household_id=new_id))
        for order in await self.orders(old_id):
            await self.save_order(replace(order, household_id=new_id))
        for (doc,) in await self._rows("SELECT doc FROM pending WHERE household_id = %s", (old_id,)):
            await self.save_pending(replace(from_doc(Pending, doc), household_id=new_id))
        platform, new_chat = new_id.split(":", 1)
        for item in await self.outbox_pending():
            if item.household_id == old_id and item.private_user is None:
                await self.save_outbox(replace(item, chat=new_chat, household_id=new_id, platform=PlatformName(platform)))

    async def user_language(self, user_id: str) -> str | None:
        return await self._one("SELECT language FROM users WHERE id = %s", (user_id,))  # type: ignore[no-any-return]

    async def set_user_language(self, user_id: str, language: str | None) -> None:
        await self._write(
            "INSERT INTO users (id, language) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET language = excluded.language",
            (user_id, language),
        )

    async def user_hint(self, user_id: str) -> str | None:
        return await self._one("SELECT hint FROM users WHERE id = %s", (user_id,))  # type: ignore[no-any-return]

    async def set_user_hint(self, user_id: str, hint: str) -> None:
        await self._write(
            "INSERT INTO users (id, hint) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET hint = "
            "excluded.hint WHERE users.hint IS DISTINCT FROM excluded.hint",
            (user_id, hint),
        )

    # -- lines ----------------------------------------------------------------------------
    async def line(self, line_id: str) -> Line | None:
        return await self._doc("lines", "id", line_id, Line)  # type: ignore[no-any-return]

    async def lines(self, household_id: str) -> list[Line]:
        rows = await self._rows("SELECT doc FROM lines WHERE household_id = %s ORDER BY created_at, label", (household_id,))
        return [from_doc(Line, doc) for (doc,) in rows]

    async def line_by_ref(self, ref: str) -> Line | None:
        doc = await self._one("SELECT doc FROM lines WHERE ref = %s ORDER BY id LIMIT 1", (ref,))
        return None if doc is None else from_doc(Line, doc)

    async def save_line(self, line: Line) -> None:
        await self._write(
            "INSERT INTO lines (id, household_id, ref, created_at, label, doc) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET household_id = excluded.household_id, ref = excluded.ref, "
            "created_at = excluded.created_at, label = excluded.label, doc = excluded.doc",
            (line.id, line.household_id, line.ref, line.created_at, line.label, Jsonb(to_doc(line))),
        )

    async def delete_line(self, line_id: str) -> None:
        for table in ("samples", "alerts", "schedule"):
            await self._write(f"DELETE FROM {table} WHERE line_id = %s", (line_id,))
        await self._write("DELETE FROM lines WHERE id = %s", (line_id,))
        # unsent alerts are dropped, not deleted: the leader's incremental read sees a change, never a gap
        for (doc,) in await self._rows("SELECT doc FROM outbox WHERE line_id = %s AND state = 'pending'", (line_id,)):
            await self.save_outbox(replace(from_doc(OutboxItem, doc), state=OutboxState.DROPPED, note="line removed"))

    async def count_lines(self) -> int:
        return int(await self._one("SELECT count(*) FROM lines"))

    async def record_link_failure(self, user_id: str, at: datetime) -> None:
        times = await self._one("SELECT at FROM link_failures WHERE user_id = %s FOR UPDATE", (user_id,)) or []
        await self._write(
            "INSERT INTO link_failures (user_id, at) VALUES (%s, %s) ON CONFLICT (user_id) DO UPDATE SET at = excluded.at",
            (user_id, Jsonb([*times[-19:], to_doc(at)])),
        )

    async def link_failures_since(self, user_id: str, since: datetime) -> int:
        times = await self._one("SELECT at FROM link_failures WHERE user_id = %s", (user_id,)) or []
        return sum(1 for at in times if datetime.fromisoformat(at) >= since)

    # -- confirmations and orders ---------------------------------------------------------
    async def pending(self, token: str, *, for_update: bool = False) -> Pending | None:
        """``for_update`` locks the row until the unit ends: two workers confirming one top-up
        at once take turns, so the second sees what the first did."""
        lock = " FOR UPDATE" if for_update else ""
        doc = await self._one(f"SELECT doc FROM pending WHERE token = %s{lock}", (token,))
        return None if doc is None else from_doc(Pending, doc)

    async def save_pending(self, pending: Pending) -> None:
        await self._write(
            "INSERT INTO pending (token, household_id, doc) VALUES (%s, %s, %s) ON CONFLICT (token) DO "
            "UPDATE SET household_id = excluded.household_id, doc = excluded.doc",
            (pending.token, pending.household_id, Jsonb(to_doc(pending))),
        )

    async def order(self, client_ref: str) -> OrderRecord | None:
        return await self._doc("orders", "client_ref", client_ref, OrderRecord)  # type: ignore[no-any-return]

    async def save_order(self, order: OrderRecord) -> None:
        await self._write(
            "INSERT INTO orders (client_ref, household_id, created_at, doc) VALUES (%s, %s, %s, %s) ON CONFLICT "
            "(client_ref) DO UPDATE SET household_id = excluded.household_id, created_at = excluded.created_at, "
            "doc = excluded.doc",
            (order.client_ref, order.household_id, order.created_at, Jsonb(to_doc(order))),
        )

    async def orders(self, household_id: str) -> list[OrderRecord]:
        rows = await self._rows("SELECT doc FROM orders WHERE household_id = %s ORDER BY created_at", (household_id,))
        return [from_doc(OrderRecord, doc) for (doc,) in rows]

    # -- samples and reminder state -------------------------------------------------------
    async def add_sample(self, line_id: str, balance: EsimBalance) -> None:
        doc = await self._one("SELECT doc FROM samples WHERE line_id = %s FOR UPDATE", (line_id,)) or {}
        points = packed.add(packed.unpack(doc), balance.as_of, balance.data_remaining_bytes, cap=MAX_SAMPLES, days=SAMPLE_DAYS)
        if points is not None:
            new = {**packed.pack(points), "last": to_doc(balance)}
            await self._write(
                "INSERT INTO samples (line_id, doc) VALUES (%s, %s) ON CONFLICT (line_id) DO UPDATE SET doc = excluded.doc",
                (line_id, Jsonb(new)),
            )

    async def samples(self, line_id: str) -> list[Sample]:
        doc = await self._one("SELECT doc FROM samples WHERE line_id = %s", (line_id,))
        return [Sample(at, left) for at, left in packed.unpack(doc)]

    async def last_balance(self, line_id: str) -> EsimBalance | None:
        doc = await self._one("SELECT doc -> 'last' FROM samples WHERE line_id = %s", (line_id,))
        return None if doc is None else from_doc(EsimBalance, doc)

    async def alert_state(self, line_id: str) -> AlertState | None:
        return await self._doc("alerts", "line_id", line_id, AlertState)  # type: ignore[no-any-return]

    async def save_alert_state(self, line_id: str, state: AlertState) -> None:
        await self._write(
            "INSERT INTO alerts (line_id, doc) VALUES (%s, %s) ON CONFLICT (line_id) DO UPDATE SET doc = excluded.doc",
            (line_id, Jsonb(to_doc(state))),
        )

    # -- the poll schedule: claims are FOR UPDATE SKIP LOCKED with an owner and a lease ----
    async def due(self, line_id: str) -> datetime | None:
        return await self._one("SELECT due_at FROM schedule WHERE line_id = %s", (line_id,))  # type: ignore[no-any-return]

    async def set_due(self, line_id: str, at: datetime | None) -> None:
        if at is None:
            await self._write("DELETE FROM schedule WHERE line_id = %s", (line_id,))
            return
        await self._write(
            "INSERT INTO schedule (line_id, due_at) VALUES (%s, %s) ON CONFLICT (line_id) DO UPDATE "
            "SET due_at = excluded.due_at, owner = NULL, lease_until = NULL",
            (line_id, at),
        )

    async def next_due(self) -> datetime | None:
        return await self._one("SELECT min(ready) FROM schedule")  # type: ignore[no-any-return]

    async def claim_due_lines(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[str]:
        rows = await self._write(CLAIM_DUE, (now, limit, owner, now + lease))
        return [line_id for _ready, line_id in sorted(rows)]

    # -- the outbox -----------------------------------------------------------------------
    async def outbox_pending(self) -> list[OutboxItem]:
        rows = await self._rows("SELECT doc FROM outbox WHERE state = 'pending' ORDER BY not_before, created_at, id")
        return [from_doc(OutboxItem, doc) for (doc,) in rows]

    async def save_outbox(self, item: OutboxItem) -> None:
        """One statement: a finished item takes the next finishing number and the item that
        number puts ``2 * KEEP_FINISHED`` behind is forgotten (no count of the finished ones)."""
        finished = item.state != "pending"
        args = (item.id, str(item.state), item.not_before, item.created_at, item.household_id, item.line_id, finished)
        if finished:
            await self._write(PRUNE_AFTER % SAVE_OUTBOX, (*args, Jsonb(to_doc(item)), item.id))
        else:
            await self._write(SAVE_OUTBOX, (*args, Jsonb(to_doc(item))))
        self.wrote = True  # the upsert always writes; a prune's count of deleted rows says nothing of it

    async def outbox_changes(self, since: int | None) -> tuple[list[OutboxItem], int | None]:
        """The mark is the oldest transaction this read could not see: every row stamped by a
        transaction that commits later is stamped with that one or a newer one."""
        mark = int(await self._one("SELECT pg_snapshot_xmin(pg_current_snapshot())::text"))
        if since is None:
            return await self.outbox_pending(), mark
        rows = await self._rows(OUTBOX_CHANGES, (str(since),))
        return [from_doc(OutboxItem, doc) for (doc,) in rows], mark

    async def claim_outbox(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[OutboxItem]:
        rows = await self._write(CLAIM_OUTBOX, (now, limit, owner, now + lease))
        items = [from_doc(OutboxItem, doc) for (doc,) in rows]
        return sorted(items, key=lambda i: (i.not_before, i.created_at, i.id))

    # -- small state of other parts (providers' order books, the demo's day 0) ------------
    async def get_state(self, namespace: str, key: str) -> Any:
        return await self._one("SELECT value FROM state WHERE key = %s", (f"{namespace}/{key}",))

    async def put_state(self, namespace: str, key: str, value: Any) -> None:
        await self.put_raw_state(f"{namespace}/{key}", value)

    # -- whole documents, as the embedded backend keeps them (``python -m bot migrate``) ---
    async def put_raw_state(self, key: str, value: Any) -> None:
        if value is None:
            await self._write("DELETE FROM state WHERE key = %s", (key,))
            return
        await self._write(
            "INSERT INTO state (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, Jsonb(value)),
        )

    async def is_empty(self) -> bool:
        """No household, line, alert or state yet: a database ``migrate`` may copy into."""
        return not await self._one(
            "SELECT EXISTS (SELECT 1 FROM households) OR EXISTS (SELECT 1 FROM lines) "
            "OR EXISTS (SELECT 1 FROM outbox) OR EXISTS (SELECT 1 FROM state)"
        )

    async def put_raw(self, table: str, key: str, doc: dict[str, Any]) -> None:
        """A document of the embedded layout whose table has no record type (samples, link failures)."""
        column, field = {"samples": ("line_id", "doc"), "failures": ("user_id", "at")}[table]
        target = {"samples": "samples", "failures": "link_failures"}[table]
        value = doc if table == "samples" else doc.get("at", [])
        await self._write(f"INSERT INTO {target} ({column}, {field}) VALUES (%s, %s)", (key, Jsonb(value)))
