"""A loopback Telegram Bot API (aiohttp, 127.0.0.1) that enforces the send limits.

Enough of the API for python-telegram-bot 22 to start and send: ``getMe``, ``deleteWebhook``
and the other setters, ``getUpdates`` (held at most a second, then empty) and ``sendMessage``.
``sendMessage`` is refused with Telegram's 429 (``parameters.retry_after``) when it would be
the 31st message in any one-second span, or a chat's second message within one second.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT = {
    "id": 777000,
    "is_bot": True,
    "first_name": "Bench",
    "username": "bench_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
HOLD = 1.0  # seconds a getUpdates waits before answering "nothing new"


@dataclass
class BotApi:
    overall_per_second: float = 30.0
    per_chat_seconds: float = 1.0
    accepted: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, chat)
    refused: dict[str, int] = field(default_factory=lambda: {"overall": 0, "chat": 0})
    target: int = 0  # ``enough`` is set once this many messages were accepted
    enough: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""
    _window: deque[float] = field(default_factory=deque)
    _last: dict[str, float] = field(default_factory=dict)

    @property
    def refusals(self) -> int:
        return sum(self.refused.values())

    def _too_many(self, retry_after: float) -> web.Response:
        wait = max(1, math.ceil(retry_after))
        return web.json_response(
            {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {wait}",
                "parameters": {"retry_after": wait},
            },
            status=429,
        )

    def _send(self, params: dict[str, Any]) -> web.Response:
        now, chat = time.monotonic(), str(params.get("chat_id", ""))
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= self.overall_per_second:
            self.refused["overall"] += 1
            return self._too_many(self._window[0] + 1.0 - now)
        last = self._last.get(chat)
        if last is not None and now - last < self.per_chat_seconds:
            self.refused["chat"] += 1
            return self._too_many(last + self.per_chat_seconds - now)
        self._window.append(now)
        self._last[chat] = now
        self.accepted.append((now, chat))
        if len(self.accepted) >= self.target:
            self.enough.set()
        chat_id = int(chat) if chat.lstrip("-").isdigit() else 0
        kind = {"type": "private", "first_name": "Anna"} if chat_id > 0 else {"type": "group", "title": "Family"}
        message = {
            "message_id": len(self.accepted),
            "date": int(time.time()),
            "chat": {"id": chat_id, **kind},
            "from": BOT,
            "text": str(params.get("text", "")),
        }
        return web.json_response({"ok": True, "result": message})

    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        try:
            if request.content_type == "application/json":
                params.update(await request.json())
            elif request.can_read_body:
                params.update(await request.post())
        except ConnectionError:  # the bot stopped mid-request (a held getUpdates at shutdown)
            return web.json_response({"ok": False, "error_code": 400, "description": "connection lost"}, status=400)
        if method == "sendMessage":
            return self._send(params)
        if method == "getMe":
            return web.json_response({"ok": True, "result": BOT})
        if method == "getUpdates":
            await asyncio.sleep(min(HOLD, float(params.get("timeout", 0) or 0)))
            return web.json_response({"ok": True, "result": []})
        return web.json_response({"ok": True, "result": True})  # deleteWebhook, setMyCommands, ...

    def served_rate(self, count: int) -> tuple[float, float]:
        """(messages a second from the first to the ``count``-th accepted one, seconds it took)."""
        times = [t for t, _ in self.accepted[:count]]
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        return ((len(times) - 1) / span if span else 0.0), span

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[BotApi]:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        try:
            yield self
        finally:
            await runner.cleanup()


def command_update(update_id: int, chat_id: int, text: str) -> dict[str, object]:
    """A Telegram update: a private message from ``chat_id`` whose first word is a command."""
    person = {"id": chat_id, "type": "private", "first_name": "Anna"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": person,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Anna"},
            "text": text,
            "entities": [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}],
        },
    }
