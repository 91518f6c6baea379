"""eSIM Go v2.5 emulator (providers.md section 3), served under ``/v2.5``.

Route names for ``inject``: esim, bundles, compatible, catalogue, organisation, orders_post,
orders_list, order. Awkward cases replayed: ``{"message"}`` errors, 403 for both a bad key
and a foreign ICCID, 429 with ``Retry-After`` and 503 "processing" (via ``inject``), the
catalogue as a wrapper or a bare array (``catalogue_bare``), several assignments per eSIM,
``firstInstalledDateTime`` in epoch milliseconds.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.emulators import (
    ESIMGO_API_KEY,
    ESIMGO_CODE,
    ESIMGO_EXPIRED_ICCID,
    ESIMGO_ICCID,
    ESIMGO_INCOMPATIBLE_PLAN,
    ESIMGO_TOPUP_PLAN,
    ESIMGO_UNLIMITED_ICCID,
)
from tests.emulators._server import Emulator, json_response

GB = 1_000_000_000


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bundle(
    name: str, desc: str, iso: str, mb: int, days: int, price: float, profile: str, unlimited: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "description": desc,
        "groups": ["Standard eSIM Bundles"],
        "countries": [{"name": desc.split(", ")[-2] if ", " in desc else iso, "region": "Europe", "iso": iso}],
        "dataAmount": mb,
        "duration": days,
        "speed": ["4G", "5G"],
        "autostart": True,
        "unlimited": unlimited,
        "roamingEnabled": [],
        "price": price,
        "billingType": "FixedCost",
        "_profile": profile,
    }


CATALOGUE = [
    _bundle(ESIMGO_TOPUP_PLAN, "eSIM, 1GB, 7 Days, Norway, V2", "NO", 1000, 7, 1.23, "EU-A"),
    _bundle("esim_3GB_30D_NO_V2", "eSIM, 3GB, 30 Days, Norway, V2", "NO", 3000, 30, 3.5, "EU-A"),
    _bundle("esim_UL_7D_NO_V2", "eSIM, Unlimited, 7 Days, Norway, V2", "NO", 0, 7, 19.0, "EU-A", unlimited=True),
    _bundle("esim_1GB_7D_NO_V1", "eSIM, 1GB, 7 Days, Norway, V1", "NO", 1000, 7, 1.1, "EU-OLD"),
    _bundle(ESIMGO_INCOMPATIBLE_PLAN, "eSIM, 5GB, 30 Days, United States, V2", "US", 5000, 30, 6.0, "US-B"),
]


def _assignment(n: int, state: str, initial: int, remaining: int, when: datetime, unlimited: bool = False) -> dict[str, Any]:
    return {
        "id": str(215009266 + n),
        "assignmentReference": f"{uuid.UUID(int=n)}-0",
        "callTypeGroup": "data",
        "initialQuantity": initial,
        "remainingQuantity": remaining,
        "assignmentDateTime": rfc3339(when),
        "bundleState": state,
        "unlimited": unlimited,
    }


@dataclass
class GoSim:
    matching_id: str
    profile: str = "EU-A"
    bundles: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class EsimGoEmulator(Emulator):
    prefix: str = "/v2.5"
    sims: dict[str, GoSim] = field(default_factory=dict)
    orders: list[dict[str, Any]] = field(default_factory=list)
    catalogue_bare: bool = False
    currency: str = "GBP"

    def __post_init__(self) -> None:
        if self.sims:
            return
        t = self.now()
        self.sims = {
            ESIMGO_ICCID: GoSim(
                ESIMGO_CODE,
                bundles=[
                    {
                        "name": ESIMGO_TOPUP_PLAN,
                        "description": "eSIM, 1GB, 7 Days, Norway, V2",
                        "assignments": [
                            _assignment(1, "active", GB, 750_000_000, t - timedelta(days=2)),
                            _assignment(2, "queued", GB, GB, t - timedelta(days=1)),
                        ],
                    },
                    {
                        "name": "esim_1GB_7D_NO_V1",
                        "description": "old",
                        "assignments": [_assignment(3, "expired", GB, 0, t - timedelta(days=40))],
                    },
                ],
            ),
            ESIMGO_EXPIRED_ICCID: GoSim(
                "EXP-1",
                bundles=[
                    {
                        "name": ESIMGO_TOPUP_PLAN,
                        "assignments": [
                            _assignment(4, "depleted", GB, 0, t - timedelta(days=3)),
                            _assignment(5, "lapsed", GB, GB, t - timedelta(days=60)),
                        ],
                    }
                ],
            ),
            ESIMGO_UNLIMITED_ICCID: GoSim(
                "UNL-1",
                bundles=[
                    {
                        "name": "esim_UL_7D_NO_V2",
                        "assignments": [_assignment(6, "active", 0, 0, t - timedelta(days=1), unlimited=True)],
                    }
                ],
            ),
        }

    def routes(self) -> list[web.RouteDef]:
        p = self.prefix
        return [
            web.get(f"{p}/esims/{{iccid}}", self.esim, name="esim"),
            web.get(f"{p}/esims/{{iccid}}/bundles", self.bundles, name="bundles"),
            web.get(f"{p}/esims/{{iccid}}/compatible/{{bundle}}", self.compatible, name="compatible"),
            web.get(f"{p}/catalogue", self.catalogue, name="catalogue"),
            web.get(f"{p}/organisation", self.organisation, name="organisation"),
            web.post(f"{p}/orders", self.orders_post, name="orders_post"),
            web.get(f"{p}/orders", self.orders_list, name="orders_list"),
            web.get(f"{p}/orders/{{ref}}", self.order, name="order"),
        ]

    def transactions(self) -> list[dict[str, Any]]:
        return list(self.orders)

    @staticmethod
    def msg(message: str, status: int) -> web.Response:
        return json_response({"message": message}, status)

    def _sim(self, request: web.Request) -> tuple[str, GoSim | None, web.Response | None]:
        iccid = request.match_info.get("iccid", "")
        if request.headers.get("X-API-Key") != ESIMGO_API_KEY:
            return iccid, None, self.msg("Access denied: invalid API key", 403)
        sim = self.sims.get(iccid)
        if iccid and sim is None:
            return iccid, None, self.msg(f"ICCID {iccid} does not belong to your organisation", 403)
        return iccid, sim, None

    async def esim(self, request: web.Request) -> web.Response:
        iccid, sim, error = self._sim(request)
        if error or sim is None:
            return error or self.msg("not found", 404)
        installed = int((self.now() - timedelta(days=2)).timestamp() * 1000)
        return json_response(
            {
                "iccid": iccid,
                "pin": "1111",
                "puk": "22222222",
                "matchingId": sim.matching_id,
                "smdpAddress": "rsp.esim-go.example",
                "profileStatus": "Installed",
                "firstInstalledDateTime": installed,
                "customerRef": "",
            }
        )

    async def bundles(self, request: web.Request) -> web.Response:
        _, sim, error = self._sim(request)
        if error or sim is None:
            return error or self.msg("not found", 404)
        return json_response({"bundles": sim.bundles})

    async def compatible(self, request: web.Request) -> web.Response:
        _, sim, error = self._sim(request)
        if error or sim is None:
            return error or self.msg("not found", 404)
        bundle = next((b for b in CATALOGUE if b["name"] == request.match_info["bundle"]), None)
        if bundle is None:
            return self.msg("Bundle not found", 404)
        return json_response({"compatible": bundle["_profile"] == sim.profile})

    async def catalogue(self, request: web.Request) -> web.Response:
        if request.headers.get("X-API-Key") != ESIMGO_API_KEY:
            return self.msg("Access denied: invalid API key", 403)
        per_page = int(request.query.get("perPage", "50"))
        page = int(request.query.get("page", "1"))
        public = [{k: v for k, v in b.items() if not k.startswith("_")} for b in CATALOGUE]
        if self.catalogue_bare:
            return json_response(public)
        chunk = public[(page - 1) * per_page : page * per_page]
        return json_response(
            {"bundles": chunk, "pageCount": -(-len(public) // per_page), "rows": len(public), "pageSize": per_page}
        )

    async def organisation(self, request: web.Request) -> web.Response:
        if request.headers.get("X-API-Key") != ESIMGO_API_KEY:
            return self.msg("Access denied: invalid API key", 403)
        return json_response({"organisations": [{"name": "Emu Org", "currency": self.currency, "balance": 100.0}]})

    async def orders_post(self, request: web.Request) -> web.Response:
        if request.headers.get("X-API-Key") != ESIMGO_API_KEY:
            return self.msg("Access denied: invalid API key", 403)
        body = json.loads(await request.read() or b"{}")
        lines = body.get("order") or []
        if body.get("type") not in ("validate", "transaction") or not lines:
            return self.msg("Bad request: type and order are required", 400)
        line = lines[0]
        bundle = next((b for b in CATALOGUE if b["name"] == line.get("item")), None)
        if bundle is None:
            return self.msg(f"Bundle {line.get('item')} not found", 400)
        iccid = (line.get("iccids") or [""])[0]
        sim = self.sims.get(iccid)
        if sim is None:
            return self.msg(f"ICCID {iccid} does not belong to your organisation", 403)
        if bundle["_profile"] != sim.profile and not line.get("allowReassign"):
            return self.msg("Bundle is not compatible with the eSIM", 400)
        if body["type"] == "validate":
            return json_response(
                {
                    "order": lines,
                    "total": bundle["price"],
                    "currency": self.currency,
                    "valid": True,
                    "createdDate": rfc3339(self.now()),
                    "assigned": False,
                }
            )
        sim.bundles.append(
            {
                "name": bundle["name"],
                "description": bundle["description"],
                "assignments": [
                    _assignment(
                        100 + len(self.orders),
                        "queued",
                        bundle["dataAmount"] * 1_000_000,
                        bundle["dataAmount"] * 1_000_000,
                        self.now(),
                    )
                ],
            }
        )
        order = {
            "order": [
                {
                    "type": "bundle",
                    "item": bundle["name"],
                    "iccids": [iccid],
                    "quantity": 1,
                    "subTotal": bundle["price"],
                    "pricePerUnit": bundle["price"],
                    "allowReassign": False,
                    "esims": [{"iccid": iccid, "matchingId": sim.matching_id}],
                }
            ],
            "total": bundle["price"],
            "currency": self.currency,
            "status": "Completed",
            "statusMessage": "Order completed: 1 eSIMs assigned",
            "orderReference": str(uuid.uuid4()),
            "createdDate": rfc3339(self.now()),
            "assigned": True,
        }
        self.orders.append(order)
        return json_response(order)

    async def orders_list(self, request: web.Request) -> web.Response:
        if request.headers.get("X-API-Key") != ESIMGO_API_KEY:
            return self.msg("Access denied: invalid API key", 403)
        return json_response({"orders": list(reversed(self.orders)), "pageCount": 1, "rows": len(self.orders)})

    async def order(self, request: web.Request) -> web.Response:
        if request.headers.get("X-API-Key") != ESIMGO_API_KEY:
            return self.msg("Access denied: invalid API key", 403)
        found = next((o for o in self.orders if o["orderReference"] == request.match_info["ref"]), None)
        return json_response(found) if found else self.msg("Order not found", 404)
