"""7. PostgreSQL: the same unit of work as section 2 (change one line, durable) and the same
read, on the PostgreSQL backend, beside the TinyDB backend and sqlite3 (WAL, synchronous=FULL)
on the same data set, measured interleaved so all three see the same machine.

The server is a real PostgreSQL started for the run on 127.0.0.1 (``tests/postgres_server``,
with fsync on, as a deployment would run it); the data arrives through ``python -m bot
migrate``'s own copy, whose time is reported too.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from bench.common import Config, Results, Row, ms, percentile
from bench.data import copy_dataset, dataset, line_id
from bench.storage import SqliteStore, _line, _unit_write
from bot.store import TinyDBStore
from bot.store.copy import copy_to_postgres
from bot.store.postgres import PostgresStore
from tests import postgres_server

SECTION = "7. postgresql"
READS = 500


async def _timed_reads(store: TinyDBStore | PostgresStore, keys: list[str]) -> float:
    started = time.perf_counter()
    for key in keys:
        async with store.transaction() as tx:
            await tx.line(key)
    return (time.perf_counter() - started) / len(keys)


async def _at(size: int, config: Config, folder: Path, server: postgres_server.Server, results: Results) -> None:
    source = dataset(folder, size)
    url = server.database()
    started = time.perf_counter()
    await copy_to_postgres(str(copy_dataset(source, folder / f"pg-src-{size}" / "bot.json")), url)
    copy_seconds = time.perf_counter() - started
    pg = PostgresStore(url, max_connections=2)
    await pg.open()
    tiny = TinyDBStore(copy_dataset(source, folder / f"pg-tiny-{size}" / "bot.json"))
    sql = SqliteStore(folder / f"pg-tiny-{size}" / "sqlite.db", tiny)
    runs: dict[str, list[float]] = {k: [] for k in ("pg", "tiny", "sql", "pg_read", "tiny_read", "sql_read")}
    try:
        for run in range(config.repeats):
            took: dict[str, list[float]] = {"pg": [], "tiny": [], "sql": []}
            for k in range(config.storage_ops):
                key = line_id((k * 7919 + run * 104729) % size)
                line = replace(await _line(tiny, key), label=f"renamed {run}.{k}")
                took["pg"].append(await _unit_write(pg, line))  # type: ignore[arg-type]
                took["tiny"].append(await _unit_write(tiny, line))
                started = time.perf_counter()
                sql.save_line(line)
                took["sql"].append(time.perf_counter() - started)
            for name, values in took.items():
                runs[name].append(ms(percentile(values, 50)))
            keys = [line_id((k * 7919) % size) for k in range(READS if not config.tiny else 20)]
            runs["pg_read"].append(await _timed_reads(pg, keys) * 1e6)
            runs["tiny_read"].append(await _timed_reads(tiny, keys) * 1e6)
            started = time.perf_counter()
            for key in keys:
                sql.line(key)
            runs["sql_read"].append((time.perf_counter() - started) / len(keys) * 1e6)
    finally:
        await pg.close()
        await tiny.close()
        sql.db.close()
    results.add(
        Row(
            SECTION,
            f"PostgreSQL: unit of work changing one line at {size:,} lines",
            "ms",
            runs["pg"],
            "sqlite3 WAL FULL",
            runs["sql"],
            note="a server round trip per statement, fsync on commit",
        )
    )
    results.add(
        Row(
            SECTION,
            f"PostgreSQL against TinyDB: one-line unit at {size:,} lines",
            "ms",
            runs["pg"],
            "TinyDB backend",
            runs["tiny"],
        )
    )
    results.add(
        Row(
            SECTION,
            f"PostgreSQL: read (line by id, one unit) at {size:,} lines",
            "µs",
            runs["pg_read"],
            "sqlite3 WAL",
            runs["sql_read"],
        )
    )
    results.add(
        Row(
            SECTION,
            f"PostgreSQL against TinyDB: read at {size:,} lines",
            "µs",
            runs["pg_read"],
            "TinyDB backend",
            runs["tiny_read"],
        )
    )
    results.add(
        Row(
            SECTION,
            f"python -m bot migrate: copy {size:,} lines into PostgreSQL",
            "s",
            [copy_seconds],
            "none (one run)",
            [copy_seconds],
        )
    )


async def run(config: Config, folder: Path, results: Results) -> None:
    with postgres_server.server(fsync=True) as server:
        for size in config.postgres_sizes:
            await _at(size, config, folder, server, results)
