"""Delivery, the last stage: send the due alerts within each platform's pace, and record each
outcome in a unit of its own right after the platform answered, before the next one leaves
(so a crash repeats at most the one alert that was on its way).

What the platform answers decides what happens next: wait and retry (RetryLater), follow
the chat (ChatMoved), tell ``Events`` that the target is gone, which may give a fallback
copy (TargetGone), or drop it (any other DeliveryError). ``hold`` says until when an alert
must still wait even though it is due (quiet hours that a retry or the pace ran into).
An alert for a platform this bot does not run (its token was removed, say) waits
``UNSERVED_WAIT`` for the platform to come back after a restart, then is dropped as stale.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.errors import StoreWriteError
from bot.messages import Address, Reply, SendKind
from bot.metrics import Metrics
from bot.platforms.base import ChatMoved, DeliveryError, Platform, RetryLater, TargetGone
from bot.records import OutboxItem, OutboxState
from bot.reminders.pacer import Pacer
from bot.store import Store, Tx

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
STORE_RETRY = timedelta(seconds=5)  # an alert that could not be read for sending waits this long
UNSERVED_WAIT = timedelta(days=2)  # an alert for a platform this bot does not run waits this long for it
Render = Callable[[OutboxItem], Awaitable[Reply]]  # text with its buttons (bot.reminders.text)
Hold = Callable[[Tx, OutboxItem, datetime], Awaitable[datetime | None]]


class Queue(Protocol):
    """What delivery needs of the alert queue (``bot.reminders.queue.AlertQueue``)."""

    def take_due(self, now: datetime) -> Iterator[OutboxItem]: ...
    def defer(self, item: OutboxItem, until: datetime) -> None: ...
    def hold(self, item: OutboxItem) -> None: ...
    async def save(self, tx: Tx, item: OutboxItem) -> None: ...
    async def enqueue(self, tx: Tx, item: OutboxItem) -> OutboxItem: ...


class GoneHandler(Protocol):
    """Told when a target is gone; may give the copy to send instead (``bot.reminders.events``)."""

    async def target_gone(self, tx: Tx, item: OutboxItem) -> OutboxItem | None: ...


@dataclass
class _Plan:
    """One pass's choice: send now, wait for a pace slot, wait for quiet hours, give up."""

    batch: list[OutboxItem] = field(default_factory=list)
    deferred: list[tuple[OutboxItem, datetime]] = field(default_factory=list)
    held: list[tuple[OutboxItem, datetime]] = field(default_factory=list)
    unserved: list[OutboxItem] = field(default_factory=list)
    acknowledged: list[OutboxItem] = field(default_factory=list)  # repeats someone pressed Done for


