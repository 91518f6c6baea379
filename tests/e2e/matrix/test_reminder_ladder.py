"""Issue 26 on Synapse: an expiry ladder of two points, Snooze's choices under its first reminder
(numbered, answered with ``!N``), and Done under the urgent one stopping its repeat."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.matrix.conftest import BOT, MatrixBot, catalog_text
from tests.e2e.matrix.human import Human

pytestmark = pytest.mark.e2e


async def test_ladder_snooze_choice_and_done(start_bot: Callable[..., MatrixBot], alice: Human) -> None:
    bot = start_bot(control=True)
    room = await alice.create_room([BOT], direct=True)
    await alice.wait_joined(room, BOT)
    await alice.ask(room, BOT, "!remind expiry 36h 12h")
    said = await alice.ask(room, BOT, "!remind repeat 1h 1")
    assert catalog_text("en", "remind.repeat_on", every="1 hour", times=1) in said.body, said.body
    await alice.ask(room, BOT, "!link 8947000000000000038 DEMO38 kid")  # expires 4 Mar, 08:00 in Oslo

    bot.advance("PT12H30M")  # 36 hours before: not urgent, no Done
    first = await alice.reply_from(room, BOT)
    assert "kid expires in 2 days" in first.body and "Done" not in first.body, first.body
    offer = await alice.ask(room, BOT, "!2")  # the alert's second choice: Snooze…
    assert catalog_text("en", "snooze.choose", label="kid") in offer.body, offer.body
    snoozed = await alice.ask(room, BOT, "!1")  # 1 hour
    assert "No expiry reminders for kid until" in snoozed.body, snoozed.body

    bot.advance("P1D")  # 12 hours before: urgent, with Done first; it would come back in an hour
    urgent = await alice.reply_from(room, BOT)
    assert "kid expires" in urgent.body and "Done" in urgent.body, urgent.body
    done = await alice.ask(room, BOT, "!1")
    assert done.body == catalog_text("en", "done.ok", label="kid"), done.body
    bot.advance("PT1H")  # no repeat after Done: the next message is the expiry
    bot.advance("PT12H")  # expired: the ladder's end, the next message, not a repeat
    expired = await alice.reply_from(room, BOT)
    assert "kid expired on" in expired.body, expired.body
