"""The reminder pipeline, which lines are looked at when, provider errors, webhooks (``bot/reminders``)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.records import Line
from bot.reminders.poller import ERROR_RETRY, Cadence
from bot.services import Notice
from providers.base import GB, MB, BalanceEvent, EsimBalance, Status
from providers.errors import RateLimited, Unavailable
from tests.jobs_harness import (
    DEMO,
    T0,
    Broken,
    P,
    _item,
    kinds,
    make,
    scripted_balance,
)


async def test_link_warns_then_one_alert_per_threshold() -> None:
    h = make()
    notices = await h.link("DEMO20", "mom")
    assert notices == [Notice("link.warn_data", {"label": "mom"})]
    assert h.items() == []  # no stale "20 %" alert
    await h.run(timedelta(hours=12))
    assert len(h.platform.sent) == 1
    assert "5%" in h.texts()[0] and "mom" in h.texts()[0]
    assert h.platform.sent[0].kind == "alert"
    await h.run(timedelta(days=5))
    assert kinds(h) == ["data", "depleted"]


async def test_demo20_is_8_percent_at_day_0() -> None:
    h = make()
    bal = await h.demo.balance(DEMO["DEMO20"])
    assert bal.data_remaining_bytes is not None and bal.data_total_bytes is not None
    assert bal.data_remaining_bytes * 100 // bal.data_total_bytes == 8


async def test_the_loop_polls_near_thresholds_not_constantly() -> None:
    h = make()
    await h.link("DEMO12", "dad")  # 7.5 of 10 GB, 300 MB/day: 20 % after ~18 days
    await h.run(timedelta(days=3))
    # hourly cadence (the demo's configured poll interval), not a busy poll
    assert 3 * 24 - 2 <= h.demo.calls <= 3 * 24 + 2
    assert h.platform.sent == []


async def test_an_expired_line_is_polled_at_the_cadence_not_every_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    h = make()
    await h.link("DEMO46", "gone")  # expired on day -3
    sweeps = 0
    run_due = h.jobs.run_due

    async def counting() -> None:
        nonlocal sweeps
        sweeps += 1
        await run_due()

    monkeypatch.setattr(h.jobs, "run_due", counting)
    await h.run(timedelta(days=1))
    assert sweeps <= 24 + 2
    assert h.store.schedule()["line-gone"] - h.clock.now() > timedelta(minutes=30)
    assert h.platform.sent == []


async def test_polls_sooner_near_a_threshold_but_never_faster_than_the_provider_allows() -> None:
    h = make()
    h.scripted.min_poll_seconds = 1800  # Airalo: at most every 30 minutes per eSIM
    iccid = "9" * 19
    # 1 GB a day from 2 GB of 5 GB: "20 %" at 22:35 UTC, "5 %" at 08:35 the next day
    h.scripted.script[iccid] = lambda now: scripted_balance(
        iccid, now, max(0, 2 * GB - int(GB * (now - T0).total_seconds() / 86400)), expires=T0 + timedelta(days=30)
    )
    h.household("fam", quiet_start=None, quiet_end=None)
    await h.link("", "mom", provider="scripted", iccid=iccid)
    await h.run(timedelta(days=2, hours=1))
    gaps = [b - a for a, b in itertools.pairwise(h.scripted.call_times)]
    assert min(gaps) >= timedelta(minutes=30)
    assert kinds(h) == ["data", "data", "depleted"]
    # each alert came within half an hour of its moment (a fixed hourly poll could be an hour late)
    moments = [
        T0 + timedelta(days=(2 * GB - (21 * 5 * GB // 100 - 1)) / GB),
        T0 + timedelta(days=(2 * GB - (6 * 5 * GB // 100 - 1)) / GB),
        T0 + timedelta(days=2),
    ]
    for sent, moment in zip(h.platform.sent, moments, strict=True):
        assert moment <= sent.at <= moment + timedelta(minutes=31), (sent.at, moment)


async def test_provider_error_gives_no_alert_and_a_retry_later() -> None:
    h = make()
    await h.link("DEMO20", "mom")
    h.demo.error = Unavailable("demo", "maintenance")
    await h.run(timedelta(hours=12))
    assert h.platform.sent == [] and h.items() == []
    due = h.store.schedule()["line-mom"]
    assert h.clock.now() < due <= h.clock.now() + ERROR_RETRY
    assert h.metrics.value("esimbot_provider_calls_total", provider="demo", outcome="Unavailable") >= 1
    assert h.demo.calls <= 12 * 4 + 2  # every 15 minutes at most, not a busy loop
    assert "demo" not in h.poller.last_poll_ok
    h.demo.error = None
    await h.run(ERROR_RETRY)
    assert len(h.platform.sent) == 1 and "5%" in h.texts()[0]
    assert h.poller.last_poll_ok["demo"] <= h.clock.now()


async def test_rate_limited_provider_is_asked_again_after_retry_after() -> None:
    h = make()
    await h.link("DEMO20", "mom")
    h.demo.error = RateLimited("demo", "slow down", retry_after=1800)
    h.demo.calls = 0
    await h.run(timedelta(hours=2))
    assert h.platform.sent == []
    assert h.demo.calls <= 2 * 2 + 1  # once an hour (cadence), then every 30 minutes
    due = h.store.schedule()["line-mom"]
    assert due - h.clock.now() <= timedelta(seconds=1800)


@pytest.mark.parametrize("hang", [False, True], ids=["exception", "hang"])
async def test_a_broken_provider_does_not_stop_the_others_or_spin(monkeypatch: pytest.MonkeyPatch, hang: bool) -> None:
    monkeypatch.setattr("bot.reminders.poller.POLL_TIMEOUT", 0.01)
    h = make()
    broken = Broken(hang=hang)
    h.poller._providers = {**h.poller._providers, "broken": broken}  # type: ignore[dict-item]
    await h.link("DEMO20", "mom")
    h.household("fam")
    h.store.save_line(
        Line(
            id="line-x",
            household_id=f"{P}:fam",
            label="x",
            owner=f"{P}:anna",
            owner_name="Anna",
            provider="broken",
            ref="7" * 19,
            created_at=T0,
        )
    )
    await h.seen(h.store.line("line-x"), None)
    await asyncio.wait_for(h.run(timedelta(hours=12)), timeout=20)
    assert kinds(h) == ["data"]  # mom's "5 %" still arrives
    assert broken.calls <= 12 * 4 + 2  # asked again every 15 minutes, not in a tight loop
    assert h.store.schedule()["line-x"] > h.clock.now()


async def test_clock_skew_an_older_answer_changes_nothing() -> None:
    h = make()
    iccid = "1" * 19
    newest = T0 + timedelta(hours=1)
    h.scripted.script[iccid] = lambda now: scripted_balance(iccid, now, 3 * GB, expires=T0 + timedelta(days=20))
    await h.link("", "s", provider="scripted", iccid=iccid)
    await h.run(timedelta(hours=1))
    assert h.store.last_balance("line-s").as_of == newest
    # a late answer from before the last one says the line is empty: ignored, and kept out of the samples
    h.scripted.script[iccid] = lambda now: scripted_balance(iccid, now, 0, as_of=newest - timedelta(minutes=5))
    await h.run(timedelta(hours=1))
    assert h.platform.sent == [] and h.items() == []
    last = h.store.last_balance("line-s")
    assert last is not None and last.as_of == newest and last.data_remaining_bytes == 3 * GB
    assert [s.as_of for s in h.store.samples("line-s")] == [T0, newest]


async def test_webhook_event_is_evaluated_at_once() -> None:
    h = make()
    iccid = "4" * 19
    state = {"left": 3 * GB}
    h.scripted.script[iccid] = lambda now: scripted_balance(iccid, now, state["left"], expires=T0 + timedelta(days=20))
    await h.link("", "mom", provider="scripted", iccid=iccid)
    await h.run(timedelta(minutes=20))  # the next look is 40 fake minutes away
    state["left"] = 100 * MB
    event = BalanceEvent(
        provider="scripted", iccid=iccid, kind="data_threshold", received_at=h.clock.now(), threshold_used_percent=98
    )
    calls = h.scripted.calls
    assert await h.watcher.submit_event(event) is True
    assert h.jobs.next_wake() == h.clock.now()  # the loop wakes for it at once
    await h.jobs.run_due()
    assert kinds(h) == ["data"]  # from the event's own figures: 98 % used
    assert h.platform.sent[0].at == T0 + timedelta(minutes=20)  # no fake time had to pass
    assert h.scripted.calls == calls  # 20 minutes after the last look: the provider allows one an hour
    await h.run(timedelta(minutes=41))
    assert h.scripted.call_times[calls:] == [T0 + timedelta(hours=1)]  # the look, as soon as allowed
    assert kinds(h) == ["data"]  # and no second alert
    wrong = replace(event, provider="demo")
    assert await h.watcher.submit_event(wrong) is False
    assert await h.watcher.submit_event(replace(event, iccid="9" * 19)) is False


async def test_health_shape() -> None:
    h = make()
    health = h.jobs.health()
    assert health == {"next_due": None, "outbox_backlog": 0, "last_poll_ok": {}}
    await h.link("DEMO20", "mom")
    await h.link("DEMO12", "dad")
    await h.run(timedelta(hours=1))
    health = h.jobs.health()
    assert set(health) == {"next_due", "outbox_backlog", "last_poll_ok"}
    assert len(h.store.schedule()) == 2
    assert health["outbox_backlog"] == 0
    assert datetime.fromisoformat(health["next_due"]) > h.clock.now()
    assert datetime.fromisoformat(health["last_poll_ok"]["demo"]) == h.clock.now()
    await h.enqueue(_item("x", "fam", at=h.clock.now() + timedelta(hours=5)))
    assert h.jobs.health()["outbox_backlog"] == 1
    json.dumps(health)  # ready for /healthz


async def test_unlimited_line_gets_expiry_alerts_only() -> None:
    h = make()
    h.household("fam", quiet_start=None, quiet_end=None)
    await h.link("DEMO53", "kid")
    await h.run(timedelta(days=8))
    assert kinds(h) == ["expiry", "expiry", "expired"]


def _by_status(status: Status) -> Callable[[datetime], EsimBalance]:
    def balance(now: datetime) -> EsimBalance:
        return replace(scripted_balance("", now, 2 * GB, expires=T0 + timedelta(days=60)), status=status)

    return balance


async def test_lines_are_polled_by_what_their_provider_last_said() -> None:
    """A recycled eSIM is looked at once a day, a not yet activated one every 6 hours, a live
    one at its provider's cadence (hourly here); the call counts on the fake clock show it."""
    h = make()
    h.household("fam", quiet_start=None, quiet_end=None)
    iccids = {"live": "1" * 19, "fresh": "2" * 19, "gone": "3" * 19}
    statuses = {"live": Status.ACTIVE, "fresh": Status.NOT_ACTIVE, "gone": Status.TERMINATED}
    asked: dict[str, int] = {}
    for label, iccid in iccids.items():
        script = _by_status(statuses[label])

        def counted(now: datetime, label: str = label, script: Callable[[datetime], EsimBalance] = script) -> EsimBalance:
            asked[label] = asked.get(label, 0) + 1
            return script(now)

        h.scripted.script[iccid] = counted
        await h.link("", label, provider="scripted", iccid=iccid)
    asked.clear()
    await h.run(timedelta(hours=3))
    assert asked == {"live": 3}  # not "gone" 3 times like a live line
    await h.run(timedelta(hours=21))
    assert asked == {"live": 24, "fresh": 4, "gone": 1}
    await h.run(timedelta(days=2))
    assert asked["gone"] == 3 and asked["fresh"] == 12
    assert h.platform.sent == []  # a dead line has nothing to remind of


