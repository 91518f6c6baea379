"""eSIM Go adapter (providers.md section 3): ``X-API-Key``, 10 req/s per IP.

Balance aggregates the data assignments of ``/esims/{iccid}/bundles``. Top-ups are bundle
orders assigned to the ICCID (``allowReassign: false``, so an incompatible bundle is
refused instead of landing on a new eSIM), validated first. eSIM Go has no idempotency key:
the order book records each ``client_ref`` before sending, and an ambiguous failure is
reconciled from ``GET /orders`` (same bundle, same ICCID, created since we sent) instead of
ordering again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from providers import _esimgo_parse as parse
from providers._common import (
    RECONCILE_SKEW,
    OrderBook,
    code_matches,
    lpa_candidates,
    parse_time,
    pending_order,
    to_decimal,
    to_int,
)
from providers._http import ProviderHttp
from providers._limits import Pacing, TokenBucket
from providers.base import BalanceEvent, EsimBalance, Order, OrderStatus, Plan, StateStore
from providers.errors import ClaimRejected, NotFound, OrderPending, PlanUnavailable, ProviderError, TopUpNotAllowed

NAME = parse.NAME
MAX_COMPAT_CHECKS = 8
MAX_CATALOGUE_PAGES = 20


class EsimGoProvider:
    """eSIM Go eSIMs: balance in bytes, compatible bundles as top-ups, exactly-once orders."""

    name = NAME
    supports_topup = True
    min_poll_seconds = 900

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.esim-go.com/v2.5",
        now: Callable[[], datetime],
        transport: httpx.AsyncBaseTransport | None = None,
        state: StateStore | None = None,
        pacing: Pacing | None = None,
        timeout: float = 20.0,
        rate_per_second: float = 10.0,
    ) -> None:
        self._api_key = api_key
        self._now = now
        pacing = pacing or Pacing()
        self._http = ProviderHttp(
            NAME, base_url=base_url, transport=transport, timeout=timeout, max_concurrency=2, now=now,
            headers={"X-API-Key": api_key},
            limiter=TokenBucket(rate_per_second, 1, pacing=pacing), pacing=pacing,  # evenly spaced: a burst draws 429s
        )
        self._book = OrderBook(NAME, state)
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
        countries = {c.get("iso") for b in current for c in by_name.get(str(b.get("name")), {}).get("countries") or []
                     if isinstance(c, Mapping)}
        candidates = [b for b in catalogue if not countries
                      or countries & {c.get("iso") for c in b.get("countries") or [] if isinstance(c, Mapping)}]
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

    async def topup(self, iccid: str, plan_id: str, *, client_ref: str) -> Order:
        entry = await self._book.get(client_ref)
        if entry is not None and entry.get("status") != "FAILED":
            return await self._reconcile(iccid, client_ref, entry)
        request = {"assign": True, "order": [{"type": "bundle", "quantity": 1, "item": plan_id,
                                              "iccids": [iccid], "allowReassign": False}]}
        check = await self._http.call("POST", "orders", read=True, decode=parse.decode,
                                      json={"type": "validate", **request})
        if isinstance(check, Mapping) and check.get("valid") is False:
            raise PlanUnavailable(NAME, str(check.get("message") or "order would not be valid")[:200])
        entry = await self._book.sent(client_ref, iccid=iccid, plan_id=plan_id, at=self._now())
        try:
            body = await self._http.call("POST", "orders", read=False, decode=parse.decode,
                                         json={"type": "transaction", **request})
        except OrderPending:
            return await self._reconcile(iccid, client_ref, entry)
        except ProviderError:
            await self._book.settle(client_ref, self._order(client_ref, entry, {}, OrderStatus.FAILED))
            raise
        order = self._order(client_ref, entry, body if isinstance(body, Mapping) else {})
        await self._book.settle(client_ref, order)
        return order

    async def order_status(self, iccid: str, client_ref: str) -> Order:
        entry = await self._book.get(client_ref)
        if entry is None:
            raise NotFound(NAME, "no order with this reference")
        return await self._reconcile(iccid, client_ref, entry)

    async def aclose(self) -> None:
        await self._http.aclose()

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

    def _order(self, client_ref: str, entry: Mapping[str, Any], body: Mapping[str, Any],
               status: OrderStatus | None = None) -> Order:
        return Order(
            client_ref=client_ref, provider=NAME, iccid=str(entry["iccid"]), plan_id=str(entry["plan_id"]),
            status=status or parse.order_status(body.get("status")),
            created_at=parse_time(body.get("createdDate")) or OrderBook.sent_at(entry),
            provider_order_id=str(body["orderReference"]) if body.get("orderReference") else entry.get("order_id"),
            price=parse.order_price(body), raw=dict(body),
        )

    async def _reconcile(self, iccid: str, client_ref: str, entry: Mapping[str, Any]) -> Order:
        """Re-read the order we know of, or find it in the order list; PENDING when absent."""
        try:
            if entry.get("order_id"):
                body = await self._get(f"orders/{entry['order_id']}")
                order = self._order(client_ref, entry, body if isinstance(body, Mapping) else {})
            else:
                found = await self._find(iccid, entry)
                if found is None:
                    return pending_order(NAME, client_ref, entry, raw={"reconciled": "not in the order list"})
                order = self._order(client_ref, entry, found)
        except ProviderError:
            if entry.get("status") in ("COMPLETED", "FAILED"):
                return self._order(client_ref, entry, {}, OrderStatus(entry["status"]))
            return pending_order(NAME, client_ref, entry, raw={"reconciled": "order list unreadable"})
        await self._book.settle(client_ref, order)
        return order

    async def _find(self, iccid: str, entry: Mapping[str, Any]) -> Mapping[str, Any] | None:
        since = OrderBook.sent_at(entry) - RECONCILE_SKEW
        body = await self._get("orders", {"page": 1, "perPage": 50})
        for order in parse.items(body, "orders"):
            created = parse_time(order.get("createdDate"))
            if created is None or created < since:
                continue
            for line in parse.order_lines(order):
                if line.get("item") == entry["plan_id"] and iccid in (line.get("iccids") or []):
                    return order
        return None
