"""The job loop: sleep until the next due look or alert, then run the pipeline once.

``run_due`` is one pass: the poller's sweep (due lines -> provider -> planner -> queue), then
delivery (due alerts -> platforms). What commands and webhooks tell goes to
``bot.reminders.watcher``, which wakes this loop through ``soon`` and ``poke``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from bot.clock import Clock
from bot.errors import StoreWriteError
from bot.reminders.delivery import Delivery
from bot.reminders.poller import Poller
from bot.reminders.queue import AlertQueue
from bot.store import Store

log = logging.getLogger(__name__)
MAX_SLEEP = 300.0


class Orders(Protocol):
    """Automatic renewal's orders (``bot.renewal.orderer.AutoOrderer``): placed when due."""

    async def run_due(self, now: datetime) -> object: ...
    async def next_due(self) -> datetime | None: ...


class JobLoop:
    """Runs a pass when something falls due; one pass at a time."""

    def __init__(
        self,
        *,
        store: Store,
        poller: Poller,
        delivery: Delivery,
        queue: AlertQueue,
        clock: Clock,
        wake: asyncio.Event | None = None,
        resync: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        orders: Orders | None = None,
    ) -> None:
        self._orders = orders
        self._store, self._poller, self._delivery = store, poller, delivery
        self._queue, self._clock = queue, clock
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
        ordered = await self._orders.next_due() if self._orders is not None else None
        if ordered is not None:
            self._next_due = ordered if self._next_due is None else min(self._next_due, ordered)

    async def run_due(self) -> None:
        async with self._one_pass:
            if self._resync is not None and self._monotonic() - self._resynced >= self._resync:
                self._resynced = self._monotonic()
                await self._queue.reload()
            await self._poller.sweep(self._clock.now())
            if self._orders is not None:  # after the sweep: what it decided and is due goes now
                await self._orders.run_due(self._clock.now())
            await self._delivery.deliver(self._clock.now())
            await self.refresh()

    async def run_until(self, when: datetime) -> None:
        """Fake time only: step the clock through every due moment up to ``when``. The clock
        moves only between passes: a pass in flight (the start-up catch-up) ends at the time
        it began, and what it left waiting (a paced second alert) is due before ``when``."""
        set_clock: Callable[[datetime], None] | None = getattr(self._clock, "set", None)
        if set_clock is None:
            raise TypeError("run_until needs a clock that can be set (FakeClock or OffsetClock)")
        async with self._one_pass:  # waits for a pass in flight, then sees what it left
            await self.refresh()
        for _ in range(100_000):
            async with self._one_pass:
                nxt = self.next_wake()
                if nxt is None or nxt > when:
                    set_clock(when)
                    break
                set_clock(max(nxt, self._clock.now()))
            await self.run_due()
        await self.run_due()

    def soon(self, at: datetime) -> None:
        """Something falls due at ``at``: the loop wakes for it no later than then."""
        self._next_due = at if self._next_due is None else min(self._next_due, at)

    def health(self) -> dict[str, Any]:
        nxt = self.next_wake()
        return {
            "next_due": nxt.isoformat() if nxt else None,
            "outbox_backlog": self._queue.backlog,
            "last_poll_ok": {p: t.isoformat() for p, t in self._poller.last_poll_ok.items()},
        }
