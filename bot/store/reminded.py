"""Reminder state beyond thresholds, as typed views over the backends' generic state.

Stored form: ``keepalive`` / ``<line id>`` -> a ``KeepAlive`` document (a prepaid number's
keep-alive rule and last use typed by hand); ``ack`` / ``<token>`` -> the ISO time someone
pressed Done under a repeating alert; ``unreachable_note`` / ``<user>`` -> the ISO time the
family chat was last told that the user's private reminders cannot be delivered. Nothing
here needs a table or a migration: every backend keeps the generic state already.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.records import KeepAlive, from_doc, to_doc


class ReminderViews:
    """Mixed into ``bot.store.kept.StateViews``; a backend's unit supplies the generic state."""

    async def get_state(self, namespace: str, key: str) -> Any:
        raise NotImplementedError

    async def put_state(self, namespace: str, key: str, value: Any) -> None:
        raise NotImplementedError

    async def keepalive(self, line_id: str) -> KeepAlive | None:
        """The line's keep-alive rule (None: its number never closes for want of use)."""
        doc = await self.get_state("keepalive", line_id)
        return from_doc(KeepAlive, doc) if isinstance(doc, dict) else None

    async def save_keepalive(self, line_id: str, rule: KeepAlive | None) -> None:
        await self.put_state("keepalive", line_id, None if rule is None else to_doc(rule))

    async def acknowledged(self, token: str) -> bool:
        """Whether someone pressed Done under the repeating alert ``token``."""
        return bool(await self.get_state("ack", token))

    async def acknowledge(self, token: str, at: datetime) -> bool:
        """Record the press; True for the first one (a second press changes nothing)."""
        if await self.acknowledged(token):
            return False
        await self.put_state("ack", token, at.isoformat())
        return True

    async def unreachable_noted(self, user_id: str) -> datetime | None:
        """When the family chat was last told that ``user_id`` gets no private reminders."""
        stored = await self.get_state("unreachable_note", user_id)
        return datetime.fromisoformat(stored) if isinstance(stored, str) else None

    async def note_unreachable(self, user_id: str, at: datetime | None) -> None:
        """Remember the note (None: forget it, the user is reachable again)."""
        await self.put_state("unreachable_note", user_id, None if at is None else at.isoformat())
