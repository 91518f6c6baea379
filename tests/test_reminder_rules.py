"""The pure reminder rules (bot/reminders.py): thresholds, cycles, severity, forecast.

Everything here is a function of its arguments: no store, no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.records import AlertState, ReminderSettings, Sample
from bot.reminders.forecast import forecast
from bot.reminders.rules import crossed_keys, evaluate, headline, is_new_cycle, make_alert, next_crossing
from providers.base import GB, MB, EsimBalance, Status
from tests.rules_helpers import with_announced

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
DEFAULT = ReminderSettings()


def bal(
    left: int | None,
    total: int | None = 5 * GB,
    *,
    at: datetime = T0,
    expires: datetime | None = T0 + 12 * DAY,
    status: Status = Status.ACTIVE,
    unlimited: bool = False,
) -> EsimBalance:
    return EsimBalance(
        provider="demo",
        iccid="8947000000000000020",
        status=status,
        as_of=at,
        data_total_bytes=total,
        data_remaining_bytes=left,
        data_unlimited=unlimited,
        expires_at=expires,
    )


def unlimited(*, at: datetime = T0, expires: datetime | None = T0 + 5 * DAY, left: int | None = None) -> EsimBalance:
    return bal(left, None, at=at, expires=expires, unlimited=True)


def data_keys(keys: list[str] | tuple[str, ...]) -> list[str]:
    return [k for k in keys if k.startswith(("data", "depleted"))]


# --- crossed_keys: every kind of threshold ---------------------------------------------------


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (10_000, []),
        (2_100, []),  # 21 %
        (2_099, ["data:20"]),  # 20.99 % reads "20 %": the reader sees 20 %
        (2_000, ["data:20"]),
        (600, ["data:20"]),  # 6 %
        (599, ["data:20", "data:5"]),  # 5.99 % reads "5 %"
        (1, ["data:20", "data:5"]),
    ],
)
def test_percent_thresholds_compare_whole_percent_rounded_down(left: int, expected: list[str]) -> None:
    keys = crossed_keys(bal(left, 10_000), DEFAULT, T0)
    assert data_keys(keys) == expected


def test_percent_threshold_on_real_sizes() -> None:
    total = 5 * GB
    just_above = -(-total * 6 // 100)  # the fewest bytes that read "6 %": not yet "5 %"
    assert "data:5" not in crossed_keys(bal(just_above, total), DEFAULT, T0)
    assert "data:5" in crossed_keys(bal(just_above - 1, total), DEFAULT, T0)


def test_absolute_byte_thresholds() -> None:
    s = ReminderSettings(data_percent=(), data_bytes=(500 * MB, 100 * MB))
    assert data_keys(crossed_keys(bal(500 * MB + 1), s, T0)) == []
    assert data_keys(crossed_keys(bal(500 * MB), s, T0)) == [f"data_bytes:{500 * MB}"]
    assert data_keys(crossed_keys(bal(100 * MB), s, T0)) == [f"data_bytes:{500 * MB}", f"data_bytes:{100 * MB}"]
    # byte thresholds work without a known total too
    assert f"data_bytes:{500 * MB}" in crossed_keys(bal(400 * MB, None), s, T0)


@pytest.mark.parametrize(
    ("hours_left", "expected"),
    [
        (100, []),
        (72 + 1 / 3600, []),
        (72, ["expiry:72"]),
        (25, ["expiry:72"]),
        (24, ["expiry:72", "expiry:24"]),
        (0.01, ["expiry:72", "expiry:24"]),
    ],
)
def test_expiry_lead_hours(hours_left: float, expected: list[str]) -> None:
    b = bal(4 * GB, expires=T0 + timedelta(hours=hours_left))
    assert [k for k in crossed_keys(b, DEFAULT, T0) if k.startswith("expiry")] == expected


def test_custom_expiry_lead_hours() -> None:
    s = ReminderSettings(expiry_hours=(6,))
    assert crossed_keys(bal(4 * GB, expires=T0 + 7 * HOUR), s, T0) == []
    assert crossed_keys(bal(4 * GB, expires=T0 + 6 * HOUR), s, T0) == ["expiry:6"]


def test_depleted_by_bytes_or_status() -> None:
    assert "depleted" in crossed_keys(bal(0), DEFAULT, T0)
    assert "depleted" in crossed_keys(bal(3 * MB, status=Status.DEPLETED), DEFAULT, T0)
    assert "depleted" not in crossed_keys(bal(1), DEFAULT, T0)


def test_expired_by_date_or_status_is_the_only_key() -> None:
    exp = T0 + 2 * DAY
    assert crossed_keys(bal(0, expires=exp), DEFAULT, exp) == ["expired"]
    assert crossed_keys(bal(0, expires=exp), DEFAULT, exp - timedelta(seconds=1)) != ["expired"]
    assert crossed_keys(bal(3 * GB, status=Status.EXPIRED), DEFAULT, T0) == ["expired"]
    assert crossed_keys(unlimited(expires=T0), DEFAULT, T0) == ["expired"]


def test_unlimited_lines_get_expiry_keys_only() -> None:
    s = ReminderSettings(data_percent=(20, 5), data_bytes=(GB,), expiry_hours=(72, 24))
    # even when a provider reports zeros for an unlimited bundle
    for b in (
        unlimited(expires=T0 + 10 * HOUR),
        unlimited(expires=T0 + 10 * HOUR, left=0),
        replace(unlimited(expires=T0 + 10 * HOUR, left=0), data_total_bytes=0),
    ):
        assert crossed_keys(b, s, T0) == ["expiry:72", "expiry:24"]
    assert crossed_keys(unlimited(expires=T0 + 10 * DAY), s, T0) == []


def test_unknown_data_and_no_expiry_cross_nothing() -> None:
    assert crossed_keys(bal(None, None, expires=None), DEFAULT, T0) == []


# --- evaluate: once per threshold per cycle ----------------------------------------------------


def test_link_counts_crossed_thresholds_as_announced() -> None:
    """DEMO20 at link: 8 % left -> "20 %" is already crossed: no alert for it, ever, this cycle."""
    first = evaluate(None, bal(int(0.4 * GB)), DEFAULT, T0)
    assert first is not None
    assert first.due == ()
    assert first.new_cycle
    assert first.crossed == ("data:20",)
    assert first.state.announced == ("data:20",)
    assert first.state.cycle_started == T0


def test_each_threshold_fires_once_per_cycle() -> None:
    total = 5 * GB
    state = evaluate(None, bal(int(0.4 * GB), total), DEFAULT, T0).state  # type: ignore[union-attr]
    fired: list[tuple[str, ...]] = []
    left = int(0.4 * GB)
    for hour in range(1, 40):
        left = max(0, left - int(12.5 * MB))
        result = evaluate(state, bal(left, total, at=T0 + hour * HOUR), DEFAULT, T0 + hour * HOUR)
        assert result is not None
        assert not result.new_cycle
        state = result.state
        if result.due:
            fired.append(result.due)
    assert fired == [("data:5",), ("depleted",)]
    assert state.cycle_started == T0


def test_same_balance_evaluated_again_gives_nothing_new() -> None:
    s1 = evaluate(None, bal(3 * GB), DEFAULT, T0).state  # type: ignore[union-attr]
    r2 = evaluate(s1, bal(int(0.9 * GB), at=T0 + HOUR), DEFAULT, T0 + HOUR)
    assert r2 is not None and r2.due == ("data:20",)
    r3 = evaluate(r2.state, bal(int(0.9 * GB), at=T0 + HOUR), DEFAULT, T0 + 2 * HOUR)
    assert r3 is not None and r3.due == ()


def test_several_thresholds_crossed_at_once_are_all_due() -> None:
    s1 = evaluate(None, bal(3 * GB), DEFAULT, T0).state  # type: ignore[union-attr]
    r = evaluate(s1, bal(0, at=T0 + 3 * DAY), DEFAULT, T0 + 3 * DAY)
    assert r is not None
    assert set(r.due) == {"data:20", "data:5", "depleted"}


def test_expiry_thresholds_follow_the_clock_with_a_cached_balance() -> None:
    b = bal(4 * GB, expires=T0 + 2 * DAY)  # DEMO38: expires day 2
    first = evaluate(None, b, DEFAULT, T0)
    assert first is not None and first.due == () and first.state.announced == ("expiry:72",)
    r = evaluate(first.state, b, DEFAULT, T0 + DAY - timedelta(seconds=1))
    assert r is not None and r.due == ()
    r = evaluate(r.state, b, DEFAULT, T0 + DAY)
    assert r is not None and r.due == ("expiry:24",)
    r = evaluate(r.state, b, DEFAULT, T0 + DAY + HOUR)
    assert r is not None and r.due == ()
    r = evaluate(r.state, replace(b, as_of=T0 + 2 * DAY), DEFAULT, T0 + 2 * DAY)
    assert r is not None and r.due == ("expired",)
    r = evaluate(r.state, replace(b, as_of=T0 + 3 * DAY), DEFAULT, T0 + 3 * DAY)
    assert r is not None and r.due == ()


def test_depleted_then_expired_both_fire_once() -> None:
    exp = T0 + 2 * DAY
    state = evaluate(None, bal(3 * GB, expires=exp), DEFAULT, T0 - 5 * DAY).state  # type: ignore[union-attr]
    due: list[str] = []
    for at, left in ((T0, 0), (T0 + HOUR, 0), (exp, 0), (exp + DAY, 0)):
        r = evaluate(state, bal(left, expires=exp, at=at), DEFAULT, at)
        assert r is not None
        state = r.state
        due += r.due
    assert due.count("depleted") == 1
    assert due.count("expired") == 1
    assert len(due) == len(set(due))


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=10_000),
    drops=st.lists(st.integers(min_value=0, max_value=3_000), min_size=1, max_size=30),
)
def test_property_every_threshold_fires_exactly_once_while_data_falls(start: int, drops: list[int]) -> None:
    total = 10_000
    s = ReminderSettings(data_percent=(50, 20, 5), data_bytes=(1_000, 300))
    first = evaluate(None, bal(start, total), s, T0)
    assert first is not None
    state, initial = first.state, set(first.crossed)
    fired: list[str] = []
    seen: set[str] = set(initial)
    left = start
    for i, drop in enumerate(drops, 1):
        left = max(0, left - drop)
        at = T0 + i * HOUR
        r = evaluate(state, bal(left, total, at=at), s, at)
        assert r is not None
        assert not r.new_cycle
        state = r.state
        fired += r.due
        seen |= set(r.crossed)
    assert len(fired) == len(set(fired)), fired
    assert set(fired) == seen - initial


def test_topup_adding_data_rearms_the_thresholds() -> None:
    total = 5 * GB
    s = evaluate(None, bal(int(0.4 * GB), total), DEFAULT, T0).state  # type: ignore[union-attr]
    r = evaluate(s, bal(200 * MB, total, at=T0 + 8 * HOUR), DEFAULT, T0 + 8 * HOUR)
    assert r is not None and r.due == ("data:5",)
    # top-up: +5 GB; 5.2 GB of 10 GB is 52 %: nothing crossed, everything armed again
    at = T0 + 9 * HOUR
    topped = bal(5 * GB + 190 * MB, 10 * GB, at=at, expires=T0 + 42 * DAY)
    r = evaluate(r.state, topped, DEFAULT, at)
    assert r is not None
    assert r.new_cycle and r.due == () and r.state.announced == ()
    assert r.state.cycle_started == at
    r = evaluate(r.state, bal(2 * GB, 10 * GB, at=at + 10 * DAY, expires=T0 + 42 * DAY), DEFAULT, at + 10 * DAY)
    assert r is not None and r.due == ("data:20",)
    r = evaluate(r.state, bal(400 * MB, 10 * GB, at=at + 16 * DAY, expires=T0 + 42 * DAY), DEFAULT, at + 16 * DAY)
    assert r is not None and r.due == ("data:5",)


def test_topup_of_a_depleted_line_starts_a_new_cycle() -> None:
    """DEMO61 (1 GB, 0 left): the demo starts afresh with the plan's data, same total."""
    s = evaluate(None, bal(0, GB, expires=T0 + 10 * DAY), DEFAULT, T0).state  # type: ignore[union-attr]
    assert "depleted" in s.announced
    r = evaluate(s, bal(GB, GB, at=T0 + HOUR, expires=T0 + 17 * DAY), DEFAULT, T0 + HOUR)
    assert r is not None and r.new_cycle and r.due == () and r.state.announced == ()
    r = evaluate(r.state, bal(0, GB, at=T0 + 5 * DAY, expires=T0 + 17 * DAY), DEFAULT, T0 + 5 * DAY)
    assert r is not None and set(r.due) == {"data:20", "data:5", "depleted"}


