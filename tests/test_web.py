"""The web server as bot.app.build wires it: /healthz, /metrics and the provider webhooks.

The app is built in-process (``bot.app.build``) with a FakeClock and PROVIDERS=demo,
airalo, esimgo, esimaccess pointed at the local emulators; its web server listens on
127.0.0.1 on a free port and is spoken to with httpx. Lines are linked through the router,
so a webhook maps onto a real line of a real household. Time only moves when a test moves
it (``run_due`` / ``run_until``); the only waits are bounded ones for the background job
loop. Airalo allows 5 quick calls per eSIM (then one every 6 s), so each test keeps to at
most 5 Airalo calls for its eSIM.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import App, ConsoleIO, build
from bot.clock import FakeClock
from bot.config import Settings
from bot.messages import Address, Incoming, Reply
from bot.records import Line
from bot.store import MemoryStore, TinyDBStore
from bot.store.memory import DocumentStore
from bot.web import MAX_BODY
from providers.base import MAX_WEBHOOK_BYTES
from tests.emulators import (
    AIRALO_CLIENT_ID,
    AIRALO_CLIENT_SECRET,
    AIRALO_CODE,
    AIRALO_ICCID,
    AIRALO_UNLIMITED_ICCID,
    ESIMACCESS_ACCESS_CODE,
    ESIMACCESS_CODE,
    ESIMACCESS_ICCID,
    ESIMACCESS_SECRET_KEY,
    ESIMGO_API_KEY,
    ESIMGO_CODE,
    ESIMGO_ICCID,
)
from tests.emulators._server import Emulator, Fault
from tests.emulators.airalo import AiraloEmulator
from tests.emulators.esimaccess import GIB, EsimAccessEmulator
from tests.emulators.esimgo import EsimGoEmulator
from tests.storeview import StoreView

START_AT = datetime(2026, 1, 10, 11, 0, tzinfo=UTC)  # 12:00 in Oslo, outside the quiet hours
NIGHT_AT = datetime(2026, 1, 10, 21, 30, tzinfo=UTC)  # 22:30 in Oslo: alerts wait for 08:00
SECRET_PATH = "hook_path_0123456789abcdef"
MARKER = "BODY-MARKER-7f3a9c"  # put into webhook bodies; must never reach the log
WAIT = 5.0  # seconds: the longest a test waits for the background job loop


# --- the webhooks each provider sends ----------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One provider as the tests see it: its emulator eSIM, its webhook and how to sign it."""

    name: str
    iccid: str
    code: str
    path: str
    balance_route: str  # the emulator route a poll of the balance always calls

    def body(self, iccid: str | None = None, **extra: Any) -> bytes:
        iccid = iccid or self.iccid
        if self.name == "airalo":
            payload: dict[str, Any] = {"level": "90%", "iccid": iccid, "package_name": MARKER}
        elif self.name == "esimgo":
            payload = {
                "iccid": iccid,
                "alertType": "Utilisation",
                "bundle": {
                    "id": "1",
                    "reference": MARKER,
                    "name": "esim_1GB_7D_NO_V2",
                    "description": "d",
                    "initialQuantity": 1_000_000_000,
                    "remainingQuantity": 100_000_000,
                    "unlimited": False,
                    "startTime": "2026-01-08T00:00:00Z",
                    "endTime": "2026-01-15T00:00:00Z",
                },
            }
        else:
            payload = {
                "notifyType": "DATA_USAGE",
                "eventGenerateTime": "2026-01-10T11:00:00Z",
                "notifyId": MARKER,
                "content": {
                    "iccid": iccid,
                    "remain": 500_000_000,
                    "remainThreshold": 0.1,
                    "lastUpdateTime": "2026-01-10T10:00:00Z",
                },
            }
        return json.dumps({**payload, **extra}).encode()

    def signed(self, body: bytes, key: str | None = None) -> dict[str, str]:
        """The headers of a genuine delivery of ``body`` (signed with ``key`` if given)."""
        if self.name == "airalo":
            return {
                "airalo-signature": hmac.new((key or AIRALO_CLIENT_SECRET).encode(), body, hashlib.sha512).hexdigest(),
                "content-type": "application/json",
            }
        if self.name == "esimgo":
            return {
                "X-Signature-SHA256": hmac.new((key or ESIMGO_API_KEY).encode(), body, hashlib.sha256).hexdigest(),
                "content-type": "application/json",
            }
        return {"content-type": "application/json"}  # eSIM Access signs nothing: the path is the secret


