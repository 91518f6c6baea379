"""The job queue and the outbox in-process: FakeClock, the demo provider, a recording platform.

The wiring is done by hand (store, providers, Outbox, JobQueue), the way bot.app.build does
it, with a fake chat platform that records every send (and can be told to fail) and a
renderer that uses the real catalogs, so the tests see what a reader would see.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import alerts
from bot.app import LOCALES, ProviderState
from bot.audience import Audience
from bot.clock import FakeClock
from bot.context import Notice
from bot.i18n import Catalogs
from bot.jobs.delivery import MAX_ATTEMPTS, Delivery
from bot.jobs.events import Events
from bot.jobs.planner import Planner
from bot.jobs.poller import ERROR_RETRY, Poller
from bot.jobs.queue import AlertQueue
from bot.jobs.runner import Jobs
from bot.messages import Address, Reply
from bot.metrics import Metrics
from bot.platforms.base import ChatMoved, Handler, RetryLater, SendLimits, TargetGone, Undeliverable
from bot.records import Alert, Household, Line, OutboxItem, ReminderSettings
from bot.store import MemoryStore, TinyDBStore
from bot.store.journal import Journal
from bot.store.memory import DocumentStore
from providers.base import GB, MB, BalanceEvent, EsimBalance, Provider, Status
from providers.demo import DemoProvider
from providers.errors import RateLimited, Unavailable
from tests.storeview import StoreView, run_now

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)  # 09:00 in Oslo
OSLO = ZoneInfo("Europe/Oslo")
TELEGRAM = SendLimits(30, 1, 20)
P = "telegram"
DEMO = {
    "DEMO12": "8947000000000000012",
    "DEMO20": "8947000000000000020",
    "DEMO38": "8947000000000000038",
    "DEMO46": "8947000000000000046",
    "DEMO53": "8947000000000000053",
    "DEMO61": "8947000000000000061",
}
CATALOGS = Catalogs.load(LOCALES)


def en(msgid: str) -> str:
    """The longest fixed piece of an English message (what every rendering contains)."""
    text = CATALOGS.translator("en")._tr.gettext(msgid)
    return max(re.split(r"\{[^}]*\}", text), key=len).strip()


# --- fakes -------------------------------------------------------------------------------------


class Crash(BaseException):
    """The process dies in the middle of a send (nothing after it runs)."""


@dataclass(frozen=True)
class Sent:
    chat: str
    user: str
    text: str
    mention: str | None
    private: bool
    kind: str
    at: datetime


class RecordingPlatform:
    """A Platform that records sends; ``fail_once``/``fail_always`` by chat make it raise."""

    def __init__(self, clock: FakeClock, *, name: str = P, limits: SendLimits = TELEGRAM) -> None:
        self.name = name
        self.limits = limits
        self._clock = clock
        self.sent: list[Sent] = []
        self.attempts: list[Sent] = []
        self.fail_once: dict[str, list[BaseException]] = {}
        self.fail_always: dict[str, BaseException] = {}
        self.crash_after_send = False
        self.delivered = asyncio.Event()
        self.on_send: Callable[[Sent], Any] | None = None

    async def start(self, handler: Handler) -> None:
        return None

    async def send(self, to: Address, reply: Reply, *, kind: str = "reply") -> None:
        rec = Sent(to.chat, to.user, reply.text, reply.mention, reply.private, kind, self._clock.now())
        self.attempts.append(rec)
        if self.on_send is not None:
            hook, self.on_send = self.on_send, None
            await hook(rec)  # something else happens while this message is on its way
        if to.chat in self.fail_always:
            raise self.fail_always[to.chat]
        if self.fail_once.get(to.chat):
            raise self.fail_once[to.chat].pop(0)
        self.sent.append(rec)
        self.delivered.set()
        if self.crash_after_send:
            raise Crash

    def private_address(self, user: str) -> Address:
        return Address(self.name, f"dm-{user}", user)

    async def stop(self) -> None:
        return None


class FlakyDemo:
    """The demo provider, but it can be told to fail (an outage, a rate limit)."""

    def __init__(self, inner: DemoProvider) -> None:
        self.inner = inner
        self.name = inner.name
        self.supports_topup = inner.supports_topup
        self.min_poll_seconds = inner.min_poll_seconds
        self.error: Exception | None = None
        self.calls = 0

    async def balance(self, iccid: str) -> EsimBalance:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return await self.inner.balance(iccid)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Scripted:
    """A provider whose balance is whatever the test says (a function of the clock)."""

    name = "scripted"
    supports_topup = False

    def __init__(self, clock: FakeClock, *, min_poll_seconds: int = 3600) -> None:
        self._clock = clock
        self.min_poll_seconds = min_poll_seconds
        self.script: dict[str, Callable[[datetime], EsimBalance]] = {}
        self.calls = 0
        self.call_times: list[datetime] = []

    async def balance(self, iccid: str) -> EsimBalance:
        self.calls += 1
        self.call_times.append(self._clock.now())
        return self.script[iccid](self._clock.now())

    async def aclose(self) -> None:
        return None


def scripted_balance(iccid: str, at: datetime, left: int | None, total: int | None = 5 * GB, *,
                     expires: datetime | None = None, as_of: datetime | None = None) -> EsimBalance:
    status = Status.ACTIVE if left != 0 else Status.DEPLETED
    return EsimBalance(provider="scripted", iccid=iccid, status=status, as_of=as_of or at, data_total_bytes=total,
                       data_remaining_bytes=left, expires_at=expires or at + timedelta(days=20))


# --- harness -----------------------------------------------------------------------------------


@dataclass
class Harness:
    store: StoreView
    clock: FakeClock
    platform: RecordingPlatform
    outbox: AlertQueue
    jobs: Jobs
    demo: FlakyDemo
    scripted: Scripted
    metrics: Metrics
    events: Events
    poller: Poller
    lines: dict[str, Line] = field(default_factory=dict)

    async def seen(self, line: Line, bal: EsimBalance | None, *, fresh_cycle: bool = False) -> list[Notice]:
        async with self.store.store.transaction() as tx:
            return await self.jobs.line_seen(tx, line, bal, fresh_cycle=fresh_cycle)

    async def enqueue(self, item: OutboxItem) -> None:
        async with self.store.store.transaction() as tx:
            await self.outbox.enqueue(tx, item)
        await self.jobs.refresh()

    def household(self, chat: str = "fam", *, group: bool = True, **kw: Any) -> Household:
        existing = self.store.household(f"{P}:{chat}")
        household = existing or Household(id=f"{P}:{chat}", is_group=group, created_at=self.clock.now())
        household = replace(household, **kw)
        self.store.save_household(household)
        return household

    async def link(self, code: str, label: str, *, chat: str = "fam", owner: str = "anna", group: bool = True,
                   target: str | None = None, provider: str = "demo", iccid: str | None = None) -> list[Notice]:
        if self.store.household(f"{P}:{chat}") is None:
            self.household(chat, group=group)
        line = Line(id=f"line-{label}", household_id=f"{P}:{chat}", label=label, owner=f"{P}:{owner}",
                    owner_name=owner.title(), provider=provider, ref=iccid or DEMO[code], created_at=self.clock.now(),
                    reminders=ReminderSettings(target=target) if target else None)
        self.store.save_line(line)
        self.lines[label] = line
        source = self.demo.inner if provider == "demo" else self.scripted
        bal = await source.balance(line.ref)
        self.store.add_sample(line.id, bal)
        return await self.seen(line, bal, fresh_cycle=True)

    async def run(self, delta: timedelta) -> None:
        await self.jobs.run_until(self.clock.now() + delta)

    async def run_to(self, when: datetime) -> None:
        await self.jobs.run_until(when)

    def texts(self) -> list[str]:
        return [s.text for s in self.platform.sent]

    def items(self) -> list[OutboxItem]:
        return self.store.outbox()


def render_en(store: StoreView, clock: FakeClock) -> Callable[[OutboxItem], Awaitable[str]]:
    async def render(item: OutboxItem) -> str:
        household = store.household(item.household_id)
        tz = household.timezone if household else "Europe/Oslo"
        lang = (household.language if household else None) or "en"
        return alerts.render(item.alert, CATALOGS.translator(lang, tz), clock.now(), "/")
    return render


def make(real: DocumentStore | None = None, *, start: datetime = T0, limits: SendLimits = TELEGRAM) -> Harness:
    real = real if real is not None else MemoryStore()
    store = StoreView(real)
    clock = FakeClock(start)
    metrics = Metrics()
    demo = FlakyDemo(DemoProvider(ProviderState(real), clock.now, poll_seconds=3600))
    scripted = Scripted(clock)
    platform = RecordingPlatform(clock, limits=limits)
    providers: dict[str, Provider] = {"demo": demo, "scripted": scripted}  # type: ignore[dict-item]
    audience = Audience(CATALOGS, default_language="en", default_timezone="Europe/Oslo")
    outbox = AlertQueue(real)  # the pipeline as bot.app wires it
    events = Events(store=real, queue=outbox, now=clock.now)
    wake = asyncio.Event()
    planner = Planner(queue=outbox, audience=audience, on_queued=wake.set)
    delivery = Delivery(store=real, queue=outbox, platforms={P: platform}, render=render_en(store, clock), events=events,
                        hold=planner.hold, metrics=metrics)
    poller = Poller(store=real, providers=providers, planner=planner, clock=clock, metrics=metrics)
    jobs = Jobs(store=real, poller=poller, planner=planner, delivery=delivery, queue=outbox, events=events, clock=clock,
                wake=wake)
    run_now(outbox.load())  # what bot.app does at start
    run_now(demo.inner.day0())
    run_now(jobs.refresh())
    return Harness(store, clock, platform, outbox, jobs, demo, scripted, metrics, events, poller)


def kinds(h: Harness) -> list[str]:
    """What each delivered alert was about, from its text."""
    return [kind_of(text) for text in h.texts()]


def kind_of(text: str) -> str:
    """The alert kind, from the icon and the headline (the first line) of an English alert."""
    first = text.split("\n", 1)[0]
    if first.startswith("⏰") and en("alert.expiry") in first:
        return "expiry"
    if first.startswith("❌"):
        return "expired" if en("alert.expired") in first else "depleted" if en("alert.depleted") in first else "?"
    if first.startswith("⚠️"):
        return "data" if en("alert.data_percent") in first else "data_bytes" if en("alert.data_left") in first else "?"
    return "?"


# --- the basic flow ----------------------------------------------------------------------------


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
        iccid, now, max(0, 2 * GB - int(GB * (now - T0).total_seconds() / 86400)), expires=T0 + timedelta(days=30))
    h.household("fam", quiet_start=None, quiet_end=None)
    await h.link("", "mom", provider="scripted", iccid=iccid)
    await h.run(timedelta(days=2, hours=1))
    gaps = [b - a for a, b in itertools.pairwise(h.scripted.call_times)]
    assert min(gaps) >= timedelta(minutes=30)
    assert kinds(h) == ["data", "data", "depleted"]
    # each alert came within half an hour of its moment (a fixed hourly poll could be an hour late)
    moments = [T0 + timedelta(days=(2 * GB - (21 * 5 * GB // 100 - 1)) / GB),
               T0 + timedelta(days=(2 * GB - (6 * 5 * GB // 100 - 1)) / GB), T0 + timedelta(days=2)]
    for sent, moment in zip(h.platform.sent, moments, strict=True):
        assert moment <= sent.at <= moment + timedelta(minutes=31), (sent.at, moment)


# --- provider errors ---------------------------------------------------------------------------


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


class Broken:
    """An adapter that breaks its contract: a plain exception, or no answer at all."""

    name = "broken"
    supports_topup = False
    min_poll_seconds = 3600

    def __init__(self, *, hang: bool = False) -> None:
        self.hang = hang
        self.calls = 0

    async def balance(self, iccid: str) -> EsimBalance:
        self.calls += 1
        if self.hang:
            await asyncio.Event().wait()
        raise KeyError("data")  # a payload the adapter did not expect


@pytest.mark.parametrize("hang", [False, True], ids=["exception", "hang"])
async def test_a_broken_provider_does_not_stop_the_others_or_spin(monkeypatch: pytest.MonkeyPatch, hang: bool) -> None:
    monkeypatch.setattr("bot.jobs.poller.POLL_TIMEOUT", 0.01)
    h = make()
    broken = Broken(hang=hang)
    h.poller._providers = {**h.poller._providers, "broken": broken}  # type: ignore[dict-item]
    await h.link("DEMO20", "mom")
    h.household("fam")
    h.store.save_line(Line(id="line-x", household_id=f"{P}:fam", label="x", owner=f"{P}:anna", owner_name="Anna",
                           provider="broken", ref="7" * 19, created_at=T0))
    await h.seen(h.store.line("line-x"), None)  # type: ignore[arg-type]
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
    assert h.store.last_balance("line-s").as_of == newest  # type: ignore[union-attr]
    # a late answer from before the last one says the line is empty: ignored, and kept out of the samples
    h.scripted.script[iccid] = lambda now: scripted_balance(iccid, now, 0, as_of=newest - timedelta(minutes=5))
    await h.run(timedelta(hours=1))
    assert h.platform.sent == [] and h.items() == []
    last = h.store.last_balance("line-s")
    assert last is not None and last.as_of == newest and last.data_remaining_bytes == 3 * GB
    assert [s.as_of for s in h.store.samples("line-s")] == [T0, newest]


# --- quiet hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(("due_local", "arrives_local"), [
    (datetime(2026, 1, 9, 23, 0, tzinfo=OSLO), datetime(2026, 1, 10, 8, 0, tzinfo=OSLO)),
    # clocks go forward in the night of 28/29 March: 08:00 is 06:00 UTC, not 07:00
    (datetime(2026, 3, 28, 23, 0, tzinfo=OSLO), datetime(2026, 3, 29, 8, 0, tzinfo=OSLO)),
    # clocks go back in the night of 24/25 October: 08:00 is 07:00 UTC, not 06:00
    (datetime(2026, 10, 24, 23, 0, tzinfo=OSLO), datetime(2026, 10, 25, 8, 0, tzinfo=OSLO)),
])
async def test_quiet_hours_hold_an_alert_until_0800_oslo(due_local: datetime, arrives_local: datetime) -> None:
    # DEMO38 expires on day 2: "expires in 1 day" is due exactly one day after day 0
    start = due_local.astimezone(UTC) - timedelta(days=1)
    h = make(start=start)
    await h.link("DEMO38", "kid")
    await h.run_to(arrives_local.astimezone(UTC) - timedelta(seconds=1))
    assert h.platform.sent == []
    assert h.outbox.backlog == 1
    pending = h.items()[0]
    assert pending.created_at.astimezone(OSLO).hour == 23
    await h.run_to(arrives_local.astimezone(UTC) + timedelta(minutes=5))
    assert kinds(h) == ["expiry"]
    sent_at = h.platform.sent[0].at.astimezone(OSLO)
    assert (sent_at.date(), sent_at.hour, sent_at.minute) == (arrives_local.date(), 8, 0)


async def test_quiet_hours_off_sends_at_once() -> None:
    due = datetime(2026, 1, 9, 22, 0, tzinfo=UTC)  # 23:00 in Oslo
    h = make(start=due - timedelta(days=1))
    h.household("fam", quiet_start=None, quiet_end=None)
    await h.link("DEMO38", "kid")
    await h.run_to(due + timedelta(minutes=2))
    assert kinds(h) == ["expiry"]
    assert due <= h.platform.sent[0].at <= due + timedelta(minutes=2)


async def test_quiet_hours_in_the_households_time_zone() -> None:
    due = datetime(2026, 1, 9, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    h = make(start=due - timedelta(days=1))
    h.household("fam", timezone="Asia/Shanghai", quiet_start="22:00", quiet_end="07:30")
    await h.link("DEMO38", "kid")
    await h.run_to(datetime(2026, 1, 9, 23, 29, 59, tzinfo=UTC))
    assert h.platform.sent == []
    await h.run_to(datetime(2026, 1, 9, 23, 35, tzinfo=UTC))
    assert [s.at for s in h.platform.sent] == [datetime(2026, 1, 9, 23, 30, tzinfo=UTC)]


@pytest.mark.parametrize(("now_local", "until_local"), [
    (datetime(2026, 3, 28, 21, 59, tzinfo=OSLO), None),
    (datetime(2026, 3, 28, 22, 0, tzinfo=OSLO), datetime(2026, 3, 29, 8, 0, tzinfo=OSLO)),
    (datetime(2026, 3, 29, 1, 30, tzinfo=OSLO), datetime(2026, 3, 29, 8, 0, tzinfo=OSLO)),
    (datetime(2026, 3, 29, 7, 59, tzinfo=OSLO), datetime(2026, 3, 29, 8, 0, tzinfo=OSLO)),
    (datetime(2026, 3, 29, 8, 0, tzinfo=OSLO), None),
    (datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=OSLO), datetime(2026, 10, 25, 8, 0, tzinfo=OSLO)),
    (datetime(2026, 10, 24, 23, 0, tzinfo=OSLO), datetime(2026, 10, 25, 8, 0, tzinfo=OSLO)),
])
def test_quiet_until(now_local: datetime, until_local: datetime | None) -> None:
    household = Household(id="x:y", is_group=True, created_at=T0)
    got = alerts.quiet_until(household, now_local.astimezone(UTC))
    assert got == (until_local.astimezone(UTC) if until_local else None)
    assert alerts.quiet_until(replace(household, quiet_start=None, quiet_end=None), now_local.astimezone(UTC)) is None
    daytime = replace(household, quiet_start="12:00", quiet_end="13:00")  # a quiet time that does not wrap
    assert alerts.quiet_until(daytime, datetime(2026, 3, 29, 12, 30, tzinfo=OSLO).astimezone(UTC)) == \
        datetime(2026, 3, 29, 13, 0, tzinfo=OSLO).astimezone(UTC)


async def test_a_retry_that_lands_in_quiet_hours_waits_for_the_morning() -> None:
    at = datetime(2026, 1, 9, 20, 59, tzinfo=UTC)  # 21:59 in Oslo
    h = make(start=at)
    h.household("fam")
    await h.enqueue(_item("1", "fam", at=at))
    h.platform.fail_once["fam"] = [RetryLater(120)]  # flood control: again at 22:01
    await h.run_to(datetime(2026, 1, 10, 6, 59, tzinfo=UTC))
    assert h.platform.sent == []
    await h.run_to(datetime(2026, 1, 10, 7, 5, tzinfo=UTC))
    assert [s.at for s in h.platform.sent] == [datetime(2026, 1, 10, 7, 0, tzinfo=UTC)]


async def test_stale_alerts_waiting_in_quiet_hours_collapse_into_one_message() -> None:
    h = make(start=datetime(2026, 1, 9, 20, 0, tzinfo=UTC))  # 21:00 in Oslo
    iccid = "2" * 19
    t0 = h.clock.now()

    def script(now: datetime) -> EsimBalance:
        hours = (now - t0).total_seconds() / 3600
        left = 2 * GB if hours < 2 else (200 * MB if hours < 6 else 0)  # "5 %" at 23:00, empty at 03:00
        return scripted_balance(iccid, now, left, expires=t0 + timedelta(days=20))

    h.scripted.script[iccid] = script
    await h.link("", "mom", provider="scripted", iccid=iccid)
    await h.run(timedelta(hours=9))  # to 06:00 Oslo
    assert h.platform.sent == []
    assert h.outbox.backlog == 1  # "5 %" was replaced by "no data left"
    await h.run(timedelta(hours=3))
    assert kinds(h) == ["depleted"]
    assert h.platform.sent[0].at == datetime(2026, 1, 10, 7, 0, tzinfo=UTC)


async def test_collapsed_alerts_keep_the_most_severe_headline() -> None:
    """Empty at 23:30 (held for the morning), then "1 day left" at 03:00: the one message at
    08:00 leads with the worse news, with today's numbers."""
    h = make(start=datetime(2026, 1, 9, 20, 0, tzinfo=UTC))  # 21:00 in Oslo
    iccid = "6" * 19
    expires = datetime(2026, 1, 11, 2, 0, tzinfo=UTC)  # "1 day left" from 03:00 Oslo on the 10th

    def script(now: datetime) -> EsimBalance:
        left = 3 * GB if now < datetime(2026, 1, 9, 22, 30, tzinfo=UTC) else 0
        return scripted_balance(iccid, now, left, expires=expires)

    h.scripted.script[iccid] = script
    await h.link("", "mom", provider="scripted", iccid=iccid)  # 3 GB, expires in 30 h: "3 days" is past
    await h.run_to(datetime(2026, 1, 10, 7, 5, tzinfo=UTC))
    assert kinds(h) == ["depleted"], h.texts()
    [text] = h.texts()
    assert "(in 19 hours)" in text or "in 1 day" in text, text  # the expiry is told as well


