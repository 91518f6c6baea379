"""Issue 26 on the console with the fake clock: the expiry ladder, repeat until Done, snooze
choices, keep-alive for a prepaid number and the note about someone without private reminders.

Each test is one real ``python -m bot console --jsonl`` process, its time moved by ``advance``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.conftest import DEMO, ConsoleProcess, fixed_part, replies

Factory = Callable[..., ConsoleProcess]
Out = list[dict[str, Any]]
START = "2026-01-01T08:00:00Z"  # 09:00 in Oslo
GROUP = {"chat": "g", "user": "u1", "group": True, "admin": True, "name": "Anna"}


def alerts(out: Out) -> Out:
    return [o for o in out if o.get("kind") == "alert"]


def heads(out: Out) -> list[str]:
    return [str(a["text"]).split("\n", 1)[0] for a in alerts(out)]


def snoozed_until(reply: str) -> str:
    found = re.search(r"until (\d+ \w+ \d{4}, \d\d:\d\d)", reply)
    assert found, reply
    return found.group(1)


def button(message: dict[str, Any], prefix: str) -> str:
    [command] = [c["command"] for c in message["choices"] if c["command"].startswith(prefix)]
    return str(command)


def test_a_ladder_of_four_points_sends_four_reminders(console_factory: Factory) -> None:
    c = console_factory(start=START)
    said = c.text("/remind expiry 36h, 1d, 12h og 6h")
    assert "36 hours, 1 day, 12 hours and 6 hours" in said, said
    c.say(f"/link {DEMO['DEMO38']} DEMO38 kid")  # expires 3 Jan, 09:00 Oslo
    got = [(half, h) for half in range(8) for h in heads(c.advance("PT12H"))]
    assert got == [
        (0, "⏰ kid expires in 2 days (3 Jan 2026, 09:00)."),  # 36 h before: 21:00, calendar days
        (1, "⏰ kid expires tomorrow (3 Jan 2026, 09:00)."),  # 1 day before
        (2, "⏰ kid expires tomorrow (3 Jan 2026, 09:00)."),  # 12 h before: 21:00
        (3, "⏰ kid expires today (3 Jan 2026, 09:00)."),  # 6 h before is 03:00, quiet: said at 08:00
        (3, "❌ kid expired on 3 Jan 2026."),
    ]
    c.close()


def test_on_the_day_and_after_expiry_each_come_once(console_factory: Factory) -> None:
    c = console_factory(start=START)
    c.say("/remind expiry 1d day after")
    c.say(f"/link {DEMO['DEMO38']} DEMO38 kid")  # expires 3 Jan 09:00 Oslo
    got = [(h, day) for day in range(5) for h in heads(c.advance("P1D"))]
    assert got == [
        ("⏰ kid expires tomorrow (3 Jan 2026, 09:00).", 0),
        ("⏰ kid expires today (3 Jan 2026, 09:00).", 1),  # the morning of the day: 08:00, end of quiet hours
        ("❌ kid expired on 3 Jan 2026.", 1),
        ("❌ kid expired on 3 Jan 2026.", 2),  # a day after, once
    ]
    c.close()


def test_repeat_until_done_stops_for_every_chat_on_one_press(console_factory: Factory) -> None:
    c = console_factory(start=START)
    c.say("/remind repeat 4h 3", **GROUP)
    c.say("/remind to both", **GROUP)
    c.say(f"/link {DEMO['DEMO20']} DEMO20 mom", **GROUP)  # "5 %" at 20:00 UTC, empty the next day at 16:00
    first = alerts(c.advance("PT12H30M"))
    assert sorted(a["chat"] for a in first) == ["g", "u1"]
    assert all(a["choices"][0]["label"] == fixed_part("button.done") for a in first)
    # 00:00 UTC is 01:00 in Oslo, quiet: the first repeat waits for 08:00 (07:00 UTC)
    assert alerts(c.advance("PT10H")) == []
    again = alerts(c.advance("PT1H"))
    assert sorted(a["chat"] for a in again) == ["g", "u1"]
    done = button(again[0], "/done")
    reply = c.text(done, chat="u1", user="u1")  # pressed in the private chat ...
    assert fixed_part("done.ok") in reply
    assert fixed_part("done.already") in c.text(done, **GROUP)
    assert alerts(c.advance("PT8H")) == []  # ... no repeat in the group either (11:00, 15:00 UTC)
    out = alerts(c.advance("PT2H"))  # empty at 16:00: a new alert, which repeats on its own
    assert [h.startswith("❌") for h in heads(out)] == [True, True]
    repeats = [len(alerts(c.advance("PT4H"))) for _ in range(6)]
    assert sum(repeats) == 3 * 2, repeats  # 3 repeats in 2 chats, then silence
    c.close()


def test_each_snooze_choice_ends_when_it_says(console_factory: Factory) -> None:
    c = console_factory(start=START)
    c.say("/remind data 7%, 6%, 5%, 4%, 3%")  # DEMO20 loses 1 % every 4 hours
    c.say("/remind quiet off")
    c.say(f"/link {DEMO['DEMO20']} DEMO20 mom")
    [alert, *_] = alerts(c.advance("PT6H"))
    [offer] = replies(c.say(button(alert, "/snooze")))
    assert [ch["label"] for ch in offer["choices"]] == [fixed_part(m) for m in ("snooze.hour", "snooze.morning", "snooze.days3")]
    hour, morning, days = (ch["command"] for ch in offer["choices"])
    until = snoozed_until(c.text(hour))  # 14:00 UTC + 1 hour, said in Oslo time
    assert until == "1 Jan 2026, 16:00"
    c.advance("PT59M")
    assert f"until {until}" in c.text("/remind")
    c.advance("PT2M")
    assert "until" not in c.text("/remind").split(fixed_part("remind.repeat_off"))[1]  # over when it said
    assert snoozed_until(c.text(morning)) == "2 Jan 2026, 08:00"  # the end of the quiet hours (none: 08:00)
    assert snoozed_until(c.text(days)) == "4 Jan 2026, 16:01"
    listed = c.text("/remind")
    assert "until 4 Jan 2026, 16:01" in listed, listed
    # the line runs out at 16:00 on 2 Jan, during the snooze: that comes anyway, once
    out = heads(c.advance("P1DT2H"))
    assert [h for h in out if h.startswith("❌")] == ["❌ mom has run out of data."]
    assert c.text("/snooze off") == fixed_part("snooze.ended")
    assert "until" not in c.text("/remind").split(fixed_part("remind.repeat_off"))[1]
    assert snoozed_until(c.text("/snooze mom 2d")) == "4 Jan 2026, 18:01"  # typed: both kinds of reminder
    c.close()


def test_a_prepaid_number_gets_keep_alive_reminders_and_a_use_rearms_them(console_factory: Factory) -> None:
    c = console_factory(start=START)
    c.say("/link manual telenor farmor 5 31/12/2026")
    said = c.text("/remind farmor keep 10d")
    assert "use it by 11 Jan 2026" in said, said
    got = [(day, h) for day in range(1, 11) for h in heads(c.advance("P1D"))]
    assert [d for d, _ in got] == [7, 9, 10], got  # 3 days and 1 day before, and on the day
    assert all(h.startswith("⏳ farmor") for _, h in got)
    assert fixed_part("used.saved").split("{")[0] in c.text("/used farmor today")
    assert heads(c.advance("P6D")) == []
    assert len(alerts(c.advance("P4D"))) == 3  # the new deadline's 3 days, 1 day and the day
    c.close()


def test_someone_without_a_private_chat_is_named_once_in_the_group(console_factory: Factory) -> None:
    c = console_factory(start=START)
    c.say(f"/link {DEMO['DEMO20']} DEMO20 mom", **GROUP)
    c.say("/remind to me", **GROUP)
    c.send({"unreachable": "u1"})
    out = alerts(c.advance("P2D"))  # "5 %", then empty: both in the group instead
    notes = [a for a in out if a["text"].startswith("ℹ️")]
    assert len(notes) == 1 and "Anna" in notes[0]["text"] and notes[0]["chat"] == "g"
    assert [a["mention"] for a in out if a not in notes] == ["u1", "u1"]
    assert "Anna" in c.text("/remind", **GROUP).split(fixed_part("remind.repeat_off"))[1]
    c.close()
