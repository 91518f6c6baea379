"""Three workers on one PostgreSQL database, in webhook mode behind a round-robin proxy, and
the leader killed with SIGKILL in the middle of a storm of reminders (issue 16).

Every worker answers the updates the proxy hands it; the one holding the advisory lock runs
the job loop (and so every delivery). The test asserts: a new leader within 10 seconds, every
alert delivered, at most one repeat for the kill, one order for a double-tapped top-up whose
two taps reach two workers, a long button that works on a worker that did not send it, and
the per-second message counts within Telegram's limits.
"""

from __future__ import annotations

import collections
import http.server
import itertools
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.e2e.processes import free_port, stop_process, wait_for
from tests.e2e.telegram.client import ChatRef, Person, TelegramClient, buttons, private
from tests.e2e.telegram.conftest import ROOT, STOP_TIMEOUT, new_token
from tests.postgres_server import Server

pytestmark = pytest.mark.e2e
CHATS = 16
FAILOVER = 10.0  # seconds a new leader may take


class RoundRobinProxy:
    """A tiny HTTP proxy: each POST goes to the next worker that accepts a connection."""

    def __init__(self, ports: list[int]) -> None:
        self.ports, self.hits = ports, collections.Counter[int]()
        turn, lock = itertools.cycle(range(len(ports))), threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                with lock:
                    start = next(turn)
                for k in range(len(proxy.ports)):  # each worker once, from this request's turn on
                    port = proxy.ports[(start + k) % len(proxy.ports)]
                    try:
                        answer = httpx.post(f"http://127.0.0.1:{port}{self.path}", content=body, headers=headers, timeout=30)
                    except httpx.TransportError:
                        continue  # a dead worker: the next one
                    if answer.status_code == 503:
                        continue  # still starting: the next one (Telegram would send it again later)
                    proxy.hits[port] += 1
                    self.send_response(answer.status_code)
                    self.end_headers()
                    return
                self.send_response(502)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        class Server(http.server.ThreadingHTTPServer):
            request_queue_size = 128  # the emulator posts a burst at once and never retries a refused one

        self.server = Server(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Worker:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def health(self) -> dict[str, object] | None:
        try:
            return dict(httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).json())
        except (httpx.HTTPError, ValueError):
            return None


@pytest.fixture
def workers(emulator: str, postgres: Server, tmp_path: Path) -> Iterator[tuple[list[Worker], TelegramClient, str]]:
    token, secret, url = new_token(), secrets.token_urlsafe(24), postgres.database()
    ports = [free_port() for _ in range(3)]
    proxy = RoundRobinProxy(ports)
    started: list[Worker] = []
    for n, port in enumerate(ports):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MATRIX_", "TEST_"))}
        env.update(
            {
                "TELEGRAM_TOKEN": token,
                "TELEGRAM_API_URL": emulator,
                "DATABASE_URL": url,
                "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{proxy.port}/telegram/hook",
                "TELEGRAM_WEBHOOK_SECRET": secret,
                "WEB_PORT": str(port),
                "PROVIDERS": "demo",
                "DB_PATH": str(tmp_path / f"w{n}.json"),
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        log = tmp_path / f"worker{n}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot"], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, stdin=subprocess.DEVNULL
            )
        started.append(Worker(port, proc, log))
    client = TelegramClient(emulator, token)
    try:
        for w in started:
            wait_for(lambda w=w: w.health(), f"worker on {w.port} to answer /healthz", deadline=60)  # type: ignore[misc]
        yield started, client, url
    finally:
        proxy.close()
        client.close()
        for w in started:
            code = stop_process(w.proc, STOP_TIMEOUT)
            text = w.log.read_text(errors="replace")
            assert token not in text and "Traceback" not in text, text[-3000:]
            assert code in (0, -9), f"worker exited with {code}: {text[-3000:]}"


def leaders(workers: list[Worker]) -> list[Worker]:
    return [w for w in workers if w.proc.poll() is None and (w.health() or {}).get("role") == "leader"]


