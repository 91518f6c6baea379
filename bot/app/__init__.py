"""The one composition root: builds every part, each after what it depends on.

``build_core`` (store -> providers -> audience -> alert queue -> chat events -> web) ->
``build_platforms`` -> ``build_reminders`` (delivery -> planner -> poller -> job loop) ->
``build_router`` -> the console's reader (its clock steps go to the job loop) -> app.
Nothing is patched afterwards; what only exists at run time (the router's handler, the
health report) is handed over when things start (``bot.runtime``). Nothing else names a concrete
platform, provider or store class. ``build`` takes every outside system as an argument
(clock, console streams, store) so tests run the same wiring as production. The web parts
(server, provider webhooks, home screen) are built in ``bot.app.web``, only when ``WEB_PORT`` is set.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.app import concrete
from bot.app import web as web_parts
from bot.audience import Audience, Readers
from bot.clock import Clock
from bot.config import Settings
from bot.context import Command
from bot.i18n import Catalogs
from bot.metrics import Metrics
from bot.platforms.base import Platform
from bot.platforms.console import ConsolePlatform, ConsoleReader, tick_command
from bot.records import Line
from bot.reminders.delivery import Delivery, Render
from bot.reminders.events import Events
from bot.reminders.loop import JobLoop
from bot.reminders.planner import Operators, Planner
from bot.reminders.poller import Cadence, Poller
from bot.reminders.queue import AlertQueue
from bot.reminders.text import AlertRenderer
from bot.reminders.watcher import ReminderWatcher
from bot.renewal.decide import RenewalObserver
from bot.renewal.orderer import AutoOrderer
from bot.router import Router
from bot.runtime import App, ConsoleIO, Leader, Service, serve, stdio
from bot.store import Store
from bot.store.kept import ProviderState
from handlers import dashboard
from handlers.registry import build_commands
from providers.base import HandTracked, Provider
from providers.manual import ManualProvider

if TYPE_CHECKING:  # aiohttp: loaded only when there is a web server (a console starts faster)
    from bot.web import WebServer

__all__ = ["App", "ConsoleIO", "ProviderState", "build", "serve", "stdio"]
log = logging.getLogger(__name__)
RESYNC_SECONDS = 2.0  # several workers: the leader reads what the others stored this often
LOCALES = Path(__file__).resolve().parents[2] / "locales"
Extras = Callable[[JobLoop, Clock], list[Service]]


@dataclass(frozen=True)
class Core:
    """What every later part is built on: the store and its leader, metrics, providers,
    the readers' words, the alert queue, chat events and the web server."""

    store: Store
    leader: Leader | None
    metrics: Metrics
    state: ProviderState
    providers: dict[str, Provider]
    catalogs: Catalogs
    audience: Audience
    queue: AlertQueue
    events: Events
    web: WebServer | None


def build(
    settings: Settings, *, clock: Clock, console: ConsoleIO | None, store: Store | None = None, extras: Extras | None = None
) -> App:
    """Wire the bot from settings, each part after what it depends on. ``console`` None means
    no console platform; ``extras`` adds services that need the job loop (a test's clock)."""
    core = build_core(settings, clock, store)
    links = web_parts.home_links(settings, core.store, core.web, clock)
    commands = build_commands(*([dashboard.command(links)] if links is not None else []))
    console_platform = _console(settings, console, clock)
    platforms = build_platforms(settings, core, clock, commands, console_platform)
    reminders = build_reminders(
        store=core.store,
        providers=core.providers,
        platforms={p.name: p for p in platforms},
        render=AlertRenderer(store=core.store, audience=core.audience, now=clock.now),
        audience=core.audience,
        queue=core.queue,
        events=core.events,
        clock=clock,
        metrics=core.metrics,
        now=clock.now,
        cadence=_cadence(settings),
        resync=RESYNC_SECONDS if settings.database_url else None,
    )
    jobs = reminders.loop
    extra = {"tick": tick_command(jobs, clock)} if console_platform is not None else {}
    router = build_router(settings, core, clock, {**commands, **extra}, reminders.watcher)
    web_parts.provider_webhooks(
        core.web, settings, providers=core.providers, submit=reminders.watcher.submit_event, clock=clock, metrics=core.metrics
    )
    web_parts.home_pages(links, settings, core.web, router, core.catalogs, clock)
    services = [
        *([ConsoleReader(console_platform, router.handle, jobs)] if console_platform is not None else []),
        *(extras(jobs, clock) if extras is not None else []),
    ]
    startup = [links.keys.load] if links is not None else []
    return _app(settings, core, router, jobs, platforms, console_platform, services, startup)


