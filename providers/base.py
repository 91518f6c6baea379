"""Provider protocol and the provider-neutral value objects (providers.md section 7).

Every adapter returns these objects: data in integer bytes, money as ``Money`` with a
``Decimal``, every timestamp an aware UTC ``datetime``. ``raw`` keeps the payload the
values came from. Adapters raise only ``providers.errors.ProviderError`` subclasses.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

GB = 1024**3
MB = 1024**2

MAX_WEBHOOK_BYTES = 64 * 1024  # a provider's webhook body larger than this is refused unread


class Status(enum.StrEnum):
    NOT_ACTIVE = "NOT_ACTIVE"
    ACTIVE = "ACTIVE"
    DEPLETED = "DEPLETED"
    EXPIRED = "EXPIRED"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"
    UNKNOWN = "UNKNOWN"


class OrderStatus(enum.StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def to_json(self) -> dict[str, str]:
        return {"amount": str(self.amount), "currency": self.currency}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Money:
        return cls(Decimal(str(data["amount"])), str(data["currency"]))


@dataclass(frozen=True)
class EsimBalance:
    provider: str
    iccid: str
    status: Status
    as_of: datetime
    data_total_bytes: int | None = None
    data_remaining_bytes: int | None = None
    data_unlimited: bool = False
    voice_total_min: int | None = None
    voice_remaining_min: int | None = None
    sms_total: int | None = None
    sms_remaining: int | None = None
    expires_at: datetime | None = None
    activated_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Plan:
    id: str
    provider: str
    title: str
    price: Money
    validity_days: int
    data_bytes: int | None = None
    data_unlimited: bool = False
    is_topup: bool = True
    voice_min: int | None = None
    sms: int | None = None
    countries: tuple[str, ...] = ()
    retail_price: Money | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Order:
    client_ref: str
    provider: str
    iccid: str
    plan_id: str
    status: OrderStatus
    created_at: datetime
    provider_order_id: str | None = None
    kind: str = "topup"
    price: Money | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class BalanceEvent:
    """A push from a provider (webhook) or a poll result worth evaluating at once."""

    provider: str
    iccid: str
    kind: str  # data_threshold | expiry_soon | depleted | expired | first_use
    received_at: datetime
    threshold_used_percent: int | None = None
    days_left: int | None = None
    remaining_bytes: int | None = None
    expires_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


class StateStore(Protocol):
    """Durable key-value state a provider may keep (demo day 0, manual lines).

    ``get_state`` returns ``None`` for a missing key; ``put_state`` replaces the value and
    is durable when it returns (an order book entry must be on disk before the request
    leaves). Values are JSON-compatible.
    """

    async def get_state(self, namespace: str, key: str) -> Any: ...

    async def put_state(self, namespace: str, key: str, value: Any) -> None: ...


@runtime_checkable
class Provider(Protocol):
    """One source of eSIM lines.

    Contract: every method is a coroutine that returns the value objects above or raises a
    ``ProviderError``; ``iccid`` is normalised digits. ``verify_claim`` raises ``NotFound``
    when this provider does not know the eSIM and ``ClaimRejected`` when the code does not
    match. ``topup`` is called once per ``client_ref`` (persisted by the caller before the
    call); on an ambiguous failure it reconciles and returns a PENDING order instead of
    retrying, so an error from it means nothing was bought (``providers.orders``).
    ``min_poll_seconds`` is the shortest interval at which one eSIM may be polled.
    """

    name: str
    supports_topup: bool
    min_poll_seconds: int

    async def verify_claim(self, iccid: str, code: str) -> None: ...

    async def balance(self, iccid: str) -> EsimBalance: ...

    async def plans(self, iccid: str) -> list[Plan]: ...

    async def topup(self, iccid: str, plan_id: str, *, client_ref: str) -> Order: ...

    async def order_status(self, iccid: str, client_ref: str) -> Order: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class HandTracked(Provider, Protocol):
    """A capability: a provider whose lines the user keeps by hand (operator SIMs without an API).

    The core asks ``isinstance(provider, HandTracked)``, never the provider's name. Such a
    line has no number to show and is renewed with its operator (``supports_topup`` is
    false): its title and its how-to name the ``operator``. ``track`` stores a new line's
    plan and returns its reference (used where an ICCID would be); ``set_remaining`` records
    what the user reports is left. ``balance(ref)`` then reports these figures with
    ``as_of`` the time they were typed.
    """

    async def track(self, *, operator: str, total_bytes: int, expires_at: datetime, now: datetime) -> str: ...

    async def set_remaining(self, ref: str, remaining_bytes: int, now: datetime) -> None: ...

    async def operator(self, ref: str) -> str | None: ...
