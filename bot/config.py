"""Settings: every environment variable, checked at once (``.env.example`` documents them).

``Settings.from_env(os.environ)`` returns frozen settings or raises ``ConfigError`` naming
every bad or missing variable. Secrets are kept out of ``repr`` so a logged Settings never
leaks a token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError
from bot.i18n import SUPPORTED, normalize_language

KNOWN_PROVIDERS = ("demo", "airalo", "esimaccess", "esimgo")
_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
_MXID = re.compile(r"^@[^:\s]+:[^\s]+$")
_MAX_VALUE = 4096


@dataclass(frozen=True)
class Settings:
    db_path: str = "./data/bot.json"
    database_url: str | None = field(default=None, repr=False)  # postgresql://…: several workers share it
    default_language: str = "en"
    default_timezone: str = "Europe/Oslo"
    providers: tuple[str, ...] = ("demo",)
    log_level: str = "INFO"
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    matrix_homeserver: str | None = None
    matrix_user: str | None = None
    matrix_password: str | None = field(default=None, repr=False)
    matrix_access_token: str | None = field(default=None, repr=False)
    matrix_e2ee: bool = False
    matrix_allowed: tuple[str, ...] = ()
    airalo_client_id: str | None = field(default=None, repr=False)
    airalo_client_secret: str | None = field(default=None, repr=False)
    airalo_base_url: str = "https://partners-api.airalo.com/v2"
    esimaccess_access_code: str | None = field(default=None, repr=False)
    esimaccess_secret_key: str | None = field(default=None, repr=False)
    esimaccess_base_url: str = "https://api.esimaccess.com/api/v1/open"
    esimaccess_webhook_path: str | None = field(default=None, repr=False)
    esimgo_api_key: str | None = field(default=None, repr=False)
    esimgo_base_url: str = "https://api.esim-go.com/v2.5"
    web_host: str = "127.0.0.1"
    web_port: int | None = None
    demo_poll_minutes: int = 60
    poll_inactive_hours: int = 6  # a line not yet activated is looked at this often
    poll_terminal_hours: int = 24  # a recycled or cancelled eSIM: only to notice a reactivation
    db_compact_kib: int = 8192  # the journal is folded into a new snapshot past this size

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_token is not None

    @property
    def matrix_enabled(self) -> bool:
        return self.matrix_homeserver is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and check every variable; raise ConfigError listing all problems."""
        problems: list[str] = []
        values: dict[str, object] = {}

        def get(name: str) -> str | None:
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                return None
            if len(raw) > _MAX_VALUE or "\x00" in raw:
                problems.append(f"{name}: value is too long or contains NUL bytes")
                return None
            return raw.strip()

        def url(name: str, key: str) -> None:
            value = get(name)
            if value is None:
                return
            if not re.fullmatch(r"https?://[^\s/?#]+(?:[/?#]\S*)?", value):  # the whole value, no spaces
                problems.append(f"{name}: must be an http:// or https:// URL")
            else:
                values[key] = value.rstrip("/")

        if (v := get("DB_PATH")) is not None:
            values["db_path"] = v
        if (v := get("DATABASE_URL")) is not None:
            if re.fullmatch(r"postgres(?:ql)?://\S+", v):
                values["database_url"] = v
            else:
                problems.append("DATABASE_URL: must be a postgresql:// URL (leave it unset for the embedded TinyDB file)")
        if (v := get("DEFAULT_LANGUAGE")) is not None:
            lang = normalize_language(v)
            if lang is None:
                problems.append(f"DEFAULT_LANGUAGE: {v!r} is not one of {', '.join(SUPPORTED)}")
            else:
                values["default_language"] = lang
        if (v := get("DEFAULT_TIMEZONE")) is not None:
            try:
                ZoneInfo(v)
                values["default_timezone"] = v
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(f"DEFAULT_TIMEZONE: {v!r} is not a time zone name like Europe/Oslo")
        if (v := get("LOG_LEVEL")) is not None:
            if v.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
                problems.append("LOG_LEVEL: must be DEBUG, INFO, WARNING or ERROR")
            else:
                values["log_level"] = v.upper()
        if (v := get("PROVIDERS")) is not None:
            names = tuple(dict.fromkeys(p.strip().lower() for p in v.split(",") if p.strip()))
            unknown = [p for p in names if p not in KNOWN_PROVIDERS]
            if unknown or not names:
                problems.append(f"PROVIDERS: unknown {', '.join(unknown) or '(empty)'}; known: {', '.join(KNOWN_PROVIDERS)}")
            else:
                values["providers"] = names
        providers = values.get("providers", ("demo",))
        assert isinstance(providers, tuple)

        token = get("TELEGRAM_TOKEN")
        if token is not None:
            if _TOKEN.match(token):
                values["telegram_token"] = token
            else:
                problems.append("TELEGRAM_TOKEN: does not look like a bot token from @BotFather (digits:letters)")
        url("TELEGRAM_API_URL", "telegram_api_url")
        url("TELEGRAM_WEBHOOK_URL", "telegram_webhook_url")
        if (v := get("TELEGRAM_WEBHOOK_SECRET")) is not None:
            if not re.match(r"^[A-Za-z0-9_-]{1,256}$", v):
                problems.append("TELEGRAM_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and -")
            else:
                values["telegram_webhook_secret"] = v
        if "telegram_webhook_url" in values and "telegram_webhook_secret" not in values:
            problems.append("TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set")
        if "telegram_webhook_url" in values and "telegram_token" not in values:
            problems.append("TELEGRAM_WEBHOOK_URL: set TELEGRAM_TOKEN too")

        url("MATRIX_HOMESERVER", "matrix_homeserver")
        m_user, m_pass, m_tok = get("MATRIX_USER"), get("MATRIX_PASSWORD"), get("MATRIX_ACCESS_TOKEN")
        if "matrix_homeserver" in values:
            if m_user is None or not _MXID.match(m_user):
                problems.append("MATRIX_USER: required with MATRIX_HOMESERVER, like @esimbot:example.org")
            else:
                values["matrix_user"] = m_user
            if m_pass is None and m_tok is None:
                problems.append("MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN: one is required with MATRIX_HOMESERVER")
            values["matrix_password"], values["matrix_access_token"] = m_pass, m_tok
        elif m_user or m_pass or m_tok:
            problems.append("MATRIX_HOMESERVER: required when MATRIX_USER/PASSWORD/ACCESS_TOKEN are set")
        if (v := get("MATRIX_E2EE")) is not None:
            if v.lower() not in ("0", "1", "true", "false", "yes", "no"):
                problems.append("MATRIX_E2EE: must be 1 or 0")
            else:
                values["matrix_e2ee"] = v.lower() in ("1", "true", "yes")
        if (v := get("MATRIX_ALLOWED")) is not None:
            values["matrix_allowed"] = tuple(p.strip() for p in v.split(",") if p.strip())

        _provider_credentials(get, url, providers, values, problems)

        if (v := get("WEB_HOST")) is not None:
            values["web_host"] = v
        if (v := get("WEB_PORT")) is not None:
            if not v.isdigit() or not 1 <= int(v) <= 65535:
                problems.append("WEB_PORT: must be a port number from 1 to 65535")
            else:
                values["web_port"] = int(v)
        if "telegram_webhook_url" in values and "web_port" not in values:
            problems.append("WEB_PORT: required with TELEGRAM_WEBHOOK_URL (the webhook is served there)")
        for name, key, unit, top in _WHOLE_NUMBERS:
            if (v := get(name)) is not None:
                if not v.isdigit() or not 1 <= int(v) <= top:
                    problems.append(f"{name}: must be a whole number of {unit} from 1 to {top}")
                else:
                    values[key] = int(v)
        if problems:
            raise ConfigError(problems)
        return cls(**values)  # type: ignore[arg-type]


