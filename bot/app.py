"""The one composition root: builds store, providers, router, platforms and job queue.

Nothing else in the code names a concrete platform, provider or store class. ``build``
takes every outside system as an argument (clock, console streams, store) so tests run
the same wiring as production.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import alerts, webhooks
from bot.clock import Clock
from bot.config import Settings
from bot.i18n import Catalogs
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.platforms.base import ChatEvents, Platform
from bot.platforms.console import ConsolePlatform, tick_command
from bot.records import OutboxItem
from bot.router import Router
from bot.scheduler import JobQueue
from bot.store import Store, TinyDBStore
from bot.testing import ControlServer
from bot.web import WebServer
from handlers.registry import build_commands
from providers.airalo import AiraloProvider
from providers.base import Provider
from providers.demo import DemoProvider
from providers.esimaccess import EsimAccessProvider
from providers.esimgo import EsimGoProvider
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


class _Relay:
    """Chat events reach the job queue, which exists only after the platforms do."""

    target: ChatEvents | None = None

    async def chat_moved(self, platform: str, old_chat: str, new_chat: str) -> None:
        if self.target is not None:
            await self.target.chat_moved(platform, old_chat, new_chat)

    async def chat_left(self, platform: str, chat: str) -> None:
        if self.target is not None:
            await self.target.chat_left(platform, chat)

    async def user_unreachable(self, platform: str, user: str) -> None:
        if self.target is not None:
            await self.target.user_unreachable(platform, user)


@dataclass
class App:
    store: Store
    router: Router
    providers: dict[str, Provider]
    jobs: JobQueue
    metrics: Metrics
    platforms: list[Platform] = field(default_factory=list)
    console: ConsolePlatform | None = None
    web: WebServer | None = None
    background_jobs: bool = True
    control: ControlServer | None = None
    startup: list[Callable[[], Awaitable[object]]] = field(default_factory=list)

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
                await self.web.start()
            if self.control is not None:
                await self.control.start()
            for platform in self.platforms:
                await platform.start(self.router.handle)
            await self.jobs.run_due()  # catch up on what fell due while the bot was down
            if self.background_jobs:
                await self.jobs.start()
            waiters = [asyncio.create_task(stop.wait())]
            if self.console is not None:
                waiters.append(asyncio.create_task(self.console.done.wait()))
            _done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        finally:
            await self.jobs.stop()
            for platform in reversed(self.platforms):
                with contextlib.suppress(Exception):
                    await platform.stop()
            if self.web is not None:
                await self.web.stop()
            if self.control is not None:
                await self.control.stop()
            for provider in self.providers.values():
                with contextlib.suppress(Exception):
                    await provider.aclose()
            await self.store.close()


def build(settings: Settings, *, clock: Clock, console: ConsoleIO | None, store: Store | None = None,
          control_port: int | None = None) -> App:
    """Wire the bot from settings. ``console`` None means no console platform;
    ``control_port`` (tests only) exposes simulated time on 127.0.0.1."""
    store = store if store is not None else TinyDBStore(settings.db_path, now=clock.now(),
                                                        compact_min_bytes=settings.db_compact_kib * 1024)
    metrics = Metrics()
    metrics.gauge("esimbot_store_ok", lambda: 1.0 if store.health()["ok"] else 0.0)
    state = ProviderState(store)
    manual = ManualProvider(state, clock.now)
    providers = _providers(settings, state=state, clock=clock)
    providers["manual"] = manual
    relay = _Relay()
    web = WebServer(host=settings.web_host, port=settings.web_port, metrics=metrics, health=lambda: {"ok": True}) \
        if settings.web_port is not None else None
    platforms = _chat_platforms(settings, clock=clock, events=relay, web=web, menu=lambda: router)
    router = Router(
        commands={}, store=store, providers=providers, manual=manual,
        catalogs=Catalogs.load(LOCALES), clock=clock, default_language=settings.default_language,
        default_timezone=settings.default_timezone, prefixes={"matrix": "!"}, metrics=metrics,
    )

    async def render(item: OutboxItem) -> str:
        async with store.transaction() as tx:
            household = await tx.household(item.household_id)
            line = await tx.line(item.line_id)
            if item.private_user:
                user: str | None = f"{item.platform}:{item.private_user}"
            else:
                user = line.owner if line is not None and household is not None and not household.is_group else None
            t = await router.translator_for(tx, user, household, private=item.private_user is not None)
        return alerts.render(item.alert, t, clock.now(), router.prefixes.get(item.platform, "/"))

    console_platform = None
    if console is not None:
        console_platform = ConsolePlatform(read=console.read, write=console.write, now=clock.now, jsonl=console.jsonl)
        platforms.insert(0, console_platform)
    outbox = Outbox(store=store, platforms={p.name: p for p in platforms}, render=render, metrics=metrics,
                    now=clock.now)
    jobs = JobQueue(store=store, providers=providers, outbox=outbox, clock=clock, metrics=metrics)
    relay.target = jobs
    router.watcher = jobs
    extra = []
    if console_platform is not None:
        console_platform.steps = jobs
        extra.append(tick_command(jobs, clock))
    router.commands = build_commands(*extra)
    app = App(store=store, router=router, providers=providers, jobs=jobs, metrics=metrics, platforms=platforms,
              console=console_platform, web=web, background_jobs=not (console is not None and console.jsonl),
              startup=[outbox.load, jobs.refresh, *_provider_startup(providers)])
    if web is not None:
        web.set_health(app.health)
        webhooks.register(web, providers=providers, submit=jobs.submit_event, now=clock.now, metrics=metrics,
                          esimaccess_path=settings.esimaccess_webhook_path)
    if control_port is not None:
        app.control = ControlServer(steps=jobs, now=clock.now, port=control_port)
    return app


class ProviderState:
    """The providers' own state (order books, the demo's day 0, manual lines) in the store,
    each write a unit of its own: an order book entry is on disk before the order request
    leaves, so after a crash ``/confirm`` reconciles the order instead of never finding it."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get_state(self, namespace: str, key: str) -> Any:
        async with self._store.transaction() as tx:
            return await tx.get_state(namespace, key)

    async def put_state(self, namespace: str, key: str, value: Any) -> None:
        async with self._store.transaction() as tx:
            await tx.put_state(namespace, key, value)


