"""The job queue: due line checks kept in the store, one loop that sleeps until the next.

Lines are polled at their provider's cadence and sooner when a threshold or the expiry is
near. A sweep claims the due lines (a lease, so several workers could share them), asks
each provider outside any unit of work, then writes the sample, the reminder state, the
alerts and the next due time of that line in one unit: a crash never separates an
"announced" mark from its alert. After a restart overdue lines are polled once and their
alerts collapse into one message each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot import alerts
from bot.clock import Clock
from bot.context import Notice
from bot.errors import StoreWriteError
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.records import Alert, Household, Line, OutboxItem
from bot.reminders import evaluate, forecast, make_alert, next_crossing
from bot.store import Store, Tx
from providers.base import BalanceEvent, EsimBalance, Provider
from providers.errors import ProviderError, RateLimited

log = logging.getLogger(__name__)
MIN_GAP = timedelta(minutes=1)
STEP = timedelta(seconds=30)  # look just past a predicted moment, so the threshold shows
CADENCE = timedelta(hours=1)
ERROR_RETRY = timedelta(minutes=15)
LEASE = timedelta(minutes=5)
POLL_TIMEOUT = 60.0  # seconds for one balance call: a hung provider must not stall every reminder
MAX_SLEEP = 300.0
CONCURRENCY = 4
BATCH = 200
FORECAST_SAMPLES = 24  # the recent pace: about a day of hourly looks


def _key(alert: Alert) -> str:
    """The threshold key an alert headlines (``data:5``, ``expired``), as the rules name it."""
    return alert.kind if alert.threshold is None else f"{alert.kind}:{alert.threshold}"


class JobQueue:
    def __init__(self, *, store: Store, providers: Mapping[str, Provider], outbox: Outbox, clock: Clock,
                 metrics: Metrics, sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self._store, self._providers, self._outbox = store, providers, outbox
        self._clock, self._metrics, self._sleep = clock, metrics, sleep
        self._owner = "jobs-" + secrets.token_hex(4)
        self._polled: dict[str, datetime] = {}
        self._next_due: datetime | None = None
        self.last_poll_ok: dict[str, datetime] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._limits = {name: asyncio.Semaphore(CONCURRENCY) for name in providers}

    # -- the loop -----------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="job-queue")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        backoff = 0.0
        while True:
            try:
                await self.run_due()
                backoff = 0.0
            except StoreWriteError:  # the store logs it (once a minute); try again, less and less often
                backoff = min(max(2 * backoff, 1.0), 60.0)
            except Exception:
                log.exception("job queue sweep failed; trying again shortly")
            nxt = self.next_wake()
            delay = MAX_SLEEP if nxt is None else (nxt - self._clock.now()).total_seconds()
            delay = max(delay, backoff)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(max(delay, 0.05), MAX_SLEEP))

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def poke(self) -> None:
        self._wake.set()

    def next_wake(self) -> datetime | None:
        times = [t for t in (self._next_due, self._outbox.next_wake()) if t is not None]
        return min(times) if times else None

    async def refresh(self) -> None:
        async with self._store.transaction() as tx:
            self._next_due = await tx.next_due()

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

    async def run_due(self) -> None:
        now = self._clock.now()
        while True:
            async with self._store.transaction() as tx:
                due = await tx.claim_due_lines(self._owner, now, LEASE, BATCH)
            await asyncio.gather(*(self._poll(line_id, now) for line_id in due))
            if len(due) < BATCH:
                break
        await self._outbox.deliver(self._clock.now(), self._fallback, self._quiet)
        await self.refresh()

    # -- polling ------------------------------------------------------------------------
    def _intervals(self, line: Line) -> tuple[timedelta, timedelta]:
        """(shortest gap between two polls of one eSIM, normal cadence) for its provider."""
        provider = self._providers.get(line.provider)
        shortest = timedelta(seconds=provider.min_poll_seconds if provider else 6 * 3600)
        return shortest, max(shortest, CADENCE)

    async def _poll(self, line_id: str, now: datetime) -> None:
        async with self._store.transaction() as tx:
            line = await tx.line(line_id)
            household = await tx.household(line.household_id) if line else None
            balance = await tx.last_balance(line_id) if line else None
            if line is None or household is None:
                await tx.set_due(line_id, None)
                return
            provider = self._providers.get(line.provider)
            if provider is None or not household.active:
                await tx.set_due(line_id, now + self._intervals(line)[1])
                return
        polled = self._polled.get(line.id)
        fresh = balance is None or polled is None or now - polled >= self._intervals(line)[0]
        if fresh:
            try:
                async with self._limits.setdefault(line.provider, asyncio.Semaphore(CONCURRENCY)):
                    balance = await asyncio.wait_for(provider.balance(line.ref), POLL_TIMEOUT)
            except Exception as exc:  # an outage, no answer in time, or an adapter breaking its contract
                if not isinstance(exc, ProviderError):
                    log.warning("balance of a %s line failed: %s", line.provider, type(exc).__name__)
                self._metrics.inc("esimbot_provider_calls_total", provider=line.provider, outcome=type(exc).__name__)
                wait = timedelta(seconds=exc.retry_after or 60) if isinstance(exc, RateLimited) else ERROR_RETRY
                async with self._store.transaction() as tx:
                    await tx.set_due(line_id, now + max(wait, MIN_GAP))
                return
            self._metrics.inc("esimbot_provider_calls_total", provider=line.provider, outcome="ok")
            self._polled[line.id] = now
            self.last_poll_ok[line.provider] = now
        assert balance is not None
        async with self._store.transaction() as tx:
            if await tx.line(line_id) is None:
                return  # unlinked while we asked: nothing more about it
            if fresh:
                await tx.add_sample(line.id, balance)
            await self._observe(tx, line, household, balance, now)
            await tx.set_due(line_id, await self._next_poll(tx, line, household, balance, now))

    async def _next_poll(self, tx: Tx, line: Line, household: Household, balance: EsimBalance,
                         now: datetime) -> datetime:
        """The normal cadence, or just after the next expiry moment, or just after the
        predicted data crossing (but no sooner than the provider allows a fresh poll)."""
        shortest, cadence = self._intervals(line)
        polled = self._polled.get(line.id, now)
        nxt = polled + cadence
        state = await tx.alert_state(line.id)
        if state is not None:
            settings = line.reminders or household.reminders
            expiry, data = next_crossing(balance, settings, state, await self.forecast(tx, line, balance))
            if expiry is not None:
                nxt = min(nxt, expiry + STEP)
            if data is not None:
                nxt = min(nxt, max(data + STEP, polled + shortest))
        return max(nxt, now + MIN_GAP)

    async def _observe(self, tx: Tx, line: Line, household: Household, balance: EsimBalance, now: datetime,
                       *, fresh_cycle: bool = False) -> list[str]:
        settings = line.reminders or household.reminders
        before = await tx.alert_state(line.id)
        result = evaluate(before, balance, settings, now, fresh_cycle=fresh_cycle)
        if result is None:
            return []
        if result.new_cycle and before is not None:  # topped up: an unsent alert that is no longer true is stale
            still = set(result.crossed)
            await self._outbox.drop(tx, lambda item: item.line_id == line.id and _key(item.alert) not in still,
                                    "new cycle")
        if result.due and household.active:
            await self._enqueue(tx, line, household, result.due, balance, now)
        await tx.save_alert_state(line.id, result.state)  # same unit as the alert: both or neither
        return list(result.crossed) if result.new_cycle else []

    async def _enqueue(self, tx: Tx, line: Line, household: Household, keys: tuple[str, ...],
                       balance: EsimBalance, now: datetime) -> None:
        alert = make_alert(keys, line.label, line.provider, balance, await self.forecast(tx, line, balance))
        platform, chat = household.id.split(":", 1)
        not_before = alerts.quiet_until(household, now) or now
        reachable: set[str] | None = set() if await tx.get_state("unreachable", line.owner) else None
        for private_user, mention in alerts.targets(line, household, line.reminders or household.reminders, reachable):
            await self._outbox.enqueue(tx, OutboxItem(
                id=secrets.token_hex(6), line_id=line.id, household_id=household.id, platform=platform, chat=chat,
                alert=alert, created_at=now, not_before=not_before, private_user=private_user, mention=mention))
        tx.after_commit(self.poke)

    async def _quiet(self, tx: Tx, item: OutboxItem, now: datetime) -> datetime | None:
        """Quiet hours are checked again at send time: a retry or the pace may run into them."""
        household = await tx.household(item.household_id)
        return alerts.quiet_until(household, now) if household is not None else None

    async def _fallback(self, tx: Tx, item: OutboxItem) -> OutboxItem | None:
        """A target is gone: a blocked owner gets the alert in the group, a lost group in private.
        Never when the other target had its own copy (target ``both``), is known gone too, or
        this item already was the fallback: that would repeat it or bounce it back and forth."""
        line = await tx.line(item.line_id)
        household = await tx.household(item.household_id)
        if line is None or household is None or not household.is_group:
            return None
        both = (line.reminders or household.reminders).target == "both"
        fallback = item.note is not None and item.note.startswith("fallback")
        if item.private_user is not None:
            await tx.put_state("unreachable", line.owner, True)
            if both or fallback or not household.active:
                return None
            return OutboxItem(id=secrets.token_hex(6), line_id=item.line_id, household_id=item.household_id,
                              platform=item.platform, chat=item.chat, alert=item.alert, created_at=item.created_at,
                              not_before=self._clock.now(), mention=item.private_user, note="fallback from private")
        owner_gone = bool(await tx.get_state("unreachable", line.owner))
        await self._leave(tx, item.platform, item.chat)
        if both or fallback or owner_gone:
            return None
        owner = line.owner.split(":", 1)[1]
        return OutboxItem(id=secrets.token_hex(6), line_id=item.line_id, household_id=item.household_id,
                          platform=item.platform, chat=item.chat, alert=item.alert, created_at=item.created_at,
                          not_before=self._clock.now(), private_user=owner, note="fallback from group")

    # -- what handlers and webhooks tell us (the Watcher protocol) ----------------------
    async def line_seen(self, tx: Tx, line: Line, balance: EsimBalance | None, *,
                        fresh_cycle: bool = False) -> list[Notice]:
        household = await tx.household(line.household_id)
        now = self._clock.now()
        tx.after_commit(self.poke)
        if balance is None or household is None:
            await tx.set_due(line.id, now)
            self._next_due = now
            return []
        self._polled[line.id] = now
        crossed = await self._observe(tx, line, household, balance, now, fresh_cycle=fresh_cycle)
        nxt = await self._next_poll(tx, line, household, balance, now)
        await tx.set_due(line.id, nxt)
        self._next_due = min(self._next_due or nxt, nxt)
        msgid = alerts.warning(crossed) if fresh_cycle else None
        return [Notice(msgid, {"label": line.label})] if msgid else []

    async def line_removed(self, tx: Tx, line: Line) -> None:
        await tx.set_due(line.id, None)
        await self._outbox.drop(tx, lambda item: item.line_id == line.id, "line removed")

    async def forecast(self, tx: Tx, line: Line, balance: EsimBalance) -> datetime | None:
        if balance.data_unlimited:
            return None
        return forecast((await tx.samples(line.id))[-FORECAST_SAMPLES:])

    async def submit_event(self, event: BalanceEvent) -> bool:
        """A provider pushed news about an eSIM: evaluate that line at once."""
        async with self._store.transaction() as tx:
            line = await tx.line_by_ref(event.iccid)
            if line is None or line.provider != event.provider:
                return False
            self._polled.pop(line.id, None)
            now = self._clock.now()
            await tx.set_due(line.id, now)
        self._next_due = now
        self.poke()
        return True

    # -- chat events from platforms (the ChatEvents protocol) ---------------------------
    async def chat_moved(self, platform: str, old_chat: str, new_chat: str) -> None:
        async with self._store.transaction() as tx:
            await tx.move_household(f"{platform}:{old_chat}", f"{platform}:{new_chat}")
            await self._outbox.move_chat(tx, platform, old_chat, new_chat)

    async def chat_left(self, platform: str, chat: str) -> None:
        async with self._store.transaction() as tx:
            await self._leave(tx, platform, chat)

    async def _leave(self, tx: Tx, platform: str, chat: str) -> None:
        household = await tx.household(f"{platform}:{chat}")
        if household is not None and household.active:
            await tx.save_household(replace(household, active=False))
        await self._outbox.drop(tx, lambda i: i.platform == platform and i.chat == chat and i.private_user is None,
                                "chat left")

    async def user_unreachable(self, platform: str, user: str) -> None:
        async with self._store.transaction() as tx:
            await tx.put_state("unreachable", f"{platform}:{user}", True)

    def health(self) -> dict[str, Any]:
        nxt = self.next_wake()
        return {"next_due": nxt.isoformat() if nxt else None, "outbox_backlog": self._outbox.backlog,
                "last_poll_ok": {p: t.isoformat() for p, t in self.last_poll_ok.items()}}
