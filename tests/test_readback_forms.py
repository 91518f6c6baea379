"""The plain forms people type (issue 31, item 2), through the real commands, and the error for a
value that still does not read: it quotes the whole argument and names the real problem, in
the reader's language. The bot's own forms round-trip in ``tests/test_readback.py``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot import readback, readback_time
from bot.app import LOCALES
from bot.i18n import SUPPORTED, Catalogs
from tests.conftest import Bot

CATALOGS = Catalogs.load(LOCALES)
NBSP = "\u00a0"


async def _home(bot: Bot, lang: str) -> None:
    reply = await bot.text("/link manual telenor home 10 2026-12-31", lang=lang)
    assert "home" in reply, reply


TYPED = [  # (language, what is typed, what the reply then shows)
    ("nb", "/left home 2,5GB", "2,5 GB igjen av 10 GB"),
    ("nb", "/left home 2,5 GB", "2,5 GB igjen av 10 GB"),
    ("en", "/left home 2,5 GB", "2.5 GB left of 10 GB"),
    ("en", "/left home 2.5 gb", "2.5 GB left of 10 GB"),
    ("zh", "/left home ２．５ＧＢ", "剩余流量 2.5 GB（共 10 GB）"),
    ("nb", "/left home 1 023 MB", f"1{NBSP}023 MB igjen"),
    ("nb", "/left home 0 MB", "0 MB igjen av 10 GB"),
    ("en", "/left home 20 %", "2 GB left of 10 GB"),
    ("en", "/left “home” 3 GB", "3 GB left of 10 GB"),
    ("nb", "/remind data 20 %", f"Data igjen: 20{NBSP}%"),
    ("nb", "/remind data 20 %, 5 %", f"Data igjen: 20{NBSP}% og 5{NBSP}%"),
    ("nb", "/remind data 20%,5%", f"Data igjen: 20{NBSP}% og 5{NBSP}%"),
    ("nb", "/remind data 20 % og 2,5 GB", f"Data igjen: 20{NBSP}% og 2,5 GB"),
    ("zh", "/remind data 20％、5％", "20%和5%"),
    ("en", "/remind home data 500MB", "Data left: 500 MB"),
    ("nb", "/remind expiry 12t", "Før utløp: 12 timer"),
    ("nb", "/remind expiry 3 d, 1 døgn", "Før utløp: 3 dager og 1 dag"),
    ("zh", "/remind expiry 3天", "3 天"),
    ("zh", "/remind expiry 3 天，12 小时", "3 天和12 小时"),
    ("en", "/remind expiry 1d12h", "Before expiry: 36 hours"),
    ("en", "/remind expiry 2 days and 1 day", "Before expiry: 2 days and 1 day"),
    ("nb", "/remind quiet kl. 22.00 - 08.00", "kl. 22.00–08.00"),
    ("nb", "/remind quiet 22.00–08.00", "kl. 22.00–08.00"),
    ("en", "/remind quiet 22:00 to 07:30", "Quiet hours: 22:00–07:30"),
    ("zh", "/remind quiet 22:00至08:00", "22:00–08:00"),
    ("zh", "/remind quiet ２２：００－０８：００", "22:00–08:00"),
    ("en", "/remind tz asia/shanghai", "Time zone: Asia/Shanghai"),
    ("zh", "/link manual telenor 家里 10GB 2026年12月31日", "2026年12月31日到期"),
    ("zh", "/link manual telenor 家里 10 ２０２６年１２月３１日", "2026年12月31日到期"),
    ("zh", "/link manual telenor 家里 3 GB 12月31日", "2026年12月31日到期"),
    ("nb", "/link manual telenor hjemme 2,5 GB 31. des. 2026", "Utløper 31. des. 2026"),
    ("nb", "/link manual telenor hjemme 2 5 GB 31. desember 2026", "5 GB igjen av 5 GB"),
    ("en", "/link manual telenor home 2 10 31 December 2026", "Expires 31 Dec 2026"),
    ("en", "/link manual telenor home 2 10 GB Dec 31, 2026", "📶 home 2 ·"),
    ("en", "/link manual telenor kid 1 500 MB 31.12.2026", "500 MB left of 500 MB"),
    ("nb", "/cap 300 kr", f"300,00{NBSP}kr"),
    ("nb", "/cap kr 300,50", f"300,50{NBSP}kr"),
    ("nb", "/cap 300kr", f"300,00{NBSP}kr"),
    ("en", "/cap NOK 300", f"NOK{NBSP}300.00"),
    ("en", "/cap €50", f"EUR{NBSP}50.00"),
    ("zh", "/cap 300 挪威克朗", "300.00 挪威克朗"),
    ("zh", "/cap ¥100", "¥100.00"),
]


@pytest.mark.parametrize(("lang", "text", "shown"), TYPED, ids=[f"{c[0]}:{c[1]}" for c in TYPED])
async def test_plain_typed_forms_are_understood(bot: Bot, lang: str, text: str, shown: str) -> None:
    await _home(bot, lang)
    reply = await bot.text(text, lang=lang)
    assert shown in reply, reply


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


@pytest.mark.parametrize(("text", "lang", "want"), [
    ("2,5", "nb", "2.5"), ("2.5", "nb", "2.5"), ("2,5", "en", "2.5"), ("1,023", "en", "1023"), ("1,023", "nb", "1.023"),
    (f"1{NBSP}234{NBSP}567,89", "nb", "1234567.89"), ("1 234,5", "nb", "1234.5"), ("１，５", "zh", "1.5"), (",5", "nb", "0.5"),
])
def test_numbers_in_either_decimal_mark(text: str, lang: str, want: str) -> None:
    assert readback.number(text, lang) == Decimal(want)


@pytest.mark.parametrize("text", ["", "1e3", "-1", "1,2,3.4.5", "NaN", "∞", "1 2"])
def test_numbers_that_do_not_read(text: str) -> None:
    with pytest.raises(ValueError):
        readback.number(text, "en")


@pytest.mark.parametrize(("text", "want"), [
    ("20 %, 5 %", ["20 %", "5 %"]), ("20 % og 5 %", ["20 %", "5 %"]), ("3 天和1 天", ["3 天", "1 天"]),
    ("3d,1d", ["3d", "1d"]), ("2,5 GB, 500 MB", ["2,5 GB", "500 MB"]), ("3 days and 1 day", ["3 days", "1 day"]),
    ("20%、5%", ["20%", "5%"]), ("20％，5％", ["20％", "5％"]), ("2,5 GB eller 1 GB", ["2,5 GB", "1 GB"]),
])
def test_lists_split_as_babel_joins_them(text: str, want: list[str]) -> None:
    assert readback.items(text) == want


@pytest.mark.parametrize(("text", "minutes"), [
    ("3d", 3 * 1440), ("3 days", 3 * 1440), ("3 dager", 3 * 1440), ("3 døgn", 3 * 1440), ("3天", 3 * 1440),
    ("12h", 720), ("12t", 720), ("12 timer", 720), ("12 小时", 720), ("12 hours", 720), ("1d12h", 2160),
    ("1天12小时", 2160), ("90 min", 90), ("90 分钟", 90), ("1 time", 60), ("１ｄ", 1440),
])
def test_durations_in_every_language(text: str, minutes: int) -> None:
    assert readback_time.duration(text).total_seconds() == minutes * 60


@pytest.mark.parametrize(("typed", "code"), [("Norsk bokmål", "nb"), ("中文", "zh"), ("english", "en"), ("(中文)", "zh"),
                                             ("nb (Norsk bokmål)", "nb")])
async def test_a_language_by_the_name_the_bot_lists(bot: Bot, typed: str, code: str) -> None:
    t = CATALOGS.translator(code)
    assert await bot.text(f"/lang {typed}") == t("lang.set", language=t("lang.name_" + code))


async def test_a_name_that_ends_in_a_number_and_an_amount(bot: Bot) -> None:
    await bot.text("/link manual telenor kid 10 2026-12-31")
    await bot.text("/link manual telenor kid 2 10 2026-12-31")
    assert "2 GB left of 10 GB" in await bot.text("/left kid 2 GB")  # "kid", 2 GB
    assert "📶 kid 2 ·" in await bot.text("/left kid 2 3 GB")
    assert await bot.text("/left 2,5 GB") == CATALOGS.translator("en")("left.usage", prefix="/")


@pytest.mark.parametrize(("text", "msgid"), [("/remind expiry 99999999999999999999d", "remind.duration_range"),
                                             ("/left home 99999999999999999999 GB", "size.too_big"),
                                             ("/link manual telenor hytta 10 99999-01-01", "date.invalid"),
                                             ("/cap 99999999999999999999 NOK", "cap.out_of_range")])
async def test_huge_numbers_are_out_of_range_not_a_crash(bot: Bot, text: str, msgid: str) -> None:
    await _home(bot, "en")
    assert (await bot.text(text)).startswith(CATALOGS.translator("en")(msgid, value="\0", max="", prefix="/").split("\0")[0])
