"""eSIM Go v2.4/v2.5 payloads -> value objects, ``{"message"}`` errors -> the error tree.

Units (providers.md 3 and 7.6): assignment quantities in bytes (decimal GB), catalogue
``dataAmount`` in decimal MB (x 10^6), money in the organisation's currency (major units),
timestamps RFC 3339 ``Z`` or epoch milliseconds (``firstInstalledDateTime``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from providers._common import data_event, event, header, parse_time, signature_ok, to_decimal, to_int, webhook_json
from providers._http import json_body, redact, status_error
from providers.base import BalanceEvent, EsimBalance, Money, OrderStatus, Plan, Status
from providers.errors import (
    AuthError,
    NotFound,
    PlanUnavailable,
    ProviderCreditExhausted,
    ProviderError,
    TopUpNotAllowed,
    Unreadable,
    Validation,
    WebhookRejected,
)

NAME = "esimgo"
DECIMAL_MB = 1_000_000

# Best assignment first: the status of the eSIM is that of its best assignment (7.2).
STATE_ORDER = (
    ("active", Status.ACTIVE),
    ("processing", Status.NOT_ACTIVE),
    ("queued", Status.NOT_ACTIVE),
    ("depleted", Status.DEPLETED),
    ("expired", Status.EXPIRED),
    ("lapsed", Status.EXPIRED),
    ("revoked", Status.TERMINATED),
)
LIVE = {"active", "processing", "queued"}

ORDER_STATUS = {
    "completed": OrderStatus.COMPLETED,
    "complete": OrderStatus.COMPLETED,
    "success": OrderStatus.COMPLETED,
    "processing": OrderStatus.PENDING,
    "pending": OrderStatus.PENDING,
    "failed": OrderStatus.FAILED,
    "cancelled": OrderStatus.FAILED,
    "canceled": OrderStatus.FAILED,
}

_ICCID_TALK = re.compile(r"iccid|esim|not found|does not belong|not associated", re.I)
_NOT_COMPATIBLE = re.compile(r"compatib", re.I)
_NO_MONEY = re.compile(r"insufficient|balance|credit", re.I)
_NO_BUNDLE = re.compile(r"bundle.*(not found|invalid|does not exist|unknown|unavailable)|no bundles", re.I)


def error_for(response: httpx.Response) -> ProviderError:
    body = json_body(response)
    message = str(body.get("message", "")) if isinstance(body, Mapping) else ""
    detail = redact(message[:200]) or f"HTTP {response.status_code}"
    code = response.status_code
    if code in (400, 403, 404, 422):
        if _NOT_COMPATIBLE.search(message):
            return TopUpNotAllowed(NAME, detail)
        if _NO_MONEY.search(message):
            return ProviderCreditExhausted(NAME, detail)
        if _NO_BUNDLE.search(message):
            return PlanUnavailable(NAME, detail)
    if code == 403:
        # One status for a bad key and for "this ICCID is not yours": tell them apart by text.
        return NotFound(NAME, detail) if _ICCID_TALK.search(message) else AuthError(NAME, detail)
    if code == 400:
        return Validation(NAME, detail)
    return status_error(NAME, response, detail)


def decode(response: httpx.Response) -> Any:
    if not response.is_success:
        raise error_for(response)
    body = json_body(response)
    if body is None:
        raise Unreadable(NAME, "answer is not JSON")
    return body


def items(body: Any, key: str) -> list[Mapping[str, Any]]:
    """A list that comes either wrapped (``{"bundles": [...]}``) or bare (``[...]``)."""
    found = body.get(key) if isinstance(body, Mapping) else body
    return [x for x in found if isinstance(x, Mapping)] if isinstance(found, list) else []


def data_assignments(bundles: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    out = []
    for bundle in bundles:
        for a in bundle.get("assignments") or []:
            if isinstance(a, Mapping) and str(a.get("callTypeGroup") or "data").lower() == "data":
                out.append(a)
    return out


def balance(iccid: str, esim: Mapping[str, Any], bundles_body: Any, now: datetime) -> EsimBalance:
    assignments = data_assignments(items(bundles_body, "bundles"))
    states = {str(a.get("bundleState") or "").lower() for a in assignments}
    status = next((s for state, s in STATE_ORDER if state in states), Status.UNKNOWN)
    live = [a for a in assignments if str(a.get("bundleState") or "").lower() in LIVE]
    unlimited = any(a.get("unlimited") is True for a in live)
    total = remaining = None
    if live and not unlimited:
        total = sum(to_int(a.get("initialQuantity")) or 0 for a in live)
        remaining = min(total, sum(max(0, to_int(a.get("remainingQuantity")) or 0) for a in live))
    elif status is Status.DEPLETED:
        total = sum(to_int(a.get("initialQuantity")) or 0 for a in assignments if str(a.get("bundleState")).lower() == "depleted")
        remaining = 0
    ends = [t for a in live if (t := parse_time(a.get("endTime"))) is not None]
    return EsimBalance(
        provider=NAME,
        iccid=iccid,
        status=status,
        as_of=now,
        data_total_bytes=total,
        data_remaining_bytes=remaining,
        data_unlimited=unlimited,
        expires_at=max(ends) if ends else None,
        activated_at=parse_time(esim.get("firstInstalledDateTime")),
        raw={"esim": {k: v for k, v in esim.items() if k not in ("pin", "puk")}, "bundles": bundles_body},
    )


def plan(item: Mapping[str, Any], currency: str) -> Plan | None:
    name, price = item.get("name"), to_decimal(item.get("price"))
    if not name or price is None:
        return None
    unlimited = item.get("unlimited") is True
    mb = to_decimal(item.get("dataAmount"))
    countries = tuple(str(c.get("iso")) for c in item.get("countries") or [] if isinstance(c, Mapping) and c.get("iso"))
    return Plan(
        id=str(name),
        provider=NAME,
        title=str(item.get("description") or name),
        price=Money(price, currency),
        validity_days=to_int(item.get("duration")) or 0,
        data_unlimited=unlimited,
        data_bytes=None if unlimited or mb is None else int(mb * DECIMAL_MB),
        is_topup=True,
        countries=countries,
        raw=dict(item),
    )


def order_status(raw: Any) -> OrderStatus:
    return ORDER_STATUS.get(str(raw or "").strip().lower(), OrderStatus.UNKNOWN)


def order_lines(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [x for x in order.get("order") or [] if isinstance(x, Mapping)]


def order_price(order: Mapping[str, Any]) -> Money | None:
    total = to_decimal(order.get("total"))
    return None if total is None else Money(total, str(order.get("currency") or "USD"))


# --- callbacks -----------------------------------------------------------------------------


def sign(body: bytes, api_key: str) -> bytes:
    return hmac.new(api_key.encode(), body, hashlib.sha256).digest()


def _quantity(value: Any, initial: Decimal | None) -> int | None:
    """Bytes; legacy v2.0/2.1 callbacks sent MB-looking floats (``1000.00``): scale those."""
    number = to_decimal(value)
    if number is None:
        return None
    if initial is not None and initial < 100_000:
        return int(number * DECIMAL_MB)
    return int(number)


def parse_webhook(headers: Mapping[str, str], body: bytes, now: datetime, *, api_key: str) -> list[BalanceEvent]:
    """Verify ``X-Signature-SHA256`` (HMAC-SHA256 of the raw body keyed with the API key,
    hex or base64: the sources disagree) and turn a usage callback into events.
    Raises ``WebhookRejected``; unsigned V2 callbacks are rejected too."""
    payload = webhook_json(NAME, body)
    given = header(headers, "X-Signature-SHA256")
    if not given:
        raise WebhookRejected(NAME, "missing X-Signature-SHA256 (configure V3 callbacks)")
    if not signature_ok([sign(body, api_key)], given):
        raise WebhookRejected(NAME, "bad X-Signature-SHA256")
    if not isinstance(payload, Mapping):
        raise WebhookRejected(NAME, "body is not a JSON object")
    iccid = str(payload.get("iccid") or "")
    bundle = payload.get("bundle") if isinstance(payload.get("bundle"), Mapping) else {}
    if not iccid or not isinstance(bundle, Mapping):
        return []
    alert = str(payload.get("alertType") or "").lower()
    ends = parse_time(bundle.get("endTime"))
    if alert == "firstuse":
        return event(NAME, iccid, "first_use", now, payload, expires_at=ends)
    if alert != "utilisation" or bundle.get("unlimited") is True:
        return []
    initial_raw = to_decimal(bundle.get("initialQuantity"))
    initial = _quantity(bundle.get("initialQuantity"), initial_raw)
    remaining = _quantity(bundle.get("remainingQuantity"), initial_raw)
    used = None
    if initial and remaining is not None:
        used = int(Decimal(initial - remaining) * 100 / Decimal(initial) + Decimal("0.5"))
    gone = remaining is not None and remaining <= 0
    return data_event(NAME, iccid, now, payload, used=used, remaining=remaining, used_up=gone, expires_at=ends)