AIRALO = Source("airalo", AIRALO_ICCID, AIRALO_CODE, "/webhooks/airalo", "usage")
ESIMGO = Source("esimgo", ESIMGO_ICCID, ESIMGO_CODE, "/webhooks/esimgo", "bundles")
ESIMACCESS = Source("esimaccess", ESIMACCESS_ICCID, ESIMACCESS_CODE, f"/webhooks/esimaccess/{SECRET_PATH}", "esim_query")
SOURCES = [AIRALO, ESIMGO, ESIMACCESS]
SIGNED = [AIRALO, ESIMGO]


def drain(emulators: dict[str, Emulator], name: str) -> None:
    """Use up most of the emulator eSIM's data, so the next poll crosses the 20 % reminder."""
    if name == "airalo":
        airalo = emulators["airalo"]
        assert isinstance(airalo, AiraloEmulator)
        airalo.sims[AIRALO_ICCID].remaining = 300  # MB of 2048: 14 % left
    elif name == "esimgo":
        esimgo = emulators["esimgo"]
        assert isinstance(esimgo, EsimGoEmulator)
        bundle = esimgo.sims[ESIMGO_ICCID].bundles[0]
        active = bundle["assignments"][0]
        bundle["assignments"] = [active | {"remainingQuantity": 100_000_000}]  # queued one gone: 10 % left
    else:
        esimaccess = emulators["esimaccess"]
        assert isinstance(esimaccess, EsimAccessEmulator)
        esimaccess.sims[ESIMACCESS_ICCID].used = 9 * (5 * GIB) // 10  # 10 % left


# --- the app under test --------------------------------------------------------------------------


@dataclass
class Harness:
    app: App
    clock: FakeClock
    store: StoreView
    emulators: dict[str, Emulator]
    http: httpx.AsyncClient
    console_out: list[dict[str, Any]] = field(default_factory=list)

    @property
    def jobs(self) -> Any:
        return self.app.jobs

    async def say(self, text: str, *, chat: str = "c1", user: str = "u1") -> list[Reply]:
        incoming = Incoming(
            address=Address("console", chat, user), text=text, at=self.clock.now(), language="en", display_name="Kari"
        )
        return await self.app.router.handle(incoming)

    async def link(self, source: Source, label: str | None = None) -> Line:
        label = label or source.name
        replies = await self.say(f"/link {source.iccid} {source.code} {label}")
        assert len(replies) == 1 and "Added" in replies[0].text, replies
        line = self.store.line_by_ref(source.iccid)
        assert line is not None and line.provider == source.name and line.label == label
        return line

    def rest(self, line: Line) -> None:
        """Let the provider's minimum interval pass since the link's look: a webhook is then
        looked at at once (inside it, as soon as the provider allows)."""
        self.clock.advance(timedelta(seconds=self.app.providers[line.provider].min_poll_seconds))

    def due(self, line: Line) -> datetime | None:
        return self.store.schedule().get(line.id)

    def alerts(self) -> list[dict[str, Any]]:
        return [o for o in self.console_out if o.get("kind") == "alert"]

    async def post(
        self, source: Source, body: bytes, headers: dict[str, str] | None = None, path: str | None = None
    ) -> httpx.Response:
        return await self.http.post(
            path or source.path, content=body, headers=source.signed(body) if headers is None else headers
        )

    def calls(self, name: str, route: str) -> int:
        return self.emulators[name].count(route)


