"""Issue 4 acceptance through the console protocol: a real ``python -m bot console --jsonl``
process, the demo set, simulated time by ``{"advance": ...}`` and ``--start``.

Every read is bounded (tests.conftest.ConsoleProcess). Restarts reuse the same ``--db``;
the SIGKILL test kills the process in the middle of a long ``advance``.
"""

from __future__ import annotations

import json
import queue
import re
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.records import Alert, OutboxItem
from bot.store import TinyDBStore
from providers.base import GB, MB
from tests.conftest import DEMO, READ_TIMEOUT, ConsoleProcess, fixed_part, replies, run_bot
from tests.rules_helpers import with_announced
from tests.storeview import StoreView

OSLO = ZoneInfo("Europe/Oslo")
T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)  # 09:00 in Oslo
Factory = Callable[..., ConsoleProcess]
Out = list[dict[str, Any]]


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def span(delta: timedelta) -> str:
    """An ISO-8601 duration for ``advance`` with second precision."""
    return f"PT{int(delta.total_seconds())}S"


def alerts(out: Out) -> Out:
    return [o for o in out if o.get("kind") == "alert"]


def key_of(alert: dict[str, Any]) -> str:
    """Which threshold an English alert is about, from its headline: data:20, data:5,
    depleted, expiry:72, expiry:24 or expired."""
    first = str(alert["text"]).split("\n", 1)[0]
    if first.startswith("⚠️"):
        m = re.search(r"(\d+)\s*%", first)
        assert m and fixed_part("alert.data_percent") in first, first
        return "data:5" if int(m.group(1)) <= 5 else "data:20"
    if first.startswith("⏰"):
        assert fixed_part("alert.expiry") in first, first
        if re.search(r"\bexpires (today|tomorrow)\b", first):  # calendar words beside the date
            return "expiry:24"
        m = re.search(r"\bexpires in (\d+) days\b", first)
        assert m, first
        return "expiry:24" if int(m.group(1)) <= 1 else "expiry:72"
    if first.startswith("❌"):
        if fixed_part("alert.expired") in first:
            return "expired"
        assert fixed_part("alert.depleted") in first, first
        return "depleted"
    raise AssertionError(f"not an alert headline: {first!r}")


def label_of(alert: dict[str, Any], labels: tuple[str, ...]) -> str:
    first = str(alert["text"]).split("\n", 1)[0]
    found = [label for label in labels if re.search(rf"\b{label}\b", first)]
    assert len(found) == 1, (first, labels)
    return found[0]


def keys(out: Out) -> list[str]:
    return [key_of(a) for a in alerts(out)]


def link(c: ConsoleProcess, code: str, label: str, **kw: Any) -> dict[str, Any]:
    """Link a demo eSIM; the link reply is the only output (no alert comes with it)."""
    out = c.say(f"/link {DEMO[code]} {code} {label}", **kw)
    assert alerts(out) == [], out
    [reply] = replies(out)
    assert fixed_part("link.done", kw.get("lang") or "en").split("{")[0] in reply["text"] or label in reply["text"]
    return reply


def top_up(c: ConsoleProcess, label: str, plan: str, **kw: Any) -> str:
    """/renew -> /buy -> /confirm, each through the commands of the previous reply's choices."""
    [offer] = replies(c.say(f"/renew {label}", **kw))
    buy = next(ch["command"] for ch in offer["choices"] if plan in ch["command"])
    [ask] = replies(c.say(buy, **kw))
    out = c.say(ask["choices"][0]["command"], **kw)
    assert alerts(out) == [], out  # a new cycle: nothing stale is announced
    [done] = replies(out)
    assert fixed_part("renew.done") in done["text"], done["text"]
    return str(done["text"])


# --- DEMO20: warning at link, one "5 %" alert, never again, re-armed by a top-up ---------------


def test_demo20_link_warns_then_exactly_one_5_percent_alert(console_factory: Factory) -> None:
    c = console_factory(start=iso(T0))
    reply = link(c, "DEMO20", "mom")
    assert fixed_part("link.warn_data") in reply["text"]  # the warning instead of a stale "20 %" alert
    out = c.advance("PT12H")
    assert replies(out) == []
    [alert] = alerts(out)
    assert re.search(r"only 5\s?% of the data left", alert["text"]), alert["text"]
    assert alert["chat"] == "c1" and alert["mention"] is None and alert["private"] is False
    assert fixed_part("forecast.before_expiry") in alert["text"]  # the forecast rides along
    assert "/renew mom" in alert["text"]
    # further on: the "5 %" alert never comes again; only "no data left" follows
    assert keys(c.advance("PT12H")) == []
    assert keys(c.advance("P1D")) == ["depleted"]
    assert keys(c.advance("P5D")) == []
    c.close()


