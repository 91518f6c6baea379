"""What every emulator shares: serving on 127.0.0.1:<free port>, a call log, fault injection.

Faults are queued per route name and consumed one per request:

- ``Fault.status(503, retry_after="1")``: answer with that status (and optional body);
- ``Fault.hang(0.3)``: wait before handling, so a client with a shorter timeout gives up
  and the request has no effect;
- ``Fault.lost()``: handle the request (state changes!), then close the connection
  without an answer: the "top-up that succeeded but whose answer was lost";
- ``Fault.late(0.3)``: handle the request, then answer only after a delay (a timeout
  after success).
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
    delay: float = 0.0
    release: asyncio.Event | None = None

    @classmethod
    def fail(cls, status: int, body: Any = None, *, retry_after: str | None = None) -> Fault:
        return cls("status", status=status, body=body, retry_after=retry_after)

    @classmethod
    def hang(cls, delay: float = 0.3) -> Fault:
        return cls("hang", delay=delay)

    @classmethod
    def hold(cls, release: asyncio.Event) -> Fault:
        """Hold the request until the test sets ``release`` (no wall clock), then answer."""
        return cls("hold", release=release)

    @classmethod
    def lost(cls) -> Fault:
        return cls("lost")

    @classmethod
    def late(cls, delay: float = 0.3) -> Fault:
        return cls("late", delay=delay)


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
        self.calls.append(Call(request.method, route, request.path, dict(request.query),
                               {k.lower(): v for k, v in request.headers.items()}, body))
        fault = self.faults[route].pop(0) if self.faults.get(route) else None
        if fault is None:
            return await handler(request)
        if fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            payload = fault.body if fault.body is not None else {"message": "emulated failure"}
            return web.json_response(payload, status=fault.status, headers=headers)
        if fault.kind == "hang":
            await asyncio.sleep(fault.delay)
            return await handler(request)
        if fault.kind == "hold" and fault.release is not None:
            await fault.release.wait()
            return await handler(request)
        response = await handler(request)
        if fault.kind == "lost":
            if request.transport is not None:
                request.transport.close()
            return response
        await asyncio.sleep(fault.delay)  # "late"
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
