"""eSIM Access adapter (providers.md section 2): every call a signed JSON POST.

Header ``RT-AccessCode``; with a secret key also ``RT-Timestamp``/``RT-RequestID``/
``RT-Signature`` (HMAC-SHA256). The whole account may make 8 requests a second. Top-ups
go through ``providers.orders.OrderFlow`` and carry our ``client_ref`` as ``transactionId``
(unique per account, so the provider itself refuses a second order under it); they are found
again on the eSIM's package list.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from providers import _esimaccess_parse as parse
from providers._common import RECONCILE_SKEW, code_matches, lpa_candidates, parse_time
from providers._http import DEADLINE, ProviderHttp
from providers._limits import Pacing, TokenBucket
from providers.base import BalanceEvent, EsimBalance, Order, OrderStatus, Plan, StateStore
from providers.errors import ClaimRejected, EsimTerminal, TopUpNotAllowed, TryLater
from providers.orders import OrderBook, OrderFlow, OrderingAdapter, OrderSteps

NAME = parse.NAME


class EsimAccessProvider(OrderingAdapter):
    """eSIM Access eSIMs: balance (bytes), per-eSIM top-ups, exactly-once top-ups."""

    name = NAME
    supports_topup = True
    min_poll_seconds = 3600  # usage lags 2-3 h and the account shares 8 req/s (providers.md 7.8)

    _http: ProviderHttp

    def __init__(
        self,
        *,
        access_code: str,
        secret_key: str | None = None,
        base_url: str = "https://api.esimaccess.com/api/v1/open",
        now: Callable[[], datetime],
        transport: httpx.AsyncBaseTransport | None = None,
        state: StateStore | None = None,
        pacing: Pacing | None = None,
        deadline: float = DEADLINE,
        rate_per_second: float = 8.0,
    ) -> None:
        self._access_code = access_code
        self._secret = secret_key
        self._now = now
        pacing = pacing or Pacing()
        self._http = ProviderHttp(
            NAME,
            base_url=base_url,
            transport=transport,
            deadline=deadline,
            max_concurrency=4,
            now=now,
            limiter=TokenBucket(rate_per_second, 1, pacing=pacing),
            pacing=pacing,  # evenly spaced: a burst draws 429s
        )
        self._orders = OrderFlow(NAME, OrderSteps(self._find_order, self._submit_order, self._read_order), state, now)

    async def _post(self, path: str, payload: Mapping[str, Any], *, read: bool = True) -> Any:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)

        def headers() -> dict[str, str]:
            out = {"RT-AccessCode": self._access_code, "Content-Type": "application/json"}
            if self._secret:
                stamp, request_id = str(int(self._now().timestamp() * 1000)), uuid.uuid4().hex
                out |= {
                    "RT-Timestamp": stamp,
                    "RT-RequestID": request_id,
                    "RT-Signature": parse.sign(self._secret, stamp, request_id, self._access_code, body),
                }
            return out

        return await self._http.call("POST", path, read=read, decode=parse.decode, content=body.encode(), headers=headers)

    async def _esim(self, iccid: str) -> Mapping[str, Any]:
        obj = await self._post("esim/query", {"iccid": iccid, "pager": {"pageNum": 1, "pageSize": 20}})
        return parse.find_esim(obj, iccid)

    # --- Provider protocol -----------------------------------------------------------------

    async def verify_claim(self, iccid: str, code: str) -> None:
        esim = await self._esim(iccid)
        if not code_matches(code, lpa_candidates(str(esim.get("ac") or "") or None)):
            raise ClaimRejected(NAME, "activation code does not match")

    async def balance(self, iccid: str) -> EsimBalance:
        esim = await self._esim(iccid)
        usage = None
        tran_no = str(esim.get("esimTranNo") or "")
        if tran_no:
            try:
                obj = await self._post("esim/usage/query", {"esimTranNoList": [tran_no]})
                usage = parse.usage_entry(obj, tran_no)
            except TryLater:
                usage = None  # the profile query already has totals; show those, dated now
        return parse.balance(iccid, esim, usage, self._now())

    async def plans(self, iccid: str) -> list[Plan]:
        obj = await self._post("package/list", {"type": "TOPUP", "iccid": iccid})
        items = obj.get("packageList") if isinstance(obj, Mapping) else None
        plans = [p for item in items or [] if isinstance(item, Mapping) if (p := parse.plan(item)) is not None]
        if not plans:
            esim = await self._esim(iccid)  # tell "gone for good" apart from "nothing on offer"
            if str(esim.get("esimStatus") or "").upper() in parse.TERMINAL:
                raise EsimTerminal(NAME, "eSIM was cancelled or revoked")
            raise TopUpNotAllowed(NAME, "no top-up packages for this eSIM")
        return plans

    def parse_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[BalanceEvent]:
        """Parse one notification (unsigned: the web server checks the secret path first)."""
        return parse.parse_webhook(headers, body, now)

    # --- the order flow's steps (providers.orders) ----------------------------------------

    async def _find_order(self, iccid: str, client_ref: str, entry: Mapping[str, Any] | None) -> Order | None:
        """The top-up on the eSIM's package list: by our ``transactionId`` where the list
        carries it, else the same package created since we sent (providers.md 2.4)."""
        if entry is None:
            return None  # the list cannot be searched by reference alone
        esim = await self._esim(iccid)
        plan_id, since = str(entry["plan_id"]), OrderBook.sent_at(entry) - RECONCILE_SKEW
        for package in esim.get("packageList") or []:
            if not isinstance(package, Mapping) or package.get("transactionId") not in (None, client_ref):
                continue
            created = parse_time(package.get("createTime"))
            if (
                str(package.get("packageCode") or "") in (plan_id, plan_id.removeprefix("TOPUP_"))
                and created is not None
                and created >= since
            ):
                return self._read_order(client_ref, entry, {"transactionId": client_ref, **package})
        return None

    async def _submit_order(self, iccid: str, plan_id: str, client_ref: str) -> Any:
        return await self._post("esim/topup", {"iccid": iccid, "packageCode": plan_id, "transactionId": client_ref}, read=False)

    def _read_order(self, client_ref: str, entry: Mapping[str, Any], answer: Any) -> Order:
        obj = answer if isinstance(answer, Mapping) else {}
        ref = obj.get("orderNo") or obj.get("transactionId") or client_ref
        return Order(
            client_ref=client_ref,
            provider=NAME,
            iccid=str(entry["iccid"]),
            plan_id=str(entry["plan_id"]),
            status=OrderStatus.COMPLETED,
            created_at=OrderBook.sent_at(entry),
            provider_order_id=str(ref),
            raw=dict(obj),
        )
