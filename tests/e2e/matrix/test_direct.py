"""A direct room with the bot: the whole round trip in each language, chosen with !lang."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.matrix.conftest import BOT, MatrixBot, catalog_text
from tests.e2e.matrix.human import Human, Said

pytestmark = pytest.mark.e2e


def assert_notice_reply(answer: Said, command_event: str | None = None) -> None:
    assert answer.msgtype == "m.notice", answer.content
    assert answer.content.get("format") == "org.matrix.custom.html"
    assert answer.content.get("m.mentions") == {}
    if command_event is not None:
        assert answer.content["m.relates_to"]["m.in_reply_to"]["event_id"] == command_event


@pytest.mark.parametrize("lang", ["zh", "nb", "en"])
async def test_direct_room_round_trip(start_bot: Callable[..., MatrixBot], alice: Human, lang: str) -> None:
    start_bot()
    room = await alice.create_room([BOT], direct=True)
    await alice.wait_joined(room, BOT)

    answer = await alice.ask(room, BOT, f"!lang {lang}")
    assert answer.body.startswith(catalog_text(lang, "lang.set")), answer.body

    event = await alice.say(room, "!start")
    answer = await alice.reply_from(room, BOT)
    assert_notice_reply(answer, event)
    assert "!link 8947000000000000012 DEMO12" in answer.body and "!help" in answer.body, "the greeting shows Matrix's ! prefix"

    answer = await alice.ask(room, BOT, "!link 8947000000000000020 DEMO20 mom")
    assert catalog_text(lang, "link.done", label="mom") in answer.body, answer.body

    answer = await alice.ask(room, BOT, "!balance")
    assert_notice_reply(answer)
    assert "mom" in answer.body and "📶" in answer.body, answer.body

    offer = await alice.ask(room, BOT, "!renew")
    assert catalog_text(lang, "renew.choose", label="mom") in offer.body, offer.body
    assert "1\ufe0f\u20e3 !1 · " in offer.body and "<code>!1</code>" in offer.content["formatted_body"]

    confirm = await alice.ask(room, BOT, "!1")
    assert catalog_text(lang, "renew.confirm", label="mom") in confirm.body, confirm.body

    done = await alice.ask(room, BOT, "!1")
    assert catalog_text(lang, "renew.done", label="mom") in done.body, done.body