async def test_a_topup_drops_an_unsent_alert_of_the_old_cycle() -> None:
    """ "5 %" at 23:11 waits for 08:00; at 07:00 the owner tops up: no stale "5 %" at 08:00."""
    h = make(start=datetime(2026, 1, 1, 14, 0, tzinfo=UTC))
    await h.link("DEMO20", "mom")
    await h.run_to(datetime(2026, 1, 2, 5, 0, tzinfo=UTC))
    assert h.outbox.backlog == 1
    await h.demo.inner.topup(DEMO["DEMO20"], "demo-5gb-30d", client_ref="ref-1")
    await h.seen(h.lines["mom"], None, fresh_cycle=True)  # what /confirm does
    await h.run_to(datetime(2026, 1, 2, 7, 30, tzinfo=UTC))
    assert h.platform.sent == [], h.texts()
    assert h.outbox.backlog == 0


async def test_a_new_cycle_keeps_an_unsent_alert_that_is_still_true() -> None:
    """ "5 %" waits for the morning; at 03:00 the plan's validity is extended (no data added):
    a new cycle, but the waiting alert is still true and is sent at 08:00."""
    h = make(start=datetime(2026, 1, 9, 20, 0, tzinfo=UTC))
    iccid = "8" * 19
    drained, extended = datetime(2026, 1, 9, 22, 30, tzinfo=UTC), datetime(2026, 1, 10, 2, 0, tzinfo=UTC)

    def script(now: datetime) -> EsimBalance:
        expires = datetime(2026, 1, 25, tzinfo=UTC) + (timedelta(days=7) if now >= extended else timedelta(0))
        return scripted_balance(iccid, now, 3 * GB if now < drained else 200 * MB, expires=expires)

    h.scripted.script[iccid] = script
    await h.link("", "mom", provider="scripted", iccid=iccid)
    await h.run_to(datetime(2026, 1, 10, 7, 5, tzinfo=UTC))
    assert kinds(h) == ["data"], h.texts()
    assert h.platform.sent[0].at == datetime(2026, 1, 10, 7, 0, tzinfo=UTC)
    assert h.store.alert_state("line-mom").cycle_started >= extended  # type: ignore[union-attr]


