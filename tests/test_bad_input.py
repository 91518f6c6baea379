"""Bad input (issue 3, acceptance 4): each mistake gets its own clear, localized sentence,
never the unexpected-error apology, and the bot keeps going."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import DEMO, UNEXPECTED, Bot, ConsoleProcess, en_text, fixed_part, replies


def luhn_digit(body: str) -> str:
    """The check digit that makes ``body + digit`` pass Luhn (written independently of the bot)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these get doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def test_luhn_helper_agrees_with_the_demo_set() -> None:
    for iccid in DEMO.values():
        assert luhn_digit(iccid[:-1]) == iccid[-1]


NOT_89 = "8847000000000000" + "01"
NOT_89 += luhn_digit(NOT_89)
WRONG_LUHN = DEMO["DEMO12"][:-1] + str((int(DEMO["DEMO12"][-1]) + 1) % 10)
HUGE = "x" * 100_000

# (case, message, message id of the expected answer); each answered in a chat that has
# the line "dad" linked already (DEMO12), by a user with no failed attempts before.
CASES = [
    ("wrong Luhn digit", f"/link {WRONG_LUHN} DEMO12 kid", "iccid.bad_checksum"),
    ("wrong length", "/link 894700000000001 DEMO12 kid", "iccid.bad_length"),
    ("not 89", f"/link {NOT_89} DEMO12 kid", "iccid.bad_prefix"),
    ("letters in the ICCID", "/link 89470000abc00000012 DEMO12 kid", "iccid.not_digits"),
    ("wrong code", f"/link {DEMO['DEMO20']} DEMO99 kid", "link.wrong_code"),
    ("CJK code", f"/link {DEMO['DEMO20']} 激活码激活码激活 kid", "link.wrong_code"),
    ("emoji code", f"/link {DEMO['DEMO20']} 😀😀😀😀😀😀 kid", "link.wrong_code"),
    ("already linked here", f"/link {DEMO['DEMO12']} DEMO12 again", "link.already_here"),
    ("unknown ICCID", "/link 8947000000000000079 ABCDEF kid", "link.unknown_iccid"),
    ("unknown label", "/balance nobody", "error.unknown_label"),
    ("unknown language", "/lang klingon", "lang.unknown"),
    ("malformed threshold", "/remind data 120%", "remind.bad_percent"),
    ("malformed size", "/remind data lots", "size.invalid"),
    ("malformed lead time", "/remind expiry soon", "remind.bad_duration"),
    ("malformed quiet hours", "/remind quiet 25:00-08:00", "remind.bad_quiet"),
    ("unknown time zone", "/remind tz Mars/Olympus", "remind.bad_timezone"),
    ("bad cap", "/cap lots NOK", "cap.bad_amount"),
    ("unknown currency", "/cap 100 XYZ", "cap.bad_currency"),
    ("bad label", f"/link {DEMO['DEMO38']} DEMO38 {'x' * 30}", "label.invalid"),
    ("unknown operator", "/link manual nokia mom 10 2026-12-31", "link.unknown_operator"),
    ("bad date", "/link manual telenor mom 10 31.02.2026", "date.invalid"),
    ("unknown command", "/frobnicate", "error.unknown_command_none"),
    ("typo in a command", "/renw", "error.unknown_command"),
    ("unknown confirmation", "/confirm nosuchtoken", "confirm.unknown"),
    ("100 000 characters", HUGE, "error.too_long"),
    ("plain text", "what is my balance?", "error.not_a_command"),
    ("emoji", "😀📱🇳🇴", "error.not_a_command"),
    ("empty message", "", "error.empty"),
    ("control characters only", "\x00\x07\x1b\x7f\u200b", "error.empty"),
    ("unknown howto operator", "/howto nokia", "howto.unknown"),
    ("unknown help topic", "/help frobnicate", "error.unknown_command_none"),
    ("typo in a help topic", "/help remnd", "error.unknown_command"),
]
ISSUE_ITEMS = (
    "wrong Luhn digit",
    "wrong length",
    "not 89",
    "wrong code",
    "already linked here",
    "unknown label",
    "unknown language",
    "malformed threshold",
    "100 000 characters",
    "emoji",
    "empty message",
)