async def test_a_dead_line_waits_for_the_live_ones_in_a_sweep() -> None:
    h = make()
    h.household("fam", quiet_start=None, quiet_end=None)
    order: list[str] = []
    for label, status in (("gone", Status.TERMINATED), ("live", Status.ACTIVE)):
        script = _by_status(status)

        def noted(now: datetime, label: str = label, script: Callable[[datetime], EsimBalance] = script) -> EsimBalance:
            order.append(label)
            return script(now)

        h.scripted.script[label[0] * 19] = noted
        await h.link("", label, provider="scripted", iccid=label[0] * 19)
    order.clear()
    h.clock.advance(timedelta(days=1))
    async with h.store.store.transaction() as tx:  # both due at the same moment, in one sweep
        for line in h.lines.values():
            await tx.set_due(line.id, h.clock.now())
    await h.poller.sweep(h.clock.now())
    assert order == ["live", "gone"]


async def test_poll_intervals_are_settings() -> None:
    from bot.config import Settings
    from bot.errors import ConfigError

    settings = Settings.from_env({"POLL_TERMINAL_HOURS": "48", "POLL_INACTIVE_HOURS": "2"})
    assert (settings.poll_terminal_hours, settings.poll_inactive_hours) == (48, 2)
    with pytest.raises(ConfigError, match="POLL_TERMINAL_HOURS"):
        Settings.from_env({"POLL_TERMINAL_HOURS": "0"})
    cadence = Cadence(terminal=timedelta(hours=48))
    assert cadence.of(Status.TERMINATED) == timedelta(hours=48) and cadence.of(Status.ACTIVE) == timedelta(hours=1)
