"""A reminder falls due in simulated time and arrives in the family group, mentioning the owner;
a group the bot was removed from gets none."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.processes import free_port
from tests.e2e.telegram.client import ChatRef, Person
from tests.e2e.telegram.conftest import BotProcess
from tests.e2e.telegram.test_private import tr

pytestmark = pytest.mark.e2e
MEI = Person(9001, "Mei", "zh")
FAMILY = ChatRef(-1009001, "supergroup", "家")
FORMER = ChatRef(-1009002, "supergroup", "Old")


def test_low_data_alert_reaches_the_group_and_mentions_the_owner(start_bot: Callable[..., BotProcess]) -> None:
    port = free_port()
    bot = start_bot(TEST_CONTROL_PORT=str(port))
    tg, t = bot.client, tr("zh")
    tg.set_admins(FAMILY, MEI)
    tg.set_admins(FORMER, MEI)
    # 409 MB of 5 GB left, 300 MB used a simulated day: under 5 % within half a day
    assert "89…0020" in tg.ask(MEI, FAMILY, "/link 8947000000000000020 DEMO20 妈妈")["text"]
    assert "89…0038" in tg.ask(MEI, FORMER, "/link 8947000000000000038 DEMO38 旧")["text"]
    me = {"id": 666, "is_bot": True, "first_name": "eSIM Test", "username": "EsimTestBot"}
    tg.send_update(
        {
            "my_chat_member": {
                "chat": FORMER.chat(),
                "from": MEI.user(),
                "date": int(time.time()),
                "old_chat_member": {"status": "member", "user": me},
                "new_chat_member": {"status": "left", "user": me},
            }
        }
    )
    bot.wait_log("the bot was removed from a group")
    assert tg.pending(FAMILY) == []

    answer = httpx.post(f"http://127.0.0.1:{port}/advance", json={"advance": "P2D"}, timeout=60)
    assert answer.status_code == 200, answer.text

    alert = tg.reply(FAMILY)
    first_line, _, body = alert["text"].partition("\n")
    assert first_line == "Mei"  # the owner, mentioned by id so Telegram notifies her
    assert alert["entities"] == [
        {"type": "text_mention", "offset": 0, "length": 3, "user": {"id": MEI.id, "is_bot": False, "first_name": "Mei"}}
    ]
    assert body.startswith("⚠️") and "妈妈" in body and t.percent(0.05) in body
    assert "/renew 妈妈" in body
    assert "reply_parameters" not in alert  # an alert quotes nothing
    assert tg.pending(FORMER) == []  # the group that removed the bot hears nothing
