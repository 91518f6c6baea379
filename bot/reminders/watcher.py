"""What commands and webhooks tell the reminders: a line seen, removed or snoozed, a household's
settings changed, a provider's push. Each goes to its stage in the caller's unit, and the
job loop (``bot.reminders.loop``) is woken for what falls due."""

from __future__ import annotations

from datetime import datetime

from bot.clock import Clock
from bot.records import Household, Line
from bot.reminders.events import Events
from bot.reminders.loop import JobLoop
from bot.reminders.planner import Planner
from bot.reminders.poller import Poller
from bot.reminders.rules import balance_from_event
from bot.reminders.text import warning
from bot.reminders.timing import Topic
from bot.services import Notice
from bot.store import Store, Tx
from providers.base import BalanceEvent, EsimBalance


class ReminderWatcher:
    """The ``Watcher`` of ``bot.services``: what commands tell, and where webhooks land."""

    def __init__(self, *, store: Store, loop: JobLoop, poller: Poller, planner: Planner, events: Events, clock: Clock) -> None:
        self._store, self._loop, self._poller, self._planner = store, loop, poller, planner
        self._events, self._clock = events, clock

    async def line_seen(self, tx: Tx, line: Line, balance: EsimBalance | None, *, fresh_cycle: bool = False) -> list[Notice]:
        household = await tx.household(line.household_id)
        now = self._clock.now()
        tx.after_commit(self._loop.poke)
        if balance is None or household is None:
            await tx.set_due(line.id, now)
            self._loop.soon(now)
            return []
        crossed = await self._poller.seen(tx, line, household, balance, now, fresh_cycle=fresh_cycle)
        due = await tx.due(line.id)
        if due is not None:
            self._loop.soon(due)
        msgid = warning(crossed) if fresh_cycle else None
        return [Notice(msgid, {"label": line.label})] if msgid else []

    async def line_removed(self, tx: Tx, line: Line) -> None:
        await self._events.line_removed(tx, line)

    async def line_snoozed(self, tx: Tx, line: Line, topic: Topic, until: datetime) -> None:
        await self._events.snoozed(tx, line, topic, until)

    async def acknowledged(self, tx: Tx, token: str) -> int:
        return await self._events.acknowledged(tx, token)

    async def household_changed(self, tx: Tx, household: Household) -> None:
        await self._events.quiet_changed(tx, household)
        tx.after_commit(self._loop.poke)

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
        self._loop.soon(at)
        self._loop.poke()
        return True
