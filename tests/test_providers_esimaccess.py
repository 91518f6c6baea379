"""eSIM Access adapter against its emulator: contract, envelope quirks, units, exactly-once."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from providers import _esimaccess_parse as parse
from providers.base import GB, OrderStatus, Status
from providers.errors import (
    AuthError,
    EsimTerminal,
    NotFound,
    NotReady,
    PlanUnavailable,
    ProviderCreditExhausted,
    ProviderError,
    Refused,
    TopUpNotAllowed,
    Unavailable,
    Validation,
    WebhookRejected,
)
from providers.esimaccess import EsimAccessProvider
from tests.emulators import (
    ESIMACCESS_ACCESS_CODE,
    ESIMACCESS_CANCELLED_ICCID,
    ESIMACCESS_CODE,
    ESIMACCESS_FRESH_ICCID,
    ESIMACCESS_ICCID,
    ESIMACCESS_PENDING_ICCID,
    ESIMACCESS_SECRET_KEY,
    ESIMACCESS_TOPUP_PLAN,
)
from tests.emulators._server import Fault
from tests.emulators.esimaccess import EsimAccessEmulator
from tests.emulators.fakes import NOW, FakeTime, fixed_now
from tests.emulators.timeouts import AnswerTooLate, path_ends
from tests.provider_contract import ContractSim, ProviderContract

USED = 1_453_344_832


@pytest.fixture
async def emu() -> AsyncIterator[EsimAccessEmulator]:
    async with EsimAccessEmulator.running(now=fixed_now, require_signature=True) as emulator:
        yield emulator


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


def make(emu: EsimAccessEmulator, clock: FakeTime, **kw: Any) -> EsimAccessProvider:
    options: dict[str, Any] = {"access_code": ESIMACCESS_ACCESS_CODE, "secret_key": ESIMACCESS_SECRET_KEY} | kw
    return EsimAccessProvider(base_url=emu.base_url, now=fixed_now, pacing=clock.pacing, **options)


@pytest.fixture
async def provider(emu: EsimAccessEmulator, clock: FakeTime) -> AsyncIterator[EsimAccessProvider]:
    adapter = make(emu, clock)
    yield adapter
    await adapter.aclose()


class TestEsimAccessContract(ProviderContract):
    @pytest.fixture
    def sim(self) -> ContractSim:
        return ContractSim(ESIMACCESS_ICCID, ESIMACCESS_CODE, ESIMACCESS_TOPUP_PLAN)


async def test_balance_bytes_offsets_and_usage_time(provider: EsimAccessProvider) -> None:
    bal = await provider.balance(ESIMACCESS_ICCID)
    assert bal.data_total_bytes == 5 * GB and bal.data_remaining_bytes == 5 * GB - USED
    assert bal.status is Status.ACTIVE and bal.as_of == NOW - timedelta(hours=2)  # lastUpdateTime, not now
    assert bal.expires_at == NOW + timedelta(days=25) and bal.activated_at == NOW - timedelta(days=5)


async def test_bare_usage_array_and_not_active(provider: EsimAccessProvider) -> None:
    bal = await provider.balance(ESIMACCESS_FRESH_ICCID)
    assert bal.status is Status.NOT_ACTIVE and bal.data_remaining_bytes == GB and bal.activated_at is None
    assert bal.as_of == NOW - timedelta(hours=2)


async def test_usage_down_falls_back_to_profile_totals(emu: EsimAccessEmulator, provider: EsimAccessProvider) -> None:
    emu.inject("usage_query", *[Fault.fail(503)] * 3)
    bal = await provider.balance(ESIMACCESS_ICCID)
    assert bal.data_remaining_bytes == 5 * GB - USED and bal.as_of == NOW


async def test_string_success_and_numeric_error_codes(emu: EsimAccessEmulator, provider: EsimAccessProvider) -> None:
    emu.success_as_string = emu.numeric_error_codes = True
    assert (await provider.balance(ESIMACCESS_ICCID)).status is Status.ACTIVE
    with pytest.raises(PlanUnavailable):
        await provider.topup(ESIMACCESS_ICCID, "TOPUP_NOPE", client_ref="ref-nope")


async def test_not_allocated_then_ready(provider: EsimAccessProvider) -> None:
    with pytest.raises(NotReady):
        await provider.balance(ESIMACCESS_PENDING_ICCID)
    assert (await provider.balance(ESIMACCESS_PENDING_ICCID)).status is Status.NOT_ACTIVE


async def test_cancelled_esim(provider: EsimAccessProvider) -> None:
    assert (await provider.balance(ESIMACCESS_CANCELLED_ICCID)).status is Status.TERMINATED
    with pytest.raises(EsimTerminal):
        await provider.plans(ESIMACCESS_CANCELLED_ICCID)
    with pytest.raises(TopUpNotAllowed):
        await provider.topup(ESIMACCESS_CANCELLED_ICCID, ESIMACCESS_TOPUP_PLAN, client_ref="ref-cancel")


async def test_plans_money_is_usd_ten_thousandths(provider: EsimAccessProvider) -> None:
    plans = {p.id: p for p in await provider.plans(ESIMACCESS_ICCID)}
    top = plans[ESIMACCESS_TOPUP_PLAN]
    assert top.price.amount == Decimal("2.5") and top.price.currency == "USD"
    assert top.retail_price is not None and top.retail_price.amount == Decimal("5")
    assert top.data_bytes == 3 * GB and top.validity_days == 30 and top.countries == ("NO",)
    assert plans["TOPUP_CKH492"].countries == ("NO", "SE", "DK")


@pytest.mark.parametrize(("secret", "access"), [("wrong-secret", ESIMACCESS_ACCESS_CODE), (None, "wrong-code")])
async def test_bad_credentials_are_auth_errors(emu: EsimAccessEmulator, clock: FakeTime, secret: str | None, access: str) -> None:
    adapter = make(emu, clock, secret_key=secret, access_code=access)
    with pytest.raises(AuthError):
        await adapter.balance(ESIMACCESS_ICCID)
    await adapter.aclose()


def test_signature_vector() -> None:
    assert parse.sign("1111", "1628670421", "4ce9d9cdac9e4e17b3a2c66c358c1ce2", "11111", '{"imsi":"326543826"}') == (
        "7eb765e27df5373dea2dbc8c41a7d9557743e46c8054750f3d851b3fd01d0835"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("GOT_RESOURCE", Status.NOT_ACTIVE),
        ("IN_USE", Status.ACTIVE),
        ("USED_UP", Status.DEPLETED),
        ("USED_EXPIRED", Status.EXPIRED),
        ("UNUSED_EXPIRED", Status.EXPIRED),
        ("CANCEL", Status.TERMINATED),
        ("REVOKED", Status.TERMINATED),
        ("SUSPENDED", Status.SUSPENDED),
        ("NEW_STATE", Status.UNKNOWN),
    ],
)
def test_status_table(raw: str, expected: Status) -> None:
    assert parse.status_of(raw) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (15000, Decimal("1.5")),
        (112500, Decimal("11.25")),
        (100000, Decimal("10")),
        ("25000", Decimal("2.5")),
        (1, Decimal("0.0001")),
    ],
)
def test_money_table(value: object, expected: Decimal) -> None:
    money = parse.money(value)
    assert money is not None and money.amount == expected and money.currency == "USD"


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("000001", Unavailable),
        ("000101", AuthError),
        (102, AuthError),
        ("000104", Validation),
        ("101001", AuthError),
        (101003, AuthError),
        ("200002", TopUpNotAllowed),
        ("200007", ProviderCreditExhausted),
        (200010, NotReady),
        ("200011", PlanUnavailable),
        ("310241", PlanUnavailable),
        ("310243", PlanUnavailable),
        ("310272", NotFound),
        ("310403", NotFound),
        ("310999", NotFound),
        ("900001", Unavailable),
        ("555555", Refused),
    ],
)
def test_error_code_table(code: object, error: type[ProviderError]) -> None:
    assert type(parse.error_for(code, "message")) is error


def test_http_errors_and_unreadable_bodies() -> None:
    import httpx

    with pytest.raises(AuthError):
        parse.decode(httpx.Response(401, json={"errorMsg": "no"}))
    with pytest.raises(Unavailable):
        parse.decode(httpx.Response(200, text="<html>"))
    with pytest.raises(ProviderCreditExhausted):
        parse.decode(httpx.Response(200, json={"success": "false", "errorCode": 200007, "errorMsg": "x"}))
    assert parse.decode(httpx.Response(200, json={"success": "true", "obj": {"a": 1}, "unknown": 2})) == {"a": 1}


# --- exactly-once --------------------------------------------------------------------------


async def test_lost_topup_answer_is_found_on_the_esim(emu: EsimAccessEmulator, provider: EsimAccessProvider) -> None:
    emu.inject("topup", Fault.lost())
    order = await provider.topup(ESIMACCESS_ICCID, ESIMACCESS_TOPUP_PLAN, client_ref="ref-lost")
    assert order.status is OrderStatus.COMPLETED
    again = await provider.topup(ESIMACCESS_ICCID, ESIMACCESS_TOPUP_PLAN, client_ref="ref-lost")
    assert again.provider_order_id == order.provider_order_id
    assert emu.count("topup") == 1 and list(emu.topups_done) == ["ref-lost"]


async def test_5xx_on_topup_is_pending_and_not_resent(emu: EsimAccessEmulator, provider: EsimAccessProvider) -> None:
    emu.inject("topup", Fault.fail(502))
    first = await provider.topup(ESIMACCESS_ICCID, ESIMACCESS_TOPUP_PLAN, client_ref="ref-502")
    assert first.status is OrderStatus.PENDING
    assert (await provider.order_status(ESIMACCESS_ICCID, "ref-502")).status is OrderStatus.PENDING
    assert (await provider.topup(ESIMACCESS_ICCID, ESIMACCESS_TOPUP_PLAN, client_ref="ref-502")).status is (OrderStatus.PENDING)
    assert emu.count("topup") == 1 and emu.topups_done == {}


async def test_timeout_after_success_is_reconciled(emu: EsimAccessEmulator, clock: FakeTime) -> None:
    late = AnswerTooLate(path_ends("/esim/topup", "POST"))
    adapter = make(emu, clock, transport=late)
    order = await adapter.topup(ESIMACCESS_ICCID, ESIMACCESS_TOPUP_PLAN, client_ref="ref-late")
    assert late.timed_out == 1
    assert order.status is OrderStatus.COMPLETED and emu.count("topup") == 1
    await adapter.aclose()


async def test_unknown_reference_is_not_found(provider: EsimAccessProvider) -> None:
    with pytest.raises(NotFound):
        await provider.order_status(ESIMACCESS_ICCID, "never-sent")


# --- limits --------------------------------------------------------------------------------


async def test_account_limit_is_8_per_second(provider: EsimAccessProvider, clock: FakeTime) -> None:
    for _ in range(24):
        await provider.plans(ESIMACCESS_ICCID)
    assert clock.slept == pytest.approx(23 / 8, abs=0.2)  # 24 calls evenly spaced at 8/s (no burst: no 429)


async def test_503_retry_after_on_reads(emu: EsimAccessEmulator, provider: EsimAccessProvider, clock: FakeTime) -> None:
    emu.inject("package_list", Fault.fail(503, retry_after="2"))
    await provider.plans(ESIMACCESS_ICCID)
    assert 2.0 in clock.sleeps and emu.count("package_list") == 2


# --- webhooks ------------------------------------------------------------------------------


def hook(kind: str, content: dict[str, Any]) -> bytes:
    return json.dumps(
        {"notifyType": kind, "eventGenerateTime": "2025-07-21T10:57:28Z", "notifyId": "f776267e", "content": content}
    ).encode()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            hook(
                "DATA_USAGE",
                {
                    "iccid": ESIMACCESS_ICCID,
                    "remain": 5351505742,
                    "remainThreshold": 0.1,
                    "lastUpdateTime": "2025-07-21T09:38:25Z",
                },
            ),
            ("data_threshold", 90, None),
        ),
        (hook("DATA_USAGE", {"iccid": ESIMACCESS_ICCID, "remain": 100, "remainThreshold": 0.5}), ("data_threshold", 50, None)),
        (hook("DATA_USAGE", {"iccid": ESIMACCESS_ICCID, "remain": 100, "remainThreshold": "0.2"}), ("data_threshold", 80, None)),
        (hook("DATA_USAGE", {"iccid": ESIMACCESS_ICCID, "remain": 0, "remainThreshold": 0}), ("depleted", 100, None)),
        (
            hook(
                "VALIDITY_USAGE",
                {"iccid": ESIMACCESS_ICCID, "durationUnit": "DAY", "remain": 1, "expiredTime": "2024-01-11T08:10:19Z"},
            ),
            ("expiry_soon", None, 1),
        ),
        (hook("ESIM_STATUS", {"iccid": ESIMACCESS_ICCID, "esimStatus": "USED_EXPIRED"}), ("expired", None, None)),
    ],
)
def test_webhook_events(body: bytes, expected: tuple[str, int | None, int | None]) -> None:
    [event] = parse.parse_webhook({}, body, NOW)
    assert (event.kind, event.threshold_used_percent, event.days_left) == expected
    assert event.iccid == ESIMACCESS_ICCID and event.received_at == NOW


def test_webhook_validity_keeps_expiry() -> None:
    [event] = parse.parse_webhook(
        {}, hook("VALIDITY_USAGE", {"iccid": ESIMACCESS_ICCID, "remain": 1, "expiredTime": "2024-01-11T08:10:19Z"}), NOW
    )
    assert event.expires_at is not None and event.expires_at.isoformat() == "2024-01-11T08:10:19+00:00"


@pytest.mark.parametrize("kind", ["CHECK_HEALTH", "ORDER_STATUS", "SMDP_EVENT", "SOMETHING_NEW"])
def test_webhook_without_line_events(kind: str) -> None:
    assert parse.parse_webhook({}, hook(kind, {"orderNo": "B1", "orderStatus": "Test"}), NOW) == []


@pytest.mark.parametrize("body", [b"x" * 70_000, b"{broken", b"[1, 2]", b'{"content": "text"}'])
def test_webhook_rejections(body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        parse.parse_webhook({}, body, NOW)


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("ESIMACCESS_ACCESS_CODE"), reason="needs ESIMACCESS_ACCESS_CODE, LIVE_ICCID")
async def test_live_balance() -> None:
    from datetime import UTC, datetime

    adapter = EsimAccessProvider(
        access_code=os.environ["ESIMACCESS_ACCESS_CODE"],
        secret_key=os.environ.get("ESIMACCESS_SECRET_KEY"),
        now=lambda: datetime.now(UTC),
    )
    try:
        assert (await adapter.balance(os.environ["ESIMACCESS_LIVE_ICCID"])).provider == "esimaccess"
    finally:
        await adapter.aclose()
