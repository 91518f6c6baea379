"""The demo and manual providers: the shared provider contract, plus the demo set of
design.md section 7 (a stable contract the README and tests rely on)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.app import ProviderState
from bot.clock import FakeClock
from bot.store import MemoryStore
from providers.base import GB, MB, Provider, Status
from providers.demo import DemoProvider
from providers.errors import ClaimRejected, NotFound, PlanUnavailable, ProviderError, TopUpNotAllowed
from providers.manual import ManualProvider
from tests.conftest import DEMO
from tests.provider_contract import ContractSim, ProviderContract

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def store() -> ProviderState:
    return ProviderState(MemoryStore())


@pytest.fixture
def demo(store: ProviderState, clock: FakeClock) -> DemoProvider:
    return DemoProvider(store, clock.now)


class TestDemoContract(ProviderContract):
    @pytest.fixture
    def provider(self, demo: DemoProvider) -> Provider:
        return demo

    @pytest.fixture(
        params=[("DEMO20", "demo-1gb-7d"), ("DEMO53", "demo-unl-7d"), ("DEMO46", "demo-5gb-30d"), ("DEMO61", "demo-10gb-30d")],
        ids=["limited", "unlimited", "expired", "depleted"],
    )
    def sim(self, request: pytest.FixtureRequest) -> ContractSim:
        code, plan = request.param
        return ContractSim(DEMO[code], code, plan)


class TestManualContract(ProviderContract):
    @pytest.fixture
    def provider(self, store: ProviderState, clock: FakeClock) -> Provider:
        return ManualProvider(store, clock.now)

    @pytest.fixture
    async def sim(self, provider: ManualProvider, clock: FakeClock) -> ContractSim:
        ref = await provider.track(operator="telenor", total_bytes=10 * GB, expires_at=T0 + 30 * DAY, now=clock.now())
        return ContractSim(ref, None, None)


# --- the demo set --------------------------------------------------------------------------

DAY0 = {  # code: (total, remaining, expiry day, status); GB = 1024 MB
    "DEMO12": (10 * GB, int(7.5 * GB), 20, Status.ACTIVE),
    "DEMO20": (5 * GB, round(0.4 * GB), 12, Status.ACTIVE),
    "DEMO38": (3 * GB, 2 * GB, 2, Status.ACTIVE),
    "DEMO46": (3 * GB, 0, -3, Status.EXPIRED),
    "DEMO53": (None, None, 5, Status.ACTIVE),
    "DEMO61": (1 * GB, 0, 10, Status.DEPLETED),
}


@pytest.mark.parametrize("code", list(DAY0))
async def test_day_zero_values(demo: DemoProvider, code: str) -> None:
    total, remaining, day, status = DAY0[code]
    bal = await demo.balance(DEMO[code])
    assert bal.status is status
    assert bal.expires_at == T0 + day * DAY
    assert bal.as_of == T0
    if total is None:
        assert bal.data_unlimited and bal.data_remaining_bytes is None and bal.data_total_bytes is None
    else:
        assert not bal.data_unlimited
        assert bal.data_total_bytes == total
        if status is not Status.EXPIRED:
            assert bal.data_remaining_bytes == remaining


async def test_demo_iccids_pass_luhn_and_codes_match() -> None:
    from handlers.parsing import parse_iccid

    for code, iccid in DEMO.items():
        assert parse_iccid(iccid) == iccid
        assert iccid[-2:] == code[-2:]


async def test_300_mb_per_day_evenly(demo: DemoProvider, clock: FakeClock) -> None:
    start = (await demo.balance(DEMO["DEMO12"])).data_remaining_bytes
    assert start is not None
    clock.advance(timedelta(hours=6))
    assert (await demo.balance(DEMO["DEMO12"])).data_remaining_bytes == start - 75 * MB
    clock.advance(timedelta(hours=18))
    assert (await demo.balance(DEMO["DEMO12"])).data_remaining_bytes == start - 300 * MB
    clock.advance(10 * DAY)
    assert (await demo.balance(DEMO["DEMO12"])).data_remaining_bytes == start - 11 * 300 * MB


async def test_a_line_runs_dry_and_stays_at_zero(demo: DemoProvider, clock: FakeClock) -> None:
    # 409.6 MB at 300 MB/day: empty after about 1.37 days
    clock.advance(timedelta(hours=32))
    bal = await demo.balance(DEMO["DEMO20"])
    assert bal.status is Status.ACTIVE and 0 < (bal.data_remaining_bytes or 0) < 10 * MB
    clock.advance(timedelta(hours=2))
    bal = await demo.balance(DEMO["DEMO20"])
    assert bal.status is Status.DEPLETED and bal.data_remaining_bytes == 0
    clock.advance(5 * DAY)
    assert (await demo.balance(DEMO["DEMO20"])).data_remaining_bytes == 0


async def test_no_use_after_expiry(demo: DemoProvider, clock: FakeClock) -> None:
    clock.advance(2 * DAY)
    at_expiry = await demo.balance(DEMO["DEMO38"])
    assert at_expiry.status is Status.EXPIRED
    assert at_expiry.data_remaining_bytes == 2 * GB - 600 * MB
    clock.advance(3 * DAY)
    assert (await demo.balance(DEMO["DEMO38"])).data_remaining_bytes == 2 * GB - 600 * MB


async def test_unlimited_line_expires_on_day_5(demo: DemoProvider, clock: FakeClock) -> None:
    clock.advance(4 * DAY)
    assert (await demo.balance(DEMO["DEMO53"])).status is Status.ACTIVE
    clock.advance(DAY)
    assert (await demo.balance(DEMO["DEMO53"])).status is Status.EXPIRED


async def test_plans_for_limited_and_unlimited_lines(demo: DemoProvider) -> None:
    limited = await demo.plans(DEMO["DEMO20"])
    assert [(p.data_bytes, p.validity_days, p.price.amount, p.price.currency, p.data_unlimited) for p in limited] == [
        (1 * GB, 7, Decimal("49"), "NOK", False),
        (5 * GB, 30, Decimal("149"), "NOK", False),
        (10 * GB, 30, Decimal("249"), "NOK", False),
    ]
    for code in ("DEMO12", "DEMO38", "DEMO46", "DEMO61"):
        assert [p.id for p in await demo.plans(DEMO[code])] == [p.id for p in limited]
    unlimited = await demo.plans(DEMO["DEMO53"])
    assert [(p.data_unlimited, p.validity_days, p.price.amount, p.price.currency) for p in unlimited] == [
        (True, 7, Decimal("199"), "NOK")
    ]
    all_ids = {p.id for p in limited} | {p.id for p in unlimited}
    assert len(all_ids) == 4  # the demo catalogue has four plans; a line is offered those that fit it


async def test_plans_that_do_not_fit_are_refused(demo: DemoProvider) -> None:
    with pytest.raises(PlanUnavailable):
        await demo.topup(DEMO["DEMO53"], "demo-1gb-7d", client_ref="r1")
    with pytest.raises(PlanUnavailable):
        await demo.topup(DEMO["DEMO12"], "demo-unl-7d", client_ref="r2")
    with pytest.raises(NotFound):
        await demo.plans("8999999999999999994")


async def test_topup_adds_data_and_extends_expiry(demo: DemoProvider, clock: FakeClock) -> None:
    clock.advance(DAY)
    before = await demo.balance(DEMO["DEMO12"])
    order = await demo.topup(DEMO["DEMO12"], "demo-1gb-7d", client_ref="ref-a")
    assert order.price is not None and order.price.amount == Decimal("49")
    after = await demo.balance(DEMO["DEMO12"])
    assert after.data_remaining_bytes == (before.data_remaining_bytes or 0) + GB
    assert after.data_total_bytes == 11 * GB
    assert after.expires_at == T0 + 27 * DAY  # max(day 20, day 1) + 7
    clock.advance(DAY)  # usage goes on from the new amount
    assert (await demo.balance(DEMO["DEMO12"])).data_remaining_bytes == (after.data_remaining_bytes or 0) - 300 * MB


async def test_topup_of_a_depleted_line(demo: DemoProvider, clock: FakeClock) -> None:
    clock.advance(DAY)
    await demo.topup(DEMO["DEMO61"], "demo-1gb-7d", client_ref="ref-d")
    bal = await demo.balance(DEMO["DEMO61"])
    assert bal.status is Status.ACTIVE
    assert bal.data_remaining_bytes == GB and bal.data_total_bytes == GB
    assert bal.expires_at == T0 + 17 * DAY  # max(day 10, day 1) + 7


async def test_topup_of_an_expired_line(demo: DemoProvider, clock: FakeClock) -> None:
    clock.advance(DAY)
    await demo.topup(DEMO["DEMO46"], "demo-5gb-30d", client_ref="ref-e")
    bal = await demo.balance(DEMO["DEMO46"])
    assert bal.status is Status.ACTIVE
    assert bal.data_remaining_bytes == 5 * GB and bal.data_total_bytes == 5 * GB
    assert bal.expires_at == T0 + 31 * DAY  # max(day -3, now = day 1) + 30


async def test_topup_of_a_line_that_expired_while_watched(demo: DemoProvider, clock: FakeClock) -> None:
    clock.advance(3 * DAY)  # DEMO38 expired on day 2 with data left
    await demo.topup(DEMO["DEMO38"], "demo-1gb-7d", client_ref="ref-x")
    bal = await demo.balance(DEMO["DEMO38"])
    assert bal.status is Status.ACTIVE
    assert bal.expires_at == T0 + 10 * DAY  # max(day 2, day 3) + 7
    assert bal.data_remaining_bytes is not None and bal.data_remaining_bytes >= GB


async def test_unlimited_topup(demo: DemoProvider, clock: FakeClock) -> None:
    clock.advance(6 * DAY)  # expired on day 5
    await demo.topup(DEMO["DEMO53"], "demo-unl-7d", client_ref="ref-u")
    bal = await demo.balance(DEMO["DEMO53"])
    assert bal.status is Status.ACTIVE and bal.data_unlimited
    assert bal.expires_at == T0 + 13 * DAY


async def test_the_same_client_ref_tops_up_once(demo: DemoProvider, clock: FakeClock) -> None:
    first = await demo.topup(DEMO["DEMO20"], "demo-5gb-30d", client_ref="once")
    clock.advance(timedelta(minutes=5))
    again = await demo.topup(DEMO["DEMO20"], "demo-5gb-30d", client_ref="once")
    assert again == first
    bal = await demo.balance(DEMO["DEMO20"])
    assert bal.data_total_bytes == 10 * GB
    other = await demo.topup(DEMO["DEMO20"], "demo-1gb-7d", client_ref="twice")
    assert other.client_ref == "twice"
    assert (await demo.balance(DEMO["DEMO20"])).data_total_bytes == 11 * GB
    assert (await demo.order_status(DEMO["DEMO20"], "once")).plan_id == "demo-5gb-30d"
    with pytest.raises(NotFound):
        await demo.order_status(DEMO["DEMO20"], "never")


@pytest.mark.parametrize(
    ("given", "ok"),
    [
        ("DEMO12", True),
        ("demo12", True),
        (" DEMO12 ", True),
        ("EMO12", False),
        ("XDEMO12", False),
        ("DEMO21", False),
        ("", False),
        ("DEMO1", False),
        ("ＤＥＭＯ１２", False),
        ("😀" * 6, False),
    ],
)
async def test_claim_codes(demo: DemoProvider, given: str, ok: bool) -> None:
    if ok:
        await demo.verify_claim(DEMO["DEMO12"], given)
    else:
        with pytest.raises(ClaimRejected):
            await demo.verify_claim(DEMO["DEMO12"], given)


async def test_day0_is_kept_in_the_store(store: ProviderState, clock: FakeClock) -> None:
    await DemoProvider(store, clock.now).day0()
    clock.advance(3 * DAY)
    later = DemoProvider(store, clock.now)  # a restart on the same data
    assert await later.day0() == T0
    bal = await later.balance(DEMO["DEMO12"])
    assert bal.data_remaining_bytes == int(7.5 * GB) - 900 * MB


async def test_deterministic(clock: FakeClock) -> None:
    a, b = ProviderState(MemoryStore()), ProviderState(MemoryStore())
    pa, pb = DemoProvider(a, clock.now), DemoProvider(b, clock.now)
    clock.advance(timedelta(hours=31, minutes=7))
    for iccid in DEMO.values():
        assert await pa.balance(iccid) == await pb.balance(iccid)


# --- manual lines ------------------------------------------------------------------------


async def test_manual_line_reports_what_was_typed(store: ProviderState, clock: FakeClock) -> None:
    manual = ManualProvider(store, clock.now)
    ref = await manual.track(operator="telia", total_bytes=10 * GB, expires_at=T0 + 5 * DAY, now=clock.now())
    assert await manual.operator(ref) == "telia"
    clock.advance(DAY)
    bal = await manual.balance(ref)
    assert bal.status is Status.ACTIVE and bal.as_of == T0  # no simulated use: as typed, when typed
    assert bal.data_remaining_bytes == bal.data_total_bytes == 10 * GB
    await manual.set_remaining(ref, 2 * GB, clock.now())
    bal = await manual.balance(ref)
    assert bal.data_remaining_bytes == 2 * GB and bal.data_total_bytes == 10 * GB and bal.as_of == T0 + DAY
    await manual.set_remaining(ref, 12 * GB, clock.now())  # more than the plan: the total follows
    assert (await manual.balance(ref)).data_total_bytes == 12 * GB
    await manual.set_remaining(ref, 0, clock.now())
    assert (await manual.balance(ref)).status is Status.DEPLETED
    clock.advance(4 * DAY)
    assert (await manual.balance(ref)).status is Status.EXPIRED
    assert manual.supports_topup is False


async def test_manual_has_nothing_to_buy(store: ProviderState, clock: FakeClock) -> None:
    manual = ManualProvider(store, clock.now)
    ref = await manual.track(operator="ice", total_bytes=GB, expires_at=T0 + DAY, now=clock.now())
    with pytest.raises(TopUpNotAllowed):
        await manual.topup(ref, "x", client_ref="r")
    with pytest.raises(ProviderError):
        await manual.order_status(ref, "r")
    with pytest.raises(NotFound):
        await manual.set_remaining("manual-unknown", GB, clock.now())
    assert await manual.operator("manual-unknown") is None