# --- targets and fallbacks ---------------------------------------------------------------------


async def test_target_group_mentions_the_owner() -> None:
    h = make()
    await h.link("DEMO20", "mom", target="group")
    await h.run(timedelta(hours=12))
    [sent] = h.platform.sent
    assert (sent.chat, sent.mention, sent.private) == ("fam", "anna", False)


async def test_target_owner_goes_privately() -> None:
    h = make()
    await h.link("DEMO20", "mom", target="owner")
    await h.run(timedelta(hours=12))
    [sent] = h.platform.sent
    assert (sent.chat, sent.user, sent.mention, sent.private) == ("dm-anna", "anna", None, True)


async def test_target_both() -> None:
    h = make()
    await h.link("DEMO20", "mom", target="both")
    await h.run(timedelta(hours=12))
    got = sorted((s.chat, s.mention, s.private) for s in h.platform.sent)
    assert got == [("dm-anna", None, True), ("fam", "anna", False)]
    assert h.platform.sent[0].text == h.platform.sent[1].text


async def test_private_household_gets_the_alert_in_its_chat() -> None:
    h = make()
    await h.link("DEMO20", "mom", chat="anna", group=False, target="both")
    await h.run(timedelta(hours=12))
    [sent] = h.platform.sent
    assert (sent.chat, sent.mention, sent.private) == ("anna", None, False)