class Delivery:
    def __init__(
        self,
        *,
        store: Store,
        queue: Queue,
        platforms: Mapping[str, Platform],
        render: Render,
        events: GoneHandler,
        hold: Hold,
        metrics: Metrics,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._store, self._queue, self._platforms = store, queue, platforms
        self._render, self._events, self._hold, self._metrics = render, events, hold, metrics
        self._now = now  # the moment a message actually left, for the pace (None: deliver's ``now``)
        self._pacers = {name: Pacer(p.limits) for name, p in platforms.items()}
        self.free_at: datetime | None = None  # every platform's budget is spent until then

    def serves(self, platform: str) -> bool:
        return platform in self._platforms

    async def deliver(self, now: datetime) -> int:
        """Send what is due at ``now`` within the pace; returns how many were sent. Reading
        stops once every platform's budget for this second is spent, so a backlog of 10 000
        costs a pass what it sends, not what waits."""
        self.free_at = None
        async with self._store.transaction() as tx:
            plan = await self._select(tx, now)
            for item, until in plan.held:
                await self._queue.save(tx, replace(item, not_before=until))
            for item in plan.unserved:
                await self._drop(tx, item, "platform not running")
            for item in plan.acknowledged:  # Done was pressed in another process or chat
                await self._drop(tx, item, "acknowledged")
        if plan.unserved:
            log.warning("%d alerts dropped: their platform has not run here for %s", len(plan.unserved), UNSERVED_WAIT)
        for item, slot in plan.deferred:
            self._queue.defer(item, slot)
        for item in plan.batch:
            self._queue.hold(item)
        sent = 0
        for item in plan.batch:
            try:
                sent += await self._one(item, now)
            except StoreWriteError:  # logged by the store; the alert may go once more after a restart
                self._metrics.inc("esimbot_alert_outcomes_unsaved_total", platform=item.platform)
        return sent

    async def _select(self, tx: Tx, now: datetime) -> _Plan:
        """Which due alerts leave now, which wait for their pace slot (in memory) or for quiet
        hours (stored), and which no platform of this bot has served for too long."""
        plan = _Plan()
        full: dict[str, datetime] = {}  # platform -> when its spent budget frees again
        for item in self._queue.take_due(now):
            if item.platform not in self._platforms:
                if now - item.created_at >= UNSERVED_WAIT:
                    plan.unserved.append(item)
                continue
            if item.platform in full:
                continue
            pacer, is_group = self._pacers[item.platform], item.private_user is None
            if (free := pacer.free_at(now)) > now:
                full[item.platform] = free
                if len(full) == len(self._platforms):
                    self.free_at = min(full.values())  # the rest waits; nothing more can leave now
                    break
                continue
            slot = pacer.next_slot(item.chat, is_group, now)
            if slot > now:
                plan.deferred.append((item, slot))  # pacing: in memory, not a store write
                continue
            if item.note and item.note.startswith("repeat") and item.alert.token and await tx.acknowledged(item.alert.token):
                plan.acknowledged.append(item)
                continue
            until = await self._hold(tx, item, now)
            if until is not None and until > now:
                plan.held.append((item, until))
                continue
            pacer.record(item.chat, is_group, now)
            plan.batch.append(item)
        return plan

    async def _one(self, item: OutboxItem, now: datetime) -> int:
        try:
            rendered = await self._render(item)
        except StoreWriteError:  # logged by the store; nothing left: it waits (in memory) and goes later
            self._queue.defer(item, now + STORE_RETRY)
            return 0
        try:
            await self._send(self._platforms[item.platform], item, rendered)
        except RetryLater as exc:
            self._stamp(item, now)
            async with self._store.transaction() as tx:
                await self._retry(tx, item, now, exc.retry_after)
        except ChatMoved as exc:
            async with self._store.transaction() as tx:
                await self._queue.save(tx, replace(item, chat=exc.new_chat, not_before=now))
        except TargetGone:
            async with self._store.transaction() as tx:
                await self._drop(tx, item, "target gone")
                fallback = await self._events.target_gone(tx, item)
                if fallback is not None:
                    await self._queue.enqueue(tx, fallback)
        except DeliveryError as exc:
            log.warning("alert dropped: %s", type(exc).__name__)
            async with self._store.transaction() as tx:
                await self._drop(tx, item, type(exc).__name__)
        except Exception:  # a platform bug: not the others' problem; back off, give up in the end
            log.exception("sending an alert failed unexpectedly")
            async with self._store.transaction() as tx:
                await self._retry(tx, item, now, 60.0)
        else:
            self._stamp(item, now)
            async with self._store.transaction() as tx:  # durable before the next alert leaves
                await self._queue.save(tx, replace(item, state=OutboxState.SENT))
            self._metrics.inc("esimbot_alerts_sent_total", platform=item.platform)
            return 1
        return 0

    async def _drop(self, tx: Tx, item: OutboxItem, reason: str) -> None:
        """Give the alert up for good, noting and counting why."""
        await self._queue.save(tx, replace(item, state=OutboxState.DROPPED, note=reason))
        self._metrics.inc("esimbot_alerts_dropped_total", platform=item.platform, reason=reason)

    def _stamp(self, item: OutboxItem, reserved: datetime) -> None:
        if self._now is not None:
            self._pacers[item.platform].restamp(item.chat, item.private_user is None, reserved, self._now())

    async def _send(self, platform: Platform, item: OutboxItem, rendered: Reply) -> None:
        address = (
            platform.private_address(item.private_user) if item.private_user is not None else Address(item.platform, item.chat)
        )
        reply = replace(rendered, mention=item.mention, private=item.private_user is not None)
        await platform.send(address, reply, kind=SendKind.ALERT)

    async def _retry(self, tx: Tx, item: OutboxItem, now: datetime, after: float) -> None:
        item = replace(item, attempts=item.attempts + 1)
        if item.attempts >= MAX_ATTEMPTS:
            await self._drop(tx, item, "too many attempts")
            return
        wait = max(after, min(2**item.attempts, 3600))
        await self._queue.save(tx, replace(item, not_before=now + timedelta(seconds=wait)))
