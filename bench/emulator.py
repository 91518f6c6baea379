"""The eSIM Go emulator (tests/emulators) with N eSIMs and its documented rate limit enforced.

providers.md 3.1: "10 requests/second per IP, fixed window", a 429 with
``{"message": "Rate limit exceeded"}`` and ``Retry-After: 1`` beyond it. The window here is
one second of the emulator's monotonic clock; a refused request does not count against it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web

from tests.emulators import ESIMGO_API_KEY
from tests.emulators._server import Handler
from tests.emulators.esimgo import EsimGoEmulator, GoSim, rfc3339

API_KEY = ESIMGO_API_KEY
MB = 1_000_000


def sims(iccids: list[str], now: datetime) -> dict[str, GoSim]:
    """One active 10 GB bundle with 6 GB left on each eSIM."""
    bundle = {
        "name": "esim_10GB_30D_NO_V2",
        "description": "eSIM, 10GB, 30 Days, Norway, V2",
        "assignments": [
            {
                "id": "1",
                "assignmentReference": "bench-0",
                "callTypeGroup": "data",
                "initialQuantity": 10_000 * MB,
                "remainingQuantity": 6_000 * MB,
                "assignmentDateTime": rfc3339(now - timedelta(days=3)),
                "bundleState": "active",
                "unlimited": False,
            }
        ],
    }
    return {iccid: GoSim(f"BENCH-{n}", bundles=[bundle]) for n, iccid in enumerate(iccids)}


@dataclass
class LimitedEsimGo(EsimGoEmulator):
    """``limit`` requests a second (fixed window); ``accepted`` keeps when each one was served."""

    limit: float = 10.0
    accepted: list[float] = field(default_factory=list)
    refused: int = 0
    _window: int = -1
    _count: int = 0
    _start: float = field(default_factory=time.monotonic)

    @web.middleware
    async def _limiter(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        now = time.monotonic()
        window = int(now - self._start)
        if window != self._window:
            self._window, self._count = window, 0
        if self._count >= self.limit:
            self.refused += 1
            return web.json_response({"message": "Rate limit exceeded"}, status=429, headers={"Retry-After": "1"})
        self._count += 1
        self.accepted.append(now)
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._limiter, self._middleware], client_max_size=1024 * 1024)
        app.add_routes(self.routes())
        return app

    def next_window(self) -> float:
        """When the emulator's next one-second window starts (monotonic clock)."""
        return self._start + int(time.monotonic() - self._start) + 1

    def served_between(self, start: float, end: float) -> int:
        return sum(1 for t in self.accepted if start <= t < end)

    def forget_calls(self) -> None:
        """The base emulator logs every call; a long run does not need them."""
        self.calls.clear()
