"""The fault table: every adapter through every way a top-up can go wrong (providers.orders).

Each row runs one top-up against the adapter's stateful emulator with one fault on the order
request, and asserts how many orders the provider applied (exactly one or zero), that the
order request was never sent twice, and what the user is told (the message id the /confirm
handler picks). No wall clock: timeouts come from the transport double, waits from events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bot.errors import provider_message
from providers.airalo import AiraloProvider
from providers.base import Order, OrderStatus, Provider
from providers.errors import (
    AuthError,
    EsimTerminal,
    PlanUnavailable,
    ProviderCreditExhausted,
    ProviderError,
    TopUpNotAllowed,
    Unavailable,
    Validation,
)
from providers.esimaccess import EsimAccessProvider
from providers.esimgo import EsimGoProvider
from tests.emulators import (
    AIRALO_CLIENT_ID,
    AIRALO_CLIENT_SECRET,
    AIRALO_ICCID,
    AIRALO_SMALL_PLAN,
    ESIMACCESS_ACCESS_CODE,
    ESIMACCESS_ICCID,
    ESIMACCESS_SECRET_KEY,
    ESIMACCESS_TOPUP_PLAN,
    ESIMGO_API_KEY,
    ESIMGO_ICCID,
    ESIMGO_TOPUP_PLAN,
)
from tests.emulators._server import Emulator, Fault
from tests.emulators.airalo import AiraloEmulator
from tests.emulators.esimaccess import EsimAccessEmulator
from tests.emulators.esimgo import EsimGoEmulator
from tests.emulators.fakes import FakeTime, fixed_now
from tests.emulators.timeouts import AnswerTooLate, path_ends

REF = "fault-ref-1"


class DurableState:
    """A StateStore shared by two adapter instances: what survives a restart."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], Any] = {}
        self.crash_on_settle = False

    async def get_state(self, namespace: str, key: str) -> Any:
        return self.data.get((namespace, key))

    async def put_state(self, namespace: str, key: str, value: Any) -> None:
        if self.crash_on_settle and isinstance(value, dict) and value.get("status") != "PENDING":
            raise Killed  # the process died after the answer, before "settled" was written
        self.data[(namespace, key)] = value


class Killed(BaseException):
    pass


@dataclass(frozen=True)
class Spec:
    name: str
    emulator: type[Emulator]
    build: Callable[..., Provider]
    iccid: str
    plan: str
    route: str  # the emulator's route name of the order request
    path: str  # its URL path suffix
    is_order: Callable[[httpx.Request], bool]
    applied: Callable[[Any], int]
    before: tuple[Fault, ...] = ()  # requests on the route ahead of the order (eSIM Go validates)
    refusals: tuple[tuple[str, Fault, type[ProviderError]], ...] = field(default=())


def _airalo(emu: Any, **kw: Any) -> Provider:
    return AiraloProvider(
        client_id=AIRALO_CLIENT_ID, client_secret=AIRALO_CLIENT_SECRET, base_url=emu.base_url, now=fixed_now, **kw
    )


def _esimaccess(emu: Any, **kw: Any) -> Provider:
    return EsimAccessProvider(
        access_code=ESIMACCESS_ACCESS_CODE, secret_key=ESIMACCESS_SECRET_KEY, base_url=emu.base_url, now=fixed_now, **kw
    )


def _esimgo(emu: Any, **kw: Any) -> Provider:
    return EsimGoProvider(api_key=ESIMGO_API_KEY, base_url=emu.base_url, now=fixed_now, **kw)


def _access_refusal(code: str) -> Fault:
    return Fault.fail(200, {"success": False, "errorCode": code, "errorMsg": "emulated refusal"})


