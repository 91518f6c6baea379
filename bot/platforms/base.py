"""The Platform protocol and the delivery errors the outbox understands.

A platform receives messages, turns each into an ``Incoming``, awaits the handler and
sends the returned ``Reply``s in context (quoting, buttons). The outbox calls ``send``
for alerts and reacts to the errors below; nothing else leaves ``send``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

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
