"""The shared provider layer: timestamp/number parsing, claim codes, masking, limiter, HTTP mapping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from providers._common import code_matches, lpa_candidates, parse_time, signature_ok, to_decimal, to_int
from providers._http import ProviderHttp, json_body, mask_iccid, redact, retry_after_seconds
from providers._limits import TokenBucket
from providers.airalo import AiraloProvider
from providers.base import OrderStatus
from providers.errors import OrderPending, RateLimited, Unavailable, WebhookRejected
from providers.orders import OrderBook
from tests.emulators import AIRALO_CLIENT_ID, AIRALO_CLIENT_SECRET, AIRALO_ICCID, AIRALO_TOPUP_PLAN
from tests.emulators.fakes import NOW, FakeTime, fixed_now


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2022-01-01 00:00:00", "2022-01-01T00:00:00+00:00"),  # Airalo /usage, orders: naive -> UTC
        ("2023-02-09T10:30:45+00:00", "2023-02-09T10:30:45+00:00"),  # Airalo package history
        ("2023-12-01T18:34:17+0000", "2023-12-01T18:34:17+00:00"),  # eSIM Access query
        ("2025-07-21T10:57:28Z", "2025-07-21T10:57:28+00:00"),  # eSIM Access webhooks, eSIM Go
        ("2024-12-11T12:47:00+02:00", "2024-12-11T10:47:00+00:00"),  # any offset ends up UTC
        (1767225600000, "2026-01-01T00:00:00+00:00"),  # eSIM Go firstInstalledDateTime (epoch ms)
        ("1767225600000", "2026-01-01T00:00:00+00:00"),
        (1767225600, "2026-01-01T00:00:00+00:00"),  # epoch seconds
        ("2025-02-27 10:00", "2025-02-27T10:00:00+00:00"),  # Airalo future orders
    ],
)
def test_timestamp_table(raw: object, expected: str) -> None:
    parsed = parse_time(raw)
    assert parsed is not None and parsed.isoformat() == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize("raw", [None, "", "yesterday", True, [], "2025-13-45T00:00:00Z"])
def test_unreadable_timestamps_are_none(raw: object) -> None:
    assert parse_time(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (4.5, Decimal("4.5")),
        ("9.50", Decimal("9.50")),
        (10, Decimal(10)),
        (" 3.60 ", Decimal("3.60")),
        (0.1, Decimal("0.1")),
        (None, None),
        ("n/a", None),
        (True, None),
        ("NaN", None),
    ],
)
def test_decimal_table(raw: object, expected: Decimal | None) -> None:
    assert to_decimal(raw) == expected


def test_int_parsing() -> None:
    assert (to_int("767"), to_int(767.0), to_int(None), to_int("x")) == (767, 767, None, None)


@pytest.mark.parametrize(
    ("given", "ok"),
    [
        ("LPA:1$lpa.example$ABC123XYZ", True),
        ("abc123xyz", True),
        ("123XYZ", True),
        ("  23 XYZ ", False),
        ("3XYZ", False),
        ("ABC123XY", False),
        ("ZABC123XYZ", False),
        ("", False),
    ],
)
def test_code_matching(given: str, ok: bool) -> None:
    assert code_matches(given, lpa_candidates("LPA:1$lpa.example$ABC123XYZ")) is ok


def test_short_matching_id_needs_the_full_code() -> None:
    candidates = lpa_candidates(None, smdp="lpa.airalo.com", matching_id="TEST")
    assert code_matches("TEST", candidates) and code_matches("LPA:1$lpa.airalo.com$TEST", candidates)
    assert not code_matches("EST", candidates)


def test_masking() -> None:
    assert mask_iccid("8947000000000000012") == "89…0012"
    assert redact("GET sims/8944465400000100017/usage") == "GET sims/89…0017/usage"


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7
    assert retry_after_seconds("Sat, 10 Jan 2026 12:00:30 GMT", now) == 30
    assert retry_after_seconds("bogus", now) is None and retry_after_seconds(None, now) is None
    assert retry_after_seconds("999999", now) == 3600


def test_signature_forms() -> None:
    assert signature_ok([b"\x01\xff"], "01FF") and signature_ok([b"\x01\xff"], "Af8=")
    assert not signature_ok([b"\x01\xff"], "01fe") and not signature_ok([b"\x01\xff"], "zz")


async def test_token_bucket_paces_and_pauses() -> None:
    clock = FakeTime()
    bucket = TokenBucket(2, 2, pacing=clock.pacing)
    for _ in range(4):
        await bucket.acquire()
    assert clock.slept == pytest.approx(1.0)  # 2 free, then 2 at 2/s
    bucket.pause(5)
    await bucket.acquire()
    assert clock.slept == pytest.approx(6.0, abs=0.01)


async def test_token_bucket_keys_are_independent() -> None:
    clock = FakeTime()
    bucket = TokenBucket(1, 1, pacing=clock.pacing, max_keys=2)
    await asyncio.gather(*(bucket.acquire(k) for k in ("a", "b", "c")))
    assert clock.slept == 0


def _http(handler: object, clock: FakeTime) -> ProviderHttp:
    return ProviderHttp(
        "test",
        base_url="http://provider.invalid",
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
        limiter=TokenBucket(100, 100, pacing=clock.pacing),
        now=fixed_now,
        pacing=clock.pacing,
    )


@pytest.mark.parametrize(
    ("failure", "read", "error"),
    [
        (httpx.ConnectError("refused"), False, Unavailable),  # never reached the provider: not ambiguous
        (httpx.ReadTimeout("slow"), False, OrderPending),  # sent, no answer: reconcile
        (httpx.RemoteProtocolError("dropped"), False, OrderPending),
        (httpx.ReadTimeout("slow"), True, Unavailable),
    ],
)
async def test_transport_failures_map_by_direction(failure: Exception, read: bool, error: type[Exception]) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise failure

    http = _http(handler, FakeTime())
    with pytest.raises(error) as info:
        await http.call("POST", "x", read=read, decode=json_body)
    assert info.value.__cause__ is failure
    assert len(calls) == (3 if read else 1)  # reads are retried, writes never
    await http.aclose()


async def test_unreadable_2xx_write_is_pending_and_503_read_honours_retry_after() -> None:
    from providers.errors import Unreadable

    def bad_decode(response: httpx.Response) -> object:
        raise Unreadable("test", "not JSON")

    http = _http(lambda r: httpx.Response(200, text="<html>"), FakeTime())
    with pytest.raises(OrderPending):
        await http.call("POST", "x", read=False, decode=bad_decode)
    clock = FakeTime()
    answers = iter([httpx.Response(503, headers={"Retry-After": "4"}), httpx.Response(200, json={"ok": 1})])
    http = _http(lambda r: next(answers), clock)
    assert await http.call("GET", "x", read=True, decode=json_body) == {"ok": 1}
    assert clock.sleeps == [4.0]


async def test_429_on_write_is_raised_with_retry_after() -> None:
    http = _http(lambda r: httpx.Response(429, headers={"Retry-After": "3"}), FakeTime())
    with pytest.raises(RateLimited) as info:
        await http.call("POST", "x", read=False, decode=json_body)
    assert info.value.retry_after == 3


async def test_one_deadline_per_read_owned_by_the_adapter() -> None:
    """A provider that never answers is ``Unavailable`` at the adapter's deadline; callers do not wrap."""
    never = asyncio.Event()

    async def hangs(request: httpx.Request) -> httpx.Response:
        await never.wait()
        raise AssertionError("never answers")

    clock = FakeTime()
    http = ProviderHttp(
        "test",
        base_url="http://provider.invalid",
        transport=httpx.MockTransport(hangs),
        limiter=TokenBucket(100, 100, pacing=clock.pacing),
        now=fixed_now,
        pacing=clock.pacing,
        deadline=0.05,
    )
    with pytest.raises(Unavailable, match="no answer within"):
        await http.call("GET", "x", read=True, decode=json_body)
    # a retry whose wait would pass the deadline is not started: the error goes to the caller
    http = _http(lambda r: httpx.Response(503, headers={"Retry-After": "20"}), clock)
    with pytest.raises(Unavailable, match="HTTP 503"):
        await http.call("GET", "x", read=True, decode=json_body)
    assert clock.sleeps == []
    await http.aclose()


