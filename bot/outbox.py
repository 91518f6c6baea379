"""The outbox: every alert is stored before it is sent and marked after, paced per platform.

Each alert is marked sent in a unit of its own right after the platform took it, before
the next one goes out, so a crash re-sends at most the one alert that was in flight. The
queue in memory mirrors what is committed (updated only after a unit is durable). Delivery
errors from the platform decide what happens next: wait (RetryLater), move (ChatMoved),
fall back to the other target (TargetGone), or drop (Undeliverable).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from bot.errors import StoreWriteError
from bot.messages import Address, Reply
from bot.metrics import Metrics
from bot.pacer import Pacer
from bot.platforms.base import ChatMoved, DeliveryError, Platform, RetryLater, TargetGone
from bot.records import Alert, OutboxItem
from bot.reminders import SEVERITY
from bot.store import Store, Tx

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
Render = Callable[[OutboxItem], Awaitable[str]]
OnGone = Callable[[Tx, OutboxItem], Awaitable[OutboxItem | None]]
Hold = Callable[[Tx, OutboxItem, datetime], Awaitable[datetime | None]]


def _rank(alert: Alert) -> tuple[int, int]:
    """Lower is more severe (bot.reminders.SEVERITY; a lower threshold is closer to the end)."""
    kind = SEVERITY.index(alert.kind) if alert.kind in SEVERITY else len(SEVERITY)
    return kind, alert.threshold or 0


def _key(item: OutboxItem) -> tuple[str, str, str, str | None]:
    """Alerts with the same key collapse while unsent: one line, one chat, one recipient."""
    return item.line_id, item.platform, item.chat, item.private_user


def _order(item: OutboxItem) -> tuple[datetime, datetime, str, str, str]:
    """Due first, then oldest; ties in a fixed order (chat, line label, recipient), so the
    same story sends in the same order whatever ids the items got."""
    return item.not_before, item.created_at, item.household_id, item.alert.label, item.private_user or ""


class Outbox:
    def __init__(self, *, store: Store, platforms: Mapping[str, Platform], render: Render, metrics: Metrics,
                 now: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._now = now  # the moment a message actually left, for the pace (None: deliver's ``now``)
        self._platforms = platforms
        self._render = render
        self._metrics = metrics
        self._pacers = {name: Pacer(p.limits) for name, p in platforms.items()}
        self._pending: dict[str, OutboxItem] = {}
        self._by_key: dict[tuple[str, str, str, str | None], str] = {}  # checked against _pending
        metrics.gauge("esimbot_outbox_backlog", lambda: len(self._pending))

    async def load(self) -> None:
        """Read the alerts still to be sent (at start)."""
        async with self._store.transaction() as tx:
            for item in await tx.outbox_pending():
                self._mirror(item)

    @property
    def backlog(self) -> int:
        return len(self._pending)

    async def enqueue(self, tx: Tx, item: OutboxItem) -> OutboxItem:
        """Store the alert; a still-unsent alert for the same line and chat is replaced, so
        several stale alerts collapse into one message about the current situation."""
        old = self._pending.get(self._by_key.get(_key(item), ""))
        if old is not None and _key(old) == _key(item):
            alert = item.alert
            if _rank(old.alert) < _rank(alert):  # the worse news stays the headline, with today's numbers
                alert = replace(alert, kind=old.alert.kind, threshold=old.alert.threshold)
            item = replace(item, id=old.id, alert=alert, created_at=old.created_at,
                           not_before=max(old.not_before, item.not_before))
        await self._save(tx, item)
        return item

    async def drop(self, tx: Tx, predicate: Callable[[OutboxItem], bool], note: str) -> None:
        for item in [i for i in self._pending.values() if predicate(i)]:
            await self._save(tx, replace(item, state="dropped", note=note))

    async def move_chat(self, tx: Tx, platform: str, old_chat: str, new_chat: str) -> None:
        for item in [i for i in self._pending.values() if i.platform == platform and i.chat == old_chat]:
            await self._save(tx, replace(item, chat=new_chat, household_id=f"{platform}:{new_chat}"))

    def next_wake(self) -> datetime | None:
        times = [i.not_before for i in self._pending.values() if i.platform in self._platforms]
        return min(times) if times else None

    async def deliver(self, now: datetime, on_gone: OnGone, hold: Hold | None = None) -> int:
        """Send what is due at ``now`` within the pace; returns how many were sent. ``hold``
        says until when an item must still wait (quiet hours that a retry or the pace ran into)."""
        due = sorted((i for i in self._pending.values() if i.not_before <= now and i.platform in self._platforms),
                     key=_order)
        if not due:
            return 0
        batch: list[OutboxItem] = []
        async with self._store.transaction() as tx:
            for item in due:
                until = await hold(tx, item, now) if hold is not None else None
                if until is not None and until > now:
                    await self._save(tx, replace(item, not_before=until))
                    continue
                pacer, is_group = self._pacers[item.platform], item.private_user is None
                slot = pacer.next_slot(item.chat, is_group, now)
                if slot > now:
                    self._pending[item.id] = replace(item, not_before=slot)  # pacing: in memory, not a store write
                    continue
                pacer.record(item.chat, is_group, now)
                batch.append(item)
        for item in batch:  # in flight: a new alert enqueued meanwhile must not collapse into it
            self._pending.pop(item.id, None)
        sent = 0
        for item in batch:
            try:
                sent += await self._deliver_one(item, now, on_gone)
            except StoreWriteError:  # logged by the store; the alert may go once more after a restart
                self._metrics.inc("esimbot_alert_outcomes_unsaved_total", platform=item.platform)
        return sent

    async def _deliver_one(self, item: OutboxItem, now: datetime, on_gone: OnGone) -> int:
        try:
            await self._send(self._platforms[item.platform], item)
        except RetryLater as exc:
            self._stamp(item, now)
            async with self._store.transaction() as tx:
                await self._retry(tx, item, now, exc.retry_after)
        except ChatMoved as exc:
            async with self._store.transaction() as tx:
                await self._save(tx, replace(item, chat=exc.new_chat, not_before=now))
        except TargetGone:
            async with self._store.transaction() as tx:
                await self._save(tx, replace(item, state="dropped", note="target gone"))
                fallback = await on_gone(tx, item)
                if fallback is not None:
                    await self.enqueue(tx, fallback)
        except DeliveryError as exc:
            log.warning("alert dropped: %s", type(exc).__name__)
            async with self._store.transaction() as tx:
                await self._save(tx, replace(item, state="dropped", note=type(exc).__name__))
        except Exception:  # a platform bug: not the others' problem; back off, give up in the end
            log.exception("sending an alert failed unexpectedly")
            async with self._store.transaction() as tx:
                await self._retry(tx, item, now, 60.0)
        else:
            self._stamp(item, now)
            async with self._store.transaction() as tx:  # durable before the next alert leaves
                await self._save(tx, replace(item, state="sent"))
            self._metrics.inc("esimbot_alerts_sent_total", platform=item.platform)
            return 1
        return 0

    def _stamp(self, item: OutboxItem, reserved: datetime) -> None:
        if self._now is not None:
            self._pacers[item.platform].restamp(item.chat, item.private_user is None, reserved, self._now())

    async def _send(self, platform: Platform, item: OutboxItem) -> None:
        if item.private_user is not None:
            address = platform.private_address(item.private_user)
        else:
            address = Address(item.platform, item.chat)
        reply = Reply(await self._render(item), mention=item.mention, private=item.private_user is not None)
        await platform.send(address, reply, kind="alert")

    async def _retry(self, tx: Tx, item: OutboxItem, now: datetime, after: float) -> None:
        item = replace(item, attempts=item.attempts + 1)
        if item.attempts >= MAX_ATTEMPTS:
            await self._save(tx, replace(item, state="dropped", note="too many attempts"))
            return
        wait = max(after, min(2 ** item.attempts, 3600))
        await self._save(tx, replace(item, not_before=now + timedelta(seconds=wait)))

    async def _save(self, tx: Tx, item: OutboxItem) -> None:
        await tx.save_outbox(item)
        tx.after_commit(lambda: self._mirror(item))

    def _mirror(self, item: OutboxItem) -> None:
        if item.state == "pending":
            self._pending[item.id] = item
            self._by_key[_key(item)] = item.id
        else:
            self._pending.pop(item.id, None)
            if self._by_key.get(_key(item)) == item.id:
                del self._by_key[_key(item)]
