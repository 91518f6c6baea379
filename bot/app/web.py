"""The composition root's web parts, built only when ``WEB_PORT`` is set: the HTTP server
(health, metrics), the providers' webhooks and the home screen. aiohttp is imported only then,
so a console starts fast."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.config import Settings, reveal
from bot.i18n import Catalogs
from bot.metrics import Metrics
from bot.router import Router
from bot.store import Store
from providers.base import BalanceEvent, Provider

if TYPE_CHECKING:
    from bot.home import HomeLinks
    from bot.web import WebServer


def server(settings: Settings, metrics: Metrics) -> WebServer | None:
    """The HTTP server (health, metrics) when ``WEB_PORT`` is set."""
    if settings.web_port is None:
        return None
    from bot.web import WebServer

    return WebServer(host=settings.web_host, port=settings.web_port, metrics=metrics)


def provider_webhooks(
    web: WebServer | None,
    settings: Settings,
    *,
    providers: Mapping[str, Provider],
    submit: Callable[[BalanceEvent], Awaitable[bool]],
    clock: Clock,
    metrics: Metrics,
) -> None:
    """The providers' webhooks on the web server, when there is one."""
    if web is not None:
        from bot import webhooks

        webhooks.register(
            web,
            providers=providers,
            submit=submit,
            now=clock.now,
            metrics=metrics,
            esimaccess_path=reveal(settings.esimaccess_webhook_path),
        )


def home_links(settings: Settings, store: Store, web: WebServer | None, clock: Clock) -> HomeLinks | None:
    """The home screen's one-time links, when ``HOME_URL`` and ``WEB_PORT`` are set."""
    if not settings.home_url or web is None:
        return None
    from bot.home import HomeLinks

    return HomeLinks(settings.home_url, store, clock.now)


def home_pages(
    links: HomeLinks | None, settings: Settings, web: WebServer | None, router: Router, catalogs: Catalogs, clock: Clock
) -> None:
    """The home screen's pages on the web server, when it has links to give."""
    if links is not None and web is not None:
        from bot import home

        home.build(
            links,
            web=web,
            router=router,
            catalogs=catalogs,
            now=clock.now,
            telegram_token=reveal(settings.telegram_token),
            default_language=settings.default_language,
        )
