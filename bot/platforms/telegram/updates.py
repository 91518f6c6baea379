"""What comes in from Telegram: messages, button presses and membership changes, one update
at a time per chat (a double press after the first). A pressed button runs its command
exactly as if the presser had typed it; the router checks rights.

The platform (``platform.py``) owns the PTB Application's life; this owns its updates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from telegram import CallbackQuery, Chat, ChatMember, ChatMemberUpdated, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.messages import Incoming
from bot.platforms.base import ChatEvents, Handler, Lru, PerChat
from bot.platforms.telegram.menu import Menus, MenuSource
from bot.platforms.telegram.render import PLATFORM, incoming_from_press, incoming_from_update
from bot.platforms.telegram.send import Sender
from bot.platforms.telegram.state import AdminCache

log = logging.getLogger(__name__)


class Updates:
    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        bot: Callable[[], Any | None],
        events: ChatEvents | None,
        menu: MenuSource | None,
        menus: Menus | None,
        default_language: str,
    ) -> None:
        """``bot``: the started app's Bot, or None while it is not running."""
        self._now, self._bot, self._events = now, bot, events
        self._menu, self._menus, self._default_language = menu, menus, default_language
        self.handler: Handler | None = None
        self.sender: Sender | None = None  # set by the platform, which builds it with chat_moved
        self.username: str | None = None
        self._admins = AdminCache(self._fetch_admins)
        self.in_order = PerChat()  # one update at a time per chat (a double press after the first)
        self._moved: Lru[tuple[str, str], bool] = Lru(64)

    async def on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        async with self.in_order(chat.id if chat else None):
            if update.callback_query is not None:
                await self._on_press(update.callback_query)
            elif update.my_chat_member is not None:
                await self._on_membership(update.my_chat_member)
            elif update.message is not None:
                await self._on_message(update, update.message)
            # edited messages, channel posts and unknown kinds of update are not for us

    async def _on_message(self, update: Update, message: Message) -> None:
        assert self.sender is not None
        if message.migrate_to_chat_id is not None:
            await self.chat_moved(str(message.chat.id), str(message.migrate_to_chat_id))
            return
        if message.migrate_from_chat_id is not None:
            await self.chat_moved(str(message.migrate_from_chat_id), str(message.chat.id))
            return
        incoming = incoming_from_update(update, bot_username=self.username, at=self._now())
        if incoming is None or message.from_user is None:
            return
        self.sender.names.put(str(message.from_user.id), message.from_user.first_name)
        if incoming.is_group and not incoming.is_admin:
            incoming = replace(incoming, is_admin=await self._admins.is_admin(message.chat.id, message.from_user.id))
        await self._run(incoming, quote=message.message_id if incoming.is_group else None)

    async def _on_press(self, query: CallbackQuery) -> None:
        assert self.sender is not None
        pressed = await self.sender.buttons.decode(query.data or "")
        incoming = (
            None if pressed is None else incoming_from_press(query, pressed.command, bot_username=self.username, at=self._now())
        )
        await self._answer_query(query, expired=pressed is None)
        if incoming is None or not isinstance(query.message, Message):
            return
        message = query.message
        self.sender.names.put(str(query.from_user.id), query.from_user.first_name)
        if incoming.is_group:
            incoming = replace(incoming, is_admin=await self._admins.is_admin(message.chat.id, query.from_user.id))
        edit = not (pressed and pressed.follow_up) and self.sender.keyboards.should_edit(
            str(message.chat.id), message.message_id, str(query.from_user.id), is_group=incoming.is_group
        )
        await self._run(
            incoming, quote=message.message_id if incoming.is_group else None, edit=message.message_id if edit else None
        )

    async def _answer_query(self, query: CallbackQuery, *, expired: bool) -> None:
        """Every press is answered at once, so the client stops its spinner."""
        text = None
        if expired and self._menu is not None:
            lang = query.from_user.language_code or self._default_language
            text = self._menu.catalogs.translator(lang)("button.expired")
        try:
            await query.answer(text)
        except TelegramError as exc:  # too old to answer: nothing to repair
            log.info("Telegram: a button press could not be answered: %s", type(exc).__name__)

    async def _on_membership(self, change: ChatMemberUpdated) -> None:
        self._admins.forget(change.chat.id)
        if self._events is None or change.new_chat_member.status not in (ChatMember.LEFT, ChatMember.BANNED):
            return
        if change.chat.type == Chat.PRIVATE:
            await self._events.user_unreachable(PLATFORM, str(change.chat.id))
        else:
            log.info("Telegram: the bot was removed from a group")
            await self._events.chat_left(PLATFORM, str(change.chat.id))

    async def chat_moved(self, old: str, new: str) -> None:
        if self._moved.get((old, new)):
            return  # Telegram tells both the old group and the new supergroup
        self._moved.put((old, new), True)
        log.info("Telegram: a group became a supergroup")
        if self._events is not None:
            await self._events.chat_moved(PLATFORM, old, new)

    async def _fetch_admins(self, chat_id: int) -> list[int]:
        bot = self._bot()
        assert bot is not None
        return [member.user.id for member in await bot.get_chat_administrators(chat_id)]

    async def _run(self, incoming: Incoming, *, quote: int | None, edit: int | None = None) -> None:
        """Hand the message to the core and answer in the chat it came from."""
        assert self.handler is not None and self.sender is not None
        replies = await self.handler(incoming)
        await self.sender.answer(incoming, replies, quote=quote, edit=edit)
        languages = [r.chat_language for r in replies if r.chat_language]
        bot = self._bot()
        if incoming.is_group and languages and self._menus is not None and bot is not None:
            await self._menus.follow_group(bot, int(incoming.address.chat), languages[-1])
