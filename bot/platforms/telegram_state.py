"""Small in-memory state of the Telegram platform: group admins, button data and keyboards.

All of it is a cache or a convenience: after a restart admins are asked again, a long
button command that was replaced by a token says it expired, and a keyboard whose asker
is unknown is answered with a new message instead of an edit. None of it guards money:
``/confirm`` is idempotent in the store, so a second press can never order twice.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
CALLBACK_LIMIT = 64  # bytes of callback_data Telegram accepts
TOKEN_PREFIX = "#"  # commands start with / or !, so a token can never be mistaken for one
OPEN = "*"  # a keyboard anyone may press (an alert): answer with a new message, never edit
DONE = ""  # a keyboard that already showed its outcome
K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A small least-recently-used map."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)


class ButtonData:
    """Callback data is the choice's command itself when it fits in 64 bytes (it does for
    ``/confirm AbCdEfGh`` and ``/buy <line> <plan>``); a longer one (a long Chinese label in
    ``/renew <label>``) is kept here under a short token, the last ``size`` of them."""

    def __init__(self, size: int = 4096) -> None:
        self._tokens: Lru[str, str] = Lru(size)

    def encode(self, command: str) -> str:
        if len(command.encode()) <= CALLBACK_LIMIT and not command.startswith(TOKEN_PREFIX):
            return command
        token = TOKEN_PREFIX + secrets.token_urlsafe(9)
        self._tokens.put(token, command)
        return token

    def decode(self, data: str) -> str | None:
        """The command behind the data; None for a token this process no longer knows."""
        return self._tokens.get(data) if data.startswith(TOKEN_PREFIX) else data


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

    def __init__(self, fetch: Callable[[int], Awaitable[Iterable[int]]], *, ttl: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, size: int = 1024) -> None:
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