async def test_owner_gone_falls_back_to_the_group_and_is_recorded() -> None:
    h = make()
    await h.link("DEMO20", "mom", target="owner")
    h.platform.fail_always["dm-anna"] = TargetGone("blocked")
    await h.run(timedelta(hours=12))
    [sent] = h.platform.sent
    assert (sent.chat, sent.mention, sent.private) == ("fam", "anna", False)
    assert "5%" in sent.text
    assert h.store.get_state("unreachable", f"{P}:anna") is True
    dropped = [i for i in h.items() if i.state == "dropped"]
    assert [i.note for i in dropped] == ["target gone"]
    # later alerts go straight to the group: the blocked chat is not tried again
    await h.run(timedelta(days=2))
    assert kinds(h) == ["data", "depleted"]
    assert [s.chat for s in h.platform.sent] == ["fam", "fam"]
    assert [a.chat for a in h.platform.attempts].count("dm-anna") == 1


async def test_owner_gone_with_target_both_does_not_repeat_it_in_the_group() -> None:
    h = make()
    await h.link("DEMO20", "mom", target="both")
    h.platform.fail_always["dm-anna"] = TargetGone("blocked")
    await h.run(timedelta(hours=12))
    assert [(s.chat, s.mention) for s in h.platform.sent] == [("fam", "anna")]
    assert h.store.get_state("unreachable", f"{P}:anna") is True


