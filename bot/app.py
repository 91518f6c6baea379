"""The one composition root: builds every part, each after what it depends on.

store -> providers -> audience -> alert queue -> chat events -> web -> platforms ->
delivery -> planner -> poller -> job loop -> router -> app. Nothing is patched afterwards;
what only exists at run time (the router's handler, the console's clock steps, the health
report) is handed over when things start (``bot.runtime``). Nothing else names a concrete
platform, provider or store class. ``build`` takes every outside system as an argument
(clock, console streams, store) so tests run the same wiring as production.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot import webhooks
from bot.audience import Audience, Readers
from bot.clock import Clock
from bot.config import Settings
from bot.context import Command
from bot.i18n import Catalogs
from bot.metrics import Metrics
from bot.platforms.base import ChatEvents, Platform
from bot.platforms.console import ConsolePlatform, tick_command
from bot.reminders.delivery import Delivery, Render
from bot.reminders.events import Events
from bot.reminders.loop import JobLoop
from bot.reminders.planner import Planner
from bot.reminders.poller import Cadence, Poller
from bot.reminders.queue import AlertQueue
from bot.reminders.text import AlertRenderer
from bot.reminders.watcher import ReminderWatcher
from bot.router import Router
from bot.runtime import App, ConsoleIO, Leader, Service, serve, stdio
from bot.store import Store, TinyDBStore
from bot.web import WebServer
from handlers.registry import build_commands
from providers.airalo import AiraloProvider
from providers.base import BalanceEvent, Provider
from providers.demo import DemoProvider
from providers.esimaccess import EsimAccessProvider
from providers.esimgo import EsimGoProvider
from providers.manual import ManualProvider

__all__ = ["App", "ConsoleIO", "ProviderState", "build", "serve", "stdio"]
log = logging.getLogger(__name__)
RESYNC_SECONDS = 2.0  # several workers: the leader reads what the others stored this often
LOCALES = Path(__file__).resolve().parent.parent / "locales"
Extras = Callable[[JobLoop, Clock], list[Service]]


def build(settings: Settings, *, clock: Clock, console: ConsoleIO | None, store: Store | None = None,
          extras: Extras | None = None) -> App:
    """Wire the bot from settings, each part after what it depends on. ``console`` None means
    no console platform; ``extras`` adds services that need the job loop (a test's clock)."""
    store = store if store is not None else open_store(settings, clock)
    leader = _leader(settings)
    metrics = _metrics(store, leader)
    state = ProviderState(store)
    manual = ManualProvider(state, clock.now)
    providers: dict[str, Provider] = {**_providers(settings, state=state, clock=clock), "manual": manual}
    catalogs = Catalogs.load(LOCALES)
    audience = Audience(catalogs, default_language=settings.default_language,
                        default_timezone=settings.default_timezone)
    queue = AlertQueue(store)
    metrics.gauge("esimbot_outbox_backlog", lambda: queue.backlog)
    events = Events(store=store, queue=queue, now=clock.now)
    web = WebServer(host=settings.web_host, port=settings.web_port, metrics=metrics) \
        if settings.web_port is not None else None
    commands = build_commands()
    console_platform = _console(settings, console, clock)
    platforms = [*([console_platform] if console_platform is not None else []),
                 *_chat_platforms(settings, clock=clock, events=events, web=web, menu=Menu(commands, catalogs),
                                  readers=Readers(store, audience), state=state)]
    reminders = build_reminders(
        store=store, providers=providers, platforms={p.name: p for p in platforms},
        render=AlertRenderer(store=store, audience=audience, now=clock.now), audience=audience, queue=queue,
        events=events, clock=clock, metrics=metrics, now=clock.now, cadence=_cadence(settings),
        resync=RESYNC_SECONDS if settings.database_url else None)
    jobs, watcher = reminders.loop, reminders.watcher
    extra = {"tick": tick_command(jobs, clock)} if console_platform is not None else {}
    router = Router(commands={**commands, **extra}, store=store, providers=providers, manual=manual,
                    audience=audience, clock=clock, watcher=watcher, metrics=metrics,
                    bot_ids={"matrix": settings.matrix_user} if settings.matrix_user else None)
    _webhooks(web, settings, providers=providers, submit=watcher.submit_event, clock=clock, metrics=metrics)
    return App(store=store, router=router, providers=providers, jobs=jobs, metrics=metrics, platforms=platforms,
               console=console_platform, web=web, background_jobs=not (console is not None and console.jsonl),
               startup=[store.open, queue.load, jobs.refresh, *_provider_startup(providers)],
               services=extras(jobs, clock) if extras is not None else [], leader=leader,
               shared_platforms=("telegram",) if settings.telegram_webhook_url else ())


def _webhooks(web: WebServer | None, settings: Settings, *, providers: Mapping[str, Provider],
              submit: Callable[[BalanceEvent], Awaitable[bool]], clock: Clock, metrics: Metrics) -> None:
    """The providers' webhooks on the web server, when there is one."""
    if web is not None:
        webhooks.register(web, providers=providers, submit=submit, now=clock.now, metrics=metrics,
                          esimaccess_path=settings.esimaccess_webhook_path)


def _metrics(store: Store, leader: Leader | None) -> Metrics:
    """The metrics, with the gauges of the store's health and of leading."""
    metrics = Metrics()
    metrics.gauge("esimbot_store_ok", lambda: 1.0 if store.health()["ok"] else 0.0)
    if leader is not None:
        metrics.gauge("esimbot_leader", lambda: 1.0 if leader.held else 0.0)
    return metrics


def _console(settings: Settings, console: ConsoleIO | None, clock: Clock) -> ConsolePlatform | None:
    """The console platform when one is asked for; its charts go beside the data file."""
    if console is None:
        return None
    return ConsolePlatform(read=console.read, write=console.write, now=clock.now, jsonl=console.jsonl,
                           pictures=Path(settings.db_path).resolve().parent / "pictures")


def _cadence(settings: Settings) -> Cadence:
    """How often lines no longer active are looked at."""
    return Cadence(inactive=timedelta(hours=settings.poll_inactive_hours),
                   terminal=timedelta(hours=settings.poll_terminal_hours))


@dataclass(frozen=True)
class Reminders:
    """The reminder pipeline as built: the loop, the way in for commands and webhooks, and the
    poller (its health and tests' fault injection)."""

    loop: JobLoop
    watcher: ReminderWatcher
    poller: Poller


def build_reminders(*, store: Store, providers: Mapping[str, Provider], platforms: Mapping[str, Platform],
                    render: Render, audience: Audience, queue: AlertQueue, events: Events, clock: Clock,
                    metrics: Metrics, now: Callable[[], datetime] | None = None, cadence: Cadence | None = None,
                    resync: float | None = None) -> Reminders:
    """The stages after the queue, each after what it depends on; ``queue`` and ``events``
    come in built, since the platforms need ``events`` before delivery can have them."""
    wake = asyncio.Event()  # set when there is new work; the job loop waits on it
    planner = Planner(queue=queue, audience=audience, on_queued=wake.set)
    delivery = Delivery(store=store, queue=queue, platforms=platforms, render=render, events=events,
                        hold=planner.hold, metrics=metrics, now=now)
    poller = Poller(store=store, providers=providers, planner=planner, clock=clock, metrics=metrics, cadence=cadence)
    loop = JobLoop(store=store, poller=poller, delivery=delivery, queue=queue, clock=clock, wake=wake, resync=resync)
    watcher = ReminderWatcher(store=store, loop=loop, poller=poller, planner=planner, events=events, clock=clock)
    return Reminders(loop, watcher, poller)


class ProviderState:
    """The providers' own state (order books, the demo's day 0, manual lines) and Telegram's
    long button commands in the store, each write a unit of its own: an order book entry is
    on disk before the order request leaves, so after a crash ``/confirm`` reconciles the
    order instead of never finding it."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get_state(self, namespace: str, key: str) -> Any:
        async with self._store.transaction() as tx:
            return await tx.get_state(namespace, key)

    async def put_state(self, namespace: str, key: str, value: Any) -> None:
        async with self._store.transaction() as tx:
            await tx.put_state(namespace, key, value)


def open_store(settings: Settings, clock: Clock) -> Store:
    """PostgreSQL when ``DATABASE_URL`` is set (several workers), else the embedded TinyDB file."""
    if settings.database_url:
        from bot.store.postgres import PostgresStore  # psycopg is loaded only when it is used

        return PostgresStore(settings.database_url)
    return TinyDBStore(settings.db_path, now=clock.now(), compact_min_bytes=settings.db_compact_kib * 1024)


def _leader(settings: Settings) -> Leader | None:
    """Several workers may share a PostgreSQL store: one of them leads (``bot.runtime.Leader``)."""
    if not settings.database_url:
        return None
    from bot.store.postgres import AdvisoryLeader

    return AdvisoryLeader(settings.database_url)


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


def _chat_platforms(settings: Settings, *, clock: Clock, events: ChatEvents, web: WebServer | None,
                    menu: Menu, readers: Readers, state: ProviderState) -> list[Platform]:
    """Telegram and Matrix, each only when its credentials are set (their imports too)."""
    found: list[Platform] = []
    # --- Telegram wiring (owned by the Telegram work) ---
    if settings.telegram_token is not None:
        from bot.errors import ConfigError
        from bot.platforms.telegram.platform import TelegramPlatform  # PTB is imported only when Telegram is on

        if settings.telegram_webhook_url is not None and web is None:
            raise ConfigError(["WEB_PORT: required with TELEGRAM_WEBHOOK_URL (the webhook is served there)"])
        found.append(TelegramPlatform(
            token=settings.telegram_token, now=clock.now, api_url=settings.telegram_api_url,
            webhook_url=settings.telegram_webhook_url, webhook_secret=settings.telegram_webhook_secret, web=web,
            events=events, menu=menu, default_language=settings.default_language,
            kept=state))
    # --- Matrix wiring (owned by the Matrix work) ---
    if settings.matrix_homeserver is not None and settings.matrix_user is not None:
        from bot.platforms.matrix.platform import MatrixPlatform  # nio is imported only when Matrix is on
        from bot.platforms.matrix.session import store_dir

        found.append(MatrixPlatform(
            homeserver=settings.matrix_homeserver, user=settings.matrix_user, password=settings.matrix_password,
            access_token=settings.matrix_access_token, store_path=store_dir(settings.db_path),
            e2ee=settings.matrix_e2ee, allowed=settings.matrix_allowed, now=clock.now, events=events,
            explain=readers))
    return found


@dataclass(frozen=True)
class Menu:
    """What Telegram's command menus list: the commands and the catalogs to word them."""

    commands: Mapping[str, Command]
    catalogs: Catalogs
