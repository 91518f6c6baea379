"""Invite links (issue 27, item 4) through the Bot API emulator: ``/family invite`` gives a
``?startgroup=`` and a ``?start=`` link with the code in them; the app then sends ``/start
<payload>`` where the person chose, and that joins the family, once."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.processes import free_port
from tests.e2e.telegram.client import ChatRef, Person, private
from tests.e2e.telegram.conftest import BotProcess
from tests.e2e.telegram.test_private import tr

pytestmark = pytest.mark.e2e
ANNA = Person(7401, "Anna", "en")  # admin of the family group
MO = Person(7402, "Mo", "nb")  # opens the private-chat link
KARI = Person(7403, "Kari", "en")  # adds the bot to her own group with the other link
FAMILY = ChatRef(-1002000000401, "supergroup", "Family")
COUSINS = ChatRef(-1002000000402, "supergroup", "Cousins")
LINK = re.compile(r"https://t\.me/EsimTestBot\?(startgroup|start)=(join_[A-Z0-9]{8})(?=\s|$)")
ME = {"id": 666, "is_bot": True, "first_name": "eSIM Test", "username": "EsimTestBot"}


def _invite(bot: BotProcess) -> dict[str, str]:
    said = bot.client.ask(ANNA, FAMILY, "/family invite")["text"]
    found = dict(LINK.findall(said))
    assert set(found) == {"startgroup", "start"} and found["start"] == found["startgroup"], said
    return found


def test_the_private_chat_link_joins_the_family_once(start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot()
    tg = bot.client
    tg.set_admins(FAMILY, ANNA)
    tg.ask(ANNA, FAMILY, "/link 8947000000000000020 DEMO20 mom")
    payload = _invite(bot)["start"]

    joined = tg.ask(MO, private(MO), f"/start {payload}")  # what the app sends after the START button
    assert joined["text"].startswith(tr("nb")("family.joined", balance="/balance"))
    assert "mom" in tg.ask(MO, private(MO), "/balance")["text"]  # the family's line, in the joined chat

    used = tg.ask(KARI, private(KARI), f"/start {payload}")
    assert used["text"] == tr("en")("family.bad_link", invite="/family invite")
    assert payload.removeprefix("join_") not in bot.log_text()  # the code never reaches the log


def test_the_group_link_adds_the_bot_and_joins_that_group(start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot()
    tg = bot.client
    tg.set_admins(FAMILY, ANNA)
    tg.ask(ANNA, FAMILY, "/link 8947000000000000020 DEMO20 mom")
    payload = _invite(bot)["startgroup"]

    # Kari picks her group: Telegram adds the bot, then sends /start@bot <payload> there as her
    tg.set_admins(COUSINS, KARI)
    tg.send_update(
        {
            "my_chat_member": {
                "chat": COUSINS.chat(),
                "from": KARI.user(),
                "date": int(time.time()),
                "old_chat_member": {"status": "left", "user": ME},
                "new_chat_member": {"status": "member", "user": ME},
            }
        }
    )
    joined = tg.ask(KARI, COUSINS, f"/start@EsimTestBot {payload}")
    assert joined["text"].startswith(tr("en")("family.joined", balance="/balance"))
    assert "mom" in tg.ask(KARI, COUSINS, "/balance")["text"]
    family = tg.ask(ANNA, FAMILY, "/family")["text"]
    assert family.count("•") == 2
    assert "• Family (Telegram) ← " in family and "• Cousins (Telegram)\n" in family  # told apart by title (S10)


def test_a_wrong_or_expired_link_gets_a_clear_answer(start_bot: Callable[..., BotProcess]) -> None:
    port = free_port()
    bot = start_bot(TEST_CONTROL_PORT=str(port))
    tg = bot.client
    tg.set_admins(FAMILY, ANNA)
    wrong = tg.ask(MO, private(MO), "/start join_ZZZZZZZZ")
    assert wrong["text"] == tr("nb")("family.bad_link", invite="/family invite")
    assert tg.ask(MO, private(MO), "/start")["text"].startswith(tr("nb")("start.hello", name="Mo"))

    payload = _invite(bot)["start"]
    answer = httpx.post(f"http://127.0.0.1:{port}/advance", json={"advance": "PT16M"}, timeout=60)
    assert answer.status_code == 200, answer.text
    expired = tg.ask(KARI, private(KARI), f"/start {payload}")
    assert expired["text"] == tr("en")("family.bad_link", invite="/family invite")
