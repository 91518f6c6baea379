"""The home screen's server side without a browser (issue 28): headers, cookies, rate limits,
Matrix and group links, the page's size and Telegram's ``initData`` check.

The bot is wired by ``bot.app.build`` (FakeClock, demo provider, web server on a free
127.0.0.1 port) and spoken to with httpx; people talk to it through the router.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from bot.app import App, build
from bot.clock import FakeClock
from bot.config import Settings
from bot.home.auth import telegram_visitor
from bot.home.routes import COOKIE
from bot.messages import Address, Incoming, Reply
from bot.store import MemoryStore
from tests.conftest import DEMO, FULL_ICCID

START_AT = datetime(2026, 1, 10, 11, 0, tzinfo=UTC)
Say = Callable[..., Awaitable[list[Reply]]]


class Bot:
    def __init__(self, app: App, clock: FakeClock) -> None:
        self.app, self.clock = app, clock
        assert app.web is not None
        self.base = f"http://127.0.0.1:{app.web.port}/home/"

    async def say(self, text: str, address: Address, **kw: object) -> list[Reply]:
        return await self.app.router.handle(Incoming(address, text, self.clock.now(), **kw))  # type: ignore[arg-type]

    @asynccontextmanager
    async def signed_in(self, address: Address, **kw: object) -> AsyncIterator[httpx.AsyncClient]:
        """A client holding the session the one-time link of ``/dashboard`` gave ``address``."""
        (reply,) = await self.say("/dashboard", address, **kw)
        token = re.search(r"login\?t=(\S+)", reply.text)
        assert token, reply.text
        async with httpx.AsyncClient(base_url=self.base) as client:
            assert (await client.get(f"login?t={token.group(1)}")).status_code == 303
            yield client


async def _bot(tmp_path: Path, home_url: str) -> Bot:
    clock = FakeClock(START_AT)
    app = build(
        Settings(web_port=0, home_url=home_url, db_path=str(tmp_path / "bot.json")),
        clock=clock,
        console=None,
        store=MemoryStore(),
    )
    for step in app.startup:
        await step()
    assert app.web is not None
    await app.web.start(app.health)
    return Bot(app, clock)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    found = await _bot(tmp_path, "http://127.0.0.1/home/")
    yield found
    assert found.app.web is not None
    await found.app.web.stop()


async def test_matrix_room_link_shows_that_rooms_family_with_headers_that_guard_it(bot: Bot) -> None:
    room, ola = Address("matrix", "!fam:localhost", "@kari:localhost"), Address("matrix", "!fam:localhost", "@ola:localhost")
    for code in ("DEMO12", "DEMO20", "DEMO38", "DEMO53"):
        await bot.say(f"/link {DEMO[code]} {code}", room, is_group=True, is_admin=True, display_name="Kari")
    (reply,) = await bot.say("/dashboard", ola, is_group=True)
    assert reply.private and "login?t=" in reply.text  # it signs in as Ola: only Ola gets it
    async with bot.signed_in(ola, is_group=True) as page:
        response = await page.get("")
        html = response.text
        assert html.count('<article class="card') == 4 and "Kari" in html and not FULL_ICCID.search(html)
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"
        assert len(response.content) < 100_000
        for name in ("page.css", "page.js"):
            static = await page.get(f"static/{name}")
            assert static.status_code == 200 and "script-src 'self'" in static.headers["Content-Security-Policy"]
        csrf = re.search(r'name="csrf" content="([^"]+)"', html)
        assert csrf
        headers = {"X-CSRF-Token": csrf.group(1)}
        # only the page's own commands; the rest is refused before it reaches a handler
        assert (await page.post("api/do", json={"command": "/unlink esim-0012"}, headers=headers)).status_code == 400
        assert (await page.post("api/do", json={"command": "/cap 1 NOK"}, headers={"X-CSRF-Token": "x"})).status_code == 403
        refused = (await page.post("api/do", json={"command": "/cap 100 NOK"}, headers=headers)).json()
        assert "admin" in refused["replies"][0]["text"].lower()  # Ola is a member: the cap is the admins'


async def test_sign_in_and_actions_are_rate_limited(bot: Bot) -> None:
    async with httpx.AsyncClient(base_url=bot.base) as client:
        codes = [(await client.get("login?t=forged")).status_code for _ in range(21)]
    assert codes[:20] == [403] * 20 and codes[20] == 429
    bot.clock.advance(timedelta(minutes=2))
    me = Address("console", "c1", "u1")
    async with bot.signed_in(me) as page:
        csrf = re.search(r'name="csrf" content="([^"]+)"', (await page.get("")).text)
        assert csrf
        results = [
            (await page.post("api/do", json={"command": "/remind"}, headers={"X-CSRF-Token": csrf.group(1)})).status_code
            for _ in range(31)
        ]
    assert results[:30] == [200] * 30 and results[30] == 429


async def test_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    bot = await _bot(tmp_path, "https://esim.example.org/home/")
    try:
        (reply,) = await bot.say("/dashboard", Address("console", "c9", "u9"))
        assert reply.text.count("https://esim.example.org/home/login?t=") == 1
        token = re.search(r"login\?t=(\S+)", reply.text)
        assert token
        async with httpx.AsyncClient(base_url=bot.base) as client:
            set_cookie = (await client.get(f"login?t={token.group(1)}")).headers["set-cookie"]
        assert COOKIE in set_cookie and "Secure" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
        assert "Max-Age=28800" in set_cookie
    finally:
        assert bot.app.web is not None
        await bot.app.web.stop()


def _init_data(token: str, fields: dict[str, str]) -> str:
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    return urlencode({**fields, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()})


def test_telegram_init_data_is_trusted_only_signed_and_fresh() -> None:
    token, now = "123456:ABC", START_AT
    user = json.dumps({"id": 42, "first_name": "Li", "language_code": "zh"})
    fresh = {"auth_date": str(int(now.timestamp())), "user": user, "query_id": "Q"}
    visitor = telegram_visitor(_init_data(token, fresh), token, now)
    assert visitor is not None and (visitor.chat, visitor.user, visitor.lang) == ("42", "42", "zh")
    assert telegram_visitor(_init_data("654321:XYZ", fresh), token, now) is None
    assert telegram_visitor(_init_data(token, fresh).replace("Li", "Lu"), token, now) is None
    assert telegram_visitor(_init_data(token, fresh), token, now + timedelta(hours=2)) is None
    assert telegram_visitor(_init_data(token, {**fresh, "user": "{}"}), token, now) is None
    assert telegram_visitor("", token, now) is None
