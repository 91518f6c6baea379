"""bot.app wires the real adapters from Settings: each reaches its own base URL with its
credentials, and an adapter's order reference is on disk before the order request leaves
(the exactly-once promise survives a crash between sending and the next commit)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build
from bot.clock import FakeClock
from bot.config import Settings
from bot.store import TinyDBStore
from tests.emulators import (
    AIRALO_ICCID,
    AIRALO_TOPUP_PLAN,
    CREDENTIALS,
    ESIMACCESS_ICCID,
    ESIMACCESS_TOPUP_PLAN,
    ESIMGO_ICCID,
    ESIMGO_TOPUP_PLAN,
)
from tests.emulators._server import Emulator, Fault
from tests.emulators.airalo import AiraloEmulator
from tests.emulators.esimaccess import EsimAccessEmulator
from tests.emulators.esimgo import EsimGoEmulator

START_AT = datetime(2026, 1, 10, 11, 0, tzinfo=UTC)
WAIT = 5.0


def on_disk(db: Path) -> str:
    """Every data file of the store as text, read behind the store's back (what a crash leaves)."""
    files = [db, Path(str(db) + ".journal")]
    return "\n".join(f.read_text(encoding="utf-8") for f in files if f.exists())


async def eventually(condition: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {WAIT}s: {what}")


# name, emulator, order route (its last request is the order), faults before the order, ICCID, plan
CASES = [
    ("airalo", AiraloEmulator, "order_topup", 0, AIRALO_ICCID, AIRALO_TOPUP_PLAN),
    ("esimaccess", EsimAccessEmulator, "topup", 0, ESIMACCESS_ICCID, ESIMACCESS_TOPUP_PLAN),
    ("esimgo", EsimGoEmulator, "orders_post", 1, ESIMGO_ICCID, ESIMGO_TOPUP_PLAN),  # validate, then the order
]


@pytest.mark.parametrize(("name", "kind", "route", "before", "iccid", "plan"), CASES, ids=[c[0] for c in CASES])
async def test_order_reference_is_durable_before_the_order_request_leaves(
    tmp_path: Path, name: str, kind: type[Emulator], route: str, before: int, iccid: str, plan: str
) -> None:
    clock = FakeClock(START_AT)
    db = tmp_path / "bot.json"
    async with kind.running(now=clock.now) as emulator:
        settings = Settings(
            providers=(name,),
            **CREDENTIALS,
            **{f"{name}_base_url": emulator.base_url},
        )
        store = TinyDBStore(str(db))
        app = build(settings, clock=clock, console=None, store=store)
        try:
            provider = app.providers[name]
            release = asyncio.Event()
            emulator.inject(route, *[Fault.passes()] * before, Fault.hold(release))  # the order request waits
            ref = f"durable-{name}-0001"
            order = asyncio.create_task(provider.topup(iccid, plan, client_ref=ref))
            await eventually(lambda: emulator.count(route) == before + 1, "the order request reached the emulator")
            assert not order.done()
            assert f"{name}/orders/{ref}" in on_disk(db), "the order book entry is not on disk yet"
            release.set()  # only now does the provider answer
            result = await asyncio.wait_for(order, WAIT)
            assert result.client_ref == ref and result.status.value == "COMPLETED"
        finally:
            for provider in app.providers.values():
                await provider.aclose()
            await store.close()
