"""The Store contract (``bot/store/interface.py``), run unchanged on every backend.

Each round trip is checked in the unit that wrote it, in a later unit, and, for the file
backend, after a close and a fresh open: what was committed is what a restarted bot reads.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.errors import StoreWriteError
from bot.records import Alert, AlertState, Household, Line, OrderRecord, OutboxItem, Pending, ReminderSettings
from bot.renewal.records import AutoRule, Decision, Kind, Period, Step
from bot.store import MemoryStore, Store, TinyDBStore, Tx
from bot.store.interface import MAX_SAMPLES, SAMPLE_DAYS
from bot.store.postgres import PostgresStore
from providers.base import EsimBalance, Money, Status

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


class Backend:
    """A store under test; ``reopen()`` closes it and opens the same data again."""

    def __init__(self, kind: str, path: Path, url: str = "") -> None:
        self.kind, self.path, self.url = kind, path, url
        self.store: Store = self._new()

    def _new(self) -> Store:
        if self.kind == "postgres":
            return PostgresStore(self.url, max_connections=4)
        return MemoryStore() if self.kind == "memory" else TinyDBStore(self.path)

    async def reopen(self) -> Store:
        if self.kind != "memory":
            await self.store.close()
            self.store = self._new()
            await self.store.open()
        return self.store

    async def read(self, fn: Callable[[Tx], Awaitable[Any]]) -> list[Any]:
        """``fn`` in a new unit now, and again after a restart (file backends)."""
        seen = []
        for again in (False, True):
            if again:
                await self.reopen()
            async with self.store.transaction() as tx:
                seen.append(await fn(tx))
        return seen


@pytest.fixture(params=["memory", "tinydb", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    url = request.getfixturevalue("postgres").database() if request.param == "postgres" else ""
    b = Backend(request.param, tmp_path / "bot.json", url)
    await b.store.open()
    yield b
    await b.store.close()


def line(n: int, household: str = "console:h1", **kw: Any) -> Line:
    fields: dict[str, Any] = {
        "id": f"line{n}",
        "household_id": household,
        "label": f"label {n}",
        "owner": "console:u1",
        "owner_name": "Li",
        "provider": "demo",
        "ref": f"894700000000000{n:04d}",
        "created_at": T0 + timedelta(minutes=n),
    }
    fields.update(kw)
    return Line(**fields)


def balance(minutes: int, remaining: int | None = 1000) -> EsimBalance:
    return EsimBalance(
        provider="demo",
        iccid="8947000000000000012",
        status=Status.ACTIVE,
        as_of=T0 + timedelta(minutes=minutes),
        data_total_bytes=10_000,
        data_remaining_bytes=remaining,
        expires_at=T0 + timedelta(days=20),
        activated_at=T0,
    )


def item(n: int, *, at: datetime = T0, line_id: str = "line1", chat: str = "h1") -> OutboxItem:
    return OutboxItem(
        id=f"item{n}",
        line_id=line_id,
        household_id=f"console:{chat}",
        platform="console",
        chat=chat,
        alert=Alert(kind="data", label="mom", provider="demo", threshold=20),
        created_at=T0,
        not_before=at,
    )


# -- units of work ----------------------------------------------------------------------------


async def test_a_unit_sees_its_own_writes_and_others_see_them_only_after_commit(backend: Backend) -> None:
    store = backend.store
    async with store.transaction() as outside:
        async with store.transaction() as tx:
            await tx.save_line(line(1))
            assert await tx.line("line1") == line(1)
            assert [x.id for x in await tx.lines("console:h1")] == ["line1"]
            assert await outside.line("line1") is None  # not committed yet
        assert await outside.line("line1") == line(1)  # committed: read-committed, like PostgreSQL
    assert await backend.read(lambda tx: tx.line("line1")) == [line(1), line(1)]


async def test_an_exception_rolls_the_whole_unit_back(backend: Backend) -> None:
    store = backend.store
    async with store.transaction() as tx:
        await tx.save_household(Household(id="console:h1", is_group=False, created_at=T0))
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.save_line(line(1))
            await tx.delete_line("nope")
            await tx.save_household(Household(id="console:h1", is_group=True, created_at=T0))
            raise RuntimeError("half-way")
    seen = await backend.read(lambda tx: tx.line("line1"))
    assert seen == [None, None]
    households = await backend.read(lambda tx: tx.household("console:h1"))
    assert [h.is_group for h in households] == [False, False]


async def test_a_failed_unit_does_not_disturb_one_running_beside_it(backend: Backend) -> None:
    store = backend.store
    async with store.transaction() as good:
        await good.save_line(line(2))
        with pytest.raises(ValueError):
            async with store.transaction() as bad:
                await bad.save_line(line(1))
                raise ValueError
        await good.save_line(line(3))
    ids = await backend.read(lambda tx: tx.lines("console:h1"))
    assert [[x.id for x in found] for found in ids] == [["line2", "line3"]] * 2


async def test_a_unit_cannot_be_used_after_it_ended(backend: Backend) -> None:
    async with backend.store.transaction() as tx:
        pass
    with pytest.raises(RuntimeError):
        await tx.line("line1")


async def test_after_commit_runs_only_for_a_committed_unit(backend: Backend) -> None:
    ran: list[str] = []
    async with backend.store.transaction() as tx:
        await tx.save_line(line(1))
        tx.after_commit(lambda: ran.append("kept"))
    with pytest.raises(KeyError):
        async with backend.store.transaction() as tx:
            tx.after_commit(lambda: ran.append("rolled back"))
            raise KeyError
    assert ran == ["kept"]


async def test_a_unit_that_changes_nothing_writes_nothing(backend: Backend) -> None:
    health = backend.store.health()
    async with backend.store.transaction() as tx:
        await tx.line("x")
        await tx.set_user_hint("u", "zh")
    async with backend.store.transaction() as tx:
        await tx.set_user_hint("u", "zh")  # the same value again
        await tx.delete_line("nope")
    assert backend.store.health()["commits"] == health["commits"] + 1


# -- claims -----------------------------------------------------------------------------------


async def test_due_lines_are_claimed_once_until_the_lease_ends(backend: Backend) -> None:
    store = backend.store
    async with store.transaction() as tx:
        for n in range(1, 5):
            await tx.set_due(f"line{n}", T0 + timedelta(minutes=n))
        assert await tx.next_due() == T0 + timedelta(minutes=1)
    async with store.transaction() as tx:
        assert await tx.claim_due_lines("a", T0 + timedelta(minutes=3), LEASE, 2) == ["line1", "line2"]
    async with store.transaction() as tx:
        assert await tx.claim_due_lines("b", T0 + timedelta(minutes=3), LEASE, 10) == ["line3"]
        assert await tx.claim_due_lines("b", T0 + timedelta(minutes=3), LEASE, 10) == []  # its own claim holds too
    async with store.transaction() as tx:  # the leases run out: the lines are due again, earliest first
        later = T0 + timedelta(minutes=3) + LEASE
        assert await tx.claim_due_lines("c", later - timedelta(seconds=1), LEASE, 10) == ["line4"]
        assert await tx.claim_due_lines("c", later, LEASE, 10) == ["line1", "line2", "line3"]


async def test_setting_the_due_time_ends_a_claim_and_a_rolled_back_claim_never_happened(backend: Backend) -> None:
    store = backend.store
    async with store.transaction() as tx:
        await tx.set_due("line1", T0)
    with pytest.raises(ValueError):
        async with store.transaction() as tx:
            assert await tx.claim_due_lines("a", T0, LEASE, 10) == ["line1"]
            raise ValueError
    async with store.transaction() as tx:
        assert await tx.claim_due_lines("b", T0, LEASE, 10) == ["line1"]
        await tx.set_due("line1", T0 + timedelta(minutes=1))  # done: the next look is scheduled
    async with store.transaction() as tx:
        assert await tx.claim_due_lines("c", T0 + timedelta(minutes=1), LEASE, 10) == ["line1"]
        await tx.set_due("line1", None)
        assert await tx.due("line1") is None
    assert await backend.read(lambda tx: tx.next_due()) == [None, None]


async def test_outbox_items_are_claimed_in_due_order_and_released_by_saving(backend: Backend) -> None:
    store = backend.store
    async with store.transaction() as tx:
        await tx.save_outbox(item(1, at=T0 + timedelta(minutes=2)))
        await tx.save_outbox(item(2, at=T0))
        await tx.save_outbox(item(3, at=T0 + timedelta(hours=1)))
    async with store.transaction() as tx:
        claimed = await tx.claim_outbox("a", T0 + timedelta(minutes=5), LEASE, 10)
        assert [i.id for i in claimed] == ["item2", "item1"]
    async with store.transaction() as tx:
        assert await tx.claim_outbox("b", T0 + timedelta(minutes=5), LEASE, 10) == []
        await tx.save_outbox(replace(claimed[0], state="sent"))
    async with store.transaction() as tx:
        again = await tx.claim_outbox("b", T0 + timedelta(minutes=5) + LEASE, LEASE, 10)
        assert [i.id for i in again] == ["item1"]  # the sent one is finished for good
    pending = await backend.read(lambda tx: tx.outbox_pending())
    assert [[i.id for i in p] for p in pending] == [["item1", "item3"]] * 2


# -- domain methods ---------------------------------------------------------------------------


async def test_missing_keys(backend: Backend) -> None:
    async with backend.store.transaction() as tx:
        assert await tx.household("nope") is None
        assert await tx.user_language("nope") is None and await tx.user_hint("nope") is None
        assert await tx.line("nope") is None and await tx.lines("nope") == []
        assert await tx.line_by_ref("8947") is None
        assert await tx.link_failures_since("nope", T0) == 0
        assert await tx.pending("nope") is None and await tx.order("nope") is None and await tx.orders("x") == []
        assert await tx.samples("nope") == [] and await tx.last_balance("nope") is None
        assert await tx.alert_state("nope") is None and await tx.due("nope") is None
        assert await tx.outbox_pending() == [] and await tx.get_state("ns", "k") is None
        assert await tx.count_lines() == 0


async def test_households_users_and_state_round_trip(backend: Backend) -> None:
    household = Household(
        id="telegram:-100",
        is_group=True,
        created_at=T0,
        language="nb",
        timezone="Asia/Shanghai",
        quiet_start=None,
        quiet_end=None,
        cap=Money(Decimal("300.50"), "NOK"),
        reminders=ReminderSettings(data_percent=(30,), data_bytes=(500,), expiry_hours=(48,)),
        title="Familien Hansen",
    )
    values = {"list": [{"at": "x"}], "n": 3, "nested": {"a": [1, 2, None]}, "text": "中文"}
    async with backend.store.transaction() as tx:
        await tx.save_household(household)
        await tx.set_user_language("u1", "zh")
        await tx.set_user_hint("u1", "nb")
        await tx.put_state("demo", "v", values)
        await tx.put_state("demo", "gone", 1)
    async with backend.store.transaction() as tx:
        await tx.put_state("demo", "gone", None)
    assert await backend.read(lambda tx: tx.household("telegram:-100")) == [household] * 2
    assert await backend.read(lambda tx: tx.user_language("u1")) == ["zh"] * 2
    assert await backend.read(lambda tx: tx.user_hint("u1")) == ["nb"] * 2
    assert await backend.read(lambda tx: tx.get_state("demo", "v")) == [values] * 2
    assert await backend.read(lambda tx: tx.get_state("demo", "gone")) == [None] * 2


async def test_lines_index_by_household_and_ref_and_delete_everything(backend: Backend) -> None:
    async with backend.store.transaction() as tx:
        for n in (2, 1, 3):
            await tx.save_line(line(n))
        await tx.save_line(line(4, household="console:h2"))
        await tx.add_sample("line1", balance(0))
        await tx.save_alert_state("line1", AlertState(cycle_started=T0))
        await tx.set_due("line1", T0)
        await tx.save_outbox(item(1))
    async with backend.store.transaction() as tx:
        await tx.save_line(replace(line(2), household_id="console:h2", ref="8947999"))  # moved and renumbered
        await tx.delete_line("line1")
        assert [x.id for x in await tx.lines("console:h1")] == ["line3"]
        assert await tx.line_by_ref("8947999") == replace(line(2), household_id="console:h2", ref="8947999")
    for tx_lines in await backend.read(lambda tx: tx.lines("console:h1")):
        assert [x.id for x in tx_lines] == ["line3"]
    assert await backend.read(lambda tx: tx.count_lines()) == [3, 3]
    assert await backend.read(lambda tx: tx.line_by_ref(line(2).ref)) == [None, None]
    for check in (lambda tx: tx.samples("line1"), lambda tx: tx.outbox_pending()):
        assert await backend.read(check) == [[], []]
    assert await backend.read(lambda tx: tx.alert_state("line1")) == [None, None]


async def test_link_failures_pending_and_orders(backend: Backend) -> None:
    price = Money(Decimal("49.00"), "NOK")
    pending = Pending(
        token="tok",
        kind="topup",
        household_id="console:h1",
        line_id="line1",
        actor="console:u1",
        created_at=T0,
        plan_id="demo-1gb",
        plan_title="1 GB",
        price=price,
    )
    orders = [
        OrderRecord(
            client_ref=f"r{n}",
            household_id="console:h1",
            line_id="line1",
            provider="demo",
            iccid="8947",
            plan_id="demo-1gb",
            status="COMPLETED",
            created_at=T0 + timedelta(minutes=-n),
            price=price,
        )
        for n in range(3)
    ]
    async with backend.store.transaction() as tx:
        for minutes in (0, 10, 70):
            await tx.record_link_failure("u1", T0 + timedelta(minutes=minutes))
        await tx.save_pending(pending)
        for order in orders:
            await tx.save_order(order)
    assert await backend.read(lambda tx: tx.link_failures_since("u1", T0 + timedelta(minutes=5))) == [2, 2]
    assert await backend.read(lambda tx: tx.pending("tok")) == [pending] * 2
    assert await backend.read(lambda tx: tx.orders("console:h1")) == [orders[::-1]] * 2
    assert await backend.read(lambda tx: tx.order("r1")) == [orders[1]] * 2


async def test_samples_are_packed_bounded_and_never_go_backwards(backend: Backend) -> None:
    async with backend.store.transaction() as tx:
        for hour in range(24 * (SAMPLE_DAYS + 5)):
            await tx.add_sample("line1", balance(hour * 60, remaining=10_000_000_000 - hour))
        await tx.add_sample("line1", balance(0, remaining=1))  # older than the newest: ignored
    for samples in await backend.read(lambda tx: tx.samples("line1")):
        assert MAX_SAMPLES // 2 <= len(samples) <= MAX_SAMPLES
        assert samples[-1].as_of == T0 + timedelta(hours=24 * (SAMPLE_DAYS + 5) - 1)
        assert samples[-1].remaining == 10_000_000_000 - (24 * (SAMPLE_DAYS + 5) - 1)
        assert samples[0].as_of >= samples[-1].as_of - timedelta(days=SAMPLE_DAYS)  # a chart's month is there
        assert [s.as_of for s in samples] == sorted(s.as_of for s in samples)
        gaps = [b.as_of - a.as_of for a, b in itertools.pairwise(samples)]
        assert max(gaps) <= timedelta(hours=36), "the month is thinned evenly, not emptied at the old end"
        assert sum(s.as_of > samples[-1].as_of - timedelta(days=1) for s in samples) >= 20, "the last day stays"
    last = await backend.read(lambda tx: tx.last_balance("line1"))
    assert [b.data_remaining_bytes for b in last] == [10_000_000_000 - (24 * (SAMPLE_DAYS + 5) - 1)] * 2


async def test_samples_of_an_unlimited_line(backend: Backend) -> None:
    async with backend.store.transaction() as tx:
        await tx.add_sample("line1", replace(balance(0, None), data_unlimited=True))
    assert [[s.remaining for s in found] for found in await backend.read(lambda tx: tx.samples("line1"))] == [[None]] * 2


async def test_move_household_takes_lines_orders_pending_and_alerts(backend: Backend) -> None:
    async with backend.store.transaction() as tx:
        await tx.save_household(Household(id="telegram:-1", is_group=True, created_at=T0))
        await tx.save_line(line(1, household="telegram:-1"))
        await tx.save_pending(
            Pending(token="t", kind="unlink", household_id="telegram:-1", line_id="line1", actor="telegram:9", created_at=T0)
        )
        await tx.save_outbox(replace(item(1), household_id="telegram:-1", platform="telegram", chat="-1"))
    async with backend.store.transaction() as tx:
        await tx.move_household("telegram:-1", "telegram:-100")
    assert await backend.read(lambda tx: tx.household("telegram:-1")) == [None, None]
    for found in await backend.read(lambda tx: tx.lines("telegram:-100")):
        assert [x.id for x in found] == ["line1"]
    moved = await backend.read(lambda tx: tx.outbox_pending())
    assert [[(i.household_id, i.chat) for i in m] for m in moved] == [[("telegram:-100", "-100")]] * 2
    assert [p.household_id for p in await backend.read(lambda tx: tx.pending("t"))] == ["telegram:-100"] * 2


async def test_finished_alerts_are_pruned(backend: Backend) -> None:
    async with backend.store.transaction() as tx:
        for n in range(700):
            await tx.save_outbox(replace(item(n), state="sent"))
    async with backend.store.transaction() as tx:
        await tx.save_outbox(replace(item(1000), state="sent"))
        await tx.save_outbox(item(1001))
    assert [[i.id for i in p] for p in await backend.read(lambda tx: tx.outbox_pending())] == [["item1001"]] * 2


async def test_a_write_that_cannot_be_made_durable_is_refused_whole(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend.kind == "postgres":
        pytest.skip("the server makes commits durable: test_store_postgres.py stops it under a unit instead")
    store: Any = backend.store

    def full(seq: int, ops: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_durable", full)
    with pytest.raises(StoreWriteError):
        async with store.transaction() as tx:
            await tx.save_line(line(1))
    assert store.health()["ok"] is False
    async with store.transaction() as tx:
        assert await tx.line("line1") is None  # nothing half-done; reads go on
    monkeypatch.undo()
    async with store.transaction() as tx:
        await tx.save_line(line(1))
    assert store.health()["ok"] is True
    assert await backend.read(lambda tx: tx.line("line1")) == [line(1)] * 2


async def test_automatic_rules_decisions_and_order_times_round_trip(backend: Backend) -> None:
    rule = AutoRule("line1", Kind.LOW, "p1", Money(Decimal("49"), "NOK"), "telegram:1", T0, percent=10)
    cycle = AutoRule("line1", Kind.CYCLE, "p2", Money(Decimal("99"), "NOK"), "telegram:1", T0, period=Period.MONTHLY, day=5)
    decision = Decision("autoabc", "h1", "line1", Kind.LOW, "low:x", "p1", rule.price, T0, T0 + LEASE)
    async with backend.store.transaction() as tx:
        await tx.save_auto_rule(rule)
        await tx.save_auto_rule(cycle)
        await tx.save_auto_decision(decision, open_=True)
        await tx.add_auto_made("line1", T0)
        assert await tx.auto_rules("line1") == [rule, cycle]
    assert await backend.read(lambda tx: tx.auto_rules("line1")) == [[rule, cycle]] * 2
    assert await backend.read(lambda tx: tx.open_auto_decisions()) == [[decision]] * 2
    assert await backend.read(lambda tx: tx.auto_made("line1")) == [[T0]] * 2
    async with backend.store.transaction() as tx:
        await tx.save_auto_decision(replace(decision, step=Step.DONE), open_=False)
        await tx.drop_auto_rules("line1")
    assert await backend.read(lambda tx: tx.open_auto_decisions()) == [[]] * 2
    assert await backend.read(lambda tx: tx.auto_rules("line1")) == [[]] * 2
    assert await backend.read(lambda tx: tx.auto_decision("autoabc")) == [replace(decision, step=Step.DONE)] * 2
    async with backend.store.transaction() as tx:
        assert await tx.auto_decision("nope") is None and await tx.auto_made("nope") == []


# reminders26: keep-alive rules, Done, notes about unreachable people, the newer settings ------


async def test_reminder_state_of_issue_26_round_trips_and_old_settings_still_read(backend: Backend) -> None:
    from bot.records import KeepAlive, from_doc

    ladder = ReminderSettings(expiry_hours=(168, 72, 24, 6), on_day=True, after_expiry=True, repeat=True, repeat_hours=2)
    home = Household(id="console:h1", is_group=True, created_at=T0, reminders=ladder)
    rule = KeepAlive(days=180, used=T0)
    async with backend.store.transaction() as tx:
        await tx.save_household(home)
        await tx.save_keepalive("line1", rule)
        assert await tx.acknowledge("tok", T0) is True
        assert await tx.acknowledge("tok", T0 + LEASE) is False  # a second press changes nothing
        await tx.note_unreachable("console:u1", T0)
    assert await backend.read(lambda tx: tx.household("console:h1")) == [home] * 2
    assert await backend.read(lambda tx: tx.keepalive("line1")) == [rule] * 2
    assert await backend.read(lambda tx: tx.acknowledged("tok")) == [True] * 2
    assert await backend.read(lambda tx: tx.unreachable_noted("console:u1")) == [T0] * 2
    async with backend.store.transaction() as tx:
        await tx.save_keepalive("line1", None)
        await tx.note_unreachable("console:u1", None)
        assert await tx.acknowledged("other") is False
    assert await backend.read(lambda tx: tx.keepalive("line1")) == [None] * 2
    assert await backend.read(lambda tx: tx.unreachable_noted("console:u1")) == [None] * 2
    # settings stored before issue 26 read with the new fields at their defaults
    old = from_doc(ReminderSettings, {"enabled": True, "data_percent": [20, 5], "expiry_hours": [72, 24], "target": "group"})
    assert old == ReminderSettings() and not old.on_day and not old.repeat
