"""Issue 26 on the Bot API emulator: an expiry ladder of two points, Snooze's choices under its
first reminder, and Done under the urgent one stopping its repeat."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.processes import free_port
from tests.e2e.telegram.client import ChatRef, Person, buttons
from tests.e2e.telegram.conftest import BotProcess
from tests.e2e.telegram.test_phone import advance, labels
from tests.e2e.telegram.test_private import tr

pytestmark = pytest.mark.e2e
NORA = Person(9201, "Nora", "en")
FAMILY = ChatRef(-1009201, "supergroup", "Home")


def test_ladder_snooze_choice_and_done(start_bot: Callable[..., BotProcess]) -> None:
    port = free_port()
    bot = start_bot(TEST_CONTROL_PORT=str(port))
    tg, t = bot.client, tr("en")
    tg.set_admins(FAMILY, NORA)
    tg.ask(NORA, FAMILY, "/remind expiry 36h 12h")
    assert "Repeat until someone presses Done: on" in tg.ask(NORA, FAMILY, "/remind repeat 1h 1")["text"]
    tg.ask(NORA, FAMILY, "/link 8947000000000000038 DEMO38 kid")  # expires 4 Mar, 08:00 in Oslo

    advance(port, "PT12H30M")  # 36 hours before: not urgent, no Done
    first = tg.reply(FAMILY)
    assert first["text"].startswith("Nora\n⏰ kid expires")  # the owner, mentioned
    assert labels(first) == [t("button.topup"), t("button.snooze")]
    tg.press(NORA, FAMILY, first, buttons(first)[1])
    offer = tg.reply(FAMILY)
    assert labels(offer) == [t("snooze.hour"), t("snooze.morning"), t("snooze.days3")]
    tg.press(NORA, FAMILY, offer, buttons(offer)[0])  # 1 hour
    said = tg.edited(offer["message_id"], offer["text"])  # a reply's button answers in place
    assert "No expiry reminders for kid until" in said["text"]

    advance(port, "P1D")  # 12 hours before: urgent, with Done; it would come back in an hour
    urgent = tg.reply(FAMILY)
    assert labels(urgent)[0] == t("button.done")
    tg.press(NORA, FAMILY, urgent, buttons(urgent)[0])
    assert tg.reply(FAMILY)["text"] == t("done.ok", label="kid")
    advance(port, "PT1H")
    assert tg.pending(FAMILY) == [], "no repeat after Done"
    advance(port, "PT12H")  # expired: the ladder's end, one message
    [expired] = tg.replies(FAMILY, 1)
    assert expired["text"].startswith("Nora\n❌ kid expired")