def test_expiry_moved_later_rearms_expiry_alerts() -> None:
    exp = T0 + 2 * DAY
    s = evaluate(None, bal(3 * GB, expires=exp), DEFAULT, T0).state  # type: ignore[union-attr]
    r = evaluate(s, bal(3 * GB, expires=exp, at=T0 + DAY), DEFAULT, T0 + DAY)
    assert r is not None and r.due == ("expiry:24",)
    later = exp + 7 * DAY  # renewed: same data, 7 more days
    r = evaluate(r.state, bal(3 * GB, expires=later, at=T0 + DAY + HOUR), DEFAULT, T0 + DAY + HOUR)
    assert r is not None and r.new_cycle and r.due == ()
    r = evaluate(r.state, bal(3 * GB, expires=later, at=later - DAY), DEFAULT, later - DAY)
    assert r is not None and set(r.due) == {"expiry:72", "expiry:24"}


def test_thresholds_already_crossed_when_a_cycle_starts_count_as_announced() -> None:
    s = evaluate(None, bal(100 * MB), DEFAULT, T0).state  # type: ignore[union-attr]
    # a 1 GB top-up on 100 MB of 5 GB: 1.1 GB of 6 GB is 18 % -> "20 %" is past at the start
    at = T0 + HOUR
    r = evaluate(s, bal(1124 * MB, 6 * GB, at=at, expires=T0 + 19 * DAY), DEFAULT, at)
    assert r is not None and r.new_cycle and r.due == ()
    assert r.state.announced == ("data:20",)
    r = evaluate(r.state, bal(250 * MB, 6 * GB, at=at + 3 * DAY, expires=T0 + 19 * DAY), DEFAULT, at + 3 * DAY)
    assert r is not None and r.due == ("data:5",)


