"""The family's home screen: a web page on the bot's own server, a Telegram Mini App inside Telegram.

``auth`` signs visitors in (Telegram's ``initData``, one-time links from ``/dashboard``,
session cookies), ``api`` reads and acts through the router exactly as the chat does,
``page`` renders the HTML and ``routes`` serves it all under the path of ``HOME_URL``.
``bot.app`` builds it with ``build`` when ``HOME_URL`` and ``WEB_PORT`` are set.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from bot.home.api import HomeData
from bot.home.auth import LINK_TTL, Keys
from bot.home.routes import HomeRoutes, Routes
from bot.i18n import Catalogs
from bot.router import Router
from bot.store import Store

__all__ = ["HomeLinks", "build"]


class HomeLinks:
    """One-time sign-in links to the page (what ``/dashboard`` answers)."""

    minutes = int(LINK_TTL.total_seconds() // 60)

    def __init__(self, url: str, store: Store, now: Callable[[], datetime]) -> None:
        self.url = url if url.endswith("/") else f"{url}/"
        self.keys = Keys(store, now)

    def __call__(self, *, platform: str, chat: str, user: str, admin: bool, group: bool, lang: str | None) -> str:
        token = self.keys.link(platform=platform, chat=chat, user=user, admin=admin, group=group, lang=lang)
        return f"{self.url}login?t={token}"


def build(
    links: HomeLinks,
    *,
    web: Routes,
    router: Router,
    catalogs: Catalogs,
    now: Callable[[], datetime],
    telegram_token: str | None,
    default_language: str,
) -> HomeRoutes:
    """The page's routes on ``web``, under the path of the page's public address."""
    routes = HomeRoutes(
        keys=links.keys,
        data=HomeData(router, now),
        catalogs=catalogs,
        base_path=urlsplit(links.url).path or "/",
        secure=links.url.startswith("https://"),
        telegram_token=telegram_token,
        now=now,
        default_language=default_language,
    )
    routes.register(web)
    return routes
