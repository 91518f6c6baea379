"""eSIM Access payloads -> value objects, envelope errors -> the error tree (providers.md 2).

Every answer is ``{"success", "errorCode", "errorMsg", "obj"}`` with HTTP 200 even for
business errors; ``success`` is a bool or the string ``"true"``, ``errorCode`` a string or a
number. Money is integer USD x 10,000; data is bytes; query timestamps use ``+0000``,
webhooks ``Z``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from providers._common import data_event, event, parse_time, to_decimal, to_int, webhook_json
from providers._http import json_body, redact, status_error
from providers.base import BalanceEvent, EsimBalance, Money, Plan, Status
from providers.errors import (
    AuthError,
    NotFound,
    NotReady,
    PlanUnavailable,
    ProviderCreditExhausted,
    ProviderError,
    Refused,
    TopUpNotAllowed,
    Unavailable,
    Unreadable,
    Validation,
    WebhookRejected,
)

NAME = "esimaccess"
MONEY_SCALE = Decimal(10_000)

STATUS = {
    "GOT_RESOURCE": Status.NOT_ACTIVE,
    "IN_USE": Status.ACTIVE,
    "USED_UP": Status.DEPLETED,
    "USED_EXPIRED": Status.EXPIRED,
    "UNUSED_EXPIRED": Status.EXPIRED,
    "CANCEL": Status.TERMINATED,
    "REVOKED": Status.TERMINATED,
}
TERMINAL = {"CANCEL", "REVOKED"}

CODES: dict[str, type[ProviderError]] = {
    "000001": Unavailable,
    "000101": AuthError,
    "000102": AuthError,
    "000103": Validation,
    "000104": Validation,
    "000105": Validation,
    "000106": Validation,
    "000107": Validation,
    "101001": AuthError,
    "101002": AuthError,
    "101003": AuthError,
    "200002": TopUpNotAllowed,
    "200005": Validation,
    "200006": Validation,
    "200007": ProviderCreditExhausted,
    "200008": Validation,
    "200009": Validation,
    "200010": NotReady,
    "200011": PlanUnavailable,
    "310241": PlanUnavailable,
    "310243": PlanUnavailable,
    "310272": NotFound,
    "310403": NotFound,
    "900001": Unavailable,
}


def normal_code(code: Any) -> str:
    """``200010``, ``"200010"`` and ``101`` (a number that lost its zeros) -> six digits."""
    text = str(code).strip() if code is not None else ""
    return text.zfill(6) if text.isdigit() else text


def error_for(code: Any, message: Any) -> ProviderError:
    key = normal_code(code)
    cls = CODES.get(key)
    if cls is None:
        if key.startswith("0001") or key.startswith("1010"):
            cls = AuthError
        elif key.startswith("310"):
            cls = NotFound
        else:
            cls = Refused  # a no we have no code for: stop and tell the user, never retry blindly
    return cls(NAME, redact(f"{key or 'no code'}: {str(message or '')[:200]}"))


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true") or value == 1


def decode(response: httpx.Response) -> Any:
    """The ``obj`` of a successful envelope; raises the mapped error otherwise."""
    body = json_body(response)
    if not response.is_success:
        message = body.get("errorMsg") if isinstance(body, Mapping) else None
        raise status_error(NAME, response, str(message or ""))
    if not isinstance(body, Mapping):
        raise Unreadable(NAME, "answer is not a JSON object")
    if not is_true(body.get("success")):
        raise error_for(body.get("errorCode"), body.get("errorMsg"))
    return body.get("obj")


def sign(secret: str, timestamp: str, request_id: str, access_code: str, body: str) -> str:
    """RT-Signature: hex HMAC-SHA256 over timestamp + request id + access code + body."""
    message = (timestamp + request_id + access_code + body).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def money(value: Any, currency: Any = "USD") -> Money | None:
    amount = to_decimal(value)
    return None if amount is None else Money(amount / MONEY_SCALE, str(currency or "USD"))


def find_esim(obj: Any, iccid: str) -> Mapping[str, Any]:
    items = obj.get("esimList") if isinstance(obj, Mapping) else None
    for item in items or []:
        if isinstance(item, Mapping) and str(item.get("iccid")) == iccid:
            return item
    raise NotFound(NAME, "unknown eSIM")


def usage_entry(obj: Any, tran_no: str) -> Mapping[str, Any] | None:
    """The usage of one eSIM from ``esim/usage/query``, wrapped or as a bare array."""
    items = obj.get("esimUsageList") if isinstance(obj, Mapping) else obj
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and str(item.get("esimTranNo")) == tran_no:
            return item
    return None


def status_of(raw: Any) -> Status:
    text = str(raw or "").upper()
    if "SUSPEND" in text:
        return Status.SUSPENDED
    return STATUS.get(text, Status.UNKNOWN)


def balance(iccid: str, esim: Mapping[str, Any], usage: Mapping[str, Any] | None, now: datetime) -> EsimBalance:
    total = to_int(esim.get("totalVolume"))
    used = to_int(esim.get("orderUsage"))
    as_of = now
    if usage is not None:
        total = to_int(usage.get("totalData")) or total
        used = to_int(usage.get("dataUsage")) if usage.get("dataUsage") is not None else used
        as_of = parse_time(usage.get("lastUpdateTime")) or now
    remaining = None if total is None else max(0, total - (used or 0))
    return EsimBalance(
        provider=NAME,
        iccid=iccid,
        status=status_of(esim.get("esimStatus")),
        as_of=as_of,
        data_total_bytes=total,
        data_remaining_bytes=remaining,
        expires_at=parse_time(esim.get("expiredTime")),
        activated_at=parse_time(esim.get("activateTime")),
        raw={"esim": dict(esim), "usage": dict(usage) if usage is not None else None},
    )


def _days(duration: Any, unit: Any) -> int:
    count = to_int(duration) or 0
    return count * 30 if str(unit or "DAY").upper().startswith("MONTH") else count


def plan(item: Mapping[str, Any]) -> Plan | None:
    code, price = item.get("packageCode"), money(item.get("price"), item.get("currencyCode"))
    if not code or price is None:
        return None
    location = str(item.get("location") or "")
    return Plan(
        id=str(code),
        provider=NAME,
        title=str(item.get("name") or code),
        price=price,
        validity_days=_days(item.get("duration"), item.get("durationUnit")),
        data_bytes=to_int(item.get("volume")),
        is_topup=True,
        countries=tuple(c.strip() for c in location.split(",") if len(c.strip()) == 2),
        retail_price=money(item.get("retailPrice"), item.get("currencyCode")),
        raw=dict(item),
    )


def parse_webhook(headers: Mapping[str, str], body: bytes, now: datetime) -> list[BalanceEvent]:
    """One eSIM Access notification -> events. There is no signature to check: the web
    server must only route here from the secret path (``ESIMACCESS_WEBHOOK_PATH``).
    Raises ``WebhookRejected`` for a malformed or oversized body."""
    payload = webhook_json(NAME, body)
    if not isinstance(payload, Mapping) or not isinstance(payload.get("content", {}), Mapping):
        raise WebhookRejected(NAME, "not an eSIM Access notification")
    kind, content = str(payload.get("notifyType") or ""), payload.get("content") or {}
    iccid = str(content.get("iccid") or "")
    if not iccid:
        return []
    if kind == "DATA_USAGE":
        left = to_decimal(content.get("remainThreshold"))
        remaining = to_int(content.get("remain"))
        used = None if left is None else int((1 - left) * 100 + Decimal("0.5"))
        return data_event(
            NAME, iccid, now, payload, used=used, remaining=remaining, used_up=(left is not None and left <= 0) or remaining == 0
        )
    if kind == "VALIDITY_USAGE":
        expires = parse_time(content.get("expiredTime"))
        return event(NAME, iccid, "expiry_soon", now, payload, days_left=to_int(content.get("remain")), expires_at=expires)
    if kind == "ESIM_STATUS":
        status = status_of(content.get("esimStatus"))
        kind = {Status.DEPLETED: "depleted", Status.EXPIRED: "expired", Status.ACTIVE: "first_use"}.get(status, "")
        if kind:
            return event(NAME, iccid, kind, now, payload)
    return []
