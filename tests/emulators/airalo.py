"""Airalo Partner API v2 emulator (providers.md section 1), served under ``/v2``.

Route names for ``inject``: token, sim, usage, topups, order_topup, orders.
Awkward cases replayed: ``api.succes`` typo on usage, unlimited with 0/0 counters, RECYCLED
(code 73 on top-ups), 404/422/429 bodies, string prices in order lists, ``per_page`` as a
string, a token that can be expired at will (``expire_tokens``) so the next call gets 401.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web

from tests.emulators import (
    AIRALO_CLIENT_ID,
    AIRALO_CLIENT_SECRET,
    AIRALO_CODE,
    AIRALO_ICCID,
    AIRALO_NO_TOPUP_ICCID,
    AIRALO_RECYCLED_ICCID,
    AIRALO_SMALL_PLAN,
    AIRALO_TOPUP_PLAN,
    AIRALO_UNLIMITED_ICCID,
)
from tests.emulators._server import Emulator, json_response, stamp

NOT_FOUND = {"data": [], "meta": {"message": "messages.resource_not_found"}}
UNAUTHORIZED = {"data": [], "meta": {"message": "Unauthenticated."}}
TOPUPS = {
    AIRALO_TOPUP_PLAN: {
        "id": AIRALO_TOPUP_PLAN,
        "type": "topup",
        "price": 10,
        "net_price": 8,
        "amount": 3072,
        "day": 30,
        "is_unlimited": False,
        "title": "3 GB - 100 SMS - 100 Mins - 30 Days",
        "data": "3 GB",
        "short_info": "This eSIM doesn't come with a phone number.",
        "voice": 100,
        "text": 100,
        "prices": {"net_price": {"USD": 8, "EUR": 7.36}, "recommended_retail_price": {"USD": 10, "EUR": 9.2}},
        "new_field_nobody_knows": {"ignored": True},
    },
    AIRALO_SMALL_PLAN: {
        "id": AIRALO_SMALL_PLAN,
        "type": "topup",
        "price": "4.50",
        "net_price": "3.60",
        "amount": 1024,
        "day": 7,
        "is_unlimited": False,
        "title": "1 GB - 7 Days",
        "data": "1 GB",
        "voice": None,
        "text": None,
    },
}


@dataclass
class AiraloSim:
    matching_id: str
    status: str = "ACTIVE"
    total: int = 2048
    remaining: int = 767
    unlimited: bool = False
    total_voice: int = 0
    remaining_voice: int = 0
    total_text: int = 0
    remaining_text: int = 0
    expires_in_days: float | None = 20
    topups: tuple[str, ...] = (AIRALO_TOPUP_PLAN, AIRALO_SMALL_PLAN)


def _default_sims() -> dict[str, AiraloSim]:
    return {
        AIRALO_ICCID: AiraloSim(AIRALO_CODE, total_voice=100, remaining_voice=40, total_text=100, remaining_text=7),
        AIRALO_UNLIMITED_ICCID: AiraloSim("AIRUNL4M1T", total=0, remaining=0, unlimited=True),
        AIRALO_RECYCLED_ICCID: AiraloSim("AIRRECYC73", status="RECYCLED", total=0, remaining=0, expires_in_days=None),
        AIRALO_NO_TOPUP_ICCID: AiraloSim("AIRNOTOP23", status="FINISHED", remaining=0, topups=()),
    }


@dataclass
class AiraloEmulator(Emulator):
    prefix: str = "/v2"
    sims: dict[str, AiraloSim] = field(default_factory=_default_sims)
    tokens: set[str] = field(default_factory=set)
    orders: list[dict[str, Any]] = field(default_factory=list)
    discount_pricing: bool = False

    def expire_tokens(self) -> None:
        """Every issued token stops working: the next call answers 401."""
        self.tokens.clear()

    def topup_orders(self, iccid: str | None = None) -> list[dict[str, Any]]:
        return [o for o in self.orders if iccid is None or o["iccid"] == iccid]

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v2/token", self.token, name="token"),
            web.get("/v2/sims/{iccid}", self.sim, name="sim"),
            web.get("/v2/sims/{iccid}/usage", self.usage, name="usage"),
            web.get("/v2/sims/{iccid}/topups", self.topups, name="topups"),
            web.post("/v2/orders/topups", self.order_topup, name="order_topup"),
            web.get("/v2/orders", self.list_orders, name="orders"),
        ]

    def _authorised(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in self.tokens

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if not form.get("client_id"):
            return json_response(
                {"data": {"client_id": "The client id field is required."}, "meta": {"message": "the parameter is invalid"}}, 422
            )
        if form.get("client_id") != AIRALO_CLIENT_ID or form.get("client_secret") != AIRALO_CLIENT_SECRET:
            return json_response({"data": [], "meta": {"message": "Client authentication failed"}}, 401)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return json_response(
            {"data": {"token_type": "Bearer", "expires_in": 31622400, "access_token": token}, "meta": {"message": "success"}}
        )

    def _sim_or_error(self, request: web.Request) -> tuple[str, AiraloSim | None, web.Response | None]:
        iccid = request.match_info["iccid"]
        if not self._authorised(request):
            return iccid, None, json_response(UNAUTHORIZED, 401)
        sim = self.sims.get(iccid)
        return iccid, sim, None if sim else json_response(NOT_FOUND, 404)

    async def sim(self, request: web.Request) -> web.Response:
        iccid, sim, error = self._sim_or_error(request)
        if error or sim is None:
            return error or json_response(NOT_FOUND, 404)
        return json_response(
            {
                "data": {
                    "id": 102795,
                    "created_at": "2024-05-14 11:48:47",
                    "iccid": iccid,
                    "lpa": "lpa.airalo.com",
                    "matching_id": sim.matching_id,
                    "qrcode": f"LPA:1$lpa.airalo.com${sim.matching_id}",
                    "qrcode_url": "https://airalo.example/qr",
                    "airalo_code": None,
                    "apn_type": "automatic",
                    "apn_value": None,
                    "is_roaming": True,
                    "confirmation_code": None,
                    "msisdn": None,
                },
                "meta": {"message": "success"},
            }
        )

    async def usage(self, request: web.Request) -> web.Response:
        _, sim, error = self._sim_or_error(request)
        if error or sim is None:
            return error or json_response(NOT_FOUND, 404)
        expired = None if sim.expires_in_days is None else stamp(self.now() + timedelta(days=sim.expires_in_days))
        recycled = sim.status == "RECYCLED"
        return json_response(
            {
                "data": {
                    "remaining": sim.remaining,
                    "total": sim.total,
                    "expired_at": expired,
                    "is_unlimited": None if recycled else sim.unlimited,
                    "status": sim.status,
                    "remaining_voice": sim.remaining_voice,
                    "remaining_text": sim.remaining_text,
                    "total_voice": sim.total_voice,
                    "total_text": sim.total_text,
                },
                "meta": {"message": "api.succes"},
            }
        )

    def _recycled(self, iccid: str) -> web.Response:
        return json_response(
            {"code": 73, "reason": f"The eSIM with iccid {iccid} has been recycled. It can no longer be used or topped up."}, 422
        )

    def _pricing(self) -> dict[str, Any]:
        if self.discount_pricing:
            return {"model": "discount_pricing", "discount_percentage": 20}
        return {"model": "net_pricing", "discount_percentage": 0}

    def _package(self, plan_id: str) -> dict[str, Any]:
        package = dict(TOPUPS[plan_id])
        if self.discount_pricing:
            package["net_price"] = None
            package.pop("prices", None)
        return package

    async def topups(self, request: web.Request) -> web.Response:
        iccid, sim, error = self._sim_or_error(request)
        if error or sim is None:
            return error or json_response(NOT_FOUND, 404)
        if sim.status == "RECYCLED":
            return self._recycled(iccid)
        if not sim.topups:
            return json_response({"data": []})
        return json_response({"pricing": self._pricing(), "data": [self._package(p) for p in sim.topups]})

    async def order_topup(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return json_response(UNAUTHORIZED, 401)
        if request.content_type == "application/json":
            fields = json.loads(await request.read() or b"{}")
        else:
            fields = dict(await request.post())
        iccid, plan_id = str(fields.get("iccid") or ""), str(fields.get("package_id") or "")
        missing = {k: f"The {k.replace('_', ' ')} field is required." for k in ("iccid", "package_id") if not fields.get(k)}
        if missing:
            return json_response({"data": missing, "meta": {"message": "the parameter is invalid"}}, 422)
        sim = self.sims.get(iccid)
        if sim is None:
            return json_response(NOT_FOUND, 404)
        if sim.status == "RECYCLED":
            return self._recycled(iccid)
        if plan_id not in sim.topups:
            return json_response(
                {"data": {"package_id": "invalid topup package"}, "meta": {"message": "the parameter is invalid"}}, 422
            )
        package = self._package(plan_id)
        sim.total += int(package["amount"])
        sim.remaining += int(package["amount"])
        sim.status = "ACTIVE"
        order_id = 111 + len(self.orders)
        order = {
            "id": order_id,
            "code": f"20251118-{order_id:06d}",
            "package_id": plan_id,
            "currency": "USD",
            "quantity": 1,
            "type": "topup",
            "description": str(fields.get("description") or ""),
            "esim_type": "local",
            "validity": int(package["day"]),
            "package": package["title"],
            "data": package["data"],
            "price": float(package["price"]),
            "pricing_model": self._pricing()["model"],
            "net_price": None if package["net_price"] is None else float(package["net_price"]),
            "text": package.get("text"),
            "voice": package.get("voice"),
            "created_at": stamp(self.now()),
            "manual_installation": "<p>…</p>",
            "iccid": iccid,
        }
        if self.discount_pricing:
            order |= {
                "discount_percentage": 20,
                "unit_paid_price": float(package["price"]) * 0.8,
                "total_amount_paid": float(package["price"]) * 0.8,
            }
        self.orders.append(order)
        return json_response({"data": {k: v for k, v in order.items() if k != "iccid"}, "meta": {"message": "success"}})

    async def list_orders(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return json_response(UNAUTHORIZED, 401)
        wanted = request.query.get("filter[description]", "")
        iccid = request.query.get("filter[iccid]")
        matches = [o for o in self.orders if wanted in o["description"] and (iccid is None or o["iccid"] == iccid)]
        items = []
        for o in matches:
            item = {k: v for k, v in o.items() if k != "iccid"}
            # List items carry numbers as strings (providers.md 1.9).
            item |= {"price": f"{o['price']:.2f}", "validity": str(o["validity"])}
            if o["net_price"] is not None:
                item["net_price"] = f"{o['net_price']:.2f}"
            if "status" in request.query.get("include", ""):
                item["status"] = {"name": "Completed", "slug": "completed"}
            items.append(item)
        return json_response(
            {
                "data": items,
                "links": {"first": "?page=1", "last": "?page=1", "prev": None, "next": None},
                "meta": {
                    "message": "success",
                    "current_page": 1,
                    "from": 1 if items else None,
                    "last_page": 1,
                    "path": "/v2/orders",
                    "per_page": "50",
                    "to": len(items),
                    "total": len(items),
                },
            }
        )
