"""eSIM Access emulator (providers.md section 2), served under ``/api/v1/open``.

Route names for ``inject``: esim_query, usage_query, package_list, topup.
Awkward cases replayed: business errors as HTTP 200 + ``success: false``; ``success`` as
the string ``"true"`` (``success_as_string``); ``errorCode`` as a number
(``numeric_error_codes``); 200010 until a profile is allocated; usage wrapped in
``esimUsageList`` or a bare array (per eSIM); ``+0000`` timestamps; a CANCELled eSIM.
The signature (RT-Signature) is verified whenever it is sent; ``require_signature`` makes
it mandatory. ``transactionId`` is unique: repeating it returns the first result.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from tests.emulators import (
    ESIMACCESS_ACCESS_CODE,
    ESIMACCESS_CANCELLED_ICCID,
    ESIMACCESS_CODE,
    ESIMACCESS_FRESH_ICCID,
    ESIMACCESS_ICCID,
    ESIMACCESS_PENDING_ICCID,
    ESIMACCESS_SECRET_KEY,
    ESIMACCESS_TOPUP_PLAN,
)
from tests.emulators._server import Emulator, json_response

GIB = 1024**3
TOPUP_PACKAGES = {
    ESIMACCESS_TOPUP_PLAN: {
        "packageCode": ESIMACCESS_TOPUP_PLAN,
        "slug": "NO_3_30",
        "name": "Norway 3GB 30Days",
        "price": 25000,
        "retailPrice": 50000,
        "currencyCode": "USD",
        "volume": 3 * GIB,
        "duration": 30,
        "durationUnit": "DAY",
        "location": "NO",
        "description": "Norway 3GB 30Days",
        "activeType": 1,
        "dataType": 1,
        "supportTopUpType": 2,
        "locationNetworkList": [{"locationName": "Norway", "locationCode": "NO"}],
    },
    "TOPUP_CKH492": {
        "packageCode": "TOPUP_CKH492",
        "name": "Nordics 1GB 7Days",
        "price": 9000,
        "retailPrice": 18000,
        "currencyCode": "USD",
        "volume": GIB,
        "duration": 7,
        "durationUnit": "DAY",
        "location": "NO,SE,DK",
    },
}


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class AccessSim:
    tran_no: str
    matching_id: str
    status: str = "IN_USE"
    total: int = 5 * GIB
    used: int = 1_453_344_832
    expires_in_days: float = 25
    usage_bare: bool = False
    not_ready_answers: int = 0
    packages: list[dict[str, Any]] = field(default_factory=list)
    topups: tuple[str, ...] = (ESIMACCESS_TOPUP_PLAN, "TOPUP_CKH492")


def _default_sims() -> dict[str, AccessSim]:
    return {
        ESIMACCESS_ICCID: AccessSim("25030303480009", ESIMACCESS_CODE),
        ESIMACCESS_FRESH_ICCID: AccessSim(
            "25030303480010", "7A0B11C2D3E4", status="GOT_RESOURCE", total=GIB, used=0, usage_bare=True
        ),
        ESIMACCESS_CANCELLED_ICCID: AccessSim("25030303480011", "99AA00BB11CC", status="CANCEL", used=0),
        ESIMACCESS_PENDING_ICCID: AccessSim("25030303480012", "55EE44DD33CC", status="GOT_RESOURCE", used=0, not_ready_answers=1),
    }


@dataclass
class EsimAccessEmulator(Emulator):
    prefix: str = "/api/v1/open"
    sims: dict[str, AccessSim] = field(default_factory=_default_sims)
    topups_done: dict[str, dict[str, Any]] = field(default_factory=dict)
    success_as_string: bool = False
    numeric_error_codes: bool = False
    require_signature: bool = False

    def routes(self) -> list[web.RouteDef]:
        p = self.prefix
        return [
            web.post(f"{p}/esim/query", self.esim_query, name="esim_query"),
            web.post(f"{p}/esim/usage/query", self.usage_query, name="usage_query"),
            web.post(f"{p}/package/list", self.package_list, name="package_list"),
            web.post(f"{p}/esim/topup", self.topup, name="topup"),
        ]

    def ok(self, obj: Any) -> web.Response:
        return json_response(
            {"success": "true" if self.success_as_string else True, "errorCode": None, "errorMsg": None, "obj": obj}
        )

    def fail(self, code: str, message: str) -> web.Response:
        error: Any = int(code) if self.numeric_error_codes else code
        return json_response(
            {"success": "false" if self.success_as_string else False, "errorCode": error, "errorMsg": message, "obj": None}
        )

    async def _body(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
        if request.headers.get("RT-AccessCode") != ESIMACCESS_ACCESS_CODE:
            return None, self.fail("000101", "access code missing or wrong")
        raw = (await request.read()).decode()
        signature = request.headers.get("RT-Signature")
        if signature or self.require_signature:
            message = (
                request.headers.get("RT-Timestamp", "") + request.headers.get("RT-RequestID", "") + ESIMACCESS_ACCESS_CODE + raw
            ).encode()
            expected = hmac.new(ESIMACCESS_SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
            if not signature or not hmac.compare_digest(expected, signature.lower()):
                return None, self.fail("101003", "signature mismatch")
        try:
            body = json.loads(raw or "{}")
        except ValueError:
            return None, self.fail("000104", "invalid json")
        return body, None

    def _esim_json(self, iccid: str, sim: AccessSim) -> dict[str, Any]:
        now = self.now()
        return {
            "esimTranNo": sim.tran_no,
            "orderNo": f"B{sim.tran_no}",
            "transactionId": f"first-{sim.tran_no}",
            "imsi": "454006109846571",
            "iccid": iccid,
            "msisdn": None,
            "ac": f"LPA:1$rsp-eu.redteamobile.com${sim.matching_id}",
            "qrCodeUrl": "http://static.example/qr",
            "smdpStatus": "RELEASED",
            "esimStatus": sim.status,
            "eid": "",
            "activeType": 1,
            "dataType": 1,
            "activateTime": None if sim.status == "GOT_RESOURCE" else ts(now - timedelta(days=5)),
            "installationTime": None,
            "expiredTime": ts(now + timedelta(days=sim.expires_in_days)),
            "totalVolume": sim.total,
            "orderUsage": sim.used,
            "totalDuration": 30,
            "durationUnit": "DAY",
            "pin": "1234",
            "puk": "5678",
            "apn": "internet",
            "supportTopUpType": 2,
            "futureField": [1, 2],
            "packageList": [
                {
                    "packageName": "Norway 5GB 30Days",
                    "packageCode": "CKH003",
                    "duration": 30,
                    "volume": 5 * GIB,
                    "locationCode": "NO",
                    "createTime": ts(now - timedelta(days=5)),
                },
                *sim.packages,
            ],
        }

    async def esim_query(self, request: web.Request) -> web.Response:
        body, error = await self._body(request)
        if error or body is None:
            return error or self.fail("000104", "no body")
        if "pager" not in body:
            return self.fail("000105", "pager is mandatory")
        iccid = str(body.get("iccid") or "")
        sim = self.sims.get(iccid)
        if sim is not None and sim.not_ready_answers > 0:
            sim.not_ready_answers -= 1
            return self.fail("200010", "profile is being allocated, retry later")
        items = [self._esim_json(iccid, sim)] if sim else []
        return self.ok({"esimList": items, "pager": {"pageNum": 1, "pageSize": 20, "total": len(items)}})

    async def usage_query(self, request: web.Request) -> web.Response:
        body, error = await self._body(request)
        if error or body is None:
            return error or self.fail("000104", "no body")
        wanted = list(body.get("esimTranNoList") or [])[:10]
        entries, bare = [], False
        for sim in self.sims.values():
            if sim.tran_no in wanted:
                bare = bare or sim.usage_bare
                entries.append(
                    {
                        "esimTranNo": sim.tran_no,
                        "dataUsage": sim.used,
                        "totalData": sim.total,
                        "lastUpdateTime": ts(self.now() - timedelta(hours=2)),
                    }
                )
        return self.ok(entries if bare else {"esimUsageList": entries})

    async def package_list(self, request: web.Request) -> web.Response:
        body, error = await self._body(request)
        if error or body is None:
            return error or self.fail("000104", "no body")
        sim = self.sims.get(str(body.get("iccid") or ""))
        if body.get("type") != "TOPUP" or sim is None or sim.status in ("CANCEL", "REVOKED"):
            return self.ok({"packageList": []})
        return self.ok({"packageList": [TOPUP_PACKAGES[c] for c in sim.topups]})

    async def topup(self, request: web.Request) -> web.Response:
        body, error = await self._body(request)
        if error or body is None:
            return error or self.fail("000104", "no body")
        transaction = str(body.get("transactionId") or "")
        if not transaction:
            return self.fail("000105", "transactionId is mandatory")
        if transaction in self.topups_done:
            return self.ok(self.topups_done[transaction])
        iccid, code = str(body.get("iccid") or ""), str(body.get("packageCode") or "")
        sim = self.sims.get(iccid)
        if sim is None:
            return self.fail("310403", "ICCID does not exist")
        if sim.status in ("CANCEL", "REVOKED"):
            return self.fail("200002", "operation not allowed in current status")
        if code not in sim.topups:
            return self.fail("310241", "packageCode does not exist")
        package = TOPUP_PACKAGES[code]
        sim.total += int(package["volume"])
        sim.expires_in_days += int(package["duration"])
        sim.packages.append(
            {
                "packageName": package["name"],
                "packageCode": code,
                "duration": package["duration"],
                "volume": package["volume"],
                "locationCode": "NO",
                "createTime": ts(self.now()),
            }
        )
        result = {
            "transactionId": transaction,
            "iccid": iccid,
            "expiredTime": ts(self.now() + timedelta(days=sim.expires_in_days)),
            "totalVolume": sim.total,
            "totalDuration": 30 + int(package["duration"]),
            "orderUsage": sim.used,
        }
        self.topups_done[transaction] = result
        return self.ok(result)
