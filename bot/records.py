"""What the store keeps: frozen records and one codec to and from JSON documents.

Records are plain frozen dataclasses; ``to_doc``/``from_doc`` turn any of them (and the
provider value objects) into JSON-safe dicts: datetimes as UTC ISO strings, Decimals as
strings, enums by value, tuples as lists.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar, Union

from bot.names import PlatformName
from providers.base import Money

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class ReminderSettings:
    """When to warn about a line. Thresholds are remaining data (percent or bytes) and
    hours before expiry; ``target`` is ``group``, ``owner`` or ``both``."""

    enabled: bool = True
    data_percent: tuple[int, ...] = (20, 5)
    data_bytes: tuple[int, ...] = ()
    expiry_hours: tuple[int, ...] = (72, 24)
    target: str = "group"
    on_day: bool = False  # also the morning of the expiry date (end of quiet hours, household time)
    after_expiry: bool = False  # also once, a day after the plan expired
    repeat: bool = False  # critical alerts come back until someone presses Done (household only)
    repeat_hours: int = 4
    repeat_times: int = 3


@dataclasses.dataclass(frozen=True)
class KeepAlive:
    """A prepaid number that its operator closes after ``days`` without a top-up or use;
    ``used``: the last use typed by hand (``/used mom today``), beside the last ``/left``."""

    days: int
    used: datetime | None = None
    operator: str | None = None  # the rule offered for this operator, when one was chosen


@dataclasses.dataclass(frozen=True)
class Household:
    """A chat: a private chat is a household of one, a group chat a family. Chats of other
    platforms may join it (``/family join``): the household lists them in ``chats``
    (``platform:chat``), and each joined chat's own record names it in ``home``. A joined
    chat keeps only its language; everything else is the home household's."""

    id: str
    is_group: bool
    created_at: datetime
    language: str | None = None
    timezone: str = "Europe/Oslo"
    quiet_start: str | None = "22:00"
    quiet_end: str | None = "08:00"
    cap: Money | None = None
    reminders: ReminderSettings = ReminderSettings()
    active: bool = True
    language_hint: str | None = None  # private chats: the platform's language for the user
    chats: tuple[str, ...] = ()  # the chats joined to this household
    home: str | None = None  # this chat joined that household
    title: str = ""  # the group's title on its platform, as last seen (``messages.chat_title``); "" when it has none

    @property
    def family(self) -> bool:
        """A group, or a household that other chats joined: roles and owner names apply."""
        return self.is_group or bool(self.chats)


@dataclasses.dataclass(frozen=True)
class Line:
    """An eSIM (or a manual SIM) linked into a household. ``ref`` is the ICCID, or the
    manual provider's reference for a line tracked by hand."""

    id: str
    household_id: str
    label: str
    owner: str
    owner_name: str
    provider: str
    ref: str
    created_at: datetime
    reminders: ReminderSettings | None = None


class PendingKind(enum.StrEnum):
    TOPUP = "topup"
    UNLINK = "unlink"
    INVITE = "invite"  # a /family invite code (``line_id`` empty)


class PendingState(enum.StrEnum):
    OPEN = "open"
    PLACING = "placing"  # the order is on its way to the provider
    DONE = "done"
    CANCELLED = "cancelled"


@dataclasses.dataclass(frozen=True)
class Pending:
    """An action waiting for ``/confirm <token>``: a top-up or an unlink."""

    token: str
    kind: PendingKind
    household_id: str
    line_id: str
    actor: str
    created_at: datetime
    plan_id: str | None = None
    plan_title: str | None = None
    price: Money | None = None
    state: PendingState = PendingState.OPEN


@dataclasses.dataclass(frozen=True)
class OrderRecord:
    """A placed top-up with the household and line it belongs to."""

    client_ref: str
    household_id: str
    line_id: str
    provider: str
    iccid: str
    plan_id: str
    status: str
    created_at: datetime
    price: Money | None = None
    provider_order_id: str | None = None


@dataclasses.dataclass(frozen=True)
class Sample:
    """One observation of a line's data, kept compact for the forecast."""

    as_of: datetime
    remaining: int | None


@dataclasses.dataclass(frozen=True)
class AlertState:
    """What reminders already said about a line in its current bundle cycle."""

    cycle_started: datetime
    announced: tuple[ThresholdKey, ...] = ()
    expires_at: datetime | None = None
    total: int | None = None
    remaining: int | None = None
    last_as_of: datetime | None = None
    keepalive_at: datetime | None = None  # the keep-alive deadline the ``keepalive:`` keys were for


