"""The result table for the terminal and docs/benchmarks.md (machine, versions, date,
min/median/max of the repeated runs, ratio to the same-run baseline, goals)."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench import interpret
from bench.common import Config, Results, Row, fmt

LIBRARIES = ("tinydb", "babel", "httpx", "aiohttp", "python-telegram-bot", "sniffio")
HEADER = ("benchmark", "min", "median", "max", "unit", "baseline (median)", "ratio", "goal")


def _cells(row: Row) -> tuple[str, ...]:
    base = sorted(row.baseline)[len(row.baseline) // 2] if row.baseline else 0.0
    goal = row.goal + (" — met" if row.met else " — MISSED" if row.met is False else "")
    return (
        row.name,
        fmt(min(row.values)),
        fmt(row.median),
        fmt(max(row.values)),
        row.unit,
        f"{fmt(base)} ({row.baseline_name})",
        fmt(row.ratio),
        goal,
    )


def table(results: Results) -> str:
    """Plain text, one block per section."""
    lines, section = [], None
    widths = [max(len(h), *(len(_cells(r)[i]) for r in results.rows)) if results.rows else len(h) for i, h in enumerate(HEADER)]
    for row in results.rows:
        if row.section != section:
            section = row.section
            lines += ["", section, "  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True))]
        lines.append("  ".join(c.ljust(w) for c, w in zip(_cells(row), widths, strict=True)))
    return "\n".join(lines).strip("\n")


def _machine() -> list[str]:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")), cpu)
    mem = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        mem = f", {kb / 1024**2:.0f} GiB RAM"
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [
        f"- Machine: {cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}",
        f"- Python {sys.version.split()[0]} ({platform.python_implementation()}); {', '.join(versions)}",
    ]


def markdown(results: Results, config: Config) -> str:
    facts = results.facts
    load = ", ".join(f"{a:.1f}" for a in facts["load_before"]), ", ".join(f"{a:.1f}" for a in facts["load_after"])
    out = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand: run it again. "
        "`python -m bench --tiny` runs the same code once at a tiny size (tests/test_bench_smoke.py).",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; mode: {facts['mode']}, "
        f"{config.repeats} repeated runs per row (min / median / max below)",
        *_machine(),
        f"- Load average (1, 5, 15 min) before: {load[0]}; after: {load[1]} "
        "(other work on the machine slows both a measurement and its baseline)",
        f"- Run time: {facts['total_seconds']:.0f} s in all ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in results.seconds.items())
        + ")",
        "",
        "Every row is a ratio against a baseline measured in the same run: ratio = median / baseline median.",
        "",
    ]
    section = None
    for row in results.rows:
        if row.section != section:
            section = row.section
            out += ["", f"## {section}", "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        name, *rest = _cells(row)
        name += f" ({row.note})" if row.note else ""
        out.append("| " + " | ".join(c.replace("|", "/") for c in (name, *rest)) + " |")
    out += ["", *interpret.text(results, config), ""]
    return "\n".join(out)
