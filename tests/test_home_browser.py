"""The home screen in a real browser (issue 28): Debian's headless Chromium driven by Playwright.

One bot (``bot.app.build`` with a FakeClock, the demo provider and its web server on a free
127.0.0.1 port) and one browser serve the whole module; each test has its own chat, so they
do not see each other. People talk to the bot through the router as the console does, and
sign in to the page with the one-time link ``/dashboard`` gives them. The browser is never
downloaded: ``make test`` installs Debian's ``chromium`` (``make chromium``); Playwright's
``launch`` gives it a fresh temporary profile. ``HOME_SCREENSHOTS=<folder>`` also saves the
overview at phone width (how docs/pictures/home-*.png were made).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright
from pydantic import SecretStr

from bot.app import App, build
from bot.clock import FakeClock
from bot.config import Settings
from bot.messages import Address, Incoming, Reply
from bot.store import MemoryStore
from tests.conftest import DEMO, FULL_ICCID, fixed_part

pytestmark = pytest.mark.asyncio(loop_scope="module")
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_AT = datetime(2026, 1, 10, 11, 0, tzinfo=UTC)
TOKEN = "4839574812:AAFD39kkdpWt3ywyRZergyOLMaJhac60qc"
PHONE = {"width": 360, "height": 780}


@dataclass
class Home:
    app: App
    clock: FakeClock
    browser: Browser

    @property
    def base(self) -> str:
        assert self.app.web is not None
        return f"http://127.0.0.1:{self.app.web.port}/home/"

    async def say(self, text: str, *, chat: str, user: str, group: bool = False, admin: bool = False, **kw: Any) -> list[Reply]:
        incoming = Incoming(Address("console", chat, user), text, self.clock.now(), is_group=group, is_admin=admin, **kw)
        return await self.app.router.handle(incoming)

    async def link(self, chat: str, user: str, *codes: str, **kw: Any) -> None:
        for code in codes:
            replies = await self.say(f"/link {DEMO[code]} {code} {code.lower()}", chat=chat, user=user, **kw)
            assert "demo" in replies[0].text.lower() or code.lower() in replies[0].text, replies

    async def sign_in_link(self, chat: str, user: str, **kw: Any) -> str:
        """The path of the one-time link ``/dashboard`` gives (on this test's port)."""
        (reply,) = await self.say("/dashboard", chat=chat, user=user, **kw)
        found = re.search(r"/home/(login\?t=\S+)", reply.text)
        assert found, reply.text
        return self.base + found.group(1)

    async def open(self, chat: str, user: str, *, dark: bool = False, **kw: Any) -> Page:
        context = await self.browser.new_context(viewport=PHONE, color_scheme="dark" if dark else "light")
        context.set_default_timeout(10_000)  # a bounded wait for the page, never a sleep
        page = await context.new_page()
        await page.goto(await self.sign_in_link(chat, user, **kw))
        return page


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        found = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield found
        finally:
            await found.close()


@pytest_asyncio.fixture(loop_scope="module")
async def home(browser: Browser, tmp_path: Path) -> AsyncIterator[Home]:
    """A bot of its own per test (a demo eSIM is linked in one chat only); the browser is shared.
    Its Telegram token only signs Mini App launches: Telegram itself is never started here."""
    clock = FakeClock(START_AT)
    settings = Settings(
        web_port=0, home_url="http://127.0.0.1/home/", db_path=str(tmp_path / "bot.json"), telegram_token=SecretStr(TOKEN)
    )
    app = build(settings, clock=clock, console=None, store=MemoryStore())
    for step in app.startup:
        await step()
    assert app.web is not None
    await app.web.start(app.health)
    try:
        yield Home(app, clock, browser)
    finally:
        await app.web.stop()


async def _card_labels(page: Page) -> list[str]:
    return await page.locator("article.card h2").all_inner_texts()


async def test_overview_shows_the_lines_and_a_threshold_set_there_is_what_remind_shows(home: Home) -> None:
    await home.link("fam1", "u1", "DEMO12", "DEMO20", "DEMO46")
    page = await home.open("fam1", "u1")
    # worst first: the expired line, then the one low on data, then the healthy one
    assert await _card_labels(page) == ["demo46", "demo20", "demo12"]
    content = await page.content()
    assert not FULL_ICCID.search(content) and "DEMO12" not in content  # no ICCID, no activation code
    assert await page.locator("article.card[data-line=demo12] progress").get_attribute("value") == "75"
    assert "7.5 GB" in await page.locator("article.card[data-line=demo12] .figure").inner_text()
    # a threshold changed in the page is what /remind then says in the chat
    form = page.locator("form[data-key=data]")
    await form.locator("input").fill("15%, 3%")
    await form.get_by_role("button").click()
    await page.locator("#dialog").wait_for(state="visible")
    assert fixed_part("remind.saved") in await page.locator("#replies").inner_text()
    (shown,) = await home.say("/remind", chat="fam1", user="u1")
    assert "15%" in shown.text and "3%" in shown.text and "20%" not in shown.text
    # hours later (the session lasts 8), Refresh reads the balances anew and the chart shows them
    home.clock.advance(timedelta(hours=6))
    await page.locator("#close").click()
    await page.get_by_role("button", name="Refresh").click()
    await page.locator("#dialog").wait_for(state="visible")
    await page.locator("#close").click()
    await page.locator("article.card[data-line=demo12] button[data-chart]").click()
    chart = page.locator("article.card[data-line=demo12] img.chart")
    await chart.wait_for(state="visible")
    await page.wait_for_function("document.querySelector('article.card[data-line=demo12] img.chart').naturalWidth > 0")
    # one line's own threshold: picking the line shows its current value, saving sets only it
    form = page.locator("form[data-key=data]")
    await form.locator("select").select_option("demo12")
    assert await form.locator("input").input_value() == "15%, 3%"
    await form.locator("input").fill("10%")
    await form.get_by_role("button").click()
    await page.locator("#dialog").wait_for(state="visible")
    (line,) = await home.say("/remind demo12", chat="fam1", user="u1")
    (family,) = await home.say("/remind", chat="fam1", user="u1")
    assert "10%" in line.text and "10%" not in family.text
    await page.context.close()


async def test_a_top_up_from_the_page_orders_once_when_confirm_is_pressed_twice(home: Home) -> None:
    await home.link("fam2", "u1", "DEMO20")
    page = await home.open("fam2", "u1")
    await page.locator("article.card[data-line=demo20] button.pay").click()
    plans = page.locator("#replies button")
    await plans.first.wait_for()
    await plans.filter(has_text="1 GB").first.click()
    pay = page.locator("#replies button.choice-pay")
    await pay.wait_for()
    confirms: list[str] = []
    page.on("request", lambda r: confirms.append(r.url) if "/confirm " in (r.post_data or "") else None)
    await pay.dblclick()  # two presses, both reach the bot
    await page.get_by_text(fixed_part("confirm.already_done")).or_(page.get_by_text(fixed_part("renew.done"))).first.wait_for()
    async with home.app.store.transaction() as tx:
        orders = await tx.orders("console:fam2")
    assert [o.status for o in orders] == ["COMPLETED"]
    assert len(confirms) == 2
    await page.context.close()


async def test_a_member_without_rights_sees_no_top_up_and_cannot_order(home: Home) -> None:
    await home.link("g1", "admin", "DEMO12", group=True, admin=True)
    page = await home.open("g1", "member", group=True)
    assert await _card_labels(page) == ["demo12"]
    assert await page.locator("button.pay").count() == 0
    assert await page.locator("form[data-key=cap]").count() == 0  # the cap is the admins'
    # asking the server directly is refused exactly as the command would be
    answer = await page.evaluate(
        """async () => { const r = await fetch("api/do", {method: "POST", headers: {"Content-Type": "application/json",
        "X-CSRF-Token": document.querySelector('meta[name=csrf]').content}, body: JSON.stringify({command: "/renew demo12"})});
        return (await r.json()).replies[0].text; }"""
    )
    assert fixed_part("error.owner_or_admin") in answer
    await page.context.close()


async def test_the_mini_app_signs_in_with_telegrams_launch_data_and_takes_its_theme(home: Home) -> None:
    kari = Address("telegram", "7501", "7501")
    for code in ("DEMO12", "DEMO38"):
        await home.app.router.handle(Incoming(kari, f"/link {DEMO[code]} {code}", home.clock.now(), is_admin=True, language="nb"))
    user = json.dumps({"id": 7501, "first_name": "Kari", "language_code": "nb"})
    fields = {"auth_date": str(int(home.clock.now().timestamp())), "query_id": "AAH", "user": user}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    init_data = urlencode({**fields, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()})
    theme = json.dumps({"bg_color": "#17212b", "text_color": "#f5f5f5", "button_color": "#5288c1"})
    context = await home.browser.new_context(viewport=PHONE)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto(f"{home.base}#{urlencode({'tgWebAppData': init_data, 'tgWebAppThemeParams': theme})}")
    await page.locator("article.card").first.wait_for()  # signed in, reloaded: the cards
    assert await _card_labels(page) == ["esim-0038", "esim-0012"]
    assert await page.get_attribute("html", "lang") == "nb"
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(23, 33, 43)"
    # launch data for another user, not signed by Telegram, is refused
    forged = init_data.replace("7501", "7502")
    await context.clear_cookies()
    await page.goto(f"{home.base}?again#{urlencode({'tgWebAppData': forged})}")
    await page.get_by_text(fixed_part("home.link_invalid")).wait_for()  # in the browser's language
    await context.close()


async def test_a_forged_used_or_expired_sign_in_is_refused(home: Home) -> None:
    context = await home.browser.new_context(viewport=PHONE)
    page = await context.new_page()
    good = await home.sign_in_link("fam3", "u1")
    body, _, sig = good.rpartition(".")
    forged = f"{body}.{'A' * len(sig)}"
    assert (await page.goto(forged)).status == 403  # type: ignore[union-attr]
    assert fixed_part("home.link_invalid") in await page.inner_text("body")
    assert (await page.goto(good)).status == 200  # type: ignore[union-attr]
    await context.clear_cookies()
    assert (await page.goto(good)).status == 403  # type: ignore[union-attr]  # a link works once
    old = await home.sign_in_link("fam3", "u1")
    home.clock.advance(timedelta(minutes=11))
    assert (await page.goto(old)).status == 403  # type: ignore[union-attr]
    # without a session (or without its CSRF token) nothing changes
    await page.goto(home.base)
    assert fixed_part("home.signin_needed") in await page.inner_text("body")
    status = await page.evaluate(
        """async () => (await fetch("api/do", {method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({command: "/cap 1 NOK"})})).status"""
    )
    assert status == 403
    await context.close()


@pytest.mark.parametrize(("lang", "settings"), [("zh", "设置"), ("nb", "Innstillinger"), ("en", "Settings")])
async def test_the_page_in_each_language(home: Home, lang: str, settings: str) -> None:
    chat = f"lang-{lang}"
    await home.link(chat, "u1", "DEMO12", "DEMO38", language=lang)
    page = await home.open(chat, "u1", language=lang)
    assert await page.get_attribute("html", "lang") == lang
    assert settings in await page.inner_text("section.settings h2")
    expiry = await page.locator("article.card[data-line=demo38] .expiry").inner_text()
    assert {"zh": "2026年1月", "nb": "jan. 2026", "en": "Jan 2026"}[lang] in expiry
    # fits a 360 px phone without sideways scrolling, and every control says what it is
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    unnamed = await page.evaluate(
        """[...document.querySelectorAll("button, input, select")].filter(e =>
        !((e.labels && e.labels.length) || e.getAttribute("aria-label") || e.textContent.trim())).length"""
    )
    assert unnamed == 0
    folder = os.environ.get("HOME_SCREENSHOTS")
    if folder:
        await _screenshots(home, chat, lang, Path(folder))
    await page.context.close()


async def _screenshots(home: Home, chat: str, lang: str, folder: Path) -> None:
    """The overview as the docs show it: English and Norwegian light, Chinese dark."""
    await home.link(chat, "u1", "DEMO20", "DEMO46", language=lang)
    dark = lang == "zh"
    page = await home.open(chat, "u1", dark=dark, language=lang)
    await page.screenshot(path=str(folder / f"home-{lang}-{'dark' if dark else 'light'}.png"))
    await page.context.close()