def test_demo20_topup_rearms_the_thresholds(console_factory: Factory) -> None:
    c = console_factory(start=iso(T0))
    link(c, "DEMO20", "mom")
    assert keys(c.advance("PT12H")) == ["data:5"]
    assert keys(c.advance("P1DT7H")) == ["depleted"]  # now Jan 3 03:00 UTC
    done = top_up(c, "mom", "demo-1gb-7d")  # empty line: starts afresh with 1 GB, expires Jan 20
    assert "1 GB" in done
    # 300 MB a day: "20 %" after 2.7 days (Jan 5 19:43 UTC), "5 %" after 3.2, empty after 3.4
    assert keys(c.advance("P2DT18H")) == ["data:20"]
    assert keys(c.advance("P1D")) == ["data:5", "depleted"]
    assert keys(c.advance("P5D")) == []
    c.close()


# --- DEMO38 (expires day 2) and DEMO53 (unlimited) ---------------------------------------------


def test_demo38_one_expires_in_1_day_and_one_expired(console_factory: Factory) -> None:
    c = console_factory(start=iso(T0))
    reply = link(c, "DEMO38", "kid")
    assert fixed_part("link.warn_expiry") in reply["text"]  # 2 days left: "3 days" is already past
    out = c.advance("P4D")
    assert keys(out) == ["expiry:24", "expired"]
    first, second = alerts(out)
    assert "kid expires tomorrow (3 Jan 2026, 09:00)" in first["text"]  # sent 2 Jan: calendar words
    assert "kid expired on 3 Jan 2026" in second["text"]
    assert keys(c.advance("P10D")) == []
    c.close()


def test_demo53_unlimited_never_gets_a_data_alert(console_factory: Factory) -> None:
    c = console_factory(start=iso(T0))
    link(c, "DEMO53", "unl")
    out = c.advance("P10D")
    assert keys(out) == ["expiry:72", "expiry:24", "expired"]
    assert not any(a["text"].startswith("⚠️") for a in alerts(out))
    c.close()


def test_interactive_console_tick_lets_a_reminder_arrive(tmp_path: Path) -> None:
    """``/tick`` (interactive console only): a new user watches the demo reminder arrive."""
    stdin = f"/link {DEMO['DEMO20']} DEMO20 mom\n/tick\n/tick 12h\n/tick 12h\n"
    result = run_bot(["console", "--start", iso(T0), "--db", str(tmp_path / "bot.json")], stdin=stdin)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    usage = fixed_part("tick.usage")
    assert usage in text  # /tick without a duration explains itself
    first_tick = text.index(usage)
    assert text.count("🔔") == 1, text  # one reminder over 24 hours: "5 %" (empty comes on day 2)
    alert_at = text.index("🔔")
    assert alert_at > first_tick and re.search(r"🔔 ⚠️ mom: only 5\s?% of the data left", text), text
    assert text.count(fixed_part("tick.done").split("{")[0].strip()) == 2


# --- quiet hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due_local", "arrives_local"),
    [
        (datetime(2026, 1, 9, 23, 0, tzinfo=OSLO), datetime(2026, 1, 10, 8, 0, tzinfo=OSLO)),
        (datetime(2026, 3, 28, 23, 0, tzinfo=OSLO), datetime(2026, 3, 29, 8, 0, tzinfo=OSLO)),  # summer time starts
        (datetime(2026, 10, 24, 23, 0, tzinfo=OSLO), datetime(2026, 10, 25, 8, 0, tzinfo=OSLO)),  # summer time ends
    ],
    ids=["january", "dst-start", "dst-end"],
)
def test_quiet_hours_an_alert_due_at_2300_arrives_at_0800(
    console_factory: Factory, due_local: datetime, arrives_local: datetime
) -> None:
    # the data file is created at --start: DEMO38's "expires in 1 day" falls due one day later, at 23:00
    start = due_local.astimezone(UTC) - timedelta(days=1)
    c = console_factory(start=iso(start))
    link(c, "DEMO38", "kid")
    wait = arrives_local.astimezone(UTC) - start  # real time: 33 h, but 32 h / 34 h across a change
    assert keys(c.advance(span(wait - timedelta(seconds=1)))) == []  # 07:59:59, not before
    out = c.advance("PT1S")  # 08:00:00 local
    assert keys(out) == ["expiry:24"]
    # said on the local day it arrives: 08:00 on the 10th for 23:00 the same day is "today"
    said = re.search(r"kid expires (today|tomorrow) \((\d+) ", alerts(out)[0]["text"])
    assert said, alerts(out)[0]["text"]
    assert int(said.group(2)) - arrives_local.day == ("today", "tomorrow").index(said.group(1))
    c.close()


