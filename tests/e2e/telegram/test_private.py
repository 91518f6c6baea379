"""A person alone with the bot, in Chinese, Norwegian and English (Telegram's language_code)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.i18n import Catalogs, Translator
from tests.e2e.telegram.client import Person, buttons, private
from tests.e2e.telegram.conftest import BotProcess

pytestmark = pytest.mark.e2e
CATALOGS = Catalogs.load(Path(__file__).resolve().parents[3] / "locales")
ICCID, CODE = "8947000000000000020", "DEMO20"


def tr(lang: str) -> Translator:
    return CATALOGS.translator(lang)


@pytest.mark.parametrize("lang", ["zh", "nb", "en"])
def test_private_conversation(start_bot: Callable[..., BotProcess], lang: str) -> None:
    bot = start_bot()
    tg, t = bot.client, tr(lang)
    li = Person(5100 + len(lang), "Li", lang)
    chat = private(li)

    hello = tg.ask(li, chat, "/start")
    assert t("start.hello", name="Li") in hello["text"]
    assert t("help.balance") in hello["text"]
    assert "reply_parameters" not in hello  # no quoting in a private chat

    linked = tg.ask(li, chat, f"/link {ICCID} {CODE} mom")
    assert t("link.done", label="mom", iccid="89…0020") in linked["text"]
    assert CODE not in linked["text"] and ICCID not in linked["text"]

    balance = tg.ask(li, chat, "/balance")
    assert "mom" in balance["text"] and t.data(5 * 1024**3) in balance["text"]

    plans = tg.ask(li, chat, "/renew")
    assert plans["text"] == t("renew.choose", label="mom")
    data = buttons(plans)
    assert len(data) == 3 and all(d.startswith("/buy ") and len(d.encode()) <= 64 for d in data)

    tg.press(li, chat, plans, data[0])  # 1 GB / 7 days
    confirm = tg.edited(plans["message_id"], plans["text"])
    assert confirm["text"].startswith(t("renew.confirm", label="mom", plan="").rstrip("?？ "))
    choices = buttons(confirm)
    assert choices[0].startswith("/confirm ") and choices[1].startswith("/cancel ")

    tg.press(li, chat, confirm, choices[0])
    done = tg.edited(plans["message_id"], confirm["text"])
    assert done["text"].startswith(t("renew.done", label="mom", plan="").strip()[:6])
    assert buttons(done) == ["+/balance mom", "+/auto mom"]  # the confirm buttons are gone: it cannot be pressed twice
    assert tg.pending(chat) == []  # the outcome replaced the question; nothing else was sent
    assert len(tg.answers()) == 2  # every press was answered

    saved = tg.ask(li, chat, "/remind data 30%")
    assert saved["text"].startswith(t("remind.saved"))
    assert t.percent(0.3) in saved["text"]

    menus = tg.commands()["all_private_chats"]
    assert set(menus) == {"", "en", "nb", "zh"}
    assert {"command": "balance", "description": t("help.balance")} in menus[lang]
    assert all(c["command"] not in ("buy", "confirm", "cancel") for c in menus[lang])
