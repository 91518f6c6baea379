"""Fixtures: the Telegram Bot API emulator (Node, one per session) and the bot as a real process.

The emulator is ``telegram-test-api`` 4.2.1 started by ``emulator.js`` (the compatibility
shim, shared/harness.md section 1) on a free 127.0.0.1 port; ``make e2e-telegram-deps``
installs it into ``.cache/telegram-emulator``. Each test gets its own bot token, so tests
share the emulator without seeing each other's messages. Missing node or a missing install
fails the tests with a message saying what to run: they never skip silently.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import LoggedBot, free_port, stop_process, wait_for
from tests.e2e.telegram.client import TelegramClient

ROOT = Path(__file__).resolve().parents[3]
INSTALL = ROOT / ".cache" / "telegram-emulator" / "node_modules"
SCRIPT = Path(__file__).with_name("emulator.js")
CLOCK_START = "2026-03-02T07:00:00Z"  # a Monday, 08:00 in Oslo: outside the default quiet hours
STOP_TIMEOUT = 10  # seconds for SIGTERM, then again for SIGKILL


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running emulator."""
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        pytest.fail(
            "node and npm are needed for the Telegram end-to-end tests: apt-get install nodejs npm, then make e2e-telegram-deps"
        )
    if not (INSTALL / "telegram-test-api" / "package.json").exists():
        pytest.fail(f"the Telegram emulator is not installed in {INSTALL.parent}: run make e2e-telegram-deps")
    port = free_port()
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [node, str(SCRIPT), str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NODE_PATH": str(INSTALL)},
            cwd=ROOT,
        )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool | None:
        if proc.poll() is not None:
            pytest.fail(f"the emulator exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{base}/bot1:probe/getMe", timeout=1).json()["result"]["is_bot"] or None
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    try:
        wait_for(ready, "the Telegram emulator to answer", deadline=20)
        yield base
    finally:
        stop_process(proc, STOP_TIMEOUT)


@dataclass
class BotProcess(LoggedBot):
    """The bot running as ``python -m bot`` against the emulator, and the test's client for it."""

    proc: subprocess.Popen[bytes]
    client: TelegramClient
    token: str
    log: Path
    expect_exit: bool = False


def new_token() -> str:
    """A token of the shape @BotFather gives, unique per bot (the emulator keys chats by token)."""
    return f"{secrets.randbelow(10**9) + 10**9}:AA{secrets.token_urlsafe(30)[:33]}"


@pytest.fixture
def start_bot(emulator: str, tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    """Start the bot; extra keyword arguments become environment variables. At teardown the
    bot is stopped by PID, must exit cleanly, and its log must hold no token and no trace."""
    started: list[BotProcess] = []

    def start(*, wait: str | None = "is polling for updates", expect_exit: bool = False, **env: str) -> BotProcess:
        token = env.pop("TELEGRAM_TOKEN", None) or new_token()
        n = len(started)
        log = tmp_path / f"bot{n}.log"
        full = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MATRIX_", "TEST_"))}
        full.update(
            {
                "TELEGRAM_TOKEN": token,
                "TELEGRAM_API_URL": emulator,
                "DB_PATH": str(tmp_path / f"bot{n}.json"),
                "PROVIDERS": "demo",
                "LOG_LEVEL": "INFO",
                "TEST_CLOCK_START": CLOCK_START,
                "PYTHONUNBUFFERED": "1",
            }
        )
        full.update(env)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.run_bot"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=full,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
            )
        bot = BotProcess(proc, TelegramClient(emulator, token), token, log, expect_exit)
        started.append(bot)
        if wait:
            bot.wait_log(wait)
        return bot

    yield start
    for bot in started:
        code = stop_process(bot.proc, STOP_TIMEOUT)
        bot.client.close()
        text = bot.log_text()
        assert bot.token not in text and bot.token.split(":")[1] not in text, "the bot token leaked into the log"
        if not bot.expect_exit:
            assert code == 0, f"the bot exited with {code}:\n{text[-3000:]}"
            assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