def _provider_startup(providers: dict[str, Provider]) -> list[Callable[[], Awaitable[object]]]:
    """The demo fixes its day 0 at the first start, before anyone asks for a balance."""
    demo = providers.get("demo")
    return [demo.day0] if isinstance(demo, DemoProvider) else []


def _providers(settings: Settings, *, state: ProviderState, clock: Clock) -> dict[str, Provider]:
    """The configured eSIM providers; Settings has already checked their credentials."""
    orders = state
    found: dict[str, Provider] = {}
    for name in settings.providers:
        if name == "demo":
            found[name] = DemoProvider(state, clock.now, poll_seconds=settings.demo_poll_minutes * 60)
        elif name == "airalo":
            found[name] = AiraloProvider(client_id=settings.airalo_client_id or "", now=clock.now, state=orders,
                                         client_secret=settings.airalo_client_secret or "",
                                         base_url=settings.airalo_base_url)
        elif name == "esimaccess":
            found[name] = EsimAccessProvider(access_code=settings.esimaccess_access_code or "", now=clock.now,
                                             secret_key=settings.esimaccess_secret_key, state=orders,
                                             base_url=settings.esimaccess_base_url)
        elif name == "esimgo":
            found[name] = EsimGoProvider(api_key=settings.esimgo_api_key or "", now=clock.now, state=orders,
                                         base_url=settings.esimgo_base_url)
    return found


def _chat_platforms(settings: Settings, *, clock: Clock, events: ChatEvents,
                    web: WebServer | None, menu: Callable[[], Router] | None = None) -> list[Platform]:
    """Telegram and Matrix, each only when its credentials are set. ``menu`` gives the router
    once it is built (Telegram's command menus list its commands in every language)."""
    found: list[Platform] = []
    # --- Telegram wiring (owned by the Telegram work) ---
    if settings.telegram_token is not None:
        from bot.errors import ConfigError
        from bot.platforms.telegram import TelegramPlatform  # PTB is imported only when Telegram is on

        if settings.telegram_webhook_url is not None and web is None:
            raise ConfigError(["WEB_PORT: required with TELEGRAM_WEBHOOK_URL (the webhook is served there)"])
        found.append(TelegramPlatform(
            token=settings.telegram_token, now=clock.now, api_url=settings.telegram_api_url,
            webhook_url=settings.telegram_webhook_url, webhook_secret=settings.telegram_webhook_secret, web=web,
            events=events, menu=menu, default_language=settings.default_language))
    # --- Matrix wiring (owned by the Matrix work) ---
    if settings.matrix_homeserver is not None and settings.matrix_user is not None:
        from bot.platforms.matrix import MatrixPlatform  # nio is imported only when Matrix is on
        from bot.platforms.matrix_rooms import ReaderText
        from bot.platforms.matrix_session import store_dir

        found.append(MatrixPlatform(
            homeserver=settings.matrix_homeserver, user=settings.matrix_user, password=settings.matrix_password,
            access_token=settings.matrix_access_token, store_path=store_dir(settings.db_path),
            e2ee=settings.matrix_e2ee, allowed=settings.matrix_allowed, now=clock.now, events=events,
            explain=ReaderText(menu) if menu is not None else None))
    return found


async def serve(app: App) -> None:
    """Run until SIGINT/SIGTERM or the console ends."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await app.run(stop)
