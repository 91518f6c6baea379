"""The home screen as a Telegram Mini App (issue 28), against the Bot API emulator: the menu
button opens it, the button under a balance opens it, and the page trusts Telegram's
``initData`` only with a real signature (HMAC-SHA256 keyed by the bot token) that is fresh."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest

from tests.e2e.processes import free_port
from tests.e2e.telegram.client import Person, keyboard, private
from tests.e2e.telegram.conftest import CLOCK_START, BotProcess
from tests.e2e.telegram.test_private import tr

pytestmark = pytest.mark.e2e
KARI = Person(7401, "Kari", "nb")
NOW = datetime.fromisoformat(CLOCK_START.replace("Z", "+00:00"))  # the bot's clock stands still here


def init_data(token: str, who: Person, *, signed_at: datetime = NOW, **tamper: str) -> str:
    """``initData`` as Telegram builds it: the fields, and their hash under the bot's token."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": who.id, "first_name": who.first_name, "language_code": who.language_code}),
        "auth_date": str(int(signed_at.timestamp())),
    }
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, **tamper})


def test_the_mini_app_opens_from_the_menu_and_signs_in_with_telegrams_signature(
    start_bot: Callable[..., BotProcess], emulator: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/home/"
    bot = start_bot(WEB_PORT=str(port), HOME_URL=url)
    tg = bot.client
    menu = httpx.post(f"{emulator}/getMenuButtons", json={"token": bot.token}).json()["result"]
    assert menu[""] == {"type": "web_app", "text": tr("en")("button.home_menu"), "web_app": {"url": url}}
    tg.ask(KARI, private(KARI), "/link 8947000000000000012 DEMO12 mobil")
    balance = tg.ask(KARI, private(KARI), "/balance")
    (app_button,) = [b for row in keyboard(balance) for b in row if "web_app" in b]
    assert app_button == {"text": tr("nb")("button.home"), "web_app": {"url": url}}
    with httpx.Client(base_url=url) as page:
        assert "mobil" not in page.get("").text  # no session: the sign-in page
        forged = init_data(bot.token, KARI, user=json.dumps({"id": 1, "first_name": "Mallory"}))
        assert page.post("api/telegram", json={"initData": forged}).status_code == 403
        old = init_data(bot.token, KARI, signed_at=NOW - timedelta(hours=2))
        assert page.post("api/telegram", json={"initData": old}).status_code == 403
        other_bot = init_data("123:another-bot", KARI)
        assert page.post("api/telegram", json={"initData": other_bot}).status_code == 403
        signed = page.post("api/telegram", json={"initData": init_data(bot.token, KARI)})
        assert signed.status_code == 200 and "HttpOnly" in signed.headers["set-cookie"]
        home = page.get("").text
    assert 'lang="nb"' in home and 'data-line="mobil"' in home and "8947000000000000012" not in home
