"""Issue 25: automatic renewal on the demo provider with the fake clock, on the memory and
file stores. A trigger orders exactly once: replays, restarts and a second orderer meet the
first decision; each guard-rail (cap, daily limit, price, outage, failure, Cancel) holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.metrics import Metrics
from bot.records import Household, Line, PendingState
from bot.renewal.decide import decide
from bot.renewal.orderer import AutoOrderer
from bot.renewal.records import AutoRule, Kind, Period, Step
from bot.renewal.rules import cycle_day
from bot.store import MemoryStore, Store, TinyDBStore
from bot.store.kept import ProviderState
from providers.base import EsimBalance, Money, Order, Plan
from providers.demo import DemoProvider
from providers.errors import OutcomeUnknown, Refused, TryLater

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
LOW_ICCID = "8947000000000000020"  # 8 % of 5 GB left
NOK49 = Money(Decimal("49"), "NOK")
HOUR = timedelta(hours=1)


class Rig:
    """A household with one demo line, a rule on it, and an orderer; ``restart`` reopens."""

    def __init__(self, path: Path | None) -> None:
        self.path, self.clock, self.metrics = path, FakeClock(T0), Metrics()
        self.store: Store = TinyDBStore(path) if path else MemoryStore()
        self.demo = DemoProvider(ProviderState(self.store), self.clock.now)
        self.providers: dict[str, Any] = {"demo": self.demo}
        self.line = Line("l1", "console:h", "phone", "console:u", "U", "demo", LOW_ICCID, T0)

    async def setup(self, rule: AutoRule, cap: Money | None = None) -> None:
        async with self.store.transaction() as tx:
            await tx.save_household(Household("console:h", False, T0, cap=cap, quiet_start=None, quiet_end=None))
            await tx.save_line(self.line)
            await tx.save_auto_rule(rule)

    def orderer(self) -> AutoOrderer:
        return AutoOrderer(store=self.store, providers=self.providers, metrics=self.metrics)

    async def look(self) -> list[Any]:
        """A balance seen (poll, /balance or webhook): the decision is in the sample's unit."""
        balance = await self.demo.balance(LOW_ICCID)
        async with self.store.transaction() as tx:
            await tx.add_sample(self.line.id, balance)
            household = await tx.household(self.line.household_id)
            assert household is not None
            return await decide(tx, self.line, household, balance, self.clock.now())

    async def run(self, after: timedelta = timedelta(0)) -> list[Any]:
        self.clock.advance(after)
        return await self.orderer().run_due(self.clock.now())

    async def restart(self) -> None:
        if self.path:
            await self.store.close()
            self.store = TinyDBStore(self.path)
            self.demo = DemoProvider(ProviderState(self.store), self.clock.now)
            self.providers["demo"] = self.demo

    async def topups(self) -> list[Any]:
        return await ProviderState(self.store).get_state("demo", f"topups/{LOW_ICCID}") or []


def low_rule(**kw: Any) -> AutoRule:
    return AutoRule("l1", Kind.LOW, "demo-1gb-7d", NOK49, "console:u", T0 - HOUR, percent=10, **kw)


@pytest.fixture(params=["memory", "tinydb"])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    r = Rig(tmp_path / "bot.json" if request.param == "tinydb" else None)
    yield r
    await r.store.close()


async def test_a_low_data_rule_orders_once_after_the_notice_despite_replays_and_a_restart(rig: Rig) -> None:
    await rig.setup(low_rule())
    [decision] = await rig.look()
    assert decision.charge_at == T0 + HOUR and await rig.look() == []  # a replayed balance decides nothing new
    assert await rig.run() == [] and await rig.topups() == []  # the notice hour runs first
    await rig.restart()
    [outcome] = await rig.run(HOUR)
    assert outcome.step == Step.DONE and len(await rig.topups()) == 1
    assert await rig.run(HOUR) == [] and await rig.look() == []  # topped up: no new trigger
    assert rig.metrics.value("esimbot_auto_orders_total", outcome="done", reason="") == 1


