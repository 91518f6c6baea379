"""Airalo adapter against its emulator: contract, units, statuses, errors, token, exactly-once."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest

from providers import _airalo_parse as parse
from providers.airalo import AiraloProvider
from providers.base import MB, OrderStatus, Status
from providers.errors import (
    AuthError,
    EsimTerminal,
    NotFound,
    PlanUnavailable,
    ProviderCreditExhausted,
    RateLimited,
    TopUpNotAllowed,
    Unavailable,
    Validation,
    WebhookRejected,
)
from tests.emulators import (
    AIRALO_CLIENT_ID,
    AIRALO_CLIENT_SECRET,
    AIRALO_CODE,
    AIRALO_ICCID,
    AIRALO_NO_TOPUP_ICCID,
    AIRALO_RECYCLED_ICCID,
    AIRALO_SMALL_PLAN,
    AIRALO_TOPUP_PLAN,
    AIRALO_UNLIMITED_ICCID,
)
from tests.emulators._server import Fault
from tests.emulators.airalo import AiraloEmulator
from tests.emulators.fakes import NOW, FakeTime, fixed_now
from tests.emulators.timeouts import AnswerTooLate, path_ends
from tests.provider_contract import ContractSim, ProviderContract


@pytest.fixture
async def emu() -> AsyncIterator[AiraloEmulator]:
    async with AiraloEmulator.running(now=fixed_now) as emulator:
        yield emulator


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


def make(emu: AiraloEmulator, clock: FakeTime, **kw: object) -> AiraloProvider:
    return AiraloProvider(
        client_id=AIRALO_CLIENT_ID,
        client_secret=AIRALO_CLIENT_SECRET,
        base_url=emu.base_url,
        now=fixed_now,
        pacing=clock.pacing,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def provider(emu: AiraloEmulator, clock: FakeTime) -> AsyncIterator[AiraloProvider]:
    adapter = make(emu, clock)
    yield adapter
    await adapter.aclose()


class TestAiraloContract(ProviderContract):
    @pytest.fixture
    def sim(self) -> ContractSim:
        return ContractSim(AIRALO_ICCID, AIRALO_CODE, AIRALO_TOPUP_PLAN)


# --- balance, units, statuses --------------------------------------------------------------


async def test_balance_converts_mb_minutes_sms_and_naive_expiry(provider: AiraloProvider) -> None:
    bal = await provider.balance(AIRALO_ICCID)
    assert (bal.data_total_bytes, bal.data_remaining_bytes) == (2048 * MB, 767 * MB)
    assert (bal.voice_total_min, bal.voice_remaining_min, bal.sms_total, bal.sms_remaining) == (100, 40, 100, 7)
    assert bal.status is Status.ACTIVE and bal.as_of == NOW
    assert bal.expires_at == NOW.replace(microsecond=0) + timedelta(days=20)
    assert bal.raw["meta"]["message"] == "api.succes"


async def test_unlimited_zero_counters_are_ignored(provider: AiraloProvider) -> None:
    bal = await provider.balance(AIRALO_UNLIMITED_ICCID)
    assert bal.data_unlimited and bal.data_remaining_bytes is None and bal.data_total_bytes is None


async def test_recycled_esim_is_terminal(provider: AiraloProvider) -> None:
    bal = await provider.balance(AIRALO_RECYCLED_ICCID)
    assert bal.status is Status.TERMINATED and bal.expires_at is None
    with pytest.raises(EsimTerminal):
        await provider.plans(AIRALO_RECYCLED_ICCID)
    with pytest.raises(EsimTerminal):
        await provider.topup(AIRALO_RECYCLED_ICCID, AIRALO_TOPUP_PLAN, client_ref="r-recycled")


async def test_no_topups_is_topup_not_allowed(provider: AiraloProvider) -> None:
    assert (await provider.balance(AIRALO_NO_TOPUP_ICCID)).status is Status.DEPLETED
    with pytest.raises(TopUpNotAllowed):
        await provider.plans(AIRALO_NO_TOPUP_ICCID)


async def test_plans_money_is_decimal_usd_net_and_retail(provider: AiraloProvider) -> None:
    plans = {p.id: p for p in await provider.plans(AIRALO_ICCID)}
    big, small = plans[AIRALO_TOPUP_PLAN], plans[AIRALO_SMALL_PLAN]
    assert big.price.amount == Decimal("8") and big.retail_price is not None
    assert big.retail_price.amount == Decimal("10") and big.price.currency == "USD"
    assert big.data_bytes == 3072 * MB and big.validity_days == 30 and (big.voice_min, big.sms) == (100, 100)
    assert small.price.amount == Decimal("3.60") and small.voice_min is None


async def test_discount_pricing_derives_our_cost(emu: AiraloEmulator, provider: AiraloProvider) -> None:
    emu.discount_pricing = True
    plans = {p.id: p for p in await provider.plans(AIRALO_ICCID)}
    assert plans[AIRALO_TOPUP_PLAN].price.amount == Decimal("8.00")  # 10 USD - 20 %


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("NOT_ACTIVE", Status.NOT_ACTIVE),
        ("ACTIVE", Status.ACTIVE),
        ("FINISHED", Status.DEPLETED),
        ("EXPIRED", Status.EXPIRED),
        ("RECYCLED", Status.TERMINATED),
        ("UNKNOWN", Status.UNKNOWN),
        ("SOMETHING_NEW", Status.UNKNOWN),
        (None, Status.UNKNOWN),
    ],
)
def test_status_table(raw: str | None, expected: Status) -> None:
    body = {"data": {"status": raw, "total": 1024, "remaining": 10, "expired_at": None}}
    assert parse.balance(AIRALO_ICCID, body, NOW).status is expected


@pytest.mark.parametrize(
    ("total", "remaining", "unlimited", "expected"),
    [
        (2048, 767, False, (2048 * MB, 767 * MB, False)),
        ("1024", "1", False, (1024 * MB, 1 * MB, False)),
        (0, 0, False, (None, None, False)),  # Sandbox unlimited: 0/0 is unknown, never "depleted"
        (2048, 767, True, (None, None, True)),  # the doc's verbatim example: unlimited wins
        (100, 150, False, (100 * MB, 100 * MB, False)),
    ],
)
def test_unit_table(total: object, remaining: object, unlimited: bool, expected: tuple[object, ...]) -> None:
    bal = parse.balance(
        AIRALO_ICCID, {"data": {"status": "ACTIVE", "total": total, "remaining": remaining, "is_unlimited": unlimited}}, NOW
    )
    assert (bal.data_total_bytes, bal.data_remaining_bytes, bal.data_unlimited) == expected


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (422, {"code": 11, "reason": "Insufficient balance"}, ProviderCreditExhausted),
        (422, {"code": 13, "reason": "Operator maintenance"}, Unavailable),
        (422, {"code": 14, "reason": "Invalid checksum"}, Validation),
        (422, {"code": 23, "reason": "Top-up disabled"}, TopUpNotAllowed),
        (422, {"code": 33, "reason": "Insufficient stock"}, Unavailable),
        (422, {"code": 34, "reason": "Package out of stock"}, PlanUnavailable),
        (422, {"code": 43, "reason": "Bad request"}, Validation),
        (422, {"code": 53, "reason": "Unexpected"}, Unavailable),
        (422, {"code": "73", "reason": "The eSIM with iccid 89340000000000872 has been recycled."}, EsimTerminal),
        (403, {"code": 89, "reason": "IP not allowed"}, AuthError),
        (401, {"data": [], "meta": {"message": "Client authentication failed"}}, AuthError),
        (403, {"data": [], "meta": {"message": "This action is unauthorized."}}, AuthError),
        (404, {"data": [], "meta": {"message": "messages.resource_not_found"}}, NotFound),
        (
            422,
            {"data": {"package_id": "invalid topup package"}, "meta": {"message": "the parameter is invalid"}},
            PlanUnavailable,
        ),
        (422, {"data": {"package_id": "validation.order_exceed_limit"}, "meta": {"message": "invalid"}}, Validation),
        (422, {"data": {"iccid": "The iccid field is required."}, "meta": {"message": "invalid"}}, Validation),
    ],
)
def test_error_table(status: int, body: object, error: type[Exception]) -> None:
    found = parse.error_for(status, body)
    assert type(found) is error or isinstance(found, error)
    assert "89340000000000872" not in str(found)  # ICCIDs are masked in messages


# --- token ---------------------------------------------------------------------------------


async def test_token_is_cached_and_refreshed_on_401(emu: AiraloEmulator, provider: AiraloProvider) -> None:
    await provider.balance(AIRALO_ICCID)
    await provider.balance(AIRALO_ICCID)
    assert emu.count("token") == 1
    emu.expire_tokens()
    assert (await provider.balance(AIRALO_ICCID)).data_total_bytes == 2048 * MB
    assert emu.count("token") == 2 and emu.count("usage") == 4


async def test_bad_credentials_are_auth_error(emu: AiraloEmulator, clock: FakeTime) -> None:
    adapter = AiraloProvider(
        client_id=AIRALO_CLIENT_ID, client_secret="wrong", base_url=emu.base_url, now=fixed_now, pacing=clock.pacing
    )
    with pytest.raises(AuthError):
        await adapter.balance(AIRALO_ICCID)
    await adapter.aclose()


# --- exactly-once top-ups ------------------------------------------------------------------


async def test_lost_answer_is_reconciled_not_reordered(emu: AiraloEmulator, provider: AiraloProvider) -> None:
    emu.inject("order_topup", Fault.lost())
    order = await provider.topup(AIRALO_ICCID, AIRALO_TOPUP_PLAN, client_ref="ref-lost")
    assert order.status is OrderStatus.COMPLETED and order.provider_order_id == "111"
    assert order.price is not None and order.price.amount == Decimal("8.00")
    again = await provider.topup(AIRALO_ICCID, AIRALO_TOPUP_PLAN, client_ref="ref-lost")
    assert again.provider_order_id == order.provider_order_id
    assert len(emu.topup_orders()) == 1 and emu.count("order_topup") == 1


async def test_timeout_after_success_is_reconciled(emu: AiraloEmulator, clock: FakeTime) -> None:
    late = AnswerTooLate(path_ends("/v2/orders/topups", "POST"))
    adapter = make(emu, clock, transport=late)
    order = await adapter.topup(AIRALO_ICCID, AIRALO_SMALL_PLAN, client_ref="ref-late")
    assert late.timed_out == 1
    assert order.status is OrderStatus.COMPLETED and len(emu.topup_orders()) == 1
    await adapter.aclose()


async def test_5xx_on_order_gives_pending_and_never_resends(emu: AiraloEmulator, provider: AiraloProvider) -> None:
    emu.inject("order_topup", Fault.fail(502))
    first = await provider.topup(AIRALO_ICCID, AIRALO_TOPUP_PLAN, client_ref="ref-502")
    assert first.status is OrderStatus.PENDING and first.provider_order_id is None
    second = await provider.topup(AIRALO_ICCID, AIRALO_TOPUP_PLAN, client_ref="ref-502")
    assert second.status is OrderStatus.PENDING
    assert emu.count("order_topup") == 1 and emu.topup_orders() == []
    assert (await provider.order_status(AIRALO_ICCID, "ref-502")).status is OrderStatus.PENDING


async def test_description_filter_is_matched_exactly(emu: AiraloEmulator, provider: AiraloProvider) -> None:
    await provider.topup(AIRALO_ICCID, AIRALO_TOPUP_PLAN, client_ref="ref-10")
    with pytest.raises(NotFound):  # "ref-1" is a substring of "ref-10" but not our order
        await provider.order_status(AIRALO_ICCID, "ref-1")
    order = await provider.topup(AIRALO_ICCID, AIRALO_TOPUP_PLAN, client_ref="ref-1")
    assert order.status is OrderStatus.COMPLETED and len(emu.topup_orders()) == 2


async def test_order_status_after_restart_reads_list_with_string_prices(
    emu: AiraloEmulator, provider: AiraloProvider, clock: FakeTime
) -> None:
    await provider.topup(AIRALO_ICCID, AIRALO_SMALL_PLAN, client_ref="ref-restart")
    fresh = make(emu, clock)  # no memory of the order: found by its description
    order = await fresh.order_status(AIRALO_ICCID, "ref-restart")
    assert order.status is OrderStatus.COMPLETED and order.price is not None
    assert order.price.amount == Decimal("3.60") and order.created_at == NOW.replace(microsecond=0)
    await fresh.aclose()


# --- limits and retries --------------------------------------------------------------------


async def test_read_retries_5xx_with_backoff(emu: AiraloEmulator, provider: AiraloProvider, clock: FakeTime) -> None:
    emu.inject("usage", Fault.fail(503), Fault.fail(500))
    assert (await provider.balance(AIRALO_ICCID)).status is Status.ACTIVE
    assert emu.count("usage") == 3 and clock.sleeps[-2:] == [0.5, 1.0]


async def test_hung_read_times_out_and_is_retried(emu: AiraloEmulator, clock: FakeTime) -> None:
    late = AnswerTooLate(path_ends("/usage"), times=0)
    adapter = make(emu, clock, transport=late)
    await adapter.balance(AIRALO_ICCID)  # token first, so only the usage call times out
    late.arm()
    assert (await adapter.balance(AIRALO_ICCID)).status is Status.ACTIVE
    assert late.timed_out == 1
    assert emu.count("usage") == 3 and 0.5 in clock.sleeps
    await adapter.aclose()


async def test_429_retry_after_is_honoured(emu: AiraloEmulator, provider: AiraloProvider, clock: FakeTime) -> None:
    emu.inject("usage", Fault.fail(429, {"message": "Too Many Attempts."}, retry_after="7"))
    await provider.balance(AIRALO_ICCID)
    assert 7.0 in clock.sleeps and emu.count("usage") == 2


async def test_long_retry_after_is_raised_not_slept(emu: AiraloEmulator, provider: AiraloProvider, clock: FakeTime) -> None:
    emu.inject("usage", Fault.fail(429, {"message": "Too Many Attempts."}, retry_after="120"))
    with pytest.raises(RateLimited) as info:
        await provider.balance(AIRALO_ICCID)
    assert info.value.retry_after == 120 and clock.slept < 1


async def test_per_iccid_limit_paces_one_esim_not_the_others(provider: AiraloProvider, clock: FakeTime) -> None:
    for _ in range(5):  # the per-eSIM burst
        await provider.balance(AIRALO_ICCID)
    assert clock.slept < 1.1  # only the company-wide 5/s bucket, evenly spaced
    before = clock.slept
    await provider.balance(AIRALO_ICCID)
    # 10 per minute per ICCID: the 6th call waits for a token, less the time the first five took
    assert clock.slept - before == pytest.approx(6.0 - before, abs=0.5)
    before = clock.slept
    await provider.balance(AIRALO_UNLIMITED_ICCID)
    assert clock.slept - before < 1


async def test_logs_never_show_iccid_token_or_secret(
    emu: AiraloEmulator, provider: AiraloProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="providers")
    emu.inject("usage", Fault.fail(503))
    await provider.balance(AIRALO_ICCID)
    await provider.topup(AIRALO_ICCID, AIRALO_TOPUP_PLAN, client_ref="ref-log")
    text = caplog.text
    assert "89…0017" in text and AIRALO_ICCID not in text
    assert AIRALO_CLIENT_SECRET not in text and not any(t in text for t in emu.tokens)


# --- webhooks ------------------------------------------------------------------------------


def signed(payload: dict[str, object], secret: str = AIRALO_CLIENT_SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return {"Airalo-Signature": parse.sign(body, secret)}, body


def test_sdk_signature_vector() -> None:
    body = b'{"package_id":"merhaba-7days-1gb","iccid":"8944465400000000001","description":"topup"}'
    assert parse.sign(body, "test-secret") == (
        "9b4265598c3098f673e0e55af00defbfe5f43471a39c8af42f98db9dce936d9b4746578f9f0b2f4570fefd1cb0e56763ac"
        "8b3e8a61f64eaaf94af081761ff6f3"
    )


@pytest.mark.parametrize(
    ("payload", "kind", "used", "days"),
    [
        ({"level": "75%", "package_name": "x", "remaining_percentage": 25, "iccid": AIRALO_ICCID}, "data_threshold", 75, None),
        ({"level": "90%", "iccid": AIRALO_ICCID}, "data_threshold", 90, None),
        ({"level": "3days", "iccid": AIRALO_ICCID}, "expiry_soon", None, 3),
        ({"level": "1days", "iccid": AIRALO_ICCID}, "expiry_soon", None, 1),
        ({"event": "low_data_notification", "type": "expire_1", "iccid": AIRALO_ICCID}, "expiry_soon", None, 1),
        ({"event": "low_data_notification", "type": "data_90", "iccid": AIRALO_ICCID}, "data_threshold", 90, None),
    ],
)
def test_webhook_events(payload: dict[str, object], kind: str, used: int | None, days: int | None) -> None:
    headers, body = signed(payload)
    [event] = parse.parse_webhook(headers, body, NOW, secret=AIRALO_CLIENT_SECRET)
    assert (event.kind, event.threshold_used_percent, event.days_left) == (kind, used, days)
    assert event.iccid == AIRALO_ICCID and event.received_at == NOW and event.provider == "airalo"


async def test_webhook_via_provider_and_sdk_form(provider: AiraloProvider) -> None:
    body = b'{"level": "90%", "package_name": "a/b", "iccid": "8944465400000100017"}'  # "/" escaped by the SDK
    sdk_form = b'{"level":"90%","package_name":"a\\/b","iccid":"8944465400000100017"}'
    events = provider.parse_webhook({"airalo-signature": parse.sign(sdk_form, AIRALO_CLIENT_SECRET)}, body, NOW)
    assert [e.threshold_used_percent for e in events] == [90]


def test_credit_limit_notification_yields_nothing() -> None:
    headers, body = signed({"message": "Surpassed 80% of the credit limit balance", "remaining": 225.35})
    assert parse.parse_webhook(headers, body, NOW, secret=AIRALO_CLIENT_SECRET) == []


@pytest.mark.parametrize("case", ["missing", "wrong-secret", "tampered", "oversized", "malformed"])
def test_webhook_rejections(case: str) -> None:
    headers, body = signed({"level": "75%", "iccid": AIRALO_ICCID})
    if case == "missing":
        headers = {}
    elif case == "wrong-secret":
        headers, body = signed({"level": "75%", "iccid": AIRALO_ICCID}, secret="not-the-secret")
    elif case == "tampered":
        body = body.replace(b"75%", b"90%")
    elif case == "oversized":
        body = b'{"pad": "' + b"x" * 70_000 + b'"}'
        headers = {"airalo-signature": parse.sign(body, AIRALO_CLIENT_SECRET)}
    else:
        body = b"{not json"
        headers = {"airalo-signature": parse.sign(body, AIRALO_CLIENT_SECRET)}
    with pytest.raises(WebhookRejected):
        parse.parse_webhook(headers, body, NOW, secret=AIRALO_CLIENT_SECRET)


# --- live ----------------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("AIRALO_CLIENT_ID"), reason="needs AIRALO_CLIENT_ID/SECRET and LIVE_ICCID")
async def test_live_balance() -> None:
    from datetime import UTC, datetime

    adapter = AiraloProvider(
        client_id=os.environ["AIRALO_CLIENT_ID"], client_secret=os.environ["AIRALO_CLIENT_SECRET"], now=lambda: datetime.now(UTC)
    )
    try:
        bal = await adapter.balance(os.environ["AIRALO_LIVE_ICCID"])
        assert bal.provider == "airalo"
    finally:
        await adapter.aclose()
