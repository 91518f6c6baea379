"""What a phone user sees on Matrix: the usage chart as an ``m.image`` (uploaded encrypted in
an end-to-end encrypted room), then its summary with numbered choices; alert choices."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.matrix.conftest import BOT, MatrixBot, catalog_text
from tests.e2e.matrix.human import Human

pytestmark = pytest.mark.e2e
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_usage_chart_is_an_image(start_bot: Callable[..., MatrixBot], alice: Human, encrypted: bool) -> None:
    bot = start_bot(e2ee=encrypted, control=True)
    room = await alice.create_room([BOT], direct=True, encrypted=encrypted)
    await alice.wait_joined(room, BOT)
    linked = await alice.ask(room, BOT, "!link 8947000000000000012 DEMO12 mom")
    for n, label in enumerate(("Top up", "Chart", "Reminders"), 1):
        assert f"!{n} · {label}" in linked.body, linked.body
    bot.advance("P2D")  # two days of hourly looks

    balance = await alice.ask(room, BOT, "!balance")
    assert "!2 · Chart" in balance.body, balance.body
    await alice.say(room, "!2")  # the "Chart" choice
    image = await alice.reply_from(room, BOT)
    summary = await alice.reply_from(room, BOT)
    assert image.msgtype == "m.image", image.content
    assert image.content["info"]["mimetype"] == "image/png" and image.content["info"]["w"] == 800
    if encrypted:
        assert image.decrypted and "file" in image.content and "url" not in image.content, image.content
    else:
        assert image.content["url"].startswith("mxc://"), image.content
    data = await alice.picture(image)
    assert data.startswith(PNG) and len(data) == image.content["info"]["size"]
    assert catalog_text("en", "usage.caption", label="mom") in summary.body, summary.body
    assert "!2 · Data left" in summary.body, summary.body
    assert alice.undecryptable_in(room) == []


async def test_alert_offers_top_up_and_snooze(start_bot: Callable[..., MatrixBot], alice: Human) -> None:
    bot = start_bot(control=True)
    room = await alice.create_room([BOT], direct=True)
    await alice.wait_joined(room, BOT)
    await alice.ask(room, BOT, "!link 8947000000000000020 DEMO20 mom")
    bot.advance("PT12H")
    alert = await alice.reply_from(room, BOT)
    assert "mom" in alert.body and "Snooze…" in alert.body, alert.body
    offer = await alice.ask(room, BOT, "!2")  # the second choice of the last list: Snooze…
    assert catalog_text("en", "snooze.choose", label="mom") in offer.body, offer.body
    snoozed = await alice.ask(room, BOT, "!3")  # its third choice: 3 days
    assert catalog_text("en", "snooze.done_data", label="mom") in snoozed.body, snoozed.body
