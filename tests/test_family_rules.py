"""The pure rules behind Snooze and cross-platform families: which topic a snooze covers,
when it ends, and who gets a copy of an alert in a family of several chats."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.audience import Audience, Recipient
from bot.records import AlertKind, Household, Line, ReminderSettings
from bot.reminders.timing import Topic
from bot.store.kept import snoozed_until

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
HOME = Household(id="telegram:-100", is_group=True, created_at=NOW, chats=("matrix:!room:hs", "matrix:@gran:hs"))
ROOM = Household(id="matrix:!room:hs", is_group=True, created_at=NOW, home=HOME.id)
GRAN = Household(id="matrix:@gran:hs", is_group=False, created_at=NOW, home=HOME.id)
LINE = Line(
    id="l1", household_id=HOME.id, label="mom", owner="telegram:7001", owner_name="Mei", provider="demo", ref="89", created_at=NOW
)


@pytest.mark.parametrize(
    ("kind", "topic"),
    [
        (AlertKind.DATA, "data"),
        (AlertKind.DATA_BYTES, "data"),
        (AlertKind.DEPLETED, "data"),
        (AlertKind.EXPIRY, "expiry"),
        (AlertKind.EXPIRED, "expiry"),
    ],
)
def test_a_snooze_covers_a_topic(kind: AlertKind, topic: str) -> None:
    assert Topic.of(kind) == topic and Topic.parse(topic) == topic


def test_a_snooze_ends_and_garbage_is_no_snooze() -> None:
    until = NOW + timedelta(days=1)
    assert snoozed_until(until.isoformat(), NOW) == until
    assert snoozed_until(until.isoformat(), until) is None  # over at the moment it ends
    for stored in (None, 3, "tomorrow", "2026-03-03T12:00:00"):  # the last has no time zone
        assert snoozed_until(stored, NOW) is None
    assert Topic.parse("sleep") is None


def test_one_copy_per_chat_the_owner_named_in_the_groups_of_her_platform() -> None:
    got = Audience.targets(LINE, HOME, chats=[HOME, ROOM, GRAN])
    assert got == [
        Recipient("telegram", "-100", None, "7001"),
        Recipient("matrix", "!room:hs", None, None),
        Recipient("matrix", "@gran:hs", None, None),
    ]


def test_to_the_owner_privately_on_her_own_platform() -> None:
    line = replace(LINE, reminders=ReminderSettings(target="both"))
    got = Audience.targets(line, HOME, chats=[HOME, ROOM])
    assert got[-1] == Recipient("telegram", "7001", "7001", None) and len(got) == 3
    only = replace(LINE, reminders=ReminderSettings(target="owner"))
    assert Audience.targets(only, HOME, chats=[HOME, ROOM]) == [Recipient("telegram", "7001", "7001", None)]
    blocked = Audience.targets(only, HOME, chats=[HOME, ROOM], owner_reachable=False)
    assert [r.chat for r in blocked] == ["-100", "!room:hs"], "a blocked owner: every chat instead"


def test_a_private_household_is_a_family_once_another_chat_joined() -> None:
    alone = Household(id="telegram:7001", is_group=False, created_at=NOW)
    assert not alone.family and Audience.targets(LINE, alone) == [Recipient("telegram", "7001", None, None)]
    joined = Household(id="telegram:7001", is_group=False, created_at=NOW, chats=("matrix:!room:hs",))
    assert joined.family
    got = Audience.targets(LINE, joined, chats=[joined, ROOM])
    assert got == [Recipient("telegram", "7001", None, None), Recipient("matrix", "!room:hs", None, None)]