@pytest.mark.parametrize(
    ("change", "new"),
    [
        ({"expires": T0 + 12 * DAY + timedelta(seconds=59)}, False),  # provider jitter, not a renewal
        ({"expires": T0 + 12 * DAY + timedelta(minutes=2)}, True),
        ({"expires": T0 + 11 * DAY}, False),
        ({"left": 1024 * MB + MB}, False),  # within 1 MB: rounding, not a top-up
        ({"left": 1024 * MB + MB + 1}, True),
        ({"left": 900 * MB}, False),
        ({"total": 6 * GB}, True),
    ],
)
def test_what_counts_as_a_new_cycle(change: dict[str, object], new: bool) -> None:
    state = AlertState(cycle_started=T0, expires_at=T0 + 12 * DAY, total=5 * GB, remaining=1024 * MB, last_as_of=T0)
    args: dict[str, object] = {"left": 1024 * MB, "total": 5 * GB, "expires": T0 + 12 * DAY}
    args.update(change)
    b = bal(args["left"], args["total"], expires=args["expires"], at=T0 + HOUR)  # type: ignore[arg-type]
    assert is_new_cycle(state, b) is new
    assert is_new_cycle(None, b) is True


def test_fresh_cycle_flag_rearms_even_without_a_visible_change() -> None:
    s = evaluate(None, bal(3 * GB), DEFAULT, T0).state  # type: ignore[union-attr]
    r = evaluate(s, bal(int(0.9 * GB), at=T0 + HOUR), DEFAULT, T0 + HOUR)
    assert r is not None and r.due == ("data:20",)
    r = evaluate(r.state, bal(int(0.9 * GB), at=T0 + 2 * HOUR), DEFAULT, T0 + 2 * HOUR, fresh_cycle=True)
    assert r is not None and r.new_cycle and r.due == () and r.state.announced == ("data:20",)
    assert r.state.cycle_started == T0 + 2 * HOUR


