"""Argument parsers. Each returns a clean value or raises UsageError with its own message."""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.numbers import format_decimal

from bot import readback, readback_time
from bot.errors import UsageError
from bot.i18n import FORMAT_LOCALE

GB = 1024**3
MB = 1024**2
MAX_LABEL = 24
MAX_SIZE = 10_000 * GB
MAX_LEAD_HOURS = 60 * 24
MAX_CAP = 1_000_000
QUOTE_MAX = 100  # an error quotes the argument whole, up to this many characters
QUIET_OFF = ("off", "none", "av", "ingen", "关", "关闭")
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―－_.]+")


def normalize(text: str) -> str:
    """Full-width digits and letters to ASCII, case kept."""
    return unicodedata.normalize("NFKC", text).strip()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def take_iccid(args: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """Join the leading argument groups that spell an ICCID (``8947 0000 …``); return it
    and the arguments after it. Groups are joined until 19 digits are reached; a first
    argument that is a whole ICCID on its own (18+ digits) is never joined with a numeric code."""
    digits, used = "", 0
    for arg in args:
        piece = _SEPARATORS.sub("", normalize(arg))
        whole = used == 1 and len(digits) >= 18
        if not piece.isdigit() or (used and len(digits) >= 19) or whole:
            break
        digits += piece
        used += 1
    if used == 0:
        return parse_iccid(args[0] if args else ""), args[1:]
    return parse_iccid(digits), args[used:]


def parse_iccid(raw: str) -> str:
    value = _SEPARATORS.sub("", normalize(raw))
    if not value:
        raise UsageError("link.usage")
    if not value.isascii() or not value.isdigit():
        raise UsageError("iccid.not_digits")
    if not 18 <= len(value) <= 22:
        raise UsageError("iccid.bad_length", n=len(value))
    if not value.startswith("89"):
        raise UsageError("iccid.bad_prefix")
    if not luhn_ok(value):
        raise UsageError("iccid.bad_checksum")
    return value


def parse_label(raw: str) -> str:
    label = " ".join(normalize(raw).split())
    if not label or len(label) > MAX_LABEL or label[0] in "/!@#" or label.casefold() in ("all", "manual"):
        raise UsageError("label.invalid", max=MAX_LABEL)
    if any(unicodedata.category(c)[0] in "CZ" and c != " " for c in label):
        raise UsageError("label.invalid", max=MAX_LABEL)
    return label


def quoted(raw: str) -> str:
    """The argument as the user typed it, whole (spaces tidied), for an error to quote."""
    text = " ".join(raw.split())
    return text if len(text) <= QUOTE_MAX else text[: QUOTE_MAX - 1] + "…"


def parse_size(raw: str, lang: str = "en", *, allow_zero: bool = False) -> int:
    """``500MB``, ``1.5 GB``, ``2,5 GB``, ``1 023 MB``, ``3`` (GB) -> bytes; 0 only where
    "nothing left" makes sense (``/left``)."""
    try:
        value = readback.size(raw, lang)
    except ValueError:
        raise UsageError("size.invalid", value=quoted(raw)) from None
    if value > MAX_SIZE:
        raise UsageError("size.too_big", value=quoted(raw))
    if value <= 0 and not allow_zero:
        raise UsageError("size.zero", value=quoted(raw))
    return value


def parse_percent(raw: str, lang: str = "en") -> int:
    """``20%``, ``20 %``, ``２０％`` -> 20: a whole percent from 1 to 99."""
    try:
        value = readback.percent(raw, lang)
    except ValueError:
        value = Decimal(0)
    if value != value.to_integral() or not 1 <= value <= 99:
        raise UsageError("remind.bad_percent", value=quoted(raw))
    return int(value)


def parse_hours(raw: str) -> int:
    """``3d``, ``12h``, ``1d12h``, ``3 days``, ``12 timer``, ``3 天`` -> whole hours (1 hour .. 60 days)."""
    try:
        minutes = int(readback_time.duration(raw).total_seconds()) // 60
    except ValueError:
        raise UsageError("remind.bad_duration", value=quoted(raw)) from None
    if minutes % 60 or not 1 <= minutes // 60 <= MAX_LEAD_HOURS:
        raise UsageError("remind.duration_range", value=quoted(raw))
    return minutes // 60


def parse_quiet(raw: str) -> tuple[str, str] | None:
    """``22:00-08:00``, ``kl. 22.00–08.00``, ``22:00至08:00`` -> ("22:00", "08:00"); ``off`` -> None."""
    if readback.clean(raw) in QUIET_OFF:
        return None
    try:
        (h1, m1), (h2, m2) = readback_time.time_range(raw)
    except ValueError:
        raise UsageError("remind.bad_quiet", value=quoted(raw)) from None
    start, end = f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"
    if start == end:
        raise UsageError("remind.quiet_same", value=quoted(raw))
    return start, end


def parse_timezone(raw: str) -> str:
    """``Europe/Oslo`` as shown, also typed in another case (``europe/oslo``)."""
    name = normalize(raw)
    if not re.fullmatch(r"[A-Za-z_]+(?:/[A-Za-z0-9_+\-]+){0,2}", name):
        raise UsageError("remind.bad_timezone", value=quoted(raw))
    name = _zones().get(name.casefold(), name)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError("remind.bad_timezone", value=quoted(raw)) from None
    return name


@functools.cache
def _zones() -> dict[str, str]:
    return {zone.casefold(): zone for zone in available_timezones()}


def parse_money(raw: str, lang: str = "en") -> tuple[Decimal, str]:
    """``300 NOK``, ``NOK 300.00``, ``300,00 kr``, ``300.00 挪威克朗``, ``¥10``, ``10 €`` -> (amount, code)."""
    try:
        amount, currency = readback.split_money(raw)
        value = readback.number(amount, lang)
    except ValueError:
        raise UsageError("cap.bad_amount", value=quoted(raw)) from None
    if value <= 0 or value > MAX_CAP or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise UsageError("cap.out_of_range", value=quoted(raw), max=format_decimal(MAX_CAP, locale=FORMAT_LOCALE[lang]))
    try:
        return value, readback.currency(currency, lang)
    except ValueError:
        raise UsageError("cap.bad_currency", currency=quoted(currency)) from None


def parse_date(raw: str, tz: str, today: date) -> datetime:
    """``2026-12-31``, ``31.12.2026``, ``31 Dec 2026``, ``31. des. 2026``, ``2026年12月31日``,
    ``31.12`` -> the end of that day (local) in UTC."""
    try:
        day = readback_time.day(raw, today)
    except ValueError:
        raise UsageError("date.invalid", value=quoted(raw)) from None
    if not today - timedelta(days=366) <= day <= today + timedelta(days=3 * 366):
        raise UsageError("date.out_of_range", value=quoted(raw))
    local_end = datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(tz))
    return local_end.astimezone(UTC)
