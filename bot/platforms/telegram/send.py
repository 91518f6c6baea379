"""Sending on Telegram: replies in context (quote, edit the pressed message) and alerts for
the outbox, with every Bot API failure mapped onto the DeliveryError tree.

| PTB error                | DeliveryError        | side effect                                  |
|--------------------------|----------------------|----------------------------------------------|
| RetryAfter               | RetryLater(seconds)  |                                              |
| ChatMigrated             | ChatMoved(new id)    | ChatEvents.chat_moved                        |
| Forbidden                | TargetGone           | user_unreachable (private) / chat_left       |
| BadRequest               | Undeliverable        |                                              |
| NetworkError, TimedOut   | RetryLater(5)        |                                              |
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from telegram import Message
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.messages import Address, Incoming, Reply
from bot.platforms.base import ChatEvents, ChatMoved, DeliveryError, Lru, RetryLater, TargetGone, Undeliverable
from bot.platforms.telegram.render import PLATFORM, Outgoing, is_private_chat, platform_user, render
from bot.platforms.telegram.state import ButtonData, KeptState, Keyboards

log = logging.getLogger(__name__)
SHORT_WAIT = 30.0  # a reply waits out a flood limit this long at most; alerts wait in the outbox


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns while retry_after turns into a timedelta
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def chat_id(chat: str) -> int | str:
    return int(chat) if chat.lstrip("-").isdigit() else chat


class Sender:
    """Sends through ``bot()`` (the started application's Bot, or an error while stopped)."""

    def __init__(
        self,
        bot: Callable[[], Any],
        *,
        events: ChatEvents | None,
        chat_moved: Callable[[str, str], Awaitable[None]],
        kept: KeptState | None = None,
    ) -> None:
        self._bot, self._events, self._chat_moved = bot, events, chat_moved
        self.buttons, self.keyboards = ButtonData(kept), Keyboards()
        self.names: Lru[str, str] = Lru(4096)  # user id -> first name, to show in a mention
        self.app_url: str | None = None  # the home screen: ``APP`` buttons open it in private chats

    def private_address(self, user: str) -> Address:
        user = platform_user(user)
        return Address(PLATFORM, user, user)  # a user's private chat has the user's id

    async def answer(self, incoming: Incoming, replies: list[Reply], *, quote: int | None, edit: int | None) -> None:
        """Send a command's replies where they belong; the first may replace the pressed message."""
        asker = incoming.address.user
        for i, reply in enumerate(replies):
            target = reply.to or incoming.address  # the router resolved it
            here = target.chat == incoming.address.chat
            try:
                if i == 0 and edit is not None and here and reply.picture is None:
                    await self._retrying(functools.partial(self.edit, target, reply, edit, asker))
                else:
                    await self._retrying(functools.partial(self.deliver, target, reply, quote if here else None, asker))
            except ChatMoved as moved:  # the group became a supergroup just now: answer there
                with contextlib.suppress(DeliveryError):
                    await self.deliver(replace(target, chat=moved.new_chat), reply, None, asker)
            except DeliveryError as exc:
                log.warning("Telegram: a reply was not delivered: %s", type(exc).__name__)

    async def _retrying(self, attempt: Callable[[], Awaitable[None]]) -> None:
        try:
            await attempt()
        except RetryLater as exc:
            if exc.retry_after > SHORT_WAIT:
                raise
            await asyncio.sleep(exc.retry_after)
            await attempt()

    def _render(self, to: Address, reply: Reply, quote: int | None) -> Outgoing:
        name = self.names.get(platform_user(reply.mention)) if reply.mention else None
        data = functools.partial(self.buttons.encode, follow_up=reply.keep)
        app_url = self.app_url if is_private_chat(to.chat) else None  # Telegram allows Mini App buttons only there
        return render(reply, chat_id(to.chat), button_data=data, quote=quote, mention_name=name, app_url=app_url)

    async def deliver(self, to: Address, reply: Reply, quote: int | None, asker: str | None) -> None:
        """Send one reply as new message(s); remember who may turn its buttons into an outcome."""
        await self.buttons.remember((c.command for c in reply.choices), follow_up=reply.keep)
        out = self._render(to, reply, quote)
        sent: Message | None = None
        try:
            for method, kwargs in out.calls():
                sent = await self.call(to, method, kwargs)
        except Undeliverable:
            if reply.picture is None or sent is not None:
                raise
            log.warning("Telegram refused a picture; sending its text alone")
            await self.deliver(to, replace(reply, picture=None), quote, asker)
            return
        if out.keyboard is not None and sent is not None:
            self.keyboards.sent(to.chat, sent.message_id, None if reply.keep else asker)

    async def edit(self, to: Address, reply: Reply, message_id: int, asker: str) -> None:
        """Show the outcome in the pressed message; its old buttons go, so it cannot be pressed twice."""
        await self.buttons.remember((c.command for c in reply.choices), follow_up=reply.keep)
        out = self._render(to, reply, None)
        try:
            await self.call(to, "edit_message_text", out.edit_kwargs(message_id))
        except Undeliverable:  # too old to edit, or unchanged: say it in a new message instead
            await self.deliver(to, reply, None if is_private_chat(to.chat) else message_id, asker)
            return
        if out.keyboard is not None and len(out.parts) == 1:
            self.keyboards.sent(to.chat, message_id, None if reply.keep else asker)
        else:
            self.keyboards.done(to.chat, message_id)
        if len(out.parts) > 1:
            rest = Outgoing(out.chat_id, out.parts[1:], keyboard=out.keyboard, silent=out.silent)
            sent: Message | None = None
            for kwargs in rest.send_kwargs():
                sent = await self.call(to, "send_message", kwargs)
            if rest.keyboard is not None and sent is not None:
                self.keyboards.sent(to.chat, sent.message_id, None if reply.keep else asker)

    async def call(self, to: Address, method: str, kwargs: dict[str, Any]) -> Any:
        """One Bot API call, its failures mapped onto the DeliveryError tree (table above)."""
        try:
            return await getattr(self._bot(), method)(**kwargs)
        except RetryAfter as exc:
            raise RetryLater(retry_seconds(exc), "flood control") from exc
        except ChatMigrated as exc:
            await self._chat_moved(to.chat, str(exc.new_chat_id))
            raise ChatMoved(str(exc.new_chat_id)) from exc
        except Forbidden as exc:
            if self._events is not None and is_private_chat(to.chat):
                await self._events.user_unreachable(PLATFORM, to.chat)
            elif self._events is not None:
                await self._events.chat_left(PLATFORM, to.chat)
            raise TargetGone("blocked or removed") from exc
        except BadRequest as exc:
            raise Undeliverable(exc.message[:200]) from exc
        except NetworkError as exc:  # TimedOut is one
            raise RetryLater(5, type(exc).__name__) from exc
        except TelegramError as exc:
            raise RetryLater(30, type(exc).__name__) from exc
