"""Matrix and Telegram in one bot process: both answer, and one job queue sends each its alert."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable

import pytest

from tests.e2e.matrix.conftest import BOB, BOT, MatrixBot, catalog_text
from tests.e2e.matrix.human import Human
from tests.e2e.telegram.client import ChatRef, Person, TelegramClient, buttons, keyboard, private
from tests.e2e.telegram.conftest import emulator, new_token

pytestmark = pytest.mark.e2e
__all__ = ["emulator"]  # the Telegram emulator fixture, used here too


async def test_one_process_serves_matrix_and_telegram(start_bot: Callable[..., MatrixBot], emulator: str, alice: Human) -> None:
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


def _data(text: str, pattern: str) -> tuple[str, str]:
    found = re.search(pattern, text)
    assert found is not None, text
    return found.group(1), found.group(2)


EN_DATA = r"(\S+ [GM]B) left of (\S+ [GM]B)"
ZH_DATA = r"剩余流量 (\S+ [GM]B)（共 (\S+ [GM]B)）"


async def test_one_family_across_telegram_and_matrix(
    start_bot: Callable[..., MatrixBot], emulator: str, alice: Human, bob: Human
) -> None:
    token = new_token()
    bot = start_bot(control=True, TELEGRAM_TOKEN=token, TELEGRAM_API_URL=emulator)
    bot.wait_log("is polling for updates")
    tg = TelegramClient(emulator, token)
    mei = Person(5400, "Mei", "zh")
    group = ChatRef(-1005400, "supergroup", "家")
    ask = functools.partial(asyncio.to_thread, tg.ask)
    try:
        tg.set_admins(group, mei)
        await ask(mei, group, "/lang zh")
        await ask(mei, group, "/link 8947000000000000020 DEMO20 妈妈")
        invite = await ask(mei, group, "/family invite")
        code = re.search(r"/family join ([A-Z0-9]{8})", invite["text"])
        assert code is not None, invite["text"]

        room = await alice.create_room([BOT, BOB], name="Family")
        await bob.accept_invite(room)
        await alice.wait_joined(room, BOT)
        await alice.wait_joined(room, BOB)
        refused = await alice.ask(room, BOT, "!family join WRONGCDE")
        assert catalog_text("en", "family.bad_code") in refused.body, refused.body
        joined = await alice.ask(room, BOT, f"!family join {code.group(1)}")
        assert catalog_text("en", "family.joined") in joined.body, joined.body
        again = await asyncio.to_thread(tg.ask, mei, private(mei), f"/family join {code.group(1)}")
        assert again["text"].startswith("邀请码错误"), "a code works once"

        overview = await alice.ask(room, BOT, "!balance")
        assert "妈妈" in overview.body and "Mei" in overview.body, overview.body
        before = _data(overview.body, EN_DATA)
        refused = await alice.ask(room, BOT, "!renew 妈妈")  # a Matrix admin is a family admin
        assert catalog_text("en", "renew.choose", label="妈妈") in refused.body, refused.body
        await bob.say(room, "!renew 妈妈")  # bob is a member, not the owner
        denied = await alice.reply_from(room, BOT)
        assert catalog_text("en", "error.owner_or_admin", label="妈妈") in denied.body, denied.body

        bot.advance("PT12H")  # one crossing (5 % left): one alert in each chat, each in its language
        matrix_alert = await alice.reply_from(room, BOT)
        telegram_alert = await asyncio.to_thread(tg.reply, group)
        assert "妈妈" in matrix_alert.body and "Snooze…" in matrix_alert.body, matrix_alert.body
        assert telegram_alert["text"].startswith("Mei\n"), "the owner is mentioned where she is"
        assert "稍后提醒…" in [b["text"] for row in keyboard(telegram_alert) for b in row]
        assert tg.pending(group) == []

        plans = await ask(mei, group, "/renew 妈妈")  # a top-up on Telegram ...
        tg.press(mei, group, plans, buttons(plans)[0])
        confirm = await asyncio.to_thread(tg.edited, plans["message_id"], plans["text"])
        tg.press(mei, group, confirm, buttons(confirm)[0])
        done = await asyncio.to_thread(tg.edited, plans["message_id"], confirm["text"])
        after = _data(done["text"], ZH_DATA)
        assert after != before
        seen = await alice.ask(room, BOT, "!balance")  # ... is what the Matrix room sees
        assert _data(seen.body, EN_DATA) == after, (seen.body, done["text"])

        alerts = [m for m in alice.seen if m.room_id == room and m.sender == BOT and "Snooze…" in m.body]
        assert len(alerts) == 1, "one crossing, one alert in the Matrix room"
        family = await alice.ask(room, BOT, "!family")
        assert "Telegram" in family.body and "Matrix" in family.body, family.body
        left = await alice.ask(room, BOT, "!family leave")
        assert catalog_text("en", "family.left") in left.body, left.body
        alone = await alice.ask(room, BOT, "!balance")
        assert "妈妈" not in alone.body, alone.body
    finally:
        tg.close()
