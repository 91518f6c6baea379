"""The Store interface: an async unit of work over the bot's records, with leased claims.

Contract (``tests/test_store_contract.py`` runs it unchanged on every backend):

- ``async with store.transaction() as tx:`` reads on ``tx`` see the committed data plus the
  unit's own writes. When the block ends normally every write of the unit becomes durable
  together; when it raises, none does and the exception propagates. A unit that wrote
  nothing writes nothing. Other units never see an unfinished unit's writes.
- The end of a block may raise ``StoreWriteError``: the change could not be made durable
  (disk full, read-only file system). Nothing of it is kept; reads and later units work.
- Claims share work between processes: ``claim_due_lines`` hands the lines whose check is
  due to one owner for ``lease``; until the lease runs out, or the owner sets the line's
  next due time, nobody else gets them. ``claim_outbox`` does the same for alerts waiting to
  be sent, in due order. A claim is part of its unit: rolled back, it never happened.
- Missing keys read as ``None`` or ``[]``. Samples keep at most ``MAX_SAMPLES`` points a
  line over ``SAMPLE_DAYS`` days (older points thinned, a balance older than the newest
  point ignored); finished outbox items are forgotten after ``KEEP_FINISHED`` newer ones;
  ``delete_line`` removes everything kept about the line, its unsent alerts included.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.records import AlertState, Household, KeepAlive, Line, OrderRecord, OutboxItem, Pending, Sample
from bot.renewal.records import AutoRule, Decision
from providers.base import EsimBalance

MAX_SAMPLES = 64
SAMPLE_DAYS = 30
KEEP_FINISHED = 200


class Tx(Protocol):
    """One unit of work; see the module docstring."""

    async def household(self, household_id: str) -> Household | None: ...
    async def save_household(self, household: Household) -> None: ...
    async def move_household(self, old_id: str, new_id: str) -> None:
        """A chat got a new id: the household, its lines, orders and unsent alerts follow it."""

    async def user_language(self, user_id: str) -> str | None: ...
    async def set_user_language(self, user_id: str, language: str | None) -> None: ...
    async def user_hint(self, user_id: str) -> str | None:
        """The language the user's platform last reported (Telegram's language_code...)."""

    async def set_user_hint(self, user_id: str, hint: str) -> None: ...

    async def line(self, line_id: str) -> Line | None: ...
    async def lines(self, household_id: str) -> list[Line]:
        """The household's lines, oldest first."""

    async def line_by_ref(self, ref: str) -> Line | None: ...
    async def save_line(self, line: Line) -> None: ...
    async def delete_line(self, line_id: str) -> None: ...
    async def count_lines(self) -> int: ...

    async def record_link_failure(self, user_id: str, at: datetime) -> None: ...
    async def link_failures_since(self, user_id: str, since: datetime) -> int: ...

    async def pending(self, token: str, *, for_update: bool = False) -> Pending | None:
        """``for_update``: no other unit may change it until this one ends (the money guard's
        compare-and-set, across processes); take it only in a short unit of its own."""

    async def save_pending(self, pending: Pending) -> None: ...
    async def order(self, client_ref: str) -> OrderRecord | None: ...
    async def save_order(self, order: OrderRecord) -> None: ...
    async def orders(self, household_id: str) -> list[OrderRecord]:
        """The household's orders, oldest first."""

    async def add_sample(self, line_id: str, balance: EsimBalance) -> None: ...
    async def samples(self, line_id: str) -> list[Sample]:
        """Oldest first."""

    async def last_balance(self, line_id: str) -> EsimBalance | None: ...
    async def alert_state(self, line_id: str) -> AlertState | None: ...
    async def save_alert_state(self, line_id: str, state: AlertState) -> None: ...

    async def due(self, line_id: str) -> datetime | None:
        """When the line's next provider check is due (None: not scheduled)."""

    async def set_due(self, line_id: str, at: datetime | None) -> None:
        """Schedule the line's next check (None: never); ends any claim on it."""

    async def next_due(self) -> datetime | None:
        """The earliest moment a line check falls due or a lease runs out."""

    async def claim_due_lines(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[str]:
        """Up to ``limit`` line ids due at ``now``, earliest first, not held by a live lease;
        each is held by ``owner`` until ``now + lease``."""

    async def outbox_pending(self) -> list[OutboxItem]:
        """Every alert still to be sent, by due time."""

    async def outbox_changes(self, since: int | None) -> tuple[list[OutboxItem], int | None]:
        """The alerts stored (in any state) since the read that returned the mark ``since``,
        and the mark for the next read; ``since`` None: every pending alert. A backend whose
        units all run in this process answers every pending alert and None each time."""

    async def save_outbox(self, item: OutboxItem) -> None:
        """Store an alert (new, retried, sent or dropped); ends any claim on it."""

    async def claim_outbox(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[OutboxItem]:
        """Up to ``limit`` pending alerts due at ``now``, by due time, not held by a live
        lease; each is held by ``owner`` until ``now + lease``."""

    async def get_state(self, namespace: str, key: str) -> Any: ...
    async def put_state(self, namespace: str, key: str, value: Any) -> None:
        """JSON-safe ``value``; ``None`` removes the key."""

    async def snoozed_until(self, line_id: str, topic: str, now: datetime) -> datetime | None:
        """When the snooze of the line's ``topic`` ends, if it still runs at ``now`` (``bot.store.kept``)."""

    async def snooze(self, line_id: str, topic: str, until: datetime) -> None: ...
    async def unreachable(self, user_id: str) -> bool: ...
    async def set_unreachable(self, user_id: str, unreachable: bool) -> None: ...

    # reminders26: keep-alive rules, acknowledgements, notes about unreachable people (bot.store.reminded)
    async def keepalive(self, line_id: str) -> KeepAlive | None: ...
    async def save_keepalive(self, line_id: str, rule: KeepAlive | None) -> None: ...
    async def acknowledged(self, token: str) -> bool: ...
    async def acknowledge(self, token: str, at: datetime) -> bool:
        """Record a press of Done; True for the first one."""

    async def unreachable_noted(self, user_id: str) -> datetime | None: ...
    async def note_unreachable(self, user_id: str, at: datetime | None) -> None: ...

    async def auto_rules(self, line_id: str) -> list[AutoRule]:
        """The line's automatic renewal rules (``bot.renewal``), one per kind at most."""

    async def save_auto_rule(self, rule: AutoRule) -> None: ...
    async def drop_auto_rules(self, line_id: str) -> None: ...
    async def auto_decision(self, token: str) -> Decision | None: ...
    async def save_auto_decision(self, decision: Decision, *, open_: bool) -> None:
        """Store a decision to order; ``open_``: it stays in ``open_auto_decisions``."""

    async def open_auto_decisions(self) -> list[Decision]: ...
    async def auto_made(self, line_id: str) -> list[datetime]:
        """When the line's recent automatic orders were made, oldest first."""

    async def add_auto_made(self, line_id: str, at: datetime) -> None: ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the unit is durable (never, if it is rolled back): for
        in-memory views of committed data, such as the outbox's send queue."""


class Store(Protocol):
    """Opens units of work; ``close`` finishes outstanding background work (compaction)."""

    async def open(self) -> None:
        """Connect and bring the schema up to date before the first unit (a server backend);
        raises ``StoreError`` saying what to fix. Embedded backends open in their constructor."""

    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...
    async def close(self) -> None: ...
    def health(self) -> dict[str, Any]:
        """``{"ok": bool, ...}``: false while writes fail (disk full, read-only)."""
