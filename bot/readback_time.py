"""Reading back the times the bot writes: durations (``3 days``, ``12 timer``, ``3 天``,
``1d12h``), times of day (``22:00``, ``kl. 22.00``), ranges (``kl. 22.00–08.00``) and dates
(``31 Dec 2026``, ``31. des. 2026``, ``2026年12月31日``, ``31.12.2026``, ``2026-12-31``).

Unit and month words come from Babel (CLDR) for all three languages, plus the words the
catalogs print where CLDR has others (nb "dager", where CLDR says "døgn"). Each reader
returns a value or raises ``ValueError``; ``handlers.parsing`` says what was wrong.
"""

from __future__ import annotations

import functools
import re
from datetime import date, timedelta

from babel.dates import get_month_names

from bot.i18n import FORMAT_LOCALE
from bot.readback import clean, unit_of

_DURATION_UNITS = {"day": ("duration-day",), "hour": ("duration-hour",), "minute": ("duration-minute",)}
_EXTRA_DURATION_WORDS = {
    "dag": "day",
    "dager": "day",
    "dagar": "day",
    "日": "day",
    "个小时": "hour",
    "钟头": "hour",
    "hrs": "hour",
    "tim": "hour",
    "分": "minute",
    "mins": "minute",
}
_MINUTES = {"day": 24 * 60, "hour": 60, "minute": 1}
_PART = re.compile(r"(\d+) ?([^\d ]+)")
_CLOCK = re.compile(r"(?:kl\.? ?|klokka ?)?(\d{1,2})[:.](\d{2})")
_RANGE = re.compile(r" ?(?:[-‐‑‒–—~〜至到]|\bto\b|\btil\b) ?")
_YMD = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?")
_MD_ZH = re.compile(r"(\d{1,2})月(\d{1,2})[日号]?")
_DMY = re.compile(r"(\d{1,2})([./])(\d{1,2})\2(\d{4}|\d{2})")
_DM = re.compile(r"(\d{1,2})\.(\d{1,2})\.?")
_NAMED = re.compile(r"[\d\w]+(?:[ .,]+[\d\w]+)*\.?")


def duration(text: str) -> timedelta:
    """``3d``, ``12h``, ``1d12h``, ``3 days``, ``12 timer``, ``3 天``, ``90 min`` (whole numbers)."""
    text = clean(text)
    parts = _PART.findall(text)
    if not parts or "".join(f"{n}{u}" for n, u in parts) != text.replace(" ", ""):
        raise ValueError(text)
    minutes = 0
    for count, word in parts:
        unit = _EXTRA_DURATION_WORDS.get(word) or unit_of(word, _DURATION_UNITS)
        if unit is None:
            raise ValueError(text)
        minutes += min(int(count), 10**6) * _MINUTES[unit]  # beyond any range, and no overflow
    return timedelta(minutes=minutes)


def clock(text: str) -> tuple[int, int]:
    """``22:00``, ``22.00``, ``kl. 22.00``, ``9:30`` -> (hour, minute)."""
    m = _CLOCK.fullmatch(clean(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(text)
    return int(m.group(1)), int(m.group(2))


def time_range(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """``22:00–08:00``, ``kl. 22.00–08.00``, ``22:00 - 08:00``, ``22:00 til 08:00``, ``22:00至08:00``."""
    text = re.sub(r"^(?:fra|from|从) ", "", clean(text))
    parts = _RANGE.split(text)
    if len(parts) != 2:
        raise ValueError(text)
    return clock(parts[0]), clock(parts[1])


@functools.cache
def _months() -> dict[str, int]:
    """Month names and their unambiguous beginnings (``des``, ``sept``, ``december``), English and Norwegian."""
    names: dict[str, set[int]] = {}
    for lang in ("en", "nb"):
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for month, name in get_month_names(width, context, FORMAT_LOCALE[lang]).items():
                    word = clean(name).rstrip(".")
                    for end in range(3, len(word) + 1):
                        names.setdefault(word[:end], set()).add(month)
    return {word: months.pop() for word, months in names.items() if len(months) == 1}


def day(text: str, today: date) -> date:
    """A calendar day; without a year, the next one to come (``31.12``, ``12月31日``, ``31 Dec``)."""
    text = clean(text)
    if m := _YMD.fullmatch(text):
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _DMY.fullmatch(text):
        year = int(m.group(4))
        return date(year + 2000 if year < 100 else year, int(m.group(3)), int(m.group(1)))
    if m := _DM.fullmatch(text) or _MD_ZH.fullmatch(text):
        first, second = int(m.group(1)), int(m.group(2))
        return _next(today, *((second, first) if "月" in text else (first, second)))
    return _named(text, today)


def _named(text: str, today: date) -> date:
    """``31 Dec 2026``, ``31. des. 2026``, ``Dec 31, 2026``, ``31 december``."""
    if not _NAMED.fullmatch(text):
        raise ValueError(text)
    words = re.findall(r"\d+|[^\W\d_]+", text)
    months = [_months().get(w) for w in words if not w.isdigit()]
    numbers = [w for w in words if w.isdigit()]
    if len(months) != 1 or months[0] is None or not 1 <= len(numbers) <= 2:
        raise ValueError(text)
    if len(numbers) == 1:
        return _next(today, int(numbers[0]), months[0])
    year = next((n for n in numbers if len(n) == 4), numbers[-1])
    day_of_month = numbers[0] if year is numbers[-1] else numbers[-1]
    return date(int(year) + (2000 if len(year) <= 2 else 0), months[0], int(day_of_month))


def _next(today: date, day_of_month: int, month: int) -> date:
    found = date(today.year, month, day_of_month)
    return found if found >= today else found.replace(year=today.year + 1)
