"""The one composition root: builds store, providers, router, platforms and job queue.

Nothing else in the code names a concrete platform, provider or store class. ``build``
takes every outside system as an argument (clock, console streams) so tests run the same
wiring as production.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.clock import Clock
from bot.config import Settings
from bot.context import Command
from bot.i18n import Catalogs
from bot.platforms.base import Platform
from bot.platforms.console import ConsolePlatform
from bot.router import Router
from bot.store import DocStore, TinyDBStore
from handlers.registry import build_commands
from providers.base import Provider
from providers.demo import DemoProvider
from providers.manual import ManualProvider

log = logging.getLogger(__name__)
LOCALES = Path(__file__).resolve().parent.parent / "locales"


@dataclass
class ConsoleIO:
    """How the console talks: a coroutine that reads one line ('' at EOF) and a writer."""

    read: Callable[[], Awaitable[str]]
    write: Callable[[str], None]
    jsonl: bool = False


def stdio(jsonl: bool) -> ConsoleIO:
    async def read() -> str:
        return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    return ConsoleIO(read, write, jsonl)


class _ClockOnly:
    """Until the job queue runs: stepping only moves the clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def run_until(self, when: datetime) -> None:
        set_ = getattr(self._clock, "set", None)
        if set_ is not None:
            set_(when)


@dataclass
class App:
    store: DocStore
    router: Router
    providers: dict[str, Provider]
    platforms: list[Platform] = field(default_factory=list)
    console: ConsolePlatform | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Start everything, wait for ``stop`` (or the console's EOF), then shut down cleanly."""
        try:
            for platform in self.platforms:
                await platform.start(self.router.handle)
            waiters = [asyncio.create_task(stop.wait())]
            if self.console is not None:
                waiters.append(asyncio.create_task(self.console.done.wait()))
            _done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        finally:
            for platform in reversed(self.platforms):
                with contextlib.suppress(Exception):
                    await platform.stop()
            for provider in self.providers.values():
                with contextlib.suppress(Exception):
                    await provider.aclose()
            self.store.commit()
            self.store.close()


def build(settings: Settings, *, clock: Clock, console: ConsoleIO | None, store: DocStore | None = None) -> App:
    """Wire the bot from settings. ``console`` None means no console platform."""
    store = store if store is not None else TinyDBStore(settings.db_path)
    manual = ManualProvider(store, clock.now)
    providers: dict[str, Provider] = {}
    if "demo" in settings.providers:
        providers["demo"] = DemoProvider(store, clock.now, poll_seconds=settings.demo_poll_minutes * 60)
    providers["manual"] = manual
    store.commit()
    steps = _ClockOnly(clock)
    extra: list[Command] = []
    platforms: list[Platform] = []
    console_platform = None
    if console is not None:
        console_platform = ConsolePlatform(read=console.read, write=console.write, now=clock.now,
                                           jsonl=console.jsonl, steps=steps)
        platforms.append(console_platform)
    platforms += _chat_platforms(settings, clock=clock, store=store)
    router = Router(
        commands=build_commands(*extra), store=store, providers=providers, manual=manual,
        catalogs=Catalogs.load(LOCALES), clock=clock, default_language=settings.default_language,
        default_timezone=settings.default_timezone, prefixes={"matrix": "!"},
    )
    return App(store=store, router=router, providers=providers, platforms=platforms, console=console_platform)


def _chat_platforms(settings: Settings, *, clock: Clock, store: DocStore) -> list[Platform]:
    """Telegram and Matrix, each only when its credentials are set."""
    found: list[Platform] = []
    # --- Telegram wiring (owned by the Telegram work) ---
    # --- Matrix wiring (owned by the Matrix work) ---
    return found


async def serve(app: App) -> None:
    """Run until SIGINT/SIGTERM or the console ends."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await app.run(stop)
