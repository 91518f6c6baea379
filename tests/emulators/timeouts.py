"""A client-side transport double for "the answer came too late", with no wall clock.

``AnswerTooLate`` forwards every request to the real emulator; for the first ``times``
requests that ``match``, it lets the emulator answer (so it has done what was asked, an
order applied) and then raises ``httpx.ReadTimeout``, which is what an adapter sees when
its answer timeout runs out first. A test that raced a 0.1 s timeout against a 0.3 s delay
failed on a busy machine; this one cannot.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx


class AnswerTooLate(httpx.AsyncBaseTransport):
    def __init__(self, match: Callable[[httpx.Request], bool], *, times: int = 1) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._match, self._left = match, times
        self.timed_out = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if self._left and self._match(request):
            self._left -= 1
            await response.aread()
            await response.aclose()
            self.timed_out += 1
            raise httpx.ReadTimeout("the answer came after the timeout (simulated)", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def path_ends(suffix: str, method: str | None = None) -> Callable[[httpx.Request], bool]:
    return lambda r: r.url.path.endswith(suffix) and (method is None or r.method == method)
