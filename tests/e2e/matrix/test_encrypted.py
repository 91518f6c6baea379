"""Encrypted rooms: the round trip works end to end encrypted, and a message the bot cannot
decrypt gets a plain-language answer on how to fix it (from the catalogs)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.matrix.conftest import BOT, MatrixBot, catalog_text
from tests.e2e.matrix.human import Human

pytestmark = pytest.mark.e2e


async def test_encrypted_room_round_trip(start_bot: Callable[..., MatrixBot], alice: Human) -> None:
    start_bot(e2ee=True)
    room = await alice.create_room([BOT], direct=True, encrypted=True)
    await alice.wait_joined(room, BOT)
    assert alice.client.rooms[room].encrypted

    answer = await alice.ask(room, BOT, "!link 8947000000000000020 DEMO20 mom")
    assert answer.decrypted, "the bot's reply came encrypted and the human decrypted it"
    assert catalog_text("en", "link.done", label="mom") in answer.body, answer.body
    answer = await alice.ask(room, BOT, "!balance")
    assert answer.decrypted and "mom" in answer.body
    offer = await alice.ask(room, BOT, "!renew")
    assert offer.decrypted and catalog_text("en", "renew.choose", label="mom") in offer.body
    confirm = await alice.ask(room, BOT, "!1")
    assert catalog_text("en", "renew.confirm", label="mom") in confirm.body, confirm.body
    done = await alice.ask(room, BOT, "!1")
    assert done.decrypted and catalog_text("en", "renew.done", label="mom") in done.body, done.body
    assert alice.undecryptable_in(room) == [], "every message of the bot could be decrypted"


async def test_undecryptable_message_gets_advice(start_bot: Callable[..., MatrixBot], alice: Human) -> None:
    start_bot(e2ee=True)
    room = await alice.create_room([BOT], direct=True, encrypted=True)
    await alice.wait_joined(room, BOT)
    assert alice.client.olm is not None
    content = {  # a megolm message whose session the bot never got a key for
        "algorithm": "m.megolm.v1.aes-sha2",
        "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg2yyOwAt",
        "sender_key": alice.client.olm.account.identity_keys["curve25519"],
        "device_id": alice.client.device_id,
        "session_id": secrets.token_urlsafe(32),
    }
    url = f"{alice.client.homeserver}/_matrix/client/v3/rooms/{room}/send/m.room.encrypted/{secrets.token_hex(8)}"
    async with httpx.AsyncClient() as http:
        resp = await http.put(url, json=content, headers={"Authorization": f"Bearer {alice.client.access_token}"})
    resp.raise_for_status()
    event_id = resp.json()["event_id"]

    answer = await alice.reply_from(room, BOT, deadline=30)  # after the bot's grace period for late keys
    assert answer.body == catalog_text("en", "matrix.undecryptable"), answer.body
    assert answer.content["m.relates_to"]["m.in_reply_to"]["event_id"] == event_id


async def test_encrypted_room_with_encryption_off(start_bot: Callable[..., MatrixBot], alice: Human) -> None:
    start_bot(e2ee=False)
    room = await alice.create_room([BOT], direct=True, encrypted=True)
    await alice.wait_joined(room, BOT)
    answer = await alice.ask(room, BOT, "!start")
    assert answer.body == catalog_text("en", "matrix.encryption_off"), answer.body


async def test_restart_keeps_the_device_and_its_keys(start_bot: Callable[..., MatrixBot], alice: Human) -> None:
    first = start_bot(e2ee=True)
    room = await alice.create_room([BOT], direct=True, encrypted=True)
    await alice.wait_joined(room, BOT)
    assert (await alice.ask(room, BOT, "!link 8947000000000000020 DEMO20 mom")).decrypted
    device = json.loads((first.store / "session.json").read_text())["device_id"]
    first.stop()

    assert f"matrix: signed device {device} with the bot's identity" in first.log_text()
    second = start_bot(e2ee=True, data=first.store.parent)
    assert f"matrix: resumed session of {BOT} on device {device}" in second.log_text()
    text = second.wait_log(f"matrix: device {device} is signed by the bot's identity")
    assert "uploaded the bot's cross-signing identity" not in text, "a restart keeps the identity"
    answer = await alice.ask(room, BOT, "!balance")
    assert answer.decrypted and "mom" in answer.body, answer.body
    assert alice.undecryptable_in(room) == []
