"""4. Alert fan-out: N alerts through the real Outbox and the real Telegram platform (PTB 22)
to the loopback Bot API in bench/botapi.py (30 msg/s overall, 1 msg/s per chat, 429 beyond).

Alerts are enqueued the way the job queue does it (``Outbox.enqueue``, four lines per family
in a row; timed in the first run only, later runs store them directly as a restart would
find them), then the real job queue loop delivers them on the system clock. Delivering
10 000 at 30 a second takes over five minutes, so the first ``fanout_target`` delivered are
measured (600: about 20 s), with every 429 until then. A second, one-run case sends half of
just 600 alerts: with a small backlog, what is left is the pacing itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.botapi import BotApi
from bench.common import Config, Results, Row
from bench.pipeline import pipeline
from bot.app import LOCALES
from bot.clock import SystemClock
from bot.i18n import Catalogs
from bot.messages import Incoming, Reply
from bot.metrics import Metrics
from bot.platforms.telegram.platform import TelegramPlatform
from bot.records import Alert, OutboxItem
from bot.reminders import text as alerts
from bot.store import TinyDBStore

SECTION = "4. alert fan-out"
TOKEN = "123456:BENCH"


async def _nobody(incoming: Incoming) -> list[Reply]:
    return []


def waiting_alerts(count: int, chats: int, now: datetime) -> list[OutboxItem]:
    """Four lines per family in a row; every fourth chat a private one (a household of one)."""
    out = []
    for i in range(count):
        c = i // max(1, count // chats) % chats
        chat = str(c + 1) if c % 4 == 3 else str(-(c + 1))
        alert = Alert(
            kind="data",
            label=f"line {i % 4}",
            provider="demo",
            threshold=20,
            remaining=1_500_000_000,
            total=10_000_000_000,
            expires_at=now + timedelta(days=9),
        )
        out.append(
            OutboxItem(
                id=f"{i:012x}",
                line_id=f"{i:08x}",
                household_id=f"telegram:{chat}",
                platform="telegram",
                chat=chat,
                alert=alert,
                created_at=now + timedelta(microseconds=i),
                not_before=now,
                mention=None if c % 4 == 3 else str(c + 1000),
            )
        )
    return out


async def _once(config: Config, folder: Path, run: int) -> dict[str, float]:
    store = TinyDBStore(folder / f"fanout-{config.fanout_alerts}-{run}" / "bot.json")
    catalogs, clock, metrics = Catalogs.load(LOCALES), SystemClock(), Metrics()
    t = catalogs.translator("en")
    api = BotApi(overall_per_second=config.fanout_rate, target=config.fanout_target)
    async with api.running():
        platform = TelegramPlatform(token=TOKEN, now=clock.now, api_url=api.url)
        items = waiting_alerts(config.fanout_alerts, config.fanout_chats, datetime.now(UTC))
        enqueue = math.nan

        async def render(item: OutboxItem) -> Reply:
            return Reply(alerts.render(item.alert, t, clock.now(), "/"))

        if run > 0:  # the alerts were stored before (as after a restart): Outbox.enqueue is timed once
            started = time.perf_counter()
            async with store.transaction() as tx:
                for item in items:
                    await tx.save_outbox(item)
            save = time.perf_counter() - started
        jobs, outbox = pipeline(
            store, providers={}, platforms={"telegram": platform}, clock=clock, metrics=metrics, render=render, now=clock.now
        )
        if run == 0:
            started = time.perf_counter()
            async with store.transaction() as tx:
                for item in items:
                    await outbox.enqueue(tx, item)
            enqueue = time.perf_counter() - started
            started = time.perf_counter()
            async with store.transaction() as tx:
                for item in items:
                    await tx.save_outbox(item)
            save = time.perf_counter() - started
        await outbox.load()
        await platform.start(_nobody)
        try:
            await jobs.start()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(api.enough.wait(), config.fanout_timeout)
        finally:
            await jobs.stop()
            await platform.stop()
            await store.close()
    rate, span = api.served_rate(config.fanout_target)
    return {
        "rate": rate,
        "span": span,
        "refused": api.refusals,
        "chat": api.refused["chat"],
        "overall": api.refused["overall"],
        "sent": len(api.accepted),
        "enqueue": enqueue,
        "save": save,
    }


async def run(config: Config, folder: Path, results: Results) -> None:
    allowed = config.fanout_rate
    small = dataclasses.replace(
        config,
        fanout_alerts=config.fanout_target,
        fanout_chats=config.fanout_target // 4,
        fanout_target=config.fanout_target // 2,
    )
    for cfg, repeats in ((config, config.fanout_runs), (small, 1)):
        runs = [await _once(cfg, folder, run) for run in range(repeats)]
        label = f"first {cfg.fanout_target:,} of {cfg.fanout_alerts:,} alerts, {cfg.fanout_chats:,} chats"
        results.add(
            Row(
                SECTION,
                f"messages a second, {label}",
                "msg/s",
                [r["rate"] for r in runs],
                "allowed",
                [allowed] * len(runs),
                goal=">= 0.95 ratio",
                met=min(r["rate"] for r in runs) / allowed >= 0.95,
                note="" if cfg is config else "a small backlog: one run",
            )
        )
        results.add(
            Row(
                SECTION,
                f"429 answers, {label}",
                "count",
                [r["refused"] for r in runs],
                "goal",
                [0] * len(runs),
                goal="0",
                met=max(r["refused"] for r in runs) == 0,
            )
        )
        worst = max(runs, key=lambda r: r["refused"])
        key = "big" if cfg is config else "small"
        results.facts.update(
            {
                f"fanout_{key}_chat_429": worst["chat"],
                f"fanout_{key}_overall_429": worst["overall"],
                f"fanout_{key}_rate": sorted(r["rate"] for r in runs)[len(runs) // 2],
                f"fanout_{key}_incomplete": sum(1 for r in runs if r["sent"] < cfg.fanout_target),
            }
        )
        if cfg is config:
            results.add(
                Row(
                    SECTION,
                    f"Outbox.enqueue of {cfg.fanout_alerts:,} alerts",
                    "s",
                    [runs[0]["enqueue"]],
                    "tx.save_outbox of the same",
                    [r["save"] for r in runs],
                    note="one run",
                )
            )