def settings_for(
    emulators: dict[str, Emulator],
    *,
    providers: tuple[str, ...] = ("demo", "airalo", "esimgo", "esimaccess"),
    webhook_path: str | None = SECRET_PATH,
) -> Settings:
    return Settings(
        providers=providers,
        web_host="127.0.0.1",
        web_port=0,
        airalo_client_id=AIRALO_CLIENT_ID,
        airalo_client_secret=AIRALO_CLIENT_SECRET,
        airalo_base_url=emulators["airalo"].base_url,
        esimaccess_access_code=ESIMACCESS_ACCESS_CODE,
        esimaccess_secret_key=ESIMACCESS_SECRET_KEY,
        esimaccess_base_url=emulators["esimaccess"].base_url,
        esimaccess_webhook_path=webhook_path,
        esimgo_api_key=ESIMGO_API_KEY,
        esimgo_base_url=emulators["esimgo"].base_url,
    )


async def _eof() -> str:
    return ""  # the console is never started: the tests speak to the router directly


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(tmp_path: Path) -> AsyncIterator[MakeHarness]:
    """``await make_harness(console=..., store=..., start=..., **settings)``: emulators + app
    + web server on 127.0.0.1:<free port> + an httpx client; everything is closed after."""
    async with AsyncExitStack() as stack:

        async def make(*, console: bool = False, store: str = "memory", start: datetime = START_AT, **overrides: Any) -> Harness:
            clock = FakeClock(start)
            emulators: dict[str, Emulator] = {
                "airalo": await stack.enter_async_context(AiraloEmulator.running(now=clock.now)),
                "esimgo": await stack.enter_async_context(EsimGoEmulator.running(now=clock.now)),
                "esimaccess": await stack.enter_async_context(EsimAccessEmulator.running(now=clock.now)),
            }
            doc_store: DocumentStore = MemoryStore() if store == "memory" else TinyDBStore(str(tmp_path / "bot.json"))
            out: list[dict[str, Any]] = []
            io = ConsoleIO(read=_eof, write=lambda s: out.append(json.loads(s)), jsonl=True) if console else None
            app = build(settings_for(emulators, **overrides), clock=clock, console=io, store=doc_store)
            assert app.web is not None
            stack.push_async_callback(_shutdown, app)
            await app.web.start(app.health)
            assert app.web.port != 0
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.web.port}", timeout=WAIT))
            return Harness(app=app, clock=clock, store=StoreView(doc_store), emulators=emulators, http=http, console_out=out)

        yield make