async def test_two_orderers_racing_place_one_order(rig: Rig) -> None:
    await rig.setup(low_rule())
    await rig.look()
    rig.clock.advance(HOUR)
    first, second = rig.orderer(), rig.orderer()
    outcomes = [*await first.run_due(rig.clock.now()), *await second.run_due(rig.clock.now())]
    assert [o.step for o in outcomes] == [Step.DONE] and len(await rig.topups()) == 1


async def test_cancel_in_the_notice_window_orders_nothing(rig: Rig) -> None:
    await rig.setup(low_rule())
    [decision] = await rig.look()
    async with rig.store.transaction() as tx:  # what /cancel <token> does
        pending = await tx.pending(decision.token)
        assert pending is not None
        await tx.save_pending(replace(pending, state=PendingState.CANCELLED))
    [outcome] = await rig.run(HOUR)
    assert outcome.step == Step.CANCELLED and await rig.topups() == []


async def test_the_cap_counts_and_stops_an_automatic_order(rig: Rig) -> None:
    await rig.setup(low_rule(), cap=Money(Decimal("40"), "NOK"))
    await rig.look()
    [outcome] = await rig.run(HOUR)
    assert (outcome.step, outcome.reason) == (Step.SKIPPED, "cap") and await rig.topups() == []


async def test_at_most_one_automatic_order_a_day(rig: Rig) -> None:
    await rig.setup(low_rule())
    async with rig.store.transaction() as tx:
        await tx.add_auto_made("l1", T0 - timedelta(hours=20))
    await rig.look()
    [outcome] = await rig.run(HOUR)
    assert (outcome.step, outcome.reason) == (Step.SKIPPED, "daily") and await rig.topups() == []


async def test_a_price_change_stops_the_rule_until_the_owner_confirms(rig: Rig) -> None:
    await rig.setup(replace(low_rule(), price=Money(Decimal("40"), "NOK")))  # the plan costs 49 now: +22 %
    await rig.look()
    [outcome] = await rig.run(HOUR)
    assert (outcome.step, outcome.reason) == (Step.SKIPPED, "price") and await rig.topups() == []
    async with rig.store.transaction() as tx:
        assert [r.stopped for r in await tx.auto_rules("l1")] == ["price"]


class Flaky:
    """The demo, but ``topup`` raises the given errors first."""

    def __init__(self, inner: DemoProvider, *errors: Exception) -> None:
        self.inner, self.errors, self.name = inner, list(errors), "demo"

    async def plans(self, iccid: str) -> list[Plan]:
        return await self.inner.plans(iccid)

    async def balance(self, iccid: str) -> EsimBalance:
        return await self.inner.balance(iccid)

    async def topup(self, iccid: str, plan_id: str, *, client_ref: str) -> Order:
        if self.errors:
            raise self.errors.pop(0)
        return await self.inner.topup(iccid, plan_id, client_ref=client_ref)


async def test_a_transient_failure_is_retried_once_then_the_people_decide(rig: Rig) -> None:
    await rig.setup(low_rule())
    rig.providers["demo"] = Flaky(rig.demo, TryLater("demo", "busy"), TryLater("demo", "busy"))
    await rig.look()
    assert [(o.step, o.reason) for o in await rig.run(HOUR)] == [(Step.FAILED, "retry")]
    assert [(o.step, o.reason) for o in await rig.run(HOUR)] == [(Step.FAILED, "TryLater")]
    assert await rig.run(HOUR) == [] and await rig.topups() == []


async def test_a_refused_order_is_not_retried(rig: Rig) -> None:
    await rig.setup(low_rule())
    rig.providers["demo"] = Flaky(rig.demo, Refused("demo", "no credit"))
    await rig.look()
    assert [(o.step, o.reason) for o in await rig.run(HOUR)] == [(Step.FAILED, "Refused")]
    assert await rig.run(HOUR) == []