# --- unlimited, clock skew, disabled ---------------------------------------------------------


def test_unlimited_line_gets_expiry_alerts_only() -> None:
    s = ReminderSettings(data_bytes=(GB,))
    exp = T0 + 5 * DAY
    state = evaluate(None, unlimited(expires=exp), s, T0).state  # type: ignore[union-attr]
    due: list[str] = []
    for hour in range(1, 24 * 6):
        at = T0 + hour * HOUR
        r = evaluate(state, unlimited(at=at, expires=exp), s, at)
        assert r is not None
        state = r.state
        due += r.due
    assert due == ["expiry:72", "expiry:24", "expired"]


def test_clock_skew_an_older_balance_is_ignored() -> None:
    s = evaluate(None, bal(3 * GB, at=T0 + HOUR), DEFAULT, T0 + HOUR).state  # type: ignore[union-attr]
    assert s.last_as_of == T0 + HOUR
    older = bal(0, at=T0 + HOUR - timedelta(seconds=1))  # a late answer that says "depleted"
    assert evaluate(s, older, DEFAULT, T0 + 2 * HOUR) is None
    assert evaluate(s, older, DEFAULT, T0 + 2 * HOUR, fresh_cycle=True) is None
    same = evaluate(s, bal(3 * GB, at=T0 + HOUR), DEFAULT, T0 + 2 * HOUR)
    assert same is not None and same.due == ()


