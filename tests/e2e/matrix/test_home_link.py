"""The home screen from Matrix (issue 28): ``!dashboard`` answers with a one-time link that
signs the person in to the page of that room's family, once."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.matrix.conftest import BOT, MatrixBot
from tests.e2e.matrix.human import Human
from tests.e2e.processes import free_port

pytestmark = pytest.mark.e2e


async def test_dashboard_link_signs_in_once_to_the_rooms_page(start_bot: Callable[..., MatrixBot], alice: Human) -> None:
    port = free_port()
    start_bot(WEB_PORT=str(port), HOME_URL=f"http://127.0.0.1:{port}/home/")
    room = await alice.create_room([BOT], direct=True)
    await alice.wait_joined(room, BOT)
    await alice.ask(room, BOT, "!link 8947000000000000020 DEMO20 mom")
    answer = await alice.ask(room, BOT, "!dashboard")
    link = re.search(r"http://127\.0\.0\.1:\d+/home/login\?t=[\w.-]+", answer.body)
    assert link, answer.body
    async with httpx.AsyncClient() as page:
        signed_in = await page.get(link.group(0))
        assert signed_in.status_code == 303 and "HttpOnly" in signed_in.headers["set-cookie"]
        home = (await page.get(f"http://127.0.0.1:{port}/home/")).text
        assert 'data-line="mom"' in home and "8947000000000000020" not in home
    async with httpx.AsyncClient() as again:
        assert (await again.get(link.group(0))).status_code == 403  # a link works once
