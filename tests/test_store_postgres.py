"""What only the PostgreSQL backend has (issue 16): migrations, claims shared by two stores
at once, a lost connection, and ``python -m bot migrate`` from a real data folder.
(The common contract runs on it in ``test_store_contract.py``.)"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from bot.app import ProviderState
from bot.errors import StoreError, StoreWriteError
from bot.records import Pending, PendingKind, PendingState
from bot.store.postgres import PostgresStore, migrations
from providers.manual import ManualProvider
from tests.conftest import DEMO, START, ConsoleProcess, clean_env, run_bot
from tests.postgres_server import Server

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


async def opened(url: str) -> PostgresStore:
    store = PostgresStore(url, max_connections=4)
    await store.open()
    return store


async def test_the_schema_is_built_once_and_recorded(postgres: Server) -> None:
    url = postgres.database()
    first, second = await asyncio.gather(opened(url), opened(url))  # two workers starting at once
    with psycopg.connect(url) as conn:
        versions = conn.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()
    assert versions == [(v, name) for v, name, _sql in migrations()]
    assert first.health()["schema"] == second.health()["schema"] == migrations()[-1][0]
    await first.close()
    await second.close()


async def test_a_database_newer_than_the_code_is_refused(postgres: Server) -> None:
    url = postgres.database()
    await (await opened(url)).close()
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO schema_version (version, name) VALUES (999, '999_future.sql')")
    store = PostgresStore(url)
    with pytest.raises(StoreError, match="schema version 999, newer than this bot"):
        await store.open()


async def test_an_unreachable_server_is_one_clear_error() -> None:
    store = PostgresStore("postgresql://bot:secret-password@127.0.0.1:9/none", timeout=1.0)
    with pytest.raises(StoreError) as caught:
        await asyncio.wait_for(store.open(), 60)
    assert "DATABASE_URL" in str(caught.value) and "secret-password" not in str(caught.value)


async def test_two_stores_claim_disjoint_lines_at_the_same_moment(postgres: Server) -> None:
    url = postgres.database()
    a, b = await opened(url), await opened(url)
    async with a.transaction() as tx:
        for n in range(40):
            await tx.set_due(f"line{n:02d}", T0)

    async def claim(store: PostgresStore, owner: str) -> list[str]:
        got: list[str] = []
        for _ in range(10):
            async with store.transaction() as tx:
                got += await tx.claim_due_lines(owner, T0, timedelta(minutes=5), 3)
            await asyncio.sleep(0)
        return got

    got_a, got_b = await asyncio.gather(claim(a, "a"), claim(b, "b"))
    assert not set(got_a) & set(got_b)
    assert sorted(got_a + got_b) == [f"line{n:02d}" for n in range(40)]
    await a.close()
    await b.close()


async def test_a_lost_connection_refuses_the_unit_whole_and_the_next_one_works(postgres: Server) -> None:
    url = postgres.database()
    store = await opened(url)
    with pytest.raises(StoreWriteError):
        async with store.transaction() as tx:
            await tx.set_user_language("u1", "zh")
            with psycopg.connect(url, autocommit=True) as admin:  # the server drops every other session
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
    assert store.health()["ok"] is False
    async with store.transaction() as tx:
        assert await tx.user_language("u1") is None  # nothing of the lost unit was kept
        await tx.set_user_language("u1", "nb")
    assert store.health()["ok"] is True
    await store.close()


async def test_as_many_commands_as_connections_each_using_a_providers_own_unit_all_finish(postgres: Server) -> None:
    """A command's unit holds a connection while the provider's own state (manual lines, order
    books, the demo's day 0) is read and written in units of their own. With every connection
    held by a command, those inner units still get one (before: each waited out the pool's
    timeout and the commands failed, which stalled a worker for 30 s under a burst)."""
    store = PostgresStore(postgres.database(), max_connections=4, timeout=10)
    await store.open()
    manual = ManualProvider(ProviderState(store), now=lambda: T0)
    refs = [
        await manual.track(operator="telenor", total_bytes=10**10, expires_at=T0 + timedelta(days=30), now=T0) for _ in range(4)
    ]
    every_connection_held = asyncio.Barrier(len(refs))

    async def command(n: int, ref: str) -> int | None:
        async with store.transaction() as tx:  # the router's unit
            await tx.set_user_language(f"u{n}", "en")
            await every_connection_held.wait()
            await manual.set_remaining(ref, 10**8, T0)
            return (await manual.balance(ref)).data_remaining_bytes

    assert await asyncio.gather(*(command(n, ref) for n, ref in enumerate(refs))) == [10**8] * len(refs)
    async with store.transaction() as tx:
        assert [await tx.user_language(f"u{n}") for n in range(len(refs))] == ["en"] * len(refs)
    await store.close()


async def test_an_inner_unit_waiting_for_a_row_its_outer_unit_holds_fails_instead_of_hanging(postgres: Server) -> None:
    """Two connections in one task: PostgreSQL sees no deadlock, so only the inner pool's
    lock_timeout ends the wait; the outer unit then fails too, and nothing of it is kept."""
    store = PostgresStore(postgres.database(), max_connections=2, inner_lock_timeout=0.2)
    await store.open()
    with pytest.raises(StoreWriteError, match="lock timeout"):
        async with store.transaction() as outer:
            await outer.put_state("test", "row", 1)
            async with store.transaction() as inner:
                await inner.put_state("test", "row", 2)
    async with store.transaction() as tx:
        assert await tx.get_state("test", "row") is None
        await tx.put_state("test", "row", 3)  # the store works on
    async with store.transaction() as tx:
        assert await tx.get_state("test", "row") == 3
    await store.close()


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_migrate_copies_a_real_data_folder_once_and_leaves_it_as_it_was(postgres: Server, tmp_path: Path) -> None:
    db = tmp_path / "data" / "bot.json"
    db.parent.mkdir()
    console = ConsoleProcess(db, start=START)
    console.text(f"/link {DEMO['DEMO12']} DEMO12 mom", lang="nb")
    console.text("/remind quiet 23:00-07:00")
    console.text(f"/link {DEMO['DEMO20']} DEMO20 dad")
    console.advance("PT12H")
    console.close()
    before = _digest(db.parent)
    url = postgres.database()

    done = run_bot(["migrate", "--db", str(db), "--to", url], env=clean_env())
    assert done.returncode == 0, done.stderr
    assert "lines: 2" in done.stdout and "households: 1" in done.stdout, done.stdout
    assert _digest(db.parent) == before

    again = run_bot(["migrate", "--db", str(db), "--to", url], env=clean_env())
    assert again.returncode == 1 and "already holds the bot's data" in again.stderr
    assert _digest(db.parent) == before

    # the bot on PostgreSQL reads what the file had: the same lines, language and settings
    env = clean_env(DATABASE_URL=url)
    pg_console = ConsoleProcess(tmp_path / "unused.json", start=START, env=env)
    lines = pg_console.text("/lines")
    assert "mom" in lines and "dad" in lines and "linjer" in lines, lines
    assert "23.00–07.00" in pg_console.text("/remind")
    pg_console.close()


async def test_two_workers_confirming_one_top_up_take_turns(postgres: Server) -> None:
    """The money guard across processes: the second reader of a confirmation waits for the
    first unit to end and then sees what it did, so only one of them may order."""
    url = postgres.database()
    a, b = await opened(url), await opened(url)
    pending = Pending(
        token="tok", kind=PendingKind.TOPUP, household_id="telegram:1", line_id="line1", actor="telegram:1", created_at=T0
    )
    async with a.transaction() as tx:
        await tx.save_pending(pending)
    first_read, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with a.transaction() as tx:
            current = await tx.pending("tok", for_update=True)
            assert current is not None and current.state == PendingState.OPEN
            first_read.set()
            await release.wait()
            await tx.save_pending(replace(current, state=PendingState.PLACING))

    async def second() -> PendingState | None:
        await first_read.wait()
        async with b.transaction() as tx:
            current = await tx.pending("tok", for_update=True)
            return None if current is None else current.state

    one, two = asyncio.ensure_future(first()), asyncio.ensure_future(second())
    with psycopg.connect(url, autocommit=True) as watch:  # wait until the second one waits on the lock
        for _ in range(2000):
            waiting = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()
            if waiting and waiting[0]:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the second confirmation never waited for the first")
    release.set()
    await one
    assert await two == PendingState.PLACING
    await a.close()
    await b.close()
