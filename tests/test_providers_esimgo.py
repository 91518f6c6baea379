"""eSIM Go adapter against its emulator: contract, assignments, catalogue, exactly-once, callbacks."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from providers import _esimgo_parse as parse
from providers.base import OrderStatus, Status
from providers.errors import (
    AuthError,
    NotFound,
    PlanUnavailable,
    ProviderCreditExhausted,
    ProviderError,
    RateLimited,
    TopUpNotAllowed,
    Unavailable,
    Validation,
    WebhookRejected,
)
from providers.esimgo import EsimGoProvider
from tests.emulators import (
    ESIMGO_API_KEY,
    ESIMGO_CODE,
    ESIMGO_EXPIRED_ICCID,
    ESIMGO_ICCID,
    ESIMGO_INCOMPATIBLE_PLAN,
    ESIMGO_TOPUP_PLAN,
    ESIMGO_UNLIMITED_ICCID,
)
from tests.emulators._server import Fault
from tests.emulators.esimgo import EsimGoEmulator
from tests.emulators.fakes import NOW, FakeTime, fixed_now
from tests.provider_contract import ContractSim, ProviderContract


@pytest.fixture
async def emu() -> AsyncIterator[EsimGoEmulator]:
    async with EsimGoEmulator.running(now=fixed_now) as emulator:
        yield emulator


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


def make(emu: EsimGoEmulator, clock: FakeTime, **kw: Any) -> EsimGoProvider:
    options: dict[str, Any] = {"api_key": ESIMGO_API_KEY} | kw
    return EsimGoProvider(base_url=emu.base_url, now=fixed_now, pacing=clock.pacing, **options)


@pytest.fixture
async def provider(emu: EsimGoEmulator, clock: FakeTime) -> AsyncIterator[EsimGoProvider]:
    adapter = make(emu, clock)
    yield adapter
    await adapter.aclose()


class TestEsimGoContract(ProviderContract):
    @pytest.fixture
    def sim(self) -> ContractSim:
        return ContractSim(ESIMGO_ICCID, ESIMGO_CODE, ESIMGO_TOPUP_PLAN)


async def test_balance_sums_live_assignments(provider: EsimGoProvider) -> None:
    bal = await provider.balance(ESIMGO_ICCID)
    assert bal.status is Status.ACTIVE
    assert (bal.data_total_bytes, bal.data_remaining_bytes) == (2_000_000_000, 1_750_000_000)  # active + queued
    assert bal.activated_at == NOW - timedelta(days=2)  # epoch milliseconds
    assert bal.expires_at is None and "pin" not in bal.raw["esim"]


async def test_depleted_and_unlimited(provider: EsimGoProvider) -> None:
    dead = await provider.balance(ESIMGO_EXPIRED_ICCID)
    assert dead.status is Status.DEPLETED and dead.data_remaining_bytes == 0
    unl = await provider.balance(ESIMGO_UNLIMITED_ICCID)
    assert unl.data_unlimited and unl.data_remaining_bytes is None and unl.status is Status.ACTIVE


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["active", "queued"], Status.ACTIVE),
        (["queued"], Status.NOT_ACTIVE),
        (["processing"], Status.NOT_ACTIVE),
        (["depleted", "expired"], Status.DEPLETED),
        (["expired"], Status.EXPIRED),
        (["lapsed"], Status.EXPIRED),
        (["revoked"], Status.TERMINATED),
        (["weird"], Status.UNKNOWN),
        ([], Status.UNKNOWN),
    ],
)
def test_status_table(states: list[str], expected: Status) -> None:
    body = {
        "bundles": [
            {"name": "b", "assignments": [{"bundleState": s, "initialQuantity": 10, "remainingQuantity": 5} for s in states]}
        ]
    }
    assert parse.balance(ESIMGO_ICCID, {}, body, NOW).status is expected


def test_non_data_assignments_are_not_data() -> None:
    body = [
        {
            "name": "b",
            "assignments": [
                {
                    "bundleState": "active",
                    "callTypeGroup": "data",
                    "initialQuantity": 1_000_000_000,
                    "remainingQuantity": 400_000_000,
                    "endTime": "2026-02-01T00:00:00Z",
                },
                {"bundleState": "active", "callTypeGroup": "voice", "initialQuantity": 100, "remainingQuantity": 50},
            ],
        }
    ]
    bal = parse.balance(ESIMGO_ICCID, {"firstInstalledDateTime": "1767225600000"}, {"bundles": body}, NOW)
    assert (bal.data_total_bytes, bal.data_remaining_bytes) == (1_000_000_000, 400_000_000)
    assert bal.expires_at is not None and bal.expires_at.isoformat() == "2026-02-01T00:00:00+00:00"
    assert bal.activated_at is not None and bal.activated_at.isoformat() == "2026-01-01T00:00:00+00:00"


@pytest.mark.parametrize("bare", [False, True])
async def test_plans_are_compatible_bundles_in_org_currency(emu: EsimGoEmulator, provider: EsimGoProvider, bare: bool) -> None:
    emu.catalogue_bare = bare
    plans = {p.id: p for p in await provider.plans(ESIMGO_ICCID)}
    assert set(plans) == {ESIMGO_TOPUP_PLAN, "esim_3GB_30D_NO_V2", "esim_UL_7D_NO_V2"}
    one = plans[ESIMGO_TOPUP_PLAN]
    assert one.price.amount == Decimal("1.23") and one.price.currency == "GBP"
    assert one.data_bytes == 1_000_000_000 and one.validity_days == 7 and one.countries == ("NO",)
    assert plans["esim_UL_7D_NO_V2"].data_unlimited and plans["esim_UL_7D_NO_V2"].data_bytes is None
    assert emu.count("organisation") == 1


async def test_incompatible_bundle_is_refused(emu: EsimGoEmulator, provider: EsimGoProvider) -> None:
    with pytest.raises(TopUpNotAllowed):
        await provider.topup(ESIMGO_ICCID, ESIMGO_INCOMPATIBLE_PLAN, client_ref="ref-incompatible")
    assert emu.orders == []


def _response(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"message": message})


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (400, "Bad request: invalid format", Validation),
        (403, "Access denied: invalid API key", AuthError),
        (403, "ICCID 8944538532008160222 does not belong to your organisation", NotFound),
        (403, "No bundles left in inventory", PlanUnavailable),
        (400, "Insufficient balance to complete order", ProviderCreditExhausted),
        (400, "Bundle esim_x not found", PlanUnavailable),
        (400, "Bundle is not compatible with the eSIM", TopUpNotAllowed),
        (404, "Not found", NotFound),
        (401, "Unauthorised", AuthError),
        (500, "Internal error", Unavailable),
    ],
)
def test_error_table(status: int, message: str, error: type[ProviderError]) -> None:
    found = parse.error_for(_response(status, message))
    assert type(found) is error and "8944538532008160222" not in str(found)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Completed", OrderStatus.COMPLETED),
        ("processing", OrderStatus.PENDING),
        ("Failed", OrderStatus.FAILED),
        ("Cancelled", OrderStatus.FAILED),
        ("odd", OrderStatus.UNKNOWN),
        (None, OrderStatus.UNKNOWN),
    ],
)
def test_order_status_table(raw: str | None, expected: OrderStatus) -> None:
    assert parse.order_status(raw) is expected


async def test_bad_key_is_auth_error(emu: EsimGoEmulator, clock: FakeTime) -> None:
    adapter = make(emu, clock, api_key="wrong")
    with pytest.raises(AuthError):
        await adapter.balance(ESIMGO_ICCID)
    await adapter.aclose()


# --- exactly-once --------------------------------------------------------------------------


async def test_lost_order_answer_is_found_in_order_list(emu: EsimGoEmulator, provider: EsimGoProvider) -> None:
    emu.inject("orders_post", Fault.fail(200, {"valid": True}), Fault.lost())  # validate ok, transaction lost
    order = await provider.topup(ESIMGO_ICCID, ESIMGO_TOPUP_PLAN, client_ref="ref-lost")
    assert order.status is OrderStatus.COMPLETED and order.provider_order_id == emu.orders[0]["orderReference"]
    assert order.price is not None and order.price.amount == Decimal("1.23")
    again = await provider.topup(ESIMGO_ICCID, ESIMGO_TOPUP_PLAN, client_ref="ref-lost")
    assert again.provider_order_id == order.provider_order_id and len(emu.orders) == 1


async def test_503_on_transaction_is_pending_never_resent(emu: EsimGoEmulator, provider: EsimGoProvider) -> None:
    emu.inject("orders_post", Fault.fail(200, {"valid": True}), Fault.fail(503, retry_after="5"))
    first = await provider.topup(ESIMGO_ICCID, ESIMGO_TOPUP_PLAN, client_ref="ref-503")
    assert first.status is OrderStatus.PENDING
    assert (await provider.topup(ESIMGO_ICCID, ESIMGO_TOPUP_PLAN, client_ref="ref-503")).status is (OrderStatus.PENDING)
    assert (await provider.order_status(ESIMGO_ICCID, "ref-503")).status is OrderStatus.PENDING
    assert emu.count("orders_post") == 2 and emu.orders == []  # one validate, one transaction


async def test_order_status_follows_the_order(emu: EsimGoEmulator, provider: EsimGoProvider) -> None:
    order = await provider.topup(ESIMGO_ICCID, ESIMGO_TOPUP_PLAN, client_ref="ref-ok")
    emu.orders[0]["status"] = "Failed"
    status = await provider.order_status(ESIMGO_ICCID, "ref-ok")
    assert status.provider_order_id == order.provider_order_id and status.status is OrderStatus.FAILED


async def test_429_retry_after_on_reads(emu: EsimGoEmulator, provider: EsimGoProvider, clock: FakeTime) -> None:
    emu.inject("bundles", Fault.fail(429, {"message": "Rate limit exceeded"}, retry_after="1"))
    await provider.balance(ESIMGO_ICCID)
    assert 1.0 in clock.sleeps and emu.count("bundles") == 2


async def test_429_on_a_write_is_raised(emu: EsimGoEmulator, provider: EsimGoProvider) -> None:
    emu.inject(
        "orders_post", Fault.fail(200, {"valid": True}), Fault.fail(429, {"message": "Rate limit exceeded"}, retry_after="1")
    )
    with pytest.raises(RateLimited):
        await provider.topup(ESIMGO_ICCID, ESIMGO_TOPUP_PLAN, client_ref="ref-429")
    assert emu.orders == []


async def test_10_per_second(provider: EsimGoProvider, clock: FakeTime) -> None:
    for _ in range(15):  # two calls each
        await provider.balance(ESIMGO_ICCID)
    assert clock.slept == pytest.approx(29 / 10, abs=0.2)  # 30 calls evenly spaced at 10/s (no burst: no 429)


# --- callbacks -----------------------------------------------------------------------------


def callback(alert: str, initial: Any, remaining: Any, **extra: Any) -> bytes:
    return json.dumps(
        {
            "iccid": ESIMGO_ICCID,
            "alertType": alert,
            "bundle": {
                "id": "1",
                "reference": "r",
                "name": "A_BUNDLE_1GB",
                "description": "d",
                "initialQuantity": initial,
                "remainingQuantity": remaining,
                "startTime": "2026-01-01T00:00:00Z",
                "endTime": "2026-01-08T00:00:00Z",
                "unlimited": False,
                **extra,
            },
        }
    ).encode()


def hex_sig(body: bytes) -> dict[str, str]:
    return {"x-signature-sha256": parse.sign(body, ESIMGO_API_KEY).hex()}


@pytest.mark.parametrize(
    ("body", "kind", "used", "remaining"),
    [
        (callback("Utilisation", 1_000_000_000, 990_000_000), "data_threshold", 1, 990_000_000),
        (callback("Utilisation", 1_000_000_000, 500_000_000), "data_threshold", 50, 500_000_000),
        (callback("Utilisation", 1_000_000_000, 200_000_000), "data_threshold", 80, 200_000_000),
        (callback("Utilisation", 1_000_000_000, 0), "depleted", 100, 0),
        (callback("Utilisation", 1000.00, 90.00), "data_threshold", 91, 90_000_000),  # legacy MB floats
        (callback("FirstUse", 1_000_000_000, 1_000_000_000), "first_use", None, None),
    ],
)
def test_callback_events(body: bytes, kind: str, used: int | None, remaining: int | None) -> None:
    [event] = parse.parse_webhook(hex_sig(body), body, NOW, api_key=ESIMGO_API_KEY)
    assert (event.kind, event.threshold_used_percent, event.remaining_bytes) == (kind, used, remaining)
    assert event.expires_at is not None and event.expires_at.isoformat() == "2026-01-08T00:00:00+00:00"


async def test_callback_base64_signature_via_provider(provider: EsimGoProvider) -> None:
    body = callback("Utilisation", 1_000_000_000, 200_000_000)
    signature = base64.b64encode(parse.sign(body, ESIMGO_API_KEY)).decode()
    [event] = provider.parse_webhook({"X-Signature-SHA256": signature}, body, NOW)
    assert event.threshold_used_percent == 80


@pytest.mark.parametrize("case", ["missing", "wrong-key", "tampered", "oversized", "malformed"])
def test_callback_rejections(case: str) -> None:
    body = callback("Utilisation", 1_000_000_000, 200_000_000)
    headers = hex_sig(body)
    if case == "missing":
        headers = {}
    elif case == "wrong-key":
        headers = {"x-signature-sha256": parse.sign(body, "other-key").hex()}
    elif case == "tampered":
        body = body.replace(b"200000000", b"900000000")
    elif case == "oversized":
        body = b'{"x": "' + b"y" * 70_000 + b'"}'
        headers = hex_sig(body)
    else:
        body = b"not json"
        headers = hex_sig(body)
    with pytest.raises(WebhookRejected):
        parse.parse_webhook(headers, body, NOW, api_key=ESIMGO_API_KEY)


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("ESIMGO_API_KEY"), reason="needs ESIMGO_API_KEY and ESIMGO_LIVE_ICCID")
async def test_live_balance() -> None:
    from datetime import UTC, datetime

    adapter = EsimGoProvider(api_key=os.environ["ESIMGO_API_KEY"], now=lambda: datetime.now(UTC))
    try:
        assert (await adapter.balance(os.environ["ESIMGO_LIVE_ICCID"])).provider == "esimgo"
    finally:
        await adapter.aclose()
