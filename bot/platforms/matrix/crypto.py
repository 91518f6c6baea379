"""Messages the bot could not decrypt, and what it tells their sender.

A room key often arrives a sync after the message it opens, so an undecryptable event
waits ``key_grace`` seconds, is retried after every sync, and only then gets a
plain-language notice on how to fix it. In a direct room every such message gets its notice:
each one is a command, and silence would leave the person guessing. In a family room it is
at most one per person every ten minutes, so chatter the bot cannot read is not answered.
With encryption turned off, a message in an encrypted room is explained at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any, Protocol

from nio import AsyncClient, EncryptionError, MatrixRoom, MegolmEvent, ReactionEvent, RoomMessageText

from bot.platforms.matrix.rooms import Rooms

log = logging.getLogger(__name__)
QUIET_SECONDS = 600.0


class Host(Protocol):
    """What this needs of the Matrix platform (``bot.platforms.matrix``), named here so the
    two modules do not import each other."""

    client: AsyncClient

    def fresh(self, event: Any) -> bool: ...
    async def handle_event(self, room: MatrixRoom, event: RoomMessageText | ReactionEvent) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, None], room_id: str) -> None: ...
    def notice(self, room: MatrixRoom, sender: str, msgid: str, event_id: str | None) -> None: ...


class Undecryptable:
    def __init__(self, platform: Host, *, key_grace: float) -> None:
        self._p = platform
        self._grace = key_grace
        self._pending: dict[str, tuple[MatrixRoom, MegolmEvent]] = {}
        self._told: dict[tuple[str, str], float] = {}

    async def on_event(self, room: MatrixRoom, event: MegolmEvent) -> None:
        if not self._p.fresh(event):
            return
        if self._p.client.olm is None:
            self._explain(room, event, "matrix.encryption_off")
            return
        log.info("matrix: a message could not be decrypted yet; waiting %.0f s for its key", self._grace)
        self._pending[event.event_id] = (room, event)
        with contextlib.suppress(Exception):  # asking the sender's devices for the key is only a hope
            await self._p.client.request_room_key(event)
        asyncio.get_running_loop().call_later(self._grace, self._expire, event.event_id)

    async def on_sync(self) -> None:
        """Keys may have come with this sync: handle what can be read now."""
        for event_id in list(self._pending):
            await self._retry(event_id)

    async def _retry(self, event_id: str) -> bool:
        room, event = self._pending[event_id]
        try:
            clear: Any = self._p.client.decrypt_event(event)
        except (EncryptionError, AssertionError, LookupError):
            return False
        del self._pending[event_id]
        if isinstance(clear, (RoomMessageText, ReactionEvent)):
            clear.room_id = room.room_id
            await self._p.handle_event(room, clear)
        return True

    def _expire(self, event_id: str) -> None:
        async def check() -> None:
            if event_id in self._pending and not await self._retry(event_id):
                room, event = self._pending.pop(event_id)
                log.info("matrix: a message stayed undecryptable; telling its sender how to fix it")
                self._explain(room, event, "matrix.undecryptable")

        self._p.spawn(check(), "")

    def _explain(self, room: MatrixRoom, event: MegolmEvent, msgid: str) -> None:
        key, now = (room.room_id, event.sender), time.monotonic()
        if Rooms.is_group(room):
            if now - self._told.get(key, -QUIET_SECONDS) < QUIET_SECONDS:
                return
            self._told[key] = now
        self._p.notice(room, event.sender, msgid, event.event_id)
