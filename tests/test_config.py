"""Settings.from_env: defaults, every bad value, all problems in one error, secrets hidden."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings, reveal
from bot.errors import ConfigError
from tests.conftest import ROOT, clean_env, run_bot

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_"
AIRALO = {"AIRALO_CLIENT_ID": "airalo-id-123", "AIRALO_CLIENT_SECRET": "airalo-secret-456"}


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert str(info.value).count("\n  - ") == len(info.value.problems)  # every problem in the message
    return info.value.problems


def test_empty_env_gives_the_defaults() -> None:
    s = Settings.from_env({})
    assert s == Settings()
    assert s.db_path == "./data/bot.json" and s.default_language == "en" and s.default_timezone == "Europe/Oslo"
    assert s.providers == ("demo",) and s.log_level == "INFO" and s.web_port is None
    assert not s.telegram_enabled and not s.matrix_enabled


def test_blank_values_count_as_unset() -> None:
    env = {name: "  " for name in ("DB_PATH", "TELEGRAM_TOKEN", "MATRIX_HOMESERVER", "WEB_PORT", "PROVIDERS")}
    assert Settings.from_env(env) == Settings()


def test_only_the_capitalised_names_count() -> None:
    assert Settings.from_env({"db_path": "/elsewhere.json", "Web_Port": "x"}) == Settings()


def test_good_values() -> None:
    s = Settings.from_env(
        {
            "DB_PATH": "/data/bot.json",
            "DEFAULT_LANGUAGE": "nb-NO",
            "DEFAULT_TIMEZONE": "Asia/Shanghai",
            "LOG_LEVEL": "debug",
            "PROVIDERS": "demo, airalo,demo",
            **AIRALO,
            "TELEGRAM_TOKEN": f" {TOKEN} ",
            "TELEGRAM_API_URL": "http://127.0.0.1:8081/",
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg",
            "TELEGRAM_WEBHOOK_SECRET": "s3cret_-X",
            "MATRIX_HOMESERVER": "https://matrix.example.org",
            "MATRIX_USER": "@esimbot:example.org",
            "MATRIX_ACCESS_TOKEN": "syt_abc",
            "MATRIX_E2EE": "yes",
            "MATRIX_ALLOWED": "@a:example.org, @b:example.org",
            "WEB_PORT": "8080",
            "DEMO_POLL_MINUTES": "5",
        }
    )
    assert s.db_path == "/data/bot.json" and s.default_language == "nb" and s.default_timezone == "Asia/Shanghai"
    assert s.log_level == "DEBUG" and s.providers == ("demo", "airalo")
    assert reveal(s.telegram_token) == TOKEN and s.telegram_api_url == "http://127.0.0.1:8081"
    assert s.matrix_e2ee is True and s.matrix_allowed == ("@a:example.org", "@b:example.org")
    assert s.web_port == 8080 and s.demo_poll_minutes == 5
    assert s.telegram_enabled and s.matrix_enabled


BAD = [
    ("DEFAULT_LANGUAGE", {"DEFAULT_LANGUAGE": "de"}),
    ("DEFAULT_TIMEZONE", {"DEFAULT_TIMEZONE": "Europe/Atlantis"}),
    ("DEFAULT_TIMEZONE", {"DEFAULT_TIMEZONE": "../../etc/passwd"}),
    ("LOG_LEVEL", {"LOG_LEVEL": "LOUD"}),
    ("PROVIDERS", {"PROVIDERS": "demo,nosuch"}),
    ("PROVIDERS", {"PROVIDERS": ",,"}),
    ("TELEGRAM_TOKEN", {"TELEGRAM_TOKEN": "not-a-token"}),
    ("TELEGRAM_API_URL", {"TELEGRAM_API_URL": "ftp://127.0.0.1"}),
    ("TELEGRAM_API_URL", {"TELEGRAM_API_URL": "http://bad host/"}),
    ("TELEGRAM_WEBHOOK_URL", {"TELEGRAM_WEBHOOK_URL": "bot.example.org", "TELEGRAM_TOKEN": TOKEN}),
    ("TELEGRAM_WEBHOOK_SECRET", {"TELEGRAM_WEBHOOK_SECRET": "has spaces!"}),
    ("TELEGRAM_WEBHOOK_SECRET", {"TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg", "TELEGRAM_TOKEN": TOKEN}),
    ("TELEGRAM_WEBHOOK_URL", {"TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg", "TELEGRAM_WEBHOOK_SECRET": "abc"}),
    ("MATRIX_HOMESERVER", {"MATRIX_HOMESERVER": "matrix.example.org", "MATRIX_USER": "@b:x", "MATRIX_PASSWORD": "pw"}),
    ("MATRIX_USER", {"MATRIX_HOMESERVER": "https://m.example.org", "MATRIX_PASSWORD": "pw"}),
    ("MATRIX_USER", {"MATRIX_HOMESERVER": "https://m.example.org", "MATRIX_USER": "esimbot", "MATRIX_PASSWORD": "pw"}),
    ("MATRIX_PASSWORD", {"MATRIX_HOMESERVER": "https://m.example.org", "MATRIX_USER": "@b:example.org"}),
    ("MATRIX_HOMESERVER", {"MATRIX_USER": "@b:example.org"}),
    ("MATRIX_HOMESERVER", {"MATRIX_ACCESS_TOKEN": "syt_abc"}),
    ("MATRIX_E2EE", {"MATRIX_E2EE": "maybe"}),
    ("AIRALO_CLIENT_ID", {"PROVIDERS": "airalo", "AIRALO_CLIENT_SECRET": "x"}),
    ("AIRALO_CLIENT_SECRET", {"PROVIDERS": "airalo", "AIRALO_CLIENT_ID": "x"}),
    ("AIRALO_BASE_URL", {"AIRALO_BASE_URL": "partners-api.airalo.com"}),
    ("ESIMACCESS_ACCESS_CODE", {"PROVIDERS": "esimaccess", "ESIMACCESS_SECRET_KEY": "x"}),
    (
        "WEB_PORT",
        {"TELEGRAM_TOKEN": "123:abc", "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg", "TELEGRAM_WEBHOOK_SECRET": "s3cret"},
    ),
    ("ESIMACCESS_BASE_URL", {"ESIMACCESS_BASE_URL": "javascript:alert(1)"}),
    ("ESIMACCESS_WEBHOOK_PATH", {"ESIMACCESS_WEBHOOK_PATH": "short"}),
    ("ESIMGO_API_KEY", {"PROVIDERS": "esimgo"}),
    ("ESIMGO_BASE_URL", {"ESIMGO_BASE_URL": "https://"}),
    ("WEB_PORT", {"WEB_PORT": "0"}),
    ("WEB_PORT", {"WEB_PORT": "70000"}),
    ("WEB_PORT", {"WEB_PORT": "80a"}),
    ("WEB_PORT", {"WEB_PORT": "-1"}),
    ("DEMO_POLL_MINUTES", {"DEMO_POLL_MINUTES": "0"}),
    ("DEMO_POLL_MINUTES", {"DEMO_POLL_MINUTES": "1441"}),
    ("DEMO_POLL_MINUTES", {"DEMO_POLL_MINUTES": "1.5"}),
    ("DB_PATH", {"DB_PATH": "x" * 5000}),
    ("DB_PATH", {"DB_PATH": "a\x00b"}),
]


@pytest.mark.parametrize(("name", "env"), BAD, ids=[f"{n}-{i}" for i, (n, _e) in enumerate(BAD)])
def test_every_bad_value_is_named(name: str, env: dict[str, str]) -> None:
    found = problems(env)
    assert any(p.startswith(name) for p in found), found


def test_several_bad_values_are_listed_at_once() -> None:
    env = {
        "DEFAULT_LANGUAGE": "de",
        "DEFAULT_TIMEZONE": "Mars/Base",
        "WEB_PORT": "99999",
        "LOG_LEVEL": "x",
        "PROVIDERS": "demo,airalo",
        "TELEGRAM_TOKEN": "nope",
        "MATRIX_E2EE": "2",
        "DEMO_POLL_MINUTES": "never",
    }
    found = problems(env)
    names = {p.split(":")[0] for p in found}
    assert {
        "DEFAULT_LANGUAGE",
        "DEFAULT_TIMEZONE",
        "WEB_PORT",
        "LOG_LEVEL",
        "TELEGRAM_TOKEN",
        "MATRIX_E2EE",
        "DEMO_POLL_MINUTES",
        "AIRALO_CLIENT_ID",
        "AIRALO_CLIENT_SECRET",
    } <= names
    assert len(found) == len(set(found))


SECRETS = {
    "TELEGRAM_TOKEN": TOKEN,
    "TELEGRAM_WEBHOOK_SECRET": "whsecret_ABCDEF",
    "MATRIX_PASSWORD": "matrix-pass-XYZ",
    "MATRIX_ACCESS_TOKEN": "syt_matrix_token_QWE",
    "AIRALO_CLIENT_ID": "airalo-client-id-1",
    "AIRALO_CLIENT_SECRET": "airalo-client-secret-2",
    "ESIMACCESS_ACCESS_CODE": "esa-access-code-3",
    "ESIMACCESS_SECRET_KEY": "esa-secret-key-4",
    "ESIMACCESS_WEBHOOK_PATH": "hook_path_0123456789abcdef",
    "ESIMGO_API_KEY": "esimgo-api-key-5",
}


def test_secrets_are_not_in_repr() -> None:
    s = Settings.from_env(
        {
            **SECRETS,
            "PROVIDERS": "demo,airalo,esimaccess,esimgo",
            "MATRIX_HOMESERVER": "https://m.example.org",
            "MATRIX_USER": "@b:example.org",
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg",
            "WEB_PORT": "8080",
        }
    )
    shown = repr(s) + str(s)
    leaked = [name for name, value in SECRETS.items() if value in shown]
    assert leaked == []
    assert reveal(s.esimgo_api_key) == SECRETS["ESIMGO_API_KEY"]  # still there to use


def test_problems_never_quote_secrets() -> None:
    bad_secrets = {
        "TELEGRAM_TOKEN": "secret token with spaces",
        "TELEGRAM_WEBHOOK_SECRET": "secret !! value",
        "ESIMACCESS_WEBHOOK_PATH": "secret/path",
    }
    found = "\n".join(problems(bad_secrets))
    assert "secret" not in found.replace("SECRET", "")


def test_every_variable_is_documented_in_env_example() -> None:
    names = {field.upper() for field in Settings.model_fields}  # each field is one variable
    assert len(names) > 20
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    missing = sorted(n for n in names if not re.search(rf"^#?\s*{n}=", example, re.M))
    assert missing == []


def test_python_m_bot_with_a_bad_env_exits_2_listing_every_problem(tmp_path: Path) -> None:
    env = clean_env(
        DEFAULT_LANGUAGE="klingon", WEB_PORT="http", TELEGRAM_TOKEN="leaky-token-value", DB_PATH=str(tmp_path / "bot.json")
    )
    result = run_bot([], env=env)
    assert result.returncode == 2
    for name in ("DEFAULT_LANGUAGE", "WEB_PORT", "TELEGRAM_TOKEN"):
        assert name in result.stderr
    assert "leaky-token-value" not in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "bot.json").exists()  # nothing started


def test_python_m_bot_console_with_a_bad_env_exits_2() -> None:
    result = run_bot(["console", "--jsonl"], env=clean_env(PROVIDERS="nosuch"))
    assert result.returncode == 2 and "PROVIDERS" in result.stderr


def test_database_url_is_a_postgresql_url_and_never_shown() -> None:
    url = "postgresql://bot:s3cret@127.0.0.1:5432/esimbot"
    settings = Settings.from_env({"DATABASE_URL": url})
    assert reveal(settings.database_url) == url and "s3cret" not in repr(settings)
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings.from_env({"DATABASE_URL": "mysql://x"})
