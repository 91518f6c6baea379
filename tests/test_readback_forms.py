"""The plain forms people type (issue 31, item 2), through the real commands, and the error for a
value that still does not read: it quotes the whole argument and names the real problem, in
the reader's language. The bot's own forms round-trip in ``tests/test_readback.py``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot import readback, readback_time
from bot.app import LOCALES
from bot.i18n import SUPPORTED, Catalogs, Translator
from tests.conftest import Bot, ConsoleProcess

CATALOGS = Catalogs.load(LOCALES)
NBSP = "\u00a0"


async def _home(bot: Bot, lang: str) -> None:
    reply = await bot.text("/link manual telenor home 10 2026-12-31", lang=lang)
    assert "home" in reply, reply


GB, MB = 1024**3, 1024**2
DEC_31 = datetime(2026, 12, 31, 12, tzinfo=UTC)


def left(amount: int, total: int = 10 * GB) -> Callable[[Translator], str]:
    return lambda t: t("balance.data", left=t.data(amount), total=t.data(total))


def listed(*values: Callable[[Translator], str]) -> Callable[[Translator], str]:
    return lambda t: t.list([v(t) for v in values])


def pct(p: int) -> Callable[[Translator], str]:
    return lambda t: t.percent(p / 100)


def size(n: int) -> Callable[[Translator], str]:
    return lambda t: t.data(n)


def days(n: int) -> Callable[[Translator], str]:
    return lambda t: t.plural("plan.days", n)


def hours(n: int) -> Callable[[Translator], str]:
    return lambda t: t.plural("remind.hours", n)


def quiet(start: str, end: str) -> Callable[[Translator], str]:
    return lambda t: t("remind.quiet_range", start=t.clock(start), end=t.clock(end))


def money(amount: str, currency: str) -> Callable[[Translator], str]:
    return lambda t: t.money(Decimal(amount), currency)


def dec_31(t: Translator) -> str:
    return t.date(DEC_31)


TYPED: list[tuple[str, str, Callable[[Translator], str]]] = [  # (language, typed, what the reply then shows)
    ("nb", "/left home 2,5GB", left(int(2.5 * GB))),
    ("nb", "/left home 2,5 GB", left(int(2.5 * GB))),
    ("en", "/left home 2,5 GB", left(int(2.5 * GB))),
    ("en", "/left home 2.5 gb", left(int(2.5 * GB))),
    ("zh", "/left home ２．５ＧＢ", left(int(2.5 * GB))),
    ("nb", "/left home 1 023 MB", left(1023 * MB)),
    ("nb", "/left home 0 MB", left(0)),
    ("en", "/left home 20 %", left(2 * GB)),
    ("en", "/left “home” 3 GB", left(3 * GB)),
    ("nb", "/remind data 20 %", listed(pct(20))),
    ("nb", "/remind data 20 %, 5 %", listed(pct(20), pct(5))),
    ("nb", "/remind data 20%,5%", listed(pct(20), pct(5))),
    ("nb", "/remind data 20 % og 2,5 GB", listed(pct(20), size(int(2.5 * GB)))),
    ("zh", "/remind data 20％、5％", listed(pct(20), pct(5))),
    ("en", "/remind home data 500MB", listed(size(500 * MB))),
    ("nb", "/remind expiry 12t", listed(hours(12))),
    ("nb", "/remind expiry 3 d, 1 døgn", listed(days(3), days(1))),
    ("zh", "/remind expiry 3天", listed(days(3))),
    ("zh", "/remind expiry 3 天，12 小时", listed(days(3), hours(12))),
    ("en", "/remind expiry 1d12h", listed(hours(36))),
    ("en", "/remind expiry 2 days and 1 day", listed(days(2), days(1))),
    ("nb", "/remind quiet kl. 22.00 - 08.00", quiet("22:00", "08:00")),
    ("nb", "/remind quiet 22.00–08.00", quiet("22:00", "08:00")),
    ("en", "/remind quiet 22:00 to 07:30", quiet("22:00", "07:30")),
    ("zh", "/remind quiet 22:00至08:00", quiet("22:00", "08:00")),
    ("zh", "/remind quiet ２２：００－０８：００", quiet("22:00", "08:00")),
    ("en", "/remind tz asia/shanghai", lambda t: "Asia/Shanghai"),
    ("zh", "/link manual telenor 家里 10GB 2026年12月31日", dec_31),
    ("zh", "/link manual telenor 家里 10 ２０２６年１２月３１日", dec_31),
    ("zh", "/link manual telenor 家里 3 GB 12月31日", dec_31),
    ("nb", "/link manual telenor hjemme 2,5 GB 31. des. 2026", dec_31),
    ("nb", "/link manual telenor hjemme 2 5 GB 31. desember 2026", left(5 * GB, 5 * GB)),
    ("en", "/link manual telenor home 2 10 31 December 2026", dec_31),
    ("en", "/link manual telenor home 2 10 GB Dec 31, 2026", lambda t: t("line.title", label="home 2")),
    ("en", "/link manual telenor kid 1 500 MB 31.12.2026", left(500 * MB, 500 * MB)),
    ("nb", "/cap 300 kr", money("300", "NOK")),
    ("nb", "/cap kr 300,50", money("300.50", "NOK")),
    ("nb", "/cap 300kr", money("300", "NOK")),
    ("en", "/cap NOK 300", money("300", "NOK")),
    ("en", "/cap €50", money("50", "EUR")),
    ("zh", "/cap 300 挪威克朗", money("300", "NOK")),
    ("zh", "/cap ¥100", money("100", "CNY")),
]


@pytest.mark.parametrize(("lang", "text", "shown"), TYPED, ids=[f"{c[0]}:{c[1]}" for c in TYPED])
async def test_plain_typed_forms_are_understood(bot: Bot, lang: str, text: str, shown: Callable[[Translator], str]) -> None:
    await _home(bot, lang)
    reply = await bot.text(text, lang=lang)
    want = shown(CATALOGS.translator(lang))
    assert re.search(rf"(?<![\d.,]){re.escape(want)}(?![\d%])", reply), (want, reply)


WRONG = [  # (what is typed, the message, its values): the value quoted whole, the real problem named
    ("/left home 2,5 TB", "size.invalid", {"value": "2,5 TB"}),
    ("/left home 120 %", "left.bad_percent", {"value": "120 %"}),
    ("/left home 99999999 GB", "size.too_big", {"value": "99999999 GB"}),
    ("/remind data 20 %, 5 TB", "size.invalid", {"value": "5 TB"}),
    ("/remind data 0,4 %", "remind.bad_percent", {"value": "0,4 %"}),
    ("/remind data 100 %", "remind.bad_percent", {"value": "100 %"}),
    ("/remind data 0 MB", "size.zero", {"value": "0 MB"}),
    ("/remind expiry 3 weeks", "remind.bad_duration", {"value": "3 weeks"}),
    ("/remind expiry 61 dager", "remind.duration_range", {"value": "61 dager"}),
    ("/remind quiet kl. 22.00–25.00", "remind.bad_quiet", {"value": "kl. 22.00–25.00"}),
    ("/remind quiet 22:00 - 22:00", "remind.quiet_same", {"value": "22:00 - 22:00"}),
    ("/remind tz Europe / Oslo", "remind.bad_timezone", {"value": "Europe / Oslo"}),
    ("/link manual telenor hytta 10 GB 31. feb. 2026", "date.invalid", {"value": "31. feb. 2026"}),
    ("/link manual telenor hytta 10 GB 31 Foo 2026", "date.invalid", {"value": "31 Foo 2026"}),
    ("/link manual telenor hytta 10 TB 31.12.2026", "size.invalid", {"value": "10 TB"}),
    ("/link manual telenor hytta 10 2031-01-01", "date.out_of_range", {"value": "2031-01-01"}),
    ("/link manual telenor 10 GB 31.12.2026", "link.manual_usage", {}),
    ("/cap lots of money", "cap.bad_amount", {"value": "lots of money"}),
    ("/cap 300 kroner", "cap.bad_currency", {"currency": "kroner"}),
    ("/tick 3 weeks", "tick.bad_duration", {"value": "3 weeks"}),
]


@pytest.mark.parametrize("lang", SUPPORTED)
@pytest.mark.parametrize(("text", "msgid", "values"), WRONG, ids=[c[0] for c in WRONG])
async def test_a_wrong_value_is_quoted_whole(bot: Bot, lang: str, text: str, msgid: str, values: dict[str, str]) -> None:
    from bot.platforms.console import tick_command

    bot.app.router.commands["tick"] = tick_command(bot.app.jobs, bot.clock)
    await _home(bot, lang)
    t = CATALOGS.translator(lang)
    reply = await bot.text(text, lang=lang)
    params = {"max": t.number(1_000_000)} if msgid == "cap.out_of_range" else {}
    assert reply == t(msgid, prefix="/", **values, **params), reply


@pytest.mark.parametrize("lang", SUPPORTED)
async def test_an_unknown_line_before_a_value_is_named_without_the_value(bot: Bot, lang: str) -> None:
    await _home(bot, lang)
    t = CATALOGS.translator(lang)
    for text in ("/left hom 2,5 GB", "/left hom 20 %", "/left hom 1 023 MB"):
        assert await bot.text(text, lang=lang) == t("error.unknown_label", label="hom", labels=t.list(["home"]))


# --- the readers themselves --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "want"),
    [
        ("2,5", "nb", "2.5"),
        ("2.5", "nb", "2.5"),
        ("2,5", "en", "2.5"),
        ("1,023", "en", "1023"),
        ("1,023", "nb", "1.023"),
        (f"1{NBSP}234{NBSP}567,89", "nb", "1234567.89"),
        ("1 234,5", "nb", "1234.5"),
        ("１，５", "zh", "1.5"),
        (",5", "nb", "0.5"),
    ],
)
def test_numbers_in_either_decimal_mark(text: str, lang: str, want: str) -> None:
    assert readback.number(text, lang) == Decimal(want)


@pytest.mark.parametrize("text", ["", "1e3", "-1", "1,2,3.4.5", "NaN", "∞", "1 2"])
def test_numbers_that_do_not_read(text: str) -> None:
    with pytest.raises(ValueError):
        readback.number(text, "en")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("20 %, 5 %", ["20 %", "5 %"]),
        ("20 % og 5 %", ["20 %", "5 %"]),
        ("3 天和1 天", ["3 天", "1 天"]),
        ("3d,1d", ["3d", "1d"]),
        ("2,5 GB, 500 MB", ["2,5 GB", "500 MB"]),
        ("3 days and 1 day", ["3 days", "1 day"]),
        ("20%、5%", ["20%", "5%"]),
        ("20％，5％", ["20％", "5％"]),
        ("2,5 GB eller 1 GB", ["2,5 GB", "1 GB"]),
    ],
)
def test_lists_split_as_babel_joins_them(text: str, want: list[str]) -> None:
    assert readback.items(text) == want


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("3d", 3 * 1440),
        ("3 days", 3 * 1440),
        ("3 dager", 3 * 1440),
        ("3 døgn", 3 * 1440),
        ("3天", 3 * 1440),
        ("12h", 720),
        ("12t", 720),
        ("12 timer", 720),
        ("12 小时", 720),
        ("12 hours", 720),
        ("1d12h", 2160),
        ("1天12小时", 2160),
        ("90 min", 90),
        ("90 分钟", 90),
        ("1 time", 60),
        ("１ｄ", 1440),
    ],
)
def test_durations_in_every_language(text: str, minutes: int) -> None:
    assert readback_time.duration(text).total_seconds() == minutes * 60


@pytest.mark.parametrize(
    ("typed", "code"), [("Norsk bokmål", "nb"), ("中文", "zh"), ("english", "en"), ("(中文)", "zh"), ("nb (Norsk bokmål)", "nb")]
)
async def test_a_language_by_the_name_the_bot_lists(bot: Bot, typed: str, code: str) -> None:
    t = CATALOGS.translator(code)
    assert await bot.text(f"/lang {typed}") == t("lang.set", language=t("lang.name_" + code))


async def test_a_name_that_ends_in_a_number_and_an_amount(bot: Bot) -> None:
    await bot.text("/link manual telenor kid 10 2026-12-31")
    await bot.text("/link manual telenor kid 2 10 2026-12-31")
    assert "2 GB left of 10 GB" in await bot.text("/left kid 2 GB")  # "kid", 2 GB
    assert "📶 kid 2 ·" in await bot.text("/left kid 2 3 GB")
    assert await bot.text("/left 2,5 GB") == CATALOGS.translator("en")("left.usage", prefix="/")


@pytest.mark.parametrize(
    ("text", "msgid"),
    [
        ("/remind expiry 99999999999999999999d", "remind.duration_range"),
        ("/left home 99999999999999999999 GB", "size.too_big"),
        ("/link manual telenor hytta 10 99999-01-01", "date.invalid"),
        ("/cap 99999999999999999999 NOK", "cap.out_of_range"),
    ],
)
async def test_huge_numbers_are_out_of_range_not_a_crash(bot: Bot, text: str, msgid: str) -> None:
    await _home(bot, "en")
    assert (await bot.text(text)).startswith(CATALOGS.translator("en")(msgid, value="\0", max="", prefix="/").split("\0")[0])


def test_the_console_process_reads_what_it_printed(console: ConsoleProcess) -> None:
    """The real ``python -m bot console --jsonl``: a Norwegian and a Chinese reader copy back
    the bot's own "2,5 GB", "20 %" (no-break space), "kl. 22.00–08.00", "3 天" and 年月日."""
    nb, zh = {"chat": "nb", "user": "kari", "lang": "nb"}, {"chat": "zh", "user": "fang", "lang": "zh"}
    assert "31. des. 2026" in console.text("/link manual telenor hjemme 10 GB 31. des. 2026", **nb)
    t_nb, t_zh = CATALOGS.translator("nb"), CATALOGS.translator("zh")
    assert left(int(2.5 * GB))(t_nb) in console.text("/left hjemme 2,5 GB", **nb)
    said = console.text(f"/remind data 20{NBSP}% og 5{NBSP}%", **nb)
    assert f"20{NBSP}% og 5{NBSP}%" in said, said
    assert quiet("22:00", "08:00")(t_nb) in console.text("/remind quiet kl. 22.00–08.00", **nb)
    assert "2026年12月31日" in console.text("/link manual telenor 家里 10 GB 2026年12月31日", **zh)
    assert t_zh.plural("plan.days", 3) in console.text("/remind expiry 3天", **zh)
    assert "2026年" in console.text("/tick 3 天", **zh)
    console.close()


@pytest.mark.parametrize(
    ("text", "args"),
    [
        (f"/remind data 20{NBSP}%, 5 %", ("data", f"20{NBSP}%,", "5", "%")),  # the bot's own "20 %" stays one word
        (f"/left home 1{NBSP}023 MB", ("home", f"1{NBSP}023", "MB")),
        (f"/balance{NBSP}mom", ("mom",)),  # a keyboard's no-break space, not after a digit: a space
        (f"/family join{NBSP}K7PQ2XWM", ("join", "K7PQ2XWM")),
        (f"/cap NOK{NBSP}300.00", ("NOK", "300.00")),
    ],
)
def test_no_break_spaces_after_a_digit_keep_a_value_together(text: str, args: tuple[str, ...]) -> None:
    from bot.messages import parse_command

    assert parse_command(text) == (text[1:].split()[0].split(NBSP)[0], args)


async def test_an_iccid_and_code_joined_by_a_no_break_space(bot: Bot) -> None:
    assert "dad" in await bot.text(f"/link 8947000000000000012{NBSP}DEMO12 dad")
