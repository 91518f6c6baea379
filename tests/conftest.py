"""Shared fixtures: the console as a real subprocess, and the bot in-process.

``console`` drives ``python -m bot console --jsonl`` exactly as a program would (design.md
section 10): one JSON object per line in, JSON objects out up to ``{"idle": true}``.
``bot`` wires the same application in-process (``bot.app.build``) with a FakeClock and
calls ``router.handle`` directly, for fast tests.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from bot.app import LOCALES, build
from bot.clock import FakeClock
from bot.config import Settings
from bot.i18n import Catalogs, space_zh
from bot.messages import Address, Incoming, Reply
from bot.store import MemoryStore, TinyDBStore
from tests import postgres_server
from tests.storeview import StoreView, run_now

# Property tests run the same examples on every run, so a failure in `make test` (or CI)
# reproduces; HYPOTHESIS_EXPLORE=1 looks for new ones (a case found that way becomes an @example).
settings.register_profile("fixed", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("HYPOTHESIS_EXPLORE") else "fixed")

ROOT = Path(__file__).resolve().parent.parent
START = "2026-01-01T08:00:00Z"
START_AT = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
READ_TIMEOUT = 15.0  # seconds for one answer; a hung bot fails the test instead of hanging it

DEMO = {
    "DEMO12": "8947000000000000012",
    "DEMO20": "8947000000000000020",
    "DEMO38": "8947000000000000038",
    "DEMO46": "8947000000000000046",
    "DEMO53": "8947000000000000053",
    "DEMO61": "8947000000000000061",
}
FULL_ICCID = re.compile(r"\d{18,}")
_CATALOGS = Catalogs.load(LOCALES)


def en_text(msgid: str) -> str:
    """The English catalog text of a message id (placeholders left in)."""
    return _CATALOGS.translator("en")._tr.gettext(msgid)


def fixed_part(msgid: str, lang: str = "en") -> str:
    """The longest placeholder-free piece of a message: what every rendering contains."""
    tr = _CATALOGS.translator(lang)._tr
    forms = (
        {tr.ngettext(msgid, msgid + "_plural", n) for n in (1, 2, 5)}
        if tr.ngettext(msgid, msgid + "_plural", 2) != msgid + "_plural"
        else {tr.gettext(msgid)}
    )
    texts = [space_zh(f) if lang == "zh" else f for f in forms]  # as the translator renders Chinese
    pieces = [p.strip() for p in re.split(r"\{[^}]*\}", texts[0])]
    if len(texts) > 1:  # plural forms differ in a word: the longest run of words all forms share
        words = [w for p in pieces for w in [p.split(" ")]]
        pieces = [" ".join(ws[i:j]) for ws in words for i in range(len(ws)) for j in range(i + 1, len(ws) + 1)]
        pieces = [p for p in pieces if all(p in t for t in texts)]
    return max(pieces, key=len).strip()


UNEXPECTED = fixed_part("error.unexpected")


def clean_env(**extra: str) -> dict[str, str]:
    """An environment with no platform credentials (so the console runs) plus ``extra``."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def replies(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The replies among a console's output (reminder alerts may arrive with any input)."""
    return [o for o in out if o.get("kind") == "reply"]


