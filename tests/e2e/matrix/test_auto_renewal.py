"""Automatic renewal (issue 25) on Matrix through Synapse: /auto offers its triggers as a
numbered list with the recommended one first, a keycap reaction picks it, a balance
decides, the notice reaches the family room, and after the notice hour one receipt (plan,
price, data left) follows, once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.matrix.conftest import BOT, MatrixBot, catalog_text
from tests.e2e.matrix.human import Human
from tests.e2e.matrix.test_family import both_see
from tests.e2e.matrix.test_reminders import family_with_line

pytestmark = pytest.mark.e2e


async def test_a_low_data_rule_notice_and_one_order(start_bot: Callable[..., MatrixBot], alice: Human, bob: Human) -> None:
    bot = start_bot(control=True)
    room = await family_with_line(alice, bob)  # the 8 % demo line "mom", Alice's
    offer = await both_see(alice, bob, room, "!auto mom")
    recommended = catalog_text("en", "button.auto_recommended", percent="20%")
    assert recommended in offer.body.split("!2")[0], f"choice 1 is the recommended trigger: {offer.body}"
    set_ = await both_see(alice, bob, room, react_to=offer.event_id)
    assert catalog_text("en", "auto.rule_low", plan="1 GB / 7 days", percent="20%") in set_.body, set_.body
    await both_see(alice, bob, room, "!balance mom")  # the balance decides: the notice is queued

    bot.advance("PT1M")
    notice = await bob.reply_from(room, BOT)
    assert "🔁 mom: 1 GB / 7 days" in notice.body, notice.body  # mentioning the owner
    assert "!1 · " + catalog_text("en", "button.cancel") in notice.body, "Cancel, a numbered choice"
    await alice.reply_from(room, BOT)

    bot.advance("PT2H")
    receipt = await bob.reply_from(room, BOT)
    priced = catalog_text("en", "auto.receipt_priced", label="mom", plan="1 GB / 7 days")
    assert priced in receipt.body and "left of" in receipt.body, receipt.body
    await alice.reply_from(room, BOT)

    bot.advance("PT6H")
    answer = await alice.ask(room, BOT, "!lines")
    assert answer.msgtype == "m.notice" and "mom" in answer.body, "no second receipt came before the answer"
    assert bot.log_text().count(": done (None)") == 1, "one automatic order"
