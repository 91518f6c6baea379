"""The person uses Element's own crypto (matrix-js-sdk + Rust crypto) with "exclude insecure
devices" on, as Element does by default: the bot's device must be cross-signed by the bot
for the person's messages to reach it and for its answers to be readable, before and after
a restart."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.matrix.conftest import ALICE, BOT, PASSWORDS, MatrixBot, catalog_text
from tests.e2e.matrix.element import ElementPerson
from tests.e2e.matrix.synapse import Synapse

pytestmark = pytest.mark.e2e


@pytest.fixture
def element(synapse: Synapse, tmp_path: Path) -> Iterator[ElementPerson]:
    person = ElementPerson(synapse.base, ALICE, PASSWORDS[ALICE], tmp_path / "element.log")
    try:
        yield person
    finally:
        person.stop()


def ask(person: ElementPerson, room: str, text: str) -> str:
    """The bot's answer to ``text``, decrypted by the person, or fail with why it could not be."""
    answer = person.call("ask", room_id=room, to=BOT, text=text)
    assert answer["body"] is not None, f"the person could not decrypt the bot's answer: {answer['failures']}"
    assert answer["encrypted"], "the answer came encrypted"
    return str(answer["body"])


def assert_bot_device_signed(person: ElementPerson, device: str) -> set[str]:
    """Check the person sees ``device`` as signed by the bot; returns every device of the bot it knows."""
    devices = person.call("devices", member=BOT)["devices"]
    assert devices.get(device, {}).get("signed_by_owner") is True, f"the bot's device {device} is not cross-signed: {devices}"
    return set(devices)


def test_element_with_insecure_devices_excluded_talks_to_the_bot(
    start_bot: Callable[..., MatrixBot], element: ElementPerson
) -> None:
    first = start_bot(e2ee=True)
    device = json.loads((first.store / "session.json").read_text())["device_id"]
    first.wait_log(f"matrix: signed device {device} with the bot's identity")
    room = element.call("create_room", invite=[BOT])["room_id"]
    element.call("wait_joined", room_id=room, member=BOT)
    before = assert_bot_device_signed(element, device)

    assert catalog_text("en", "link.done", label="mom") in ask(element, room, "!link 8947000000000000020 DEMO20 mom")
    assert "mom" in ask(element, room, "!balance")
    first.stop()

    second = start_bot(e2ee=True, data=first.store.parent)
    second.wait_log(f"matrix: device {device} is signed by the bot's identity")
    assert assert_bot_device_signed(element, device) == before, "a restart adds no device"
    assert "mom" in ask(element, room, "!balance"), "after a restart the same device still reads and answers"


def test_a_message_the_bot_cannot_read_gets_a_readable_answer_every_time(
    start_bot: Callable[..., MatrixBot], element: ElementPerson
) -> None:
    start_bot(e2ee=True)
    room = element.call("create_room", invite=[BOT])["room_id"]
    element.call("wait_joined", room_id=room, member=BOT)
    told = catalog_text("en", "matrix.undecryptable")
    for attempt in range(2):  # the second is not swallowed by a quiet period: each is a command
        answer = element.call("garbled", room_id=room, to=BOT)
        assert answer["body"] == told, f"attempt {attempt}: {answer}"
        hello = catalog_text("en", "start.hello", name="alice")
        assert hello in ask(element, room, "!start"), "the next command is answered as usual"
