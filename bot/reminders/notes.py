"""The note to a family chat that one of its people gets no private reminders, once a week.

Both the planner (an owner already known unreachable) and the events (a private chat that
just refused) call it in their unit; the note is an outbox item like an alert, with a key of
its own so it never collapses with the line's reminder.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Protocol

from bot.names import PlatformName
from bot.records import Alert, AlertKind, Household, Line, OutboxItem
from bot.reminders import timing
from bot.store import Tx

EVERY = timedelta(days=7)  # the family hears about one unreachable person at most this often
NOTE = "unreachable"  # the outbox note of such an item


class Enqueue(Protocol):
    async def enqueue(self, tx: Tx, item: OutboxItem) -> OutboxItem: ...


async def unreachable(tx: Tx, queue: Enqueue, line: Line, household: Household, now: datetime) -> bool:
    """Queue the note naming the line's owner unless the family heard it within ``EVERY``;
    True when it was queued."""
    last = await tx.unreachable_noted(line.owner)
    if (last is not None and now - last < EVERY) or not household.active or not household.is_group:
        return False
    await tx.note_unreachable(line.owner, now)
    platform, chat = household.id.split(":", 1)
    await queue.enqueue(
        tx,
        OutboxItem(
            id=secrets.token_hex(6),
            line_id=line.id,
            household_id=household.id,
            platform=PlatformName(platform),
            chat=chat,
            alert=Alert(kind=AlertKind.UNREACHABLE, label=line.owner_name, provider=line.provider, note=line.owner),
            created_at=now,
            not_before=timing.quiet_until(household, now) or now,
            note=NOTE,
        ),
    )
    return True
