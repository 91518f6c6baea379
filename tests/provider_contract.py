"""The provider contract suite: every adapter (demo, manual, real ones) must pass it.

Subclass ``ProviderContract`` in a test module and define the fixtures ``provider`` (an
adapter instance, already set up) and ``sim`` (a ``ContractSim`` describing one eSIM the
provider knows, with a valid code and a plan that can be bought, if any).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

import pytest

from providers.base import EsimBalance, OrderStatus, Plan, Provider, Status
from providers.errors import ClaimRejected, NotFound, ProviderError, TopUpNotAllowed

UNKNOWN_ICCID = "8999999999999999994"


@dataclass(frozen=True)
class ContractSim:
    iccid: str
    code: str | None  # None: the provider has no claim check (manual)
    topup_plan: str | None  # None: this line cannot be topped up


class ProviderContract:
    async def test_is_a_provider(self, provider: Provider) -> None:
        assert isinstance(provider, Provider)
        assert provider.name and provider.min_poll_seconds > 0

    async def test_balance_is_normalised(self, provider: Provider, sim: ContractSim) -> None:
        bal = await provider.balance(sim.iccid)
        assert isinstance(bal, EsimBalance)
        assert bal.provider == provider.name and bal.iccid == sim.iccid
        assert isinstance(bal.status, Status)
        assert bal.as_of.tzinfo is not None and bal.as_of.utcoffset() == UTC.utcoffset(None)
        if bal.expires_at is not None:
            assert bal.expires_at.utcoffset() == UTC.utcoffset(None)
        if bal.data_unlimited:
            assert bal.data_remaining_bytes is None
        elif bal.data_remaining_bytes is not None:
            assert isinstance(bal.data_remaining_bytes, int) and bal.data_remaining_bytes >= 0
            assert bal.data_total_bytes is None or bal.data_remaining_bytes <= bal.data_total_bytes

    async def test_unknown_esim_is_not_found(self, provider: Provider) -> None:
        with pytest.raises(NotFound):
            await provider.balance(UNKNOWN_ICCID)

    async def test_claim(self, provider: Provider, sim: ContractSim) -> None:
        if sim.code is None:
            with pytest.raises(NotFound):
                await provider.verify_claim(sim.iccid, "WHATEVER")
            return
        await provider.verify_claim(sim.iccid, sim.code)
        with pytest.raises(ClaimRejected):
            await provider.verify_claim(sim.iccid, "WRONG-CODE-123")
        with pytest.raises(NotFound):
            await provider.verify_claim(UNKNOWN_ICCID, sim.code)

    async def test_plans_and_topup_once(self, provider: Provider, sim: ContractSim) -> None:
        if sim.topup_plan is None:
            with pytest.raises(TopUpNotAllowed):
                await provider.plans(sim.iccid)
            return
        plans = await provider.plans(sim.iccid)
        assert plans and all(isinstance(p, Plan) for p in plans)
        assert all(isinstance(p.price.amount, Decimal) and len(p.price.currency) == 3 for p in plans)
        assert sim.topup_plan in {p.id for p in plans}
        first = await provider.topup(sim.iccid, sim.topup_plan, client_ref="contract-ref-1")
        again = await provider.topup(sim.iccid, sim.topup_plan, client_ref="contract-ref-1")
        assert first.client_ref == again.client_ref == "contract-ref-1"
        assert first.status in (OrderStatus.COMPLETED, OrderStatus.PENDING)
        assert first.provider_order_id == again.provider_order_id
        status = await provider.order_status(sim.iccid, "contract-ref-1")
        assert status.client_ref == "contract-ref-1"

    async def test_errors_are_provider_errors(self, provider: Provider, sim: ContractSim) -> None:
        with pytest.raises(ProviderError):
            await provider.topup(sim.iccid, "no-such-plan-xyz", client_ref="contract-ref-2")
