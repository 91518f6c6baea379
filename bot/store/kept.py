"""Kept state: snoozes and unreachable users as typed methods of a unit of work, and
``ProviderState``, the providers' own state each in a unit of its own.

The stored form is the backends' generic state: ``snooze`` / ``<line id>:<topic>`` -> the
ISO time the snooze ends, ``unreachable`` / ``<platform>:<user>`` -> true; automatic
renewal (``bot.renewal``): ``auto_rule`` / ``<line id>:<kind>``, ``auto_decision`` /
``<token>``, ``auto_open`` / ``all`` (open tokens), ``auto_made`` / ``<line id>`` (times of
automatic orders). Every backend's unit inherits ``StateViews``; callers never spell a
namespace or a key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.renewal.records import AutoRule, Decision, Kind
from bot.store.interface import Store
from bot.store.reminded import ReminderViews

OPEN = ("auto_open", "all")  # the tokens of decisions not finished yet (a short list)
KEEP_MADE = 40  # automatic order times kept per line (the daily and monthly limits)


def snoozed_until(stored: Any, now: datetime) -> datetime | None:
    """The end of a snooze kept as an ISO time, if it is still running at ``now``."""
    if not isinstance(stored, str):
        return None
    try:
        until = datetime.fromisoformat(stored)
    except ValueError:
        return None
    return until if until.tzinfo is not None and until > now else None


class StateViews(ReminderViews):
    """The typed views; a backend's unit supplies ``get_state`` and ``put_state``."""

    async def snoozed_until(self, line_id: str, topic: str, now: datetime) -> datetime | None:
        """When the snooze of the line's ``topic`` ends, if it still runs at ``now``."""
        return snoozed_until(await self.get_state("snooze", f"{line_id}:{topic}"), now)

    async def snooze(self, line_id: str, topic: str, until: datetime) -> None:
        """No alert about the line's ``topic`` before ``until``."""
        await self.put_state("snooze", f"{line_id}:{topic}", until.isoformat())

    async def unreachable(self, user_id: str) -> bool:
        """Whether the user blocked the bot (or never started a private chat with it)."""
        return bool(await self.get_state("unreachable", user_id))

    async def set_unreachable(self, user_id: str, unreachable: bool) -> None:
        """Mark the user unreachable, or reachable again (they talk to the bot again)."""
        await self.put_state("unreachable", user_id, True if unreachable else None)

    async def auto_rules(self, line_id: str) -> list[AutoRule]:
        """The line's automatic rules (at most one of each kind), stopped ones included."""
        found = [await self.get_state("auto_rule", f"{line_id}:{kind}") for kind in Kind]
        return [AutoRule.from_json(data) for data in found if data]

    async def save_auto_rule(self, rule: AutoRule) -> None:
        """Set or replace the line's rule of ``rule.kind``."""
        await self.put_state("auto_rule", f"{rule.line_id}:{rule.kind}", rule.to_json())

    async def drop_auto_rules(self, line_id: str) -> None:
        """The line's rules end (switched off, unlinked, beyond renewal)."""
        for kind in Kind:
            await self.put_state("auto_rule", f"{line_id}:{kind}", None)

    async def auto_decision(self, token: str) -> Decision | None:
        data = await self.get_state("auto_decision", token)
        return Decision.from_json(data) if data else None

    async def save_auto_decision(self, decision: Decision, *, open_: bool) -> None:
        """Store a decision; ``open_`` keeps it in the list the orderer looks at."""
        await self.put_state("auto_decision", decision.token, decision.to_json())
        tokens = [t for t in await self.get_state(*OPEN) or [] if t != decision.token]
        await self.put_state(*OPEN, [*tokens, decision.token] if open_ else tokens or None)

    async def open_auto_decisions(self) -> list[Decision]:
        """Decisions still to be ordered, noticed or reconciled, oldest first."""
        found = [await self.auto_decision(t) for t in await self.get_state(*OPEN) or []]
        return [d for d in found if d is not None]

    async def auto_made(self, line_id: str) -> list[datetime]:
        """When the line's recent automatic orders were made (for the limits)."""
        return [datetime.fromisoformat(at) for at in await self.get_state("auto_made", line_id) or []]

    async def add_auto_made(self, line_id: str, at: datetime) -> None:
        kept = [t.isoformat() for t in await self.auto_made(line_id)][-KEEP_MADE + 1 :]
        await self.put_state("auto_made", line_id, [*kept, at.isoformat()])


class ProviderState:
    """The providers' own state (order books, the demo's day 0, manual lines) and Telegram's
    long button commands in the store, each write a unit of its own: an order book entry is
    on disk before the order request leaves, so after a crash ``/confirm`` reconciles the
    order instead of never finding it."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get_state(self, namespace: str, key: str) -> Any:
        async with self._store.transaction() as tx:
            return await tx.get_state(namespace, key)

    async def put_state(self, namespace: str, key: str, value: Any) -> None:
        async with self._store.transaction() as tx:
            await tx.put_state(namespace, key, value)