SPECS = (
    Spec(
        "airalo",
        AiraloEmulator,
        _airalo,
        AIRALO_ICCID,
        AIRALO_SMALL_PLAN,
        "order_topup",
        "/orders/topups",
        path_ends("/orders/topups", "POST"),
        lambda emu: len(emu.topup_orders()),
        refusals=(
            ("credit 11", Fault.fail(422, {"code": 11, "reason": "Insufficient balance"}), ProviderCreditExhausted),
            ("maintenance 13", Fault.fail(422, {"code": 13, "reason": "Operator maintenance"}), Unavailable),
            ("checksum 14", Fault.fail(422, {"code": 14, "reason": "Invalid checksum"}), Validation),
            ("disabled 23", Fault.fail(422, {"code": 23, "reason": "Top-up disabled"}), TopUpNotAllowed),
            ("stock 33", Fault.fail(422, {"code": 33, "reason": "Insufficient stock"}), Unavailable),
            ("package 34", Fault.fail(422, {"code": 34, "reason": "Package invalid"}), PlanUnavailable),
            ("bad request 43", Fault.fail(422, {"code": 43, "reason": "Bad request"}), Validation),
            ("recycled 73", Fault.fail(422, {"code": 73, "reason": "eSIM recycled"}), EsimTerminal),
            ("allowlist 89", Fault.fail(403, {"code": 89, "reason": "IP not allowed"}), AuthError),
            (
                "field error",
                Fault.fail(
                    422,
                    {
                        "data": {"package_id": "The selected package id is invalid."},
                        "meta": {"message": "the parameter is invalid"},
                    },
                ),
                PlanUnavailable,
            ),
        ),
    ),
    Spec(
        "esimaccess",
        EsimAccessEmulator,
        _esimaccess,
        ESIMACCESS_ICCID,
        ESIMACCESS_TOPUP_PLAN,
        "topup",
        "/esim/topup",
        path_ends("/esim/topup", "POST"),
        lambda emu: len(emu.topups_done),
        refusals=(
            ("credit 200007", _access_refusal("200007"), ProviderCreditExhausted),
            ("status 200002", _access_refusal("200002"), TopUpNotAllowed),
            ("no profiles 200011", _access_refusal("200011"), PlanUnavailable),
            ("package 310241", _access_refusal("310241"), PlanUnavailable),
            ("signature 101003", _access_refusal("101003"), AuthError),
            ("missing param 000105", _access_refusal("000105"), Validation),
            ("busy 900001", _access_refusal("900001"), Unavailable),
        ),
    ),
    Spec(
        "esimgo",
        EsimGoEmulator,
        _esimgo,
        ESIMGO_ICCID,
        ESIMGO_TOPUP_PLAN,
        "orders_post",
        "/orders",
        lambda r: path_ends("/orders", "POST")(r) and b'"transaction"' in r.content,
        lambda emu: len(emu.transactions()),
        before=(Fault.passes(),),
        refusals=(
            ("credit", Fault.fail(400, {"message": "Insufficient balance to complete order"}), ProviderCreditExhausted),
            ("bad key", Fault.fail(403, {"message": "Invalid API key"}), AuthError),
            ("bad format", Fault.fail(400, {"message": "Bad request: invalid order format"}), Validation),
        ),
    ),
)
BY_NAME = {s.name: s for s in SPECS}


def told(outcome: Order | ProviderError) -> str:
    """The message id the /confirm handler shows for this outcome (handlers/renew.py)."""
    if isinstance(outcome, ProviderError):
        return provider_message(outcome)
    return {OrderStatus.COMPLETED: "renew.done", OrderStatus.PENDING: "renew.pending"}.get(outcome.status, "renew.failed")


@asynccontextmanager
async def rig(
    spec: Spec, transport: httpx.AsyncBaseTransport | None = None, state: DurableState | None = None
) -> AsyncIterator[tuple[Any, Provider, DurableState]]:
    state = state or DurableState()
    async with spec.emulator.running(now=fixed_now) as emu:
        adapter = spec.build(emu, transport=transport, state=state, pacing=FakeTime().pacing)
        try:
            yield emu, adapter, state
        finally:
            await adapter.aclose()


async def outcome_of(adapter: Provider, spec: Spec) -> Order | ProviderError:
    try:
        return await adapter.topup(spec.iccid, spec.plan, client_ref=REF)
    except ProviderError as exc:
        return exc