def test_clock_skew_a_balance_from_the_future_does_not_block_later_ones() -> None:
    """One answer stamped two hours ahead (a provider clock or time-zone slip) must not make
    every correct answer of the next two hours look "older" and be ignored."""
    s = evaluate(None, bal(3 * GB), DEFAULT, T0).state  # type: ignore[union-attr]
    ahead = evaluate(s, bal(3 * GB, at=T0 + 2 * HOUR), DEFAULT, T0 + timedelta(minutes=5))
    assert ahead is not None
    later = T0 + timedelta(minutes=30)
    r = evaluate(ahead.state, bal(200 * MB, at=later), DEFAULT, later)
    assert r is not None and set(r.due) == {"data:20", "data:5"}


def test_clock_skew_cannot_rearm_through_an_old_bigger_balance() -> None:
    s = evaluate(None, bal(3 * GB), DEFAULT, T0).state  # type: ignore[union-attr]
    r = evaluate(s, bal(200 * MB, at=T0 + 2 * DAY), DEFAULT, T0 + 2 * DAY)
    assert r is not None and set(r.due) == {"data:20", "data:5"}
    # an out-of-order answer from before would look like a top-up (more data): ignored
    assert evaluate(r.state, bal(3 * GB, at=T0 + DAY), DEFAULT, T0 + 2 * DAY + HOUR) is None


def test_disabled_settings_give_no_due_alerts_and_no_stale_ones_later() -> None:
    off = replace(DEFAULT, enabled=False)
    s = evaluate(None, bal(3 * GB), off, T0).state  # type: ignore[union-attr]
    r = evaluate(s, bal(200 * MB, at=T0 + DAY), off, T0 + DAY)
    assert r is not None and r.due == () and set(r.crossed) == {"data:20", "data:5"}
    # switched on again: what was crossed while off is not replayed
    r2 = evaluate(r.state, bal(190 * MB, at=T0 + DAY + HOUR), DEFAULT, T0 + DAY + HOUR)
    assert r2 is not None and r2.due == ()
    r3 = evaluate(r2.state, bal(0, at=T0 + 2 * DAY), DEFAULT, T0 + 2 * DAY)
    assert r3 is not None and r3.due == ("depleted",)