def test_quiet_hours_off_sends_at_2300(console_factory: Factory) -> None:
    start = datetime(2026, 1, 8, 22, 0, tzinfo=UTC)  # 23:00 in Oslo
    c = console_factory(start=iso(start))
    link(c, "DEMO38", "kid")
    [reply] = replies(c.say("/remind quiet off"))
    assert fixed_part("remind.saved") in reply["text"]
    assert keys(c.advance("PT23H59M")) == []
    assert keys(c.advance("PT2M")) == ["expiry:24"]  # at 23:00:30, in what used to be quiet hours
    c.close()


# --- languages -----------------------------------------------------------------------------------


def test_alerts_speak_the_recipients_language(console_factory: Factory) -> None:
    c = console_factory(start=iso(T0))
    link(c, "DEMO20", "mom", chat="li", user="li", lang="zh")  # a private chat; the platform says zh
    group = {"chat": "fam", "user": "anna", "group": True, "admin": True, "name": "Anna"}
    link(c, "DEMO38", "kid", **{k: v for k, v in group.items() if k not in ("chat", "user")}, chat="fam", user="anna")
    [reply] = replies(c.send({**group, "text": "/lang nb"}))
    assert fixed_part("lang.set", "nb") in reply["text"]
    out = c.advance("P1DT1H")
    by_chat = {a["chat"]: a for a in alerts(out)}
    assert set(by_chat) == {"li", "fam"}, out
    zh = by_chat["li"]["text"]
    assert fixed_part("alert.data_percent", "zh") in zh and fixed_part("alert.data_percent") not in zh
    assert fixed_part("alert.renew", "zh") in zh
    nb = by_chat["fam"]["text"]
    assert fixed_part("alert.expiry", "nb") in nb and fixed_part("alert.renew", "nb") in nb
    assert by_chat["fam"]["mention"] == "anna"
    c.close()


def test_an_alert_is_rendered_in_the_language_of_when_it_is_sent(console_factory: Factory) -> None:
    start = datetime(2026, 1, 1, 14, 0, tzinfo=UTC)  # "5 %" at 22:11 UTC: 23:11 in Oslo, held till 08:00
    c = console_factory(start=iso(start))
    link(c, "DEMO20", "mom", chat="li", user="li", lang="zh")
    assert keys_any(c.advance("PT11H")) == []
    [reply] = replies(c.say("/lang nb", chat="li", user="li", lang="zh"))  # at 02:00 the user switches
    assert fixed_part("lang.set", "nb") in reply["text"]
    out = c.advance("PT6H")  # 07:00 UTC = 08:00 Oslo
    [alert] = alerts(out)
    assert fixed_part("alert.data_percent", "nb") in alert["text"], alert["text"]
    c.close()


def keys_any(out: Out) -> list[str]:
    """Alerts in any language, by their first line."""
    return [str(a["text"]).split("\n", 1)[0] for a in alerts(out)]


def test_owner_private_alert_speaks_the_owners_platform_language(console_factory: Factory) -> None:
    c = console_factory(start=iso(T0))
    c.say("/start", chat="anna", user="anna", lang="zh")  # Anna's Telegram is in Chinese
    group = {"group": True, "admin": True, "name": "Anna", "lang": "zh"}
    link(c, "DEMO20", "mom", chat="fam", user="anna", **group)
    c.say("/remind mom to me", chat="fam", user="anna", **group)
    [alert] = alerts(c.advance("PT12H"))
    assert alert["private"] is True and alert["chat"] == "anna"
    assert fixed_part("alert.data_percent", "zh") in alert["text"], alert["text"]