# (row, fault on the order request or a transport double, orders applied, what the user is told)
ROWS: list[tuple[str, Callable[[Spec], Fault | AnswerTooLate | None], int, str]] = [
    ("answered", lambda s: None, 1, "renew.done"),
    ("no answer (connection lost after applying)", lambda s: Fault.lost(), 1, "renew.done"),
    ("timeout after the provider applied it", lambda s: AnswerTooLate(s.is_order), 1, "renew.done"),
    ("timeout before the provider applied it", lambda s: AnswerTooLate(s.is_order, applied=False), 0, "renew.pending"),
    ("5xx", lambda s: Fault.fail(502), 0, "renew.pending"),
    ("503 with Retry-After", lambda s: Fault.fail(503, retry_after="5"), 0, "renew.pending"),
    ("answer that cannot be read", lambda s: Fault.garbled(), 1, "renew.done"),
    ("429", lambda s: Fault.fail(429, {"message": "Too Many Attempts."}, retry_after="30"), 0, "provider.rate_limited"),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize(("row", "fault", "applied", "message"), ROWS, ids=[r[0] for r in ROWS])
async def test_fault_table(spec: Spec, row: str, fault: Callable[[Spec], Any], applied: int, message: str) -> None:
    injected = fault(spec)
    transport = injected if isinstance(injected, AnswerTooLate) else None
    async with rig(spec, transport) as (emu, adapter, _state):
        if isinstance(injected, Fault):
            emu.inject(spec.route, *spec.before, injected)
        first = await outcome_of(adapter, spec)
        assert told(first) == message
        assert spec.applied(emu) == applied
        sent = emu.count(spec.route) - len(spec.before)
        assert sent <= 1
        if isinstance(first, Order):  # the user confirms again (or the bot reconciles): never a second order
            again = await adapter.topup(spec.iccid, spec.plan, client_ref=REF)
            assert spec.applied(emu) == applied and emu.count(spec.route) - len(spec.before) == sent
            assert again.status is (OrderStatus.COMPLETED if applied else OrderStatus.PENDING)
            assert again.provider_order_id == first.provider_order_id
        status = await adapter.order_status(spec.iccid, REF)
        assert status.status is (
            OrderStatus.COMPLETED if applied else OrderStatus.FAILED if isinstance(first, ProviderError) else OrderStatus.PENDING
        )


@pytest.mark.parametrize(
    ("spec", "case", "refusal", "error"),
    [(s, case, fault, error) for s in SPECS for case, fault, error in s.refusals],
    ids=[f"{s.name}-{case}" for s in SPECS for case, _f, _e in s.refusals],
)
async def test_refusals(spec: Spec, case: str, refusal: Fault, error: type[ProviderError]) -> None:
    """Each provider's documented refusal: nothing applied, the mapped class, a clear message."""
    async with rig(spec) as (emu, adapter, _state):
        emu.inject(spec.route, *spec.before, refusal)
        outcome = await outcome_of(adapter, spec)
        assert type(outcome) is error, (case, outcome)
        assert spec.applied(emu) == 0
        assert told(outcome) != "provider.unavailable" or isinstance(outcome, Unavailable)
        assert (await adapter.order_status(spec.iccid, REF)).status is OrderStatus.FAILED


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
async def test_second_confirm_while_the_first_is_in_flight(spec: Spec) -> None:
    release, arrived = asyncio.Event(), asyncio.Event()
    async with rig(spec) as (emu, adapter, _state):
        emu.inject(spec.route, *spec.before, Fault.hold(release, arrived))
        first = asyncio.create_task(adapter.topup(spec.iccid, spec.plan, client_ref=REF))
        second = asyncio.create_task(adapter.topup(spec.iccid, spec.plan, client_ref=REF))  # a double tap
        await arrived.wait()  # one order request is at the provider, unanswered
        release.set()
        a, b = await asyncio.gather(first, second)
        assert spec.applied(emu) == 1 and emu.count(spec.route) == 1 + len(spec.before)
        assert a.status is OrderStatus.COMPLETED and b.status is OrderStatus.COMPLETED
        assert a.provider_order_id == b.provider_order_id


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
async def test_restart_between_sent_and_settled(spec: Spec) -> None:
    async with rig(spec) as (emu, adapter, state):
        state.crash_on_settle = True
        with pytest.raises(Killed):
            await adapter.topup(spec.iccid, spec.plan, client_ref=REF)
        assert spec.applied(emu) == 1
        state.crash_on_settle = False
        restarted = spec.build(emu, state=state, pacing=FakeTime().pacing)  # same durable book, new process
        try:
            order = await restarted.topup(spec.iccid, spec.plan, client_ref=REF)
            assert order.status is OrderStatus.COMPLETED and spec.applied(emu) == 1
            assert emu.count(spec.route) == 1 + len(spec.before)  # reconciled, never sent again
            assert (await restarted.order_status(spec.iccid, REF)).provider_order_id == order.provider_order_id
        finally:
            await restarted.aclose()
