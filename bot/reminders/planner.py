"""The planner: a new balance of a line -> the pure rules -> alerts in the queue.

``observe`` runs ``bot.reminders.evaluate`` (pure, clock-free) on the line's reminder state
and the balance, drops unsent alerts that a new bundle cycle made untrue, and queues the due
alert once per recipient (``Audience``), not before the household's quiet hours end; the new
reminder state is written in the same unit as the alert, so a crash keeps both or neither.
``hold`` is asked again at send time, since a retry or the pace can run into quiet hours.
A household that wants critical alerts repeated until someone presses Done gets the repeats
queued with the alert (``timing.repeats``), all under one token that Done drops; a private
reminder its owner cannot get brings one note to the family chat a week (``notes``).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.audience import Audience
from bot.names import PlatformName
from bot.records import Alert, AlertKind, Household, Line, OutboxItem
from bot.reminders import notes, timing
from bot.reminders.deadlines import ahead
from bot.reminders.forecast import runs_out
from bot.reminders.rules import evaluate, is_critical, make_alert, outruns_snooze
from bot.reminders.timing import Topic
from bot.store import Tx
from providers.base import EsimBalance

REPEAT = "repeat"  # the note of a queued repeat of an alert (``OutboxItem.note``: ``repeat:2``)


class Queue(Protocol):
    """What the planner needs of the alert queue (``bot.reminders.queue.AlertQueue``)."""

    async def enqueue(self, tx: Tx, item: OutboxItem) -> OutboxItem: ...
    async def drop(self, tx: Tx, predicate: Callable[[OutboxItem], bool], note: str) -> None: ...


Operators = Callable[[Line], Awaitable[str | None]]
"""A line kept by hand: its operator (``"other"`` when none was named), so its alert points to
``/howto telenor``; None for a line the bot can read (a capability of its provider, not a name)."""


class Planner:
    def __init__(
        self, *, queue: Queue, audience: Audience, operators: Operators, on_queued: Callable[[], None] = lambda: None
    ) -> None:
        self._queue, self._audience, self._operators, self._on_queued = queue, audience, operators, on_queued

    async def observe(
        self, tx: Tx, line: Line, household: Household, balance: EsimBalance, now: datetime, *, fresh_cycle: bool = False
    ) -> list[str]:
        """Queue what is due; returns the thresholds a new cycle starts past (said in the reply)."""
        settings = line.reminders or household.reminders
        before = await tx.alert_state(line.id)
        operator = await self._operators(line)
        deadlines = await ahead(tx, line, household, balance, hand_tracked=operator is not None)
        result = evaluate(before, balance, settings, now, fresh_cycle=fresh_cycle, deadlines=deadlines)
        if result is None:
            return []
        if result.new_cycle and before is not None:  # topped up: an unsent alert that is no longer true is stale
            still = set(result.crossed)
            await self._queue.drop(tx, lambda i: i.line_id == line.id and i.alert.key not in still, "new cycle")
        chats = await _reading(tx, household) if result.due else []
        if chats:  # the family's chats the bot is still in
            alert = make_alert(
                result.due,
                line.label,
                line.provider,
                balance,
                runs_out(balance, await tx.samples(line.id)),
                operator,
            )
            if alert.kind is AlertKind.KEEPALIVE:
                alert = replace(alert, at=deadlines.keepalive)
            if household.reminders.repeat and is_critical(alert, settings):
                alert = replace(alert, token=secrets.token_hex(6))  # Done under it: /done <line> <token>
            await self._queue_alert(tx, line, household, chats, alert, now)
        await tx.save_alert_state(line.id, result.state)
        return list(result.crossed) if result.new_cycle else []

    async def _queue_alert(
        self, tx: Tx, line: Line, household: Household, chats: list[Household], alert: Alert, now: datetime
    ) -> None:
        """One copy per reader, not before the quiet hours (and a snooze of its topic) end;
        an alert that repeats until Done brings its repeats and ends the line's older ones."""
        not_before = await self._start(tx, line, household, alert, now)
        repeating = alert.token is not None and not alert.kind.startswith("auto")  # renewal's token is its Cancel
        if repeating:
            await self._queue.drop(tx, lambda i: i.line_id == line.id and is_repeat(i), "superseded")
        reachable = not await tx.unreachable(line.owner)
        if not reachable and household.family and (line.reminders or household.reminders).target != "group":
            await notes.unreachable(tx, self._queue, line, household, now)
        repeats = household.reminders
        every = timedelta(hours=max(repeats.repeat_hours, 1))
        moments = timing.repeats(household, not_before, every, repeats.repeat_times) if repeating else []
        for to in self._audience.targets(line, household, owner_reachable=reachable, chats=chats, news=alert):
            item = OutboxItem(
                id=secrets.token_hex(6),
                line_id=line.id,
                household_id=household.id,
                platform=PlatformName(to.platform),
                chat=to.chat,
                alert=alert,
                created_at=now,
                not_before=not_before,
                private_user=to.private_user,
                mention=to.mention,
            )
            await self._queue.enqueue(tx, item)
            for n, at in enumerate(moments, 1):
                await self._queue.enqueue(tx, replace(item, id=secrets.token_hex(6), not_before=at, note=f"{REPEAT}:{n}"))
        tx.after_commit(self._on_queued)

    @staticmethod
    async def _start(tx: Tx, line: Line, household: Household, alert: Alert, now: datetime) -> datetime:
        """When the alert may leave: after the quiet hours and a snooze of its topic (a
        snooze never holds back that the line ran out, nor renewal news)."""
        not_before = timing.quiet_until(household, now) or now
        if alert.kind.startswith("auto") and alert.note == "dry":
            return now  # ordered at once because the line would run dry: said at once too
        if alert.kind.startswith("auto") or outruns_snooze(alert):
            return not_before
        snooze = await tx.snoozed_until(line.id, Topic.of(alert.kind), now)
        return not_before if snooze is None else max(not_before, snooze)  # the queue keeps one per recipient

    async def announce(self, tx: Tx, line: Line, household: Household, alert: Alert, now: datetime) -> None:
        """Automatic renewal's news (notice, receipt, failure) to the line's readers, after
        the quiet hours like any alert; in the caller's unit."""
        chats = await _reading(tx, household)
        if chats:
            await self._queue_alert(tx, line, household, chats, alert, now)

    @staticmethod
    async def hold(tx: Tx, item: OutboxItem, now: datetime) -> datetime | None:
        """Until when a due alert must still wait: the end of its household's quiet hours."""
        household = await tx.household(item.household_id)
        if household is None or (item.alert.kind.startswith("auto") and item.alert.note == "dry"):
            return None
        return timing.quiet_until(household, now)


def is_repeat(item: OutboxItem) -> bool:
    return item.note is not None and item.note.startswith(REPEAT)


async def _reading(tx: Tx, household: Household) -> list[Household]:
    """The household and the chats that joined it, those the bot is still in."""
    joined = [await tx.household(key) for key in household.chats]
    return [chat for chat in (household, *joined) if chat is not None and chat.active]
