"""PostgreSQL at scale (issue 29): what runs on a timer reads through an index, whatever the
rows that are not due, and the leader learns what other workers stored from the changed rows
alone, deletions included."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from bot.records import Alert, OutboxItem
from bot.reminders.queue import AlertQueue
from bot.store.postgres import PostgresStore
from bot.store.postgres_tx import CLAIM_DUE, CLAIM_OUTBOX, OUTBOX_CHANGES
from tests.postgres_server import Server

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
ROWS = 5000  # enough that the planner, from ANALYZE's real statistics, prefers an index


def alert(n: int, *, line_id: str = "line1") -> OutboxItem:
    return OutboxItem(
        id=f"item{n}",
        line_id=line_id,
        household_id="console:h1",
        platform="console",
        chat="h1",
        alert=Alert(kind="data", label="mom", provider="demo", threshold=20),
        created_at=T0,
        not_before=T0,
    )


def _plan(conn: psycopg.Connection[tuple[object, ...]], sql: str, args: tuple[object, ...]) -> str:
    return "\n".join(str(row[0]) for row in conn.execute(f"EXPLAIN {sql}", args).fetchall())


@pytest.mark.parametrize(
    ("query", "index"),
    [(CLAIM_DUE, "schedule_ready"), (CLAIM_OUTBOX, "outbox_ready"), (OUTBOX_CHANGES, "outbox_changed")],
    ids=["due lines", "due alerts", "changed alerts"],
)
async def test_the_timed_queries_use_their_index_on_a_table_of_thousands(postgres: Server, query: str, index: str) -> None:
    url = postgres.database()
    store = PostgresStore(url, max_connections=1)
    await store.open()
    await store.close()
    later = T0 + timedelta(days=1)
    with psycopg.connect(url, autocommit=True) as conn:
        # thousands of lines due tomorrow, thousands of alerts sent or due tomorrow: a few due now
        conn.execute(
            "INSERT INTO schedule (line_id, due_at) SELECT 'l' || i, %s + i * interval '1 second' FROM generate_series(1, %s) i",
            (later, ROWS),
        )
        conn.execute(
            "INSERT INTO outbox (id, state, not_before, created_at, household_id, line_id, doc) "
            "SELECT 'o' || i, CASE WHEN i %% 10 = 0 THEN 'pending' ELSE 'sent' END, %s + i * interval '1 second', %s, "
            "'console:h' || i, 'l' || i, '{}' FROM generate_series(1, %s) i",
            (later, T0, ROWS),
        )
        conn.execute("ANALYZE schedule")
        conn.execute("ANALYZE outbox")
        row = conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").fetchone()
        assert row is not None
        args = (str(row[0]),) if query is OUTBOX_CHANGES else (T0 + timedelta(hours=1), 50, "me", later)
        plan = _plan(conn, query, args)
    assert index in plan and "Seq Scan" not in plan, plan


async def test_the_leader_reads_only_what_changed_since_its_last_read(postgres: Server) -> None:
    url = postgres.database()
    leader, follower = PostgresStore(url, max_connections=2), PostgresStore(url, max_connections=2)
    await leader.open()
    await follower.open()
    async with follower.transaction() as tx:
        for n in range(50):
            await tx.save_outbox(alert(n, line_id=f"line{n}"))
    queue = AlertQueue(leader)
    await queue.load()
    assert queue.backlog == 50
    async with follower.transaction() as tx:  # a follower stores a new alert and sends none
        await tx.save_outbox(alert(99, line_id="line99"))
        await tx.save_outbox(replace(alert(7, line_id="line7"), state="sent"))
    async with leader.transaction() as tx:
        before, _mark = await tx.outbox_changes(None)
    await queue.reload()
    assert queue.backlog == 50 and "item99" in {i.id for i in queue.waiting()} and len(before) == 50
    async with follower.transaction() as tx:  # a removed line: its waiting alert goes everywhere
        await tx.delete_line("line99")
        assert all(i.id != "item99" for i in await tx.outbox_pending())
    await queue.reload()
    assert queue.backlog == 49 and "item99" not in {i.id for i in queue.waiting()}
    async with leader.transaction() as tx:  # nothing changed since: nothing is read
        changed, _mark = await tx.outbox_changes(queue._mark)
    assert changed == []
    await leader.close()
    await follower.close()
