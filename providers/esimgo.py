"""eSIM Go adapter (providers.md section 3): ``X-API-Key``, 10 req/s per IP.

Balance aggregates the data assignments of ``/esims/{iccid}/bundles``. Top-ups are bundle
orders assigned to the ICCID (``allowReassign: false``, so an incompatible bundle is
refused instead of landing on a new eSIM), validated first, through
``providers.orders.OrderFlow``. eSIM Go has no idempotency key: an order is found again in
``GET /orders`` (same bundle, same ICCID, created since we sent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from providers import _esimgo_parse as parse
from providers._common import RECONCILE_SKEW, code_matches, lpa_candidates, parse_time, to_decimal, to_int
from providers._http import DEADLINE, ProviderHttp
from providers._limits import Pacing, TokenBucket
from providers.base import BalanceEvent, EsimBalance, Order, Plan, StateStore
from providers.errors import ClaimRejected, NotFound, PlanUnavailable, TopUpNotAllowed
from providers.orders import OrderBook, OrderFlow, OrderingAdapter, OrderSteps

NAME = parse.NAME
MAX_COMPAT_CHECKS = 8
MAX_CATALOGUE_PAGES = 20


class EsimGoProvider(OrderingAdapter):
    """eSIM Go eSIMs: balance in bytes, compatible bundles as top-ups, exactly-once orders."""

    name = NAME
    supports_topup = True
    min_poll_seconds = 900

    _http: ProviderHttp

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.esim-go.com/v2.5",
        now: Callable[[], datetime],
        transport: httpx.AsyncBaseTransport | None = None,
        state: StateStore | None = None,
        pacing: Pacing | None = None,
        deadline: float = DEADLINE,
        rate_per_second: float = 10.0,
    ) -> None:
        self._api_key = api_key
        self._now = now
        pacing = pacing or Pacing()
        self._http = ProviderHttp(
            NAME,
            base_url=base_url,
            transport=transport,
            deadline=deadline,
            max_concurrency=2,
            now=now,
            headers={"X-API-Key": api_key},
            limiter=TokenBucket(rate_per_second, 1, pacing=pacing),
            pacing=pacing,  # evenly spaced: a burst draws 429s
        )
        self._orders = OrderFlow(NAME, OrderSteps(self._find_order, self._submit_order, self._read_order), state, now)
        self._currency: str | None = None

    async def _get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return await self._http.call("GET", path, read=True, decode=parse.decode, params=params)

    async def _bundles(self, iccid: str) -> Any:
        return await self._get(f"esims/{iccid}/bundles", {"includeUsed": "true", "limit": 50})

    # --- Provider protocol -----------------------------------------------------------------

    async def verify_claim(self, iccid: str, code: str) -> None:
        esim = await self._get(f"esims/{iccid}")
        if not isinstance(esim, Mapping):
            raise NotFound(NAME, "unknown eSIM")
        candidates = lpa_candidates(None, smdp=esim.get("smdpAddress"), matching_id=esim.get("matchingId"))
        if not code_matches(code, candidates):
            raise ClaimRejected(NAME, "activation code does not match")

    async def balance(self, iccid: str) -> EsimBalance:
        esim = await self._get(f"esims/{iccid}")
        bundles = await self._bundles(iccid)
        return parse.balance(iccid, esim if isinstance(esim, Mapping) else {}, bundles, self._now())

    async def plans(self, iccid: str) -> list[Plan]:
        current = parse.items(await self._bundles(iccid), "bundles")
        catalogue = await self._catalogue()
        by_name = {str(b.get("name")): b for b in catalogue}
        countries = {
            c.get("iso")
            for b in current
            for c in by_name.get(str(b.get("name")), {}).get("countries") or []
            if isinstance(c, Mapping)
        }
        candidates = [
            b
            for b in catalogue
            if not countries or countries & {c.get("iso") for c in b.get("countries") or [] if isinstance(c, Mapping)}
        ]
        candidates.sort(key=lambda b: to_decimal(b.get("price")) or 0)
        currency = await self._org_currency()
        plans = []
        for bundle in candidates[:MAX_COMPAT_CHECKS]:
            answer = await self._get(f"esims/{iccid}/compatible/{bundle.get('name')}")
            if isinstance(answer, Mapping) and answer.get("compatible") is True:
                found = parse.plan(bundle, currency)
                if found is not None:
                    plans.append(found)
        if not plans:
            raise TopUpNotAllowed(NAME, "no compatible bundles for this eSIM")
        return plans

    def parse_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[BalanceEvent]:
        """Verify (V3 signature with the API key) and parse one usage callback."""
        return parse.parse_webhook(headers, body, now, api_key=self._api_key)

    # --- helpers ---------------------------------------------------------------------------

    async def _org_currency(self) -> str:
        if self._currency is None:
            org = await self._get("organisation")
            first = org.get("organisations", [org])[0] if isinstance(org, Mapping) else {}
            self._currency = str(first.get("currency") or "USD") if isinstance(first, Mapping) else "USD"
        return self._currency

    async def _catalogue(self) -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        for page in range(1, MAX_CATALOGUE_PAGES + 1):
            body = await self._get("catalogue", {"page": page, "perPage": 200})
            out.extend(parse.items(body, "bundles"))
            if not isinstance(body, Mapping) or page >= (to_int(body.get("pageCount")) or 1):
                break
        return out

    # --- the order flow's steps (providers.orders) ----------------------------------------

    async def _find_order(self, iccid: str, client_ref: str, entry: Mapping[str, Any] | None) -> Order | None:
        """The order we know the reference of, else the same bundle for the same ICCID in the
        order list, created since we sent (eSIM Go orders carry no field of ours)."""
        if entry is None:
            return None
        if entry.get("order_id"):
            return self._read_order(client_ref, entry, await self._get(f"orders/{entry['order_id']}"))
        since = OrderBook.sent_at(entry) - RECONCILE_SKEW
        for order in parse.items(await self._get("orders", {"page": 1, "perPage": 50}), "orders"):
            created = parse_time(order.get("createdDate"))
            if (
                created is not None
                and created >= since
                and any(
                    line.get("item") == entry["plan_id"] and iccid in (line.get("iccids") or [])
                    for line in parse.order_lines(order)
                )
            ):
                return self._read_order(client_ref, entry, order)
        return None

    async def _submit_order(self, iccid: str, plan_id: str, client_ref: str) -> Any:
        """Validate (no charge), then the transaction; only the transaction can have bought."""
        request = {
            "assign": True,
            "order": [{"type": "bundle", "quantity": 1, "item": plan_id, "iccids": [iccid], "allowReassign": False}],
        }
        check = await self._http.call("POST", "orders", read=True, decode=parse.decode, json={"type": "validate", **request})
        if isinstance(check, Mapping) and check.get("valid") is False:
            raise PlanUnavailable(NAME, str(check.get("message") or "order would not be valid")[:200])
        return await self._http.call("POST", "orders", read=False, decode=parse.decode, json={"type": "transaction", **request})

    def _read_order(self, client_ref: str, entry: Mapping[str, Any], answer: Any) -> Order:
        body: Mapping[str, Any] = answer if isinstance(answer, Mapping) else {}
        return Order(
            client_ref=client_ref,
            provider=NAME,
            iccid=str(entry["iccid"]),
            plan_id=str(entry["plan_id"]),
            status=parse.order_status(body.get("status")),
            created_at=parse_time(body.get("createdDate")) or OrderBook.sent_at(entry),
            provider_order_id=str(body["orderReference"]) if body.get("orderReference") else entry.get("order_id"),
            price=parse.order_price(body),
            raw=dict(body),
        )
