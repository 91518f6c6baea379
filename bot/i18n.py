"""Catalogs per reader (never process-wide), language negotiation and Babel formatting.

``Catalogs.load(dir)`` reads ``<dir>/<lang>/LC_MESSAGES/messages.po`` for every supported
language; ``catalogs.translator(lang, tz)`` returns a ``Translator`` that renders message
ids with their placeholders; its base ``Formats`` formats dates, money and data sizes for that reader.
"""

from __future__ import annotations

import io
import math
import re
import string
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations
from babel.units import format_unit

SUPPORTED = ("en", "nb", "zh")
_ALIASES = {"no": "nb", "nb": "nb", "nn": "nb", "nob": "nb", "nno": "nb", "zh": "zh", "en": "en"}
_GB = 1024**3
_MB = 1024**2


def normalize_language(code: str | None) -> str | None:
    """Map a platform or user language tag to en/nb/zh (``nb-NO``, ``zh-Hant`` ...), else None."""
    if not code:
        return None
    primary = code.strip().replace("_", "-").split("-")[0].lower()
    return _ALIASES.get(primary)


def negotiate(*candidates: str | None, default: str = "en") -> str:
    """First supported language among the candidates, in order (user, household, hint)."""
    for candidate in candidates:
        lang = normalize_language(candidate)
        if lang is not None:
            return lang
    return normalize_language(default) or "en"


class Catalogs:
    """The compiled catalogs of every supported language."""

    def __init__(self, translations: dict[str, Translations]) -> None:
        self._translations = translations

    @classmethod
    def load(cls, locales_dir: Path) -> Catalogs:
        compiled = {}
        for lang in SUPPORTED:
            po = locales_dir / lang / "LC_MESSAGES" / "messages.po"
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            buf = io.BytesIO()
            write_mo(buf, catalog, use_fuzzy=False)
            buf.seek(0)
            compiled[lang] = Translations(fp=buf)
        return cls(compiled)

    def translator(self, lang: str, tz: str = "Europe/Oslo") -> Translator:
        lang = normalize_language(lang) or "en"
        return Translator(lang, self._translations[lang], tz, self)


class Formats:
    """Values for one reader's language and time zone, through Babel: numbers, money, data
    sizes, dates and times (no message catalog; ``Translator`` adds the words)."""

    def __init__(self, lang: str, tz: str) -> None:
        self.lang = lang
        self.locale = FORMAT_LOCALE[lang]
        self.tz = ZoneInfo(tz)

    def _finish(self, text: str) -> str:
        return space_zh(text) if self.lang == "zh" else text

    def number(self, value: float | Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, ratio: float) -> str:
        return format_percent(ratio, locale=self.locale)

    def money(self, amount: Decimal, currency: str) -> str:
        return self._finish(
            format_currency(
                amount,
                currency,
                format=MONEY_PATTERN.get(self.lang),
                locale=self.locale,
                format_type="name" if self.lang == "zh" and currency != "CNY" else "standard",
            )
        )

    def data(self, n_bytes: int, *, zero_in_gb: bool = False) -> str:
        """A data size, rounded down so the bot never over-promises (GB = 1024 MB, as most
        providers count). Exact decimal sizes (eSIM Go's 1 GB = 10^9 bytes) are shown as the
        provider sold them, not as 953 MB. ``zero_in_gb``: nothing is "0 GB" (a chart's axis
        counted in GB)."""
        if n_bytes == 0 and zero_in_gb:
            return format_unit(0, "digital-gigabyte", length="short", locale=self.locale)
        if n_bytes > 0 and n_bytes % 10**9 == 0:
            return format_unit(n_bytes // 10**9, "digital-gigabyte", length="short", locale=self.locale)
        if n_bytes >= _GB:
            gb = (Decimal(n_bytes) / _GB).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
            value = gb.normalize() if gb == gb.to_integral() else gb
            return format_unit(value, "digital-gigabyte", length="short", locale=self.locale)
        return format_unit(math.floor(n_bytes / _MB), "digital-megabyte", length="short", locale=self.locale)

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.tz)

    def date(self, when: datetime) -> str:
        return format_date(self.local(when), format="medium", locale=self.locale)

    def day(self, when: datetime) -> str:
        """A short day and month for a chart's axis: ``4 Dec`` / ``4. des.`` / ``12月4日``."""
        return format_skeleton("MMMd", self.local(when), locale=self.locale)

    def clock(self, hhmm: str) -> str:
        """A time of day without a date (quiet hours, stored as ``HH:MM``): ``22.00`` in nb."""
        return hhmm.replace(":", ".") if self.lang == "nb" else hhmm

    def time(self, when: datetime) -> str:
        return format_time(self.local(when), format=TIME_PATTERN.get(self.lang, "short"), locale=self.locale)