class ConsoleProcess:
    """``python -m bot console --jsonl`` as a subprocess, read line by line with timeouts."""

    def __init__(self, db: Path, *, start: str = START, env: dict[str, str] | None = None) -> None:
        self.db = db
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "console", "--jsonl", "--start", start, "--db", str(db)],
            cwd=ROOT,
            env=env or clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._out: queue.Queue[str | None] = queue.Queue()
        self._err: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self._out.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self._err.append), daemon=True).start()

    @staticmethod
    def _pump(stream: Any, sink: Callable[[Any], None]) -> None:
        for line in stream:
            sink(line)
        sink(None)

    @property
    def stderr(self) -> str:
        return "".join(x for x in self._err if x)

    def _next(self) -> dict[str, Any]:
        try:
            line = self._out.get(timeout=READ_TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no output within {READ_TIMEOUT}s; stderr: {self.stderr[-2000:]}") from None
        if line is None:
            raise AssertionError(f"the console exited (rc={self.proc.poll()}); stderr: {self.stderr[-2000:]}")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"stdout line is not JSON: {line[:300]!r}") from None
        assert isinstance(obj, dict), line
        return obj

    def send_raw(self, line: str) -> list[dict[str, Any]]:
        """Write one raw input line; return every output object before ``{"idle": true}``."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.rstrip("\n") + "\n")
        self.proc.stdin.flush()
        out = []
        while True:
            obj = self._next()
            if obj == {"idle": True}:
                return out
            assert "idle" not in obj, obj
            out.append(obj)

    def send(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        return self.send_raw(json.dumps(obj, ensure_ascii=False))

    def say(self, text: str, *, chat: str = "c1", user: str = "u1", **fields: Any) -> list[dict[str, Any]]:
        """A message from ``user`` in ``chat``; returns the output objects."""
        return self.send({"chat": chat, "user": user, "text": text, **fields})

    def text(self, text: str, **kw: Any) -> str:
        """The text of the single reply to one message (alerts that came along are skipped)."""
        out = replies(self.say(text, **kw))
        assert len(out) == 1, out
        return str(out[0]["text"])

    def advance(self, duration: str) -> list[dict[str, Any]]:
        return self.send({"advance": duration})

    def close(self, *, expect_rc: int = 0) -> None:
        """EOF on stdin; the console must exit with ``expect_rc`` and print nothing more."""
        if self.proc.poll() is None and self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout=READ_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the console did not exit at EOF") from None
        assert rc == expect_rc, f"exit code {rc}; stderr: {self.stderr[-2000:]}"
        leftover = []
        while True:
            try:
                item = self._out.get(timeout=READ_TIMEOUT)
            except queue.Empty:
                break
            if item is None:
                break
            leftover.append(item)
        assert leftover == [], f"output after the last idle: {leftover}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=READ_TIMEOUT)


@pytest.fixture
def console_factory(tmp_path: Path) -> Iterator[Callable[..., ConsoleProcess]]:
    """Start consoles (``factory(db=..., start=...)``); every one is reaped at teardown."""
    started: list[ConsoleProcess] = []

    def factory(db: Path | None = None, *, start: str = START, env: dict[str, str] | None = None) -> ConsoleProcess:
        proc = ConsoleProcess(db or tmp_path / "bot.json", start=start, env=env)
        started.append(proc)
        return proc

    yield factory
    for proc in started:
        proc.kill()


@pytest.fixture
def console(console_factory: Callable[..., ConsoleProcess]) -> ConsoleProcess:
    return console_factory()


def run_bot(args: list[str], *, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``python -m bot <args>`` to completion (bounded)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env or clean_env(),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


# --- in-process -------------------------------------------------------------------------


@dataclass
class Bot:
    """The real wiring (``bot.app.build``) with a FakeClock; messages go straight to the router."""

    app: Any
    clock: FakeClock
    store: Any

    async def send(
        self,
        text: str,
        *,
        chat: str = "c1",
        user: str = "u1",
        lang: str | None = None,
        group: bool = False,
        admin: bool = False,
        name: str = "",
    ) -> list[Reply]:
        incoming = Incoming(
            address=Address("console", chat, user),
            text=text,
            at=self.clock.now(),
            language=lang,
            is_group=group,
            is_admin=admin,
            display_name=name,
        )
        return await self.app.router.handle(incoming)

    async def text(self, text: str, **kw: Any) -> str:
        replies = await self.send(text, **kw)
        assert len(replies) == 1, replies
        return replies[0].text

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)


def make_bot(store: Any = None, *, start: datetime = START_AT, **settings: Any) -> Bot:
    clock = FakeClock(start)
    store = store if store is not None else MemoryStore()
    app = build(Settings(**settings), clock=clock, console=None, store=store)
    for step in app.startup:  # what App.run does first
        run_now(step())  # type: ignore[arg-type]
    return Bot(app=app, clock=clock, store=StoreView(store))


@pytest.fixture
def bot() -> Bot:
    return make_bot()


@pytest.fixture
def file_bot(tmp_path: Path) -> Iterator[Bot]:
    """Like ``bot`` but on a TinyDBStore file."""
    store = TinyDBStore(str(tmp_path / "bot.json"))
    yield make_bot(store)
    StoreView(store).close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[postgres_server.Server]:
    """A real PostgreSQL server on 127.0.0.1 for the whole run; ``.database()`` gives a new one."""
    with postgres_server.server() as server:
        yield server
