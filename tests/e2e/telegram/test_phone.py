"""What a phone user taps on Telegram: the usage chart as a photo, the buttons under a balance
and under an alert (rights respected), and Snooze's choices (a snooze never hides that the line ran out)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.processes import free_port
from tests.e2e.telegram.client import ChatRef, Person, buttons, keyboard, private
from tests.e2e.telegram.conftest import BotProcess
from tests.e2e.telegram.test_private import tr

pytestmark = pytest.mark.e2e
MEI = Person(9101, "Mei", "zh")
KID = Person(9102, "Kai", "zh")
FAMILY = ChatRef(-1009101, "supergroup", "家")


def advance(port: int, duration: str) -> None:
    answer = httpx.post(f"http://127.0.0.1:{port}/advance", json={"advance": duration}, timeout=120)
    assert answer.status_code == 200, answer.text


def png_of(message: dict[str, object]) -> bytes:
    data = base64.b64decode(str(message["photo_base64"]))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def labels(message: dict[str, object]) -> list[str]:
    return [b["text"] for row in keyboard(message) for b in row]


def test_chart_is_a_photo_and_buttons_lead_to_it(start_bot: Callable[..., BotProcess]) -> None:
    port = free_port()
    bot = start_bot(TEST_CONTROL_PORT=str(port))
    tg, t = bot.client, tr("zh")
    chat = private(MEI)
    linked = tg.ask(MEI, chat, "/link 8947000000000000012 DEMO12 妈妈")
    assert labels(linked) == [t("button.topup"), t("button.chart"), t("button.reminders")]

    too_early = tg.ask(MEI, chat, "/usage")
    assert too_early["text"] == t("usage.too_few", label="妈妈", balance="/balance 妈妈")
    assert "photo" not in too_early

    advance(port, "P2D")  # hourly looks at the demo line: two days of samples
    balance = tg.ask(MEI, chat, "/balance")
    assert buttons(balance) == ["+/renew 妈妈", "+/usage 妈妈", "+/remind 妈妈"]  # +: follow-ups, answered anew
    tg.press(MEI, chat, balance, "+/usage 妈妈")
    chart = tg.reply(chat)
    png = png_of(chart)
    assert chart["photo"]["width"] == 800 and chart["photo"]["height"] == 450, chart["photo"]
    assert len(png) == chart["photo"]["file_size"] > 10_000
    assert chart["caption"].startswith("📈 妈妈")
    assert buttons(chart) == ["+/renew 妈妈", "+/balance 妈妈"]
    assert tg.bot_message(balance["message_id"])["text"] == balance["text"], "the balance stays as it was"


def test_alert_buttons_rights_and_snooze(start_bot: Callable[..., BotProcess]) -> None:
    port = free_port()
    bot = start_bot(TEST_CONTROL_PORT=str(port))
    tg, t = bot.client, tr("zh")
    tg.set_admins(FAMILY, MEI)
    tg.ask(MEI, FAMILY, "/lang zh")
    tg.ask(MEI, FAMILY, "/link 8947000000000000020 DEMO20 妈妈")  # 409 MB of 5 GB left, 300 MB a day

    member_view = tg.ask(KID, FAMILY, "/balance")
    assert "+/renew 妈妈" not in buttons(member_view), "a member who may not spend sees no Top up"
    assert buttons(member_view) == ["+/usage 妈妈", "+/remind 妈妈"]

    advance(port, "PT12H")  # under 5 %: one alert, with its buttons
    alert = tg.reply(FAMILY)
    assert t.percent(0.05) in alert["text"]
    assert labels(alert) == [t("button.topup"), t("button.snooze")]
    renew, snooze = buttons(alert)
    assert renew == "+/renew 妈妈" and snooze.startswith("+/snooze ") and snooze.endswith(" data")

    tg.press(KID, FAMILY, alert, snooze)  # not the owner, not an admin: refused, nothing changes
    refused = tg.reply(FAMILY)
    assert refused["text"] == t("error.owner_or_admin", label="妈妈")
    tg.press(MEI, FAMILY, alert, snooze)  # at 20:00: Snooze offers its choices (issue 26)
    offer = tg.reply(FAMILY)  # an alert's buttons are anyone's: answered with a new message
    assert labels(offer) == [t("snooze.hour"), t("snooze.morning"), t("snooze.days3")]
    tg.press(MEI, FAMILY, offer, buttons(offer)[2])  # 3 days
    done = tg.edited(offer["message_id"], offer["text"])  # a reply's button answers in place
    assert done["text"].endswith(t("snooze.done_data", label="妈妈", until="@").split("@")[1])

    advance(port, "PT22H")  # the data ran out at about 16:45 while snoozed: a snooze never hides that
    [after] = tg.replies(FAMILY, 1)
    assert "❌" in after["text"] and "妈妈" in after["text"]
    advance(port, "PT6H")
    assert tg.pending(FAMILY) == [], "once, not again"
