"""The two journeys of docs/architecture.md, measured: which product files run.

``/balance`` goes from a Telegram update (as the updater hands it to PTB) to the Bot API
call that answers it, through the real wiring (``bot.app.build``); one low-data reminder
goes from the job loop's poll to the Bot API call that sends it. A profile hook records
every product file whose code runs (the composition root ``bot/app/``, the store backend
and the provider adapter left out, as the doc says). The lists are what docs/architecture.md shows; a journey that grows past its
ceiling fails here, so the shape the doc promises cannot drift silently.

Run ``python -m tests.test_journeys`` to print both lists.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from telegram import Update

from bot.app import LOCALES, build_reminders
from bot.audience import Audience
from bot.clock import FakeClock
from bot.i18n import Catalogs
from bot.messages import Address, Incoming
from bot.metrics import Metrics
from bot.platforms.telegram.platform import TelegramPlatform
from bot.records import Household, Line
from bot.reminders.events import Events
from bot.reminders.queue import AlertQueue
from bot.reminders.text import AlertRenderer
from bot.store import MemoryStore
from providers.base import GB, MB, Provider
from tests.conftest import DEMO, START_AT, make_bot
from tests.jobs_harness import Scripted, scripted_balance
from tests.storeview import StoreView
from tests.test_telegram_platform import TOKEN, FakeApi, Routes, _message

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("bot", "handlers", "providers")
# not counted: the composition root (it only builds), the store backend and the provider
# adapter (one of each runs; which one is a setting); the journey meets them through
# bot/store/interface.py and providers/base.py
NOT_COUNTED = ("bot/app/", "bot/store/", "providers/demo.py", "providers/manual.py", "providers/_", "providers/airalo")
BALANCE_CEILING = 27  # measured (docs/architecture.md); the goal is 15
REMINDER_CEILING = 25  # measured; the goal is 12
HOOK = "https://bot.example.org/telegram/hook"
USER = 7001


async def product_files(run: Callable[[], Awaitable[object]]) -> list[str]:
    """The product files (repository-relative) whose code runs while ``run`` is awaited."""
    seen: set[str] = set()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            seen.add(frame.f_code.co_filename)

    sys.setprofile(profile)
    try:
        await run()
    finally:
        sys.setprofile(None)
    found = []
    for name in seen:
        path = Path(name)
        if not path.is_absolute() or not path.is_relative_to(ROOT):
            continue
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(PRODUCT) and not rel.startswith(NOT_COUNTED):
            found.append(rel)
    return sorted(found)


async def telegram(api: FakeApi, now: Callable[..., Any]) -> TelegramPlatform:
    return TelegramPlatform(token=TOKEN, now=now, webhook_url=HOOK, webhook_secret="s", web=Routes(), request=api)


async def balance_journey() -> tuple[list[str], FakeApi]:
    """``/balance`` in a private Telegram chat with one demo line, from the update to the answer."""
    bot = make_bot()
    link = Incoming(Address("telegram", str(USER), str(USER)), f"/link {DEMO['DEMO12']} DEMO12 dad", bot.clock.now())
    await bot.app.router.handle(link)
    api = FakeApi()
    platform = await telegram(api, bot.clock.now)
    await platform.start(bot.app.router.handle)
    try:
        api.calls.clear()
        app = platform._app
        assert app is not None
        update = Update.de_json(_message("/balance"), app.bot)
        files = await product_files(lambda: app.process_update(update))
    finally:
        await platform.stop()
    return files, api


async def reminder_journey() -> tuple[list[str], FakeApi]:
    """One low-data alert: the due poll finds 4 % left, and the alert reaches Telegram."""
    store, clock = MemoryStore(), FakeClock(START_AT)
    view, scripted = StoreView(store), Scripted(clock)
    audience = Audience(Catalogs.load(LOCALES), default_language="en", default_timezone="Europe/Oslo")
    queue = AlertQueue(store)
    events = Events(store=store, queue=queue, now=clock.now)
    api = FakeApi()
    platform = await telegram(api, clock.now)
    providers: dict[str, Provider] = {"scripted": scripted}  # type: ignore[dict-item]
    reminders = build_reminders(
        store=store,
        providers=providers,
        platforms={"telegram": platform},
        render=AlertRenderer(store=store, audience=audience, now=clock.now),
        audience=audience,
        queue=queue,
        events=events,
        clock=clock,
        metrics=Metrics(),
    )
    hid, iccid = f"telegram:{USER}", "1" * 19
    view.save_household(Household(id=hid, is_group=False, created_at=clock.now()))
    line = Line(
        id="l1",
        household_id=hid,
        label="dad",
        owner=hid,
        owner_name="Dad",
        provider="scripted",
        ref=iccid,
        created_at=clock.now(),
    )
    view.save_line(line)
    expires = START_AT + timedelta(days=20)
    scripted.script[iccid] = lambda at: scripted_balance(iccid, at, 5 * GB, expires=expires)
    async with store.transaction() as tx:
        await reminders.watcher.line_seen(tx, line, await scripted.balance(iccid), fresh_cycle=True)
    await queue.load()
    await reminders.loop.refresh()
    scripted.script[iccid] = lambda at: scripted_balance(iccid, at, 200 * MB, expires=expires)
    await platform.start(lambda incoming: asyncio.sleep(0, []))
    try:
        api.calls.clear()
        files = await product_files(lambda: reminders.loop.run_until(clock.now() + timedelta(hours=2)))
    finally:
        await platform.stop()
    return files, api


async def test_balance_journey_stays_within_its_ceiling() -> None:
    files, api = await balance_journey()
    (answer,) = api.called("sendMessage")
    assert "dad" in answer["text"] and "GB" in answer["text"]
    assert "bot/platforms/telegram/updates.py" in files and "handlers/balance.py" in files
    assert len(files) <= BALANCE_CEILING, "\n".join(files)


async def test_reminder_journey_stays_within_its_ceiling() -> None:
    files, api = await reminder_journey()
    (alert,) = api.called("sendMessage")
    assert "dad" in alert["text"] and "200 MB" in alert["text"]
    assert "bot/reminders/poller.py" in files and "bot/platforms/telegram/send.py" in files
    assert len(files) <= REMINDER_CEILING, "\n".join(files)


if __name__ == "__main__":
    for name, journey in (("/balance", balance_journey), ("reminder", reminder_journey)):
        measured, _api = asyncio.run(journey())
        print(f"{name}: {len(measured)} files")
        print("\n".join(f"  {f}" for f in measured))
