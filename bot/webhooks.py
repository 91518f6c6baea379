"""Provider webhooks on the web server: verify, turn into BalanceEvents, hand to the job queue.

Each route answers at once (the job queue does the provider call later), never echoes or
logs the body, and answers a bad or missing signature with 401. Bodies above the web
server's limit get 413 before they reach here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from aiohttp import web

from bot.metrics import Metrics
from bot.web import WebServer
from providers.base import BalanceEvent, Provider
from providers.errors import WebhookRejected

log = logging.getLogger(__name__)


@runtime_checkable
class WebhookSource(Protocol):
    """A provider that can verify and parse its own webhook deliveries."""

    name: str

    def parse_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[BalanceEvent]: ...


def register(
    server: WebServer, *, providers: Mapping[str, Provider], submit: Callable[[BalanceEvent], Awaitable[bool]],
    now: Callable[[], datetime], metrics: Metrics, esimaccess_path: str | None,
) -> list[str]:
    """Add a route per configured provider that takes webhooks; returns the paths."""
    paths = {"airalo": "/webhooks/airalo", "esimgo": "/webhooks/esimgo"}
    if esimaccess_path:
        paths["esimaccess"] = f"/webhooks/esimaccess/{esimaccess_path}"
    added: list[str] = []
    for name, path in paths.items():
        source = providers.get(name)
        if isinstance(source, WebhookSource):
            server.add_route("POST", path, _receiver(source, submit, now, metrics))
            server.add_route("HEAD", path, _opt_in)  # Airalo checks the URL with HEAD before use
            added.append(path)
    return added


async def _opt_in(request: web.Request) -> web.Response:
    return web.Response(status=200)


def _receiver(source: WebhookSource, submit: Callable[[BalanceEvent], Awaitable[bool]],
              now: Callable[[], datetime], metrics: Metrics) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            events = source.parse_webhook(dict(request.headers), body, now())
        except WebhookRejected as exc:
            metrics.inc("esimbot_webhooks_total", provider=source.name, outcome="rejected")
            log.warning("webhook from %s rejected (%d bytes): %s", source.name, len(body), exc.detail[:100])
            return web.json_response({"ok": False}, status=401)
        known = 0
        for event in events:
            known += bool(await submit(event))
        metrics.inc("esimbot_webhooks_total", provider=source.name, outcome="accepted")
        return web.json_response({"ok": True, "events": len(events), "known": known})

    return receive