async def _household_with_dad(bot: Bot) -> None:
    assert "dad" in await bot.text(f"/link {DEMO['DEMO12']} DEMO12 dad", user="owner", chat="c1")


@pytest.mark.parametrize(("case", "text", "msgid"), CASES, ids=[c[0] for c in CASES])
async def test_each_mistake_gets_its_own_answer(bot: Bot, case: str, text: str, msgid: str) -> None:
    await _household_with_dad(bot)
    for lang in ("en", "nb", "zh"):
        answer = await bot.text(text, chat="c1", user=f"u-{lang}", lang=lang)
        assert fixed_part(msgid, lang) in answer, (case, lang, answer)
        assert UNEXPECTED not in answer and fixed_part("error.unexpected", lang) not in answer
        if lang != "en":
            assert fixed_part(msgid, "en") not in answer, f"{case}: English answer in {lang}"


def test_the_issues_cases_each_have_a_different_message() -> None:
    chosen = {c[0]: c[2] for c in CASES if c[0] in ISSUE_ITEMS}
    assert len(chosen) == len(ISSUE_ITEMS)
    separate = {k: v for k, v in chosen.items() if k not in ("emoji",)}  # emoji is not a command: same as text
    assert len(set(separate.values())) == len(separate), separate
    texts = {en_text(m) for m in separate.values()}
    assert len(texts) == len(separate)


async def test_already_linked_in_another_chat(bot: Bot) -> None:
    await _household_with_dad(bot)
    answer = await bot.text(f"/link {DEMO['DEMO12']} DEMO12 mine", chat="elsewhere", user="stranger")
    assert answer == en_text("link.already_elsewhere")


async def test_already_linked_elsewhere_is_not_told_without_the_code(bot: Bot) -> None:
    """Nobody may learn that an ICCID is in use somewhere without proving the code."""
    await _household_with_dad(bot)
    answer = await bot.text(f"/link {DEMO['DEMO12']} WRONG1 mine", chat="elsewhere", user="stranger")
    assert fixed_part("link.wrong_code") in answer
    assert en_text("link.already_elsewhere") not in answer


async def test_control_characters_inside_a_command_are_dropped(bot: Bot) -> None:
    answer = await bot.text("/lines\x00\x07\u200b")
    assert fixed_part("lines.none") in answer
    answer = await bot.text(f"/link {DEMO['DEMO12']}\x1b DEMO12\x00 dad\u202e")
    assert fixed_part("link.done") in answer and "dad" in answer


async def test_emoji_in_a_label_is_fine(bot: Bot) -> None:
    answer = await bot.text(f"/link {DEMO['DEMO12']} DEMO12 👵 phone")
    assert "👵 phone" in answer
    assert "👵 phone" in await bot.text("/lines")
    assert "👵 phone" in await bot.text("/balance 👵 phone")


@pytest.mark.parametrize(
    "iccid",
    [
        "８９４７０００００００００００００２０",
        "８９４７ ００００ ００００ ００００ ０２０",
        "8947-0000-0000-0000-020",
        "8947 0000 0000 0000 020",
        "8947\u30000000\u30000000\u30000000\u3000020",
        "8947–0000–0000–0000–020",
        "８９４７－００００－００００－００００－０２０",
        "8947.0000.0000.0000.020",
    ],
    ids=["fullwidth", "fullwidth spaced", "dashes", "spaces", "ideographic spaces", "en dashes", "fullwidth dashes", "dots"],
)
async def test_iccid_spellings_are_normalized(bot: Bot, iccid: str) -> None:
    answer = await bot.text(f"/link {iccid} DEMO20 mom")
    assert fixed_part("link.done") in answer and "mom" in answer, answer
    lines = await bot.text("/lines")
    assert "89…0020" in lines


