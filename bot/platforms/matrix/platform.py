"""The Matrix platform on matrix-nio: rooms are households, ``!`` commands, encrypted rooms.

``start`` only schedules the work: logging in (retried with backoff while the homeserver
is unreachable) and ``sync_forever`` run as one task in the shared loop, so Telegram and
the console are never held up by Matrix. Each command runs in its own task, in order per
room, so a slow provider never stalls the sync (``intake.py`` handles what a sync delivers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    MegolmEvent,
    ReactionEvent,
    RoomMessageText,
    SyncError,
    SyncResponse,
)

from bot.messages import Address, Reply, SendKind
from bot.names import PlatformName
from bot.platforms.base import ChatEvents, Handler, RetryLater, SendLimits
from bot.platforms.matrix import render as render
from bot.platforms.matrix.crypto import Undecryptable
from bot.platforms.matrix.intake import Explain, Intake, private_address
from bot.platforms.matrix.rooms import Rooms
from bot.platforms.matrix.send import NETWORK_ERRORS, Sender
from bot.platforms.matrix.session import Backoff, LoginFailed, Session, log_in, prepare_store
from bot.platforms.matrix.xsign import cross_sign

log = logging.getLogger(__name__)
NAME = PlatformName.MATRIX
SYNC_TIMEOUT_MS = 30_000


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
        self._store_path, self._e2ee = store_path, e2ee
        self._wall, self._events = wall, events
        config = AsyncClientConfig(
            encryption_enabled=e2ee,
            store_sync_tokens=True,
            max_limit_exceeded=0,
            max_timeouts=2,
            request_timeout=SYNC_TIMEOUT_MS / 1000 + 30,
        )
        self.client = AsyncClient(homeserver, user, store_path=str(store_path), config=config)
        self.rooms = Rooms(self.client, encrypted_dms=e2ee)
        self._session: Session | None = None
        self._synced_once = False
        self._synced = asyncio.Event()
        self._sender = Sender(self.client, self.rooms, ready=lambda: self.ready, synced=lambda: self._synced)
        self._intake = Intake(self.client, self.rooms, self._sender, now=now, allowed=allowed, explain=explain)
        self._crypto = Undecryptable(self._intake, key_grace=key_grace)
        self._backoff = Backoff()
        self._main: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        """Logged in and the first sync is in: rooms are known, sending can begin."""
        return self._session is not None and self._synced_once

    async def start(self, handler: Handler) -> None:
        self._intake.handler = handler
        self._intake.live_since_ms = int(self._wall() * 1000)
        prepare_store(self._store_path)
        c = self.client
        c.add_event_callback(self._intake.on_invite, InviteMemberEvent)  # type: ignore[arg-type]
        c.add_event_callback(self._intake.on_text, RoomMessageText)  # type: ignore[arg-type]
        c.add_event_callback(self._intake.on_reaction, ReactionEvent)  # type: ignore[arg-type]
        c.add_event_callback(self._crypto.on_event, MegolmEvent)  # type: ignore[arg-type]
        c.add_response_callback(self._on_sync, SyncResponse)  # type: ignore[arg-type]
        c.add_response_callback(self._on_sync_error, SyncError)  # type: ignore[arg-type]
        self._main = asyncio.create_task(self._run(), name="matrix")

    @property
    def sender(self) -> Sender:
        return self._sender

    async def drain(self) -> None:
        """Wait until every message received so far has been handled and answered."""
        while self._intake.tasks:
            await asyncio.gather(*self._intake.tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop syncing, let commands in progress finish (up to 10 s), then close."""
        self.client.stop_sync_forever()
        if self._main is not None:
            self._main.cancel()
        pending = [t for t in self._intake.tasks if not t.done()]
        if pending:
            _done, late = await asyncio.wait(pending, timeout=10)
            for task in late:
                task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*[t for t in (self._main, *self._intake.tasks) if t], return_exceptions=True), 5
            )
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

    def private_address(self, user: str) -> Address:
        return private_address(user)

    async def send(self, to: Address, reply: Reply, *, kind: SendKind = SendKind.REPLY) -> None:
        try:
            await self._sender.send(to, reply, kind=kind)
        except RetryLater as exc:
            log.info("matrix: could not deliver now (%s); the outbox will retry", exc)
            raise