async def test_group_gone_falls_back_to_the_owner() -> None:
    h = make()
    await h.link("DEMO20", "mom", target="group")
    h.platform.fail_always["fam"] = TargetGone("bot was removed")
    await h.run(timedelta(hours=12))
    [sent] = h.platform.sent
    assert (sent.chat, sent.private, sent.mention) == ("dm-anna", True, None)
    assert "5%" in sent.text
    household = h.store.household(f"{P}:fam")
    assert household is not None and household.active is False  # recorded: the group is gone
    # no more alerts for a chat the bot is no longer in
    await h.run(timedelta(days=3))
    assert len(h.platform.sent) == 1
    assert [a.chat for a in h.platform.attempts].count("fam") == 1


async def test_group_gone_with_target_both_does_not_repeat_it_privately() -> None:
    h = make()
    await h.link("DEMO20", "mom", target="both")
    h.platform.fail_always["fam"] = TargetGone("bot was removed")
    await h.run(timedelta(hours=12))
    assert [(s.chat, s.private) for s in h.platform.sent] == [("dm-anna", True)]


async def test_both_targets_gone_drops_without_looping() -> None:
    h = make()
    await h.link("DEMO20", "mom", target="owner")
    h.platform.fail_always["dm-anna"] = TargetGone("blocked")
    h.platform.fail_always["fam"] = TargetGone("removed")
    await h.run(timedelta(hours=12))
    assert h.platform.sent == []
    assert len(h.platform.attempts) == 2
    assert h.outbox.backlog == 0


async def test_chat_moved_resends_to_the_new_chat() -> None:
    h = make()
    await h.link("DEMO20", "mom")
    h.platform.fail_once["fam"] = [ChatMoved("fam-super")]
    await h.run(timedelta(hours=12))
    [sent] = h.platform.sent
    assert (sent.chat, sent.mention) == ("fam-super", "anna")
    assert "5%" in sent.text
    assert [a.chat for a in h.platform.attempts] == ["fam", "fam-super"]


