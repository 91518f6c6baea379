"""A family room: admins (power level >= 50) may renew any line, a member only their own,
whether by command or by answering someone else's choices (by number or by reaction).

Room version 11 lists the admin's power level explicitly; a default room version 12 room
leaves its creator out of the power levels (creators are all-powerful there), which
matrix-nio reports as level 0, so the bot must read the creators from ``m.room.create``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.matrix.conftest import ALICE, BOB, BOT, MatrixBot, catalog_text
from tests.e2e.matrix.human import Human, Said

pytestmark = pytest.mark.e2e
KEYCAP_1 = "1\ufe0f\u20e3"


async def both_see(speaker: Human, other: Human, room: str, text: str | None = None, *, react_to: str | None = None) -> Said:
    """``speaker`` says ``text`` (or reacts 1️⃣ to ``react_to``); both read the bot's answer."""
    if react_to is not None:
        await speaker.react(room, react_to, KEYCAP_1)
    else:
        assert text is not None
        await speaker.say(room, text)
    answer = await speaker.reply_from(room, BOT)
    await other.reply_from(room, BOT)
    return answer


@pytest.mark.parametrize("version", ["11", "default"])
async def test_admin_renews_any_line_member_only_their_own(
    start_bot: Callable[..., MatrixBot], alice: Human, bob: Human, version: str
) -> None:
    start_bot()
    if version == "11":
        room = await alice.create_room([BOT, BOB], name="Family", version="11", power={ALICE: 100, BOT: 0, BOB: 0})
    else:
        room = await alice.create_room([BOT, BOB], name="Family")
    await bob.accept_invite(room)
    await alice.wait_joined(room, BOT)
    await alice.wait_joined(room, BOB)
    if version == "default":
        assert alice.client.rooms[room].room_version == "12"
        assert alice.client.rooms[room].power_levels.get_user_level(ALICE) == 0, "nio's view of a v12 creator"

    answer = await both_see(alice, bob, room, "!link 8947000000000000020 DEMO20 mom")
    assert catalog_text("en", "link.done", label="mom") in answer.body, answer.body
    answer = await both_see(bob, alice, room, "!link 8947000000000000012 DEMO12 kid")
    assert catalog_text("en", "link.done", label="kid") in answer.body, answer.body

    answer = await both_see(bob, alice, room, "!cap 500 NOK")
    assert catalog_text("en", "error.admin_only") in answer.body, answer.body
    answer = await both_see(alice, bob, room, "!cap 500 NOK")
    assert catalog_text("en", "cap.set") in answer.body, answer.body

    refused = catalog_text("en", "error.owner_or_admin", label="mom")
    answer = await both_see(bob, alice, room, "!renew mom")
    assert refused in answer.body, answer.body

    await both_see(alice, bob, room, "!renew mom")
    answer = await both_see(bob, alice, room, "!1")  # the member answers the admin's choices
    assert refused in answer.body, answer.body
    confirm = await both_see(alice, bob, room, "!1")
    assert catalog_text("en", "renew.confirm", label="mom") in confirm.body, confirm.body
    answer = await both_see(bob, alice, room, react_to=confirm.event_id)
    assert refused in answer.body, answer.body

    offer = await both_see(alice, bob, room, "!renew kid")  # the admin renews the member's line
    assert catalog_text("en", "renew.choose", label="kid") in offer.body, offer.body
    confirm = await both_see(alice, bob, room, "!1")
    assert catalog_text("en", "renew.confirm", label="kid") in confirm.body, confirm.body
    done = await both_see(alice, bob, room, react_to=confirm.event_id)
    assert catalog_text("en", "renew.done", label="kid") in done.body, done.body


async def test_direct_room_that_grows_becomes_a_family(start_bot: Callable[..., MatrixBot], alice: Human, bob: Human) -> None:
    start_bot()
    room = await alice.create_room([BOT], direct=True)
    await alice.wait_joined(room, BOT)
    answer = await alice.ask(room, BOT, "!link 8947000000000000020 DEMO20 mom")
    assert catalog_text("en", "link.done", label="mom") in answer.body, answer.body
    await alice.client.room_invite(room, BOB)
    await bob.accept_invite(room)
    await alice.wait_joined(room, BOB)
    bob.mark_read(room)

    await bob.say(room, "!renew mom")
    answer = await bob.reply_from(room, BOT)
    assert catalog_text("en", "error.owner_or_admin", label="mom") in answer.body, answer.body
