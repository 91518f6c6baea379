"""Counting that matches the calendar (issue 31, item 3; review 2026-12, S7).

A relative time beside a date counts calendar days in the household's time zone, and today
and tomorrow are words: "Expires 9 Dec 2026 (in 2 days)" on 7 Dec at 20:53, never "in 1 day".
Checked at every hour of a day across both daylight-saving changes in Europe/Oslo, with the
fake clock: the date printed and the words beside it are read back and must agree.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot.app import LOCALES
from bot.clock import FakeClock
from bot.i18n import SUPPORTED, Catalogs, Translator
from bot.records import Alert, AlertKind
from bot.reminders import text as alerts
from handlers.render import expiry_line
from tests.conftest import DEMO, make_bot

OSLO = ZoneInfo("Europe/Oslo")
CATALOGS = Catalogs.load(LOCALES)
# local days that are 23 hours (summer time starts), 25 hours (it ends) and 24 hours long
DAYS = {"dst-start": date(2026, 3, 29), "dst-end": date(2026, 10, 25), "plain": date(2026, 12, 7)}
MONTHS_EN = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sept", "Oct", "Nov", "Dec"), 1)}


def hours_of(day: date) -> list[datetime]:
    """Every whole hour of a local day, however long the day is (a fake clock's readings)."""
    start = datetime(day.year, day.month, day.day, tzinfo=OSLO).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=OSLO).astimezone(UTC)
    clock, out = FakeClock(start), []
    while clock.now() < end:
        out.append(clock.now())
        clock.advance(timedelta(hours=1))
    return out


def said_days(lang: str, text: str) -> int:
    """The count of days a rendered text says: 'today' 0, 'tomorrow' 1, 'in 3 days' 3."""
    words = {
        "en": (r"\btoday\b", r"\btomorrow\b", r"\bin (\d+) days?\b"),
        "nb": (r"\bi dag\b", r"\bi morgen\b", r"\bom (\d+) dag(?:er)?\b"),
        "zh": (r"今天", r"明天", r"(\d+) 天后"),
    }[lang]
    found = [(n, m) for n, pattern in enumerate(words) if (m := re.search(pattern, text))]
    assert len(found) == 1, (lang, text)
    n, m = found[0]
    return n if n < 2 else int(m.group(1))


def shown_date(lang: str, text: str) -> date:
    """The calendar date printed in an en or zh text: '9 Dec 2026' / '2026年12月9日'."""
    if lang == "zh":
        y, mo, d = re.search(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text).groups()  # type: ignore[union-attr]
        return date(int(y), int(mo), int(d))
    d, mon, y = re.search(r"\b(\d{1,2}) ([A-Z][a-z]{2,3}) (\d{4})\b", text).groups()  # type: ignore[union-attr]
    return date(int(y), MONTHS_EN[mon], int(d))


def expiries(day: date) -> list[datetime]:
    """Expiry times from the day itself to three days on, every hour (UTC)."""
    first = datetime(day.year, day.month, day.day, tzinfo=OSLO).astimezone(UTC) + timedelta(minutes=30)
    return [first + timedelta(hours=h) for h in range(0, 96)]


def texts(t: Translator, expires: datetime, now: datetime) -> list[str]:
    """Every composition that puts a relative time beside an expiry date."""
    ctx = SimpleNamespace(t=t, now=now)
    alert = Alert(kind=AlertKind.EXPIRY, label="mum", provider="demo", expires_at=expires, remaining=1, total=2)
    low = Alert(kind=AlertKind.DATA, label="mum", provider="demo", threshold=20, expires_at=expires, remaining=100, total=1000)
    return [
        expiry_line(ctx, expires) or "",  # type: ignore[arg-type]
        alerts.render(alert, t, now, "/").split("\n")[0],
        alerts.render(low, t, now, "/").split("\n")[1],
    ]


