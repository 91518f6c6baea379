"""9. Usage charts: how long a chart takes, and what the chart code costs at start-up.

- Drawing 30 days of hourly samples (720 points, more than the store keeps: its 64 points are
  the next row) with the cache cleared, against Telegram's pace for one chat (one message a
  second): a chart should be ready before the chat could take the next message anyway.
- ``/usage`` through the router (samples from the store), against ``/balance`` the same way.
- A cached chart, against drawing it.
- The first chart in a fresh process (matplotlib imported, the CJK font loaded), against a
  warm one: what the first person asking after a start waits.
- Start-up to the first console reply as shipped (matplotlib imported on the first chart
  only), against the same process with the chart code imported up front.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from bench.common import T0, Config, Results, Row
from bench.process import ROOT, START, TIMEOUT, _env
from bot import charts
from bot.app import build
from bot.clock import FakeClock
from bot.config import Settings
from bot.messages import Address, Incoming
from bot.records import Line, Sample
from bot.store.memory import MemoryStore
from handlers.usage import chart_spec
from providers.base import GB, MB

SECTION = "9. usage charts"
TELEGRAM_PER_CHAT = 1.0  # seconds between two messages to one chat (Telegram's documented pace)
FIRST_CHART = (
    "import time, sys; t = time.perf_counter(); from bench.charts import spec_720; from bot import charts; "
    "charts.draw(spec_720()); print(time.perf_counter() - t)"
)
EAGER = (
    "import runpy, sys, matplotlib.figure, bot.charts; bot.charts._setup(); sys.argv[0] = 'bot'; "
    "runpy.run_module('bot', run_name='__main__')"
)


def spec_720() -> charts.ChartSpec:
    """The chart of a line polled hourly for 30 days, in Chinese (the widest glyph set)."""
    from types import SimpleNamespace

    from bot.app import LOCALES
    from bot.i18n import Catalogs

    now = T0 + timedelta(days=30)
    points = [Sample(T0 + timedelta(hours=h), 10 * GB - h * 12 * MB) for h in range(720)]
    line = Line(id="l1", household_id="h", label="妈妈", owner="u", owner_name="", provider="demo", ref="89", created_at=T0)
    ctx = SimpleNamespace(t=Catalogs.load(LOCALES).translator("zh"), now=now)
    return chart_spec(ctx, line, points, None, now + timedelta(days=4), [T0 + timedelta(days=12)])  # type: ignore[arg-type]


def _timed(fn: object, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - started)
    return out


async def _python(code: str) -> float:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, cwd=ROOT, env=_env(), stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return float(out.decode().strip())


async def _first_reply(args: list[str]) -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *args,
        "console",
        "--jsonl",
        "--start",
        T0.isoformat(),
        cwd=ROOT,
        env=_env(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(START.encode())
    await proc.stdin.drain()
    while json.loads(await asyncio.wait_for(proc.stdout.readline(), TIMEOUT) or b'{"kind": "reply"}').get("kind") != "reply":
        pass
    took = time.perf_counter() - started
    proc.stdin.close()
    await proc.wait()
    return took


async def _router_rows(config: Config, results: Results) -> None:
    clock = FakeClock(T0)
    app = build(Settings(db_path="unused.json"), clock=clock, console=None, store=MemoryStore())
    for step in app.startup:
        await step()
    address = Address("console", "c1", "u1")

    async def send(text: str) -> None:
        assert await app.router.handle(Incoming(address=address, text=text, at=clock.now()))

    await send("/link 8947000000000000012 DEMO12 mom")
    for _ in range(24 * (2 if config.tiny else 30)):  # a month of hourly looks, as /balance records them
        clock.advance(timedelta(hours=1))
        await send("/balance mom")
    usage: list[float] = []
    balance: list[float] = []
    for _ in range(config.repeats * 5):
        charts.draw.cache_clear()
        for command, sink in (("usage", usage), ("balance", balance)):
            started = time.perf_counter()
            replies = await app.router.handle(Incoming(address=address, text=f"/{command} mom", at=clock.now()))
            sink.append(time.perf_counter() - started)
            assert replies and (command != "usage" or replies[0].picture is not None), replies
    results.add(
        Row(
            SECTION,
            "/usage through the router (the store's thinned month, cache cleared)",
            "ms",
            [v * 1000 for v in usage],
            "/balance mom through the router",
            [v * 1000 for v in balance],
        )
    )


async def run(config: Config, folder: Path, results: Results) -> None:
    spec = spec_720()
    charts.draw(spec)  # warm: matplotlib and the font are loaded
    runs = 3 if config.tiny else 15

    def cold_draw() -> None:
        charts.draw.cache_clear()
        charts.draw(spec)

    drawn = _timed(cold_draw, runs)
    results.add(
        Row(
            SECTION,
            "draw a chart of 720 hourly samples (30 days, zh), cache cleared",
            "s",
            drawn,
            "Telegram's pace for one chat (1 message/s)",
            [TELEGRAM_PER_CHAT],
            goal="<= 1.0 ratio",
            met=statistics.median(drawn) <= TELEGRAM_PER_CHAT,
        )
    )
    results.facts["chart_draw_ms"] = statistics.median(drawn) * 1000
    cached = _timed(lambda: charts.draw(spec), runs * 20)
    results.add(Row(SECTION, "the same chart from the cache", "s", cached, "drawing it", drawn))
    await _router_rows(config, results)
    first = [await _python(FIRST_CHART) for _ in range(1 if config.tiny else 3)]
    results.add(
        Row(
            SECTION,
            "first chart in a fresh process (imports matplotlib, loads the CJK font)",
            "s",
            first,
            "a chart in a warm process",
            drawn,
        )
    )
    lazy, eager = [], []
    for _ in range(config.startup_runs):  # interleaved, so both see the same machine
        lazy.append(await _first_reply([sys.executable, "-m", "bot"]))
        eager.append(await _first_reply([sys.executable, "-c", EAGER]))
    results.add(
        Row(
            SECTION,
            "start-up to the first reply, chart code loaded on the first chart",
            "s",
            lazy,
            "the same with the chart code imported at start",
            eager,
            goal="< 1.0 ratio",
            met=statistics.median(lazy) < statistics.median(eager),
        )
    )
