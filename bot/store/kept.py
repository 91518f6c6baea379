"""Kept state: snoozes and unreachable users as typed methods of a unit of work, and
``ProviderState``, the providers' own state each in a unit of its own.

The stored form is the backends' generic state: ``snooze`` / ``<line id>:<topic>`` -> the
ISO time the snooze ends, ``unreachable`` / ``<platform>:<user>`` -> true. Both backends'
units inherit ``StateViews``; callers never spell a namespace or a key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.store.interface import Store


def snoozed_until(stored: Any, now: datetime) -> datetime | None:
    """The end of a snooze kept as an ISO time, if it is still running at ``now``."""
    if not isinstance(stored, str):
        return None
    try:
        until = datetime.fromisoformat(stored)
    except ValueError:
        return None
    return until if until.tzinfo is not None and until > now else None


class StateViews:
    """The typed views; a backend's unit supplies ``get_state`` and ``put_state``."""

    async def get_state(self, namespace: str, key: str) -> Any:
        raise NotImplementedError

    async def put_state(self, namespace: str, key: str, value: Any) -> None:
        raise NotImplementedError

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