# --- catch-up and restarts -----------------------------------------------------------------------


def test_catch_up_after_3_days_down_one_message_per_line(tmp_path: Path, console_factory: Factory) -> None:
    db = tmp_path / "bot.json"
    first = console_factory(db, start=iso(T0))
    link(first, "DEMO20", "mom")
    link(first, "DEMO38", "kid")
    link(first, "DEMO12", "dad")
    first.close()

    # three days later: mom crossed "5 %" and ran out; kid crossed "1 day" and expired; dad is fine
    second = console_factory(db, start=iso(T0 + timedelta(days=3)))
    out = second.advance("PT1M") + second.advance("PT1M")  # the catch-up runs at start
    got = sorted((label_of(a, ("mom", "kid", "dad")), key_of(a)) for a in alerts(out))
    assert got == [("kid", "expired"), ("mom", "depleted")]
    assert keys(second.advance("P1D")) == []
    second.close()


def test_after_3_days_down_the_first_advance_ends_only_after_every_catch_up_alert(
    tmp_path: Path, console_factory: Factory
) -> None:
    """The protocol's promise: ``{"idle": true}`` after an advance means every alert due by
    then was written, the start-up catch-up's included; none arrives after the next input."""
    db = tmp_path / "bot.json"
    first = console_factory(db, start=iso(T0))
    link(first, "DEMO20", "mom")
    link(first, "DEMO38", "kid")
    first.close()

    second = console_factory(db, start=iso(T0 + timedelta(days=3)))
    got = sorted((label_of(a, ("mom", "kid")), key_of(a)) for a in alerts(second.advance("PT1S")))
    assert got == [("kid", "expired"), ("mom", "depleted")]
    assert alerts(second.say("/help")) == []
    second.close()


def test_restart_delivers_a_stored_unsent_alert_once(tmp_path: Path, console_factory: Factory) -> None:
    db = tmp_path / "bot.json"
    first = console_factory(db, start=iso(T0))
    link(first, "DEMO20", "mom")
    first.close()

    # what the job queue writes when "5 %" falls due at 17:00, and the process dies before sending
    due = T0 + timedelta(hours=9)
    store = StoreView(TinyDBStore(str(db)))
    [line] = store.lines("console:c1")
    state = store.alert_state(line.id)
    assert state is not None
    store.save_alert_state(line.id, with_announced(replace(state, last_as_of=due, remaining=297 * MB), ["data:5"]))
    alert = Alert(
        kind="data",
        label="mom",
        provider="demo",
        threshold=5,
        remaining=297 * MB,
        total=5 * GB,
        expires_at=T0 + timedelta(days=12),
    )
    store.save_outbox(
        OutboxItem(
            id="unsent-1",
            line_id=line.id,
            household_id="console:c1",
            platform="console",
            chat="c1",
            alert=alert,
            created_at=due,
            not_before=due,
        )
    )
    store.set_due(line.id, due + timedelta(hours=1))
    store.commit()
    store.close()

    second = console_factory(db, start=iso(due + timedelta(minutes=5)))
    out = second.advance("PT1M")
    [sent] = alerts(out)
    assert re.search(r"only 5\s?% of the data left \(297 MB of 5 GB\)", sent["text"]), sent["text"]
    assert keys(second.advance("PT12H")) == []  # no repeat, and the rules do not announce it again
    second.close()

    third = console_factory(db, start=iso(due + timedelta(hours=12, minutes=10)))
    assert keys(third.advance("PT1H")) == []
    third.close()
    store = StoreView(TinyDBStore(str(db)))
    assert [(i.id, i.state) for i in store.outbox()] == [("unsent-1", "sent")]
    store.close()


def test_restart_while_an_alert_waits_for_the_morning(tmp_path: Path, console_factory: Factory) -> None:
    db = tmp_path / "bot.json"
    start = datetime(2026, 1, 1, 14, 0, tzinfo=UTC)  # "5 %" falls due at 23:11 Oslo
    first = console_factory(db, start=iso(start))
    link(first, "DEMO20", "mom")
    assert keys(first.advance("PT12H")) == []  # 03:00 in Oslo: enqueued, waiting
    first.close()
    store = StoreView(TinyDBStore(str(db)))
    assert [i.state for i in store.outbox()] == ["pending"]
    store.close()

    second = console_factory(db, start=iso(start + timedelta(hours=12)))
    assert keys(second.advance("PT4H59M")) == []
    assert keys(second.advance("PT2M")) == ["data:5"]  # 08:00 Oslo, once
    assert keys(second.advance("P1D")) == ["depleted"]  # empty at 23:45, held till 08:00 as well
    second.close()


