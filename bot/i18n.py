"""Catalogs per reader (never process-wide), language negotiation and Babel formatting.

``Catalogs.load(dir)`` reads ``<dir>/<lang>/LC_MESSAGES/messages.po`` for every supported
language; ``catalogs.translator(lang, tz)`` returns a ``Translator`` that renders message
ids with their placeholders and formats dates, money and data sizes for that reader.
"""

from __future__ import annotations

import io
import math
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, format_timedelta
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


class Translator:
    """Renders messages and values for one reader (language + time zone)."""

    def __init__(self, lang: str, translations: Translations, tz: str, catalogs: Catalogs | None = None) -> None:
        self.lang = lang
        self.tz = ZoneInfo(tz)
        self._tr = translations
        self._catalogs = catalogs

    def with_language(self, lang: str) -> Translator:
        """The same reader in another language (after /lang)."""
        if self._catalogs is None:
            return self
        return self._catalogs.translator(lang, str(self.tz))

    def __call__(self, msgid: str, /, **params: Any) -> str:
        return self._tr.gettext(msgid).format(**params)

    def provider(self, name: str, operator: str | None = None) -> str:
        """A provider's name for the reader; a line tracked by hand is named after its operator
        (the word "operator" where it is not known, as in an error about the provider)."""
        return self(f"provider.{name}", operator=operator or self("provider.operator"))

    def plural(self, msgid: str, n: int, /, **params: Any) -> str:
        return self._tr.ngettext(msgid, msgid + "_plural", n).format(n=n, **params)

    def number(self, value: float | Decimal) -> str:
        return format_decimal(value, locale=self.lang)

    def percent(self, ratio: float) -> str:
        return format_percent(ratio, locale=self.lang)

    def money(self, amount: Decimal, currency: str) -> str:
        return format_currency(amount, currency, locale=self.lang)

    def data(self, n_bytes: int) -> str:
        """A data size, rounded down so the bot never over-promises (GB = 1024 MB, as most
        providers count). Exact decimal sizes (eSIM Go's 1 GB = 10^9 bytes) are shown as the
        provider sold them, not as 953 MB."""
        if n_bytes > 0 and n_bytes % 10**9 == 0:
            return format_unit(n_bytes // 10**9, "digital-gigabyte", length="short", locale=self.lang)
        if n_bytes >= _GB:
            gb = (Decimal(n_bytes) / _GB).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
            value = gb.normalize() if gb == gb.to_integral() else gb
            return format_unit(value, "digital-gigabyte", length="short", locale=self.lang)
        return format_unit(math.floor(n_bytes / _MB), "digital-megabyte", length="short", locale=self.lang)

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.tz)

    def date(self, when: datetime) -> str:
        return format_date(self.local(when), format="medium", locale=self.lang)

    def time(self, when: datetime) -> str:
        return format_time(self.local(when), format="short", locale=self.lang)

    def date_time(self, when: datetime) -> str:
        return f"{self.date(when)} {self.time(when)}"

    def relative(self, when: datetime, now: datetime) -> str:
        """``in 3 days`` / ``2 hours ago`` in the reader's language, in the largest whole unit."""
        delta = when - now
        seconds = delta.days * 86400 + delta.seconds  # whole seconds, as Babel counts them
        size = abs(seconds)
        unit = 86400 if size >= 86400 else 3600 if size >= 3600 else 60
        return format_timedelta(
            timedelta(seconds=seconds),
            threshold=size / unit - 1e-6 if size >= 60 else 1,
            add_direction=True,
            locale=self.lang,
        )