def build_core(settings: Settings, clock: Clock, store: Store | None) -> Core:
    """The store (unless a test hands one in), its leader and metrics, the providers (the
    hand-tracked one included), the catalogs, the alert queue and chat events."""
    store = store if store is not None else concrete.open_store(settings, clock)
    leader = concrete.leader(settings)
    metrics = _metrics(store, leader)
    state = ProviderState(store)
    manual = ManualProvider(state, clock.now)
    providers: dict[str, Provider] = {**concrete.providers(settings, state=state, clock=clock), manual.name: manual}
    catalogs = Catalogs.load(LOCALES)
    audience = Audience(catalogs, default_language=settings.default_language, default_timezone=settings.default_timezone)
    queue = AlertQueue(store)
    metrics.gauge("esimbot_outbox_backlog", lambda: queue.backlog)
    events = Events(store=store, queue=queue, now=clock.now)
    web = web_parts.server(settings, metrics)
    return Core(store, leader, metrics, state, providers, catalogs, audience, queue, events, web)


def build_platforms(
    settings: Settings, core: Core, clock: Clock, commands: Mapping[str, Command], console: ConsolePlatform | None
) -> list[Platform]:
    """The console (when asked for) and the chat platforms the settings name."""
    return [
        *([console] if console is not None else []),
        *concrete.chat_platforms(
            settings,
            clock=clock,
            events=core.events,
            web=core.web,
            menu=concrete.Menu(commands, core.catalogs),
            readers=Readers(core.store, core.audience),
            state=core.state,
        ),
    ]


def build_router(
    settings: Settings, core: Core, clock: Clock, commands: Mapping[str, Command], watcher: ReminderWatcher
) -> Router:
    """The command side: the command table over the store, providers and audience."""
    return Router(
        commands=commands,
        store=core.store,
        providers=core.providers,
        audience=core.audience,
        clock=clock,
        watcher=watcher,
        metrics=core.metrics,
        bot_ids={"matrix": settings.matrix_user} if settings.matrix_user else None,
    )


def _app(
    settings: Settings,
    core: Core,
    router: Router,
    jobs: JobLoop,
    platforms: list[Platform],
    console: ConsolePlatform | None,
    services: list[Service],
    startup: Sequence[Callable[[], Awaitable[object]]],
) -> App:
    """The running app: what starts first (store, queue, providers), then the rest in order."""
    return App(
        store=core.store,
        router=router,
        providers=core.providers,
        jobs=jobs,
        metrics=core.metrics,
        platforms=platforms,
        console=console,
        web=core.web,
        background_jobs=not (console is not None and console.jsonl),
        startup=[core.store.open, core.queue.load, jobs.refresh, *concrete.provider_startup(core.providers), *startup],
        services=services,
        leader=core.leader,
        shared_platforms=("telegram",) if settings.telegram_webhook_url else (),
    )


def _operators(providers: Mapping[str, Provider]) -> Operators:
    """The operator of a line kept by hand (its provider has the ``HandTracked`` capability)."""

    async def operator(line: Line) -> str | None:
        provider = providers.get(line.provider)
        return (await provider.operator(line.ref) or "other") if isinstance(provider, HandTracked) else None

    return operator


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
    return ConsolePlatform(
        read=console.read,
        write=console.write,
        now=clock.now,
        jsonl=console.jsonl,
        pictures=Path(settings.db_path).resolve().parent / "pictures",
    )


def _cadence(settings: Settings) -> Cadence:
    """How often lines no longer active are looked at."""
    return Cadence(inactive=timedelta(hours=settings.poll_inactive_hours), terminal=timedelta(hours=settings.poll_terminal_hours))


@dataclass(frozen=True)
class Reminders:
    """The reminder pipeline as built: the loop, the way in for commands and webhooks, and the
    poller (its health and tests' fault injection)."""

    loop: JobLoop
    watcher: ReminderWatcher
    poller: Poller


def build_reminders(
    *,
    store: Store,
    providers: Mapping[str, Provider],
    platforms: Mapping[str, Platform],
    render: Render,
    audience: Audience,
    queue: AlertQueue,
    events: Events,
    clock: Clock,
    metrics: Metrics,
    now: Callable[[], datetime] | None = None,
    cadence: Cadence | None = None,
    resync: float | None = None,
) -> Reminders:
    """The stages after the queue, each after what it depends on; ``queue`` and ``events``
    come in built, since the platforms need ``events`` before delivery can have them."""
    wake = asyncio.Event()  # set when there is new work; the job loop waits on it
    planner = Planner(queue=queue, audience=audience, operators=_operators(providers), on_queued=wake.set)
    delivery = Delivery(
        store=store, queue=queue, platforms=platforms, render=render, events=events, hold=planner.hold, metrics=metrics, now=now
    )
    # automatic renewal decides beside the planner, in the unit of the balance (bot.renewal)
    observer = RenewalObserver(planner, metrics=metrics)
    poller = Poller(store=store, providers=providers, planner=observer, clock=clock, metrics=metrics, cadence=cadence)
    orders = AutoOrderer(store=store, providers=providers, metrics=metrics, announce=planner.announce)
    loop = JobLoop(
        store=store, poller=poller, delivery=delivery, queue=queue, clock=clock, wake=wake, resync=resync, orders=orders
    )
    watcher = ReminderWatcher(store=store, loop=loop, poller=poller, planner=planner, events=events, clock=clock)
    return Reminders(loop, watcher, poller)
