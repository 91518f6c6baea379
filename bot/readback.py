"""Reading back what ``bot.i18n`` writes: numbers, data sizes, percents, money and lists.

The bot shows "2,5 GB", "20 %", "1 023 MB" and "300,00 kr" to a Norwegian reader, "2.5 GB",
"NOK 300.00" to an English one and "300.00 挪威克朗" to a Chinese one; a reader who copies
what they see, or types it the plain way (decimal point or comma, a space before the unit or
not, full-width digits), is understood. The words come from the same Babel (CLDR) data the
bot formats with, for all three languages, so a value reads the same whoever sends it. Each
reader returns a value or raises ``ValueError``; ``handlers.parsing`` says what was wrong in
the reader's language. Times and dates: ``bot.readback_time``.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    get_currency_name,
    get_currency_symbol,
    get_decimal_symbol,
    list_currencies,
    parse_decimal,
)
from babel.units import format_unit

from bot.i18n import FORMAT_LOCALE, SUPPORTED

GB = 1024**3
MB = 1024**2
_GROUP_SPACE = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")  # "1 023": a space (or no-break space) between digit groups
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*|[.,]\d+")
_SIZE = re.compile(r"(.*?\d) ?([^\d ]*)")
_MONEY = re.compile(r"([^\d.,]*?) ?([\d.,]+) ?([^\d.,]*)")
_EXTRA_SIZE_UNITS = {"g": GB, "gib": GB, "gbs": GB, "m": MB, "mib": MB, "mbs": MB}
_CURRENCY_ALIASES = {"kr": "NOK", "kr.": "NOK", "元": "CNY", "$": "USD"}


def clean(text: str) -> str:
    """Full-width forms to ASCII (``２,５ＧＢ``, ``２０％``), lower case, every run of spaces
    (no-break ones included) one space, digit groups joined (``1 023`` -> ``1023``)."""
    text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return _GROUP_SPACE.sub("", text)


def number(text: str, lang: str) -> Decimal:
    """``2,5`` / ``2.5`` / ``1,023`` / ``0,4``: Babel reads it as the reader's language writes
    numbers; when that does not fit (``2,5`` from an English reader), with the other decimal mark."""
    text = clean(text)
    if not _NUMBER.fullmatch(text):
        raise ValueError(text)
    own = FORMAT_LOCALE.get(lang, "en_GB")
    other = "nb" if get_decimal_symbol(own) == "." else "en_GB"
    for locale in (own, other):
        try:
            return parse_decimal(text, locale=locale, strict=True)
        except NumberFormatError:
            continue
    raise ValueError(text)


@functools.cache
def _unit_words(*units: str) -> frozenset[str]:
    """Every spelling Babel (CLDR) gives the units in the three languages, long, short and
    narrow, singular and plural: ``GB``, ``gigabytes``, ``吉字节``; ``days``, ``d``, ``døgn``, ``天``."""
    words = {
        clean(format_unit(n, unit, length=length, locale=FORMAT_LOCALE[lang])).strip("0123456789 ")
        for lang in SUPPORTED
        for unit in units
        for length in ("long", "short", "narrow")
        for n in (1, 2, 5)
    }
    return frozenset(w for w in words if w and w not in units)  # Babel falls back to the unit's id


def unit_of(word: str, table: Mapping[str, tuple[str, ...]]) -> str | None:
    """The key of ``table`` whose CLDR units spell ``word``."""
    return next((key for key, units in table.items() if word in _unit_words(*units)), None)


_SIZE_UNITS = {"gb": ("digital-gigabyte",), "mb": ("digital-megabyte",)}
_SIZE_FACTORS = {"gb": GB, "mb": MB}


def size(text: str, lang: str) -> int:
    """``2,5 GB``, ``2.5GB``, ``500 MB``, ``1 023 MB``, ``3`` (GB) -> bytes, rounded up to the
    byte so what is shown again is what was written (GB = 1024 MB, as the bot counts)."""
    m = _SIZE.fullmatch(clean(text))
    if not m:
        raise ValueError(text)
    unit = m.group(2)
    factor = GB if not unit else _EXTRA_SIZE_UNITS.get(unit) or _SIZE_FACTORS.get(unit_of(unit, _SIZE_UNITS) or "")
    value = number(m.group(1), lang)
    if factor is None or value.as_tuple().exponent < -3 or value >= 10**12:  # type: ignore[operator]
        raise ValueError(text)
    return math.ceil(value * factor)


def percent(text: str, lang: str) -> Decimal:
    """``20 %``, ``20%``, ``0,4 %``, ``２０％`` -> the number before the sign."""
    text = clean(text)
    if not text.endswith("%"):
        raise ValueError(text)
    return number(text[:-1].strip(), lang)


def split_money(text: str) -> tuple[str, str]:
    """``NOK 300.00``, ``300,00 kr``, ``300.00 挪威克朗``, ``¥10.00`` -> (amount, currency)."""
    m = _MONEY.fullmatch(clean(text))
    if not m or bool(m.group(1)) == bool(m.group(3)):
        raise ValueError(text)
    return m.group(2), (m.group(1) or m.group(3)).strip()


def currency(text: str, lang: str) -> str:
    """A currency as the bot writes it to any reader (``NOK``, ``kr``, ``€``, ``挪威克朗``,
    ``norske kroner``), the reader's own language first (``¥`` is CNY in Chinese)."""
    word = clean(text)
    if word.upper() in list_currencies():
        return word.upper()
    for locale in dict.fromkeys([FORMAT_LOCALE.get(lang, "en_GB"), *FORMAT_LOCALE.values()]):
        if (code := _currency_names(locale).get(word)) is not None:
            return code
    if word in _CURRENCY_ALIASES:
        return _CURRENCY_ALIASES[word]
    raise ValueError(text)


@functools.cache
def _currency_names(locale: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for code in sorted(list_currencies()):
        spellings = {get_currency_symbol(code, locale=locale)}
        spellings |= {get_currency_name(code, count=n, locale=locale) for n in (None, 1, 2)}
        for spelling in spellings:
            names.setdefault(clean(spelling), code)
    return names


@functools.cache
def _list_words() -> re.Pattern[str]:
    """The joints of Babel's lists in the three languages (``, `` ``and`` ``og`` ``、`` ``和``
    ``or`` ``eller`` ``或``), so a list the bot wrote splits back into its items."""
    joints = {";", "；", "，", "、"}
    for lang in SUPPORTED:
        patterns = Locale.parse(FORMAT_LOCALE[lang]).list_patterns
        for style in ("standard", "or"):
            for key in ("middle", "end"):
                joints.add(clean(patterns[style][key].replace("{0}", "").replace("{1}", "")))
    words = sorted((j for j in joints if j.isalpha() and j.isascii()), key=len, reverse=True)
    marks = [re.escape(j) for j in joints if j and not (j.isalpha() and j.isascii()) and j not in ",，"]
    comma = r"[,，](?!\d)|(?<!\d)[,，]"  # between two digits it is a decimal comma
    return re.compile(rf"\s*(?:\b(?:{'|'.join(words)})\b|{'|'.join(marks)}|{comma})\s*", re.IGNORECASE)


def items(text: str) -> list[str]:
    """``20 %, 5 %`` / ``20 % og 5 %`` / ``3 天和1 天`` / ``3d,1d`` -> the items as typed; a
    comma between two digits is a decimal comma (``2,5 GB``), not a joint."""
    return [part for part in _list_words().split(" ".join(text.split())) if part.strip()]
