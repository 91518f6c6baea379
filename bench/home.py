"""10. Home screen: the page and its data for a family of ten lines, and the page's size.

- A visitor with a session loads the page (HTML with every card and setting, rendered on the
  server from the store) and its two files (CSS, JS) over one keep-alive connection, against
  ``/healthz`` on the same server: the issue's goal is under 300 ms.
- The bytes of the page and its files before any chart, against the goal of 100 KB.
"""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta
from pathlib import Path

import httpx

from bench.common import T0, Config, Results, Row
from bot.app import build
from bot.clock import FakeClock
from bot.config import Settings
from bot.messages import Address, Incoming
from bot.records import Household, Line
from bot.store.memory import MemoryStore
from providers.base import GB, MB, EsimBalance, Status

SECTION = "10. home screen"
LINES = 10
GOAL_MS = 300.0
GOAL_BYTES = 100_000
FILES = ("", "static/page.css", "static/page.js")  # the page, then what it loads


async def _family(store: MemoryStore, household: str) -> None:
    """Ten lines of four people, each with a month of samples: what a family's store holds."""
    async with store.transaction() as tx:
        await tx.save_household(Household(id=household, is_group=True, created_at=T0, title="Familien Berg"))
        for n in range(LINES):
            line = Line(
                f"l{n}", household, f"line {n}", f"console:u{n % 4}", f"Person {n % 4}", "demo", f"89470000000000001{n:02d}", T0
            )
            await tx.save_line(line)
            for day in range(30):
                left = 10 * GB - day * (n + 1) * 30 * MB
                at = T0 + timedelta(days=day)
                await tx.add_sample(
                    line.id,
                    EsimBalance("demo", line.ref, Status.ACTIVE, at, 10 * GB, left, expires_at=T0 + timedelta(days=31 + n)),
                )


async def run(config: Config, folder: Path, results: Results) -> None:
    clock = FakeClock(T0 + timedelta(days=30))
    store = MemoryStore()
    settings = Settings(web_port=0, home_url="http://127.0.0.1/home/", db_path=str(folder / "home.json"))
    app = build(settings, clock=clock, console=None, store=store)
    for step in app.startup:
        await step()
    assert app.web is not None
    await app.web.start(app.health)
    await _family(store, "console:fam")
    (reply,) = await app.router.handle(
        Incoming(Address("console", "fam", "u0"), "/dashboard", clock.now(), is_group=True, is_admin=True)
    )
    token = re.search(r"login\?t=(\S+)", reply.text)
    assert token, reply.text
    base = f"http://127.0.0.1:{app.web.port}"
    runs = 5 if config.tiny else 60
    try:
        async with httpx.AsyncClient(base_url=f"{base}/home/") as client:
            assert (await client.get(f"login?t={token.group(1)}")).status_code == 303
            sizes = [len((await client.get(path)).content) for path in FILES]
            assert (await client.get("")).text.count("<article") == LINES  # every line is on the page
            page, health = [], []
            for _ in range(runs):  # interleaved, so both see the same machine
                started = time.perf_counter()
                for path in FILES:
                    assert (await client.get(path)).status_code == 200
                page.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                await client.get(f"{base}/healthz")
                health.append((time.perf_counter() - started) * 1000)
    finally:
        await app.web.stop()
    results.add(
        Row(
            SECTION,
            f"home screen: page+data for a {LINES}-line family (HTML, CSS, JS)",
            "ms",
            page,
            "/healthz on the same server",
            health,
            goal=f"< {GOAL_MS:.0f} ms",
            met=statistics.median(page) < GOAL_MS,
        )
    )
    results.add(
        Row(
            SECTION,
            f"home screen size before the chart ({LINES} lines: HTML {sizes[0]} B, CSS {sizes[1]} B, JS {sizes[2]} B)",
            "bytes",
            [float(sum(sizes))],
            "the goal",
            [float(GOAL_BYTES)],
            goal=f"< {GOAL_BYTES} bytes",
            met=sum(sizes) < GOAL_BYTES,
        )
    )
    results.facts["home_page_ms"] = statistics.median(page)
    results.facts["home_page_bytes"] = sum(sizes)