class Translator(Formats):
    """Renders messages and values for one reader (language + time zone).

    Formatting follows each language's conventions through Babel (``docs`` in
    ``locales/GLOSSARY.md``): English as written in Britain (``31 Mar 2027``, ``13:00``,
    ``NOK 149.00``), Norwegian (``31. mars 2027``, ``kl. 13.00``, ``149,00 kr``), Chinese
    (``2027年3月31日``, ``13:00``, ``149.00 挪威克朗``). Chinese text gets one spacing rule
    (``space_zh``: a space between Chinese and Latin letters or digits) inside the message's
    own text and at its seams with the values, never inside a value (``format_zh``).
    """

    def __init__(self, lang: str, translations: Translations, tz: str, catalogs: Catalogs | None = None) -> None:
        super().__init__(lang, tz)
        self._tr = translations
        self._catalogs = catalogs

    def with_language(self, lang: str) -> Translator:
        """The same reader in another language (after /lang)."""
        if self._catalogs is None:
            return self
        return self._catalogs.translator(lang, str(self.tz))

    def with_timezone(self, tz: str) -> Translator:
        """The same reader in another time zone (after ``/remind tz``)."""
        return Translator(self.lang, self._tr, tz, self._catalogs)

    def _format(self, template: str, params: dict[str, Any]) -> str:
        return format_zh(template, params) if self.lang == "zh" else template.format(**params)

    def __call__(self, msgid: str, /, **params: Any) -> str:
        return self._format(self._tr.gettext(msgid), params)

    def provider(self, name: str, operator: str | None = None) -> str:
        """A provider's name for the reader; a line tracked by hand is named after its operator
        (the word "operator" where it is not known, as in an error about the provider)."""
        return self(f"provider.{name}", operator=self.operator(operator) if operator else self("provider.operator"))

    def operator(self, key: str) -> str:
        """A Norwegian operator as it spells itself (``operator.<key>`` in the catalogs)."""
        msgid = f"operator.{key}"
        text = self._tr.gettext(msgid)
        return text if text != msgid else key

    def plural(self, msgid: str, n: int, /, **params: Any) -> str:
        return self._format(self._tr.ngettext(msgid, msgid + "_plural", n), {"n": n, **params})

    def list(self, items: Sequence[str], style: str = "standard") -> str:
        """``a, b and c`` / ``a, b og c`` / ``a、b 和 c``; ``style="or"`` where the reader picks
        one (``a, b or c``). An empty list is a dash. In zh the spacing rule holds at every
        seam of the list (``3 天和 1 天``) and never inside an item."""
        if not items:
            return "–"
        if self.lang != "zh":
            return format_list(list(items), style=style, locale=self.locale)  # type: ignore[arg-type]
        return zh_list(list(items), Locale.parse(self.locale).list_patterns[style])

    def date_time(self, when: datetime) -> str:
        return self("time.date_time", date=self.date(when), time=self.time(when))

    def days(self, when: datetime, now: datetime) -> str:
        """Calendar days in the reader's time zone, for a date shown beside it: ``today``,
        ``tomorrow``, ``in 2 days``, ``yesterday``, ``3 days ago`` (9 Dec seen on 7 Dec at
        20:53 is "in 2 days", never "in 1 day")."""
        days = (self.local(when).date() - self.local(now).date()).days
        if days in (-1, 0, 1):
            return self(("time.yesterday", "time.today", "time.tomorrow")[days + 1])
        return self.plural("time.in_days" if days > 0 else "time.days_ago", abs(days))

    def relative(self, when: datetime, now: datetime) -> str:
        """``in 3 days`` / ``2 hours ago`` in whole units (rounded down: never more time than
        there is); under a minute is said in words, never "0 seconds"."""
        seconds = int((when - now).total_seconds())
        size = abs(seconds)
        if size < 60:
            return self("time.soon" if seconds >= 0 else "time.just_now")
        unit, name = (86400, "days") if size >= 86400 else (3600, "hours") if size >= 3600 else (60, "minutes")
        return self.plural(f"time.in_{name}" if seconds >= 0 else f"time.{name}_ago", size // unit)


# Babel locale for formatting per catalog language: English as used in Britain (and by
# Norwegian companies writing English): day-month-year, 24-hour clock.
FORMAT_LOCALE = {"en": "en_GB", "nb": "nb", "zh": "zh"}
TIME_PATTERN = {"en": "HH:mm", "nb": "'kl'. HH.mm", "zh": "HH:mm"}
MONEY_PATTERN = {"en": "\xa4\xa4\u00a0#,##0.00"}  # NOK 149.00 (CLDR en_GB would write NOK149.00)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_DATE_UNITS = "年月日号"
_FULL_PUNCT = "，。：；！？（）“”、"
_CJK_THEN_LATIN = re.compile(f"([{_CJK}])([A-Za-z0-9/!@#<\\[])")
_LATIN_THEN_CJK = re.compile(f"([A-Za-z0-9%)>\\]])([{_CJK}])")


def format_zh(template: str, params: dict[str, Any]) -> str:
    """``template.format(**params)`` with the zh spacing rule applied to the template's own
    text and at the seams between it and each value; a value itself (a label, a name, a
    command the user typed) is never changed, so ``/renew 小李的iPad`` still names the line."""
    out = ""
    for literal, field, spec, conversion in string.Formatter().parse(template):
        out = _seam(out, space_zh(literal))
        if field is not None:
            value = params[field]
            value = repr(value) if conversion == "r" else str(value) if conversion == "s" else value
            out = _seam(out, format(value, spec or ""))
    return out


def zh_list(items: list[str], patterns: Any) -> str:
    """Babel's list algorithm with each pattern (``{0}、{1}``, ``{0}和{1}``) joined by
    ``format_zh``, so the spacing rule holds at the seams and items stay as they are."""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return format_zh(patterns["2"], {"0": items[0], "1": items[1]})
    out = format_zh(patterns["start"], {"0": items[0], "1": items[1]})
    for item in items[2:-1]:
        out = format_zh(patterns["middle"], {"0": out, "1": item})
    return format_zh(patterns["end"], {"0": out, "1": items[-1]})


def _seam(left: str, right: str) -> str:
    if left and left[-1] in _FULL_PUNCT:  # full-width punctuation carries its own space
        return left + right.lstrip(" ")
    if left and right and space_zh(left[-1] + right[0]) != left[-1] + right[0]:
        return f"{left} {right}"
    return left + right


def space_zh(text: str) -> str:
    """The zh spacing rule (locales/GLOSSARY.md): one space between a Chinese character and
    Latin letters, digits or a command; none inside a date or time (``2027年3月31日``) and
    none next to full-width punctuation, which carries its own space."""
    text = _CJK_THEN_LATIN.sub(
        lambda m: m.group(0) if m.group(1) in _DATE_UNITS and m.group(2).isdigit() else f"{m.group(1)} {m.group(2)}", text
    )
    return _LATIN_THEN_CJK.sub(
        lambda m: m.group(0) if m.group(1).isdigit() and m.group(2) in _DATE_UNITS else f"{m.group(1)} {m.group(2)}", text
    )