@pytest.mark.parametrize("lang", SUPPORTED)
@pytest.mark.parametrize("day", list(DAYS.values()), ids=list(DAYS))
def test_every_hour_the_words_agree_with_the_date_beside_them(lang: str, day: date) -> None:
    t, en = CATALOGS.translator(lang, "Europe/Oslo"), CATALOGS.translator("en", "Europe/Oslo")
    checked = 0
    for now in hours_of(day):
        today = now.astimezone(OSLO).date()
        for expires in (e for e in expiries(day) if e > now):
            for text, en_text in zip(texts(t, expires, now), texts(en, expires, now), strict=True):
                counted = said_days(lang, text)
                assert counted == (expires.astimezone(OSLO).date() - today).days, (now, text)
                reference = en_text if lang == "nb" else text  # nb dates are read from the en rendering
                assert shown_date("en" if lang == "nb" else lang, reference) - today == timedelta(days=counted), text
                checked += 1
    assert checked > 23 * 80


def test_the_reviewers_case_9_dec_seen_on_7_dec_at_2053() -> None:
    now, expires = datetime(2026, 12, 7, 19, 53, tzinfo=UTC), datetime(2026, 12, 9, 8, 0, tzinfo=UTC)
    said = {
        lang: expiry_line(SimpleNamespace(t=CATALOGS.translator(lang), now=now), expires)  # type: ignore[arg-type]
        for lang in SUPPORTED
    }
    assert said == {
        "en": "Expires 9 Dec 2026 (in 2 days)",
        "nb": "Utløper 9. des. 2026 (om 2 dager)",
        "zh": "2026年12月9日到期（2 天后）",
    }


@pytest.mark.parametrize(
    ("delta", "en", "nb", "zh"),
    [
        (timedelta(hours=1), "today", "i dag", "今天"),
        (timedelta(hours=5), "tomorrow", "i morgen", "明天"),  # 22:00 -> 03:00: five hours, but tomorrow
        (timedelta(days=1, hours=23), "in 2 days", "om 2 dager", "2 天后"),
        (timedelta(hours=-2), "today", "i dag", "今天"),
        (timedelta(days=-1), "yesterday", "i går", "昨天"),
        (timedelta(days=-3), "3 days ago", "for 3 dager siden", "3 天前"),
    ],
)
def test_today_and_tomorrow_are_words(delta: timedelta, en: str, nb: str, zh: str) -> None:
    now = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)  # 22:00 in Oslo, the night summer time starts
    said = {lang: CATALOGS.translator(lang).days(now + delta, now) for lang in SUPPORTED}
    assert said == {"en": en, "nb": nb, "zh": zh}


def test_days_follow_the_households_time_zone() -> None:
    now, expires = datetime(2026, 12, 7, 17, 0, tzinfo=UTC), datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
    assert CATALOGS.translator("en", "Europe/Oslo").days(expires, now) == "tomorrow"  # 18:00 -> 02:00
    assert CATALOGS.translator("en", "Asia/Shanghai").days(expires, now) == "today"  # 01:00 -> 09:00 on the 8th


@pytest.mark.parametrize("day", [DAYS["dst-start"], DAYS["dst-end"]], ids=["dst-start", "dst-end"])
async def test_balance_through_the_bot_at_every_hour_of_a_dst_day(day: date) -> None:
    """The real /balance with the fake clock, every hour of the day, in every language."""
    hours = hours_of(day)
    bot = make_bot(start=hours[0])
    assert "kid" in await bot.text(f"/link {DEMO['DEMO38']} DEMO38 kid")  # expires two days after linking
    seen: dict[str, set[int]] = {lang: set() for lang in SUPPORTED}
    for now in hours:
        bot.clock.set(now)
        for lang in SUPPORTED:
            text = await bot.text("/balance kid", lang=lang)
            line = next(
                x for x in text.split("\n") if re.search(r"\d{4}", x) and ("Expires" in x or "Utløper" in x or "到期" in x)
            )
            counted = said_days(lang, line)
            seen[lang].add(counted)
            if lang != "nb":
                assert shown_date(lang, line) - now.astimezone(OSLO).date() == timedelta(days=counted), (now, line)
    # DEMO38 expires 48 hours after linking: 01:00 on 31 Mar (in 2 days all 29 Mar, where whole
    # 24-hour units said "in 1 day" from 01:00 on), 23:00 on 26 Oct (tomorrow all 25 Oct)
    expected = ((hours[0] + timedelta(days=2)).astimezone(OSLO).date() - day).days
    assert seen["en"] == seen["nb"] == seen["zh"] == {expected} == {2 if day.month == 3 else 1}
