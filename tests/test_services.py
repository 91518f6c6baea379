"""The narrow services handlers get (``bot/services.py``), used directly on a store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from bot.records import Line, OrderRecord, Pending, PendingKind, PendingState
from bot.services import LineBook, NoWatcher, OrderBook
from bot.store import MemoryStore
from providers.base import Money

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
LINE = Line(id="l1", household_id="console:a", label="mom", owner="console:u", owner_name="Li", provider="demo",
            ref="8947000000000000020", created_at=T0)


async def test_a_household_sees_only_its_own_lines_and_confirmations() -> None:
    store = MemoryStore()
    async with store.transaction() as tx:
        await LineBook(tx, "console:a", NoWatcher()).add(LINE, None)
        await OrderBook(tx, store, "console:a").ask(Pending(token="t", kind=PendingKind.UNLINK, household_id="console:a",
                                                            line_id="l1", actor="console:u", created_at=T0))
    async with store.transaction() as tx:
        mine, theirs = LineBook(tx, "console:a", NoWatcher()), LineBook(tx, "console:b", NoWatcher())
        assert await mine.get("l1") == LINE and await theirs.get("l1") is None
        assert await theirs.linked_anywhere(LINE.ref) == LINE  # linked elsewhere is still known
        assert await OrderBook(tx, store, "console:b").pending("t") is None
        assert (await OrderBook(tx, store, "console:a").pending("t")) is not None


async def test_two_confirmations_racing_reserve_the_order_once() -> None:
    store = MemoryStore()
    pending = Pending(token="t", kind=PendingKind.TOPUP, household_id="console:a", line_id="l1", actor="console:u",
                      created_at=T0, plan_id="p", price=Money(Decimal("49"), "NOK"))
    order = OrderRecord(client_ref="t", household_id="console:a", line_id="l1", provider="demo", iccid=LINE.ref,
                        plan_id="p", status="PENDING", created_at=T0)
    async with store.transaction() as tx:
        await OrderBook(tx, store, "console:a").ask(pending)

    async def confirm() -> bool:
        async with store.transaction() as tx:  # each confirmation in its own message's unit
            book = OrderBook(tx, store, "console:a")
            seen = await book.pending("t")
            assert seen is not None and seen.state == PendingState.OPEN  # both read it open
            await asyncio.sleep(0)
            return await book.reserve(seen, order)

    assert sorted(await asyncio.gather(confirm(), confirm())) == [False, True]
    async with store.transaction() as tx:
        assert (await tx.pending("t")).state == PendingState.PLACING  # type: ignore[union-attr]
        assert await tx.order("t") == order
