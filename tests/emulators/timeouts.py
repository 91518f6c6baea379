"""A client-side transport double for "no answer in time", with no wall clock.

``AnswerTooLate`` forwards requests to the real emulator. For the first ``times`` requests
that ``match`` it raises ``httpx.ReadTimeout``, which is what an adapter sees when its answer
timeout runs out first: with ``applied=True`` after the emulator has answered (it did what was
asked: an order applied, a timeout after success), with ``applied=False`` without forwarding
the request (the provider never acted on it). A test that raced a 0.1 s timeout against a 0.3 s
delay failed on a busy machine; this one cannot.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx


class AnswerTooLate(httpx.AsyncBaseTransport):
    def __init__(self, match: Callable[[httpx.Request], bool], *, times: int = 1, applied: bool = True) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._match, self._left, self._applied = match, times, applied
        self.timed_out = 0

    def arm(self, times: int = 1) -> None:
        """Time out the next ``times`` matching requests."""
        self._left = times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not (self._left and self._match(request)):
            return await self._inner.handle_async_request(request)
        self._left -= 1
        self.timed_out += 1
        if self._applied:
            response = await self._inner.handle_async_request(request)
            await response.aread()
            await response.aclose()
        raise httpx.ReadTimeout("no answer before the timeout (simulated)", request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def path_ends(suffix: str, method: str | None = None) -> Callable[[httpx.Request], bool]:
    return lambda r: r.url.path.endswith(suffix) and (method is None or r.method == method)
