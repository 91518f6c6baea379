"""Fixtures: a real Synapse (one per session), the bot as a real process, people as nio clients.

Synapse 1.163.2 comes from ``make e2e-matrix-deps`` (its own venv in ``.cache``); without
it the tests fail saying what to run, they never skip. The server binds 127.0.0.1 on a
free port (a port that already answers is refused), its PID is checked while waiting for
it and it is stopped by PID. Each test starts its own bot (``python -m bot`` with
``MATRIX_*``, a temporary ``DB_PATH``, the demo provider and a fake clock) and checks at
teardown that it exited cleanly and logged no secret and no trace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from bot.i18n import space_zh
from tests.e2e.matrix.human import Human
from tests.e2e.matrix.synapse import ROOT, STOP_TIMEOUT, Synapse
from tests.e2e.processes import LoggedBot, free_port, stop_process

CLOCK_START = "2026-03-02T07:00:00Z"  # a Monday, 08:00 in Oslo: outside the default quiet hours
BOT = "@bot:localhost"
ALICE = "@alice:localhost"
BOB = "@bob:localhost"
PASSWORDS = {BOT: "bot-secret-pass", ALICE: "alice-pass", BOB: "bob-pass"}


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    server = Synapse(tmp_path_factory.mktemp("synapse"), free_port())
    try:
        try:
            server.configure()
            server.start()
            for user_id, password in PASSWORDS.items():
                server.register(user_id[1:].split(":")[0], password)
        except (AssertionError, OSError, subprocess.SubprocessError, httpx.HTTPError) as exc:
            pytest.fail(f"could not start Synapse for the Matrix end-to-end tests: {exc}")
        yield server
    finally:
        server.stop()


@dataclass
class MatrixBot(LoggedBot):
    """The bot as ``python -m bot`` on Matrix; ``advance`` moves its fake clock (job queue included)."""

    proc: subprocess.Popen[bytes]
    log: Path
    store: Path
    control: int | None
    expect_exit: bool = False

    def stop(self) -> None:
        assert stop_process(self.proc, STOP_TIMEOUT) == 0, self.log_text()[-3000:]

    def advance(self, duration: str) -> str:
        assert self.control is not None, "start the bot with control=True"
        resp = httpx.post(f"http://127.0.0.1:{self.control}/advance", json={"advance": duration}, timeout=60)
        resp.raise_for_status()
        return str(resp.json()["now"])


@pytest.fixture
def start_bot(synapse: Synapse, tmp_path: Path) -> Iterator[Callable[..., MatrixBot]]:
    started: list[MatrixBot] = []

    def start(*, e2ee: bool = False, control: bool = False, data: Path | None = None, **env: str) -> MatrixBot:
        """Start a bot; ``data`` reuses an earlier bot's data directory (a restart)."""
        n = len(started)
        if data is None:
            data = tmp_path / f"bot{n}"
            data.mkdir()
        full = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MATRIX_", "TEST_"))}
        port = free_port() if control else None
        full.update(
            {
                "MATRIX_HOMESERVER": synapse.base,
                "MATRIX_USER": BOT,
                "MATRIX_PASSWORD": PASSWORDS[BOT],
                "MATRIX_E2EE": "1" if e2ee else "0",
                "DB_PATH": str(data / "bot.json"),
                "PROVIDERS": "demo",
                "LOG_LEVEL": "INFO",
                "TEST_CLOCK_START": CLOCK_START,
                "PYTHONUNBUFFERED": "1",
            }
        )
        if port is not None:
            full["TEST_CONTROL_PORT"] = str(port)
        full.update(env)
        log = data / f"bot{n}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.run_bot"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=full,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
            )
        bot = MatrixBot(proc, log, data / "matrix-store", port)
        started.append(bot)
        bot.wait_log(" on device ")  # "logged in as … on device …" or "resumed session of … on device …"
        return bot

    yield start
    for bot in started:
        code = stop_process(bot.proc, STOP_TIMEOUT)
        text = bot.log_text()
        session = json.loads((bot.store / "session.json").read_text())
        assert PASSWORDS[BOT] not in text, "the Matrix password leaked into the log"
        assert session["access_token"] not in text, "the Matrix access token leaked into the log"
        assert (bot.store / "session.json").stat().st_mode & 0o077 == 0, "session.json must be readable by its owner only"
        keys = bot.store / "cross-signing.json"
        if keys.exists():
            assert keys.stat().st_mode & 0o077 == 0, "cross-signing.json must be readable by its owner only"
            assert not any(seed in text for seed in json.loads(keys.read_text()).values()), "a private key leaked"
        if not bot.expect_exit:
            assert code == 0, f"the bot exited with {code}:\n{text[-3000:]}"
            assert "Traceback" not in text and " ERROR " not in text, text[-3000:]


async def _human(synapse: Synapse, user_id: str, store: Path) -> AsyncIterator[Human]:
    async with Human(synapse.base, user_id, PASSWORDS[user_id], store, encrypted=True) as human:
        yield human


@pytest.fixture
async def alice(synapse: Synapse, tmp_path: Path) -> AsyncIterator[Human]:
    async for human in _human(synapse, ALICE, tmp_path / "alice"):
        yield human


@pytest.fixture
async def bob(synapse: Synapse, tmp_path: Path) -> AsyncIterator[Human]:
    async for human in _human(synapse, BOB, tmp_path / "bob"):
        yield human


_CATALOGS: dict[str, dict[str, str]] = {}


def catalog_text(lang: str, msgid: str, **params: str) -> str:
    """The catalog's text for ``msgid`` up to its first placeholder not given in ``params``,
    so tests follow the translations instead of copying them."""
    if lang not in _CATALOGS:
        with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            _CATALOGS[lang] = {str(m.id): str(m.string) for m in read_po(fh) if m.id and isinstance(m.string, str)}
    text = _CATALOGS[lang][msgid]

    class Cut(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return "\x00"

    rendered = text.format_map(Cut(params))
    return (space_zh(rendered) if lang == "zh" else rendered).split("\x00")[0]
