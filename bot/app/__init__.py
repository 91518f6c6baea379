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
from typing import TYPE_CHECKING

from bot.app import concrete
from bot.audience import Audience, Readers
from bot.clock import Clock
from bot.config import Settings, reveal
from bot.i18n import Catalogs
from bot.metrics import Metrics
from bot.platforms.base import Platform
from bot.platforms.console import ConsolePlatform, tick_command
from bot.reminders.delivery import Delivery, Render
from bot.reminders.events import Events
from bot.reminders.loop import JobLoop
from bot.reminders.planner import Planner
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
from handlers.registry import build_commands
from providers.base import BalanceEvent, Provider
from providers.manual import ManualProvider

if TYPE_CHECKING:
    from bot.web import WebServer

__all__ = ["App", "ConsoleIO", "ProviderState", "build", "serve", "stdio"]
log = logging.getLogger(__name__)
RESYNC_SECONDS = 2.0  # several workers: the leader reads what the others stored this often
LOCALES = Path(__file__).resolve().parents[2] / "locales"
Extras = Callable[[JobLoop, Clock], list[Service]]


def build(
    settings: Settings, *, clock: Clock, console: ConsoleIO | None, store: Store | None = None, extras: Extras | None = None
) -> App:
    """Wire the bot from settings, each part after what it depends on. ``console`` None means
    no console platform; ``extras`` adds services that need the job loop (a test's clock)."""
    store = store if store is not None else concrete.open_store(settings, clock)
    leader = concrete.leader(settings)
    metrics = _metrics(store, leader)
    state = ProviderState(store)
    manual = ManualProvider(state, clock.now)
    providers: dict[str, Provider] = {**concrete.providers(settings, state=state, clock=clock), "manual": manual}
    catalogs = Catalogs.load(LOCALES)
    audience = Audience(catalogs, default_language=settings.default_language, default_timezone=settings.default_timezone)
    queue = AlertQueue(store)
    metrics.gauge("esimbot_outbox_backlog", lambda: queue.backlog)
    events = Events(store=store, queue=queue, now=clock.now)
    web = _web(settings, metrics)
    commands = build_commands()
    console_platform = _console(settings, console, clock)
    platforms = [
        *([console_platform] if console_platform is not None else []),
        *concrete.chat_platforms(
            settings,
            clock=clock,
            events=events,
            web=web,
            menu=concrete.Menu(commands, catalogs),
            readers=Readers(store, audience),
            state=state,
        ),
    ]
    reminders = build_reminders(
        store=store,
        providers=providers,
        platforms={p.name: p for p in platforms},
        render=AlertRenderer(store=store, audience=audience, now=clock.now),
        audience=audience,
        queue=queue,
        events=events,
        clock=clock,
        metrics=metrics,
        now=clock.now,
        cadence=_cadence(settings),
        resync=RESYNC_SECONDS if settings.database_url else None,
    )
    jobs, watcher = reminders.loop, reminders.watcher
    extra = {"tick": tick_command(jobs, clock)} if console_platform is not None else {}
    router = Router(
        commands={**commands, **extra},
        store=store,
        providers=providers,
        manual=manual,
        audience=audience,
        clock=clock,
        watcher=watcher,
        metrics=metrics,
        bot_ids={"matrix": settings.matrix_user} if settings.matrix_user else None,
    )
    _webhooks(web, settings, providers=providers, submit=watcher.submit_event, clock=clock, metrics=metrics)
    return App(
        store=store,
        router=router,
        providers=providers,
        jobs=jobs,
        metrics=metrics,
        platforms=platforms,
        console=console_platform,
        web=web,
        background_jobs=not (console is not None and console.jsonl),
        startup=[store.open, queue.load, jobs.refresh, *concrete.provider_startup(providers)],
        services=extras(jobs, clock) if extras is not None else [],
        leader=leader,
        shared_platforms=("telegram",) if settings.telegram_webhook_url else (),
    )


def _webhooks(
    web: WebServer | None,
    settings: Settings,
    *,
    providers: Mapping[str, Provider],
    submit: Callable[[BalanceEvent], Awaitable[bool]],
    clock: Clock,
    metrics: Metrics,
) -> None:
    """The providers' webhooks on the web server, when there is one."""
    if web is not None:
        from bot import webhooks  # aiohttp: loaded only when there is a web server

        webhooks.register(
            web,
            providers=providers,
            submit=submit,
            now=clock.now,
            metrics=metrics,
            esimaccess_path=reveal(settings.esimaccess_webhook_path),
        )


def _web(settings: Settings, metrics: Metrics) -> WebServer | None:
    """The HTTP server when ``WEB_PORT`` is set (aiohttp is loaded only then: a console starts faster)."""
    if settings.web_port is None:
        return None
    from bot.web import WebServer

    return WebServer(host=settings.web_host, port=settings.web_port, metrics=metrics)


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
    planner = Planner(queue=queue, audience=audience, on_queued=wake.set)
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
