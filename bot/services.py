"""What handlers may do, as three narrow services over the message's unit of work.

- ``LineBook``: the household's lines, their balances, link attempts, and telling the
  reminders that a line was seen, changed or removed;
- ``OrderBook``: confirmations waiting for ``/confirm``, orders and what was spent, and
  ``reserve``, the money guard: an order's reference in a unit of its own, durable before
  the provider hears of it, taken by exactly one of two confirmations racing each other;
- ``HouseholdSettings``: the household's own settings and a user's language.

Handlers get these on ``ctx`` (``bot.context``), never the store or the unit itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.records import Household, KeepAlive, Line, OrderRecord, Pending, PendingKind, PendingState, Sample
from bot.reminders.forecast import runs_out
from bot.reminders.timing import Topic
from bot.renewal.records import ADMINS, AutoRule, admins_key
from bot.store import Store, Tx
from providers.base import EsimBalance


@dataclass(frozen=True)
class Notice:
    """A sentence for the reader: a message id and its placeholders."""

    msgid: str
    params: dict[str, object] = field(default_factory=dict)


class Watcher(Protocol):
    """Told when a line's balance is known anew (link, top-up, /balance) or it is removed,
    so reminders follow the line; it writes in the caller's unit ``tx``. ``fresh_cycle``
    marks a top-up or a new link; the returned notices are thresholds already crossed, to
    say in the reply instead of an alert."""

    async def line_seen(self, tx: Tx, line: Line, balance: EsimBalance | None, *, fresh_cycle: bool = False) -> list[Notice]: ...

    async def line_removed(self, tx: Tx, line: Line) -> None: ...

    async def household_changed(self, tx: Tx, household: Household) -> None:
        """Its settings changed (quiet hours, time zone): waiting alerts follow them."""

    async def line_snoozed(self, tx: Tx, line: Line, topic: Topic, until: datetime) -> None:
        """No alert about the line's ``topic`` before ``until``: waiting ones wait until then."""

    async def acknowledged(self, tx: Tx, token: str) -> int:
        """Done under a repeating alert: its repeats stop everywhere; how many were waiting."""


class NoWatcher:
    async def line_seen(self, tx: Tx, line: Line, balance: EsimBalance | None, *, fresh_cycle: bool = False) -> list[Notice]:
        return []

    async def line_removed(self, tx: Tx, line: Line) -> None:
        return None

    async def household_changed(self, tx: Tx, household: Household) -> None:
        return None

    async def line_snoozed(self, tx: Tx, line: Line, topic: Topic, until: datetime) -> None:
        return None

    async def acknowledged(self, tx: Tx, token: str) -> int:
        return 0


