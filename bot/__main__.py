"""``python -m bot [run | console | migrate] [--jsonl] [--db PATH] [--start ISO] [--to URL]``"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from datetime import UTC, datetime

from bot import app, logs
from bot.clock import Clock, FakeClock, OffsetClock, SystemClock
from bot.config import Settings
from bot.errors import ConfigError, StoreError


def _args(argv: list[str]) -> argparse.Namespace:
    """``run`` (the default), ``console`` or ``migrate``; each has its own ``--help``."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="eSIM balance & renewal bot")
    _options(parser, None)
    commands = parser.add_subparsers(dest="mode", metavar="{run,console,migrate}")
    run = commands.add_parser("run", help="serve Telegram and Matrix as configured (the default)")
    _options(run, argparse.SUPPRESS)
    console = commands.add_parser("console", help="chat in the console instead of the platforms")
    _options(console, argparse.SUPPRESS)
    migrate = commands.add_parser("migrate", help="copy the data file into an empty PostgreSQL database")
    migrate.add_argument("--to", metavar="URL", help="the postgresql:// URL to copy into (required)")
    migrate.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="the data file to copy (default: DB_PATH)")
    args = parser.parse_args(argv)
    args.mode = args.mode or "run"
    return args


def _options(parser: argparse.ArgumentParser, default: str | None) -> None:
    """Before or after the command: ``python -m bot --db x console`` = ``python -m bot console --db x``."""
    parser.add_argument(
        "--jsonl", action="store_true", default=False if default is None else default, help="console speaks JSON lines"
    )
    parser.add_argument(
        "--db", metavar="PATH", default=default, help="data file (console default: a temporary file; else DB_PATH)"
    )
    start = "fake clock start, e.g. 2026-01-01T08:00:00Z"
    parser.add_argument("--start", metavar="ISO", default=default, help=start)


def _clock(args: argparse.Namespace) -> Clock:
    if not args.start and os.environ.get("TEST_CLOCK_START"):
        args.start = os.environ["TEST_CLOCK_START"]
    if args.start:
        start = datetime.fromisoformat(args.start.replace("Z", "+00:00"))
        return FakeClock(start if start.tzinfo else start.replace(tzinfo=UTC))
    if args.jsonl:
        return FakeClock(datetime.now(UTC))
    return OffsetClock() if args.mode == "console" or args.db else SystemClock()


def main(argv: list[str] | None = None, extras: app.Extras | None = None) -> int:
    """``extras`` adds services that need the job loop and the clock (the end-to-end tests'
    clock control, ``tests/run_bot.py``); the product starts none."""
    args = _args(sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 2
    if args.mode == "migrate":
        return _migrate(args.db or settings.db_path, args.to)
    quiet = args.mode == "console" or not (settings.telegram_enabled or settings.matrix_enabled)
    logs.setup("WARNING" if quiet and settings.log_level == "INFO" else settings.log_level, settings.secrets())
    if args.db:
        settings = settings.model_copy(update={"db_path": args.db})
    elif args.mode == "console":
        scratch = tempfile.TemporaryDirectory(prefix="esim-bot-")  # removed when the console ends
        settings = settings.model_copy(update={"db_path": os.path.join(scratch.name, "bot.json")})
    try:
        clock = _clock(args)
    except ValueError:
        print("Cannot start: --start must be an ISO date-time like 2026-01-01T08:00:00Z", file=sys.stderr)
        return 2
    console = app.stdio(args.jsonl) if quiet else None
    if quiet and not args.jsonl and not isinstance(clock, FakeClock):
        clock = OffsetClock()
    try:
        bot = app.build(settings, clock=clock, console=console, extras=extras)
    except StoreError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        asyncio.run(app.serve(bot))
    except StoreError as exc:
        print(f"Stopped: {exc}", file=sys.stderr)
        return 1
    return 1 if bot.console is not None and bot.console.failed else 0


def _migrate(db_path: str, url: str | None) -> int:
    """Copy the embedded data into PostgreSQL; print what was copied, or why nothing was."""
    if not url or not url.startswith(("postgresql://", "postgres://")):
        print("Cannot migrate: give the target as --to postgresql://user@host:port/database", file=sys.stderr)
        return 2
    from bot.store.copy import copy_to_postgres  # psycopg is loaded only when it is used

    try:
        counts = asyncio.run(copy_to_postgres(db_path, url))
    except StoreError as exc:
        print(f"Cannot migrate: {exc}", file=sys.stderr)
        return 1
    print(f"Copied {db_path} into PostgreSQL (the data file is unchanged):")
    for table, n in counts.items():
        print(f"  {table}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
