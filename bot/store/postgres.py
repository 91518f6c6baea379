"""The PostgreSQL backend (``DATABASE_URL=postgresql://…``): one database that several bot
processes can share.

- A unit of work is one PostgreSQL transaction (read committed, PostgreSQL's default) on a
  pooled connection (psycopg 3, async, with psycopg-pool); see ``postgres_tx`` for the SQL.
- Claims are ``SELECT … FOR UPDATE SKIP LOCKED`` that write an owner and a lease, so two
  processes never get the same due line or outbox item while the lease lives.
- The schema is built by the numbered SQL files in ``migrations/``, applied at ``open`` in one
  transaction under an advisory lock (two processes starting at once take turns) and recorded
  in ``schema_version``. A database newer than this code is refused with a clear message.
- A unit opened while its task (or the task that started it) has one open (a provider's own
  state is a unit of its own inside a command's) takes its connection from a second pool: from the shared pool it
  could wait for the very connections the outer units hold, and with as many commands at
  once as there are connections none would ever finish (each waited the pool's timeout).
- A commit that the server cannot make (connection lost, disk full on the server) raises
  ``StoreWriteError``; nothing of the unit is kept, and later units try again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from importlib import resources
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from bot.errors import StoreError, StoreWriteError
from bot.store.postgres_tx import PostgresTx

log = logging.getLogger(__name__)
MIGRATION_LOCK = 0x65_53_49_4D  # "eSIM": the advisory lock taken while the schema changes
LEADER_LOCK = 0x65_53_49_4C  # held by the leading worker for as long as it leads
_in_unit: ContextVar[bool] = ContextVar("in_unit", default=False)  # this task has a unit open


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration shipped with the code, in order."""
    found = []
    for entry in resources.files("bot.store.migrations").iterdir():
        match = re.fullmatch(r"(\d{3})_\w+\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def upgrade(conn: AsyncConnection[Any]) -> int:
    """Bring the schema up to date in one transaction; return its version."""
    shipped = migrations()
    newest = shipped[-1][0]
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        row = await cur.fetchone()
        current = int(row[0]) if row else 0
        if current > newest:
            raise StoreError(
                f"the database is at schema version {current}, newer than this bot knows ({newest}); "
                "run the newer version of the bot, or restore a backup made for this one"
            )
        for version, name, sql in shipped:
            if version > current:
                await conn.execute(sql.encode())  # several statements: sent as one simple query
                await conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)", (version, name))
                log.info("database schema upgraded to version %d (%s)", version, name)
    return max(current, newest)


class PostgresStore:
    """The ``Store`` on PostgreSQL; see ``bot.store.interface`` for the contract."""

    def __init__(self, url: str, *, max_connections: int = 10, timeout: float = 30.0, inner_lock_timeout: float = 10.0) -> None:
        """``max_connections`` for the units, as many again (opened on demand) for the units
        opened inside them; ``timeout``: seconds a unit waits for a connection (and ``open`` for the
        first one).

        An inner unit waits at most ``inner_lock_timeout`` seconds for a row lock, then fails
        with ``StoreWriteError``: a row its own outer unit holds would otherwise be waited for
        forever, and PostgreSQL cannot see that wait as a deadlock (two connections, one task)."""
        self._url = url
        self._timeout = timeout
        utc = "-c TimeZone=UTC"
        inner = f"{utc} -c lock_timeout={max(1, round(inner_lock_timeout * 1000))}ms"
        self._pool = AsyncConnectionPool(
            url, min_size=1, max_size=max_connections, timeout=timeout, open=False, kwargs={"options": utc}
        )
        self._inner = AsyncConnectionPool(
            url, min_size=0, max_size=max_connections, timeout=timeout, open=False, kwargs={"options": inner}
        )
        self.version = 0
        self.commits = 0
        self.write_failures = 0
        self._failing = False

    async def open(self) -> None:
        try:
            await self._pool.open(wait=True, timeout=self._timeout)
            await self._inner.open()
            async with self._pool.connection() as conn:
                self.version = await upgrade(conn)
        except (psycopg.Error, TimeoutError) as exc:
            await self.close()
            raise StoreError(
                f"cannot use the database in DATABASE_URL ({type(exc).__name__}: "
                f"{_first_line(exc)}); check that the server runs and the URL is right"
            ) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTx]:
        pool = self._inner if _in_unit.get() else self._pool
        try:
            async with pool.connection() as conn, conn.transaction():
                tx, outer = PostgresTx(conn), _in_unit.set(True)
                try:
                    yield tx
                finally:
                    tx.closed = True
                    _in_unit.reset(outer)
        except psycopg.OperationalError as exc:
            self.write_failures += 1
            if not self._failing:
                log.error("could not use the database (%s); the bot keeps answering and tries again", _first_line(exc))
            self._failing = True
            raise StoreWriteError(f"could not save: {_first_line(exc)}") from exc
        if self._failing:
            log.warning("the database works again")
            self._failing = False
        if tx.wrote:
            self.commits += 1
        for callback in tx.callbacks:
            callback()

    def health(self) -> dict[str, Any]:
        stats = self._pool.get_stats()
        return {
            "ok": not self._failing,
            "backend": "postgresql",
            "schema": self.version,
            "commits": self.commits,
            "write_failures": self.write_failures,
            "connections": stats.get("pool_size", 0),
        }

    async def close(self) -> None:
        await self._inner.close()
        await self._pool.close()


def _first_line(exc: BaseException) -> str:
    """The error's first line: PostgreSQL's messages never carry the password, the URL may."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class AdvisoryLeader:
    """Leadership among the workers of one database: a PostgreSQL advisory lock held on a
    connection of its own (``bot.runtime.Leader``).

    The lock lives as long as that connection: a leader killed with SIGKILL loses it as soon
    as the server sees the connection close, and a waiting worker takes it on its next try
    (every ``retry`` seconds). A leader checks its connection every ``retry`` seconds too;
    when it breaks, ``lost`` returns and the worker stops rather than risk two leaders.
    """

    def __init__(self, url: str, *, key: int = LEADER_LOCK, retry: float = 1.0) -> None:
        self._url, self._key, self._retry = url, key, retry
        self._conn: AsyncConnection[Any] | None = None
        self.held = False

    async def campaign(self) -> None:
        failing = False
        while True:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await AsyncConnection.connect(self._url, autocommit=True)
                cur = await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,))
                row = await cur.fetchone()
                if row and row[0]:
                    self.held = True
                    return
                failing = False
            except psycopg.Error as exc:
                if not failing:  # once per outage, not once a second
                    log.warning("could not ask the database who leads (%s); trying again", _first_line(exc))
                failing, self._conn = True, None
            await asyncio.sleep(self._retry)

    async def lost(self) -> None:
        while self._conn is not None:
            await asyncio.sleep(self._retry)
            try:
                await self._conn.execute("SELECT 1")
            except psycopg.Error:
                break
        self.held = False

    async def release(self) -> None:
        if self._conn is not None:
            await self._conn.close()  # the lock goes with the session
        self.held = False