async def test_chat_moved_event_moves_the_household_and_its_pending_alerts() -> None:
    h = make(start=datetime(2026, 1, 9, 20, 0, tzinfo=UTC))
    iccid = "3" * 19
    h.scripted.script[iccid] = lambda now: scripted_balance(
        iccid, now, 3 * GB if now < datetime(2026, 1, 9, 23, tzinfo=UTC) else 100 * MB,
        expires=datetime(2026, 1, 19, tzinfo=UTC))
    await h.link("", "mom", provider="scripted", iccid=iccid)
    await h.run_to(datetime(2026, 1, 10, 2, 0, tzinfo=UTC))
    assert h.outbox.backlog == 1  # waiting for the morning
    await h.events.chat_moved(P, "fam", "fam-super")
    assert h.store.household(f"{P}:fam-super") is not None and h.store.household(f"{P}:fam") is None
    line = h.store.line("line-mom")
    assert line is not None and line.household_id == f"{P}:fam-super"
    await h.run_to(datetime(2026, 1, 10, 7, 5, tzinfo=UTC))
    assert [(s.chat, s.mention) for s in h.platform.sent] == [("fam-super", "anna")]


async def test_an_alert_enqueued_while_the_previous_one_is_sent_is_not_lost() -> None:
    """A /balance (or a webhook) finds the line empty while its "5 %" alert is on the wire:
    the new alert must not be folded into the one being sent (it would be marked sent unsent)."""
    h = make()
    iccid = "5" * 19
    state = {"left": 3 * GB}
    h.scripted.script[iccid] = lambda now: scripted_balance(iccid, now, state["left"], expires=T0 + timedelta(days=20))
    await h.link("", "mom", provider="scripted", iccid=iccid)
    state["left"] = 200 * MB
    line = h.lines["mom"]

    async def user_checks_balance(_: Sent) -> None:
        state["left"] = 0
        bal = await h.scripted.balance(iccid)
        h.store.add_sample(line.id, bal)
        await h.seen(line, bal)  # what /balance does

    h.platform.on_send = user_checks_balance
    await h.run(timedelta(hours=1, minutes=1))
    assert kinds(h) == ["data", "depleted"]
    assert h.outbox.backlog == 0


async def test_retry_later_waits() -> None:
    h = make()
    await h.link("DEMO20", "mom")
    h.platform.fail_once["fam"] = [RetryLater(120)]
    await h.run(timedelta(hours=12))
    assert len(h.platform.sent) == 1
    first, second = h.platform.attempts
    assert second.at - first.at >= timedelta(seconds=120)
    assert second.at - first.at <= timedelta(seconds=125)


async def test_retry_later_forever_gives_up_after_max_attempts() -> None:
    h = make()
    h.household("fam")
    await h.enqueue(_item("a", "fam"))
    h.platform.fail_always["fam"] = RetryLater(1)
    await h.run(timedelta(days=2))
    assert len(h.platform.attempts) == MAX_ATTEMPTS
    [item] = h.items()
    assert (item.state, item.note) == ("dropped", "too many attempts")
    assert h.outbox.backlog == 0
    assert h.jobs.next_wake() is None


async def test_undeliverable_is_dropped_and_the_rest_continue() -> None:
    h = make()
    h.household("a")
    h.household("b")
    await h.enqueue(_item("1", "a"))
    await h.enqueue(_item("2", "b"))
    await h.enqueue(_item("3", "a", at=T0 + timedelta(seconds=1)))
    h.platform.fail_once["a"] = [Undeliverable("bad request")]
    await h.run(timedelta(hours=1))
    assert sorted(s.chat for s in h.platform.sent) == ["a", "b"]
    assert len(h.platform.attempts) == 3
    states = {i.line_id: (i.state, i.note) for i in h.items()}
    assert states["line-1"] == ("dropped", "Undeliverable")
    assert states["line-2"][0] == states["line-3"][0] == "sent"