async def test_fullwidth_command_and_code(bot: Bot) -> None:
    answer = await bot.text(f"／link {DEMO['DEMO20']} ｄｅｍｏ２０ mom")
    assert fixed_part("link.done") in answer, answer


async def test_last_six_characters_of_the_code_are_enough(bot: Bot) -> None:
    assert fixed_part("link.done") in await bot.text(f"/link {DEMO['DEMO20']} demo20 mom")
    assert fixed_part("link.wrong_code") in await bot.text(f"/link {DEMO['DEMO12']} EMO12 dad")  # 5 is too few


async def test_failed_link_attempts_are_limited_per_user(bot: Bot) -> None:
    too_many = fixed_part("link.too_many_attempts")
    for _ in range(5):
        answer = await bot.text(f"/link {DEMO['DEMO12']} WRONG{_}X", user="mallory", chat="m")
        assert fixed_part("link.wrong_code") in answer
        bot.advance(timedelta(minutes=1))
    # the sixth within the hour is refused, even with the right code
    assert too_many in await bot.text(f"/link {DEMO['DEMO12']} DEMO12", user="mallory", chat="m")
    assert too_many in await bot.text(f"/link {DEMO['DEMO20']} DEMO20", user="mallory", chat="m2")
    # somebody else is not affected
    assert fixed_part("link.done") in await bot.text(f"/link {DEMO['DEMO12']} DEMO12", user="alice", chat="a")
    # an hour after the first failure the window has room again
    bot.advance(timedelta(minutes=56))
    assert fixed_part("link.done") in await bot.text(f"/link {DEMO['DEMO20']} DEMO20", user="mallory", chat="m")


async def test_unknown_iccids_count_as_failures_too(bot: Bot) -> None:
    """Guessing ICCIDs (not only codes) is what the limit is for."""
    for n in range(5):
        body = f"89470000000000010{n}"
        await bot.text(f"/link {body}{luhn_digit(body)} ABCDEF", user="mallory")
    assert fixed_part("link.too_many_attempts") in await bot.text(f"/link {DEMO['DEMO12']} DEMO12", user="mallory")


async def test_a_confirmation_from_another_chat_does_nothing(bot: Bot) -> None:
    await bot.text(f"/link {DEMO['DEMO20']} DEMO20 mom", chat="home", user="u1")
    offer = (await bot.send("/renew mom", chat="home", user="u1"))[0]
    ask = (await bot.send(offer.choices[0].command, chat="home", user="u1"))[0]
    confirm = ask.choices[0].command
    assert await bot.text(confirm, chat="other", user="u1") == en_text("confirm.unknown")
    assert await bot.text(confirm, chat="other", user="u2") == en_text("confirm.unknown")
    assert "409 MB left of 5 GB" in await bot.text("/balance", chat="home", user="u1")


async def test_an_old_confirmation_expires(bot: Bot) -> None:
    await bot.text(f"/link {DEMO['DEMO20']} DEMO20 mom")
    offer = (await bot.send("/renew mom"))[0]
    ask = (await bot.send(offer.choices[0].command))[0]
    bot.advance(timedelta(hours=1))
    assert fixed_part("confirm.expired") in await bot.text(ask.choices[0].command)
    assert "MB left of 5 GB" in await bot.text("/balance")  # nothing was bought


def test_the_console_keeps_going_after_every_bad_input(console: ConsoleProcess) -> None:
    """The same list through the real process: every line answered, then still alive."""
    console.say(f"/link {DEMO['DEMO12']} DEMO12 dad", user="owner")
    for case, text, msgid in CASES:
        out = replies(console.say(text, user="tester", lang="en"))
        assert len(out) == 1, (case, out)
        assert fixed_part(msgid) in out[0]["text"], (case, out[0]["text"][:200])
    weird = ["\u0000" * 50, "\ud7ff" * 10, "/" * 5000, "/link " + "9" * 3000, "🇳🇴" * 20_000, "\n\n\n", "/ ", "!", "／"]
    for text in weird:
        out = replies(console.send_raw(json.dumps({"chat": "c1", "user": "tester", "text": text})))
        assert len(out) == 1, (text[:20], out)
        assert UNEXPECTED not in out[0]["text"]
    assert "dad" in console.text("/lines", user="owner")
    console.close()


