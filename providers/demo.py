"""The embedded demo provider: fixed eSIMs and plans, usage simulated from the clock.

Day 0 is the clock time the data file was created (kept in the state store, so a restart
continues the simulation). Active limited lines use 300 MB per simulated day, evenly.
A top-up adds its data (a depleted or expired line starts afresh with it) and extends
expiry to max(expiry, now) + validity.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from providers.base import GB, MB, EsimBalance, Money, Order, OrderStatus, Plan, StateStore, Status
from providers.errors import ClaimRejected, NotFound, PlanUnavailable

NAME = "demo"
USE_PER_DAY = 300 * MB
DAY = timedelta(days=1)


@dataclass(frozen=True)
class _Sim:
    code: str
    total: int | None  # None: unlimited
    remaining: int | None
    expires_day: float


SIMS = {
    "8947000000000000012": _Sim("DEMO12", 10 * GB, round(7.5 * GB), 20),
    "8947000000000000020": _Sim("DEMO20", 5 * GB, round(0.4 * GB), 12),  # 8 % of 5 GB
    "8947000000000000038": _Sim("DEMO38", 3 * GB, 2 * GB, 2),
    "8947000000000000046": _Sim("DEMO46", 3 * GB, 0, -3),
    "8947000000000000053": _Sim("DEMO53", None, None, 5),
    "8947000000000000061": _Sim("DEMO61", 1 * GB, 0, 10),
}

_NOK = "NOK"
PLANS = (
    Plan("demo-1gb-7d", NAME, "1 GB / 7 days", Money(Decimal("49"), _NOK), 7, data_bytes=1 * GB),
    Plan("demo-5gb-30d", NAME, "5 GB / 30 days", Money(Decimal("149"), _NOK), 30, data_bytes=5 * GB),
    Plan("demo-10gb-30d", NAME, "10 GB / 30 days", Money(Decimal("249"), _NOK), 30, data_bytes=10 * GB),
)
UNLIMITED_PLAN = Plan("demo-unl-7d", NAME, "Unlimited / 7 days", Money(Decimal("199"), _NOK), 7, data_unlimited=True)


class DemoProvider:
    """Deterministic demo eSIMs (see design.md section 7); needs no credentials."""

    name = NAME
    supports_topup = True

    def __init__(self, state: StateStore, now: Callable[[], datetime], *, poll_seconds: int = 3600) -> None:
        self._state = state
        self._now = now
        self.min_poll_seconds = poll_seconds
        self._day0: datetime | None = None
        self._started = now()  # day 0 if the state has none yet: when this data first saw the demo

    async def day0(self) -> datetime:
        """The moment the demo started: kept in the state, so restarts continue the simulation."""
        if self._day0 is None:
            stored = await self._state.get_state(NAME, "day0")
            if stored is None:
                stored = self._started.isoformat()
                await self._state.put_state(NAME, "day0", stored)
            self._day0 = datetime.fromisoformat(stored)
        return self._day0

    def _sim(self, iccid: str) -> _Sim:
        sim = SIMS.get(iccid)
        if sim is None:
            raise NotFound(NAME, "unknown demo eSIM")
        return sim

    async def verify_claim(self, iccid: str, code: str) -> None:
        sim = self._sim(iccid)
        given = code.strip().upper()
        # bytes: compare_digest refuses non-ASCII str, and a code typed with a CJK keyboard must be a "no"
        if (
            len(given) < 6
            or len(given) > len(sim.code)
            or not hmac.compare_digest(sim.code[-len(given) :].encode(), given.encode())
        ):
            raise ClaimRejected(NAME, "activation code does not match")

    async def _simulate(self, iccid: str, until: datetime) -> tuple[int | None, int | None, datetime, bool]:
        """Replay usage and top-ups up to ``until``: (total, remaining, expiry, unlimited)."""
        sim = self._sim(iccid)
        total, remaining = sim.total, sim.remaining
        unlimited = sim.total is None
        day0 = await self.day0()
        expiry = day0 + DAY * sim.expires_day
        cursor = day0
        for topup in await self._state.get_state(NAME, f"topups/{iccid}") or []:
            at = datetime.fromisoformat(topup["at"])
            remaining = _use(remaining, cursor, min(at, until), expiry)
            cursor = max(cursor, at)
            if at > until:
                break
            plan = _plan(topup["plan"])
            if plan.data_unlimited:
                unlimited, total, remaining = True, None, None
            elif remaining and at < expiry and not unlimited:
                total, remaining = (total or 0) + (plan.data_bytes or 0), remaining + (plan.data_bytes or 0)
            else:
                unlimited, total, remaining = False, plan.data_bytes, plan.data_bytes
            expiry = max(expiry, at) + DAY * plan.validity_days
        remaining = _use(remaining, cursor, until, expiry)
        return total, remaining, expiry, unlimited

    async def balance(self, iccid: str) -> EsimBalance:
        now = self._now()
        total, remaining, expiry, unlimited = await self._simulate(iccid, now)
        if now >= expiry:
            status = Status.EXPIRED
        elif not unlimited and not remaining:
            status = Status.DEPLETED
        else:
            status = Status.ACTIVE
        return EsimBalance(
            provider=NAME,
            iccid=iccid,
            status=status,
            as_of=now,
            data_total_bytes=total,
            data_remaining_bytes=remaining,
            data_unlimited=unlimited,
            expires_at=expiry,
            activated_at=await self.day0(),
        )

    async def plans(self, iccid: str) -> list[Plan]:
        return [UNLIMITED_PLAN] if self._sim(iccid).total is None else list(PLANS)

    async def topup(self, iccid: str, plan_id: str, *, client_ref: str) -> Order:
        if plan_id not in {p.id for p in await self.plans(iccid)}:
            raise PlanUnavailable(NAME, "no such demo plan for this eSIM")
        existing = await self._find(iccid, client_ref)
        if existing is not None:
            return existing
        now = self._now()
        key = f"topups/{iccid}"
        entry = {"at": now.isoformat(), "plan": plan_id, "ref": client_ref}
        await self._state.put_state(NAME, key, [*(await self._state.get_state(NAME, key) or []), entry])
        return self._order(iccid, entry)

    async def order_status(self, iccid: str, client_ref: str) -> Order:
        found = await self._find(iccid, client_ref)
        if found is None:
            raise NotFound(NAME, "no such demo order")
        return found

    async def _find(self, iccid: str, client_ref: str) -> Order | None:
        for entry in await self._state.get_state(NAME, f"topups/{iccid}") or []:
            if entry["ref"] == client_ref:
                return self._order(iccid, entry)
        return None

    def _order(self, iccid: str, entry: dict[str, str]) -> Order:
        plan = _plan(entry["plan"])
        return Order(
            client_ref=entry["ref"],
            provider=NAME,
            iccid=iccid,
            plan_id=plan.id,
            status=OrderStatus.COMPLETED,
            created_at=datetime.fromisoformat(entry["at"]),
            provider_order_id=f"demo-{entry['ref'][:8]}",
            price=plan.price,
        )

    async def aclose(self) -> None:
        return None


def _plan(plan_id: str) -> Plan:
    for plan in (*PLANS, UNLIMITED_PLAN):
        if plan.id == plan_id:
            return plan
    raise PlanUnavailable(NAME, "unknown demo plan")


def _use(remaining: int | None, start: datetime, end: datetime, expiry: datetime) -> int | None:
    """Data left after using 300 MB/day from ``start`` to ``end`` (no use after expiry)."""
    if remaining is None:
        return None
    active = (min(end, expiry) - start).total_seconds()
    if active <= 0:
        return remaining
    return max(0, remaining - int(USE_PER_DAY * active / DAY.total_seconds()))
