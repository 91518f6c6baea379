"""One-tap actions and Snooze on the console (issue 17, item 2; the choices: issue 26).

Buttons are commands, so every rule is tested by sending the command a button carries,
including a week after it was offered. Snooze is one more reminder rule: no alert for that
line and topic until the time passes, then one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import DEMO, ConsoleProcess, fixed_part, replies

SNOOZE = fixed_part("button.snooze")


def alerts(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in out if o.get("kind") == "alert"]


def commands(obj: dict[str, Any]) -> list[str]:
    return [c["command"] for c in obj["choices"]]


def hours_until_alert(console: ConsoleProcess, chat: str, limit: int = 48) -> tuple[int, dict[str, Any]]:
    for hour in range(1, limit + 1):
        found = [a for a in alerts(console.advance("PT1H")) if a["chat"] == chat]
        if found:
            assert len(found) == 1, found
            return hour, found[0]
    raise AssertionError(f"no alert in {chat} within {limit} hours")


def test_a_snooze_never_hides_that_the_line_ran_out(console_factory: Callable[..., ConsoleProcess], tmp_path: Path) -> None:
    snoozer, control = console_factory(tmp_path / "a.json"), console_factory(tmp_path / "b.json")
    firsts = []
    for console in (snoozer, control):  # the same line at the same pace, in two bots
        console.say(f"/link {DEMO['DEMO20']} DEMO20 mom", lang="en")
        [first] = alerts(console.advance("PT12H"))
        assert "mom" in first["text"]
        assert [c["label"] for c in first["choices"]] == [fixed_part("button.topup"), SNOOZE]
        firsts.append(first)
    renew, snooze = commands(firsts[0])
    assert renew == "/renew mom" and snooze.endswith(" data")
    [offer] = replies(snoozer.say(snooze))  # Snooze offers its choices (issue 26)
    said = snoozer.text(offer["choices"][2]["command"])  # 3 days
    assert fixed_part("snooze.done_data") in said, said

    waited, told = hours_until_alert(control, "c1")  # the line runs out: the control is told at once
    assert "mom" in told["text"] and waited < 24
    seen: list[tuple[int, dict[str, Any]]] = []
    for hour in range(1, 49):
        seen += [(hour, a) for a in alerts(snoozer.advance("PT1H"))]
    assert len(seen) == 1, seen  # the snoozer too, once, at the same hour: a snooze never hides it
    hour, late = seen[0]
    assert hour == waited, f"sent {hour} h after the snooze, the control at {waited} h"
    assert told["text"].split("\n")[0] == late["text"].split("\n")[0], "the newest news: the line ran out"


def test_a_snooze_button_for_a_gone_line_or_another_chat_is_refused(console: ConsoleProcess) -> None:
    console.say(f"/link {DEMO['DEMO20']} DEMO20 mom", chat="a", user="a", lang="en")
    [alert] = [a for a in alerts(console.advance("PT12H")) if a["chat"] == "a"]
    snooze = commands(alert)[1]
    gone = fixed_part("snooze.gone")
    assert console.text(snooze, chat="b", user="b", lang="en") == gone, "another chat's line"
    assert console.text("/snooze nosuch data", chat="a", user="a") == gone
    line_id = snooze.split()[1]
    assert console.text(f"/snooze {line_id} sleep", chat="a", user="a") == gone


def test_balance_buttons_follow_rights(console: ConsoleProcess) -> None:
    admin = {"chat": "fam", "user": "anna", "group": True, "admin": True, "lang": "en", "name": "Anna"}
    member = {"chat": "fam", "user": "mo", "group": True, "lang": "en", "name": "Mo"}
    console.say(f"/link {DEMO['DEMO12']} DEMO12 dad", **admin)
    console.say(f"/link {DEMO['DEMO20']} DEMO20 mom", **member)
    [own] = replies(console.say("/balance mom", **member))
    assert commands(own) == ["/renew mom", "/auto mom", "/usage mom", "/remind mom"]  # 8 % left: auto top-up offered
    [other] = replies(console.say("/balance dad", **member))
    assert commands(other) == ["/usage dad", "/remind dad"], "no Top up on someone else's line"
    [both] = replies(console.say("/balance", **member))
    assert commands(both) == ["/renew", "/usage", "/remind"], "several lines: the commands ask which"
    [admin_view] = replies(console.say("/balance dad", **admin))
    assert commands(admin_view)[0] == "/renew dad"


def test_a_top_up_button_pressed_a_week_later_asks_again_and_never_orders(console: ConsoleProcess) -> None:
    console.say(f"/link {DEMO['DEMO12']} DEMO12 dad", lang="en")
    console.say("/cap 1000 NOK")
    [balance] = replies(console.say("/balance"))
    [offer] = replies(console.say(commands(balance)[0]))  # Top up -> the plans
    [ask] = replies(console.say(commands(offer)[0]))  # a plan -> "confirm?"
    confirm = commands(ask)[0]
    console.advance("P7D")
    late = console.text(confirm)
    assert late.startswith(fixed_part("confirm.expired")), late
    spent = console.text("/cap").replace("\xa0", " ")
    assert "NOK 0.00" in spent and "NOK 1,000.00" in spent, spent  # nothing was bought
    [again] = replies(console.say(commands(balance)[0]))  # the old Top up button: the plans again, nothing bought
    assert commands(again)[0].startswith("/buy ")


def test_a_receipt_offers_the_balance(console: ConsoleProcess) -> None:
    console.say(f"/link {DEMO['DEMO12']} DEMO12 dad", lang="en")
    [offer] = replies(console.say("/renew dad"))
    [ask] = replies(console.say(commands(offer)[0]))
    [receipt] = replies(console.say(commands(ask)[0]))
    assert fixed_part("renew.done") in receipt["text"], receipt["text"]
    assert [(c["label"], c["command"]) for c in receipt["choices"]] == [
        (fixed_part("button.balance"), "/balance dad"),
        (fixed_part("button.auto_next"), "/auto dad"),  # issue 25: "Do this automatically next time?"
    ]


def test_the_chart_in_jsonl_is_a_png_file_beside_the_text(console: ConsoleProcess) -> None:
    console.say(f"/link {DEMO['DEMO12']} DEMO12 dad", lang="en")
    [early] = replies(console.say("/usage dad"))
    assert "image" not in early and fixed_part("usage.too_few") in early["text"]
    console.advance("P1D")
    [chart] = replies(console.say("/usage"))  # the only line: no need to name it
    image = Path(chart["image"])
    assert image.suffix == ".png" and image.read_bytes().startswith(b"\x89PNG")
    assert chart["text"].startswith("📈 dad")
    [again] = replies(console.say("/usage dad"))
    assert again["image"] == chart["image"], "the same samples: the same picture, one file"
    [unknown] = replies(console.say("/usage nosuch"))
    assert "image" not in unknown and "dad" in unknown["text"]
