"""The alert queue: every alert is stored before it can be sent; the waiting ones are kept
in memory in due order (a sorted index, never a scan of every item per send).

The view in memory mirrors what is committed: it changes only in ``after_commit`` of the
unit that stored the change, so a rolled-back unit leaves it untouched. An alert still
waiting for the same line, chat and reader is replaced by a newer one (several stale alerts
collapse into one message about the current situation; the worse news stays the headline).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

from sortedcontainers import SortedList

from bot.records import Alert, OutboxItem, OutboxState
from bot.reminders.rules import SEVERITY, outruns_snooze
from bot.store import Store, Tx

Key = tuple[str, str, str, str | None]
OWN_KEYS = ("repeat", "unreachable")  # notes of items that never collapse with the line's alert
_END = datetime.max.replace(tzinfo=UTC)
Order = tuple[datetime, datetime, str, str, str, str]


def _rank(alert: Alert) -> tuple[int, int]:
    """Lower is more severe (bot.reminders.SEVERITY; a lower threshold is closer to the end)."""
    kind = SEVERITY.index(alert.kind) if alert.kind in SEVERITY else len(SEVERITY)
    return kind, alert.threshold or 0


def _key(item: OutboxItem) -> Key:
    """Alerts with the same key collapse while unsent: one line, one chat, one recipient."""
    auto = item.alert.kind.startswith("auto")  # renewal news never replaces a reminder, nor other news (a receipt stays)
    own = item.note if item.note and item.note.startswith(OWN_KEYS) else ""  # each repeat, the unreachable note
    news = f":{item.alert.kind}:{item.alert.token}" if auto else ""
    return item.line_id + news + own, item.platform, item.chat, item.private_user


def _order(item: OutboxItem) -> Order:
    """Due first, then oldest; ties in a fixed order (chat, line label, recipient), so the
    same story sends in the same order whatever ids the items got."""
    return item.not_before, item.created_at, item.household_id, item.alert.label, item.private_user or "", item.id


class AlertQueue:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._items: dict[str, OutboxItem] = {}
        self._due: SortedList = SortedList()  # _order of every waiting item
        self._by_key: dict[Key, str] = {}
        self._held: set[str] = set()  # taken by delivery, on their way out
        self._mark: int | None = None  # the store's change mark of the last read (bot.store.interface)

    async def load(self) -> None:
        """Read the alerts still to be sent (at start)."""
        async with self._store.transaction() as tx:
            pending, self._mark = await tx.outbox_changes(None)
        for item in pending:
            self._mirror(item)

    async def reload(self) -> None:
        """Mirror what others stored since the last read (several workers: others store
        alerts too): only the changed alerts are read, through the store's change mark.
        Alerts on their way out stay out; an alert read again forgets its in-memory pacing,
        which is worked out again. Without a mark (one process) the view is read anew."""
        async with self._store.transaction() as tx:
            changed, mark = await tx.outbox_changes(self._mark)
        if self._mark is None:
            self._items.clear()
            self._due.clear()
            self._by_key.clear()
        self._mark = mark
        for item in changed:
            if item.id not in self._held:
                self._mirror(item)

    @property
    def backlog(self) -> int:
        return len(self._items)

    def waiting(self) -> Iterator[OutboxItem]:
        return iter(list(self._items.values()))

    def next_due(self, platforms: Callable[[str], bool]) -> datetime | None:
        for order in self._due:
            item = self._items.get(order[-1])
            if item is not None and platforms(item.platform):
                return item.not_before
        return None

    def take_due(self, now: datetime) -> Iterator[OutboxItem]:
        """The waiting alerts due at ``now``, in order, read lazily (a caller that stops early
        pays for what it read, not for the whole backlog); they stay stored until saved again.
        Do not change the queue while reading: collect, then ``defer`` or ``save``."""
        for order in self._due.irange(maximum=(now, _END)):
            yield self._items[order[-1]]

    def defer(self, item: OutboxItem, until: datetime) -> None:
        """Pacing: wait in memory only (no store write); a restart sends it at once anyway."""
        self._mirror(replace(item, not_before=until))

    def hold(self, item: OutboxItem) -> None:
        """On its way out: a new alert for the same key must not collapse into this one."""
        self._drop_from_view(item.id)
        self._held.add(item.id)

    async def enqueue(self, tx: Tx, item: OutboxItem) -> OutboxItem:
        old = self._items.get(self._by_key.get(_key(item), ""))
        if old is not None and _key(old) == _key(item):
            alert = item.alert
            if _rank(old.alert) < _rank(alert):  # the worse news stays the headline, with today's numbers
                alert = replace(alert, kind=old.alert.kind, threshold=old.alert.threshold)
            # the later start wins (quiet hours, a snooze), but news that the line ran out never waits for a snooze
            start = item.not_before if outruns_snooze(item.alert) else max(old.not_before, item.not_before)
            item = replace(item, id=old.id, alert=alert, created_at=old.created_at, not_before=start)
        await self.save(tx, item)
        return item

    async def drop(self, tx: Tx, predicate: Callable[[OutboxItem], bool], note: str) -> None:
        for item in [i for i in self._items.values() if predicate(i)]:
            await self.save(tx, replace(item, state=OutboxState.DROPPED, note=note))

    async def save(self, tx: Tx, item: OutboxItem) -> None:
        await tx.save_outbox(item)
        tx.after_commit(lambda: self._mirror(item))

    def _mirror(self, item: OutboxItem) -> None:
        self._held.discard(item.id)
        self._drop_from_view(item.id)
        if item.state == "pending":
            self._items[item.id] = item
            self._due.add(_order(item))
            self._by_key[_key(item)] = item.id

    def _drop_from_view(self, item_id: str) -> None:
        old = self._items.pop(item_id, None)
        if old is not None:
            self._due.discard(_order(old))
            if self._by_key.get(_key(old)) == item_id:
                del self._by_key[_key(old)]