async def test_an_outage_charges_nothing_and_the_attempt_waits(rig: Rig) -> None:
    await rig.setup(low_rule())

    class Down(Flaky):
        async def plans(self, iccid: str) -> list[Plan]:
            raise TryLater("demo", "down")

    rig.providers["demo"] = Down(rig.demo)
    await rig.look()
    assert [(o.step, o.reason) for o in await rig.run(HOUR)] == [(Step.NOTICED, "outage")]
    rig.providers["demo"] = rig.demo
    assert [o.step for o in await rig.run(HOUR)] == [Step.DONE] and len(await rig.topups()) == 1


async def test_a_monthly_cycle_orders_once_per_cycle(rig: Rig) -> None:
    rule = AutoRule("l1", Kind.CYCLE, "demo-1gb-7d", NOK49, "console:u", T0, period=Period.MONTHLY, day=3)
    await rig.setup(rule)
    assert await rig.look() == []  # 3 January 09:00 is 49 h away: the notice waits
    rig.clock.advance(HOUR)
    [decision] = await rig.look()
    assert decision.trigger == "cycle:2026-01-03" and decision.charge_at == T0 + 49 * HOUR and await rig.look() == []
    await rig.restart()
    assert await rig.run(47 * HOUR) == []
    assert [o.step for o in await rig.run(HOUR)] == [Step.DONE]
    rig.clock.advance(timedelta(days=5))
    assert await rig.look() == [] and len(await rig.topups()) == 1


def test_cycle_days_clamp_to_short_months() -> None:
    rule = AutoRule("l1", Kind.CYCLE, "p", NOK49, "u", datetime(2026, 1, 31, tzinfo=UTC), period=Period.MONTHLY, day=31)
    assert cycle_day(rule, datetime(2026, 3, 1).date()).isoformat() == "2026-02-28"
    quarterly = replace(rule, period=Period.QUARTERLY)
    assert cycle_day(quarterly, datetime(2026, 6, 1).date()).isoformat() == "2026-04-30"


class LostAnswer(Flaky):
    """The order reaches the demo, but the answer is lost (a crash or a cut connection)."""

    async def topup(self, iccid: str, plan_id: str, *, client_ref: str) -> Order:
        await self.inner.topup(iccid, plan_id, client_ref=client_ref)
        raise OutcomeUnknown("demo", "answer lost")

    async def order_status(self, iccid: str, client_ref: str) -> Order:
        return await self.inner.order_status(iccid, client_ref)


async def test_a_lost_answer_is_reconciled_after_a_restart_and_never_resent(rig: Rig) -> None:
    await rig.setup(low_rule())
    rig.providers["demo"] = LostAnswer(rig.demo)
    await rig.look()
    assert [(o.step, o.reason) for o in await rig.run(HOUR)] == [(Step.PLACING, "unknown")]
    await rig.restart()
    assert [o.step for o in await rig.run(HOUR)] == [Step.DONE]
    assert len(await rig.topups()) == 1 and await rig.run(HOUR) == [] and await rig.look() == []


async def test_the_monthly_count_limit_holds(rig: Rig) -> None:
    await rig.setup(low_rule(monthly_limit=2))
    async with rig.store.transaction() as tx:
        for days in (3, 2):
            await tx.add_auto_made("l1", T0 + timedelta(days=days))
    rig.clock.set(T0 + timedelta(days=5))
    await rig.look()
    [outcome] = await rig.run(HOUR)
    assert (outcome.step, outcome.reason) == (Step.SKIPPED, "monthly") and await rig.topups() == []


async def test_logs_name_the_token_and_the_line_never_the_iccid(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    await rig.setup(low_rule())
    await rig.look()
    with caplog.at_level("INFO", logger="bot.renewal.orderer"):
        await rig.run(HOUR)
    assert "automatic order auto" in caplog.text and LOW_ICCID not in caplog.text and LOW_ICCID[-6:] not in caplog.text
