"""A family group: an admin and a member link lines; only the admin may renew the admin's line,
and a renewal button orders once however often it is pressed."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.e2e.telegram.client import ChatRef, Person, buttons
from tests.e2e.telegram.conftest import BotProcess
from tests.e2e.telegram.test_private import tr

pytestmark = pytest.mark.e2e
ALICE = Person(7001, "Alice", "en")  # group admin
BOB = Person(7002, "Bob", "en")  # member
ANONYMOUS = Person(1087968824, "Group", "en")  # Telegram's GroupAnonymousBot
FAMILY = ChatRef(-1001234567890, "supergroup", "Family")


def test_family_group_roles_and_buttons(start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot()
    tg, t = bot.client, tr("en")
    tg.set_admins(FAMILY, ALICE)

    tg.say(BOB, FAMILY, "hello everyone")  # family chatter is not for the bot
    tg.say(BOB, FAMILY, "/balance@OtherBot")  # nor another bot's command
    linked = tg.ask(ALICE, FAMILY, "/link@EsimTestBot 8947000000000000020 DEMO20 mom")
    assert linked["text"].startswith(t("link.done", label="mom", iccid="89…0020"))
    assert linked["reply_parameters"]["message_id"] > 0  # the command is quoted in a group
    assert linked["disable_notification"] == "false"
    assert tg.ask(BOB, FAMILY, "/link 8947000000000000038 DEMO38 bob")["text"].startswith(
        t("link.done", label="bob", iccid="89…0038")
    )

    plans = tg.ask(ALICE, FAMILY, "/renew mom")
    tg.press(ALICE, FAMILY, plans, buttons(plans)[0])
    confirm = tg.edited(plans["message_id"], plans["text"])
    confirm_data = buttons(confirm)[0]
    assert confirm_data.startswith("/confirm ")

    # the member presses the admin's confirmation: refused in a new message, the buttons stay
    tg.press(BOB, FAMILY, confirm, confirm_data)
    refusal = tg.reply(FAMILY)
    assert refusal["text"] == t("error.owner_or_admin", label="mom")
    assert refusal["reply_parameters"]["message_id"] == plans["message_id"]
    assert buttons(tg.bot_message(plans["message_id"])) == buttons(confirm)

    # the admin's press orders, and the message shows the outcome: the confirm buttons are gone,
    # the receipt's own "Data left" is there
    tg.press(ALICE, FAMILY, confirm, confirm_data)
    done = tg.edited(plans["message_id"], confirm["text"])
    assert done["text"].startswith(t("renew.done", label="mom", plan="").strip()[:8])
    assert buttons(done) == ["+/balance mom", "+/auto mom"]

    # a second press (a stale client still showing the button) orders nothing more
    tg.press(ALICE, FAMILY, confirm, confirm_data)
    assert tg.reply(FAMILY)["text"] == t("confirm.already_done")
    assert tg.bot_message(plans["message_id"])["text"] == done["text"]
    balance = tg.ask(ALICE, FAMILY, "/balance mom")
    assert done["text"].split("\n\n", 1)[1] in balance["text"]  # topped up once

    # typing is checked like pressing: the member may not renew the admin's line
    assert tg.ask(BOB, FAMILY, "/renew mom")["text"] == t("error.owner_or_admin", label="mom")
    assert tg.ask(BOB, FAMILY, "/cap 500 NOK")["text"] == t("error.admin_only")
    assert len(tg.answers()) == 4  # every press was answered

    # an admin posting anonymously (as the group) counts as an admin
    tg.send_update(
        {
            "message": {
                "message_id": 9001,
                "date": int(time.time()),
                "chat": FAMILY.chat(),
                "from": ANONYMOUS.user(),
                "sender_chat": {"id": FAMILY.id, "type": "supergroup", "title": "Family"},
                "text": "/cap 500 NOK",
                "entities": [{"offset": 0, "length": 4, "type": "bot_command"}],
            }
        }
    )
    assert tg.reply(FAMILY)["text"] != t("error.admin_only")
