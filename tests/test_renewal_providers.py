"""Issue 25 against the Airalo, eSIM Access and eSIM Go emulators (real HTTP on 127.0.0.1,
the real wiring, a fake clock): a low-data rule, its notice, and exactly one order per
trigger, however often the balance is read again; the receipt says whether the top-up
waits for the plan in use to end (eSIM Go queues it) or starts at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import build
from bot.clock import FakeClock
from bot.config import Settings
from bot.records import AlertKind
from bot.store import MemoryStore
from providers import _http, _limits, airalo, esimaccess, esimgo
from tests.conftest import Bot
from tests.emulators import (
    CREDENTIALS,
)
from tests.emulators._server import Emulator
from tests.storeview import StoreView
from tests.test_app_providers import CASES
from tests.test_console_providers import CASES as LINKS

START_AT = datetime(2026, 1, 10, 11, 0, tzinfo=UTC)  # 12:00 in Oslo: no quiet hours
CODES = {case.name: case.code for case in LINKS}


class Instant:
    """The adapters' rate limits in time that passes as soon as it is waited for."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def instant_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dozen looks at one eSIM pass Airalo's ten a minute without waiting a minute."""
    instant, real = Instant(), _limits.Pacing
    for module in (airalo, esimaccess, esimgo, _http, _limits):
        monkeypatch.setattr(module, "Pacing", lambda: real(instant.monotonic, instant.sleep))


@pytest.mark.parametrize(("name", "kind", "route", "before", "iccid", "plan"), CASES, ids=[c[0] for c in CASES])
async def test_a_low_data_rule_orders_exactly_once_per_trigger(
    name: str, kind: type[Emulator], route: str, before: int, iccid: str, plan: str
) -> None:
    clock = FakeClock(START_AT)
    async with kind.running(now=clock.now) as emulator:
        settings = Settings(
            providers=(name,),
            **CREDENTIALS,
            **{f"{name}_base_url": emulator.base_url},
        )
        store = MemoryStore()
        app = build(settings, clock=clock, console=None, store=store)
        for step in app.startup:
            await step()
        bot = Bot(app=app, clock=clock, store=StoreView(store))
        try:
            await bot.send(f"/link {iccid} {CODES[name]} trip")
            assert "trip" in await bot.text(f"/auto trip low 90 {plan}")  # every emulator line is under 90 %
            await bot.send("/balance trip")
            await bot.send("/balance trip")  # read again: the same trigger, no second decision
            kinds = [i.alert.kind for i in bot.store.outbox()]
            assert kinds.count(AlertKind.AUTO_NOTICE) == 1, kinds
            await app.jobs.run_until(clock.now() + timedelta(hours=2))
            await bot.send("/balance trip")
            await app.jobs.run_until(clock.now() + timedelta(hours=2))
            assert emulator.count(route) == before + 1, "one order reached the provider"
            assert app.metrics.value("esimbot_auto_orders_total", outcome="done", reason="") == 1
            [receipt] = {i.alert for i in bot.store.outbox() if i.alert.kind == AlertKind.AUTO_DONE}
            assert receipt.queued is (name == "esimgo") and receipt.price is not None
        finally:
            for provider in app.providers.values():
                await provider.aclose()
            await store.close()
