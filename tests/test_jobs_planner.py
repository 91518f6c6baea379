"""The reminder pipeline, the rules' answer as alerts: quiet hours, collapse, new cycles, recipients (``bot/reminders``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.platforms.base import RetryLater
from bot.records import Household
from bot.reminders import timing
from providers.base import GB, MB, EsimBalance
from tests.jobs_harness import (
    DEMO,
    OSLO,
    T0,
    _item,
    kinds,
    make,
    scripted_balance,
)


@pytest.mark.parametrize(
    ("due_local", "arrives_local"),
    [
        (datetime(2026, 1, 9, 23, 0, tzinfo=OSLO), datetime(2026, 1, 10, 8, 0, tzinfo=OSLO)),
        # clocks go forward in the night of 28/29 March: 08:00 is 06:00 UTC, not 07:00
        (datetime(2026, 3, 28, 23, 0, tzinfo=OSLO), datetime(2026, 3, 29, 8, 0, tzinfo=OSLO)),
        # clocks go back in the night of 24/25 October: 08:00 is 07:00 UTC, not 06:00
        (datetime(2026, 10, 24, 23, 0, tzinfo=OSLO), datetime(2026, 10, 25, 8, 0, tzinfo=OSLO)),
    ],
)
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


@pytest.mark.parametrize(
    ("now_local", "until_local"),
    [
        (datetime(2026, 3, 28, 21, 59, tzinfo=OSLO), None),
        (datetime(2026, 3, 28, 22, 0, tzinfo=OSLO), datetime(2026, 3, 29, 8, 0, tzinfo=OSLO)),
        (datetime(2026, 3, 29, 1, 30, tzinfo=OSLO), datetime(2026, 3, 29, 8, 0, tzinfo=OSLO)),
        (datetime(2026, 3, 29, 7, 59, tzinfo=OSLO), datetime(2026, 3, 29, 8, 0, tzinfo=OSLO)),
        (datetime(2026, 3, 29, 8, 0, tzinfo=OSLO), None),
        (datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=OSLO), datetime(2026, 10, 25, 8, 0, tzinfo=OSLO)),
        (datetime(2026, 10, 24, 23, 0, tzinfo=OSLO), datetime(2026, 10, 25, 8, 0, tzinfo=OSLO)),
    ],
)
def test_quiet_until(now_local: datetime, until_local: datetime | None) -> None:
    household = Household(id="x:y", is_group=True, created_at=T0)
    got = timing.quiet_until(household, now_local.astimezone(UTC))
    assert got == (until_local.astimezone(UTC) if until_local else None)
    assert timing.quiet_until(replace(household, quiet_start=None, quiet_end=None), now_local.astimezone(UTC)) is None
    daytime = replace(household, quiet_start="12:00", quiet_end="13:00")  # a quiet time that does not wrap
    assert timing.quiet_until(daytime, datetime(2026, 3, 29, 12, 30, tzinfo=OSLO).astimezone(UTC)) == datetime(
        2026, 3, 29, 13, 0, tzinfo=OSLO
    ).astimezone(UTC)


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
    assert "Expires 11 Jan 2026 (tomorrow)" in text, text  # the expiry is told as well, in calendar words


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
    assert h.store.alert_state("line-mom").cycle_started >= extended


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
