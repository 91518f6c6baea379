"""Settings: every environment variable, checked at once (``.env.example`` documents them).

``Settings.from_env(os.environ)`` reads the variables through pydantic-settings and returns
frozen settings, or raises ``ConfigError`` naming every bad or missing variable. Secrets are
``SecretStr`` (``reveal`` gives the value to the code that uses it), so a logged Settings
never leaks a token. ``Settings(**values)`` builds typed settings for code and tests: the
variables' rules (checks.py) apply only to what comes from the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Annotated, Any

from pydantic import SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from bot.config_checks import CHECKS, KNOWN_PROVIDERS, clean
from bot.errors import ConfigError

__all__ = ["KNOWN_PROVIDERS", "Settings", "reveal"]

Secret = SecretStr | None
_FROM_ENV = ContextVar("_FROM_ENV", default=False)  # the variables' rules apply (from_env)


class Settings(BaseSettings):
    """One field per variable: the field ``db_path`` is the variable ``DB_PATH``."""

    model_config = SettingsConfigDict(frozen=True, case_sensitive=False, validate_default=True, extra="ignore")

    db_path: str = "./data/bot.json"
    database_url: Secret = None  # postgresql://…: several workers share it
    default_language: str = "en"
    default_timezone: str = "Europe/Oslo"
    providers: Annotated[tuple[str, ...], NoDecode] = ("demo",)
    log_level: str = "INFO"
    telegram_token: Secret = None
    telegram_api_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: Secret = None
    matrix_homeserver: str | None = None
    matrix_user: str | None = None
    matrix_password: Secret = None
    matrix_access_token: Secret = None
    matrix_e2ee: bool = False
    matrix_allowed: Annotated[tuple[str, ...], NoDecode] = ()
    airalo_client_id: Secret = None
    airalo_client_secret: Secret = None
    airalo_base_url: str = "https://partners-api.airalo.com/v2"
    esimaccess_access_code: Secret = None
    esimaccess_secret_key: Secret = None
    esimaccess_base_url: str = "https://api.esimaccess.com/api/v1/open"
    esimaccess_webhook_path: Secret = None
    esimgo_api_key: Secret = None
    esimgo_base_url: str = "https://api.esim-go.com/v2.5"
    web_host: str = "127.0.0.1"
    web_port: int | None = None
    home_url: str | None = None  # the home screen's public address (https://…/home/), served on WEB_PORT
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

    def secrets(self) -> list[str]:
        """Every secret's value, for the log filter that masks them."""
        return [v.get_secret_value() for v in self.__dict__.values() if isinstance(v, SecretStr)]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # the library passes all four by name
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        del env_settings, dotenv_settings, file_secret_settings
        return (init_settings,)  # the environment is read in one place: from_env

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and check every variable of ``env``; raise ConfigError listing all problems."""
        raw = _EnvMapping(cls, env)()
        reading = _FROM_ENV.set(True)
        try:
            return cls(**raw)
        except ValidationError as exc:
            raise ConfigError(_problems(exc)) from None  # the pydantic error quotes the values
        finally:
            _FROM_ENV.reset(reading)

    @field_validator("*", mode="before")
    @classmethod
    def _variable(cls, value: Any, info: ValidationInfo) -> Any:
        if not _FROM_ENV.get():
            return value  # keyword construction: typed values, as given
        name = info.field_name
        assert name is not None
        text = clean(name.upper(), value) if isinstance(value, str) else None
        check = CHECKS.get(name)
        got = check(text, info.data) if check else text
        return cls.model_fields[name].default if got is None else got


class _EnvMapping(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._mapping = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # the variables are spelled in capitals, as always (db_path=... is not DB_PATH)
        return {name.lower(): value for name, value in self._mapping.items() if name.isupper()}


def _problems(exc: ValidationError) -> list[str]:
    found: list[str] = []
    for error in exc.errors(include_input=False, include_url=False):
        if error["type"] == "config":
            found.append(error["msg"])
        else:  # the library's own wording, after the variable's name
            found.append(f"{str(error['loc'][0]).upper()}: {error['msg']}")
    return list(dict.fromkeys(found))


def reveal(secret: SecretStr | None) -> str | None:
    """The secret's value, for the one place that sends it (never for a log line)."""
    return None if secret is None else secret.get_secret_value()
