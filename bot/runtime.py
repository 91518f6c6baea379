"""The running bot: start everything in order, wait for a stop or the console's end, and
shut down in reverse. ``App`` holds what ``bot.app.build`` made; it builds nothing itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.errors import StoreError
from bot.metrics import Metrics
from bot.platforms.base import Platform
from bot.reminders.loop import JobLoop
from bot.router import Router
from bot.store import Store
from providers.base import Provider

if TYPE_CHECKING:
    from bot.web import WebServer  # aiohttp: loaded only when there is a web server (bot.app)

log = logging.getLogger(__name__)


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


class Leader(Protocol):
    """Several workers share one store; one leads (``bot.store.postgres.AdvisoryLeader``).

    Only the leader runs the job loop (polls, planning, delivery: so the providers' and the
    platforms' rate limits hold for all workers together) and the platforms that one process
    must own (Telegram long polling, the Matrix sync). Every worker answers webhooks."""

    held: bool

    async def campaign(self) -> None:
        """Return once this worker leads (wait while another does)."""

    async def lost(self) -> None:
        """Return if leadership is lost after it was won (its database connection broke)."""

    async def release(self) -> None: ...


class Service(Protocol):
    """Something more to run beside the bot (a test's clock control); started last."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass
class App:
    store: Store
    router: Router
    providers: Mapping[str, Provider]
    jobs: JobLoop
    metrics: Metrics
    platforms: list[Platform] = field(default_factory=list)
    console: Console | None = None
    web: WebServer | None = None
    background_jobs: bool = True
    startup: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    leader: Leader | None = None  # None: the only process (the embedded store)
    shared_platforms: tuple[str, ...] = ()  # with a leader: the platforms every worker runs

    def health(self) -> dict[str, Any]:
        store = self.store.health()
        following = self.leader is not None and not self.leader.held
        ok = (self.jobs.running or not self.background_jobs or following) and bool(store["ok"])
        role = None if self.leader is None else "leader" if self.leader.held else "follower"
        holds = ["job loop", *self._names(shared=False)] if role == "leader" else []
        return {
            "ok": ok,
            "role": role,
            "holds": holds,
            "platforms": [p.name for p in self.platforms],
            "jobs": self.jobs.health(),
            "store": store,
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Start everything, wait for ``stop`` (or the console's EOF), then shut down cleanly.
        With a leader, the shared platforms start at once and the rest once this worker leads;
        a leader that loses its lock stops (``StoreError``) rather than risk two leaders."""
        try:
            for step in self.startup:
                await step()
            if self.web is not None:
                await self.web.start(self.health)
            if self.leader is not None:
                await self._start_platforms(shared=True)
                if await _first(stop.wait(), self.leader.campaign()) == 0:
                    return  # stopped before it ever led
                log.info(
                    "this worker leads now: it runs the job loop and %s",
                    ", ".join(self._names(shared=False)) or "no exclusive platform",
                )
            await self._start_platforms(shared=False if self.leader is not None else None)
            await self.jobs.run_due()  # catch up on what fell due while the bot was down
            if self.background_jobs:
                await self.jobs.start()
            for service in self.services:
                await service.start()
            ends: list[Awaitable[object]] = [stop.wait()]
            if self.console is not None:
                ends.append(self.console.done.wait())
            if self.leader is not None:
                ends.append(self.leader.lost())
            if await _first(*ends) == len(ends) - 1 and self.leader is not None:
                raise StoreError(
                    "this worker lost the database lock that made it the leader; it stops so "
                    "that two workers never lead at once (start it again)"
                )
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        """Stop everything in the reverse order of starting; one part's failure stops no other."""
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
        if self.leader is not None:
            with contextlib.suppress(Exception):
                await self.leader.release()
        await self.store.close()

    def _names(self, *, shared: bool) -> list[str]:
        return [p.name for p in self.platforms if (p.name in self.shared_platforms) == shared]

    async def _start_platforms(self, *, shared: bool | None) -> None:
        """Start the platforms (``shared``: only those every worker runs, or only the others)."""
        for platform in self.platforms:
            if shared is not None and (platform.name in self.shared_platforms) != shared:
                continue
            await platform.start(self.router.handle)


async def _first(*waits: Awaitable[object]) -> int:
    """Wait for the first of ``waits`` to finish, cancel the rest, return its index."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
    return next(i for i, task in enumerate(tasks) if task in done)


async def serve(app: App) -> None:
    """Run until SIGINT/SIGTERM or the console ends."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await app.run(stop)
