"""The concrete classes each setting names: the store backend, the leader, the providers and
the chat platforms (their libraries imported only when they are used). ``bot.app`` calls
these; nothing else names a concrete class."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.audience import Readers
from bot.clock import Clock
from bot.config import Settings, reveal
from bot.context import Command
from bot.i18n import Catalogs
from bot.platforms.base import ChatEvents, Platform
from bot.runtime import Leader
from bot.store import Store, TinyDBStore
from bot.store.kept import ProviderState
from providers.base import Provider
from providers.demo import DemoProvider

if TYPE_CHECKING:
    from bot.web import WebServer  # aiohttp: loaded only when there is a web server


def open_store(settings: Settings, clock: Clock) -> Store:
    """PostgreSQL when ``DATABASE_URL`` is set (several workers), else the embedded TinyDB file."""
    if settings.database_url:
        from bot.store.postgres import PostgresStore  # psycopg is loaded only when it is used

        return PostgresStore(settings.database_url.get_secret_value())
    return TinyDBStore(settings.db_path, now=clock.now(), compact_min_bytes=settings.db_compact_kib * 1024)


def leader(settings: Settings) -> Leader | None:
    """Several workers may share a PostgreSQL store: one of them leads (``bot.runtime.Leader``)."""
    if not settings.database_url:
        return None
    from bot.store.postgres import AdvisoryLeader

    return AdvisoryLeader(settings.database_url.get_secret_value())


def provider_startup(providers: dict[str, Provider]) -> list[Callable[[], Awaitable[object]]]:
    """The demo fixes its day 0 at the first start, before anyone asks for a balance."""
    demo = providers.get("demo")
    return [demo.day0] if isinstance(demo, DemoProvider) else []


def providers(settings: Settings, *, state: ProviderState, clock: Clock) -> dict[str, Provider]:
    """The configured eSIM providers; Settings has already checked their credentials."""
    found: dict[str, Provider] = {}
    for name in settings.providers:
        if name == "demo":
            found[name] = DemoProvider(state, clock.now, poll_seconds=settings.demo_poll_minutes * 60)
        elif name == "airalo":
            from providers.airalo import AiraloProvider  # httpx: loaded only for a provider that needs it

            found[name] = AiraloProvider(
                client_id=reveal(settings.airalo_client_id) or "",
                now=clock.now,
                state=state,
                client_secret=reveal(settings.airalo_client_secret) or "",
                base_url=settings.airalo_base_url,
            )
        elif name == "esimaccess":
            from providers.esimaccess import EsimAccessProvider

            found[name] = EsimAccessProvider(
                access_code=reveal(settings.esimaccess_access_code) or "",
                now=clock.now,
                secret_key=reveal(settings.esimaccess_secret_key),
                state=state,
                base_url=settings.esimaccess_base_url,
            )
        elif name == "esimgo":
            from providers.esimgo import EsimGoProvider

            found[name] = EsimGoProvider(
                api_key=reveal(settings.esimgo_api_key) or "", now=clock.now, state=state, base_url=settings.esimgo_base_url
            )
    return found


def chat_platforms(
    settings: Settings,
    *,
    clock: Clock,
    events: ChatEvents,
    web: WebServer | None,
    menu: Menu,
    readers: Readers,
    state: ProviderState,
) -> list[Platform]:
    """Telegram and Matrix, each only when its credentials are set (their imports too)."""
    found: list[Platform] = []
    if settings.telegram_token is not None:
        found.append(_telegram(settings, clock=clock, events=events, web=web, menu=menu, state=state))
    if settings.matrix_homeserver is not None and settings.matrix_user is not None:
        found.append(_matrix(settings, clock=clock, events=events, readers=readers))
    return found


def _telegram(
    settings: Settings, *, clock: Clock, events: ChatEvents, web: WebServer | None, menu: Menu, state: ProviderState
) -> Platform:
    from bot.errors import ConfigError
    from bot.platforms.telegram.platform import TelegramPlatform  # PTB is imported only when Telegram is on

    if settings.telegram_webhook_url is not None and web is None:
        raise ConfigError(["WEB_PORT: required with TELEGRAM_WEBHOOK_URL (the webhook is served there)"])
    return TelegramPlatform(
        token=reveal(settings.telegram_token) or "",
        now=clock.now,
        api_url=settings.telegram_api_url,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=reveal(settings.telegram_webhook_secret),
        web=web,
        events=events,
        menu=menu,
        default_language=settings.default_language,
        kept=state,
        app_url=_mini_app_url(settings) if web is not None else None,
    )


def _mini_app_url(settings: Settings) -> str | None:
    """The home screen as a Telegram Mini App: Telegram opens only https pages (a test's own
    Bot API server, ``TELEGRAM_API_URL``, takes any); over http the page is reached by /dashboard links."""
    url = settings.home_url
    return url if url is not None and (url.startswith("https://") or settings.telegram_api_url) else None


def _matrix(settings: Settings, *, clock: Clock, events: ChatEvents, readers: Readers) -> Platform:
    from bot.platforms.matrix.platform import MatrixPlatform  # nio is imported only when Matrix is on
    from bot.platforms.matrix.session import store_dir

    return MatrixPlatform(
        homeserver=settings.matrix_homeserver or "",
        user=settings.matrix_user or "",
        password=reveal(settings.matrix_password),
        access_token=reveal(settings.matrix_access_token),
        store_path=store_dir(settings.db_path),
        e2ee=settings.matrix_e2ee,
        allowed=settings.matrix_allowed,
        now=clock.now,
        events=events,
        explain=readers,
    )


@dataclass(frozen=True)
class Menu:
    """What Telegram's command menus list: the commands and the catalogs to word them."""

    commands: Mapping[str, Command]
    catalogs: Catalogs