async def _shutdown(app: App) -> None:
    await app.jobs.stop()
    if app.web is not None:
        await app.web.stop()
    for provider in app.providers.values():
        await provider.aclose()
    await app.store.close()


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait (bounded) for the background job loop to get somewhere: it runs as its own task."""
    for _ in range(int(WAIT / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {WAIT}s: {what}")


# --- /healthz ------------------------------------------------------------------------------------


async def test_healthz_is_503_until_the_job_loop_runs_and_again_after_it_stops(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await h.link(ESIMGO)

    down = await h.http.get("/healthz")
    assert down.status_code == 503
    assert down.headers["content-type"].startswith("application/json")
    state = down.json()
    assert state["ok"] is False and state["platforms"] == []
    assert set(state["jobs"]) == {"next_due", "outbox_backlog", "last_poll_ok"}
    assert state["jobs"]["outbox_backlog"] == 0 and len(h.store.schedule()) == 1
    assert state["store"]["ok"] is True

    await h.jobs.start()
    up = await h.http.get("/healthz")
    assert up.status_code == 200, up.text
    assert up.json()["ok"] is True
    assert datetime.fromisoformat(up.json()["jobs"]["next_due"]) > h.clock.now()

    await h.jobs.stop()
    assert (await h.http.get("/healthz")).status_code == 503


async def test_healthz_reports_the_last_good_poll_per_provider(make_harness: MakeHarness) -> None:
    h = await make_harness()
    line = await h.link(ESIMGO)
    h.rest(line)
    assert (await h.post(ESIMGO, ESIMGO.body())).status_code == 200
    assert h.due(line) == h.clock.now()
    await h.jobs.run_due()
    state = (await h.http.get("/healthz")).json()
    assert state["jobs"]["last_poll_ok"] == {"esimgo": h.clock.now().isoformat()}


# --- /metrics ------------------------------------------------------------------------------------

SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? '
    r"(-?[0-9.eE+-]+|NaN|[+-]Inf)$"
)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


def parse_prometheus(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Check the Prometheus text format (0.0.4) strictly enough and return name -> labels -> value."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    helped: set[str] = set()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert name not in helped, f"HELP twice for {name}"
            helped.add(name)
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge"), line
            assert name not in types and name not in samples, f"TYPE for {name} must come once, before its samples"
            types[name] = kind
            continue
        assert not line.startswith("#") and line.strip(), f"unexpected line {line!r}"
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample: {line!r}"
        name = match.group(1)
        assert name in types, f"sample of {name} without a TYPE line"
        labels = tuple(sorted(LABEL.findall(match.group(2) or "")))
        assert labels not in samples.setdefault(name, {}), f"duplicate series {line!r}"
        samples[name][labels] = float(match.group(4))
    assert set(types) == helped
    for name, kind in types.items():
        if kind == "counter":
            assert name.endswith("_total"), name
    return samples


def value(samples: dict[str, dict[tuple[tuple[str, str], ...], float]], name: str, **labels: str) -> float | None:
    return samples.get(name, {}).get(tuple(sorted(labels.items())))


async def test_metrics_in_prometheus_text_format(make_harness: MakeHarness) -> None:
    h = await make_harness(console=True, start=NIGHT_AT)
    airalo = await h.link(AIRALO)  # 2 Airalo calls for this eSIM
    esimgo = await h.link(ESIMGO)

    first = await h.http.get("/metrics")
    assert first.status_code == 200
    assert first.headers["content-type"].split(";")[0] == "text/plain"
    assert "charset=utf-8" in first.headers["content-type"]
    samples = parse_prometheus(first.text)
    assert value(samples, "esimbot_outbox_backlog") == 0

    # provider calls by outcome: one poll that works, one the provider refuses
    drain(h.emulators, "airalo")
    h.emulators["esimgo"].inject("bundles", Fault.fail(403, {"message": "Access denied: invalid API key"}))
    assert (await h.post(AIRALO, AIRALO.body())).status_code == 200
    assert (await h.post(ESIMGO, ESIMGO.body())).status_code == 200
    assert (await h.post(AIRALO, AIRALO.body(), headers={})).status_code == 401
    await h.jobs.run_due()  # inside the minimum intervals: the events' own figures, no provider call yet
    assert (
        value(
            parse_prometheus((await h.http.get("/metrics")).text), "esimbot_provider_calls_total", provider="airalo", outcome="ok"
        )
        is None
    )
    await h.jobs.run_until(h.clock.now() + timedelta(minutes=31))  # the looks, when the providers allow
    assert h.due(airalo) is not None and h.due(esimgo) is not None

    night = parse_prometheus((await h.http.get("/metrics")).text)
    assert value(night, "esimbot_provider_calls_total", provider="airalo", outcome="ok") == 1
    assert value(night, "esimbot_provider_calls_total", provider="esimgo", outcome="AuthError") == 1
    assert value(night, "esimbot_webhooks_total", provider="airalo", outcome="accepted") == 1
    assert value(night, "esimbot_webhooks_total", provider="airalo", outcome="rejected") == 1
    assert value(night, "esimbot_webhooks_total", provider="esimgo", outcome="accepted") == 1
    assert value(night, "esimbot_outbox_backlog") == 1
    assert value(night, "esimbot_alerts_sent_total", platform="console") is None
    assert h.alerts() == []

    h.clock.set(datetime(2026, 1, 11, 7, 1, tzinfo=UTC))  # 08:01 in Oslo: the quiet hours are over
    await h.jobs.run_due()  # Airalo call 4 (its line is due again), and the alert goes out
    morning = parse_prometheus((await h.http.get("/metrics")).text)
    assert len(h.alerts()) == 1
    assert value(morning, "esimbot_alerts_sent_total", platform="console") == 1
    assert value(morning, "esimbot_outbox_backlog") == 0
    assert (value(morning, "esimbot_provider_calls_total", provider="airalo", outcome="ok") or 0) >= 1


async def test_metrics_escape_label_values() -> None:
    from bot.metrics import Metrics

    metrics = Metrics()
    metrics.inc("esimbot_webhooks_total", provider='we"ird\\na\nme', outcome="accepted")
    samples = parse_prometheus(metrics.render())
    [(labels, count)] = samples["esimbot_webhooks_total"].items()
    assert dict(labels)["provider"] == 'we\\"ird\\\\na\\nme' and count == 1


async def test_metrics_count_commands(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await h.say("/help")
    await h.say("/lines")
    samples = parse_prometheus((await h.http.get("/metrics")).text)
    assert "esimbot_commands_total" in samples
    assert sum(samples["esimbot_commands_total"].values()) >= 2


# --- webhooks: valid ----------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
async def test_valid_event_makes_the_line_due_now_without_calling_the_provider(make_harness: MakeHarness, source: Source) -> None:
    h = await make_harness()
    line = await h.link(source)
    h.rest(line)
    before = h.due(line)
    assert before is not None and before >= h.clock.now()
    polls = h.calls(source.name, source.balance_route)

    answer = await h.post(source, source.body())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ok": True, "events": 1, "known": 1}
    assert h.due(line) == h.clock.now()
    assert h.calls(source.name, source.balance_route) == polls  # answered without asking the provider

    await h.jobs.run_due()  # the job queue evaluates the line at once
    assert h.calls(source.name, source.balance_route) > polls
    after = h.due(line)
    assert after is not None and after > h.clock.now()
    assert h.app.metrics.value("esimbot_provider_calls_total", provider=source.name, outcome="ok") == 1


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
async def test_an_event_inside_the_minimum_interval_is_planned_from_its_own_figures(
    make_harness: MakeHarness, source: Source
) -> None:
    """The provider allows one look per interval: a webhook just after a look does not break
    that; what the event says (data used, empty) gives the alert at once, and the look follows
    as soon as the provider allows."""
    h = await make_harness(console=True)
    linked_at = h.clock.now()
    line = await h.link(source)
    h.clock.advance(timedelta(minutes=5))
    polls = h.calls(source.name, source.balance_route)
    assert (await h.post(source, source.body())).status_code == 200
    interval = timedelta(seconds=h.app.providers[source.name].min_poll_seconds)
    due = h.due(line)
    assert due is not None and h.clock.now() < due <= linked_at + interval
    await h.jobs.run_due()
    assert h.calls(source.name, source.balance_route) == polls  # no look inside the interval
    [alert] = h.alerts()  # from the event's own figures
    assert line.label in alert["text"]
    await h.jobs.run_until(due + timedelta(seconds=1))
    assert h.calls(source.name, source.balance_route) > polls  # and the look when allowed


async def test_running_job_loop_polls_as_soon_as_an_event_arrives(make_harness: MakeHarness) -> None:
    h = await make_harness()
    line = await h.link(ESIMGO)
    h.rest(line)
    await h.jobs.start()
    polls = h.calls("esimgo", "bundles")
    assert (await h.post(ESIMGO, ESIMGO.body())).status_code == 200
    await eventually(lambda: h.calls("esimgo", "bundles") > polls, "the running job loop polls the line")
    await eventually(lambda: (h.due(line) or h.clock.now()) > h.clock.now(), "the line is scheduled again")


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
async def test_event_for_an_unknown_esim_is_accepted_but_schedules_nothing(make_harness: MakeHarness, source: Source) -> None:
    h = await make_harness()
    line = await h.link(source)
    before = h.due(line)
    answer = await h.post(source, source.body(iccid="8944465400000999991"))
    assert answer.status_code == 200 and answer.json() == {"ok": True, "events": 1, "known": 0}
    assert h.due(line) == before and len(h.store.schedule()) == 1


async def test_event_for_an_esim_linked_with_another_provider_is_not_applied(make_harness: MakeHarness) -> None:
    h = await make_harness()
    line = await h.link(AIRALO)
    before = h.due(line)
    body = ESIMGO.body(iccid=AIRALO_ICCID)  # a (validly signed) eSIM Go event naming the Airalo eSIM
    answer = await h.post(ESIMGO, body)
    assert answer.status_code == 200 and answer.json()["known"] == 0
    assert h.due(line) == before


async def test_event_that_concerns_no_line_is_accepted(make_harness: MakeHarness) -> None:
    h = await make_harness()
    body = json.dumps({"message": "Surpassed 80% of the credit limit balance", "remaining": 225.35}).encode()
    answer = await h.post(AIRALO, body)
    assert answer.status_code == 200 and answer.json() == {"ok": True, "events": 0, "known": 0}


async def test_airalo_opt_in_head_gets_200(make_harness: MakeHarness) -> None:
    h = await make_harness()
    answer = await h.http.head("/webhooks/airalo")
    assert answer.status_code == 200 and answer.content == b""
    assert h.app.metrics.value("esimbot_webhooks_total", provider="airalo", outcome="accepted") == 0


# --- webhooks: refused --------------------------------------------------------------------------


@pytest.mark.parametrize("source", SIGNED, ids=lambda s: s.name)
async def test_bad_or_missing_signature_is_401_and_the_body_is_never_logged(
    make_harness: MakeHarness, source: Source, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = await make_harness()
    line = await h.link(source)
    h.clock.advance(timedelta(minutes=10))
    before = h.due(line)
    caplog.clear()  # from here on only webhook deliveries: the ICCID is in their bodies only
    body = source.body()
    genuine = source.signed(body)
    wrong_key = source.signed(body, key="not-the-secret")
    signature_header = next(k for k in genuine if k != "content-type")
    cases = {
        "wrong key": (body, wrong_key),
        "tampered body": (body.replace(b"90%", b"75%").replace(b"100000000", b"900000000"), genuine),
        "missing signature": (body, {"content-type": "application/json"}),
        "empty signature": (body, {signature_header: "", "content-type": "application/json"}),
        "not hex": (body, {signature_header: "zz" + MARKER, "content-type": "application/json"}),
        "signed garbage": (b"{not json " + MARKER.encode(), source.signed(b"{not json " + MARKER.encode())),
    }
    for case, (content, headers) in cases.items():
        assert content != body or headers != genuine, case
        answer = await h.http.post(source.path, content=content, headers=headers)
        assert answer.status_code == 401, (case, answer.status_code)
        assert MARKER not in answer.text
    assert h.due(line) == before
    assert h.app.metrics.value("esimbot_webhooks_total", provider=source.name, outcome="rejected") == len(cases)
    assert h.app.metrics.value("esimbot_webhooks_total", provider=source.name, outcome="accepted") == 0

    warnings = [r for r in caplog.records if r.name == "bot.webhooks" and r.levelno == logging.WARNING]
    assert len(warnings) == len(cases) and all(source.name in r.getMessage() for r in warnings)
    assert MARKER not in caplog.text
    assert genuine[signature_header] not in caplog.text and wrong_key[signature_header] not in caplog.text
    assert source.iccid not in caplog.text


async def test_esimaccess_answers_only_on_its_secret_path(make_harness: MakeHarness) -> None:
    h = await make_harness()
    line = await h.link(ESIMACCESS)
    h.clock.advance(timedelta(minutes=10))
    before = h.due(line)
    body = ESIMACCESS.body()
    for path in (
        "/webhooks/esimaccess/wrong_path_0123456789abcd",
        "/webhooks/esimaccess/",
        "/webhooks/esimaccess",
        f"/webhooks/esimaccess/{SECRET_PATH[:-1]}",
        f"/webhooks/esimaccess/{SECRET_PATH}x",
        f"/webhooks/esimaccess/{SECRET_PATH.upper()}",
    ):
        answer = await h.post(ESIMACCESS, body, path=path)
        assert answer.status_code == 404, path
    assert h.due(line) == before
    accepted = await h.post(ESIMACCESS, body)
    assert accepted.status_code == 200 and accepted.json()["known"] == 1


async def test_no_routes_for_providers_that_are_not_configured(make_harness: MakeHarness) -> None:
    h = await make_harness(providers=("demo", "esimaccess"), webhook_path=None)  # eSIM Access without a path
    for source in SOURCES:
        body = source.body()
        assert (await h.post(source, body)).status_code == 404, source.name
    assert (await h.http.head("/webhooks/airalo")).status_code == 404
    assert (await h.http.get("/metrics")).status_code == 200


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
async def test_oversized_body_is_413(make_harness: MakeHarness, source: Source, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    h = await make_harness()
    line = await h.link(source)
    h.clock.advance(timedelta(minutes=10))
    before = h.due(line)
    over_adapter = source.body(pad=MARKER + "x" * MAX_WEBHOOK_BYTES)  # over what the adapters read
    over_server = source.body(pad=MARKER + "x" * MAX_BODY)  # over the web server's own limit
    assert MAX_WEBHOOK_BYTES < len(over_adapter) < MAX_BODY < len(over_server)

    for body in (over_adapter, over_server):
        answer = await h.post(source, body)  # correctly signed, still too big
        assert answer.status_code == 413, (len(body), answer.status_code)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the size shows only while reading
        for start in range(0, len(over_server), 16 * 1024):
            yield over_server[start : start + 16 * 1024]

    chunked = await h.http.post(source.path, content=chunks(), headers=source.signed(over_server))
    assert chunked.status_code == 413
    assert h.due(line) == before
    assert h.app.metrics.value("esimbot_webhooks_total", provider=source.name, outcome="too_large") == 3
    assert MARKER not in caplog.text

    # the server is still fine afterwards
    assert (await h.post(source, source.body())).status_code == 200


# --- webhooks: replays ----------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
async def test_replayed_event_gives_no_second_alert(make_harness: MakeHarness, source: Source) -> None:
    h = await make_harness(console=True, store="tinydb")
    line = await h.link(source)
    drain(h.emulators, source.name)
    body = source.body()
    headers = source.signed(body)

    first = await h.post(source, body, headers)
    assert first.status_code == 200 and first.json()["known"] == 1
    await h.jobs.run_due()
    [alert] = h.alerts()
    assert alert["chat"] == "c1" and line.label in alert["text"]

    polls = h.calls(source.name, source.balance_route)
    again = await h.post(source, body, headers)  # the very same delivery once more
    assert again.status_code == 200 and again.json()["known"] == 1
    await h.jobs.run_until(h.clock.now() + timedelta(seconds=h.app.providers[source.name].min_poll_seconds + 60))
    assert h.calls(source.name, source.balance_route) > polls  # looked again when allowed...
    assert len(h.alerts()) == 1  # ...but said nothing new
    assert h.app.metrics.value("esimbot_alerts_sent_total", platform="console") == 1
    assert h.app.metrics.value("esimbot_webhooks_total", provider=source.name, outcome="accepted") == 2


async def test_event_for_an_unlimited_esim_never_alerts(make_harness: MakeHarness) -> None:
    h = await make_harness(console=True)
    replies = await h.say(f"/link {AIRALO_UNLIMITED_ICCID} AIRUNL4M1T unl")
    assert "Added" in replies[0].text
    body = AIRALO.body(iccid=AIRALO_UNLIMITED_ICCID)
    assert (await h.post(AIRALO, body)).json()["known"] == 1
    await h.jobs.run_due()
    assert h.alerts() == []


def test_sources_cover_every_webhook_route() -> None:
    from bot import webhooks

    assert {s.path for s in SOURCES} == {*webhooks.PATHS.values(), webhooks.ESIMACCESS_PREFIX + SECRET_PATH}
