"""Airalo Partner API v2 adapter (providers.md section 1).

OAuth2 client credentials: the token is cached (``expires_in``, at most 24 h) and fetched
again on any 401. Limits: 5 req/s per company, 10/min per ICCID on the per-eSIM endpoints,
3/min on the token endpoint. Top-ups go through ``providers.orders.OrderFlow``: they carry
our ``client_ref`` as ``description`` and, Airalo having no idempotency key, are found again
with ``GET /orders?filter[description]=`` (a substring filter: matched exactly here).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from providers import _airalo_parse as parse
from providers._common import code_matches, lpa_candidates, to_int
from providers._http import DEADLINE, ProviderHttp
from providers._limits import Pacing, TokenBucket
from providers.base import BalanceEvent, EsimBalance, Order, OrderStatus, Plan, StateStore
from providers.errors import AuthError, ClaimRejected, NotFound, TokenRejected, TopUpNotAllowed
from providers.orders import OrderFlow, OrderingAdapter, OrderSteps

NAME = parse.NAME
TOKEN_MAX_AGE = timedelta(hours=24)


class AiraloProvider(OrderingAdapter):
    """Airalo eSIMs: balance, per-eSIM top-ups, exactly-once top-up orders, signed webhooks."""

    name = NAME
    supports_topup = True
    min_poll_seconds = 1800  # usage is cached 20 min and limited per ICCID (providers.md 7.8)

    _http: ProviderHttp

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        base_url: str = "https://partners-api.airalo.com/v2",
        now: Callable[[], datetime],
        transport: httpx.AsyncBaseTransport | None = None,
        state: StateStore | None = None,
        pacing: Pacing | None = None,
        deadline: float = DEADLINE,
        rate_per_second: float = 5.0,
    ) -> None:
        self._client_id = client_id
        self._secret = client_secret
        self._now = now
        self._pacing = pacing or Pacing()
        self._http = ProviderHttp(
            NAME,
            base_url=base_url,
            transport=transport,
            deadline=deadline,
            max_concurrency=5,
            now=now,
            limiter=TokenBucket(rate_per_second, 1, pacing=self._pacing),  # evenly spaced: a burst draws 429s
            pacing=self._pacing,
        )
        self._per_iccid = TokenBucket(10 / 60, 5, pacing=self._pacing)
        self._token_bucket = TokenBucket(3 / 60, 3, pacing=self._pacing)
        self._token: str | None = None
        self._token_expires = datetime.min.replace(tzinfo=UTC)
        self._token_lock = asyncio.Lock()
        self._orders = OrderFlow(NAME, OrderSteps(self._find_order, self._submit_order, self._read_order), state, now)

    # --- auth ------------------------------------------------------------------------------

    async def _bearer(self, *, renew: bool = False, stale: str | None = None) -> str:
        async with self._token_lock:
            if renew and self._token is not None and self._token != stale:
                return self._token  # another caller already renewed it
            if not renew and self._token is not None and self._now() < self._token_expires:
                return self._token
            body = await self._http.call(
                "POST",
                "token",
                read=True,
                decode=parse.decode,
                buckets=((self._token_bucket, None),),
                data={"client_id": self._client_id, "client_secret": self._secret, "grant_type": "client_credentials"},
            )
            data = parse.data_of(body)
            token = data.get("access_token") if isinstance(data, Mapping) else None
            if not token:
                raise AuthError(NAME, "token answer without access_token")
            seconds = to_int(data.get("expires_in")) or 3600
            self._token = str(token)
            self._token_expires = self._now() + min(timedelta(seconds=max(60, seconds) - 60), TOKEN_MAX_AGE)
            return self._token

    async def _call(self, method: str, path: str, *, read: bool, iccid: str | None = None, **kw: Any) -> Any:
        """One authorised call; a 401 renews the token once (a rejected request bought nothing)."""
        buckets = ((self._per_iccid, iccid),) if iccid else ()
        token = await self._bearer()
        try:
            return await self._http.call(
                method, path, read=read, decode=parse.decode, buckets=buckets, headers={"Authorization": f"Bearer {token}"}, **kw
            )
        except TokenRejected:
            pass
        token = await self._bearer(renew=True, stale=token)
        return await self._http.call(
            method, path, read=read, decode=parse.decode, buckets=buckets, headers={"Authorization": f"Bearer {token}"}, **kw
        )

    # --- Provider protocol -----------------------------------------------------------------

    async def verify_claim(self, iccid: str, code: str) -> None:
        body = await self._call("GET", f"sims/{iccid}", read=True, iccid=iccid)
        data = parse.data_of(body)
        if not isinstance(data, Mapping):
            raise NotFound(NAME, "unknown eSIM")
        candidates = lpa_candidates(
            str(data.get("qrcode") or "") or None, smdp=data.get("lpa"), matching_id=data.get("matching_id")
        )
        if not code_matches(code, candidates):
            raise ClaimRejected(NAME, "activation code does not match")

    async def balance(self, iccid: str) -> EsimBalance:
        body = await self._call("GET", f"sims/{iccid}/usage", read=True, iccid=iccid)
        return parse.balance(iccid, body, self._now())

    async def plans(self, iccid: str) -> list[Plan]:
        body = await self._call("GET", f"sims/{iccid}/topups", read=True, iccid=iccid)
        items = body.get("data") if isinstance(body, Mapping) else None
        pricing = body.get("pricing") if isinstance(body, Mapping) else None
        plans = [
            p
            for item in items or []
            if isinstance(item, Mapping)
            if (p := parse.plan(item, pricing if isinstance(pricing, Mapping) else None)) is not None
        ]
        if not plans:
            raise TopUpNotAllowed(NAME, "no top-up packages for this eSIM")
        return plans

    def parse_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[BalanceEvent]:
        """Verify and parse one Airalo notification (see ``_airalo_parse.parse_webhook``)."""
        return parse.parse_webhook(headers, body, now, secret=self._secret)

    # --- the order flow's steps (providers.orders) ----------------------------------------

    async def _find_order(self, iccid: str, client_ref: str, entry: Mapping[str, Any] | None) -> Order | None:
        """Our order by its description (the filter matches substrings: compare exactly)."""
        body = await self._call(
            "GET", "orders", read=True, params={"filter[description]": client_ref, "include": "status", "limit": 50}
        )
        items = body.get("data") if isinstance(body, Mapping) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping) and item.get("description") == client_ref:
                return parse.order(client_ref, iccid, item)
        return None

    async def _submit_order(self, iccid: str, plan_id: str, client_ref: str) -> Any:
        return await self._call(
            "POST", "orders/topups", read=False, json={"package_id": plan_id, "iccid": iccid, "description": client_ref}
        )

    def _read_order(self, client_ref: str, entry: Mapping[str, Any], answer: Any) -> Order:
        return parse.order(client_ref, str(entry["iccid"]), parse.data_of(answer), status=OrderStatus.COMPLETED)
