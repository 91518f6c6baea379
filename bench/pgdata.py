"""Data sets of N lines straight into a PostgreSQL database (issue 29): one ``INSERT … SELECT
generate_series`` per table, the documents built once with the store's own codec and varied
per row by the server, so a million lines take seconds, not a million units of work.

The shape is ``bench.data``'s: every line with its household (two lines each), a month of
packed samples, an alert state that has announced every threshold, and its next check due
tomorrow or later (nothing is polled while a benchmark runs). ``MEASURED_CHAT`` is a private
chat of three demo lines, the one the timed commands talk in.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from bench.common import T0
from bench.data import DEMO_ICCIDS, QUIET, templates
from bot.records import AlertState, Household, Line, to_doc
from bot.store import samples
from bot.store.interface import MAX_SAMPLES
from providers.base import GB

MEASURED_CHAT = 999_999_999  # a Telegram private chat id (the user's id), outside the generated ones
_ID = "lpad(to_hex(i), 8, '0')"  # bench.data.line_id in SQL
_HOUSEHOLD = "'telegram:' || (1000000000 + i / 2)"  # ids of one length: inserted in key order


def _templates() -> dict[str, Jsonb]:
    household, line, last = templates("demo")
    step = timedelta(days=30) / MAX_SAMPLES
    ring = samples.pack([(T0 - step * j, 6 * GB + j * 50_000_000) for j in range(MAX_SAMPLES - 1, -1, -1)])
    alert = AlertState(cycle_started=T0 - timedelta(days=3), announced=QUIET, last_as_of=T0 - timedelta(hours=1))
    return {
        "household": Jsonb(household),
        "line": Jsonb(line),
        "ring": Jsonb({**ring, "last": last}),
        "alert": Jsonb(to_doc(alert)),
    }


def _statements(n: int) -> list[tuple[str, tuple[object, ...]]]:
    """The inserts, the biggest (lines) in two halves, as (SQL, arguments)."""
    docs, later = _templates(), datetime.now(UTC) + timedelta(days=1)
    lines = (
        f"INSERT INTO lines (id, household_id, ref, created_at, label, doc) SELECT {_ID}, {_HOUSEHOLD}, "
        f"'8947' || lpad(i::text, 15, '0'), %s, 'line ' || (i %% 2), %s::jsonb || jsonb_build_object('id', {_ID}, "
        f"'household_id', {_HOUSEHOLD}, 'owner', {_HOUSEHOLD}, 'label', 'line ' || (i %% 2), "
        "'ref', '8947' || lpad(i::text, 15, '0')) FROM generate_series(%s::int, %s::int) i"
    )
    return [
        (lines, (T0, docs["line"], 0, n // 2 - 1)),
        (lines, (T0, docs["line"], n // 2, n - 1)),
        (
            "INSERT INTO households (id, doc) SELECT 'telegram:' || h, %s::jsonb || jsonb_build_object('id', 'telegram:' || h) "
            "FROM generate_series(1000000000, 1000000000 + %s::int) h",
            (docs["household"], (n - 1) // 2),
        ),
        (f"INSERT INTO samples (line_id, doc) SELECT {_ID}, %s FROM generate_series(0, %s::int) i", (docs["ring"], n - 1)),
        (f"INSERT INTO alerts (line_id, doc) SELECT {_ID}, %s FROM generate_series(0, %s::int) i", (docs["alert"], n - 1)),
        (
            f"INSERT INTO schedule (line_id, due_at) SELECT {_ID}, %s + i * interval '10 ms' FROM generate_series(0, %s::int) i",
            (later, n - 1),
        ),
    ]


def _run(url: str, statements: list[tuple[str, tuple[object, ...]]]) -> None:
    with psycopg.connect(url) as conn:
        for sql, args in statements:
            conn.execute(sql.encode(), args)


def generate(url: str, n: int) -> float:
    """Put ``n`` lines and the measured chat into the (migrated, empty) database at ``url``
    on two connections at once (this machine's two cores); seconds it took, ``VACUUM`` and
    a checkpoint included."""
    started = time.perf_counter()
    first, second, *rest = _statements(n)
    with ThreadPoolExecutor(2) as pool:  # the server works, the threads wait: one a connection
        done = [pool.submit(_run, url, [first, *rest[::2]]), pool.submit(_run, url, [second, *rest[1::2]])]
        for future in done:
            future.result()
    with psycopg.connect(url) as conn:
        _measured(conn)
    with psycopg.connect(url, autocommit=True) as conn:  # at rest, as a database that grew over months
        conn.execute("VACUUM ANALYZE")  # else autovacuum does it while the worker is timed
        conn.execute("CHECKPOINT")
    return time.perf_counter() - started


def _measured(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    hid = f"telegram:{MEASURED_CHAT}"
    conn.execute("INSERT INTO households (id, doc) VALUES (%s, %s)", (hid, Jsonb(to_doc(Household(hid, False, T0)))))
    for k, label in enumerate(("mom", "dad", "kid")):
        line = Line(f"m{k}", hid, label, hid, "Anna", "demo", DEMO_ICCIDS[k], T0 + timedelta(minutes=k))
        conn.execute(
            "INSERT INTO lines (id, household_id, ref, created_at, label, doc) VALUES (%s, %s, %s, %s, %s, %s)",
            (line.id, hid, line.ref, line.created_at, label, Jsonb(to_doc(line))),
        )
