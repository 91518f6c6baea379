"""The running bot: start everything in order, wait for a stop or the console's end, and
shut down in reverse. ``App`` holds what ``bot.app.build`` made; it builds nothing itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.jobs.runner import Jobs
from bot.metrics import Metrics
from bot.platforms.base import Handler, Platform
from bot.router import Router
from bot.store import Store
from bot.web import WebServer
from providers.base import Provider


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


class Console(Protocol):
    """The console platform as the app drives it (``bot.platforms.console``)."""

    done: asyncio.Event
    failed: bool

    async def start(self, handler: Handler, steps: Jobs | None = None) -> None: ...


class Service(Protocol):
    """Something more to run beside the bot (a test's clock control); started last."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass
class App:
    store: Store
    router: Router
    providers: Mapping[str, Provider]
    jobs: Jobs
    metrics: Metrics
    platforms: list[Platform] = field(default_factory=list)
    console: Console | None = None
    web: WebServer | None = None
    background_jobs: bool = True
    startup: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)

    def health(self) -> dict[str, Any]:
        store = self.store.health()
        ok = (self.jobs.running or not self.background_jobs) and bool(store["ok"])
        return {"ok": ok, "platforms": [p.name for p in self.platforms], "jobs": self.jobs.health(), "store": store}

    async def run(self, stop: asyncio.Event) -> None:
        """Start everything, wait for ``stop`` (or the console's EOF), then shut down cleanly."""
        try:
            for step in self.startup:
                await step()
            if self.web is not None:
                await self.web.start(self.health)
            for platform in self.platforms:
                if platform.name == "console" and self.console is not None:
                    await self.console.start(self.router.handle, steps=self.jobs)
                else:
                    await platform.start(self.router.handle)
            await self.jobs.run_due()  # catch up on what fell due while the bot was down
            if self.background_jobs:
                await self.jobs.start()
            for service in self.services:
                await service.start()
            waiters = [asyncio.create_task(stop.wait())]
            if self.console is not None:
                waiters.append(asyncio.create_task(self.console.done.wait()))
            _done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        finally:
            for service in reversed(self.services):
                with contextlib.suppress(Exception):
                    await service.stop()
            await self.jobs.stop()
            for platform in reversed(self.platforms):
                with contextlib.suppress(Exception):
                    await platform.stop()
            if self.web is not None:
                await self.web.stop()
            for provider in self.providers.values():
                with contextlib.suppress(Exception):
                    await provider.aclose()
            await self.store.close()


async def serve(app: App) -> None:
    """Run until SIGINT/SIGTERM or the console ends."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await app.run(stop)