_WHOLE_NUMBERS = (  # variable, setting, unit, largest value
    ("DEMO_POLL_MINUTES", "demo_poll_minutes", "minutes", 1440),
    ("POLL_INACTIVE_HOURS", "poll_inactive_hours", "hours", 168),
    ("POLL_TERMINAL_HOURS", "poll_terminal_hours", "hours", 720),
    ("DB_COMPACT_KIB", "db_compact_kib", "KiB", 1 << 20),
)

_CREDENTIALS = {
    "airalo": (("AIRALO_CLIENT_ID", "airalo_client_id"), ("AIRALO_CLIENT_SECRET", "airalo_client_secret")),
    "esimaccess": (("ESIMACCESS_ACCESS_CODE", "esimaccess_access_code"),),
    "esimgo": (("ESIMGO_API_KEY", "esimgo_api_key"),),
}


def _provider_credentials(get, url, providers, values, problems) -> None:  # type: ignore[no-untyped-def]
    for provider, pairs in _CREDENTIALS.items():
        for var, key in pairs:
            value = get(var)
            if value is not None:
                values[key] = value
            elif provider in providers:
                problems.append(f"{var}: required because PROVIDERS includes {provider}")
        url(f"{provider.upper()}_BASE_URL", f"{provider}_base_url")
    if (v := get("ESIMACCESS_SECRET_KEY")) is not None:
        values["esimaccess_secret_key"] = v  # optional: when set, requests are signed
    if (v := get("ESIMACCESS_WEBHOOK_PATH")) is not None:
        if not re.match(r"^[A-Za-z0-9_-]{16,128}$", v):
            problems.append("ESIMACCESS_WEBHOOK_PATH: 16-128 characters of A-Z, a-z, 0-9, _ and -")
        else:
            values["esimaccess_webhook_path"] = v