# --- headline, make_alert ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["data:20"], ("data", 20)),
        (["data:20", "data:5"], ("data", 5)),
        (["data:5", "data:20"], ("data", 5)),
        (["expiry:72", "expiry:24"], ("expiry", 24)),
        ([f"data_bytes:{500 * MB}", f"data_bytes:{100 * MB}"], ("data_bytes", 100 * MB)),
        (["data:20", "expiry:24"], ("expiry", 24)),
        (["data:5", "expiry:24", "depleted"], ("depleted", None)),
        (["depleted", "expired", "data:5"], ("expired", None)),
    ],
)
def test_headline_states_the_most_severe(keys: list[str], expected: tuple[str, int | None]) -> None:
    assert headline(keys) == expected


def test_make_alert_carries_the_facts_for_rendering() -> None:
    b = bal(200 * MB, expires=T0 + 3 * DAY)
    runs_out = T0 + DAY
    a = make_alert(["data:20", "data:5"], "mom", "demo", b, runs_out)
    assert (a.kind, a.threshold, a.label, a.provider) == ("data", 5, "mom", "demo")
    assert (a.remaining, a.total, a.unlimited, a.expires_at, a.runs_out_at) == (200 * MB, 5 * GB, False, T0 + 3 * DAY, runs_out)
    e = make_alert(["expired"], "kid", "demo", unlimited(expires=T0), None)
    assert (e.kind, e.threshold, e.unlimited, e.remaining) == ("expired", None, True, None)


# --- forecast ----------------------------------------------------------------------------------


def test_forecast_needs_two_samples_and_some_use() -> None:
    assert forecast([]) is None
    assert forecast([Sample(T0, 1000)]) is None
    assert forecast([Sample(T0, 1000), Sample(T0 + DAY, 1000)]) is None  # no usage
    assert forecast([Sample(T0, None), Sample(T0 + DAY, None)]) is None  # unlimited / unknown
    assert forecast([Sample(T0, 1000), Sample(T0, 900)]) is None  # no time passed


def test_forecast_runs_out_at_the_recent_pace() -> None:
    samples = [Sample(T0, 900 * MB), Sample(T0 + DAY, 600 * MB)]
    assert forecast(samples) == T0 + DAY + 2 * DAY  # 600 MB at 300 MB/day
    samples.append(Sample(T0 + 2 * DAY, 300 * MB))
    assert forecast(samples) == T0 + 3 * DAY
    assert forecast([Sample(T0, 1000), Sample(T0 + HOUR, 0)]) == T0 + HOUR  # ran out already


def test_forecast_ignores_samples_before_a_topup() -> None:
    before = [Sample(T0, 500 * MB), Sample(T0 + DAY, 100 * MB)]  # 400 MB/day
    after = [Sample(T0 + DAY + HOUR, 1124 * MB)]
    assert forecast(before + after) is None  # one sample in the new cycle
    after.append(Sample(T0 + 2 * DAY + HOUR, 1024 * MB))  # 100 MB/day now
    assert forecast(before + after) == T0 + 2 * DAY + HOUR + 1024 / 100 * DAY


def test_forecast_stops_at_a_sample_without_data() -> None:
    samples = [Sample(T0, 2000), Sample(T0 + DAY, None), Sample(T0 + 2 * DAY, 900), Sample(T0 + 3 * DAY, 800)]
    assert forecast(samples) == T0 + 3 * DAY + 8 * DAY


# --- next_crossing -------------------------------------------------------------------------------


def test_next_crossing_expiry_moments() -> None:
    exp = T0 + 5 * DAY
    b = bal(4 * GB, expires=exp)
    state = AlertState(cycle_started=T0)
    assert next_crossing(b, DEFAULT, state, None) == (exp - 72 * HOUR, None)
    assert next_crossing(b, DEFAULT, with_announced(state, ["expiry:72"]), None) == (exp - 24 * HOUR, None)
    assert next_crossing(b, DEFAULT, with_announced(state, ["expiry:72", "expiry:24"]), None) == (exp, None)
    done = with_announced(state, ["expiry:72", "expiry:24", "expired"])
    assert next_crossing(b, DEFAULT, done, None) == (None, None)
    assert next_crossing(bal(4 * GB, expires=None), DEFAULT, state, None) == (None, None)


