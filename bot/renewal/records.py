"""The stored shapes of automatic renewal: a line's rule and a decision to order."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any

from providers.base import Money

ADMINS = "renewal"  # the state namespace of the admins seen acting in a family, key ``admins/<household>``


def admins_key(household_id: str) -> str:
    return f"admins/{household_id}"


class Kind(enum.StrEnum):
    LOW = "low"  # top up when low: percent, amount or days to expiry
    CYCLE = "cycle"  # renew every month, quarter or year on a day


class Period(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class Step(enum.StrEnum):
    NOTICED = "noticed"  # the notice went out; the order waits for ``charge_at``
    PLACING = "placing"  # reserved: the order is on its way (or its outcome unclear)
    DONE = "done"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # a guard-rail said no (``reason``)
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class AutoRule:
    """One rule of a line. ``price`` is the plan's price when the rule was set (a drift of
    more than 10 % stops it); ``stopped`` says why a rule no longer orders."""

    line_id: str
    kind: Kind
    plan_id: str
    price: Money
    set_by: str
    set_at: datetime
    title: str = ""  # the plan as the provider names it when the rule was set
    percent: int | None = None
    below_bytes: int | None = None
    days_left: int | None = None
    period: Period | None = None
    day: int | None = None
    gap_hours: int = 24
    monthly_limit: int = 4
    stopped: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.update(price=self.price.to_json(), set_at=self.set_at.isoformat())
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AutoRule:
        fields = dict(data)
        fields.update(
            kind=Kind(data["kind"]),
            price=Money.from_json(data["price"]),
            set_at=datetime.fromisoformat(data["set_at"]),
            period=Period(data["period"]) if data.get("period") else None,
        )
        return cls(**fields)


@dataclasses.dataclass(frozen=True)
class Decision:
    """A trigger that fired: ``token`` (derived from line and trigger) is the confirmation's
    token and the order's client reference; ``attempt`` 1 is the one retry."""

    token: str
    household_id: str
    line_id: str
    kind: Kind
    trigger: str
    plan_id: str
    price: Money
    made_at: datetime
    charge_at: datetime
    step: Step = Step.NOTICED
    reason: str | None = None
    attempt: int = 0
    title: str = ""  # the plan's name, for the notice and the receipt

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.update(price=self.price.to_json(), made_at=self.made_at.isoformat(), charge_at=self.charge_at.isoformat())
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        fields = dict(data)
        fields.update(
            kind=Kind(data["kind"]),
            step=Step(data["step"]),
            price=Money.from_json(data["price"]),
            made_at=datetime.fromisoformat(data["made_at"]),
            charge_at=datetime.fromisoformat(data["charge_at"]),
        )
        return cls(**fields)
