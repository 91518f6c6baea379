"""Telegram through python-telegram-bot 22, inside the bot's one asyncio loop.

``start`` initializes and starts the PTB Application and begins polling (or sets the
webhook); the loop stays the app's, so Matrix, the job queue and the web server share it.
Updates are handled in parallel across chats and in order within one chat (``updates.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.request import BaseRequest

from bot.messages import Address, Reply, SendKind
from bot.platforms.base import ChatEvents, Handler, RetryLater, SendLimits
from bot.platforms.telegram.menu import Menus, MenuSource
from bot.platforms.telegram.render import PLATFORM
from bot.platforms.telegram.send import Sender
from bot.platforms.telegram.state import KeptState
from bot.platforms.telegram.updates import Updates
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
        app_url: str | None = None,
    ) -> None:
        """``kept``: where long button commands are kept, so every worker knows them (the store);
        ``app_url``: the home screen, opened as a Mini App from the menu button and ``APP`` buttons."""
        if webhook_url is not None and (web is None or not webhook_secret):
            raise ValueError("webhook mode needs the web server and a secret token")
        self._token, self._api_url = token, api_url
        self._webhook_url, self._webhook_secret = webhook_url, webhook_secret
        self._menus = Menus(menu, default_language=default_language, kept=kept) if menu is not None else None
        # the emulator and some self-hosted servers answer getUpdates at once (no long polling)
        self._poll_interval = poll_interval if poll_interval is not None else (0.2 if api_url else 0.0)
        self._request, self._updates_request = request, updates_request
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self.username: str | None = None
        self._updates = Updates(
            now=now, bot=self._running_bot, events=events, menu=menu, menus=self._menus, default_language=default_language
        )
        self._sender = self._updates.sender = Sender(self._bot, events=events, chat_moved=self._updates.chat_moved, kept=kept)
        self._sender.app_url = self._app_url = app_url
        self._in_order = self._updates.in_order
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
        app.add_handler(TypeHandler(Update, self._updates.on_update))
        app.add_error_handler(self._on_error)
        return app

    async def start(self, handler: Handler) -> None:
        self._updates.handler = handler
        app = self._app = self._build()
        try:
            await app.initialize()
        except InvalidToken:
            log.error("Telegram refused TELEGRAM_TOKEN; create or copy the token with @BotFather")
            raise SystemExit(2) from None
        self.username = self._updates.username = app.bot.username
        if self._menus is not None:
            await self._menus.set(app.bot, self._menus.everywhere())
            if self._app_url is not None:
                await self._menus.home_button(app.bot, self._app_url)
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

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        log.error(
            "Telegram: handling an update failed: %s",
            type(error).__name__,
            exc_info=(type(error), error, error.__traceback__) if error else None,
        )

    # -- sending (send.py) -----------------------------------------------------------------
    def private_address(self, user: str) -> Address:
        return self._sender.private_address(user)

    async def send(self, to: Address, reply: Reply, *, kind: SendKind = SendKind.REPLY) -> None:
        """Deliver one message for the outbox; failures come out as DeliveryErrors."""
        await self._sender.deliver(to, reply, None, None)

    def _running_bot(self) -> Any | None:
        return self._app.bot if self._app is not None else None

    def _bot(self) -> Any:
        if self._app is None:
            raise RetryLater(30, "Telegram is not started")
        return self._app.bot
