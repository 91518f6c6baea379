"""Reminders on Matrix: an alert that falls due arrives as ``m.text`` mentioning the line's
owner (an intentional mention), and one that falls due while the homeserver is down is
delivered after it comes back, once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.matrix.conftest import ALICE, BOB, BOT, MatrixBot, catalog_text
from tests.e2e.matrix.human import Human, Said
from tests.e2e.matrix.synapse import Synapse

pytestmark = pytest.mark.e2e


async def family_with_line(alice: Human, bob: Human) -> str:
    room = await alice.create_room([BOT, BOB], name="Family")
    await bob.accept_invite(room)
    await alice.wait_joined(room, BOT)
    await alice.wait_joined(room, BOB)
    answer = await alice.ask(room, BOT, "!link 8947000000000000020 DEMO20 mom")  # 409 MB of 5 GB left
    assert catalog_text("en", "link.done", label="mom") in answer.body, answer.body
    await bob.reply_from(room, BOT)
    return room


async def test_due_reminder_mentions_the_owner(start_bot: Callable[..., MatrixBot], alice: Human, bob: Human) -> None:
    bot = start_bot(control=True)
    room = await family_with_line(alice, bob)

    bot.advance("PT12H")  # 150 MB used: below 5 % left, in the afternoon (not quiet hours)
    alert = await bob.reply_from(room, BOT)
    assert alert.msgtype == "m.text", alert.content
    assert alert.content["m.mentions"] == {"user_ids": [ALICE]}
    assert "mom" in alert.body and f'href="https://matrix.to/#/{ALICE}"' in alert.content["formatted_body"]
    assert "!renew mom" in alert.body, "the alert tells how to renew, with Matrix's prefix"
    await alice.reply_from(room, BOT)


async def test_alert_waits_out_a_homeserver_restart(
    start_bot: Callable[..., MatrixBot], synapse: Synapse, alice: Human, bob: Human
) -> None:
    bot = start_bot(control=True)
    room = await family_with_line(alice, bob)
    bot.advance("PT8H")  # the 5 % alert falls due in the next hour (the demo is deterministic)

    postponed = "matrix: could not deliver now"
    synapse.stop()
    try:  # step in small moves until the alert is tried, so the outbox has retries left
        for _ in range(24):
            bot.advance("PT5M")
            if postponed in bot.log_text():
                break
        else:
            raise AssertionError("the alert never fell due while the homeserver was down")
    finally:
        synapse.start()
    bot.wait_log("matrix: lost the homeserver", deadline=30)
    await alice.say(room, "!lines")
    answer = await alice.reply_from(room, BOT, deadline=90)  # reconnected with backoff: it answers again
    assert "mom" in answer.body, answer.body
    await bob.reply_from(room, BOT)

    bot.advance("PT5M")  # the outbox retries the alert it kept
    alert = await bob.reply_from(room, BOT)
    assert alert.msgtype == "m.text" and alert.content["m.mentions"] == {"user_ids": [ALICE]}, alert.content
    await alice.reply_from(room, BOT)
    bot.advance("PT1H")
    await alice.ask(room, BOT, "!lines")
    assert (await bob.reply_from(room, BOT)).msgtype == "m.notice", "the alert came once, not twice"


async def test_private_reminder_goes_to_a_direct_room(start_bot: Callable[..., MatrixBot], alice: Human, bob: Human) -> None:
    """With "to me" the alert goes to a room of the bot and the owner alone: one they share
    already (from an earlier test), or a new one the bot invites the owner to."""
    bot = start_bot(control=True)
    room = await family_with_line(alice, bob)
    await alice.ask(room, BOT, "!remind mom to me")
    await bob.reply_from(room, BOT)
    earlier = len(alice.seen)  # a room of alice and the bot alone may hold an earlier test's alerts
    bot.advance("PT12H")

    def private_alert() -> Said | None:
        for invite in list(alice.client.invited_rooms):
            alice.joining.add(invite)
        rooms = alice.client.rooms
        return next(
            (
                s
                for s in alice.seen[earlier:]
                if s.sender == BOT
                and s.msgtype == "m.text"
                and s.room_id in rooms
                and set(rooms[s.room_id].users) == {ALICE, BOT}
            ),
            None,
        )

    alert: Said = await alice.until(private_alert, "the alert in a direct room")
    assert "mom" in alert.body and alert.content["m.mentions"] == {}, alert.content
    assert not alice.client.rooms[alert.room_id].encrypted, "a bot without E2EE uses a plain direct room"
