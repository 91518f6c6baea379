"""The goals and the interpretation under the table, written from this run's numbers.

Sentences that need a number this run did not produce (``--only``, ``--tiny``) are left out.
"""

from __future__ import annotations

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


def text(results: Results, config: Config) -> list[str]:
    out = _goals(results)
    storage = _storage(results)
    if storage:
        out += ["", *storage]
    if config.tiny:
        out += ["", "(tiny run: sizes too small for the goals to mean anything)"]
    return out
