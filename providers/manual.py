"""Lines tracked by hand: Norwegian operator SIMs with no API.

The user types the plan size and expiry (and later what is left); the balance reports
exactly that, with ``as_of`` the time it was typed. There is nothing to buy here: the
bot points to the operator's own channels instead.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from providers.base import EsimBalance, Order, Plan, StateStore, Status
from providers.errors import NotFound, TopUpNotAllowed

NAME = "manual"


class ManualProvider:
    name = NAME
    supports_topup = False
    min_poll_seconds = 6 * 3600

    def __init__(self, state: StateStore, now: Callable[[], datetime]) -> None:
        self._state = state
        self._now = now

    async def track(self, *, operator: str, total_bytes: int, expires_at: datetime, now: datetime) -> str:
        ref = "manual-" + secrets.token_hex(6)
        await self._state.put_state(
            NAME,
            ref,
            {
                "operator": operator,
                "total": total_bytes,
                "remaining": total_bytes,
                "expires_at": expires_at.isoformat(),
                "as_of": now.isoformat(),
            },
        )
        return ref

    async def set_remaining(self, ref: str, remaining_bytes: int, now: datetime) -> None:
        entry = await self._entry(ref)
        total = max(int(str(entry["total"])), remaining_bytes)
        await self._state.put_state(NAME, ref, {**entry, "remaining": remaining_bytes, "as_of": now.isoformat(), "total": total})

    async def operator(self, ref: str) -> str | None:
        entry = await self._state.get_state(NAME, ref)
        return None if entry is None else str(entry["operator"])

    async def _entry(self, ref: str) -> dict[str, object]:
        entry = await self._state.get_state(NAME, ref)
        if entry is None:
            raise NotFound(NAME, "unknown manual line")
        return dict(entry)

    async def verify_claim(self, iccid: str, code: str) -> None:
        raise NotFound(NAME, "manual lines are added with /link manual")

    async def balance(self, iccid: str) -> EsimBalance:
        entry = await self._entry(iccid)
        expires = datetime.fromisoformat(str(entry["expires_at"]))
        remaining = int(entry["remaining"])  # type: ignore[call-overload]
        now = self._now()
        status = Status.EXPIRED if now >= expires else Status.DEPLETED if remaining <= 0 else Status.ACTIVE
        return EsimBalance(
            provider=NAME,
            iccid=iccid,
            status=status,
            as_of=datetime.fromisoformat(str(entry["as_of"])),
            data_total_bytes=int(entry["total"]),  # type: ignore[call-overload]
            data_remaining_bytes=remaining,
            expires_at=expires,
            raw=entry,
        )

    async def plans(self, iccid: str) -> list[Plan]:
        raise TopUpNotAllowed(NAME, "manual lines are renewed with the operator")

    async def topup(self, iccid: str, plan_id: str, *, client_ref: str) -> Order:
        raise TopUpNotAllowed(NAME, "manual lines are renewed with the operator")

    async def order_status(self, iccid: str, client_ref: str) -> Order:
        raise NotFound(NAME, "manual lines have no orders")

    async def aclose(self) -> None:
        return None