# --- provider trouble: clear words, last known values, never a double charge -------------


async def test_provider_down_shows_the_last_known_value_with_its_age(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.errors import Unavailable

    await bot.text(f"/link {DEMO['DEMO12']} DEMO12 dad")
    bot.advance(timedelta(hours=2))

    async def down(iccid: str) -> None:
        raise Unavailable("demo", "HTTP 503")

    monkeypatch.setattr(bot.app.providers["demo"], "balance", down)
    text = await bot.text("/balance")
    assert "7.5 GB left of 10 GB" in text  # the value from the link, two hours ago
    assert "2 hours ago" in text and fixed_part("balance.stale") in text
    assert UNEXPECTED not in text


async def test_no_balance_yet_and_provider_down(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.errors import Unavailable

    demo = bot.app.providers["demo"]
    real = demo.balance
    calls = {"n": 0}

    async def flaky(iccid: str):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        raise Unavailable("demo", "down")

    monkeypatch.setattr(demo, "balance", flaky)
    linked = await bot.text(f"/link {DEMO['DEMO12']} DEMO12 dad")  # linking still works
    assert fixed_part("link.done") in linked
    text = await bot.text("/balance")
    assert fixed_part("balance.unavailable") in text and UNEXPECTED not in text
    monkeypatch.setattr(demo, "balance", real)
    assert "GB left of 10 GB" in await bot.text("/balance")


async def test_plan_gone_at_confirmation_charges_nothing(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.errors import PlanUnavailable

    await bot.text(f"/link {DEMO['DEMO20']} DEMO20 mom")
    offer = (await bot.send("/renew mom"))[0]
    confirm = (await bot.send(offer.choices[0].command))[0].choices[0].command

    async def gone(iccid: str, plan_id: str, *, client_ref: str) -> None:
        raise PlanUnavailable("demo", "sold out")

    monkeypatch.setattr(bot.app.providers["demo"], "topup", gone)
    assert fixed_part("provider.plan_unavailable") in await bot.text(confirm)
    assert fixed_part("confirm.already_done") in await bot.text(confirm)  # no second attempt
    orders = bot.store.orders("console:c1")
    assert [o.status for o in orders] == ["FAILED"]
    assert "left of 5 GB" in await bot.text("/balance")


async def test_ambiguous_failure_is_pending_and_never_ordered_twice(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.errors import OrderPending

    await bot.text(f"/link {DEMO['DEMO20']} DEMO20 mom")
    offer = (await bot.send("/renew mom"))[0]
    confirm = (await bot.send(offer.choices[0].command))[0].choices[0].command
    demo = bot.app.providers["demo"]
    real = demo.topup
    placed: list[str] = []

    async def lost_answer(iccid: str, plan_id: str, *, client_ref: str):  # type: ignore[no-untyped-def]
        placed.append(client_ref)
        await real(iccid, plan_id, client_ref=client_ref)  # the provider did it ...
        raise OrderPending("demo", "connection reset")  # ... but the answer was lost

    monkeypatch.setattr(demo, "topup", lost_answer)
    assert fixed_part("renew.pending") in await bot.text(confirm)
    # the same confirmation again reconciles instead of ordering again
    again = await bot.text(confirm)
    assert fixed_part("renew.done") in again and "1.4 GB left of 6 GB" in again
    assert fixed_part("confirm.already_done") in await bot.text(confirm)
    assert len(placed) == 1
    assert "1.4 GB left of 6 GB" in await bot.text("/balance")
