"""Provider webhooks on the web server: verify, turn into BalanceEvents, hand to the job queue.

Each route answers at once (the job queue does the provider call later), never echoes or
logs the body, and answers a bad or missing signature with 401. A body larger than the
adapters accept gets 413 (the web server's own, larger limit answers 413 before the body
is read). eSIM Access signs nothing: only its secret path (``ESIMACCESS_WEBHOOK_PATH``)
is routed, every other path under ``/webhooks/esimaccess/`` is a 404.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from aiohttp import web

from bot.metrics import Metrics
from bot.web import WebServer
from providers.base import MAX_WEBHOOK_BYTES, BalanceEvent, Provider
from providers.errors import WebhookRejected

log = logging.getLogger(__name__)
PATHS = {"airalo": "/webhooks/airalo", "esimgo": "/webhooks/esimgo"}
ESIMACCESS_PREFIX = "/webhooks/esimaccess/"


@runtime_checkable
class WebhookSource(Protocol):
    """A provider that can verify and parse its own webhook deliveries."""

    name: str

    def parse_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[BalanceEvent]: ...


def register(
    server: WebServer,
    *,
    providers: Mapping[str, Provider],
    submit: Callable[[BalanceEvent], Awaitable[bool]],
    now: Callable[[], datetime],
    metrics: Metrics,
    esimaccess_path: str | None,
) -> list[str]:
    """Add a route per configured provider that takes webhooks; returns the paths."""
    paths = dict(PATHS)
    if esimaccess_path:
        paths["esimaccess"] = ESIMACCESS_PREFIX + esimaccess_path
    elif "esimaccess" in providers:
        log.warning("eSIM Access webhooks are off: set ESIMACCESS_WEBHOOK_PATH to receive them")
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


def _receiver(
    source: WebhookSource, submit: Callable[[BalanceEvent], Awaitable[bool]], now: Callable[[], datetime], metrics: Metrics
) -> Callable[[web.Request], Awaitable[web.Response]]:
    def too_large(size: int | None) -> web.Response:
        metrics.inc("esimbot_webhooks_total", provider=source.name, outcome="too_large")
        log.warning(
            "webhook from %s refused: body of %s bytes is over %d", source.name, "?" if size is None else size, MAX_WEBHOOK_BYTES
        )
        return web.json_response({"ok": False}, status=413)

    async def receive(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
            return too_large(request.content_length)  # not even read
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return too_large(None)  # chunked, over the web server's limit
        if len(body) > MAX_WEBHOOK_BYTES:
            return too_large(len(body))
        try:
            events = source.parse_webhook(request.headers, body, now())
        except WebhookRejected as exc:
            metrics.inc("esimbot_webhooks_total", provider=source.name, outcome="rejected")
            log.warning("webhook from %s rejected (%d bytes): %s", source.name, len(body), exc.detail[:100])
            return web.json_response({"ok": False}, status=401)
        except Exception as exc:  # a verified but unexpected payload: say so without echoing it
            metrics.inc("esimbot_webhooks_total", provider=source.name, outcome="unreadable")
            log.warning("webhook from %s unreadable (%d bytes): %s", source.name, len(body), type(exc).__name__)
            return web.json_response({"ok": False}, status=400)
        known = 0
        for event in events:
            known += bool(await submit(event))
        metrics.inc("esimbot_webhooks_total", provider=source.name, outcome="accepted")
        return web.json_response({"ok": True, "events": len(events), "known": known})

    return receive
