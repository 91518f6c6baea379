"""The Matrix platform on matrix-nio: rooms are households, ``!`` commands, encrypted rooms.

``start`` only schedules the work: logging in (retried with backoff while the homeserver
is unreachable) and ``sync_forever`` run as one task in the shared loop, so Telegram and
the console are never held up by Matrix. Each command runs in its own task, in order per
room, so a slow provider never stalls the sync. Only events from after the start are
handled, and never the bot's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinResponse,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RoomMessageText,
    SyncError,
    SyncResponse,
)

from bot.messages import Address, Incoming, Reply, SendKind
from bot.names import PlatformName
from bot.platforms.base import ChatEvents, DeliveryError, Handler, RetryLater, SendLimits
from bot.platforms.matrix import render as render
from bot.platforms.matrix.crypto import Undecryptable
from bot.platforms.matrix.rooms import Rooms, SeenEvents, invite_allowed
from bot.platforms.matrix.send import NETWORK_ERRORS, Sender
from bot.platforms.matrix.session import Backoff, LoginFailed, Session, log_in, prepare_store
from bot.platforms.matrix.xsign import cross_sign
from bot.platforms.ordering import PerChat

log = logging.getLogger(__name__)
NAME = PlatformName.MATRIX
SYNC_TIMEOUT_MS = 30_000
Explain = Callable[..., Awaitable[str]]  # (address, msgid, **params) -> the notice in the reader's language


class MatrixPlatform:
    name = NAME
    # Synapse limits each sender (rc_message, by default 0.2/s with a burst of 10) and answers
    # M_LIMIT_EXCEEDED with retry_after_ms, which the outbox honours; these caps keep a
    # burst of alerts polite even on a homeserver that exempts the bot.
    limits = SendLimits(overall_per_second=10, per_chat_per_second=1, per_group_per_minute=60)

    def __init__(
        self,
        *,
        homeserver: str,
        user: str,
        password: str | None,
        access_token: str | None,
        store_path: Path,
        e2ee: bool,
        now: Callable[[], datetime],
        allowed: Sequence[str] = (),
        explain: Explain | None = None,
        events: ChatEvents | None = None,
        key_grace: float = 5.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._password, self._token = password, access_token
        self._store_path, self._e2ee, self._allowed = store_path, e2ee, tuple(allowed)
        self._now, self._wall, self._explain, self._events = now, wall, explain, events
        config = AsyncClientConfig(
            encryption_enabled=e2ee,
            store_sync_tokens=True,
            max_limit_exceeded=0,
            max_timeouts=2,
            request_timeout=SYNC_TIMEOUT_MS / 1000 + 30,
        )
        self.client = AsyncClient(homeserver, user, store_path=str(store_path), config=config)
        self.rooms = Rooms(self.client, encrypted_dms=e2ee)
        self._crypto = Undecryptable(self, key_grace=key_grace)
        self._handler: Handler | None = None
        self._session: Session | None = None
        self._live_since_ms = 0
        self._synced_once = False
        self._synced = asyncio.Event()
        self._sender = Sender(self.client, self.rooms, ready=lambda: self.ready, synced=lambda: self._synced)
        self._backoff = Backoff()
        self._seen = SeenEvents()
        self._in_order = PerChat()  # one message at a time per room, locks freed when idle
        self._tasks: set[asyncio.Task[Any]] = set()
        self._main: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        """Logged in and the first sync is in: rooms are known, sending can begin."""
        return self._session is not None and self._synced_once

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        self._live_since_ms = int(self._wall() * 1000)
        prepare_store(self._store_path)
        c = self.client
        c.add_event_callback(self._on_invite, InviteMemberEvent)  # type: ignore[arg-type]
        c.add_event_callback(self._on_text, RoomMessageText)  # type: ignore[arg-type]
        c.add_event_callback(self._on_reaction, ReactionEvent)  # type: ignore[arg-type]
        c.add_event_callback(self._crypto.on_event, MegolmEvent)  # type: ignore[arg-type]
        c.add_response_callback(self._on_sync, SyncResponse)  # type: ignore[arg-type]
        c.add_response_callback(self._on_sync_error, SyncError)  # type: ignore[arg-type]
        self._main = asyncio.create_task(self._run(), name="matrix")

    @property
    def sender(self) -> Sender:
        return self._sender

    async def drain(self) -> None:
        """Wait until every message received so far has been handled and answered."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop syncing, let commands in progress finish (up to 10 s), then close."""
        self.client.stop_sync_forever()
        if self._main is not None:
            self._main.cancel()
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            _done, late = await asyncio.wait(pending, timeout=10)
            for task in late:
                task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*[t for t in (self._main, *self._tasks) if t], return_exceptions=True), 5)
        await self.client.close()

    async def _run(self) -> None:
        while self._session is None:
            try:
                self._session = await log_in(
                    self.client, store=self._store_path, password=self._password, access_token=self._token
                )
            except LoginFailed as exc:
                log.error("matrix: %s. Matrix stays off until the bot is restarted with working credentials.", exc)
                return
            except Exception as exc:  # network or homeserver trouble: try again, slower and slower
                await self._pause("homeserver unreachable at login", exc)
        self._backoff.reset()
        if self._e2ee:  # before the first sync, so no room key goes out from an unsigned device
            await cross_sign(self.client, store=self._store_path, password=self._password)
        while True:
            try:
                await self.client.sync_forever(timeout=SYNC_TIMEOUT_MS, full_state=True)
                return
            except Exception as exc:
                await self._pause("lost the homeserver", exc)

    async def _pause(self, what: str, exc: Exception) -> None:
        if not isinstance(exc, NETWORK_ERRORS):
            log.exception("matrix: unexpected error")
        delay = self._backoff.next()
        log.warning("matrix: %s (%s); trying again in %.0f s", what, type(exc).__name__, delay)
        await asyncio.sleep(delay)

    async def _on_sync(self, response: SyncResponse) -> None:
        self._backoff.reset()
        for room_id, info in response.rooms.join.items():
            self.rooms.note_state(room_id, [*info.state, *info.timeline.events])
        for room_id in response.rooms.leave:
            if room_id not in self.rooms.gone:
                self.rooms.gone.add(room_id)
                self._sender.forget(room_id)
                log.info("matrix: the bot left or was removed from a room; its alerts stop")
                if self._events is not None:
                    await self._events.chat_left(NAME, room_id)
        self._synced_once = True
        self._synced.set()
        self._synced = asyncio.Event()
        await self._crypto.on_sync()

    async def _on_sync_error(self, response: SyncError) -> None:
        delay = self._backoff.next()
        log.warning("matrix: sync refused (%s); next try in %.0f s", response.status_code or "server error", delay)
        if response.status_code == "M_UNKNOWN_TOKEN" and self._password is not None:
            with contextlib.suppress(LoginFailed, *NETWORK_ERRORS):
                self._session = await log_in(self.client, store=self._store_path, password=self._password, access_token=None)
        await asyncio.sleep(delay)

    def fresh(self, event: Any) -> bool:
        """An event to act on: someone else's, sent after the start, not seen before."""
        if event.sender == self.client.user_id or event.server_timestamp < self._live_since_ms:
            return False
        return self._seen.first_time(event.event_id)

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key != self.client.user_id or event.membership != "invite":
            return
        if not invite_allowed(event.sender, self._allowed):
            log.info("matrix: declined an invite from a user outside MATRIX_ALLOWED")
            await self.client.room_leave(room.room_id)
            return
        resp = await self.client.join(room.room_id)
        if isinstance(resp, JoinResponse):
            self.rooms.gone.discard(room.room_id)
        else:
            log.warning("matrix: could not join a room: %s", getattr(resp, "status_code", "error"))

    async def _on_text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if self.fresh(event):
            await self._text(room, event)

    async def _on_reaction(self, room: MatrixRoom, event: ReactionEvent) -> None:
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
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, room: MatrixRoom, sender: str, text: str, event_id: str | None, thread: str | None) -> None:
        assert self._handler is not None
        try:
            group = self.rooms.is_group(room)
            incoming = Incoming(
                address=Address(NAME, room.room_id, sender),
                text=text,
                at=self._now(),
                is_group=group,
                is_admin=not group or await self.rooms.is_admin(room, sender),
                display_name=(room.user_name(sender) or sender)[:64],
            )
            for reply in await self._handler(incoming):
                private = reply.private
                target = self.private_address(sender) if private else (reply.to or incoming.address)
                here = target.chat == room.room_id
                await self._sender.answer(target, reply, in_reply_to=event_id if here else None, thread=thread if here else None)
        except DeliveryError as exc:
            log.warning("matrix: an answer could not be delivered: %s", type(exc).__name__)
        except Exception:
            log.exception("matrix: a message could not be handled")

    def private_address(self, user: str) -> Address:
        """A user's private chat is resolved when sent to: an existing DM room, else a new one."""
        return Address(NAME, user, user)

    async def send(self, to: Address, reply: Reply, *, kind: SendKind = SendKind.REPLY) -> None:
        try:
            await self._sender.send(to, reply, kind=kind)
        except RetryLater as exc:
            log.info("matrix: could not deliver now (%s); the outbox will retry", exc)
            raise

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
