"""Automatic renewal (issue 25) on Telegram through the Bot API emulator: /auto offers the
recommended trigger first as a button, a balance decides, the notice comes with a Cancel
button that stops the order, and without it the receipt follows after the notice hour."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.processes import free_port
from tests.e2e.telegram.client import Person, TelegramClient, buttons, private
from tests.e2e.telegram.conftest import BotProcess
from tests.e2e.telegram.test_phone import advance
from tests.e2e.telegram.test_private import tr

pytestmark = pytest.mark.e2e
ANNA = Person(9301, "Anna", "en")
BEN = Person(9302, "Ben", "en")


def _set_up(tg: TelegramClient, who: Person, port: int) -> dict[str, Any]:
    """Link the 8 % demo line, take the recommended rule, look at the balance: the notice."""
    chat = private(who)
    tg.ask(who, chat, "/remind quiet off")
    tg.ask(who, chat, "/link 8947000000000000020 DEMO20 mum")
    offer = tg.ask(who, chat, "/auto mum")
    first = buttons(offer)[0]
    assert first.endswith("/auto mum low 20 demo-1gb-7d"), buttons(offer)
    tg.press(who, chat, offer, first)
    t = tr("en")
    rule = t("auto.rule_low", plan="1 GB / 7 days", percent=t.percent(0.2))
    assert rule in tg.edited(offer["message_id"], offer["text"])["text"]  # a choice: the offer shows the outcome
    assert rule in tg.ask(who, chat, "/balance mum")["text"]
    advance(port, "PT1M")  # the job loop runs in simulated time: the notice goes out
    notice = tg.reply(chat)
    assert notice["text"].startswith("🔁") and "1 GB / 7 days" in notice["text"], notice
    return notice


def test_cancel_under_the_notice_stops_the_order(start_bot: Callable[..., BotProcess]) -> None:
    port = free_port()
    bot = start_bot(TEST_CONTROL_PORT=str(port))
    tg, chat = bot.client, private(ANNA)
    notice = _set_up(tg, ANNA, port)
    [cancel] = [b for b in buttons(notice) if "/cancel " in b]
    tg.press(ANNA, chat, notice, cancel)
    assert tg.reply(chat)["text"] == tr("en")("confirm.cancelled")
    advance(port, "PT3H")
    assert not [m for m in tg.pending(chat) if str(m.get("text", "")).startswith("✅")]


def test_the_receipt_follows_the_notice_hour(start_bot: Callable[..., BotProcess]) -> None:
    port = free_port()
    bot = start_bot(TEST_CONTROL_PORT=str(port))
    tg, chat = bot.client, private(BEN)
    _set_up(tg, BEN, port)
    advance(port, "PT2H")
    receipt = tg.reply(chat)
    t = tr("en")
    priced = t("auto.receipt_priced", label="mum", plan="1 GB / 7 days", price=t.money(Decimal("49"), "NOK"))
    assert receipt["text"].startswith(priced), receipt["text"]  # then the data left, read back after the order
