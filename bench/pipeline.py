"""The reminder pipeline wired as bot.app wires it, for benchmarks that drive it directly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from bot.app import LOCALES, build_reminders
from bot.audience import Audience
from bot.clock import Clock
from bot.i18n import Catalogs
from bot.messages import Reply
from bot.metrics import Metrics
from bot.platforms.base import Platform
from bot.records import OutboxItem
from bot.reminders.events import Events
from bot.reminders.loop import JobLoop
from bot.reminders.queue import AlertQueue
from bot.store import Store
from providers.base import Provider


async def _nothing(item: OutboxItem) -> Reply:
    return Reply("")


def pipeline(
    store: Store,
    *,
    providers: Mapping[str, Provider],
    platforms: Mapping[str, Platform],
    clock: Clock,
    metrics: Metrics,
    render: Callable[[OutboxItem], Awaitable[Reply]] = _nothing,
    now: Callable[[], datetime] | None = None,
) -> tuple[JobLoop, AlertQueue]:
    audience = Audience(Catalogs.load(LOCALES), default_language="en", default_timezone="Europe/Oslo")
    queue = AlertQueue(store)
    events = Events(store=store, queue=queue, now=clock.now)
    reminders = build_reminders(
        store=store,
        providers=providers,
        platforms=platforms,
        render=render,
        audience=audience,
        queue=queue,
        events=events,
        clock=clock,
        metrics=metrics,
        now=now,
    )
    return reminders.loop, queue
