"""What comes in from Matrix: invites, messages, reactions and late-decrypted events, each
command handled in its own task, in order per room; and the notices the bot sends back.

Only events from after the start are handled, and never the bot's own (``fresh``). The
platform (``platform.py``) owns the session and the sync; this owns what a sync delivers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any

from nio import AsyncClient, InviteMemberEvent, JoinResponse, MatrixRoom, ReactionEvent, RoomMessageText

from bot.messages import Address, Incoming, Reply
from bot.names import PlatformName
from bot.platforms.base import DeliveryError, Handler, PerChat
from bot.platforms.matrix import render as render
from bot.platforms.matrix.rooms import Rooms, SeenEvents, invite_allowed
from bot.platforms.matrix.send import Sender

log = logging.getLogger(__name__)
NAME = PlatformName.MATRIX
Explain = Callable[..., Awaitable[str]]  # (address, msgid, **params) -> the notice in the reader's language


def private_address(user: str) -> Address:
    """A user's private chat is resolved when sent to: an existing DM room, else a new one."""
    return Address(NAME, user, user)


class Intake:
    def __init__(
        self,
        client: AsyncClient,
        rooms: Rooms,
        sender: Sender,
        *,
        now: Callable[[], datetime],
        allowed: Sequence[str],
        explain: Explain | None,
    ) -> None:
        self.client, self._rooms, self._sender = client, rooms, sender
        self._now, self._allowed, self._explain = now, tuple(allowed), explain
        self.handler: Handler | None = None
        self.live_since_ms = 0
        self._seen = SeenEvents()
        self._in_order = PerChat()  # one message at a time per room, locks freed when idle
        self.tasks: set[asyncio.Task[Any]] = set()

    def fresh(self, event: Any) -> bool:
        """An event to act on: someone else's, sent after the start, not seen before."""
        if event.sender == self.client.user_id or event.server_timestamp < self.live_since_ms:
            return False
        return self._seen.first_time(event.event_id)

    async def on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key != self.client.user_id or event.membership != "invite":
            return
        if not invite_allowed(event.sender, self._allowed):
            log.info("matrix: declined an invite from a user outside MATRIX_ALLOWED")
            await self.client.room_leave(room.room_id)
            return
        resp = await self.client.join(room.room_id)
        if isinstance(resp, JoinResponse):
            self._rooms.gone.discard(room.room_id)
        else:
            log.warning("matrix: could not join a room: %s", getattr(resp, "status_code", "error"))

    async def on_text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if self.fresh(event):
            await self._text(room, event)

    async def on_reaction(self, room: MatrixRoom, event: ReactionEvent) -> None:
        if self.fresh(event):
            self._reaction(room, event)

    async def handle_event(self, room: MatrixRoom, event: RoomMessageText | ReactionEvent) -> None:
        """An event decrypted late (its key came after it): handle it like a fresh one."""
        if isinstance(event, ReactionEvent):
            self._reaction(room, event)
        else:
            await self._text(room, event)

    async def _text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        content = event.source.get("content", {})
        if render.is_edit(content):
            return
        me = self.client.user_id
        names = (me, me.lstrip("@").split(":", 1)[0], room.user_name(me) or "")
        text = render.message_text(content, own_names=names)
        number = render.pick_number(text)
        if number is not None:
            text = self._sender.chosen(room.room_id, number) or text
        self.dispatch(room, event.sender, text, event.event_id, render.thread_root(content))

    def _reaction(self, room: MatrixRoom, event: ReactionEvent) -> None:
        number = render.pick_reaction(event.key)
        command = self._sender.chosen(room.room_id, number, reacted_to=event.reacts_to) if number else None
        if command is not None:
            self.dispatch(room, event.sender, command, None, None)

    def dispatch(self, room: MatrixRoom, sender: str, text: str, event_id: str | None, thread: str | None) -> None:
        """Handle one message in its own task, after the earlier ones of the same room."""
        self.spawn(self._handle(room, sender, text, event_id, thread), room.room_id)

    def spawn(self, coro: Coroutine[Any, Any, None], room_id: str) -> None:
        async def in_order() -> None:
            async with self._in_order(room_id):
                await coro

        task = asyncio.create_task(in_order())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _handle(self, room: MatrixRoom, sender: str, text: str, event_id: str | None, thread: str | None) -> None:
        assert self.handler is not None
        try:
            group = self._rooms.is_group(room)
            incoming = Incoming(
                address=Address(NAME, room.room_id, sender),
                text=text,
                at=self._now(),
                is_group=group,
                is_admin=not group or await self._rooms.is_admin(room, sender),
                display_name=(room.user_name(sender) or sender)[:64],
                # the room's own name (display_name's first choice), not nio's English "Alice and 2 others"
                chat_title=(room.named_room_name() or "") if group else "",
            )
            for reply in await self.handler(incoming):
                target = reply.to or incoming.address  # the router resolved it
                here = target.chat == room.room_id
                await self._sender.answer(target, reply, in_reply_to=event_id if here else None, thread=thread if here else None)
        except DeliveryError as exc:
            log.warning("matrix: an answer could not be delivered: %s", type(exc).__name__)
        except Exception:
            log.exception("matrix: a message could not be handled")

    def notice(self, room: MatrixRoom, sender: str, msgid: str, event_id: str | None) -> None:
        """A platform notice (from the catalogs, in the reader's language) as a reply to an event."""
        if self._explain is None:
            return
        address = Address(NAME, room.room_id, sender)
        explain = self._explain

        async def send() -> None:
            try:
                text = await explain(address, msgid)
                await self._sender.answer(address, Reply(text), in_reply_to=event_id)
            except Exception as exc:
                log.warning("matrix: a notice could not be sent: %s", type(exc).__name__)

        self.spawn(send(), room.room_id)
