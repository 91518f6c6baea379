"""The rules of each environment variable, for ``Settings.from_env`` (bot/config.py).

A check takes the variable's trimmed text (``None`` when unset or blank) and the settings
checked before it, and returns the typed value (``None``: the default) or raises
``problem(...)`` with the whole message. A message names the variable and never quotes a
secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic_core import PydanticCustomError

from bot.i18n import SUPPORTED, normalize_language

KNOWN_PROVIDERS = ("demo", "airalo", "esimaccess", "esimgo")
_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
_MXID = re.compile(r"^@[^:\s]+:[^\s]+$")
_URL = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?")  # the whole value, no spaces
_MAX_VALUE = 4096

Check = Callable[[str | None, dict[str, Any]], Any]


def problem(message: str) -> PydanticCustomError:
    """One problem, already worded "VARIABLE: what is wrong" (ConfigError lists them)."""
    return PydanticCustomError("config", "{problem}", {"problem": message})


def clean(name: str, raw: str) -> str | None:
    value = raw.strip()
    if len(raw) > _MAX_VALUE or "\x00" in raw:
        raise problem(f"{name}: value is too long or contains NUL bytes")
    return value or None


def _url(name: str) -> Check:
    def check(value: str | None, _data: dict[str, Any]) -> str | None:
        if value is not None and not _URL.fullmatch(value):
            raise problem(f"{name}: must be an http:// or https:// URL")
        return None if value is None else value.rstrip("/")

    return check


def _matching(name: str, pattern: str, rule: str) -> Check:
    def check(value: str | None, _data: dict[str, Any]) -> str | None:
        if value is not None and not re.match(pattern, value):
            raise problem(f"{name}: {rule}")
        return value

    return check


def _whole(name: str, unit: str, top: int) -> Check:
    def check(value: str | None, _data: dict[str, Any]) -> int | None:
        if value is not None and (not value.isdigit() or not 1 <= int(value) <= top):
            raise problem(f"{name}: must be a whole number of {unit} from 1 to {top}")
        return None if value is None else int(value)

    return check


def _credential(name: str, provider: str) -> Check:
    def check(value: str | None, data: dict[str, Any]) -> str | None:
        if value is None and provider in data.get("providers", ("demo",)):
            raise problem(f"{name}: required because PROVIDERS includes {provider}")
        return value

    return check


def _database_url(value: str | None, _data: dict[str, Any]) -> str | None:
    if value is not None and not re.fullmatch(r"postgres(?:ql)?://\S+", value):
        raise problem("DATABASE_URL: must be a postgresql:// URL (leave it unset for the embedded TinyDB file)")
    return value


def _language(value: str | None, _data: dict[str, Any]) -> str | None:
    lang = None if value is None else normalize_language(value)
    if value is not None and lang is None:
        raise problem(f"DEFAULT_LANGUAGE: {value!r} is not one of {', '.join(SUPPORTED)}")
    return lang


def _timezone(value: str | None, _data: dict[str, Any]) -> str | None:
    try:
        if value is not None:
            ZoneInfo(value)
        return value
    except (ZoneInfoNotFoundError, ValueError):
        raise problem(f"DEFAULT_TIMEZONE: {value!r} is not a time zone name like Europe/Oslo") from None


def _log_level(value: str | None, _data: dict[str, Any]) -> str | None:
    if value is not None and value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise problem("LOG_LEVEL: must be DEBUG, INFO, WARNING or ERROR")
    return None if value is None else value.upper()


def _providers(value: str | None, _data: dict[str, Any]) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))
    unknown = [p for p in names if p not in KNOWN_PROVIDERS]
    if unknown or not names:
        raise problem(f"PROVIDERS: unknown {', '.join(unknown) or '(empty)'}; known: {', '.join(KNOWN_PROVIDERS)}")
    return names


def _telegram_token(value: str | None, _data: dict[str, Any]) -> str | None:
    if value is not None and not _TOKEN.match(value):
        raise problem("TELEGRAM_TOKEN: does not look like a bot token from @BotFather (digits:letters)")
    return value


def _webhook_url(value: str | None, data: dict[str, Any]) -> str | None:
    url: str | None = _url("TELEGRAM_WEBHOOK_URL")(value, data)
    if url is not None and data.get("telegram_token") is None:
        raise problem("TELEGRAM_WEBHOOK_URL: set TELEGRAM_TOKEN too")
    return url


def _webhook_secret(value: str | None, data: dict[str, Any]) -> str | None:
    secret = _matching("TELEGRAM_WEBHOOK_SECRET", r"^[A-Za-z0-9_-]{1,256}$", "1-256 characters of A-Z, a-z, 0-9, _ and -")
    if secret(value, data) is None and data.get("telegram_webhook_url") is not None:
        raise problem("TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set")
    return value


def _matrix_part(value: str | None, data: dict[str, Any]) -> str | None:
    """MATRIX_PASSWORD and MATRIX_ACCESS_TOKEN mean nothing without MATRIX_HOMESERVER."""
    if value is not None and data.get("matrix_homeserver") is None:
        raise problem("MATRIX_HOMESERVER: required when MATRIX_USER/PASSWORD/ACCESS_TOKEN are set")
    return value


def _matrix_user(value: str | None, data: dict[str, Any]) -> str | None:
    if data.get("matrix_homeserver") is not None and (value is None or not _MXID.match(value)):
        raise problem("MATRIX_USER: required with MATRIX_HOMESERVER, like @esimbot:example.org")
    return _matrix_part(value, data)


def _matrix_access_token(value: str | None, data: dict[str, Any]) -> str | None:
    if data.get("matrix_homeserver") is not None and value is None and data.get("matrix_password") is None:
        raise problem("MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN: one is required with MATRIX_HOMESERVER")
    return _matrix_part(value, data)


def _matrix_e2ee(value: str | None, _data: dict[str, Any]) -> bool | None:
    if value is not None and value.lower() not in ("0", "1", "true", "false", "yes", "no"):
        raise problem("MATRIX_E2EE: must be 1 or 0")
    return None if value is None else value.lower() in ("1", "true", "yes")


def _matrix_allowed(value: str | None, _data: dict[str, Any]) -> tuple[str, ...] | None:
    return None if value is None else tuple(p.strip() for p in value.split(",") if p.strip())


def _web_port(value: str | None, data: dict[str, Any]) -> int | None:
    if value is not None and (not value.isdigit() or not 1 <= int(value) <= 65535):
        raise problem("WEB_PORT: must be a port number from 1 to 65535")
    if value is None and data.get("telegram_webhook_url") is not None:
        raise problem("WEB_PORT: required with TELEGRAM_WEBHOOK_URL (the webhook is served there)")
    return None if value is None else int(value)


def _home_url(value: str | None, data: dict[str, Any]) -> str | None:
    url: str | None = _url("HOME_URL")(value, data)
    if url is not None and data.get("web_port") is None:
        raise problem("HOME_URL: needs WEB_PORT (the page is served by the bot's web server)")
    return None if url is None else f"{url}/"  # the page is the folder: /home/, its files beside it


CHECKS: dict[str, Check] = {  # by setting; a setting not here takes its text as it is
    "database_url": _database_url,
    "default_language": _language,
    "default_timezone": _timezone,
    "log_level": _log_level,
    "providers": _providers,
    "telegram_token": _telegram_token,
    "telegram_api_url": _url("TELEGRAM_API_URL"),
    "telegram_webhook_url": _webhook_url,
    "telegram_webhook_secret": _webhook_secret,
    "matrix_homeserver": _url("MATRIX_HOMESERVER"),
    "matrix_user": _matrix_user,
    "matrix_password": _matrix_part,
    "matrix_access_token": _matrix_access_token,
    "matrix_e2ee": _matrix_e2ee,
    "matrix_allowed": _matrix_allowed,
    "airalo_client_id": _credential("AIRALO_CLIENT_ID", "airalo"),
    "airalo_client_secret": _credential("AIRALO_CLIENT_SECRET", "airalo"),
    "airalo_base_url": _url("AIRALO_BASE_URL"),
    "esimaccess_access_code": _credential("ESIMACCESS_ACCESS_CODE", "esimaccess"),
    "esimaccess_base_url": _url("ESIMACCESS_BASE_URL"),
    "esimaccess_webhook_path": _matching(
        "ESIMACCESS_WEBHOOK_PATH", r"^[A-Za-z0-9_-]{16,128}$", "16-128 characters of A-Z, a-z, 0-9, _ and -"
    ),
    "esimgo_api_key": _credential("ESIMGO_API_KEY", "esimgo"),
    "esimgo_base_url": _url("ESIMGO_BASE_URL"),
    "web_port": _web_port,
    "home_url": _home_url,
    "demo_poll_minutes": _whole("DEMO_POLL_MINUTES", "minutes", 1440),
    "poll_inactive_hours": _whole("POLL_INACTIVE_HOURS", "hours", 168),
    "poll_terminal_hours": _whole("POLL_TERMINAL_HOURS", "hours", 720),
    "db_compact_kib": _whole("DB_COMPACT_KIB", "KiB", 1 << 20),
}
