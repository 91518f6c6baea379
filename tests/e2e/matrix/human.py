"""A person on Matrix, driven by a nio client: create rooms, talk, react, read the bot's answers.

Every wait has a deadline (``sync`` with a 500 ms server timeout in a loop), so a silent
bot fails a test instead of hanging it. Encrypted clients do nio's key housekeeping after
each sync, as ``sync_forever`` would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadResponse,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomEncryptedImage,
    RoomMessageImage,
    RoomMessageNotice,
    RoomMessageText,
    RoomSendResponse,
)
from nio.crypto.attachments import decrypt_attachment

DEADLINE = 20.0


@dataclass
class Said:
    """One message the human saw: who sent it, what, and the raw content."""

    room_id: str
    sender: str
    event_id: str
    body: str
    content: dict[str, Any]
    decrypted: bool

    @property
    def msgtype(self) -> str:
        return str(self.content.get("msgtype", ""))


class Human:
    def __init__(self, base: str, user_id: str, password: str, store: Path, *, encrypted: bool = False) -> None:
        store.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(encryption_enabled=encrypted, store_sync_tokens=False)
        self.client = AsyncClient(base, user_id, store_path=str(store), config=config)
        self.user_id, self._password, self.encrypted = user_id, password, encrypted
        self.seen: list[Said] = []
        self.undecryptable: list[tuple[str, MegolmEvent]] = []
        self._read: dict[str, int] = {}
        self.joining: set[str] = set()

    async def __aenter__(self) -> Human:
        resp = await self.client.login(self._password, device_name="test-human")
        assert isinstance(resp, LoginResponse), resp
        self.client.add_event_callback(
            self._on_message,
            (
                RoomMessageText,
                RoomMessageNotice,
                RoomMessageImage,
                RoomEncryptedImage,
            ),
        )
        self.client.add_event_callback(self._on_megolm, MegolmEvent)
        await self.sync(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()

    async def _on_message(self, room: MatrixRoom, event: RoomMessageText | RoomMessageNotice) -> None:
        self.seen.append(
            Said(
                room.room_id,
                event.sender,
                event.event_id,
                event.body,
                dict(event.source.get("content", {})),
                bool(event.decrypted),
            )
        )

    async def picture(self, said: Said) -> bytes:
        """The bytes of an ``m.image`` the bot sent, downloaded (and decrypted when it came encrypted)."""
        file = said.content.get("file")
        url = file["url"] if file else said.content["url"]
        resp = await self.client.download(url)
        assert isinstance(resp, DownloadResponse), resp
        if not file:
            return bytes(resp.body)
        return bytes(decrypt_attachment(resp.body, file["key"]["k"], file["hashes"]["sha256"], file["iv"]))

    async def _on_megolm(self, room: MatrixRoom, event: MegolmEvent) -> None:
        self.undecryptable.append((room.room_id, event))

    def undecryptable_in(self, room_id: str) -> list[MegolmEvent]:
        return [event for where, event in self.undecryptable if where == room_id]

    async def sync(self, timeout_ms: int = 500) -> None:
        c = self.client
        for room_id in list(self.joining):  # invites a test chose to accept
            self.joining.discard(room_id)
            await c.join(room_id)
        await c.sync(timeout=timeout_ms)
        if self.encrypted:
            if c.should_upload_keys:
                await c.keys_upload()
            if c.should_query_keys:
                await c.keys_query()
            if c.should_claim_keys:
                await c.keys_claim(c.get_users_for_key_claiming())
            await c.send_to_device_messages()

    async def until(self, probe: Callable[[], Any], what: str, deadline: float = DEADLINE) -> Any:
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while True:
            result = probe()
            if result is not None and result is not False:
                return result
            if loop.time() > end:
                raise AssertionError(f"{self.user_id}: timed out after {deadline:.0f} s waiting for {what}")
            await self.sync()

    # --- rooms -------------------------------------------------------------------------------

    async def create_room(
        self,
        invite: list[str],
        *,
        name: str | None = None,
        direct: bool = False,
        encrypted: bool = False,
        version: str | None = None,
        power: dict[str, int] | None = None,
    ) -> str:
        state = (
            [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]
            if encrypted
            else []
        )
        resp = await self.client.room_create(
            name=name,
            invite=invite,
            is_direct=direct,
            initial_state=state,
            room_version=version,
            power_level_override={"users": power} if power else None,
        )
        assert isinstance(resp, RoomCreateResponse), resp
        return str(resp.room_id)

    async def wait_joined(self, room_id: str, user: str) -> None:
        def joined() -> bool:
            room = self.client.rooms.get(room_id)
            return room is not None and user in room.users and not room.users[user].invited

        await self.until(joined, f"{user} to join {room_id}")

    async def accept_invite(self, room_id: str) -> None:
        await self.until(lambda: room_id in self.client.invited_rooms, f"an invite to {room_id}")
        await self.client.join(room_id)
        await self.until(
            lambda: room_id in self.client.rooms and self.user_id in self.client.rooms[room_id].users, f"joining {room_id}"
        )

    # --- talking -----------------------------------------------------------------------------

    async def say(self, room_id: str, text: str, **extra: Any) -> str:
        content = {"msgtype": "m.text", "body": text, **extra}
        resp = await self.client.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
        assert isinstance(resp, RoomSendResponse), resp
        return str(resp.event_id)

    async def send_raw(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        resp = await self.client.room_send(room_id, event_type, content)
        assert isinstance(resp, RoomSendResponse), resp
        return str(resp.event_id)

    async def react(self, room_id: str, event_id: str, key: str) -> None:
        await self.send_raw(
            room_id, "m.reaction", {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        )

    def mark_read(self, room_id: str) -> None:
        """Everything seen so far in the room counts as read (history shown on joining)."""
        for sender in {s.sender for s in self.seen if s.room_id == room_id}:
            self._read[room_id + sender] = sum(1 for s in self.seen if s.room_id == room_id and s.sender == sender)

    async def reply_from(self, room_id: str, sender: str, deadline: float = DEADLINE) -> Said:
        """The next message from ``sender`` in the room that this human has not read yet."""

        def next_one() -> Said | None:
            mine = [s for s in self.seen if s.room_id == room_id and s.sender == sender]
            i = self._read.get(room_id + sender, 0)
            if i < len(mine):
                self._read[room_id + sender] = i + 1
                return mine[i]
            return None

        result: Said = await self.until(next_one, f"a message from {sender} in {room_id}", deadline)
        return result

    async def ask(self, room_id: str, bot: str, text: str) -> Said:
        """Say ``text`` and return the bot's answer."""
        await self.say(room_id, text)
        return await self.reply_from(room_id, bot)
