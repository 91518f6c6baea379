"""``python -m bench [--tiny] [--only N,...] [--out FILE]``: run the benchmarks, print the
table and write docs/benchmarks.md (``--tiny``: everything once at a tiny size, for the
smoke test; its table goes to ``--out`` only)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bench import charts, commands, fanout, home, postgres, process, report, scale, storage, sweep, workers
from bench.common import FULL, TINY, Config, Results

ROOT = Path(__file__).resolve().parent.parent
Section = Callable[[Config, Path, Results], Coroutine[Any, Any, None]]
SECTIONS: dict[str, tuple[str, Section]] = {
    "1": ("command overhead", commands.run),
    "2": ("storage", storage.run),
    "3": ("reminder sweep", sweep.run),
    "4": ("alert fan-out", fanout.run),
    "5": ("memory", process.run_memory),
    "6": ("start-up", process.run_startup),
    "7": ("postgresql", postgres.run),
    "8": ("several workers", workers.run),
    "9": ("usage charts", charts.run),
    "10": ("home screen", home.run),
    "11": ("workers at scale", scale.run),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="every benchmark once at a tiny size (seconds)")
    parser.add_argument("--only", default="", help="comma-separated section numbers, e.g. 1,2")
    parser.add_argument("--out", help="where the markdown goes (default docs/benchmarks.md; --tiny: nowhere)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    config = TINY if args.tiny else FULL
    wanted = [s.strip() for s in args.only.split(",") if s.strip()] or list(SECTIONS)
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    logging.basicConfig(level=logging.ERROR)  # the bot's own warnings (429s, retries) are counted, not printed
    results = Results()
    results.facts["load_before"] = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="esim-bench-") as tmp:
        for key in wanted:
            title, section = SECTIONS[key]
            print(f"[{key}] {title} ...", file=sys.stderr, flush=True)
            t = time.perf_counter()
            asyncio.run(section(config, Path(tmp), results))
            results.seconds[f"{key}. {title}"] = time.perf_counter() - t
    results.facts["load_after"] = os.getloadavg()
    results.facts["total_seconds"] = time.perf_counter() - started
    results.facts["mode"] = "tiny" if config.tiny else "full"
    results.facts["sections"] = wanted
    print(report.table(results))
    out = args.out or (None if config.tiny else str(ROOT / "docs" / "benchmarks.md"))
    if out is not None:
        Path(out).write_text(report.markdown(results, config), encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
