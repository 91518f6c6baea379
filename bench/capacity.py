"""What capacity depends on (issue 29; read by ``docs/benchmarks-workers.md``): one PostgreSQL
worker answering webhook ``/balance`` updates, 8 in flight, on the small data set of section
11. Measured: CPU seconds per update in the worker (``/proc/<pid>/stat``) and in the
PostgreSQL backends serving its connections (background writers not counted), transactions
per update (``pg_stat_database``), statements per update (the server's statement log, in a
second run: logging costs time) and the worker's connections (``pg_stat_activity``).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.botapi import BotApi
from bench.probe import cpu_seconds, first_answer, post
from bench.workers import Worker, stop_workers

IN_FLIGHT = 8
_ACTIVITY = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
_XACTS = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"


@dataclass
class Capacity:
    worker_cpu: float  # seconds per update
    postgres_cpu: float
    transactions: float  # per update
    statements: float  # per update (0: the statement log could not be read)
    connections: int
    rate: float  # updates a second measured (one worker, this machine)


def _pids(url: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [int(pid) for (pid,) in conn.execute(_ACTIVITY).fetchall()]


def _backends_cpu(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in pids if Path(f"/proc/{pid}").exists()}


def _transactions(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(_XACTS).fetchone()
        return int(row[0]) if row else 0


async def _burst(http: httpx.AsyncClient, worker: Worker, count: int) -> float:
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        async with gate:
            if await post(http, worker) != 200:
                raise RuntimeError("a /balance update was not answered")

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return time.perf_counter() - started


async def _cpu_run(url: str, updates: int, api: BotApi, log: Path) -> Capacity:
    async with httpx.AsyncClient(timeout=30) as http:
        worker, _took = await first_answer(http, url, api, log)
        try:
            await _burst(http, worker, updates // 4)  # warm-up: the pool opens its connections
            pids = await asyncio.to_thread(_pids, url)
            xacts = await asyncio.to_thread(_transactions, url)
            own, backends = cpu_seconds(worker.proc.pid), _backends_cpu(pids)
            took = await _burst(http, worker, updates)
            own_after, after = cpu_seconds(worker.proc.pid), _backends_cpu(await asyncio.to_thread(_pids, url))
            xacts = await asyncio.to_thread(_transactions, url) - xacts - 2  # the two reads of the count itself
        finally:
            stop_workers([worker])
    pg = sum(cpu - backends.get(pid, 0.0) for pid, cpu in after.items())
    return Capacity((own_after - own) / updates, pg / updates, xacts / updates, 0.0, len(after), updates / took)


def _log_file(url: str) -> Path | None:
    """The server's log (``tests.postgres_server`` writes it beside the data directory)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    path = Path(str(row[0])).parent / "log" if row else None
    return path if path is not None and os.access(path, os.R_OK) else None


def _statements(log: Path, offset: int) -> int:
    with log.open("rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    return sum(1 for line in text.splitlines() if "LOG:  statement: " in line or "LOG:  execute " in line)


async def _statement_run(url: str, updates: int, api: BotApi, log: Path) -> float:
    server_log = await asyncio.to_thread(_log_file, url)
    if server_log is None:
        return 0.0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT set_config('log_statement', 'all', false)")  # checks the setting exists
        conn.execute(f"ALTER DATABASE \"{conn.info.dbname}\" SET log_statement = 'all'")  # new connections
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            worker, _took = await first_answer(http, url, api, log)
            try:
                await _burst(http, worker, 20)
                offset = server_log.stat().st_size
                await _burst(http, worker, updates)
                await asyncio.sleep(0.2)  # the log is written by the server process
                return _statements(server_log, offset) / updates
            finally:
                stop_workers([worker])
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{conn.info.dbname}" RESET log_statement')


async def measure(url: str, updates: int, api: BotApi, folder: Path) -> Capacity:
    found = await _cpu_run(url, updates, api, folder / "capacity.log")
    found.statements = await _statement_run(url, max(10, updates // 5), api, folder / "capacity-log.log")
    return found
