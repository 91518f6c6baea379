"""Sending on Matrix: a room or a user's DM, homeserver answers mapped onto the delivery
errors the outbox understands, and the choice lists offered per room.

``M_LIMIT_EXCEEDED``/``retry_after_ms`` -> ``RetryLater`` (nio is told not to sleep on a
429 itself, so the outbox decides); network faults -> ``RetryLater``; a room the bot is
not in or may not post to -> ``TargetGone``; any other refusal -> ``Undeliverable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import ClientError
from nio import AsyncClient, LocalProtocolError, RoomSendResponse, SendRetryError, UploadResponse

from bot.messages import Address, Choice, Picture, Reply, SendKind
from bot.platforms.base import Lru, RetryLater, TargetGone, Undeliverable
from bot.platforms.matrix import render as render
from bot.platforms.matrix.rooms import Rooms

log = logging.getLogger(__name__)
NETWORK_ERRORS = (ClientError, OSError, TimeoutError)
MAX_OFFERS = 20_000  # lists remembered for answers, across all rooms (a few hundred bytes each)
DM_WAIT = 10.0


class Sender:
    def __init__(
        self, client: AsyncClient, rooms: Rooms, *, ready: Callable[[], bool], synced: Callable[[], asyncio.Event]
    ) -> None:
        self._client, self._rooms = client, rooms
        self._ready, self._synced = ready, synced
        self._offers: Lru[str, tuple[str, tuple[str, ...]]] = Lru(MAX_OFFERS)  # event -> (room, commands)
        self._last: Lru[str, str] = Lru(MAX_OFFERS)  # room -> the event of the newest list offered there

    # --- choices: !1 picks from the newest list in a room, a 1️⃣ reaction from the list it is on ---

    def chosen(self, room_id: str, number: int, *, reacted_to: str | None = None) -> str | None:
        """The command behind choice ``number``; None when that list or number is unknown (the
        ``MAX_OFFERS`` lists last sent or used are remembered, so a reaction to an older one works)."""
        offer = self._offers.get(reacted_to or self._last.get(room_id) or "")
        if offer is None or offer[0] != room_id or not 1 <= number <= len(offer[1]):
            return None
        return offer[1][number - 1]

    def forget(self, room_id: str) -> None:
        self._last.pop(room_id)
        for event_id, (room, _commands) in self._offers.items():
            if room == room_id:
                self._offers.pop(event_id)

    def offer(self, room_id: str, event_id: str, choices: Sequence[Choice]) -> None:
        """Remember the choices just sent in a room (event ``event_id``) as the ones to answer."""
        self._offers.put(event_id, (room_id, tuple(c.command for c in choices[: render.MAX_CHOICES])))
        self._last.put(room_id, event_id)

    # --- sending -----------------------------------------------------------------------------

    async def answer(
        self,
        to: Address,
        reply: Reply,
        *,
        in_reply_to: str | None = None,
        thread: str | None = None,
        kind: SendKind = SendKind.REPLY,
    ) -> None:
        """Send an answer to a command now, waiting out a short rate limit up to three times."""
        for attempt in range(3):
            try:
                await self.send(to, reply, kind=kind, in_reply_to=in_reply_to, thread=thread)
                return
            except RetryLater as exc:
                if attempt == 2 or exc.retry_after > 30:
                    raise
                await asyncio.sleep(exc.retry_after)

    async def send(
        self, to: Address, reply: Reply, *, kind: SendKind, in_reply_to: str | None = None, thread: str | None = None
    ) -> None:
        if not self._ready():
            raise RetryLater(5.0, "matrix is not connected yet")
        room_id = await self._room_for(to)
        room = self._client.rooms.get(room_id)
        name = room.user_name(reply.mention) if room is not None and reply.mention else None
        content = render.reply_content(reply, kind=kind, in_reply_to=in_reply_to, thread=thread, mention_name=name)
        # An alert retried after a lost response keeps its transaction id, so the homeserver drops the copy.
        tx_id = None
        if kind == SendKind.ALERT:
            tx_id = "alert-" + hashlib.sha256(f"{room_id}\n{content['body']}".encode()).hexdigest()[:32]
        if reply.picture is not None:  # the chart first, then its summary with the choices
            try:
                await self._send_picture(room_id, reply.picture, encrypted=room is not None and room.encrypted)
            except Undeliverable:  # a refused upload (too large, media off): the summary still goes
                log.warning("Matrix refused a picture; sending its text alone")
        event_id = await self._room_send(room_id, content, tx_id)
        if reply.choices:
            self.offer(room_id, event_id, reply.choices)

    async def _send_picture(self, room_id: str, picture: Picture, *, encrypted: bool) -> None:
        """Upload the PNG (encrypted for an end-to-end encrypted room) and post it as ``m.image``."""
        try:
            resp, keys = await self._client.upload(
                io.BytesIO(picture.png),
                content_type="image/png",
                filename=picture.name,
                encrypt=encrypted,
                filesize=len(picture.png),
            )
        except NETWORK_ERRORS as exc:
            raise RetryLater(5.0, f"network: {type(exc).__name__}") from exc
        if not isinstance(resp, UploadResponse):
            raise_for(resp.status_code, resp.retry_after_ms)
        await self._room_send(room_id, render.image_content(picture, resp.content_uri, keys if encrypted else None), None)

    async def _room_for(self, to: Address) -> str:
        if not to.chat.startswith("@"):
            if to.chat in self._rooms.gone:
                raise TargetGone("the bot is no longer in that room")
            return to.chat
        room_id = self._rooms.find_dm(to.chat) or await self._rooms.open_dm(to.chat)
        if room_id is None:
            raise TargetGone("no direct room with that user")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DM_WAIT
        while room_id not in self._client.rooms and loop.time() < deadline:  # a new room is known after a sync
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._synced().wait(), max(0.1, deadline - loop.time()))
        return room_id

    async def _room_send(self, room_id: str, content: dict[str, Any], tx_id: str | None) -> str:
        try:
            resp = await self._client.room_send(room_id, "m.room.message", content, tx_id=tx_id, ignore_unverified_devices=True)
        except NETWORK_ERRORS as exc:
            raise RetryLater(5.0, f"network: {type(exc).__name__}") from exc
        except SendRetryError as exc:
            raise RetryLater(5.0, "room members or keys not synced yet") from exc
        except LocalProtocolError as exc:
            raise TargetGone("the bot is not in that room") from exc
        if isinstance(resp, RoomSendResponse):
            return str(resp.event_id)
        return raise_for(resp.status_code, resp.retry_after_ms)


def raise_for(code: str | None, retry_after_ms: int | None) -> str:
    """Map a homeserver's refusal onto the outbox's delivery errors (always raises)."""
    if code == "M_LIMIT_EXCEEDED" or retry_after_ms:
        raise RetryLater((retry_after_ms or 5000) / 1000, "rate limited")
    if code == "M_FORBIDDEN":
        raise TargetGone("not allowed to post in that room")
    if code in (None, "M_UNKNOWN", "M_UNKNOWN_TOKEN"):
        raise RetryLater(10.0, f"homeserver error {code}")
    raise Undeliverable(f"homeserver refused the message: {code}")
