"""The console's JSON-lines protocol, exactly as design.md section 10 describes it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import DEMO, UNEXPECTED, ConsoleProcess, fixed_part, run_bot

REPLY_KEYS = {"chat", "text", "choices", "mention", "private", "kind"}


def assert_reply_shape(obj: dict[str, object]) -> None:
    assert set(obj) == REPLY_KEYS, obj
    assert isinstance(obj["chat"], str) and obj["chat"]
    assert isinstance(obj["text"], str) and obj["text"]
    assert isinstance(obj["choices"], list)
    for choice in obj["choices"]:
        assert isinstance(choice, dict) and set(choice) == {"label", "command"}, choice
        assert isinstance(choice["label"], str) and isinstance(choice["command"], str)
    assert obj["mention"] is None or isinstance(obj["mention"], str)
    assert isinstance(obj["private"], bool)
    assert obj["kind"] in ("reply", "alert")


def test_every_message_gets_replies_then_one_idle(console: ConsoleProcess) -> None:
    for text in ("/start", "/help", "/lines", "/balance", "hello", "/nosuchcommand"):
        out = console.say(text)  # send_raw fails if idle is missing, doubled or out of order
        assert len(out) >= 1, text
        for obj in out:
            assert_reply_shape(obj)
            assert obj["chat"] == "c1" and obj["kind"] == "reply" and obj["private"] is False
            assert obj["mention"] is None
            assert UNEXPECTED not in obj["text"]
    console.close()


def test_output_fields_and_choices_that_are_commands(console: ConsoleProcess) -> None:
    console.say(f"/link {DEMO['DEMO20']} DEMO20 mom", name="Li")
    out = console.say("/renew mom")
    assert len(out) == 1
    assert_reply_shape(out[0])
    choices = out[0]["choices"]
    assert len(choices) == 3
    assert all(c["command"].startswith("/buy ") for c in choices)
    # pressing a choice is exactly sending its command
    confirm = console.say(choices[0]["command"])
    assert_reply_shape(confirm[0])
    assert [c["command"].split()[0] for c in confirm[0]["choices"]] == ["/confirm", "/cancel"]
    console.close()


def test_each_chat_gets_its_own_replies(console: ConsoleProcess) -> None:
    a = console.say("/lines", chat="kitchen", user="u1")
    b = console.say("/lines", chat="garage", user="u2", group=True, admin=True)
    assert [o["chat"] for o in a] == ["kitchen"]
    assert [o["chat"] for o in b] == ["garage"]
    console.close()


MALFORMED = [
    "not json at all",
    '{"chat": "c1", "user": "u1", "text": ',  # truncated
    "[1, 2, 3]",
    '"just a string"',
    "42",
    "null",
    "",
    "   ",
    json.dumps({"user": "u1", "text": "/start"}),
    json.dumps({"chat": "c1", "text": "/start"}),
    json.dumps({"chat": "c1", "user": "u1"}),
    json.dumps({"chat": "", "user": "u1", "text": "/start"}),
    json.dumps({"chat": 5, "user": "u1", "text": "/start"}),
    json.dumps({"chat": "c1", "user": ["u1"], "text": "/start"}),
    json.dumps({"chat": "c1", "user": "u1", "text": 7}),
    json.dumps({"chat": "c1", "user": "u1", "text": None}),
    json.dumps({"chat": "c1", "user": "u1", "text": "/start", "group": "yes"}),
    json.dumps({"chat": "c1", "user": "u1", "text": "/start", "admin": 1}),
    json.dumps({"chat": "c1", "user": "u1", "text": "/start", "lang": 5}),
    json.dumps({"chat": "c1", "user": "u1", "text": "/start", "name": {"a": 1}}),
    json.dumps({"advance": 6}),
    json.dumps({"advance": "six hours"}),
    json.dumps({"advance": "PT"}),
    json.dumps({"advance": "P"}),
    json.dumps({"advance": "-PT6H"}),
    json.dumps({"advance": "PT0S"}),
    json.dumps({"advance": "P9999D"}),
    json.dumps({"advance": None}),
]


def test_malformed_lines_give_one_error_and_processing_continues(console: ConsoleProcess) -> None:
    for raw in MALFORMED:
        out = console.send_raw(raw)
        assert len(out) == 1, (raw, out)
        assert set(out[0]) == {"error"}, (raw, out)
        assert isinstance(out[0]["error"], str) and out[0]["error"], raw
        # and the next good line still works
    ok = console.say("/lines")
    assert len(ok) == 1 and "text" in ok[0]
    console.close()


def test_advance_moves_the_clock_and_answers_idle(console: ConsoleProcess) -> None:
    first = console.text(f"/link {DEMO['DEMO12']} DEMO12 dad", lang="en")
    assert "7.5 GB left of 10 GB" in first
    assert "in 20 days" in first
    assert console.advance("PT6H") == []  # no lines due: only the idle line
    assert console.advance("p1d") == []  # lower case is tolerated
    later = console.text("/balance dad", lang="en")
    # 30 hours at 300 MB/day = 375 MB used: 7680 - 375 = 7305 MB -> 7.1 GB (rounded down)
    assert "7.1 GB left of 10 GB" in later
    assert "Expires 21 Jan 2026 (in 19 days)" in later  # calendar days in Oslo: 2 Jan -> 21 Jan
    assert "2 Jan 2026, 15:00" in later  # as of 08:00Z + 30 h = 15:00 Oslo
    console.close()


def test_advance_accepts_compound_durations(console: ConsoleProcess) -> None:
    console.say(f"/link {DEMO['DEMO38']} DEMO38 kid", lang="en")
    alerts = console.advance("P1DT12H30M")  # passes the 24-hours-before-expiry reminder
    for obj in alerts:
        assert_reply_shape(obj)
        assert obj["kind"] == "alert" and obj["chat"] == "c1"
    assert any("kid" in obj["text"] for obj in alerts)
    text = console.text("/balance", lang="en")
    # day 2 (Jan 3, 08:00Z) is 11.5 hours away, on the next calendar day; 36.5 h used 456 MB of 2 GB
    assert "Expires 3 Jan 2026 (tomorrow)" in text
    assert "1.5 GB left of 3 GB" in text
    console.close()


def test_exit_zero_at_eof_without_trailing_output(console: ConsoleProcess) -> None:
    console.say("/start")
    console.close()
    assert "Traceback" not in console.stderr


def test_exit_zero_at_eof_right_away() -> None:
    result = run_bot(["console", "--jsonl", "--start", "2026-01-01T08:00:00Z"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_batch_input_in_order() -> None:
    """A whole script at once: outputs stay in input order, one idle per line."""
    lines = [
        {"chat": "c1", "user": "u1", "text": "/lang en"},
        {"chat": "c1", "user": "u1", "text": f"/link {DEMO['DEMO12']} DEMO12 a"},
        {"advance": "PT1H"},
        "garbage",
        {"chat": "c2", "user": "u2", "text": "/lines"},
    ]
    stdin = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
    result = run_bot(["console", "--jsonl", "--start", "2026-01-01T08:00:00Z"], stdin=stdin)
    assert result.returncode == 0, result.stderr
    objs = [json.loads(x) for x in result.stdout.splitlines()]
    assert sum(1 for o in objs if o == {"idle": True}) == len(lines)
    groups: list[list[dict[str, object]]] = [[]]
    for o in objs:
        if o == {"idle": True}:
            groups.append([])
        else:
            groups[-1].append(o)
    groups.pop()  # nothing after the last idle
    assert [len(g) for g in groups] == [1, 1, 0, 1, 1]
    assert groups[0][0]["chat"] == "c1" and "English" in str(groups[0][0]["text"])
    assert "a" in str(groups[1][0]["text"])
    assert set(groups[3][0]) == {"error"}
    assert groups[4][0]["chat"] == "c2" and fixed_part("lines.none").split("{")[0][:10] in str(groups[4][0]["text"])


def test_bad_start_is_refused() -> None:
    result = run_bot(["console", "--jsonl", "--start", "yesterday"])
    assert result.returncode == 2
    assert "--start" in result.stderr


def test_replies_are_plain_text_not_reprs(console: ConsoleProcess) -> None:
    for text in ("/start", "/help", "/lang", "/lines", "/cap", "/remind", "/howto", "/help link"):
        for obj in console.say(text, lang="en"):
            assert not re.search(r"Reply\(|Choice\(|\{[a-z_]+\}", obj["text"]), (text, obj["text"])
    console.close()


def test_interactive_console_for_a_person(tmp_path: Path) -> None:
    """``python -m bot console``: readable text, choices picked by their number, exit 0 at EOF."""
    stdin = f"/start\n/link {DEMO['DEMO20']} DEMO20 mom\n/renew\n2\n1\n/balance\n"
    result = run_bot(["console", "--db", str(tmp_path / "bot.json"), "--start", "2026-01-01T08:00:00Z"], stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert not out.lstrip().startswith("{")  # not JSON
    assert "[1] 1 GB · 7 days · NOK\xa049.00" in out and "[2] 5 GB · 30 days · NOK\xa0149.00" in out
    assert "[1] 💳 Pay NOK\xa0149.00" in out and "[2] Cancel" in out  # the paying choice first, marked
    assert fixed_part("renew.done") in out
    assert out.count("5.4 GB left of 10 GB") == 2  # after the top-up and in /balance
    assert UNEXPECTED not in out and "Traceback" not in result.stderr
