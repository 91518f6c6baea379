"""Room life: invites from outside MATRIX_ALLOWED are declined; a bot removed from a family
room stops that household's alerts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from nio import RoomKickResponse

from bot.store import TinyDBStore
from tests.e2e.matrix.conftest import BOB, BOT, MatrixBot, catalog_text
from tests.e2e.matrix.human import Human
from tests.storeview import StoreView

pytestmark = pytest.mark.e2e


async def test_kicked_bot_stops_the_rooms_alerts(start_bot: Callable[..., MatrixBot], alice: Human, bob: Human) -> None:
    bot = start_bot()
    room = await alice.create_room([BOT, BOB], name="Family")
    await bob.accept_invite(room)
    await alice.wait_joined(room, BOT)
    answer = await alice.ask(room, BOT, "!link 8947000000000000020 DEMO20 mom")
    assert catalog_text("en", "link.done", label="mom") in answer.body, answer.body

    assert isinstance(await alice.client.room_kick(room, BOT, "testing"), RoomKickResponse)
    bot.wait_log("matrix: the bot left or was removed from a room; its alerts stop")
    bot.stop()
    store = StoreView(TinyDBStore(str(bot.store.parent / "bot.json")))
    try:
        household = store.household(f"matrix:{room}")
        assert household is not None and household.active is False
    finally:
        store.close()


async def test_invites_from_outside_matrix_allowed_are_declined(
    start_bot: Callable[..., MatrixBot], alice: Human, bob: Human
) -> None:
    start_bot(MATRIX_ALLOWED="@bob:localhost,example.org")
    declined = await alice.create_room([BOT], direct=True)
    accepted = await bob.create_room([BOT], direct=True)
    await bob.wait_joined(accepted, BOT)
    answer = await bob.ask(accepted, BOT, "!start")
    assert "!link" in answer.body

    def bot_left() -> bool:
        room = alice.client.rooms.get(declined)
        return room is not None and BOT not in room.users

    await alice.until(bot_left, "the bot to decline alice's invite")
