"""Test-only control of simulated time for end-to-end tests of a running bot process.

Enabled only when ``TEST_CONTROL_PORT`` is set (and ``TEST_CLOCK_START`` gives the fake
clock's start). It listens on 127.0.0.1 only: ``POST /advance`` with
``{"advance": "PT12H"}`` runs the job queue through that much simulated time and answers
``{"now": "<ISO time>"}`` once it is idle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from aiohttp import web

from bot.platforms.console import parse_duration


class _Steps(Protocol):
    async def run_until(self, when: datetime) -> None: ...


class ControlServer:
    def __init__(self, *, steps: _Steps, now: Callable[[], datetime], port: int) -> None:
        self._steps, self._now, self.port = steps, now, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=4096)
        app.router.add_post("/advance", self._advance)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _advance(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
            delta = parse_duration(str(body["advance"]))
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        await self._steps.run_until(self._now() + delta)
        return web.json_response({"now": self._now().isoformat()})
