"""The narrow services handlers get (``bot/services.py``), used directly on a store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.records import Household, Line, OrderRecord, Pending, PendingKind, PendingState
from bot.services import HouseholdSettings, LineBook, NoWatcher, OrderBook
from bot.store import MemoryStore
from bot.store.postgres import PostgresStore
from providers.base import Money
from tests.postgres_server import Server

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
LINE = Line(
    id="l1",
    household_id="console:a",
    label="mom",
    owner="console:u",
    owner_name="Li",
    provider="demo",
    ref="8947000000000000020",
    created_at=T0,
)


async def test_a_household_sees_only_its_own_lines_and_confirmations() -> None:
    store = MemoryStore()
    async with store.transaction() as tx:
        await LineBook(tx, "console:a", NoWatcher()).add(LINE, None)
        await OrderBook(tx, store, "console:a").ask(
            Pending(token="t", kind=PendingKind.UNLINK, household_id="console:a", line_id="l1", actor="console:u", created_at=T0)
        )
    async with store.transaction() as tx:
        mine, theirs = LineBook(tx, "console:a", NoWatcher()), LineBook(tx, "console:b", NoWatcher())
        assert await mine.get("l1") == LINE and await theirs.get("l1") is None
        assert await theirs.linked_anywhere(LINE.ref) == LINE  # linked elsewhere is still known
        assert await OrderBook(tx, store, "console:b").pending("t") is None
        assert (await OrderBook(tx, store, "console:a").pending("t")) is not None


async def test_two_confirmations_racing_reserve_the_order_once() -> None:
    store = MemoryStore()
    pending = Pending(
        token="t",
        kind=PendingKind.TOPUP,
        household_id="console:a",
        line_id="l1",
        actor="console:u",
        created_at=T0,
        plan_id="p",
        price=Money(Decimal("49"), "NOK"),
    )
    order = OrderRecord(
        client_ref="t",
        household_id="console:a",
        line_id="l1",
        provider="demo",
        iccid=LINE.ref,
        plan_id="p",
        status="PENDING",
        created_at=T0,
    )
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


async def _two_chats_race_for_one_invite(first: Any, second: Any) -> list[bool]:
    """Two chats send ``/family join CODE`` at once, each in its own message's unit."""
    home = Household(id="telegram:-1", is_group=True, created_at=T0)
    async with first.transaction() as tx:
        await tx.save_household(home)
        await HouseholdSettings(tx, first, NoWatcher()).invite(home, "K7PQ2XWM", "telegram:1", T0)

    async def join(store: Any) -> bool:
        async with store.transaction() as tx:
            await asyncio.sleep(0)
            got = await HouseholdSettings(tx, store, NoWatcher()).redeem("K7PQ2XWM", T0, timedelta(minutes=15))
            return got is not None and got.id == home.id

    return sorted(await asyncio.gather(join(first), join(second)))


async def test_an_invite_code_is_taken_by_one_of_two_chats_racing() -> None:
    store = MemoryStore()
    assert await _two_chats_race_for_one_invite(store, store) == [False, True]


async def test_an_invite_code_is_taken_once_by_two_workers(postgres: Server) -> None:
    url = postgres.database()
    a, b = PostgresStore(url, max_connections=4), PostgresStore(url, max_connections=4)
    await a.open()
    await b.open()
    try:
        assert await _two_chats_race_for_one_invite(a, b) == [False, True]
    finally:
        await a.close()
        await b.close()


async def test_an_old_invite_code_is_refused() -> None:
    store = MemoryStore()
    home = Household(id="telegram:-1", is_group=True, created_at=T0)
    async with store.transaction() as tx:
        await tx.save_household(home)
        settings = HouseholdSettings(tx, store, NoWatcher())
        await settings.invite(home, "K7PQ2XWM", "telegram:1", T0)
        assert await settings.redeem("K7PQ2XWM", T0 + timedelta(minutes=16), timedelta(minutes=15)) is None
        assert await settings.redeem("K7PQ2XWM", T0, timedelta(minutes=15)) is None, "and it is used up"
