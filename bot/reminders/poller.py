"""The poller, the first stage: which lines are due for a provider look, and the look.

``sweep`` claims the due lines (a lease, so several workers could share them), asks each
provider outside any unit of work (at most ``CONCURRENCY`` at a time per provider), then in
one unit per line stores the sample, hands the balance to the planner and schedules the
next look: the cadence for what the provider last said of the line (``Cadence``), sooner
just after a predicted threshold or the expiry, never sooner than the provider's minimum
interval. Lines that cannot change (recycled, cancelled) are looked at about daily, one at
a time per provider and only after the sweep's live lines, so they never take the live
lines' turn. A webhook asks for a look at once, but not inside that interval: its own
figures are planned then, and the look follows when allowed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.metrics import Metrics
from bot.records import Household, Line
from bot.reminders.deadlines import ahead
from bot.reminders.forecast import runs_out
from bot.reminders.rules import next_crossing
from bot.store import Store, Tx
from providers.base import EsimBalance, HandTracked, Provider, Status
from providers.errors import ProviderError, TryLater

log = logging.getLogger(__name__)
MIN_GAP = timedelta(minutes=1)
STEP = timedelta(seconds=30)  # look just past a predicted moment, so the threshold shows
CADENCE = timedelta(hours=1)
ERROR_RETRY = timedelta(minutes=15)
LEASE = timedelta(minutes=5)
POLL_TIMEOUT = 60.0  # seconds for one balance call: a hung provider must not stall every reminder
CONCURRENCY = 4
BATCH = 200


@dataclass(frozen=True)
class Cadence:
    """How often a line is looked at, by the status its provider last reported.

    ``active`` for a line in use (and anything not listed), ``inactive`` for one not yet
    activated (nothing is used until it is; its first use also arrives by webhook),
    ``terminal`` for a recycled or cancelled eSIM (only a reactivation could change it).
    A provider's minimum interval always wins when it is longer.
    """

    active: timedelta = CADENCE
    inactive: timedelta = timedelta(hours=6)
    terminal: timedelta = timedelta(hours=24)

    def of(self, status: Status | None) -> timedelta:
        if status is Status.TERMINATED:
            return self.terminal
        if status is Status.NOT_ACTIVE:
            return self.inactive
        return self.active


@dataclass
class _Look:
    """One claimed line, read in phase one of a sweep, asked in phase two."""

    line: Line
    household: Household
    provider: Provider
    balance: EsimBalance | None
    fresh: bool

    @property
    def dormant(self) -> bool:
        return self.balance is not None and self.balance.status is Status.TERMINATED


class Observer(Protocol):
    """The next stage (``bot.reminders.planner.Planner``)."""

    async def observe(
        self, tx: Tx, line: Line, household: Household, balance: EsimBalance, now: datetime, *, fresh_cycle: bool = False
    ) -> list[str]: ...


class Poller:
    def __init__(
        self,
        *,
        store: Store,
        providers: Mapping[str, Provider],
        planner: Observer,
        clock: Clock,
        metrics: Metrics,
        cadence: Cadence | None = None,
    ) -> None:
        self._store, self._providers, self._planner = store, providers, planner
        self._clock, self._metrics = clock, metrics
        self.cadence = cadence or Cadence()
        self._owner = "poller-" + secrets.token_hex(4)
        self._polled: dict[str, datetime] = {}  # line id -> the last provider look, in this process
        self._limits = {name: asyncio.Semaphore(CONCURRENCY) for name in providers}
        self._dormant = {name: asyncio.Semaphore(1) for name in providers}
        self.last_poll_ok: dict[str, datetime] = {}

    async def sweep(self, now: datetime) -> None:
        while True:
            async with self._store.transaction() as tx:
                due = await tx.claim_due_lines(self._owner, now, LEASE, BATCH)
            looks = [look for look in await asyncio.gather(*(self._prepare(i, now) for i in due)) if look]
            await asyncio.gather(*(self._ask(look, now) for look in looks if not look.dormant))
            await asyncio.gather(*(self._ask(look, now) for look in looks if look.dormant))
            if len(due) < BATCH:
                return

    def intervals(self, line: Line, status: Status | None = None) -> tuple[timedelta, timedelta]:
        """(shortest gap between two looks at one eSIM, cadence for ``status``) for its provider."""
        provider = self._providers.get(line.provider)
        shortest = timedelta(seconds=provider.min_poll_seconds if provider else 6 * 3600)
        return shortest, max(shortest, self.cadence.of(status))

    async def _prepare(self, line_id: str, now: datetime) -> _Look | None:
        async with self._store.transaction() as tx:
            line = await tx.line(line_id)
            household = await tx.household(line.household_id) if line else None
            balance = await tx.last_balance(line_id) if line else None
            if line is None or household is None:
                await tx.set_due(line_id, None)
                return None
            provider = self._providers.get(line.provider)
            if provider is None or not (household.active or household.chats):  # nobody reads it: rest
                await tx.set_due(line_id, now + self.intervals(line)[1])
                return None
        polled = self._polled.get(line.id)
        fresh = balance is None or polled is None or now - polled >= self.intervals(line)[0]
        return _Look(line, household, provider, balance, fresh)

    async def _ask(self, look: _Look, now: datetime) -> None:
        line, balance = look.line, look.balance
        if look.fresh:
            lane = self._dormant if look.dormant else self._limits
            try:
                async with lane.setdefault(line.provider, asyncio.Semaphore(1 if look.dormant else CONCURRENCY)):
                    balance = await asyncio.wait_for(look.provider.balance(line.ref), POLL_TIMEOUT)
            except Exception as exc:  # an outage, no answer in time, or an adapter breaking its contract
                if not isinstance(exc, ProviderError):
                    log.warning("balance of a %s line failed: %s", line.provider, type(exc).__name__)
                self._metrics.inc("esimbot_provider_calls_total", provider=line.provider, outcome=type(exc).__name__)
                wait = timedelta(seconds=exc.retry_after) if isinstance(exc, TryLater) and exc.retry_after else ERROR_RETRY
                async with self._store.transaction() as tx:
                    await tx.set_due(line.id, now + max(wait, MIN_GAP))
                return
            self._metrics.inc("esimbot_provider_calls_total", provider=line.provider, outcome="ok")
            self._polled[line.id] = now
            self.last_poll_ok[line.provider] = now
        assert balance is not None
        async with self._store.transaction() as tx:
            if await tx.line(line.id) is None:
                return  # unlinked while we asked: nothing more about it
            if look.fresh:
                await tx.add_sample(line.id, balance)
            await self._planner.observe(tx, line, look.household, balance, now)
            await tx.set_due(line.id, await self.next_look(tx, line, look.household, balance, now))

    async def seen(
        self, tx: Tx, line: Line, household: Household, balance: EsimBalance, now: datetime, *, fresh_cycle: bool = False
    ) -> list[str]:
        """A command just looked (link, top-up, /balance): the same path as a poll, no provider call."""
        self._polled[line.id] = now
        crossed = await self._planner.observe(tx, line, household, balance, now, fresh_cycle=fresh_cycle)
        await tx.set_due(line.id, await self.next_look(tx, line, household, balance, now))
        return crossed

    async def next_look(self, tx: Tx, line: Line, household: Household, balance: EsimBalance, now: datetime) -> datetime:
        """The normal cadence, or just after the next expiry moment, or just after the
        predicted data crossing (but no sooner than the provider allows a fresh look)."""
        shortest, cadence = self.intervals(line, balance.status)
        polled = self._polled.get(line.id, now)
        nxt = polled + cadence
        state = await tx.alert_state(line.id) if balance.status is not Status.TERMINATED else None
        if state is not None:
            settings = line.reminders or household.reminders
            hand_tracked = isinstance(self._providers.get(line.provider), HandTracked)
            deadlines = await ahead(tx, line, household, balance, hand_tracked=hand_tracked)
            expiry, data = next_crossing(balance, settings, state, runs_out(balance, await tx.samples(line.id)), deadlines)
            if expiry is not None:
                nxt = min(nxt, expiry + STEP)
            if data is not None:
                nxt = min(nxt, max(data + STEP, polled + shortest))
        return max(nxt, now + MIN_GAP)

    async def webhook(self, tx: Tx, line: Line, now: datetime) -> datetime:
        """A provider pushed news about the line: look at once, or, inside the provider's
        minimum interval since the last look, as soon as it allows (a webhook must not break
        the rate budget; what the event itself says is planned at once by the caller)."""
        polled = self._polled.get(line.id)
        at = now if polled is None or now - polled >= self.intervals(line)[0] else polled + self.intervals(line)[0]
        if at == now:
            self._polled.pop(line.id, None)  # a fresh provider call, not the last balance
        due = await tx.due(line.id)
        await tx.set_due(line.id, at if due is None else min(due, at))
        return at
