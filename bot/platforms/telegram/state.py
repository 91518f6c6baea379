"""Small in-memory state of the Telegram platform: group admins, button data and keyboards.

All of it is a cache or a convenience: after a restart admins are asked again, and a keyboard
whose asker is unknown is answered with a new message instead of an edit. Long button
commands are the exception: they are kept in the store too, so a press that reaches another
worker, or comes after a restart, still works. None of it guards money: ``/confirm`` is
idempotent in the store, so a second press can never order twice.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.errors import StoreError
from bot.platforms.base import Lru

log = logging.getLogger(__name__)
CALLBACK_LIMIT = 64  # bytes of callback_data Telegram accepts
TOKEN_PREFIX = "#"  # commands start with / or !, so a token can never be mistaken for one
OPEN = "*"  # a keyboard anyone may press (an alert): answer with a new message, never edit
DONE = ""  # a keyboard that already showed its outcome
KEPT = "telegram_button"  # the store's namespace for long button commands
FOLLOW_UP = "+"  # marks a follow-up button's data; commands start with / or !


def _marked(command: str, follow_up: bool) -> str:
    """A follow-up button's command carries ``FOLLOW_UP`` in its data."""
    return FOLLOW_UP + command if follow_up else command


def _callback_data(data: str) -> str:
    """``data`` itself when it fits Telegram's 64 bytes, else a token made from its hash."""
    if len(data.encode()) <= CALLBACK_LIMIT and not data.startswith(TOKEN_PREFIX):
        return data
    return TOKEN_PREFIX + base64.urlsafe_b64encode(hashlib.sha256(data.encode()).digest()[:15]).decode()


class KeptState(Protocol):
    """Where long button commands are kept for every worker and after a restart; each call is
    a unit of its own (``bot.store.kept.ProviderState`` fits). Raises ``StoreError`` when it cannot."""

    async def get_state(self, namespace: str, key: str) -> Any: ...
    async def put_state(self, namespace: str, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class Pressed:
    command: str
    follow_up: bool  # a follow-up button (``Reply.keep``): answer in a new message, leave this one


class ButtonData:
    """Callback data is the choice's command itself when it fits in 64 bytes (it does for
    ``/confirm AbCdEfGh`` and ``/buy <line> <plan>``), marked ``+`` on a follow-up button, so
    any worker (or the bot after a restart) knows to answer in a new message. A longer one (a
    long Chinese label in ``/renew <label>``) travels as a token made from its hash:
    ``remember`` stores it under its token before the message leaves, so any worker can read
    it back on a press; the same command always gets the same token, so the store holds each
    long command once. The last ``size`` are also kept in memory."""

    def __init__(self, kept: KeptState | None = None, size: int = 4096) -> None:
        self._kept = kept
        self._tokens: Lru[str, str] = Lru(size)

    @staticmethod
    def encode(command: str, *, follow_up: bool = False) -> str:
        return _callback_data(_marked(command, follow_up))

    async def remember(self, commands: Iterable[str], *, follow_up: bool = False) -> None:
        """Keep the commands that travel as tokens (before the buttons are sent)."""
        for command in commands:
            data = _marked(command, follow_up)
            token = _callback_data(data)
            if token == data or self._tokens.get(token) == data:
                continue
            self._tokens.put(token, data)
            if self._kept is not None:
                try:
                    await self._kept.put_state(KEPT, token, data)
                except StoreError:  # this worker still knows it; another one would say it expired
                    log.warning("Telegram: a long button could not be stored; only this process knows it")

    async def decode(self, data: str) -> Pressed | None:
        """What a press asks for; None for a token nobody kept (or the store is down)."""
        found: str | None = data
        if data.startswith(TOKEN_PREFIX):
            found = self._tokens.get(data)
            if found is None and self._kept is not None:
                try:
                    stored = await self._kept.get_state(KEPT, data)
                except StoreError:
                    return None
                if isinstance(stored, str) and _callback_data(stored) == data:
                    found = stored
                    self._tokens.put(data, stored)
        if found is None:
            return None
        return Pressed(found.removeprefix(FOLLOW_UP), found.startswith(FOLLOW_UP))


class Keyboards:
    """Who asked for each keyboard message, so a press by the asker turns the message into
    its outcome (and removes the buttons) while a press by someone else in a group (a
    member on an admin's renewal) is answered with a new message and leaves them in place."""

    def __init__(self, size: int = 4096) -> None:
        self._askers: Lru[tuple[str, int], str] = Lru(size)

    def sent(self, chat: str, message_id: int, asker: str | None) -> None:
        self._askers.put((chat, message_id), asker or OPEN)

    def should_edit(self, chat: str, message_id: int, presser: str, *, is_group: bool) -> bool:
        asker = self._askers.get((chat, message_id))
        if asker is None:  # sent before a restart: in private the presser is the asker
            return not is_group
        return asker == presser

    def done(self, chat: str, message_id: int) -> None:
        self._askers.put((chat, message_id), DONE)


class AdminCache:
    """Group administrators from ``getChatAdministrators``, kept ``ttl`` seconds per chat."""

    def __init__(
        self,
        fetch: Callable[[int], Awaitable[Iterable[int]]],
        *,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        size: int = 1024,
    ) -> None:
        self._fetch, self._ttl, self._clock = fetch, ttl, clock
        self._chats: Lru[int, tuple[float, frozenset[int]]] = Lru(size)

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        cached = self._chats.get(chat_id)
        if cached is None or self._clock() - cached[0] > self._ttl:
            try:
                admins = frozenset(await self._fetch(chat_id))
            except Exception as exc:  # no answer means no admin rights, not a crash
                log.warning("could not read the admins of a group: %s", type(exc).__name__)
                return False
            cached = (self._clock(), admins)
            self._chats.put(chat_id, cached)
        return user_id in cached[1]

    def forget(self, chat_id: int) -> None:
        self._chats.pop(chat_id)
