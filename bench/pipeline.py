"""The reminder pipeline wired as bot.app wires it, for benchmarks that drive it directly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from bot.app import LOCALES
from bot.audience import Audience
from bot.clock import Clock
from bot.i18n import Catalogs
from bot.jobs.delivery import Delivery
from bot.jobs.events import Events
from bot.jobs.planner import Planner
from bot.jobs.poller import Poller
from bot.jobs.queue import AlertQueue
from bot.jobs.runner import Jobs
from bot.metrics import Metrics
from bot.platforms.base import Platform
from bot.records import OutboxItem
from bot.store import Store
from providers.base import Provider


async def _nothing(item: OutboxItem) -> str:
    return ""


def pipeline(store: Store, *, providers: Mapping[str, Provider], platforms: Mapping[str, Platform], clock: Clock,
             metrics: Metrics, render: Callable[[OutboxItem], Awaitable[str]] = _nothing,
             now: Callable[..., object] | None = None) -> tuple[Jobs, AlertQueue]:
    audience = Audience(Catalogs.load(LOCALES), default_language="en", default_timezone="Europe/Oslo")
    queue = AlertQueue(store)
    events = Events(store=store, queue=queue, now=clock.now)
    wake = asyncio.Event()
    planner = Planner(queue=queue, audience=audience, on_queued=wake.set)
    delivery = Delivery(store=store, queue=queue, platforms=platforms, render=render, events=events,
                        hold=planner.hold, metrics=metrics, now=clock.now if now is not None else None)
    poller = Poller(store=store, providers=providers, planner=planner, clock=clock, metrics=metrics)
    jobs = Jobs(store=store, poller=poller, planner=planner, delivery=delivery, queue=queue, events=events,
                clock=clock, wake=wake)
    return jobs, queue
