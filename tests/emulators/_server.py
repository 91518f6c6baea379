"""What every emulator shares: serving on 127.0.0.1:<free port>, a call log, fault injection.

Faults are queued per route name and consumed one per request:

- ``Fault.status(503, retry_after="1")``: answer with that status (and optional body);
- ``Fault.hold(release, arrived)``: set ``arrived``, wait for the test to set ``release``,
  then handle the request (no wall clock: "an order in flight");
- ``Fault.lost()``: handle the request (state changes!), then close the connection
  without an answer: the "top-up that succeeded but whose answer was lost";
- ``Fault.garbled()``: handle the request, then answer 200 with a body that is not JSON.

Timeouts are not faults of the server: ``tests.emulators.timeouts`` raises them in the
client's transport, so no test races a wall-clock timeout against a delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 500
    body: Any = None
    retry_after: str | None = None
    release: asyncio.Event | None = None
    arrived: asyncio.Event | None = None

    @classmethod
    def fail(cls, status: int, body: Any = None, *, retry_after: str | None = None) -> Fault:
        return cls("status", status=status, body=body, retry_after=retry_after)

    @classmethod
    def passes(cls) -> Fault:
        """Let this request through untouched (a placeholder before the fault that matters)."""
        return cls("pass")

    @classmethod
    def hold(cls, release: asyncio.Event, arrived: asyncio.Event | None = None) -> Fault:
        """Hold the request until the test sets ``release`` (no wall clock), then answer."""
        return cls("hold", release=release, arrived=arrived)

    @classmethod
    def lost(cls) -> Fault:
        return cls("lost")

    @classmethod
    def garbled(cls) -> Fault:
        return cls("garbled")


@dataclass
class Call:
    method: str
    route: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Emulator:
    """Base of the three emulators: subclasses add routes in ``routes()`` and keep state."""

    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=lambda: defaultdict(list))
    base_url: str = ""
    prefix: str = ""

    def inject(self, route: str, *faults: Fault) -> None:
        """Queue faults for the route named ``route`` (see each emulator's route names)."""
        self.faults[route].extend(faults)

    def count(self, route: str) -> int:
        return sum(1 for c in self.calls if c.route == route)

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.name or "?"
        body = await request.read()
        self.calls.append(
            Call(
                request.method, route, request.path, dict(request.query), {k.lower(): v for k, v in request.headers.items()}, body
            )
        )
        fault = self.faults[route].pop(0) if self.faults.get(route) else None
        if fault is None:
            return await handler(request)
        if fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            payload = fault.body if fault.body is not None else {"message": "emulated failure"}
            return web.json_response(payload, status=fault.status, headers=headers)
        if fault.kind == "hold" and fault.release is not None:
            if fault.arrived is not None:
                fault.arrived.set()
            await fault.release.wait()
        response = await handler(request)
        if fault.kind == "lost" and request.transport is not None:
            request.transport.close()
        if fault.kind == "garbled":
            return web.Response(text="<html>502 Bad Gateway</html>", status=200, content_type="text/html")
        return response

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=1024 * 1024)
        app.add_routes(self.routes())
        return app

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, **kwargs: Any) -> AsyncIterator[Self]:
        """Serve a fresh emulator on 127.0.0.1 on a free port for the ``async with`` block."""
        emulator = cls(**kwargs)
        runner = web.AppRunner(emulator.app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        emulator.base_url = f"http://{host}:{port}{emulator.prefix}"
        try:
            yield emulator
        finally:
            await runner.cleanup()


def json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(payload), status=status, content_type="application/json")


def stamp(moment: datetime) -> str:
    """Airalo's naive ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
