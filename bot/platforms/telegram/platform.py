"""Telegram through python-telegram-bot 22, inside the bot's one asyncio loop.

``start`` initializes and starts the PTB Application and begins polling (or sets the
webhook); the loop stays the app's, so Matrix, the job queue and the web server share it.
Updates are handled in parallel across chats and in order within one chat. A pressed
button runs its command exactly as if the presser had typed it; the router checks rights.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from telegram import CallbackQuery, Chat, ChatMember, ChatMemberUpdated, Message, Update
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.request import BaseRequest

from bot.messages import Address, Incoming, Reply, SendKind
from bot.platforms.base import ChatEvents, Handler, RetryLater, SendLimits
from bot.platforms.lru import Lru
from bot.platforms.ordering import PerChat
from bot.platforms.telegram.menu import Menus, MenuSource
from bot.platforms.telegram.render import PLATFORM, incoming_from_press, incoming_from_update
from bot.platforms.telegram.send import Sender
from bot.platforms.telegram.state import AdminCache, KeptState
from bot.platforms.telegram.webhook import Routes, webhook_handler, webhook_path

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
CONFLICT_EXIT = 3


def _leave_loop() -> None:
    raise SystemExit(CONFLICT_EXIT)  # from a loop callback it ends asyncio.run (a task would keep it)


class TelegramPlatform:
    name = PLATFORM
    limits = SendLimits(overall_per_second=30, per_chat_per_second=1, per_group_per_minute=20)

    def __init__(
        self,
        *,
        token: str,
        now: Callable[[], datetime],
        api_url: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        web: Routes | None = None,
        events: ChatEvents | None = None,
        menu: MenuSource | None = None,
        default_language: str = "en",
        poll_interval: float | None = None,
        request: BaseRequest | None = None,
        updates_request: BaseRequest | None = None,
        kept: KeptState | None = None,
    ) -> None:
        """``kept``: where long button commands are kept, so every worker knows them (the store)."""
        if webhook_url is not None and (web is None or not webhook_secret):
            raise ValueError("webhook mode needs the web server and a secret token")
        self._token, self._now, self._api_url = token, now, api_url
        self._webhook_url, self._webhook_secret = webhook_url, webhook_secret
        self._events, self._menu, self._default_language = events, menu, default_language
        self._menus = Menus(menu, default_language=default_language, kept=kept) if menu is not None else None
        # the emulator and some self-hosted servers answer getUpdates at once (no long polling)
        self._poll_interval = poll_interval if poll_interval is not None else (0.2 if api_url else 0.0)
        self._request, self._updates_request = request, updates_request
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._handler: Handler | None = None
        self.username: str | None = None
        self._sender = Sender(self._bot, events=events, chat_moved=self._chat_moved, kept=kept)
        self._admins = AdminCache(self._fetch_admins)
        self._in_order = PerChat()  # one update at a time per chat (a double press after the first)
        self._moved: Lru[tuple[str, str], bool] = Lru(64)
        self._giving_up: asyncio.Task[None] | None = None
        if webhook_url is not None and web is not None and webhook_secret:
            web.add_route("POST", webhook_path(webhook_url), webhook_handler(webhook_secret, self._webhook_update))

    # -- lifecycle ------------------------------------------------------------------------
    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        builder = Application.builder().token(self._token).job_queue(None).concurrent_updates(16)
        if self._api_url:
            root = self._api_url.rstrip("/").removesuffix("/bot")
            builder = builder.base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")
        if self._request is not None:
            builder = builder.request(self._request)
        if self._updates_request is not None:
            builder = builder.get_updates_request(self._updates_request)
        elif self._request is None:  # the last getUpdates at stop (marking updates read) must not wait
            builder = builder.get_updates_connection_pool_size(2)  # for the cancelled long poll's connection
        if self._webhook_url is not None:
            builder = builder.updater(None)
        app = builder.build()
        app.add_handler(TypeHandler(Update, self._on_update))
        app.add_error_handler(self._on_error)
        return app

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        app = self._app = self._build()
        try:
            await app.initialize()
        except InvalidToken:
            log.error("Telegram refused TELEGRAM_TOKEN; create or copy the token with @BotFather")
            raise SystemExit(2) from None
        self.username = app.bot.username
        if self._menus is not None:
            await self._menus.set(app.bot, self._menus.everywhere())
        await app.start()
        if self._webhook_url is not None:
            await app.bot.set_webhook(self._webhook_url, secret_token=self._webhook_secret, allowed_updates=ALLOWED_UPDATES)
            log.info("Telegram: @%s receives updates by webhook", self.username)
        elif app.updater is not None:
            await app.updater.start_polling(
                poll_interval=self._poll_interval, timeout=25, allowed_updates=ALLOWED_UPDATES, error_callback=self._on_poll_error
            )
            log.info("Telegram: @%s is polling for updates", self.username)

    async def stop(self) -> None:
        app, self._app = self._app, None
        if app is None:
            return
        if app.updater is not None and app.updater.running:
            with contextlib.suppress(Exception):
                await app.updater.stop()
        if app.running:
            with contextlib.suppress(Exception):
                await app.stop()
        with contextlib.suppress(Exception):
            await app.shutdown()

    def _on_poll_error(self, exc: TelegramError) -> None:
        if not isinstance(exc, Conflict):
            log.warning("Telegram: getUpdates failed (%s); retrying", type(exc).__name__)
            return
        if self._giving_up is None:
            log.error(
                "Telegram: another process is already polling with this bot token (HTTP 409 Conflict); "
                "run one instance per token. Stopping."
            )
            self._giving_up = asyncio.get_running_loop().create_task(self._give_up())

    async def _give_up(self) -> None:
        """Stop polling quietly, then leave the event loop with a non-zero exit status;
        ``asyncio.run`` cancels the app, whose shutdown (store, web server) runs as usual."""
        # the updater's last getUpdates (marking updates read) meets the same 409: not news
        logging.getLogger("telegram.ext.Updater").setLevel(logging.CRITICAL)
        await self.stop()
        asyncio.get_running_loop().call_soon(_leave_loop)

    async def _webhook_update(self, data: dict[str, Any]) -> bool:
        if self._app is None or not self._app.running:
            return False  # starting or stopping: Telegram sends it again
        try:
            update = Update.de_json(data, self._app.bot)
        except Exception:
            log.warning("Telegram webhook: an update could not be read; dropped")
            return True
        # handled before the answer: a worker killed half-way never said 200, so the update is
        # sent again (to another worker) instead of being lost
        await self._app.process_update(update)
        return True

    # -- receiving ------------------------------------------------------------------------
    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        async with self._in_order(chat.id if chat else None):
            if update.callback_query is not None:
                await self._on_press(update.callback_query)
            elif update.my_chat_member is not None:
                await self._on_membership(update.my_chat_member)
            elif update.message is not None:
                await self._on_message(update, update.message)
            # edited messages, channel posts and unknown kinds of update are not for us

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        log.error(
            "Telegram: handling an update failed: %s",
            type(error).__name__,
            exc_info=(type(error), error, error.__traceback__) if error else None,
        )

    async def _on_message(self, update: Update, message: Message) -> None:
        if message.migrate_to_chat_id is not None:
            await self._chat_moved(str(message.chat.id), str(message.migrate_to_chat_id))
            return
        if message.migrate_from_chat_id is not None:
            await self._chat_moved(str(message.migrate_from_chat_id), str(message.chat.id))
            return
        incoming = incoming_from_update(update, bot_username=self.username, at=self._now())
        if incoming is None or message.from_user is None:
            return
        self._sender.names.put(str(message.from_user.id), message.from_user.first_name)
        if incoming.is_group and not incoming.is_admin:
            incoming = replace(incoming, is_admin=await self._admins.is_admin(message.chat.id, message.from_user.id))
        await self._run(incoming, quote=message.message_id if incoming.is_group else None)

    async def _on_press(self, query: CallbackQuery) -> None:
        pressed = await self._sender.buttons.decode(query.data or "")
        incoming = (
            None if pressed is None else incoming_from_press(query, pressed.command, bot_username=self.username, at=self._now())
        )
        await self._answer_query(query, expired=pressed is None)
        if incoming is None or not isinstance(query.message, Message):
            return
        message = query.message
        self._sender.names.put(str(query.from_user.id), query.from_user.first_name)
        if incoming.is_group:
            incoming = replace(incoming, is_admin=await self._admins.is_admin(message.chat.id, query.from_user.id))
        edit = not (pressed and pressed.follow_up) and self._sender.keyboards.should_edit(
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

    async def _chat_moved(self, old: str, new: str) -> None:
        if self._moved.get((old, new)):
            return  # Telegram tells both the old group and the new supergroup
        self._moved.put((old, new), True)
        log.info("Telegram: a group became a supergroup")
        if self._events is not None:
            await self._events.chat_moved(PLATFORM, old, new)

    async def _fetch_admins(self, chat_id: int) -> list[int]:
        assert self._app is not None
        return [member.user.id for member in await self._app.bot.get_chat_administrators(chat_id)]

    async def _run(self, incoming: Incoming, *, quote: int | None, edit: int | None = None) -> None:
        """Hand the message to the core and answer in the chat it came from."""
        assert self._handler is not None
        replies = await self._handler(incoming)
        await self._sender.answer(incoming, replies, quote=quote, edit=edit)
        languages = [r.chat_language for r in replies if r.chat_language]
        if incoming.is_group and languages and self._menus is not None and self._app is not None:
            await self._menus.follow_group(self._app.bot, int(incoming.address.chat), languages[-1])

    # -- sending (send.py) -----------------------------------------------------------------
    def private_address(self, user: str) -> Address:
        return self._sender.private_address(user)

    async def send(self, to: Address, reply: Reply, *, kind: SendKind = SendKind.REPLY) -> None:
        """Deliver one message for the outbox; failures come out as DeliveryErrors."""
        await self._sender.deliver(to, reply, None, None)

    def _bot(self) -> Any:
        if self._app is None:
            raise RetryLater(30, "Telegram is not started")
        return self._app.bot
