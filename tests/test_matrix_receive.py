"""Matrix events -> Incoming, through the platform's own callbacks (no homeserver needed):
reply fallbacks stripped, formatted bodies and mention pills, edits, own, old and repeated
events ignored, families and admins (room version 12 creators), choices by number or reaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nio import MatrixRoom, ReactionEvent, RoomMessageText

from bot.messages import Choice, Incoming, Reply
from bot.platforms.matrix.platform import MatrixPlatform

BOT, ALICE, BOB = "@bot:localhost", "@alice:localhost", "@bob:localhost"
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
START_MS = 1_000_000
KEYCAP_2 = "2\ufe0f\u20e3"


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Incoming] = []

    async def __call__(self, incoming: Incoming) -> list[Reply]:
        self.seen.append(incoming)
        return []


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[MatrixPlatform]:
    p = MatrixPlatform(
        homeserver="http://127.0.0.1:9",
        user=BOT,
        password="unused",
        access_token=None,
        store_path=tmp_path / "store",
        e2ee=False,
        now=lambda: NOW,
        wall=lambda: START_MS / 1000,
    )
    p.client.user_id = BOT
    yield p
    await p.stop()


@pytest.fixture
async def got(platform: MatrixPlatform) -> Recorder:
    recorder = Recorder()
    await platform.start(recorder)
    return recorder


def room(*members: tuple[str, str], room_id: str = "!r:localhost", version: str = "11") -> MatrixRoom:
    r = MatrixRoom(room_id, BOT)
    r.room_version = version
    r.add_member(BOT, "esimbot", None)
    for user, name in members:
        r.add_member(user, name, None)
    return r


_n = 0


def text_event(content: dict[str, Any], *, sender: str = ALICE, ts: int = START_MS + 5) -> RoomMessageText:
    global _n
    _n += 1
    event = RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "event_id": f"$e{_n}",
            "sender": sender,
            "origin_server_ts": ts,
            "content": {"msgtype": "m.text", **content},
        }
    )
    assert isinstance(event, RoomMessageText)
    return event


async def deliver(platform: MatrixPlatform, r: MatrixRoom, event: Any) -> None:
    for callback in platform.client.event_callbacks:
        if isinstance(event, callback.filter):
            await callback.func(r, event)
    await platform.drain()


async def test_command_in_a_direct_room(platform: MatrixPlatform, got: Recorder) -> None:
    r = room((ALICE, "Alice"))
    await deliver(platform, r, text_event({"body": "!balance"}))
    [incoming] = got.seen
    assert incoming.text == "!balance" and incoming.command is None  # the router parses
    assert (incoming.address.platform, incoming.address.chat, incoming.address.user) == ("matrix", r.room_id, ALICE)
    assert incoming.is_group is False and incoming.is_admin is True
    assert incoming.display_name == "Alice" and incoming.at == NOW


async def test_reply_fallback_is_stripped(platform: MatrixPlatform, got: Recorder) -> None:
    body = "> <@bot:localhost> Top-ups for mom:\n> 1️⃣ !1 · 1 GB\n\n!renew mom"
    await deliver(
        platform, room((ALICE, "Alice")), text_event({"body": body, "m.relates_to": {"m.in_reply_to": {"event_id": "$offer"}}})
    )
    assert [i.text for i in got.seen] == ["!renew mom"]


async def test_formatted_body_and_mention_pill(platform: MatrixPlatform, got: Recorder) -> None:
    r = room((ALICE, "Alice"))
    pill = '<a href="https://matrix.to/#/@bot:localhost">esimbot</a>: <code>!balance</code>'
    await deliver(
        platform, r, text_event({"body": "esimbot: !balance", "format": "org.matrix.custom.html", "formatted_body": pill})
    )
    await deliver(platform, r, text_event({"body": "@bot:localhost !lines"}))
    only_html = "<mx-reply><blockquote>old</blockquote></mx-reply><p>!help&nbsp;renew</p>"
    await deliver(platform, r, text_event({"body": "", "format": "org.matrix.custom.html", "formatted_body": only_html}))
    assert [i.text for i in got.seen] == ["!balance", "!lines", "!help\xa0renew"]


async def test_edits_own_old_and_repeated_events_are_ignored(platform: MatrixPlatform, got: Recorder) -> None:
    r = room((ALICE, "Alice"))
    edit = {
        "body": "* !renew",
        "m.new_content": {"msgtype": "m.text", "body": "!renew"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"},
    }
    await deliver(platform, r, text_event(edit))
    await deliver(platform, r, text_event({"body": "!balance"}, sender=BOT))
    await deliver(platform, r, text_event({"body": "!balance"}, ts=START_MS - 1))
    twice = text_event({"body": "!lines"})
    await deliver(platform, r, twice)
    await deliver(platform, r, twice)
    assert [i.text for i in got.seen] == ["!lines"]


async def test_family_admins_by_power_level(platform: MatrixPlatform, got: Recorder) -> None:
    r = room((ALICE, "Alice"), (BOB, "Bob"))
    r.power_levels.users[ALICE] = 100
    await deliver(platform, r, text_event({"body": "!cap 500 NOK"}, sender=ALICE))
    await deliver(platform, r, text_event({"body": "!cap 500 NOK"}, sender=BOB))
    assert [(i.is_group, i.is_admin) for i in got.seen] == [(True, True), (True, False)]


async def test_a_group_room_carries_its_name_and_a_direct_room_none(platform: MatrixPlatform, got: Recorder) -> None:
    r = room((ALICE, "Alice"), (BOB, "Bob"), room_id="!g:localhost")
    r.name = "Hansen family"
    await deliver(platform, r, text_event({"body": "!family"}))
    await deliver(platform, room((ALICE, "Alice")), text_event({"body": "!family"}))
    unnamed = room((ALICE, "Alice"), (BOB, "Bob"), room_id="!u:localhost")  # nio would call it "Alice and Bob", in English
    await deliver(platform, unnamed, text_event({"body": "!family"}))
    assert [i.chat_title for i in got.seen] == ["Hansen family", "", ""]


async def test_room_version_12_creators_are_admins(platform: MatrixPlatform, got: Recorder) -> None:
    r = room((ALICE, "Alice"), (BOB, "Bob"), version="12")
    create = {"type": "m.room.create", "sender": ALICE, "content": {"room_version": "12", "additional_creators": [BOB]}}
    platform.rooms.note_state(r.room_id, [type("Ev", (), {"source": create})()])
    assert r.power_levels.get_user_level(ALICE) == 0  # what nio says
    await deliver(platform, r, text_event({"body": "!cap 1 NOK"}, sender=ALICE))
    await deliver(platform, r, text_event({"body": "!cap 1 NOK"}, sender=BOB))
    assert [i.is_admin for i in got.seen] == [True, True]


async def test_choices_answered_by_number_or_reaction(platform: MatrixPlatform, got: Recorder) -> None:
    r = room((ALICE, "Alice"), (BOB, "Bob"))
    platform.sender.offer(r.room_id, "$offer", (Choice("1 GB", "!buy l1 p1"), Choice("5 GB", "!buy l1 p5")))
    await deliver(platform, r, text_event({"body": "!2"}, sender=ALICE))
    await deliver(platform, r, text_event({"body": "!7"}, sender=ALICE))  # not offered: the router explains
    for target, key in (("$offer", KEYCAP_2), ("$other", KEYCAP_2), ("$offer", "👍"), ("$offer", "1\u20e3")):
        reaction = ReactionEvent.from_dict(
            {
                "type": "m.reaction",
                "event_id": f"$x{target}{key}",
                "sender": BOB,
                "origin_server_ts": START_MS + 9,
                "content": {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}},
            }
        )
        await deliver(platform, r, reaction)
    assert [(i.text, i.address.user) for i in got.seen] == [
        ("!buy l1 p5", ALICE),
        ("!7", ALICE),
        ("!buy l1 p5", BOB),
        ("!buy l1 p1", BOB),
    ]


async def test_a_reaction_picks_from_the_list_it_is_on_even_after_a_newer_one(platform: MatrixPlatform, got: Recorder) -> None:
    """A balance's buttons, then an alert's: 2️⃣ on the balance still means its second choice,
    2️⃣ on the alert and !1 mean the alert's; a room the bot left forgets both."""
    r = room((ALICE, "Alice"), (BOB, "Bob"))
    platform.sender.offer(r.room_id, "$balance", (Choice("Top up", "!renew mom"), Choice("Chart", "!usage mom")))
    platform.sender.offer(r.room_id, "$alert", (Choice("Top up", "!renew dad"), Choice("Snooze", "!snooze dad")))
    for n, target in enumerate(("$balance", "$alert")):
        await deliver(
            platform,
            r,
            ReactionEvent.from_dict(
                {
                    "type": "m.reaction",
                    "event_id": f"$r{n}",
                    "sender": BOB,
                    "origin_server_ts": START_MS + 9,
                    "content": {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": KEYCAP_2}},
                }
            ),
        )
    await deliver(platform, r, text_event({"body": "!1"}, sender=ALICE))
    assert [i.text for i in got.seen] == ["!usage mom", "!snooze dad", "!renew dad"]
    assert platform.sender.chosen("!other:hs", 1, reacted_to="$alert") is None  # a list answers in its room only
    platform.sender.forget(r.room_id)
    assert platform.sender.chosen(r.room_id, 1) is None
    assert platform.sender.chosen(r.room_id, 1, reacted_to="$balance") is None