def test_three_workers_share_updates_and_a_new_leader_takes_over_after_a_kill(
    workers: tuple[list[Worker], TelegramClient, str],
) -> None:
    crew, tg, url = workers
    first = wait_for(lambda: leaders(crew) or None, "one worker to lead", deadline=20)
    assert len(first) == 1
    people = [Person(7000 + n, f"P{n}", "en") for n in range(CHATS)]
    chats = [private(p) for p in people]
    for person, chat in zip(people, chats, strict=True):
        assert "Saved" in tg.ask(person, chat, "/remind quiet off")["text"]
        assert "tracked by hand" in tg.ask(person, chat, f"/link manual telenor l{person.id} 10 31.12.2027")["text"]

    # a button whose command is too long for Telegram's 64 bytes travels as a token; the press
    # reaches the next worker in the proxy's turn (not the one that sent it) and still works,
    # answered in a new message (the balance stays)
    mei, label = Person(7100, "Mei", "zh"), "妈妈的手机" * 4
    linked = tg.ask(mei, private(mei), f"/link manual telenor {label} 10 31.12.2027")
    token = buttons(linked)[-1]  # Reminders: /remind <label>, 67 bytes
    assert token.startswith("#"), buttons(linked)
    tg.press(mei, private(mei), linked, token)
    assert label in tg.reply(private(mei))["text"]
    assert tg.bot_message(int(linked["message_id"]))["text"] == linked["text"]
    assert all(not a.get("text") for a in tg.answers()), tg.answers()  # no "this button no longer works"

    # the storm: every line drops below 5 %; the leader dies half-way through
    killed_at = 0.0
    for n, (person, chat) in enumerate(zip(people, chats, strict=True)):
        if n == CHATS // 2:
            first[0].proc.kill()
            killed_at = time.monotonic()
        tg.say(person, chat, f"/left l{person.id} 100MB")
    survivors = [w for w in crew if w is not first[0]]
    second = wait_for(lambda: leaders(survivors) or None, "a new leader", deadline=FAILOVER + 5)
    took = time.monotonic() - killed_at
    assert len(second) == 1 and took <= FAILOVER, took

    def alerts(chat: ChatRef) -> list[dict[str, object]]:
        return [m for m in tg.pending(chat) if str(m.get("text", "")).startswith("⚠️")]

    for chat in chats:
        wait_for(lambda chat=chat: alerts(chat) or None, f"the alert in chat {chat.id}", deadline=60)  # type: ignore[misc]
    counts = [len(alerts(chat)) for chat in chats]
    assert sum(counts) - CHATS <= 1, counts  # at most one repeat for the one kill

    # a burst of top-ups, each tapped twice; the two taps reach two different workers: one order each
    buyers = [(Person(7990 + n, f"B{n}", "en"), sim) for n, sim in enumerate(("12", "20", "38"))]
    answered = len(tg.answers())
    for buyer, sim in buyers:
        chat = private(buyer)
        tg.ask(buyer, chat, f"/link 89470000000000000{sim} DEMO{sim} mine")
        plans = tg.ask(buyer, chat, "/renew mine")
        tg.press(buyer, chat, plans, buttons(plans)[0])
        confirm = wait_for(
            lambda chat=chat, plans=plans: (
                next(  # type: ignore[misc]
                    (m for m in tg.pending(chat) if "/confirm" in str(buttons(m))), None
                )
                or _edited_with_confirm(tg, plans)
            ),
            "the confirmation",
        )
        tap = buttons(confirm)[0]
        tg.press(buyer, chat, confirm, tap)
        tg.press(buyer, chat, confirm, tap)
    wait_for(lambda: len(tg.answers()) >= answered + 3 * len(buyers) or None, "every tap answered")  # a plan and two confirms
    with psycopg.connect(url) as conn:
        orders = conn.execute("SELECT household_id, count(*) FROM orders GROUP BY household_id").fetchall()
    assert sorted(n for _h, n in orders) == [1] * len(buyers), orders

    # the alerts, all sent by whichever worker led, kept Telegram's pace (the emulator's clock
    # counts whole seconds); replies to commands are each worker's own and are not counted here
    sent = [m for m in tg._post("/getBotMessages", {"token": tg.token}) if str(m.get("text", "")).startswith("⚠️")]
    per_second = collections.Counter(m.get("date") for m in sent)
    per_chat_second = collections.Counter((m.get("chat", {}).get("id"), m.get("date")) for m in sent)
    assert len(sent) >= CHATS and max(per_second.values()) <= 30 and max(per_chat_second.values()) <= 1


def _edited_with_confirm(tg: TelegramClient, plans: dict[str, object]) -> dict[str, object] | None:
    message = tg.bot_message(int(str(plans["message_id"])))
    return message if any(b.startswith("/confirm ") for b in buttons(message)) else None
