"""The goals and the interpretation under the table, written from this run's numbers.

Sentences that need a number this run did not produce (``--only``, ``--tiny``) are left out.
"""

from __future__ import annotations

import math
import os

from bench.common import Config, Results, Row, fmt


def _row(results: Results, start: str) -> Row | None:
    return next((r for r in results.rows if r.name.startswith(start)), None)


def _goals(results: Results) -> list[str]:
    out = ["## Goals", ""]
    for row in results.rows:
        if row.met is None:
            continue
        verdict = "met" if row.met else "**missed**"
        out.append(
            f"- {row.name}: {fmt(row.median)} {row.unit} against {fmt(sorted(row.baseline)[len(row.baseline) // 2])}"
            f" ({row.baseline_name}), ratio {fmt(row.ratio)}; goal {row.goal}: {verdict}"
        )
    return out


def _storage(results: Results) -> list[str]:
    out = ["## What the storage rows say", ""]
    writes = [r for r in results.rows if r.name.startswith("unit of work changing one line")]
    if writes:
        out.append(
            "A unit of work appends one checked record to the journal with one `write` and one `fsync`, then "
            "applies it to the TinyDB tables in memory, so its cost is the disk's flush, not the data's size: "
            + "; ".join(
                f"{r.name.rsplit(' at ', 1)[1]}: {fmt(r.median)} ms against sqlite3's {fmt(r.baseline[0])} ms" for r in writes
            )
            + "."
        )
    exponent = _row(results, "growth exponent of a write")
    if exponent is not None:
        out.append(
            f"The write's growth exponent is {fmt(exponent.median)} (version 1: 0.92, a whole shard file rewritten per commit)."
        )
    compaction = _row(results, "write command p99 while a compaction")
    if compaction is not None:
        out.append(
            "A compaction freezes the tables (copy on write) and encodes the snapshot 25 documents at a "
            "time between commands, and fsyncs it in a thread; the p99 of write commands meanwhile was "
            f"{fmt(compaction.median)} ms against {fmt(compaction.baseline[0])} ms without ({compaction.note})."
        )
    memory = _row(results, "bytes per line in memory at 100,000")
    if memory is not None and not memory.met:
        out.append(
            f"Memory is {fmt(memory.median)} B a line at 100 000 lines: every document is a Python dict "
            "in TinyDB's tables (a line, its household share, alert state, schedule entry and last balance, "
            "about 25 fields in all); the samples are one packed string. Meeting 2 KB would need the "
            "documents kept encoded (or in a database server); not done."
        )
    start = _row(results, "process start to first console reply (100,000")
    if start is not None and not start.met:
        out.append(
            f"Start-up at 100 000 lines is {fmt(start.median)} s against {fmt(start.baseline[0])} s "
            "empty: reading and checking the snapshot (JSON of every document, each decoded into its "
            "record type once to refuse damage) is proportional to the data."
        )
    return out if len(out) > 2 else []


def _capacity(results: Results) -> list[str]:
    """N workers on M cores, from this run's CPU per update (``bench.capacity``)."""
    cap = results.facts.get("capacity")
    if cap is None or cap.worker_cpu <= 0:
        return []
    worker, pg = cap.worker_cpu, cap.postgres_cpu
    out = [
        "## Capacity: N workers on M cores",
        "",
        f"Measured above on one worker (`/balance` by webhook, 8 in flight): {fmt(worker * 1000)} ms of CPU in "
        f"the worker and {fmt(pg * 1000)} ms in the PostgreSQL backends serving it per update, "
        f"{fmt(cap.statements)} statements in {fmt(cap.transactions)} transactions, {cap.connections} connections "
        f"(the pool opens up to 10, plus one for the leader's lock). One worker is one Python thread: it serves at "
        f"most {fmt(1 / worker)} updates a second whatever the cores; the worker and PostgreSQL together need "
        f"{fmt((worker + pg) * 1000)} ms of CPU an update, {fmt(1 / (worker + pg))} updates a second per core "
        f"(measured here with both on this machine's {os.cpu_count()} cores and other work: {fmt(cap.rate)} a second).",
        "",
        "| cores (M) | workers (N) | updates/s, CPU-bound | PostgreSQL connections |",
        "|---|---|---|---|",
    ]
    for cores in (2, 4, 8, 16):
        workers = max(1, math.ceil(cores * worker / (worker + pg)))  # enough workers to use the cores
        rate = min(workers / worker, cores / (worker + pg))
        out.append(f"| {cores} | {workers} | {fmt(rate)} | {workers * cap.connections} |")
    out += [
        "",
        "What limits first: commands scale with the cores until PostgreSQL's share of the CPU (or its "
        "`max_connections`, 100 by default: 100 / connections per worker) is reached; alerts do not scale at "
        "all, by design: only the leader sends, at Telegram's 30 messages a second for the whole bot (the "
        "fan-out row above), and only the leader polls, at the providers' rate limits (eSIM Go: 10 requests a "
        "second, 36 000 line checks an hour). More workers answer more commands; they never send or poll faster.",
    ]
    return out


def text(results: Results, config: Config) -> list[str]:
    out = _goals(results)
    storage = _storage(results)
    if storage:
        out += ["", *storage]
    capacity = _capacity(results)
    if capacity:
        out += ["", *capacity]
    if config.tiny:
        out += ["", "(tiny run: sizes too small for the goals to mean anything)"]
    return out
