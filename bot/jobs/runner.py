"""The job loop: sleep until the next due look or alert, then run the pipeline once.

``run_due`` is one pass: the poller's sweep (due lines -> provider -> planner -> queue), then
delivery (due alerts -> platforms). ``Jobs`` is also the ``Watcher`` that commands tell
about lines (``bot.context``) and where webhooks land; it forwards each to its stage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot import alerts
from bot.audience import Audience
from bot.clock import Clock
from bot.errors import StoreWriteError
from bot.jobs.delivery import Delivery, Render
from bot.jobs.events import Events
from bot.jobs.planner import Planner
from bot.jobs.poller import Cadence, Poller
from bot.jobs.queue import AlertQueue
from bot.metrics import Metrics
from bot.platforms.base import Platform
from bot.records import Household, Line
from bot.reminders import Topic, balance_from_event
from bot.services import Notice
from bot.store import Store, Tx
from providers.base import BalanceEvent, EsimBalance, Provider

log = logging.getLogger(__name__)
MAX_SLEEP = 300.0


class Jobs:
    def __init__(self, *, store: Store, poller: Poller, planner: Planner, delivery: Delivery, queue: AlertQueue,
                 events: Events, clock: Clock, wake: asyncio.Event | None = None, resync: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store, self._poller, self._planner, self._delivery = store, poller, planner, delivery
        self._queue, self._events, self._clock = queue, events, clock
        # several workers: what the others stored is read again this often (seconds)
        self._resync, self._monotonic, self._resynced = resync, monotonic, float("-inf")
        self._next_due: datetime | None = None
        # one pass at a time: the catch-up at start, the loop and a console's clock advance
        # would otherwise deliver from the same queue at once (alerts lost in the console)
        self._one_pass = asyncio.Lock()
        self._wake = wake or asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- the loop ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="jobs")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def poller(self) -> Poller:
        return self._poller

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def poke(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        backoff = 0.0
        while True:
            try:
                await self.run_due()
                backoff = 0.0
            except StoreWriteError:  # the store logs it (once a minute); try again, less and less often
                backoff = min(max(2 * backoff, 1.0), 60.0)
            except Exception:
                log.exception("job sweep failed; trying again shortly")
            nxt = self.next_wake()
            delay = max(MAX_SLEEP if nxt is None else (nxt - self._clock.now()).total_seconds(), backoff)
            if self._resync is not None:
                delay = min(delay, self._resync)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(max(delay, 0.05), MAX_SLEEP))

    def next_wake(self) -> datetime | None:
        queued = self._queue.next_due(self._delivery.serves)
        if queued is not None and self._delivery.free_at is not None:
            queued = max(queued, self._delivery.free_at)  # due, but the platforms' budget is spent until then
        times = [t for t in (self._next_due, queued) if t is not None]
        return min(times) if times else None

    async def refresh(self) -> None:
        async with self._store.transaction() as tx:
            self._next_due = await tx.next_due()

    async def run_due(self) -> None:
        async with self._one_pass:
            if self._resync is not None and self._monotonic() - self._resynced >= self._resync:
                self._resynced = self._monotonic()
                await self._queue.reload()
            await self._poller.sweep(self._clock.now())
            await self._delivery.deliver(self._clock.now())
            await self.refresh()

    async def run_until(self, when: datetime) -> None:
        """Fake time only: step the clock through every due moment up to ``when``."""
        set_clock: Callable[[datetime], None] | None = getattr(self._clock, "set", None)
        if set_clock is None:
            raise TypeError("run_until needs a clock that can be set (FakeClock or OffsetClock)")
        await self.refresh()
        for _ in range(100_000):
            nxt = self.next_wake()
            if nxt is None or nxt > when:
                break
            set_clock(max(nxt, self._clock.now()))
            await self.run_due()
        set_clock(when)
        await self.run_due()

    def _soon(self, at: datetime) -> None:
        self._next_due = at if self._next_due is None else min(self._next_due, at)

    # -- what commands tell (the Watcher protocol of bot.context) ---------------------------
    async def line_seen(self, tx: Tx, line: Line, balance: EsimBalance | None, *,
                        fresh_cycle: bool = False) -> list[Notice]:
        household = await tx.household(line.household_id)
        now = self._clock.now()
        tx.after_commit(self.poke)
        if balance is None or household is None:
            await tx.set_due(line.id, now)
            self._soon(now)
            return []
        crossed = await self._poller.seen(tx, line, household, balance, now, fresh_cycle=fresh_cycle)
        due = await tx.due(line.id)
        if due is not None:
            self._soon(due)
        msgid = alerts.warning(crossed) if fresh_cycle else None
        return [Notice(msgid, {"label": line.label})] if msgid else []

    async def line_removed(self, tx: Tx, line: Line) -> None:
        await self._events.line_removed(tx, line)

    async def line_snoozed(self, tx: Tx, line: Line, topic: Topic, until: datetime) -> None:
        await self._events.snoozed(tx, line, topic, until)

    async def household_changed(self, tx: Tx, household: Household) -> None:
        await self._events.quiet_changed(tx, household)
        tx.after_commit(self.poke)

    async def forecast(self, tx: Tx, line: Line, balance: EsimBalance) -> datetime | None:
        return await self._planner.forecast(tx, line, balance)

    async def submit_event(self, event: BalanceEvent) -> bool:
        """A provider pushed news about an eSIM: what it says is planned at once (on top of
        the last balance), and the line is looked at as soon as the provider allows."""
        async with self._store.transaction() as tx:
            line = await tx.line_by_ref(event.iccid)
            if line is None or line.provider != event.provider:
                return False
            now = self._clock.now()
            at = await self._poller.webhook(tx, line, now)
            household = await tx.household(line.household_id)
            news = balance_from_event(await tx.last_balance(line.id), event) if at > now else None
            if news is not None and household is not None:
                await self._planner.observe(tx, line, household, news, now)
                await tx.add_sample(line.id, news)
        self._soon(at)
        self.poke()
        return True

    def health(self) -> dict[str, Any]:
        nxt = self.next_wake()
        return {"next_due": nxt.isoformat() if nxt else None, "outbox_backlog": self._queue.backlog,
                "last_poll_ok": {p: t.isoformat() for p, t in self._poller.last_poll_ok.items()}}


def wire(*, store: Store, providers: Mapping[str, Provider], platforms: Mapping[str, Platform], render: Render,
         audience: Audience, queue: AlertQueue, events: Events, clock: Clock, metrics: Metrics,
         now: Callable[[], datetime] | None = None, cadence: Cadence | None = None,
         resync: float | None = None) -> Jobs:
    """The stages after the queue, each after what it depends on; ``queue`` and ``events``
    come in built, since the platforms need ``events`` before delivery can have them."""
    wake = asyncio.Event()  # set when there is new work; the job loop waits on it
    planner = Planner(queue=queue, audience=audience, on_queued=wake.set)
    delivery = Delivery(store=store, queue=queue, platforms=platforms, render=render, events=events,
                        hold=planner.hold, metrics=metrics, now=now)
    poller = Poller(store=store, providers=providers, planner=planner, clock=clock, metrics=metrics, cadence=cadence)
    return Jobs(store=store, poller=poller, planner=planner, delivery=delivery, queue=queue, events=events,
                clock=clock, wake=wake, resync=resync)