def _linear_left(left: int, as_of: datetime, runs_out: datetime, at: datetime) -> int:
    span = (runs_out - as_of).total_seconds()
    return max(0, int(left * (1 - (at - as_of).total_seconds() / span)))


@pytest.mark.parametrize("total", [5 * GB, 10_000_000, 3 * GB + 7])
def test_next_crossing_data_moment_is_when_the_reader_sees_the_threshold(total: int) -> None:
    left = total * 40 // 100
    runs_out = T0 + 4 * DAY
    b = bal(left, total, expires=T0 + 30 * DAY)
    state = AlertState(cycle_started=T0)
    _, moment = next_crossing(b, DEFAULT, state, runs_out)
    assert moment is not None
    # the first unannounced threshold is "20 %": shown a moment after, not shown a minute before
    after = _linear_left(left, T0, runs_out, moment + timedelta(seconds=30))
    before = _linear_left(left, T0, runs_out, moment - timedelta(minutes=1))
    assert after * 100 // total <= 20 < before * 100 // total
    # with "20 %" announced, the next is "5 %"
    _, moment = next_crossing(b, DEFAULT, with_announced(state, ["data:20"]), runs_out)
    assert moment is not None
    after = _linear_left(left, T0, runs_out, moment + timedelta(seconds=30))
    before = _linear_left(left, T0, runs_out, moment - timedelta(minutes=1))
    assert after * 100 // total <= 5 < before * 100 // total
    # both announced: the next moment is running out
    _, moment = next_crossing(b, DEFAULT, with_announced(state, ["data:20", "data:5"]), runs_out)
    assert moment == runs_out


def test_next_crossing_byte_thresholds_and_past_marks() -> None:
    s = ReminderSettings(data_percent=(), data_bytes=(GB, 200 * MB))
    b = bal(2 * GB, 10 * GB, expires=None)
    runs_out = T0 + 2 * DAY  # 1 GB a day
    state = AlertState(cycle_started=T0)
    assert next_crossing(b, s, state, runs_out) == (None, T0 + DAY)
    # a mark already passed (announced or not) is not a future moment
    low = bal(500 * MB, 10 * GB, expires=None)
    _, moment = next_crossing(low, s, state, T0 + DAY)
    assert moment == T0 + DAY * (300 / 500)


def test_next_crossing_after_expiry_is_nothing() -> None:
    """A line linked (or caught up) already expired never announced its lead times: they
    must not come back as moments in the past (the job queue would wake every minute)."""
    exp = T0 - 3 * DAY  # DEMO46: expired on day -3
    b = bal(GB, 3 * GB, expires=exp, status=Status.EXPIRED)
    state = evaluate(None, b, DEFAULT, T0).state  # type: ignore[union-attr]
    assert state.announced == ("expired",)
    assert next_crossing(b, DEFAULT, state, T0 + 2 * DAY) == (None, None)
    # caught up after downtime: "expired" is due, the skipped lead times stay unannounced
    s = evaluate(None, bal(GB, 3 * GB, expires=T0 + 10 * DAY), DEFAULT, T0).state  # type: ignore[union-attr]
    later = T0 + 11 * DAY
    r = evaluate(s, bal(GB, 3 * GB, expires=T0 + 10 * DAY, at=later), DEFAULT, later)
    assert r is not None and r.due == ("expired",)
    assert next_crossing(bal(GB, 3 * GB, expires=T0 + 10 * DAY, at=later), DEFAULT, r.state, None) == (None, None)


def test_next_crossing_without_a_forecast_or_for_unlimited_has_no_data_moment() -> None:
    state = AlertState(cycle_started=T0)
    assert next_crossing(bal(GB), DEFAULT, state, None)[1] is None
    assert next_crossing(unlimited(), DEFAULT, state, T0 + DAY)[1] is None
    assert next_crossing(bal(0), DEFAULT, state, T0 + DAY)[1] is None  # nothing left to cross


def test_with_announced_keeps_order_and_no_duplicates() -> None:
    s = AlertState(cycle_started=T0, announced=("data:20",))
    assert with_announced(s, ["data:5", "data:20", "depleted"]).announced == ("data:20", "data:5", "depleted")
