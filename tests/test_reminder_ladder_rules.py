"""Issue 26's rules as properties (hypothesis): the ladder never says one point twice and never
stays silent when a line runs out; a repeat never follows an acknowledgement; repeats and
snooze mornings keep out of the quiet hours. The pure parts are called directly; the repeat
property drives the real pipeline on the memory store with the fake clock (no I/O, no sleeps).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.records import AlertKind, AlertState, Household, KeepAlive, ReminderSettings, ThresholdKey
from bot.reminders import ladder, timing
from bot.reminders.ladder import Deadlines
from bot.reminders.rules import evaluate, is_critical, make_alert, outruns_snooze
from bot.store.memory import MemoryStore
from providers.base import GB, EsimBalance, Status
from tests.jobs_harness import make

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
FAMILY = Household(id="t:fam", is_group=True, created_at=T0)

points = st.lists(st.integers(min_value=1, max_value=24 * 20), min_size=1, max_size=ladder.MAX_POINTS, unique=True)
looks = st.lists(st.integers(min_value=1, max_value=24 * 25), min_size=1, max_size=40)


def expiry_points(expires: datetime, s: ReminderSettings, morning: datetime | None) -> ladder.Points:
    """The ladder written out point by point: the oracle the rules are held to."""
    points = [(ThresholdKey.of(AlertKind.EXPIRY, h), expires - h * HOUR) for h in s.expiry_hours]
    if s.on_day and morning is not None and morning < expires:
        points.append((ThresholdKey.of(AlertKind.EXPIRY_DAY), morning))
    if s.after_expiry:
        points.append((ThresholdKey.of(AlertKind.AFTER_EXPIRY), expires + ladder.AFTER))
    return points


def balance(at: datetime, expires: datetime, left: int = 2 * GB) -> EsimBalance:
    return EsimBalance(
        provider="demo",
        iccid="8947000000000000012",
        status=Status.ACTIVE if left else Status.DEPLETED,
        as_of=at,
        data_total_bytes=4 * GB,
        data_remaining_bytes=left,
        data_unlimited=False,
        expires_at=expires,
    )


@settings(max_examples=60, deadline=None)
@given(points, looks, st.booleans(), st.booleans())
def test_each_point_is_said_at_most_once_and_every_point_passed_is_accounted_for(
    hours: list[int], at: list[int], on_day: bool, after: bool
) -> None:
    """Looks at random moments (downtime between them): no point is due twice in a plan
    period, each look says at most one message, and every point passed by the last look was
    either said or already past when the period began."""
    s = ReminderSettings(data_percent=(), expiry_hours=tuple(sorted(hours, reverse=True)), on_day=on_day, after_expiry=after)
    expires = T0 + timedelta(days=21)
    deadlines = Deadlines(morning=timing.morning(FAMILY, expires))
    first = evaluate(None, balance(T0, expires), s, T0, deadlines=deadlines)
    assert first is not None and first.due == ()
    state, said = first.state, list[ThresholdKey]()
    for h in sorted(set(at)):
        now = T0 + h * HOUR
        result = evaluate(state, balance(now, expires), s, now, deadlines=deadlines)
        assert result is not None and not result.new_cycle
        said += result.due  # one look: one message (make_alert headlines them)
        state = result.state
    assert len(said) == len(set(said)), said
    last = T0 + max(at) * HOUR
    passed = set(ladder.crossed(expiry_points(expires, s, deadlines.morning), last))
    if last >= expires:  # "expired" says it all: the points before it are not said late
        passed = {k for k in passed if k.kind is AlertKind.AFTER_EXPIRY} | {ThresholdKey.of(AlertKind.EXPIRED)}
    assert passed <= set(said) | set(first.state.announced)


@settings(max_examples=60, deadline=None)
@given(points, st.lists(st.integers(min_value=1, max_value=24 * 10), min_size=1, max_size=30), st.integers(0, 24 * 9))
def test_running_out_is_never_silent(hours: list[int], at: list[int], empty_at: int) -> None:
    """Whatever the ladder and the looks, once the data is gone the next look says so, and a
    snooze does not hold that message back."""
    s = ReminderSettings(expiry_hours=tuple(sorted(hours, reverse=True)))
    expires = T0 + timedelta(days=30)
    state = evaluate(None, balance(T0, expires), s, T0)
    assert state is not None
    current: AlertState = state.state
    depleted = ThresholdKey.of(AlertKind.DEPLETED)
    told = []
    for h in sorted(set(at)):
        now = T0 + h * HOUR
        left = 0 if h >= empty_at else 2 * GB - h * 1024
        result = evaluate(current, balance(now, expires, left), s, now)
        assert result is not None
        if depleted in result.due:
            alert = make_alert(result.due, "mom", "demo", balance(now, expires, left), None)
            assert alert.kind is AlertKind.DEPLETED and outruns_snooze(alert) and is_critical(alert, s)
            told.append(h)
        current = result.state
    empties = [h for h in sorted(set(at)) if h >= empty_at]
    assert told == empties[:1]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 23), st.integers(0, 59), st.integers(1, 12), st.integers(0, 10))
def test_repeats_grow_and_keep_out_of_the_quiet_hours(hour: int, minute: int, every: int, times: int) -> None:
    first = datetime(2026, 3, 28, hour, minute, tzinfo=UTC)  # a daylight-saving weekend in Oslo
    moments = timing.repeats(FAMILY, first, timedelta(hours=every), times)
    assert len(moments) == times
    assert all(a < b for a, b in zip([first, *moments], moments, strict=False))
    assert all(timing.quiet_until(FAMILY, m) is None for m in moments)
    morning = timing.next_morning(FAMILY, first)
    assert first < morning <= first + timedelta(days=1, hours=1) and timing.quiet_until(FAMILY, morning) is None


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 400), st.integers(0, 24 * 400))
def test_keep_alive_points_rearm_when_the_number_is_used(days: int, used_after: int) -> None:
    s = ReminderSettings(data_percent=())
    b = balance(T0, T0 + timedelta(days=800))
    rule = KeepAlive(days=days)
    first = Deadlines(keepalive=T0 + timedelta(days=rule.days))
    state = evaluate(None, b, s, T0, deadlines=first)
    assert state is not None
    used = T0 + used_after * HOUR
    later = Deadlines(keepalive=used + timedelta(days=rule.days))
    again = evaluate(state.state, replace(b, as_of=used), s, used, deadlines=later)
    assert again is not None and not again.due  # a use moves the deadline: its passed points are old news
    assert {k for k in again.state.announced if k.kind is AlertKind.KEEPALIVE} == set(
        ladder.crossed(ladder.keepalive_points(later.keepalive, s), used)  # type: ignore[arg-type]
    )


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(0, 60))
def test_no_repeat_after_an_acknowledgement(every: int, times: int, ack_after: int) -> None:
    """The real pipeline: "5 %" repeats every ``every`` hours; Done at a random moment; not one
    repeat of that alert leaves after the press, in any chat."""
    asyncio.run(_acknowledged(every, times, ack_after))


async def _acknowledged(every: int, times: int, ack_after: int) -> None:
    h = make(MemoryStore())
    repeat = ReminderSettings(repeat=True, repeat_hours=every, repeat_times=times, target="both")
    h.household("fam", reminders=repeat)
    await h.link("DEMO20", "mom")
    await h.run(timedelta(hours=12))  # "5 %" at 20:00 in both chats
    first = [s for s in h.items() if s.alert.token]
    assert first, "the last threshold repeats until Done"
    token = first[0].alert.token
    assert token is not None
    await h.run(timedelta(hours=ack_after) / 4)
    before = {i.id for i in h.items() if i.state == "sent"}
    async with h.store.store.transaction() as tx:
        await h.events.acknowledged(tx, token)
    await h.run(timedelta(days=2))
    mine = [i for i in h.items() if i.alert.token == token]
    assert [i for i in mine if i.state == "sent" and i.id not in before] == []  # nothing of it after the press
    assert [i for i in mine if i.state == "pending"] == []
