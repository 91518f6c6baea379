"""Airalo Partner API v2 payloads -> value objects, and Airalo errors -> the error tree.

Pure functions (no I/O) so every row of providers.md 7.2/7.6/7.7 is table-tested. Units:
data in MB (binary: x 1,048,576), money in major units (numbers or strings), timestamps
naive (UTC) or ISO with offset.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from providers._common import data_event, event, header, parse_time, signature_ok, to_decimal, to_int, webhook_json
from providers._http import json_body, redact, status_error
from providers.base import MB, BalanceEvent, EsimBalance, Money, Order, OrderStatus, Plan, Status
from providers.errors import (
    AuthError,
    EsimTerminal,
    NotFound,
    OurBug,
    PlanUnavailable,
    ProviderCreditExhausted,
    ProviderError,
    Refused,
    TokenRejected,
    TopUpNotAllowed,
    Unavailable,
    Unreadable,
    Validation,
    WebhookRejected,
)

NAME = "airalo"

STATUS = {
    "NOT_ACTIVE": Status.NOT_ACTIVE,
    "ACTIVE": Status.ACTIVE,
    "FINISHED": Status.DEPLETED,
    "EXPIRED": Status.EXPIRED,
    "RECYCLED": Status.TERMINATED,
    "UNKNOWN": Status.UNKNOWN,
}

# Business codes (HTTP 422, 403 for 89): providers.md 1.11.
CODES: dict[int, type[ProviderError]] = {
    11: ProviderCreditExhausted,
    13: Unavailable,
    14: Validation,
    23: TopUpNotAllowed,
    33: Unavailable,
    34: PlanUnavailable,
    43: Validation,
    53: Unavailable,
    73: EsimTerminal,
    89: AuthError,
}

ORDER_STATUS = {
    "completed": OrderStatus.COMPLETED,
    "pending": OrderStatus.PENDING,
    "processing": OrderStatus.PENDING,
    "failed": OrderStatus.FAILED,
    "cancelled": OrderStatus.FAILED,
    "canceled": OrderStatus.FAILED,
    "refunded": OrderStatus.FAILED,
}

_PLAN_GONE = re.compile(r"invalid|not.?found|not available|out of stock|does not exist", re.I)


def error_for(status: int, body: Any, response: httpx.Response | None = None) -> ProviderError:
    """Map one failed Airalo answer (status + decoded body) onto the error tree."""
    if isinstance(body, Mapping) and isinstance(body.get("code"), int | str) and "reason" in body:
        code = to_int(body["code"])
        cls = CODES.get(code or -1)
        reason = f"code {code}: {str(body.get('reason'))[:200]}"
        if cls is not None:
            return cls(NAME, _masked(reason))
        return Validation(NAME, _masked(reason)) if status == 422 else Refused(NAME, _masked(reason))
    message = ""
    fields: Mapping[str, Any] = {}
    if isinstance(body, Mapping):
        meta = body.get("meta")
        message = str(meta.get("message", "")) if isinstance(meta, Mapping) else str(body.get("message", ""))
        data = body.get("data")
        fields = data if isinstance(data, Mapping) else {}
    if status == 401:
        return TokenRejected(NAME, message or "HTTP 401")
    if status == 403:
        return AuthError(NAME, message or "HTTP 403")
    if status == 404:
        return NotFound(NAME, message or "not found")
    if status == 422 or status == 400:
        package_problem = str(fields.get("package_id", ""))
        if package_problem and _PLAN_GONE.search(package_problem):
            return PlanUnavailable(NAME, f"package_id: {package_problem[:120]}")
        detail = "; ".join(f"{k}: {str(v)[:80]}" for k, v in fields.items()) or message
        return Validation(NAME, _masked(detail or f"HTTP {status}"))
    if response is not None:
        return status_error(NAME, response, message)
    return OurBug(NAME, message or f"HTTP {status}")


def decode(response: httpx.Response) -> Any:
    """Body of a successful answer; anything else raises the mapped error."""
    body = json_body(response)
    if response.is_success:
        if body is None and response.status_code != 204:
            raise Unreadable(NAME, "answer is not JSON")
        return body
    raise error_for(response.status_code, body, response)


def data_of(body: Any) -> Any:
    if not isinstance(body, Mapping) or "data" not in body:
        raise Unavailable(NAME, "answer has no data")
    return body["data"]


def _masked(text: str) -> str:
    return redact(text)


def _mb(value: Any) -> int | None:
    number = to_int(value)
    return None if number is None else number * MB


def balance(iccid: str, body: Any, now: datetime) -> EsimBalance:
    """``GET /sims/{iccid}/usage`` -> EsimBalance (unlimited counters are ignored)."""
    data = data_of(body)
    if not isinstance(data, Mapping):
        raise Unavailable(NAME, "usage answer has no object")
    status = STATUS.get(str(data.get("status") or "UNKNOWN").upper(), Status.UNKNOWN)
    unlimited = data.get("is_unlimited") is True
    total, remaining = _mb(data.get("total")), _mb(data.get("remaining"))
    if unlimited or not total:
        # Unlimited packages report 0/0 (and Sandbox may say is_unlimited false): 0 of 0 is
        # "unknown", never "depleted".
        total = remaining = None
    elif remaining is not None:
        remaining = max(0, min(remaining, total))
    voice_total, sms_total = to_int(data.get("total_voice")), to_int(data.get("total_text"))
    return EsimBalance(
        provider=NAME,
        iccid=iccid,
        status=status,
        as_of=now,
        data_total_bytes=total,
        data_remaining_bytes=remaining,
        data_unlimited=unlimited,
        voice_total_min=voice_total or None,
        voice_remaining_min=to_int(data.get("remaining_voice")) if voice_total else None,
        sms_total=sms_total or None,
        sms_remaining=to_int(data.get("remaining_text")) if sms_total else None,
        expires_at=parse_time(data.get("expired_at")),
        raw=dict(body),
    )


def _usd(item: Mapping[str, Any], key: str) -> Decimal | None:
    prices = item.get("prices")
    if isinstance(prices, Mapping) and isinstance(prices.get(key), Mapping):
        found = to_decimal(prices[key].get("USD"))
        if found is not None:
            return found
    return to_decimal(item.get("price" if key == "recommended_retail_price" else key))


def plan(item: Mapping[str, Any], pricing: Mapping[str, Any] | None) -> Plan | None:
    """One ``/sims/{iccid}/topups`` entry; ``None`` when it has no id or no price."""
    plan_id = item.get("id")
    retail = _usd(item, "recommended_retail_price")
    cost = _usd(item, "net_price")
    if cost is None and retail is not None:
        # Discount pricing: net_price is null and a discount percentage applies instead.
        discount = to_decimal((pricing or {}).get("discount_percentage")) or Decimal(0)
        cost = (retail * (100 - discount) / 100).quantize(Decimal("0.01"))
    if not plan_id or cost is None:
        return None
    unlimited = item.get("is_unlimited") is True
    return Plan(
        id=str(plan_id),
        provider=NAME,
        title=str(item.get("title") or plan_id),
        price=Money(cost, "USD"),
        validity_days=to_int(item.get("day")) or 0,
        data_bytes=None if unlimited else _mb(item.get("amount")),
        data_unlimited=unlimited,
        is_topup=True,
        voice_min=to_int(item.get("voice")),
        sms=to_int(item.get("text")),
        retail_price=Money(retail, "USD") if retail is not None else None,
        raw=dict(item),
    )


def order(client_ref: str, iccid: str, data: Mapping[str, Any], *, status: OrderStatus | None = None) -> Order:
    """An order object (POST answer or list item; list items carry prices as strings)."""
    if status is None:
        raw_status = data.get("status")
        slug = raw_status.get("slug") if isinstance(raw_status, Mapping) else raw_status
        status = ORDER_STATUS.get(str(slug).lower(), OrderStatus.UNKNOWN) if slug else OrderStatus.COMPLETED
    price = to_decimal(data.get("net_price"))
    if price is None:
        price = to_decimal(data.get("total_amount_paid")) or to_decimal(data.get("price"))
    created = parse_time(data.get("created_at"))
    if created is None:
        raise Unavailable(NAME, "order without created_at")
    return Order(
        client_ref=client_ref,
        provider=NAME,
        iccid=iccid,
        plan_id=str(data.get("package_id") or ""),
        status=status,
        created_at=created,
        provider_order_id=str(data["id"]) if data.get("id") is not None else None,
        price=Money(price, str(data.get("currency") or "USD")) if price is not None else None,
        raw=dict(data),
    )


# --- webhooks ------------------------------------------------------------------------------

_LEVEL = re.compile(r"^\s*(\d+)\s*(%|days?)\s*$", re.I)
_SIM_TYPE = re.compile(r"^(data|expire)_(\d+)$")


def _sdk_form(body: bytes) -> bytes | None:
    """The official SDK's signing form: compact JSON, raw UTF-8, ``/`` escaped as ``\\/``."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/").encode()


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def parse_webhook(headers: Mapping[str, str], body: bytes, now: datetime, *, secret: str) -> list[BalanceEvent]:
    """Verify ``airalo-signature`` (HMAC-SHA512 keyed with the client secret, over the raw
    body or the SDK's re-encoded form) and turn a low-data/expiry notification into events.

    Credit-limit and async-order notifications concern the partner account, not a line:
    they verify but yield no event. Raises ``WebhookRejected``.
    """
    payload = webhook_json(NAME, body)
    given = header(headers, "airalo-signature")
    if not given:
        raise WebhookRejected(NAME, "missing airalo-signature header")
    forms = [body] + [f for f in (_sdk_form(body),) if f is not None and f != body]
    expected = [hmac.new(secret.encode(), form, hashlib.sha512).digest() for form in forms]
    if not signature_ok(expected, given):
        raise WebhookRejected(NAME, "bad airalo-signature")
    if not isinstance(payload, Mapping):
        raise WebhookRejected(NAME, "body is not a JSON object")
    iccid = str(payload.get("iccid") or "")
    if not iccid:
        return []
    level = str(payload.get("level") or "")
    match = _LEVEL.match(level)
    if match is None:
        sim = _SIM_TYPE.match(str(payload.get("type") or ""))
        if sim is None:
            return []
        number, unit = int(sim.group(2)), "%" if sim.group(1) == "data" else "days"
    else:
        number, unit = int(match.group(1)), match.group(2).lower()
    if unit == "%":
        return data_event(NAME, iccid, now, payload, used=number)
    return event(NAME, iccid, "expiry_soon", now, payload, days_left=number)
