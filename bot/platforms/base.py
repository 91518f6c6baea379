"""What every platform shares: the Platform protocol, the delivery errors the outbox
understands, and two small helpers (``PerChat`` ordering, the ``Lru`` cache).

A platform receives messages, turns each into an ``Incoming``, awaits the handler and
sends the returned ``Reply``s in context (quoting, buttons). The outbox calls ``send``
for alerts and reacts to the errors below; nothing else leaves ``send``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from bot.messages import Address, Incoming, Reply, SendKind
from bot.names import PlatformName

Handler = Callable[[Incoming], Awaitable[list[Reply]]]


class DeliveryError(Exception):
    """Base of every failure to deliver one message."""


class RetryLater(DeliveryError):
    """Rate limited or a network fault: keep the message and try again after ``retry_after`` s."""

    def __init__(self, retry_after: float = 5.0, detail: str = "") -> None:
        super().__init__(detail or f"retry after {retry_after}s")
        self.retry_after = retry_after


class TargetGone(DeliveryError):
    """The user blocked the bot, or the bot left or was removed from the chat."""


class ChatMoved(DeliveryError):
    """The chat has a new id (Telegram group -> supergroup); send there instead."""

    def __init__(self, new_chat: str) -> None:
        super().__init__(f"chat moved to {new_chat}")
        self.new_chat = new_chat


class Undeliverable(DeliveryError):
    """The platform refused this message for good (bad request); drop it and go on."""


class Platform(Protocol):
    """One chat platform. ``start`` returns once receiving runs in the background;
    ``send`` delivers one reply (``kind`` is ``reply`` or ``alert``) or raises a
    ``DeliveryError``; ``private_address`` is where a private reply to ``user`` goes;
    ``limits`` tells the outbox how fast it may send."""

    name: PlatformName
    limits: SendLimits

    async def start(self, handler: Handler) -> None: ...

    async def send(self, to: Address, reply: Reply, *, kind: SendKind = SendKind.REPLY) -> None: ...

    def private_address(self, user: str) -> Address: ...

    async def stop(self) -> None: ...


class ChatEvents(Protocol):
    """What a platform reports about chats besides messages (the app updates the store)."""

    async def chat_moved(self, platform: str, old_chat: str, new_chat: str) -> None:
        """A group got a new id (Telegram supergroup migration): move its household."""

    async def chat_left(self, platform: str, chat: str) -> None:
        """The bot was removed from a chat or left it: stop its alerts."""

    async def user_unreachable(self, platform: str, user: str) -> None:
        """A user blocked the bot: stop private alerts to them."""


@dataclass(frozen=True)
class SendLimits:
    """How fast the outbox may send on a platform (Telegram: 30/s, 1/s per chat, 20/min per group)."""

    overall_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_group_per_minute: float = 20.0


# -- shared helpers -------------------------------------------------------------------------
# A small least-recently-used map, for the platforms' in-memory caches (admins, names, button
# data, events already handled, lists offered): bounded, so a long-running bot never grows.
K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A map of at most ``size`` items; putting one more forgets the least recently used."""

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

    def items(self) -> list[tuple[K, V]]:
        """A copy, oldest first: safe to ``pop`` while walking it."""
        return list(self._items.items())


class PerChat:
    """One message at a time per chat, for every platform: a lock per chat, freed when unused.

    ``async with order(chat):`` runs after the earlier holders of the same chat; a chat's
    lock lives only while someone holds or waits for it, so idle chats cost nothing."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def __call__(self, chat: Hashable | None) -> AsyncIterator[None]:
        if chat is None:
            yield
            return
        lock, users = self._locks.setdefault(chat, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._locks.pop(chat, None)

    def __len__(self) -> int:
        """How many chats hold or wait for their lock now."""
        return len(self._locks)
