"""The reminder pipeline: news that flows backwards (chats moved or left, users gone, lines
removed, quiet hours changed), ``bot/reminders/events.py``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from providers.base import GB, MB
from tests.jobs_harness import (
    P,
    kinds,
    make,
    scripted_balance,
)


async def test_chat_moved_event_moves_the_household_and_its_pending_alerts() -> None:
    h = make(start=datetime(2026, 1, 9, 20, 0, tzinfo=UTC))
    iccid = "3" * 19
    h.scripted.script[iccid] = lambda now: scripted_balance(
        iccid, now, 3 * GB if now < datetime(2026, 1, 9, 23, tzinfo=UTC) else 100 * MB, expires=datetime(2026, 1, 19, tzinfo=UTC)
    )
    await h.link("", "mom", provider="scripted", iccid=iccid)
    await h.run_to(datetime(2026, 1, 10, 2, 0, tzinfo=UTC))
    assert h.outbox.backlog == 1  # waiting for the morning
    await h.events.chat_moved(P, "fam", "fam-super")
    assert h.store.household(f"{P}:fam-super") is not None and h.store.household(f"{P}:fam") is None
    line = h.store.line("line-mom")
    assert line is not None and line.household_id == f"{P}:fam-super"
    await h.run_to(datetime(2026, 1, 10, 7, 5, tzinfo=UTC))
    assert [(s.chat, s.mention) for s in h.platform.sent] == [("fam-super", "anna")]


async def test_turning_quiet_hours_off_releases_the_alerts_waiting_for_the_morning() -> None:
    h = make(start=datetime(2026, 1, 9, 14, 0, tzinfo=UTC))  # 15:00 in Oslo
    h.household("fam")  # quiet 22:00-08:00
    await h.link("DEMO20", "mom")  # "5 %" falls due about midnight
    await h.run(timedelta(hours=12))
    assert h.platform.sent == [] and h.outbox.backlog == 1  # waiting for 08:00
    async with h.store.store.transaction() as tx:  # what /remind quiet off does
        household = replace(h.household("fam"), quiet_start=None, quiet_end=None)
        await tx.save_household(household)
        await h.watcher.household_changed(tx, household)
    await h.run(timedelta(seconds=1))
    assert kinds(h) == ["data"] and h.outbox.backlog == 0


async def test_line_removed_drops_pending_alerts() -> None:
    h = make(start=datetime(2026, 1, 9, 14, 0, tzinfo=UTC))  # 15:00 Oslo: "5 %" comes at 23:11, in quiet hours
    await h.link("DEMO20", "mom")
    await h.run_to(datetime(2026, 1, 10, 2, 0, tzinfo=UTC))
    assert h.outbox.backlog == 1
    line = h.lines["mom"]
    h.store.delete_line(line.id)
    async with h.store.store.transaction() as tx:
        await h.watcher.line_removed(tx, line)
    assert h.outbox.backlog == 0
    assert "line-mom" not in h.store.schedule()
    await h.run(timedelta(days=3))
    assert h.platform.sent == []


async def test_line_removed_marks_the_item_dropped_while_the_line_is_kept() -> None:
    h = make(start=datetime(2026, 1, 9, 14, 0, tzinfo=UTC))
    await h.link("DEMO20", "mom")
    await h.run_to(datetime(2026, 1, 10, 2, 0, tzinfo=UTC))
    async with h.store.store.transaction() as tx:
        await h.watcher.line_removed(tx, h.lines["mom"])
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
    # the family also hears, once, why anna's reminders come to the group (issue 26)
    assert sorted((s.chat, s.mention or "") for s in h.platform.attempts) == [("fam", ""), ("fam", "anna")]


async def test_a_family_follows_a_chat_that_moved() -> None:
    h = make()
    h.household("fam", chats=(f"{P}:kids",))
    h.household("kids", home=f"{P}:fam")
    await h.events.chat_moved(P, "kids", "kids-super")  # a joined group became a supergroup
    assert h.household("fam").chats == (f"{P}:kids-super",)
    assert h.household("kids-super").home == f"{P}:fam"
    await h.events.chat_moved(P, "fam", "fam-super")  # and so did the home
    assert h.household("kids-super").home == f"{P}:fam-super"
    assert h.household("fam-super").chats == (f"{P}:kids-super",)


async def test_a_family_whose_first_group_removed_the_bot_still_hears_in_its_other_chats() -> None:
    h = make(start=datetime(2026, 1, 9, 8, 0, tzinfo=UTC))
    await h.link("DEMO20", "mom")  # in "fam"
    h.household("fam", chats=(f"{P}:kids",))
    h.household("kids", home=f"{P}:fam")
    await h.events.chat_left(P, "fam")
    await h.run(timedelta(hours=12))  # "5 %" falls due in the afternoon
    assert [(s.chat, s.mention) for s in h.platform.sent] == [("kids", "anna")]
