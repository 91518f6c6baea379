"""The reminder pipeline wired by hand, as bot.app wires it, with fakes for providers and a
platform, on the fake clock: the harness of the tests/test_jobs_*.py files."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import LOCALES, ProviderState, build_reminders
from bot.audience import Audience
from bot.clock import FakeClock
from bot.i18n import Catalogs
from bot.messages import Address, Reply
from bot.metrics import Metrics
from bot.platforms.base import Handler, SendLimits
from bot.records import Alert, Household, Line, OutboxItem, ReminderSettings
from bot.reminders import text as alerts
from bot.reminders.events import Events
from bot.reminders.loop import JobLoop
from bot.reminders.poller import Poller
from bot.reminders.queue import AlertQueue
from bot.reminders.watcher import ReminderWatcher
from bot.services import Notice
from bot.store import MemoryStore
from bot.store.memory import DocumentStore
from providers.base import GB, MB, EsimBalance, Provider, Status
from providers.demo import DemoProvider
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


def scripted_balance(
    iccid: str,
    at: datetime,
    left: int | None,
    total: int | None = 5 * GB,
    *,
    expires: datetime | None = None,
    as_of: datetime | None = None,
) -> EsimBalance:
    status = Status.ACTIVE if left != 0 else Status.DEPLETED
    return EsimBalance(
        provider="scripted",
        iccid=iccid,
        status=status,
        as_of=as_of or at,
        data_total_bytes=total,
        data_remaining_bytes=left,
        expires_at=expires or at + timedelta(days=20),
    )


@dataclass
class Harness:
    store: StoreView
    clock: FakeClock
    platform: RecordingPlatform
    outbox: AlertQueue
    jobs: JobLoop
    demo: FlakyDemo
    scripted: Scripted
    metrics: Metrics
    events: Events
    poller: Poller
    watcher: ReminderWatcher
    lines: dict[str, Line] = field(default_factory=dict)

    async def seen(self, line: Line, bal: EsimBalance | None, *, fresh_cycle: bool = False) -> list[Notice]:
        async with self.store.store.transaction() as tx:
            return await self.watcher.line_seen(tx, line, bal, fresh_cycle=fresh_cycle)

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

    async def link(
        self,
        code: str,
        label: str,
        *,
        chat: str = "fam",
        owner: str = "anna",
        group: bool = True,
        target: str | None = None,
        provider: str = "demo",
        iccid: str | None = None,
    ) -> list[Notice]:
        if self.store.household(f"{P}:{chat}") is None:
            self.household(chat, group=group)
        line = Line(
            id=f"line-{label}",
            household_id=f"{P}:{chat}",
            label=label,
            owner=f"{P}:{owner}",
            owner_name=owner.title(),
            provider=provider,
            ref=iccid or DEMO[code],
            created_at=self.clock.now(),
            reminders=ReminderSettings(target=target) if target else None,
        )
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


def render_en(store: StoreView, clock: FakeClock) -> Callable[[OutboxItem], Awaitable[Reply]]:
    async def render(item: OutboxItem) -> Reply:
        household = store.household(item.household_id)
        tz = household.timezone if household else "Europe/Oslo"
        lang = (household.language if household else None) or "en"
        return Reply(alerts.render(item.alert, CATALOGS.translator(lang, tz), clock.now(), "/"))

    return render


Render = Callable[[OutboxItem], Awaitable[Reply]]


def make(
    real: DocumentStore | None = None,
    *,
    start: datetime = T0,
    limits: SendLimits = TELEGRAM,
    wrap_render: Callable[[Render], Render] = lambda render: render,
) -> Harness:
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
    reminders = build_reminders(
        store=real,
        providers=providers,
        platforms={P: platform},
        render=wrap_render(render_en(store, clock)),
        audience=audience,
        queue=outbox,
        events=events,
        clock=clock,
        metrics=metrics,
    )
    jobs = reminders.loop
    run_now(outbox.load())  # what bot.app does at start
    run_now(demo.inner.day0())
    run_now(jobs.refresh())
    return Harness(store, clock, platform, outbox, jobs, demo, scripted, metrics, events, reminders.poller, reminders.watcher)


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


def _item(n: str, chat: str, *, private_user: str | None = None, at: datetime = T0) -> OutboxItem:
    alert = Alert(kind="data", label=f"l{n}", provider="demo", threshold=5, remaining=100 * MB, total=5 * GB)
    return OutboxItem(
        id=f"item-{n}",
        line_id=f"line-{n}",
        household_id=f"{P}:{chat}",
        platform=P,
        chat=chat,
        alert=alert,
        created_at=at,
        not_before=at,
        private_user=private_user,
    )