def test_concurrency_is_capped() -> None:
    with pytest.raises(ValueError, match=r"1\.\.10"):
        ProviderHttp("t", base_url="http://x", limiter=TokenBucket(1, 1), now=fixed_now, max_concurrency=50)


async def test_connect_failure_on_topup_is_not_pending_and_may_be_retried() -> None:
    adapter = AiraloProvider(
        client_id=AIRALO_CLIENT_ID,
        client_secret=AIRALO_CLIENT_SECRET,
        base_url="http://127.0.0.1:9",
        now=fixed_now,
        pacing=FakeTime().pacing,
    )
    with pytest.raises(Unavailable):
        await adapter.topup(AIRALO_ICCID, AIRALO_TOPUP_PLAN, client_ref="ref-down")
    await adapter.aclose()


async def test_order_book_round_trip() -> None:
    from providers.base import Order

    book = OrderBook("p", None)
    assert await book.get("r") is None
    entry = await book.sent("r", iccid="89", plan_id="plan", at=NOW)
    assert entry["status"] == "PENDING" and OrderBook.sent_at(entry) == NOW
    await book.settle("r", Order("r", "p", "89", "plan", OrderStatus.COMPLETED, NOW, provider_order_id="o1"))
    assert await book.get("r") == {
        "iccid": "89",
        "plan_id": "plan",
        "sent_at": NOW.isoformat(),
        "order_id": "o1",
        "status": "COMPLETED",
    }


def test_webhook_rejected_is_a_provider_error() -> None:
    from providers.errors import ProviderError

    assert issubclass(WebhookRejected, ProviderError)
