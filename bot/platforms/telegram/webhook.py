"""The Telegram webhook route, served by the bot's own aiohttp server (bot/web.py).

Telegram sends ``X-Telegram-Bot-Api-Secret-Token`` with every update when the webhook was
set with a ``secret_token``; a request without it is refused with 401, a wrong one with 403
(compared in constant time), so nobody who guesses the URL can inject updates.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiohttp import web

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = "/telegram"


class Routes(Protocol):
    """Where the route is registered (``bot.web.WebServer`` fits)."""

    def add_route(self, method: str, path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None: ...


def webhook_path(url: str) -> str:
    """The local path to serve: the path of the public webhook URL (a proxy forwards it)."""
    path = urlsplit(url).path.rstrip("/")
    return path or DEFAULT_PATH


def webhook_handler(
    secret: str, deliver: Callable[[dict[str, Any]], Awaitable[bool]]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler that checks the secret, parses the update and hands it on;
    ``deliver`` says False while the platform is not ready yet (starting or stopping): 503, so
    Telegram sends the update again later instead of it being lost."""
    expected = secret.encode()

    async def handle(request: web.Request) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return web.Response(status=401)
        if not hmac.compare_digest(given.encode(), expected):
            log.warning("Telegram webhook: request with a wrong secret token refused")
            return web.Response(status=403)
        try:
            data = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400)
        if not isinstance(data, dict):
            return web.Response(status=400)
        if not await deliver(data):
            return web.Response(status=503, headers={"Retry-After": "1"})
        return web.Response(status=200)

    return handle
