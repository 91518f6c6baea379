"""Argument parsers. Each returns a clean value or raises UsageError with its own message."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import list_currencies

from bot.errors import UsageError

GB = 1024**3
MB = 1024**2
MAX_LABEL = 24
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


def parse_size(raw: str) -> int:
    """``500MB``, ``1.5 GB``, ``2,5gb``, ``3`` (GB) -> bytes."""
    text = normalize(raw).lower().replace(",", ".").replace(" ", "")
    m = re.fullmatch(r"(\d{1,6}(?:\.\d{1,3})?)(gb|g|mb|m)?", text)
    if not m:
        raise UsageError("size.invalid", value=raw[:20])
    number = Decimal(m.group(1))
    unit = MB if m.group(2) in ("mb", "m") else GB
    value = int(number * unit)
    if value <= 0 or value > 10_000 * GB:
        raise UsageError("size.invalid", value=raw[:20])
    return value


def parse_percent(raw: str) -> int:
    text = normalize(raw).replace(" ", "")
    m = re.fullmatch(r"(\d{1,2})%", text)
    if not m or not 1 <= int(m.group(1)) <= 99:
        raise UsageError("remind.bad_percent", value=raw[:20])
    return int(m.group(1))


def parse_hours(raw: str) -> int:
    """``3d``, ``12h``, ``1d12h`` -> whole hours (1 hour .. 60 days)."""
    text = normalize(raw).lower().replace(" ", "")
    m = re.fullmatch(r"(?:(\d{1,2})d)?(?:(\d{1,3})h)?", text)
    if not text or not m:
        raise UsageError("remind.bad_duration", value=raw[:20])
    hours = int(m.group(1) or 0) * 24 + int(m.group(2) or 0)
    if not 1 <= hours <= 60 * 24:
        raise UsageError("remind.bad_duration", value=raw[:20])
    return hours


def parse_clock(raw: str) -> str:
    m = re.fullmatch(r"(\d{1,2})[:.](\d{2})", normalize(raw))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise UsageError("remind.bad_quiet", value=raw[:20])
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def parse_quiet(raw: str) -> tuple[str, str] | None:
    """``22:00-08:00`` -> ("22:00", "08:00"); ``off`` -> None."""
    text = normalize(raw).lower()
    if text in ("off", "none", "av", "关"):
        return None
    parts = re.split(r"[-–~至]", text)
    if len(parts) != 2:
        raise UsageError("remind.bad_quiet", value=raw[:20])
    start, end = parse_clock(parts[0]), parse_clock(parts[1])
    if start == end:
        raise UsageError("remind.bad_quiet", value=raw[:20])
    return start, end


def parse_timezone(raw: str) -> str:
    name = normalize(raw)
    try:
        if not re.fullmatch(r"[A-Za-z_]+(?:/[A-Za-z0-9_+\-]+){0,2}", name):
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError("remind.bad_timezone", value=raw[:40]) from None
    return name


def parse_money(amount: str, currency: str) -> tuple[Decimal, str]:
    try:
        value = Decimal(normalize(amount).replace(",", "."))
    except InvalidOperation:
        raise UsageError("cap.usage") from None
    if not value.is_finite() or value <= 0 or value > 1_000_000 or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise UsageError("cap.usage")
    code = normalize(currency).upper()
    if code == "KR":
        code = "NOK"
    if code not in list_currencies():
        raise UsageError("cap.bad_currency", currency=currency[:10])
    return value, code


def parse_date(raw: str, tz: str, today: date) -> datetime:
    """``2026-12-31``, ``31.12.2026``, ``31/12/2026``, ``31.12`` -> end of that day (local) in UTC."""
    text = normalize(raw)
    formats = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d.%m.%y", "%Y/%m/%d")
    for fmt in formats:
        try:
            day = datetime.strptime(text, fmt).date()
            break
        except ValueError:
            continue
    else:
        m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.?", text)
        try:
            if not m:
                raise ValueError(text)
            day = date(today.year, int(m.group(2)), int(m.group(1)))
            if day < today:
                day = day.replace(year=today.year + 1)
        except ValueError:
            raise UsageError("date.invalid", value=raw[:20]) from None
    if not today - timedelta(days=366) <= day <= today + timedelta(days=3 * 366):
        raise UsageError("date.invalid", value=raw[:20])
    local_end = datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(tz))
    return local_end.astimezone(UTC)
