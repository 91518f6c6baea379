"""Random text to every command never reaches the unexpected-error apology.

The bot under test has lines of every kind (demo, depleted, unlimited, manual) in a private
chat and a family, so handlers run their interesting paths, not only their usage errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.messages import Reply
from handlers.registry import build_commands
from tests.conftest import DEMO, UNEXPECTED, Bot, en_text, make_bot

COMMANDS = sorted(build_commands())
APOLOGY = en_text("error.unexpected").split("{")[0]

TOKENS = [
    "all",
    "alle",
    "全部",
    "dad",
    "mom",
    "tel",
    "kid",
    "manual",
    "telenor",
    "talkmore",
    "nicemobil",
    "on",
    "off",
    "av",
    "data",
    "expiry",
    "quiet",
    "tz",
    "to",
    "me",
    "group",
    "both",
    "20%",
    "5%",
    "120%",
    "0%",
    "500MB",
    "2.5GB",
    "3",
    "3d",
    "12h",
    "1d12h",
    "22:00-08:00",
    "off",
    "Europe/Oslo",
    "Asia/Shanghai",
    "NOK",
    "EUR",
    "kr",
    "300",
    "0",
    "-5",
    "1e9",
    "NaN",
    "Infinity",
    "2026-12-31",
    "31.12.2026",
    "31.02",
    "29.02.2027",
    "provider=demo",
    "provider=nope",
    *DEMO.values(),
    *DEMO,
    "demo-1gb-7d",
    "demo-unl-7d",
    "zh",
    "nb",
    "en",
    "nb-NO",
    "zh-Hant",
    "８９４７",
    "－",
    "@",
    "/",
    "!",
    "%",
    "\u200b",
    "\x00",
    "😀",
    "ﷺ",
    "\u202e",
    " ",
    # the bot's own forms (issue 31): values with spaces and no-break spaces, 年月日, 天, kl.
    "2,5 GB",
    "20\u00a0%",
    "1\u00a0023 MB",
    "kl. 22.00–08.00",
    "3 天和1 天",
    "2026年12月31日",
    "31. des. 2026",
    "NOK 300.00",
    "300,00\u00a0kr",
    "¥10.00",
    "12t",
    "“dad”",
    "20 % og 5 %",
    "0,4 %",
    "60 dager",
]
word = st.one_of(
    st.sampled_from(TOKENS),
    st.text(min_size=1, max_size=12),
    st.text(alphabet="0123456789-. ８９", min_size=1, max_size=24),
    st.from_regex(r"\A[0-9]{1,4}([.,][0-9]{1,3})?(GB|MB|gb|%|d|h)?\Z"),
)
prefix = st.sampled_from(["/", "!", "／", "！", " /"])
command_text = st.builds(
    lambda p, name, at, args: f"{p}{name}{at} " + " ".join(args),
    prefix,
    st.one_of(st.sampled_from(COMMANDS), st.text(max_size=8)),
    st.sampled_from(["", "", "@EsimBot", "@other"]),
    st.lists(word, max_size=6),
)
sender = st.fixed_dictionaries(
    {
        "chat": st.sampled_from(["home", "fam"]),
        "user": st.sampled_from(["owner", "member", "admin"]),
        "lang": st.sampled_from([None, "en", "nb", "zh", "zh-TW", "xx"]),
    }
)

_loop = asyncio.new_event_loop()


def _run(coro):  # type: ignore[no-untyped-def]
    return _loop.run_until_complete(coro)


def _prepared() -> Bot:
    bot = make_bot()
    home = {"chat": "home", "user": "owner"}
    fam_admin = {"chat": "fam", "user": "admin", "group": True, "admin": True}
    fam_member = {"chat": "fam", "user": "member", "group": True, "admin": False}
    for text, who in [
        (f"/link {DEMO['DEMO12']} DEMO12 dad", home),
        (f"/link {DEMO['DEMO61']} DEMO61 kid", home),
        ("/link manual telenor tel 10 2026-03-01", home),
        (f"/link {DEMO['DEMO53']} DEMO53 mom", fam_admin),
        (f"/link {DEMO['DEMO46']} DEMO46 old", fam_member),
        (f"/link {DEMO['DEMO20']} DEMO20 mine", fam_member),
        ("/cap 300 NOK", fam_admin),
    ]:
        replies = _run(bot.send(text, **who))
        assert replies and all(APOLOGY not in r.text for r in replies), replies
    return bot


@pytest.fixture(scope="module")
def shared_bot() -> Iterator[Bot]:
    yield _prepared()


def _check(replies: list[Reply]) -> None:
    for reply in replies:
        assert isinstance(reply, Reply)
        assert reply.text.strip()
        assert APOLOGY not in reply.text and UNEXPECTED not in reply.text, reply.text
        for choice in reply.choices:
            assert choice.label and choice.command


def _send(bot: Bot, text: str, who: dict[str, object]) -> list[Reply]:
    group = who["chat"] == "fam"
    return _run(
        bot.send(
            text,
            chat=str(who["chat"]),
            user=str(who["user"]),
            lang=who["lang"],  # type: ignore[arg-type]
            group=group,
            admin=group and who["user"] == "admin",
        )
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=command_text, who=sender)
def test_random_arguments_to_every_command(shared_bot: Bot, text: str, who: dict[str, object]) -> None:
    replies = _send(shared_bot, text, who)
    _check(replies)
    # whatever a reply offers, pressing it must be safe too
    for reply in replies:
        for choice in reply.choices[:2]:
            _check(_send(shared_bot, choice.command, who))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300), who=sender)
def test_random_text(shared_bot: Bot, text: str, who: dict[str, object]) -> None:
    _check(_send(shared_bot, text, who))


@settings(max_examples=25, deadline=None)
@given(script=st.lists(st.tuples(command_text, sender, st.integers(0, 72 * 60)), min_size=1, max_size=8))
def test_random_conversations_over_time(script: list[tuple[str, dict[str, object], int]]) -> None:
    """Sequences on a fresh bot, with the clock moving between messages."""
    bot = _prepared()
    for text, who, minutes in script:
        bot.advance(timedelta(minutes=minutes))
        replies = _send(bot, text, who)
        _check(replies)
        for reply in replies:
            for choice in reply.choices[:1]:
                _check(_send(bot, choice.command, who))