class LineBook:
    def __init__(self, tx: Tx, household_id: str, watcher: Watcher) -> None:
        self._tx, self._household_id, self._watcher = tx, household_id, watcher

    async def all(self) -> list[Line]:
        """The household's lines, oldest first."""
        return await self._tx.lines(self._household_id)

    async def get(self, line_id: str) -> Line | None:
        """One of this household's lines by id (None for another household's)."""
        line = await self._tx.line(line_id)
        return line if line is not None and line.household_id == self._household_id else None

    async def linked_anywhere(self, ref: str) -> Line | None:
        """The line of this ICCID in any household (an eSIM is linked in one place only)."""
        return await self._tx.line_by_ref(ref)

    async def add(self, line: Line, balance: EsimBalance | None) -> list[Notice]:
        """A new line; the notices are thresholds it is already past (said in the reply)."""
        await self._tx.save_line(line)
        if balance is not None:
            await self._tx.add_sample(line.id, balance)
        return await self._watcher.line_seen(self._tx, line, balance, fresh_cycle=True)

    async def update(self, line: Line) -> None:
        """Its settings changed: reminders look at it again."""
        await self._tx.save_line(line)
        await self._watcher.line_seen(self._tx, line, None)

    async def remove(self, line: Line) -> None:
        """Everything about the line goes, its unsent reminders too (the reminders are told
        first: they drop what is waiting, so the delete has nothing of it left to do twice)."""
        await self._watcher.line_removed(self._tx, line)
        await self._tx.drop_auto_rules(line.id)  # an unlinked line's automatic rules end
        await self._tx.delete_line(line.id)

    async def seen(self, line: Line, balance: EsimBalance | None, *, fresh_cycle: bool = False) -> list[Notice]:
        """A balance was just read (or a top-up just made a new cycle, ``balance`` None)."""
        if balance is not None:
            await self._tx.add_sample(line.id, balance)
        return await self._watcher.line_seen(self._tx, line, balance, fresh_cycle=fresh_cycle)

    async def samples(self, line: Line) -> list[Sample]:
        """The line's recent balance samples, oldest first (at most a month, thinned)."""
        return await self._tx.samples(line.id)

    async def last_balance(self, line: Line) -> EsimBalance | None:
        return await self._tx.last_balance(line.id)

    async def forecast(self, line: Line, balance: EsimBalance) -> datetime | None:
        return runs_out(balance, await self._tx.samples(line.id))

    async def snooze(self, line: Line, topic: Topic, until: datetime) -> None:
        """No alert about this line and topic until ``until``; then the newest one, once."""
        await self._tx.snooze(line.id, topic, until)
        await self._watcher.line_snoozed(self._tx, line, topic, until)

    # reminders26: snoozes, Done, keep-alive rules, people without private reminders
    async def snoozed_until(self, line: Line, topic: Topic, now: datetime) -> datetime | None:
        return await self._tx.snoozed_until(line.id, topic, now)

    async def acknowledge(self, line_id: str, token: str) -> tuple[Line | None, int]:
        """Done under a repeating alert, pressed in any chat that got it (the token is its
        proof): its repeats stop everywhere; the line, and how many repeats were waiting."""
        line = await self._tx.line(line_id)
        return line, (await self._watcher.acknowledged(self._tx, token) if line is not None else 0)

    async def unreachable(self, user_id: str) -> bool:
        """Whether the user's private chat refused the bot's reminders (never started, blocked, left)."""
        return await self._tx.unreachable(user_id)


class LineRules:
    """What people set on a line beside its reminders: the automatic top-up and renewal rules
    (``bot.renewal``) and a prepaid number's keep-alive rule, in the message's unit."""

    def __init__(self, tx: Tx, watcher: Watcher) -> None:
        self._tx, self._watcher = tx, watcher

    async def keepalive(self, line: Line) -> KeepAlive | None:
        return await self._tx.keepalive(line.id)

    async def set_keepalive(self, line: Line, rule: KeepAlive | None) -> None:
        """A prepaid number's keep-alive rule or last use changed: reminders look again."""
        await self._tx.save_keepalive(line.id, rule)
        await self._watcher.line_seen(self._tx, line, await self._tx.last_balance(line.id))

    async def auto_rules(self, line: Line) -> list[AutoRule]:
        """The line's automatic top-up and renewal rules (``bot.renewal``)."""
        return await self._tx.auto_rules(line.id)

    async def set_auto_rule(self, rule: AutoRule) -> None:
        """Set a rule (replacing the line's rule of its kind, a stopped one included)."""
        await self._tx.save_auto_rule(rule)

    async def auto_off(self, line: Line) -> None:
        await self._tx.drop_auto_rules(line.id)


