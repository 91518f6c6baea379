"""One household across chats (issue 17, item 3), on the console: invite codes are one-time,
expire in 15 minutes and are attempt-limited; a joined chat sees the family and gets its
alerts in its own language; rights stay with each chat's admins; leaving works.
(Telegram and Matrix together: tests/e2e/matrix/test_with_telegram.py.)"""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import DEMO, ConsoleProcess, fixed_part

ADMIN = {"chat": "fam", "user": "anna", "group": True, "admin": True, "name": "Anna", "lang": "en"}
GRANNY = {"chat": "granny", "user": "gran", "name": "Gran", "lang": "nb"}
CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{8})\b")


def invite(console: ConsoleProcess, who: dict[str, Any] = ADMIN) -> str:
    found = CODE.search(console.text("/family invite", **who))
    assert found is not None
    return found.group(1)


def test_join_see_get_alerts_in_own_language_and_leave(console: ConsoleProcess) -> None:
    console.say(f"/link {DEMO['DEMO20']} DEMO20 mom", **ADMIN)
    console.say(f"/link {DEMO['DEMO12']} DEMO12 mom", **GRANNY)  # her own line, with the same label
    code = invite(console)
    joined = console.text(f"/family join {code.lower()[:4]}-{code.lower()[4:]}", **GRANNY)  # as typed on a phone
    assert fixed_part("family.joined", "nb") in joined and "1" in joined, joined

    overview = console.text("/balance", **GRANNY)
    assert "mom (Anna)" in overview and "mom 2 (Gran)" in overview, "her line came along and was renamed, not lost"
    family = console.text("/family", **GRANNY)
    assert family.count("•") == 2 and fixed_part("family.here", "nb") in family

    out = console.advance("PT12H")  # the family's low-data alert: in both chats, each in its language
    by_chat = {o["chat"]: o for o in out if o.get("kind") == "alert"}
    assert set(by_chat) == {"fam", "granny"}, out
    assert "Snooze…" in [c["label"] for c in by_chat["fam"]["choices"]]
    assert "Slumre …" in [c["label"] for c in by_chat["granny"]["choices"]]
    assert by_chat["fam"]["mention"] == "anna" and by_chat["granny"]["mention"] is None  # named where she is
    assert fixed_part("family.leave_home") in console.text("/family leave", **ADMIN)

    refused = console.text("/cap 100 NOK", **GRANNY)  # a private chat that joined: a member, not an admin
    assert refused == console_text_nb_admin_only()
    left = console.text("/family leave", **GRANNY)
    assert left == fixed_part("family.left", "nb") or fixed_part("family.left", "nb") in left
    assert "mom" not in console.text("/balance", **GRANNY), "the family's lines stay with the family"
    assert fixed_part("family.not_joined") in console.text("/family leave", **ADMIN)


def console_text_nb_admin_only() -> str:
    return fixed_part("error.admin_only", "nb")


def test_codes_are_one_time_expire_and_are_attempt_limited(console: ConsoleProcess) -> None:
    console.say(f"/link {DEMO['DEMO20']} DEMO20 mom", **ADMIN)
    bad = fixed_part("family.bad_code")
    member = {**ADMIN, "user": "mo", "admin": False}
    assert fixed_part("error.admin_only") in console.text("/family invite", **member)

    code = invite(console)
    console.advance("PT16M")
    assert bad in console.text(f"/family join {code}", chat="late", user="l1", lang="en"), "15 minutes"

    code = invite(console)
    assert fixed_part("family.joined") in console.text(f"/family join {code}", chat="first", user="f1", lang="en")
    assert bad in console.text(f"/family join {code}", chat="second", user="s1", lang="en"), "usable once"

    code = invite(console)
    for _ in range(5):
        assert bad in console.text("/family join AAAAAAAA", chat="guess", user="g1", lang="en")
    limited = console.text(f"/family join {code}", chat="guess", user="g1", lang="en")
    assert bad not in limited and fixed_part("family.joined") not in limited, limited  # the right code waits too

    group = {"chat": "other", "user": "o1", "group": True, "admin": False, "lang": "en"}
    assert fixed_part("error.admin_only") in console.text(f"/family join {code}", **group)
    assert fixed_part("family.joined") in console.text(f"/family join {code}", **{**group, "admin": True})
    assert fixed_part("family.already") in console.text(f"/family join {invite(console)}", **{**group, "admin": True})
    assert fixed_part("family.same") in console.text(
        f"/family join {invite(console, {**ADMIN, 'chat': 'solo'})}", **{**ADMIN, "chat": "solo"}
    ), "a family's own code"


def test_a_chat_others_joined_cannot_join_elsewhere(console: ConsoleProcess) -> None:
    code = invite(console)
    console.say(f"/family join {code}", chat="kid", user="k1", lang="en")
    other = {"chat": "other-family", "user": "x", "group": True, "admin": True, "lang": "en"}
    elsewhere = invite(console, other)
    assert fixed_part("family.is_home") in console.text(f"/family join {elsewhere}", **ADMIN)
    assert fixed_part("family.already") in console.text(f"/family join {elsewhere}", chat="kid", user="k1", lang="en")
    joined = console.text(f"/family join {elsewhere}", chat="aunt", user="a1", lang="en")
    assert fixed_part("family.joined") in joined, "a refused join did not use the code up"
    assert console.text("/family nonsense", **ADMIN).startswith("/family")
