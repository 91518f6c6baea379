"""The reminder pipeline, sending: fallbacks when a target is gone, retries, drops, pacing (``bot/reminders``)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.names import PlatformName
from bot.platforms.base import ChatMoved, RetryLater, TargetGone, Undeliverable
from bot.reminders.delivery import MAX_ATTEMPTS
from providers.base import GB, MB
from tests.jobs_harness import (
    T0,
    P,
    Sent,
    _item,
    kinds,
    make,
    scripted_balance,
)


async def test_owner_gone_falls_back_to_the_group_and_is_recorded() -> None:
    h = make()
    await h.link("DEMO20", "mom", target="owner")
    h.platform.fail_always["dm-anna"] = TargetGone("blocked")
    await h.run(timedelta(hours=12))
    [note] = [s for s in h.platform.sent if s.text.startswith("ℹ️")]  # the family hears, once, why (issue 26)
    [sent] = [s for s in h.platform.sent if s is not note]
    assert (sent.chat, sent.mention, sent.private) == ("fam", "anna", False)
    assert "5%" in sent.text
    assert (note.chat, note.mention) == ("fam", None) and "/start" in note.text
    assert h.store.get_state("unreachable", f"{P}:anna") is True
    dropped = [i for i in h.items() if i.state == "dropped"]
    assert [i.note for i in dropped] == ["target gone"]
    assert h.metrics.value("esimbot_alerts_dropped_total", platform=P, reason="target gone") == 1
    # later alerts go straight to the group: the blocked chat is not tried again
    await h.run(timedelta(days=2))
    assert [k for k in kinds(h) if k != "?"] == ["data", "depleted"] and kinds(h).count("?") == 1  # "?": the note
    assert [s.chat for s in h.platform.sent] == ["fam", "fam", "fam"]
    assert [a.chat for a in h.platform.attempts].count("dm-anna") == 1


async def test_owner_gone_with_target_both_does_not_repeat_it_in_the_group() -> None:
    h = make()
    await h.link("DEMO20", "mom", target="both")
    h.platform.fail_always["dm-anna"] = TargetGone("blocked")
    await h.run(timedelta(hours=12))
    assert sorted((s.chat, s.mention or "") for s in h.platform.sent) == [("fam", ""), ("fam", "anna")]  # the note, the alert
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
    assert h.metrics.value("esimbot_alerts_dropped_total", platform=P, reason="too many attempts") == 1
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
    assert h.metrics.value("esimbot_alerts_dropped_total", platform=P, reason="Undeliverable") == 1
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


async def test_an_alert_for_a_platform_not_running_waits_two_days_for_it_then_is_dropped() -> None:
    """Matrix's token was removed, say: its alerts cannot leave. They wait (a restart with the
    platform back sends them), but not forever: after UNSERVED_WAIT they are dropped as stale,
    counted, and the alerts of the platforms that run are never held up by them."""
    h = make()
    away = replace(_item("m", "!room:hs"), platform=PlatformName.MATRIX, household_id="matrix:!room:hs")
    await h.enqueue(away)
    await h.enqueue(_item("t", "fam"))
    await h.run(timedelta(days=2) - timedelta(minutes=1))
    assert [s.chat for s in h.platform.sent] == ["fam"]
    assert {i.id: i.state for i in h.items()}["item-m"] == "pending"
    await h.run(timedelta(minutes=2))
    [dropped] = [i for i in h.items() if i.id == "item-m"]
    assert (dropped.state, dropped.note) == ("dropped", "platform not running")
    assert h.outbox.backlog == 0
    assert h.metrics.value("esimbot_alerts_dropped_total", platform="matrix", reason="platform not running") == 1
    assert [s.chat for s in h.platform.sent] == ["fam"]
