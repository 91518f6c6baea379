"""Matrix and Telegram in one bot process: both answer, and one job queue sends each its alert."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.e2e.matrix.conftest import BOT, MatrixBot, catalog_text
from tests.e2e.matrix.human import Human
from tests.e2e.telegram.client import Person, TelegramClient, private
from tests.e2e.telegram.conftest import emulator, new_token

pytestmark = pytest.mark.e2e
__all__ = ["emulator"]  # the Telegram emulator fixture, used here too


async def test_one_process_serves_matrix_and_telegram(start_bot: Callable[..., MatrixBot], emulator: str,
                                                      alice: Human) -> None:
    token = new_token()
    bot = start_bot(control=True, TELEGRAM_TOKEN=token, TELEGRAM_API_URL=emulator)
    bot.wait_log("is polling for updates")
    tg = TelegramClient(emulator, token)
    li = Person(5300, "Li", "en")
    chat = private(li)
    try:
        room = await alice.create_room([BOT], direct=True)
        await alice.wait_joined(room, BOT)
        answer = await alice.ask(room, BOT, "!link 8947000000000000020 DEMO20 mom")
        assert catalog_text("en", "link.done", label="mom") in answer.body, answer.body
        linked = await asyncio.to_thread(tg.ask, li, chat, "/link 8947000000000000038 DEMO38 li")
        assert catalog_text("en", "link.done", label="li") in linked["text"], linked["text"]

        bot.advance("P1D")
        alert = await alice.reply_from(room, BOT)
        assert alert.msgtype == "m.text" and "mom" in alert.body, alert.content
        telegram_alert = await asyncio.to_thread(tg.reply, chat)
        assert "li" in telegram_alert["text"] and "/renew li" in telegram_alert["text"], telegram_alert
        assert "!renew mom" in alert.body, "each platform writes commands with its own prefix"
    finally:
        tg.close()
