"""News that flows backwards, against the pipeline: one handler each, none calling a stage.

Platforms report chats and users (``chat_moved``, ``chat_left``, ``user_unreachable``: the
``ChatEvents`` protocol of ``bot.platforms.base``); delivery reports a target that is gone
(``target_gone``, which may give the copy to send instead); commands report a line removed
and quiet hours changed. Each handler changes the store in one unit, and the alert queue.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from bot.names import PlatformName
from bot.records import Household, Line, OutboxItem, OutboxState
from bot.reminders import notes, timing
from bot.reminders.rules import outruns_snooze
from bot.reminders.timing import Topic
from bot.store import Store, Tx


class Queue(Protocol):
    """What the handlers need of the alert queue (``bot.reminders.queue.AlertQueue``)."""

    def waiting(self) -> Iterator[OutboxItem]: ...
    async def save(self, tx: Tx, item: OutboxItem) -> None: ...
    async def enqueue(self, tx: Tx, item: OutboxItem) -> OutboxItem: ...
    async def drop(self, tx: Tx, predicate: Callable[[OutboxItem], bool], note: str) -> None: ...


class Events:
    def __init__(self, *, store: Store, queue: Queue, now: Callable[[], datetime]) -> None:
        self._store, self._queue, self._now = store, queue, now

    # -- from platforms --------------------------------------------------------------------
    async def chat_moved(self, platform: str, old_chat: str, new_chat: str) -> None:
        """A group got a new id (Telegram supergroup): the household and its alerts follow,
        and so does its family (the home's list of chats, or the joined chats' home)."""
        old, new = f"{platform}:{old_chat}", f"{platform}:{new_chat}"
        async with self._store.transaction() as tx:
            await tx.move_household(old, new)
            await self._family_follows(tx, old, new)
            for item in self._queue.waiting():
                if item.platform == platform and item.chat == old_chat:
                    await self._queue.save(tx, replace(item, chat=new_chat, household_id=f"{platform}:{new_chat}"))

    async def chat_left(self, platform: str, chat: str) -> None:
        """The bot was removed from a chat: its household rests, its group alerts stop."""
        async with self._store.transaction() as tx:
            await self._leave(tx, platform, chat)

    async def user_unreachable(self, platform: str, user: str) -> None:
        """A user blocked the bot: their private alerts go to the group from now on."""
        async with self._store.transaction() as tx:
            await tx.set_unreachable(f"{platform}:{user}", True)

    # -- from delivery ---------------------------------------------------------------------
    async def target_gone(self, tx: Tx, item: OutboxItem) -> OutboxItem | None:
        """A blocked owner gets the alert in the group, a lost group in private. Never when the
        other target had its own copy (target ``both``), is known gone too, or this item
        already was the fallback: that would repeat it or bounce it back and forth."""
        line = await tx.line(item.line_id)
        household = await tx.household(item.household_id)
        if line is None or household is None or not household.is_group:
            return None
        both = (line.reminders or household.reminders).target == "both"
        fallback = item.note is not None and item.note.startswith("fallback")
        if item.private_user is not None:
            await tx.set_unreachable(line.owner, True)
            await notes.unreachable(tx, self._queue, line, household, self._now())
            if both or fallback or not household.active:
                return None
            platform, chat = household.id.split(":", 1)
            return replace(
                self._copy(
                    item,
                    mention=item.private_user if platform == item.platform else None,
                    private_user=None,
                    note="fallback from private",
                ),
                platform=PlatformName(platform),
                chat=chat,
            )
        owner_gone = await tx.unreachable(line.owner)
        await self._leave(tx, item.platform, item.chat)
        if both or fallback or owner_gone or item.note == notes.NOTE:  # the note is for the group only
            return None
        return self._copy(item, mention=None, private_user=line.owner.split(":", 1)[1], note="fallback from group")

    # -- from commands ---------------------------------------------------------------------
    async def line_removed(self, tx: Tx, line: Line) -> None:
        """Nothing more is sent about a line once its unlink is confirmed."""
        await tx.set_due(line.id, None)
        await self._queue.drop(tx, lambda item: item.line_id == line.id, "line removed")

    async def snoozed(self, tx: Tx, line: Line, topic: Topic, until: datetime) -> None:
        """A snooze: what waits about this line and topic waits until then, but news that the
        line ran out; repeats that fall inside the snooze are dropped (later ones still come)."""
        for item in self._queue.waiting():
            if item.line_id != line.id or Topic.of(item.alert.kind) != topic or item.not_before >= until:
                continue
            if item.note == notes.NOTE or outruns_snooze(item.alert) or item.alert.kind.startswith("auto"):
                continue  # the note, running out, and renewal news are never snoozed
            if item.note and item.note.startswith("repeat"):
                await self._queue.save(tx, replace(item, state=OutboxState.DROPPED, note="snoozed"))
            else:
                await self._queue.save(tx, replace(item, not_before=until))

    async def acknowledged(self, tx: Tx, token: str) -> int:
        """Done under a repeating alert: its waiting repeats go, in every chat of the family
        (other processes drop theirs at send time: ``Delivery`` reads the acknowledgement)."""
        await tx.acknowledge(token, self._now())
        gone = [i for i in self._queue.waiting() if i.alert.token == token and i.note and i.note.startswith("repeat")]
        for item in gone:
            await self._queue.save(tx, replace(item, state=OutboxState.DROPPED, note="acknowledged"))
        return len(gone)

    async def quiet_changed(self, tx: Tx, household: Household) -> None:
        """Quiet hours moved or ended: alerts waiting for the old morning wait as the new
        hours say (at once, when there are none now)."""
        now = self._now()
        until = timing.quiet_until(household, now) or now
        for item in self._queue.waiting():
            repeat = item.note is not None and item.note.startswith("repeat")  # keep their own times
            if item.household_id == household.id and item.not_before > now and item.attempts == 0 and not repeat:
                await self._queue.save(tx, replace(item, not_before=until))

    @staticmethod
    async def _family_follows(tx: Tx, old: str, new: str) -> None:
        moved = await tx.household(new)
        if moved is None:
            return
        home = await tx.household(moved.home) if moved.home else None
        if home is not None:
            await tx.save_household(replace(home, chats=tuple(new if c == old else c for c in home.chats)))
        for key in moved.chats:
            joined = await tx.household(key)
            if joined is not None and joined.home == old:
                await tx.save_household(replace(joined, home=new))

    async def _leave(self, tx: Tx, platform: str, chat: str) -> None:
        household = await tx.household(f"{platform}:{chat}")
        if household is not None and household.active:
            await tx.save_household(replace(household, active=False))
        await self._queue.drop(tx, lambda i: i.platform == platform and i.chat == chat and i.private_user is None, "chat left")

    def _copy(self, item: OutboxItem, *, mention: str | None, private_user: str | None, note: str) -> OutboxItem:
        return OutboxItem(
            id=secrets.token_hex(6),
            line_id=item.line_id,
            household_id=item.household_id,
            platform=item.platform,
            chat=item.chat,
            alert=item.alert,
            created_at=item.created_at,
            not_before=self._now(),
            private_user=private_user,
            mention=mention,
            note=note,
        )