async def test_an_unexpected_error_in_send_does_not_stop_the_others_or_spin(monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform bug (anything that is not a DeliveryError) hits one alert: the rest of the
    batch is delivered, and that alert backs off and is given up, not retried in a tight loop."""
    h = make()
    h.household("a")
    h.household("b")
    await h.enqueue(_item("1", "a"))
    await h.enqueue(_item("2", "b"))
    h.platform.fail_always["a"] = RuntimeError("platform bug")
    sweeps = 0
    run_due = h.jobs.run_due

    async def counting() -> None:
        nonlocal sweeps
        sweeps += 1
        await run_due()

    monkeypatch.setattr(h.jobs, "run_due", counting)
    await h.run(timedelta(days=2))
    assert [s.chat for s in h.platform.sent] == ["b"]
    assert len([a for a in h.platform.attempts if a.chat == "a"]) <= MAX_ATTEMPTS
    assert sweeps < 100
    states = {i.line_id: i.state for i in h.items()}
    assert states == {"line-1": "dropped", "line-2": "sent"}


# --- pacing ------------------------------------------------------------------------------------


def _item(n: str, chat: str, *, private_user: str | None = None, at: datetime = T0) -> OutboxItem:
    alert = Alert(kind="data", label=f"l{n}", provider="demo", threshold=5, remaining=100 * MB, total=5 * GB)
    return OutboxItem(id=f"item-{n}", line_id=f"line-{n}", household_id=f"{P}:{chat}", platform=P, chat=chat,
                      alert=alert, created_at=at, not_before=at, private_user=private_user)


async def test_pacing_forty_alerts_to_one_group_at_most_twenty_a_minute() -> None:
    h = make()
    h.household("fam")
    for n in range(40):
        await h.enqueue(_item(str(n), "fam"))
    await h.run(timedelta(minutes=10))
    times = [s.at for s in h.platform.sent]
    assert len(times) == 40
    assert len({s.text for s in h.platform.sent}) == 40  # forty different alerts, each once
    assert all(b - a >= timedelta(seconds=1) for a, b in itertools.pairwise(times))  # 1/s per chat
    assert all(times[i + 20] - times[i] >= timedelta(minutes=1) for i in range(20))  # 20 a minute
    assert times[-1] - times[0] <= timedelta(minutes=2, seconds=30)  # spread, not starved
    assert h.outbox.backlog == 0


async def test_pacing_overall_limit_per_second() -> None:
    h = make()
    for n in range(40):
        h.household(f"u{n}", group=False)
        await h.enqueue(_item(str(n), f"u{n}", private_user=f"u{n}"))
    await h.run(timedelta(minutes=1))
    times = sorted(s.at for s in h.platform.sent)
    assert len(times) == 40
    assert all(times[i + 30] - times[i] >= timedelta(seconds=1) for i in range(len(times) - 30))
    assert times[-1] - times[0] <= timedelta(seconds=3)


# --- webhooks, health, removal, leaving ------------------------------------------------------


async def test_webhook_event_is_evaluated_at_once() -> None:
    h = make()
    iccid = "4" * 19
    state = {"left": 3 * GB}
    h.scripted.script[iccid] = lambda now: scripted_balance(iccid, now, state["left"], expires=T0 + timedelta(days=20))
    await h.link("", "mom", provider="scripted", iccid=iccid)
    await h.run(timedelta(minutes=20))  # the next look is 40 fake minutes away
    state["left"] = 100 * MB
    event = BalanceEvent(provider="scripted", iccid=iccid, kind="data_threshold", received_at=h.clock.now(),
                         threshold_used_percent=98)
    assert await h.jobs.submit_event(event) is True
    assert h.jobs.next_wake() == h.clock.now()  # the loop wakes for it at once
    await h.jobs.run_due()
    assert kinds(h) == ["data"]
    assert h.platform.sent[0].at == T0 + timedelta(minutes=20)  # no fake time had to pass
    wrong = replace(event, provider="demo")
    assert await h.jobs.submit_event(wrong) is False
    assert await h.jobs.submit_event(replace(event, iccid="9" * 19)) is False


async def test_turning_quiet_hours_off_releases_the_alerts_waiting_for_the_morning() -> None:
    h = make(start=datetime(2026, 1, 9, 14, 0, tzinfo=UTC))  # 15:00 in Oslo
    h.household("fam")  # quiet 22:00-08:00
    await h.link("DEMO20", "mom")  # "5 %" falls due about midnight
    await h.run(timedelta(hours=12))
    assert h.platform.sent == [] and h.outbox.backlog == 1  # waiting for 08:00
    async with h.store.store.transaction() as tx:  # what /remind quiet off does
        household = replace(h.household("fam"), quiet_start=None, quiet_end=None)
        await tx.save_household(household)
        await h.jobs.household_changed(tx, household)
    await h.run(timedelta(seconds=1))
    assert kinds(h) == ["data"] and h.outbox.backlog == 0


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


async def test_line_removed_drops_pending_alerts() -> None:
    h = make(start=datetime(2026, 1, 9, 14, 0, tzinfo=UTC))  # 15:00 Oslo: "5 %" comes at 23:11, in quiet hours
    await h.link("DEMO20", "mom")
    await h.run_to(datetime(2026, 1, 10, 2, 0, tzinfo=UTC))
    assert h.outbox.backlog == 1
    line = h.lines["mom"]
    h.store.delete_line(line.id)
    async with h.store.store.transaction() as tx:
        await h.jobs.line_removed(tx, line)
    assert h.outbox.backlog == 0
    assert "line-mom" not in h.store.schedule()
    await h.run(timedelta(days=3))
    assert h.platform.sent == []


async def test_line_removed_marks_the_item_dropped_while_the_line_is_kept() -> None:
    h = make(start=datetime(2026, 1, 9, 14, 0, tzinfo=UTC))
    await h.link("DEMO20", "mom")
    await h.run_to(datetime(2026, 1, 10, 2, 0, tzinfo=UTC))
    async with h.store.store.transaction() as tx:
        await h.jobs.line_removed(tx, h.lines["mom"])
    assert [(i.state, i.note) for i in h.items()] == [("dropped", "line removed")]


async def test_chat_left_stops_a_groups_alerts() -> None:
    h = make()
    await h.link("DEMO20", "mom")
    await h.link("DEMO38", "kid", chat="other")
    await h.events.chat_left(P, "fam")
    await h.run(timedelta(days=3))
    assert all(s.chat == "other" for s in h.platform.sent)
    assert kinds(h) == ["expiry", "expired"]
    household = h.store.household(f"{P}:fam")
    assert household is not None and not household.active


async def test_chat_left_drops_a_pending_group_alert() -> None:
    h = make(start=datetime(2026, 1, 9, 14, 0, tzinfo=UTC))
    await h.link("DEMO20", "mom")
    await h.run_to(datetime(2026, 1, 10, 2, 0, tzinfo=UTC))
    assert h.outbox.backlog == 1
    await h.events.chat_left(P, "fam")
    assert h.outbox.backlog == 0
    await h.run(timedelta(days=3))
    assert h.platform.sent == []


async def test_user_unreachable_sends_owner_alerts_to_the_group() -> None:
    h = make()
    await h.link("DEMO20", "mom", target="owner")
    await h.events.user_unreachable(P, "anna")
    await h.run(timedelta(hours=12))
    assert [(s.chat, s.mention) for s in h.platform.attempts] == [("fam", "anna")]


# --- unlimited, catch-up and restarts ----------------------------------------------------------


async def test_unlimited_line_gets_expiry_alerts_only() -> None:
    h = make()
    h.household("fam", quiet_start=None, quiet_end=None)
    await h.link("DEMO53", "kid")
    await h.run(timedelta(days=8))
    assert kinds(h) == ["expiry", "expiry", "expired"]


async def test_catch_up_after_downtime_one_message_per_line(tmp_path: Path) -> None:
    db = str(tmp_path / "bot.json")
    store = TinyDBStore(db)
    h = make(store)
    await h.link("DEMO20", "mom")
    await h.link("DEMO38", "kid")
    await h.link("DEMO12", "dad")
    await h.run(timedelta(hours=1))
    assert h.platform.sent == []
    StoreView(store).close()

    later = T0 + timedelta(days=3, hours=1)  # 10:00 in Oslo
    store2 = TinyDBStore(db)
    h2 = make(store2, start=later)
    await h2.jobs.run_due()  # what bot.app does first at start
    await h2.run(timedelta(seconds=5))  # two alerts for one group: one a second
    by_label = {s.text.split(" ", 2)[1].rstrip(":"): s for s in h2.platform.sent}
    assert len(h2.platform.sent) == 2, h2.texts()
    assert set(by_label) == {"mom", "kid"}
    assert en("alert.depleted") in by_label["mom"].text  # "5 %" and "no data" collapse into the current state
    assert en("alert.expired") in by_label["kid"].text  # "1 day left" and "expired" collapse
    await h2.run(timedelta(days=1))
    assert len(h2.platform.sent) == 2  # and nothing stale follows
    StoreView(store2).close()


async def test_restart_delivers_a_stored_unsent_alert_once(tmp_path: Path) -> None:
    db = str(tmp_path / "bot.json")
    store = TinyDBStore(db)
    h = make(store)
    h.household("fam")
    h.store.save_line(Line(id="line-1", household_id=f"{P}:fam", label="l1", owner=f"{P}:anna", owner_name="Anna",
                           provider="demo", ref=DEMO["DEMO12"], created_at=T0))
    await h.enqueue(_item("1", "fam"))  # due, stored, not sent: then the process stops
    StoreView(store).close()

    store2 = TinyDBStore(db)
    h2 = make(store2, start=T0 + timedelta(minutes=5))
    assert h2.outbox.backlog == 1
    await h2.jobs.run_due()
    await h2.run(timedelta(hours=2))
    assert len(h2.platform.sent) == 1 and "l1" in h2.platform.sent[0].text
    StoreView(store2).close()
    store3 = TinyDBStore(db)
    h3 = make(store3, start=T0 + timedelta(hours=3))
    await h3.jobs.run_due()
    assert h3.outbox.backlog == 0 and h3.platform.sent == []
    StoreView(store3).close()


async def test_crash_between_send_and_mark_resends_at_most_once(tmp_path: Path) -> None:
    db = str(tmp_path / "bot.json")
    store = TinyDBStore(db)
    h = make(store)
    await h.link("DEMO20", "mom")
    h.platform.crash_after_send = True
    with pytest.raises(Crash):
        await h.run(timedelta(hours=12))
    assert len(h.platform.sent) == 1  # it left, but "sent" was never written
    store.journal.close()  # the process died: the files hold what was committed
    store._lock.release()

    store2 = TinyDBStore(db)
    h2 = make(store2, start=h.clock.now())
    await h2.jobs.run_due()
    await h2.run(timedelta(hours=1))
    assert len(h2.platform.sent) == 1  # the documented single resend
    assert "5%" in h2.texts()[0]
    StoreView(store2).close()
    store3 = TinyDBStore(db)
    h3 = make(store3, start=h2.clock.now())
    await h3.jobs.run_due()
    await h3.run(timedelta(hours=1))
    assert h3.platform.sent == []  # never a second resend
    StoreView(store3).close()


async def test_a_kill_in_the_middle_of_the_alerts_unit_loses_no_alert(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The alert and its "announced" mark are one unit, one journal record. A process that
    dies half-way through writing that record leaves a torn tail: dropped at the next start,
    so neither is on disk, the line is looked at again and the alert still comes, once."""
    db = str(tmp_path / "bot.json")
    store = TinyDBStore(db)
    h = make(store)
    await h.link("DEMO20", "mom")  # "5 %" is crossed at about 16:11
    await h.run_to(T0 + timedelta(hours=8))
    real_append = Journal.append

    def half_then_die(self: Journal, seq: int, ops: Any) -> None:
        if any(table == "outbox" and doc is not None for table, _key, doc in ops):
            record = json.dumps([seq, ops]).encode()
            os.write(self._fd, b"%08x " % zlib.crc32(record) + record[: len(record) // 2])
            raise Crash
        real_append(self, seq, ops)

    monkeypatch.setattr(Journal, "append", half_then_die)
    with pytest.raises(Crash):
        await h.run(timedelta(hours=1))
    monkeypatch.setattr(Journal, "append", real_append)
    assert h.platform.sent == []
    store.journal.close()
    store._lock.release()  # the process is gone

    store2 = TinyDBStore(db)
    h2 = make(store2, start=h.clock.now())
    await h2.jobs.run_due()
    await h2.run(timedelta(hours=2))
    assert kinds(h2) == ["data"], "the alert was lost"
    StoreView(store2).close()