class AlertKind(enum.StrEnum):
    """What a reminder is about; a threshold key is the kind, or ``kind:threshold``."""

    DATA = "data"  # percent of the data left
    DATA_BYTES = "data_bytes"  # an absolute amount left
    EXPIRY = "expiry"  # hours before the plan expires
    DEPLETED = "depleted"
    EXPIRED = "expired"
    EXPIRY_DAY = "expiry_day"  # the morning of the expiry date
    AFTER_EXPIRY = "after_expiry"  # a day after the plan expired
    KEEPALIVE = "keepalive"  # hours before a prepaid number closes for want of a top-up or use
    UNREACHABLE = "unreachable"  # a note to the family: the owner (``note``) gets no private reminders
    # automatic renewal (``bot.renewal``): the notice before charging, the receipt, a failure
    # and an order a guard-rail stopped; ``Alert.plan``, ``token`` and ``note`` tell which
    AUTO_NOTICE = "auto_notice"
    AUTO_DONE = "auto_done"
    AUTO_FAILED = "auto_failed"
    AUTO_SKIPPED = "auto_skipped"


class ThresholdKey(str):
    """One reminder threshold, written ``kind`` or ``kind:value`` (``data:20``, ``expiry:24``,
    ``expired``): a value type that is its own text, so it is stored as it reads."""

    __slots__ = ()

    @classmethod
    def of(cls, kind: AlertKind, value: int | None = None) -> ThresholdKey:
        return cls(kind.value if value is None else f"{kind.value}:{value}")

    @property
    def kind(self) -> AlertKind:
        return AlertKind(self.partition(":")[0])

    @property
    def value(self) -> int | None:
        number = self.partition(":")[2]
        return int(number) if number else None


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DROPPED = "dropped"


@dataclasses.dataclass(frozen=True)
class Alert:
    """A reminder's content, rendered in the reader's language only when it is sent."""

    kind: AlertKind
    label: str
    provider: str
    threshold: int | None = None
    remaining: int | None = None
    total: int | None = None
    unlimited: bool = False
    expires_at: datetime | None = None
    runs_out_at: datetime | None = None
    operator: str | None = None  # a line tracked by hand: its operator, so the alert says /howto telenor
    plan: str | None = None  # automatic renewal: the plan ordered
    token: str | None = None  # automatic renewal: the decision's token (Cancel is /cancel <token>)
    note: str | None = None  # automatic renewal: why (dry, outage, cap, daily, price, a provider error)
    at: datetime | None = None  # automatic renewal: when the order is (to be) made
    price: Money | None = None  # automatic renewal: what the order costs (notice and receipt)
    queued: bool | None = None  # automatic renewal: the top-up starts when the plan ends (or at once)
    admins: tuple[str, ...] = ()  # automatic renewal: a stop at the cap goes to these admins privately too

    @property
    def key(self) -> ThresholdKey:
        """The threshold the alert headlines (``data:5``, ``expired``), as the rules name it."""
        return ThresholdKey.of(self.kind, self.threshold)


@dataclasses.dataclass(frozen=True)
class OutboxItem:
    """One alert on its way to one chat; ``state`` is pending, sent or dropped."""

    id: str
    line_id: str
    household_id: str
    platform: PlatformName
    chat: str
    alert: Alert
    created_at: datetime
    not_before: datetime
    private_user: str | None = None  # set: the owner's private chat
    mention: str | None = None
    attempts: int = 0
    state: OutboxState = OutboxState.PENDING
    note: str | None = None


def to_doc(value: Any) -> Any:
    """Any record, value object or primitive -> JSON-safe data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_doc(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "raw"}
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [to_doc(v) for v in value]
    if isinstance(value, dict):
        return {k: to_doc(v) for k, v in value.items()}
    return value


@cache
def _decoders(cls: Any) -> dict[str, Callable[[Any], Any]]:
    """One decoding function per field of ``cls``, worked out once from its type hints."""
    hints = typing.get_type_hints(cls)
    return {f.name: _decoder(hints[f.name]) for f in dataclasses.fields(cls)}


@cache
def field_checks(cls: Any) -> tuple[dict[str, Callable[[Any], Any]], frozenset[str]]:
    """What ``from_doc(cls, doc)`` needs to succeed, in parts: each field's decoder (each a
    pure function of its value) and the fields without a default (absent ones fail)."""
    missing = dataclasses.MISSING
    required = (f.name for f in dataclasses.fields(cls) if f.default is missing and f.default_factory is missing)
    return _decoders(cls), frozenset(required)


def from_doc(cls: type[T], doc: Any) -> T:
    """The inverse of ``to_doc`` for dataclass ``cls``; unknown keys are ignored."""
    decoders = _decoders(typing.cast(Any, cls))
    return cls(**{k: decoders[k](v) for k, v in doc.items() if k in decoders})


def _optional(inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else inner(value)


def _decoder(tp: Any) -> Callable[[Any], Any]:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _optional(_decoder(inner[0]))
    if origin is tuple:
        item = _decoder(typing.get_args(tp)[0])
        return _optional(lambda value: tuple(item(v) for v in value))
    if tp is datetime:
        return _optional(lambda value: datetime.fromisoformat(value).astimezone(UTC))
    if tp is Decimal:
        return _optional(Decimal)
    if isinstance(tp, type) and (issubclass(tp, enum.Enum) or (issubclass(tp, str) and tp is not str)):
        return _optional(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _optional(lambda value: from_doc(tp, value))
    return lambda value: value