# --- SIGKILL in the middle of a run of sweeps ----------------------------------------------------

KILL_LINES = (("c1", "DEMO20", "mom"), ("c1", "DEMO38", "kid"), ("c2", "DEMO53", "unl"), ("c3", "DEMO61", "old"))
KILL_RUN = "P14D"


def _setup_lines(c: ConsoleProcess) -> None:
    for chat, code, label in KILL_LINES:
        link(c, code, label, chat=chat, user=f"u-{chat}")


def _key(alert: dict[str, Any]) -> tuple[str, str, str]:
    return alert["chat"], label_of(alert, tuple(label for _, _, label in KILL_LINES)), key_of(alert)


def _read_until_alerts_then_kill(c: ConsoleProcess, n: int) -> tuple[Out, bool]:
    """Write the advance, read until ``n`` alerts were printed, SIGKILL, then take what was
    already in the pipe. Returns the output and whether the run had finished (idle)."""
    assert c.proc.stdin is not None
    c.proc.stdin.write(json.dumps({"advance": KILL_RUN}) + "\n")
    c.proc.stdin.flush()
    out: Out = []
    finished = False
    while len(alerts(out)) < n:
        obj = c._next()
        if obj == {"idle": True}:
            finished = True
            break
        out.append(obj)
    c.proc.send_signal(signal.SIGKILL)
    c.proc.wait(timeout=READ_TIMEOUT)
    while True:  # lines already in the pipe were delivered before the kill: they count
        try:
            line = c._out.get(timeout=READ_TIMEOUT)
        except queue.Empty:
            raise AssertionError("stdout did not close after SIGKILL") from None
        if line is None:
            break
        obj = json.loads(line)
        if obj == {"idle": True}:
            finished = True
        else:
            out.append(obj)
    return out, finished


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Counter[tuple[str, str, str]]:
    """The same story without a crash: what every run must add up to."""
    c = ConsoleProcess(tmp_path_factory.mktemp("reference") / "bot.json", start=iso(T0))
    try:
        _setup_lines(c)
        expected = Counter(_key(a) for a in alerts(c.advance(KILL_RUN)))
        c.close()
    finally:
        c.kill()
    assert sum(expected.values()) >= 10 and all(n == 1 for n in expected.values()), expected
    return expected


@pytest.mark.parametrize("kill_after", [1, 6], ids=["first-alert", "sixth-alert"])
def test_sigkill_mid_run_loses_nothing_and_resends_at_most_once(
    tmp_path: Path, console_factory: Factory, uninterrupted: Counter[tuple[str, str, str]], kill_after: int
) -> None:
    db = tmp_path / "bot.json"
    first = console_factory(db, start=iso(T0))
    _setup_lines(first)
    before, finished = _read_until_alerts_then_kill(first, kill_after)
    assert first.proc.returncode == -signal.SIGKILL
    # every file of the data is whole JSON (atomic writes), and the store opens it
    files = [db, *sorted((tmp_path / "bot.json.d").glob("*.json"))]
    for path in files:
        json.loads(path.read_text(encoding="utf-8"))
    StoreView(TinyDBStore(str(db))).close()

    # start again at the same simulated start and let the same time pass
    second = console_factory(db, start=iso(T0))
    after = alerts(second.advance(KILL_RUN))
    second.close()
    got = Counter(_key(a) for a in alerts(before) + after)
    missing = uninterrupted - got
    assert not missing, f"lost: {dict(missing)} (killed {'after' if finished else 'during'} the run)"
    extra = got - uninterrupted
    assert set(extra) <= set(uninterrupted), f"alerts the uninterrupted run never sent: {dict(extra)}"
    assert all(n <= 1 for n in extra.values()), f"sent more than twice: {dict(extra)}"
    # a resend is only what was on its way when the process died, never the whole history
    assert sum(extra.values()) <= 2, dict(extra)
