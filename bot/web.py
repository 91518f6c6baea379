"""The optional HTTP server (``WEB_PORT``): /healthz, /metrics, provider and Telegram webhooks.

Other parts register routes with ``add_route`` before ``start``. Bodies are capped at
``MAX_BODY`` bytes; handlers answer fast and hand work to the job queue.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.metrics import Metrics

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebServer:
    def __init__(self, *, host: str, port: int, metrics: Metrics) -> None:
        self.host, self.port = host, port
        self._metrics = metrics
        self._health: Callable[[], dict[str, Any]] = lambda: {"ok": False, "starting": True}
        self._app = web.Application(client_max_size=MAX_BODY)
        self._app.router.add_get("/healthz", self._healthz)
        self._app.router.add_get("/metrics", self._render_metrics)
        self._runner: web.AppRunner | None = None

    def add_route(self, method: str, path: str, handler: RouteHandler) -> None:
        self._app.router.add_route(method, path, handler)

    async def start(self, health: Callable[[], dict[str, Any]]) -> None:
        """Serve; ``/healthz`` answers ``health()`` (503 unless it says ``ok``)."""
        self._health = health
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []  # the real port when 0 was asked
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("web server on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        state = self._health()
        status = 200 if state.get("ok") else 503
        return web.Response(status=status, text=json.dumps(state, default=str), content_type="application/json")

    async def _render_metrics(self, request: web.Request) -> web.Response:
        response = web.Response(text=self._metrics.render())
        response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
        return response
