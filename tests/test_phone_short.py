"""Short on a phone (issue 31, item 4): a typo gets the closest command, /start fits one
screen, /balance with more than 3 lines is an overview with the details a tap away, and the
long /howto texts are short steps. Through the real router, in all three languages."""

from __future__ import annotations

import pytest

from bot.i18n import SUPPORTED
from tests.conftest import DEMO, Bot, ConsoleProcess, fixed_part

SCREEN_LINES = 18  # what a phone shows of a chat message without scrolling, line breaks included
LABELS = {
    "en": ("mum", "dad", "kid", "gran", "home"),
    "nb": ("mamma", "pappa", "barn", "bestemor", "hjemme"),
    "zh": ("妈妈", "爸爸", "孩子", "奶奶", "家里"),
}
SIMS = ("DEMO12", "DEMO20", "DEMO38", "DEMO53", "DEMO61")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("/renw", "/renew"),
        ("/balanse", "/balance"),
        ("/remnd", "/remind"),
        ("/lnik", "/link"),
        ("/hepl", "/help"),
        ("/famliy", "/family"),
    ],
)
@pytest.mark.parametrize("lang", SUPPORTED)
async def test_a_typo_suggests_the_closest_command(bot: Bot, lang: str, typed: str, meant: str) -> None:
    answer = await bot.text(typed, lang=lang)
    assert typed in answer and meant in answer, answer
    assert fixed_part("error.unknown_command", lang) in answer
    assert "/tick" not in answer and answer.count("/") == 2, "one suggestion, never the list of all commands"


@pytest.mark.parametrize("lang", SUPPORTED)
async def test_nothing_close_points_to_help_and_help_does_the_same(bot: Bot, lang: str) -> None:
    answer = await bot.text("/frobnicate", lang=lang)
    assert answer.count("/") == 2 and "/help" in answer and fixed_part("error.unknown_command_none", lang) in answer
    assert "/renew" in await bot.text("/help renw", lang=lang)


@pytest.mark.parametrize("name", ["Anna", ""])
@pytest.mark.parametrize("lang", SUPPORTED)
async def test_start_fits_one_phone_screen(bot: Bot, lang: str, name: str) -> None:
    text = await bot.text("/start", lang=lang, name=name)
    assert len(text.split("\n")) <= SCREEN_LINES, text
    assert "/balance" in text and "/help" in text and f"/link {DEMO['DEMO12']} DEMO12" in text
    assert "你好，你好" not in text and "Hi there there" not in text  # review Z1
    full = await bot.text("/help", lang=lang)
    assert "/cap" in full and "/cap" not in text, "/start shows the everyday commands, /help all of them"


async def _five_lines(bot: Bot, lang: str) -> tuple[str, ...]:
    labels = LABELS[lang]
    for label, sim in zip(labels, SIMS, strict=True):
        await bot.text(f"/link {DEMO[sim]} {sim} {label}", lang=lang)
    return labels


@pytest.mark.parametrize("lang", SUPPORTED)
async def test_balance_of_many_lines_is_an_overview_with_details_a_tap_away(bot: Bot, lang: str) -> None:
    labels = await _five_lines(bot, lang)
    [reply] = await bot.send("/balance", lang=lang)
    rows = [r for r in reply.text.split("\n") if r.startswith("• ")]
    assert len(rows) == len(labels) and len(reply.text.split("\n")) <= len(labels) + 2, reply.text
    assert all(any(r.startswith(f"• {label} · ") for r in rows) for label in labels), rows
    assert [c.label for c in reply.choices] == sorted(labels, key=lambda x: [r.split(" · ")[0] for r in rows].index(f"• {x}")), (
        "a button per line, in the order shown"
    )
    detail = await bot.text(reply.choices[0].command, lang=lang)
    assert fixed_part("balance.status", lang) in detail and len(detail.split("\n")) > 3
    full = await bot.text("/balance all", lang=lang)
    assert full.count(fixed_part("balance.status", lang)) == len(labels), "/balance all: every line in full"


async def test_the_overview_says_data_left_and_days_left(bot: Bot) -> None:
    await _five_lines(bot, "en")
    text = await bot.text("/balance", lang="en")
    assert "• mum · 7.5 GB · expires in 20 days" in text
    assert "• gran · Unlimited · expires in 5 days" in text
    assert "• dad · 409 MB · expires in 12 days" in text


async def test_three_lines_or_fewer_are_shown_in_full(bot: Bot) -> None:
    for label, sim in zip(LABELS["en"][:3], SIMS[:3], strict=True):
        await bot.text(f"/link {DEMO[sim]} {sim} {label}")
    assert (await bot.text("/balance")).count(fixed_part("balance.status")) == 3


@pytest.mark.parametrize("operator", ["telenor", "talkmore", "nicemobil", "chilimobil", "telia"])
@pytest.mark.parametrize("lang", SUPPORTED)
async def test_howto_is_short_steps(bot: Bot, lang: str, operator: str) -> None:
    text = await bot.text(f"/howto {operator}", lang=lang)
    steps = text.split("\n")[1:]
    assert len(steps) >= 2 and all(s.startswith("• ") for s in steps), text
    assert all(len(s) <= (90 if lang == "zh" else 170) for s in steps), [s for s in steps if len(s) > 170]


def test_an_alert_for_a_line_tracked_by_hand_points_to_its_operator(console: ConsoleProcess) -> None:
    """Review S8: the alert says /howto telenor like the balance card, under a labelled button."""
    console.say("/link manual telenor home 10 03.01.2026", lang="en")  # START is 1 Jan, 09:00 in Oslo
    came = [o for o in console.advance("P2D") if o.get("kind") == "alert"]
    assert came, "the expiry reminder"
    first = came[0]
    assert "/howto telenor" in first["text"], first["text"]
    assert first["choices"][0] == {"label": fixed_part("button.howto"), "command": "/howto telenor"}
