"""Helpers every real adapter shares: lenient parsing, claim checks, webhooks and their events.

Providers send numbers as numbers or strings, timestamps naive, ``+0000``, ``Z`` or epoch
milliseconds (providers.md 7.6); these functions turn all of them into one shape or ``None``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from providers.base import MAX_WEBHOOK_BYTES, BalanceEvent
from providers.errors import WebhookRejected

MIN_CODE_SUFFIX = 6


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from any provider timestamp; ``None`` when absent or unreadable.

    Naive strings are UTC (Airalo does not say; providers.md 7.6), numbers and digit strings
    are epoch seconds or, when that large, epoch milliseconds (eSIM Go).
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_decimal(value: Any) -> Decimal | None:
    """Decimal from a number or numeric string (``"9.50"``); floats go through ``str``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = str(value)
    try:
        result = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return result if result.is_finite() else None


def to_int(value: Any) -> int | None:
    """Integer from ``767``, ``"767"`` or ``767.0``; ``None`` otherwise."""
    number = to_decimal(value)
    return None if number is None else int(number)


def code_matches(given: str, candidates: Iterable[str | None]) -> bool:
    """Whether ``given`` is one of the candidate codes, or the last 6+ characters of one.

    Case and surrounding spaces are ignored (users copy from QR apps and e-mails). Every
    candidate is compared in constant time and the loop never stops early, so the time
    taken does not tell how close a guess was.
    """
    guess = "".join(given.split()).upper()
    matched = False
    for candidate in candidates:
        if not candidate:
            continue
        code = candidate.strip().upper()
        if len(guess) > len(code) or (len(guess) < MIN_CODE_SUFFIX and len(guess) != len(code)) or not guess:
            hmac.compare_digest(code, code)
            continue
        matched |= hmac.compare_digest(code[-len(guess) :].encode(), guess.encode())
    return matched


def lpa_candidates(activation: str | None, *, smdp: str | None = None, matching_id: str | None = None) -> list[str]:
    """The codes a user may hold for one eSIM: the full LPA string and its matching id."""
    out: list[str] = []
    if activation:
        out.append(activation)
        parts = activation.split("$")
        if len(parts) >= 3 and parts[2]:
            out.append(parts[2])
    if matching_id:
        out.append(matching_id)
        if smdp:
            out.append(f"LPA:1${smdp}${matching_id}")
    return out


RECONCILE_SKEW = timedelta(minutes=5)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively (plain dicts as well as aiohttp's multidicts)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


def webhook_json(provider: str, body: bytes) -> Any:
    """The JSON of a webhook body, or ``WebhookRejected`` when oversized or malformed."""
    if len(body) > MAX_WEBHOOK_BYTES:
        raise WebhookRejected(provider, f"body larger than {MAX_WEBHOOK_BYTES} bytes")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(provider, "body is not JSON") from exc


def signature_ok(expected: Iterable[bytes], given: str) -> bool:
    """Whether ``given`` (hex, any case, or base64) equals one of the ``expected`` digests."""
    given = given.strip()
    decoded: list[bytes] = []
    with contextlib.suppress(ValueError):
        decoded.append(bytes.fromhex(given))
    with contextlib.suppress(binascii.Error, ValueError):
        decoded.append(base64.b64decode(given, validate=True))
    ok = False
    for digest in expected:
        for candidate in decoded:
            ok |= hmac.compare_digest(digest, candidate)
    return ok


def event(provider: str, iccid: str, kind: str, now: datetime, raw: Any, **values: Any) -> list[BalanceEvent]:
    """One webhook's event, as the list ``parse_webhook`` returns (``raw``: the payload)."""
    return [BalanceEvent(provider=provider, iccid=iccid, kind=kind, received_at=now, raw=dict(raw), **values)]


def data_event(
    provider: str,
    iccid: str,
    now: datetime,
    raw: Any,
    *,
    used: int | None,
    remaining: int | None = None,
    used_up: bool = False,
    expires_at: datetime | None = None,
) -> list[BalanceEvent]:
    """A data-usage push: ``depleted`` (nothing left, 100 % used) when ``used_up``, else
    ``data_threshold`` with the share used and the bytes left when the provider says."""
    if used_up:
        return event(provider, iccid, "depleted", now, raw, remaining_bytes=0, threshold_used_percent=100, expires_at=expires_at)
    return event(
        provider, iccid, "data_threshold", now, raw, threshold_used_percent=used, remaining_bytes=remaining, expires_at=expires_at
    )