class LinkAttempts:
    """A user's failed attempts to link a line or join a family: too many in a while and the
    next attempt is refused (guessing codes)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def failed_since(self, user_id: str, since: datetime) -> int:
        return await self._tx.link_failures_since(user_id, since)

    async def failed(self, user_id: str, at: datetime) -> None:
        await self._tx.record_link_failure(user_id, at)


class OrderBook:
    def __init__(self, tx: Tx, store: Store, household_id: str) -> None:
        self._tx, self._store, self._household_id = tx, store, household_id

    async def pending(self, token: str) -> Pending | None:
        """A confirmation of this household (None for another household's)."""
        found = await self._tx.pending(token)
        return found if found is not None and found.household_id == self._household_id else None

    async def ask(self, pending: Pending) -> None:
        await self._tx.save_pending(pending)

    async def close(self, pending: Pending, state: PendingState) -> None:
        await self._tx.save_pending(replace(pending, state=state))

    async def reserve(self, pending: Pending, order: OrderRecord) -> bool:
        """The money guard: mark the confirmation "placing" with its order in a unit of its
        own, durable before the provider is called. False when another confirmation already
        took it (the two never both get True)."""
        async with self._store.transaction() as guard:
            current = await guard.pending(pending.token, for_update=True)
            if current is None or current.state != PendingState.OPEN:
                return False
            await guard.save_pending(replace(pending, state=PendingState.PLACING))
            await guard.save_order(order)
        return True

    async def order(self, client_ref: str) -> OrderRecord | None:
        return await self._tx.order(client_ref)

    async def settle(self, order: OrderRecord) -> None:
        await self._tx.save_order(order)

    async def all(self) -> list[OrderRecord]:
        return await self._tx.orders(self._household_id)


class HouseholdSettings:
    def __init__(self, tx: Tx, store: Store, watcher: Watcher) -> None:
        self._tx, self._store, self._watcher = tx, store, watcher

    async def save(self, household: Household) -> None:
        """Its settings changed: waiting reminders follow them (quiet hours, time zone)."""
        await self._tx.save_household(household)
        await self._watcher.household_changed(self._tx, household)

    async def set_user_language(self, user_id: str, language: str | None) -> None:
        await self._tx.set_user_language(user_id, language)

    async def note_admin(self, household_id: str, user_id: str) -> None:
        """An admin acted for the family (a cap, an automatic rule): a stop at the cap is
        told to them privately (the platforms name admins only when they write)."""
        known = list(await self._tx.get_state(ADMINS, admins_key(household_id)) or [])
        if user_id not in known:
            await self._tx.put_state(ADMINS, admins_key(household_id), [*known, user_id][-10:])

    # -- one family across chats (``/family``) ---------------------------------------------
    async def household(self, household_id: str) -> Household | None:
        return await self._tx.household(household_id)

    async def invite(self, household: Household, code: str, actor: str, now: datetime) -> None:
        """A one-time code that joins another chat to ``household`` (kept as a confirmation)."""
        await self._tx.save_pending(
            Pending(token=code, kind=PendingKind.INVITE, household_id=household.id, line_id="", actor=actor, created_at=now)
        )

    async def redeem(self, code: str, now: datetime, ttl: timedelta) -> Household | None:
        """The household of a valid code (None: unknown, used or older than ``ttl``). Like the
        money guard, the code is taken in a unit of its own: of two chats racing, one gets it."""
        async with self._store.transaction() as guard:
            found = await guard.pending(code, for_update=True)
            if found is None or found.kind != PendingKind.INVITE or found.state != PendingState.OPEN:
                return None
            await guard.save_pending(replace(found, state=PendingState.DONE))
        if now - found.created_at > ttl:
            return None
        home = await self._tx.household(found.household_id)
        return home if home is not None and home.active and home.home is None else None

    async def join(self, chat: Household, home: Household) -> int:
        """``chat`` joins ``home``; its lines move there. Returns how many lines moved."""
        lines = await self._tx.lines(chat.id)
        taken = {line.label.casefold() for line in await self._tx.lines(home.id)}
        for line in lines:
            label, n = line.label, 1
            while label.casefold() in taken:  # the family has a "mom" already: this one is "mom 2"
                n += 1
                label = f"{line.label} {n}"
            taken.add(label.casefold())
            await self._tx.save_line(replace(line, household_id=home.id, label=label))
        await self._tx.save_household(replace(home, chats=(*home.chats, chat.id)))
        await self._tx.save_household(replace(chat, home=home.id))
        return len(lines)

    async def leave(self, chat: Household, home: Household) -> None:
        """``chat`` is on its own again; the family's lines stay with the family."""
        await self._tx.save_household(replace(home, chats=tuple(c for c in home.chats if c != chat.id)))
        await self._tx.save_household(replace(chat, home=None))
