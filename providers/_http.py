"""The one HTTP layer every real adapter uses: httpx client, limits, retries, error mapping.

Where a failure enters it becomes a ``providers.errors`` class (``raise X from exc``):

- transport failures: before the request can have reached the provider (connect errors,
  pool timeouts) -> ``Unavailable``; after it may have (read/write timeouts, a dropped
  connection) -> ``Unavailable`` for reads but ``OrderPending`` for writes, because a write
  whose outcome is unknown must be reconciled, never blindly repeated;
- HTTP 429 -> ``RateLimited(retry_after)``; 5xx -> ``Unavailable`` (``OrderPending`` for
  writes); everything else is left to the adapter's ``decode`` (provider-specific bodies),
  which may fall back to ``status_error``.

When a failed call is tried again is ``RetryPolicy``'s to say: reads, on ``TryLater``, with
exponential backoff and Retry-After up to a cap; writes never.

Each call has one deadline, owned here (``deadline``, 15 s unless the adapter says otherwise):
a read, its waits for the pace and its retries included, answers or fails as ``Unavailable``
within it, and no retry starts that could not finish in time; a write (never retried) waits
at most that long for its answer. Callers do not wrap a provider call in a timeout of their own.
Every request first takes a token from the provider's bucket (and any extra per-key bucket,
e.g. Airalo's per-ICCID limit), then a slot of a small semaphore: design.md section 7 measured
httpx's pool getting expensive past ~10 concurrent requests.

Logs carry method, a redacted path (ICCIDs masked), status and duration: never headers
(tokens, API keys), bodies (activation codes) or query values.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from providers._limits import Pacing, TokenBucket
from providers.errors import (
    AuthError,
    NotFound,
    NotReady,
    OrderPending,
    OurBug,
    ProviderError,
    RateLimited,
    TryLater,
    Unavailable,
    Unreadable,
    Validation,
)

log = logging.getLogger("providers.http")
T = TypeVar("T")

_DIGITS = re.compile(r"\d{15,22}")
MAX_RETRY_AFTER = 3600.0
CONNECT_TIMEOUT = 10.0
DEADLINE = 15.0  # seconds for one call: a person waits on a /balance, a hung provider stalls nothing


def mask_iccid(iccid: str) -> str:
    """``8947000000000000012`` -> ``89…0012``: enough to tell lines apart, not to claim one."""
    return f"{iccid[:2]}…{iccid[-4:]}" if len(iccid) > 6 else "…"


def redact(text: str) -> str:
    """Mask every ICCID-like digit run in a path or message."""
    return _DIGITS.sub(lambda m: mask_iccid(m.group(0)), text)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds (delta-seconds or HTTP-date), capped; ``None`` if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed call is tried again, and after how long.

    Only reads are retried, only on ``TryLater`` (nothing changed at the provider) and not on
    ``NotReady`` (an eSIM still being provisioned is looked at again much later): a write
    whose outcome is unknown is reconciled by the order flow, never sent again. The wait
    doubles from ``backoff``; a Retry-After the provider gave is waited at least; a wait
    longer than ``max_wait`` is not slept (the error goes to the caller, which schedules
    its own later look), and after ``attempts`` tries the last error is raised.
    """

    attempts: int = 3
    backoff: float = 0.5
    max_wait: float = 30.0

    def wait(self, attempt: int, exc: TryLater, *, read: bool) -> float | None:
        """Seconds to wait before try ``attempt + 1`` after ``exc``; ``None``: give up, raise."""
        if isinstance(exc, NotReady):
            return None  # provisioning takes tens of seconds: the caller looks again later
        wait: float = self.backoff * 2.0 ** (attempt - 1)
        if exc.retry_after is not None:
            wait = max(wait, exc.retry_after)
        if not read or attempt >= self.attempts or wait > self.max_wait:
            return None
        return wait


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body, or ``None`` when there is none or it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def status_error(provider: str, response: httpx.Response, detail: str = "") -> ProviderError:
    """The generic mapping of an HTTP status onto the error tree (adapters refine it first)."""
    code = response.status_code
    detail = detail or f"HTTP {code}"
    if code in (401, 403):
        return AuthError(provider, detail)
    if code == 404:
        return NotFound(provider, detail)
    if code in (400, 409, 422):
        return Validation(provider, detail)
    if code == 429:
        return RateLimited(provider, detail)
    if code >= 500:
        return Unavailable(provider, detail)
    return OurBug(provider, f"unexpected {detail}")


@dataclass(frozen=True)
class _Request:
    """What is sent, the same for every attempt (``headers`` may be rebuilt per attempt)."""

    method: str
    path: str
    params: Mapping[str, str | int] | None
    json: Any
    content: bytes | None
    data: Mapping[str, str] | None
    headers: Mapping[str, str] | Callable[[], Mapping[str, str]] | None


class ProviderHttp:
    """One provider's httpx client with its limits; build one per adapter, ``aclose`` it."""

    def __init__(
        self,
        provider: str,
        *,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        deadline: float = DEADLINE,
        max_concurrency: int = 5,
        limiter: TokenBucket,
        now: Callable[[], datetime],
        pacing: Pacing | None = None,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        if not 1 <= max_concurrency <= 10:
            raise ValueError("max_concurrency must be 1..10 (httpx pool cost grows past that)")
        self.provider = provider
        self.limiter = limiter
        self._now = now
        self._pacing = pacing or Pacing()
        self._sem = asyncio.Semaphore(max_concurrency)
        self._retry = retry
        self._deadline = deadline
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers={"Accept": "application/json", **(headers or {})},
            # the deadline bounds the answer; connecting always gets its own 10 s (a short
            # deadline must not fail a connect that is merely slow on a loaded machine)
            timeout=httpx.Timeout(deadline, connect=CONNECT_TIMEOUT),
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        decode: Callable[[httpx.Response], T],
        read: bool,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
        buckets: Sequence[tuple[TokenBucket, Hashable]] = (),
    ) -> T:
        """Send one request and decode it, tried again as ``RetryPolicy`` says.

        ``headers`` may be a callable so per-attempt values (a refreshed token, a request
        signature with a fresh timestamp) are rebuilt for each attempt.
        """
        request = _Request(method, path, params, json, content, data, headers)
        if not read:  # never tried again: one attempt, bounded by the answer timeout
            try:
                return await self._once(request, decode=decode, read=False, buckets=buckets)
            except TryLater as exc:
                self._pause(exc)
                raise
        started = self._pacing.monotonic()
        try:
            async with asyncio.timeout(self._deadline):
                return await self._retried(request, decode, buckets, started)
        except TimeoutError as exc:
            raise Unavailable(self.provider, f"no answer within {self._deadline:.0f} s") from exc

    async def _retried(
        self,
        request: _Request,
        decode: Callable[[httpx.Response], T],
        buckets: Sequence[tuple[TokenBucket, Hashable]],
        started: float,
    ) -> T:
        """A read tried again as ``RetryPolicy`` says, while the wait still fits the deadline."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._once(request, decode=decode, read=True, buckets=buckets)
            except TryLater as exc:
                self._pause(exc)
                wait = self._retry.wait(attempt, exc, read=True)
                if wait is None or self._pacing.monotonic() - started + wait >= self._deadline:
                    raise
                log.warning(
                    "%s %s %s: %s; retry %d in %.1fs",
                    self.provider,
                    request.method,
                    redact(request.path),
                    type(exc).__name__,
                    attempt,
                    wait,
                )
                await self._pacing.sleep(wait)

    def _pause(self, exc: TryLater) -> None:
        """A Retry-After holds every call to this provider, not only the one that got it."""
        if exc.retry_after is not None:
            self.limiter.pause(exc.retry_after)

    async def _once(
        self,
        request: _Request,
        *,
        decode: Callable[[httpx.Response], T],
        read: bool,
        buckets: Sequence[tuple[TokenBucket, Hashable]],
    ) -> T:
        await self._acquire(buckets)
        started = self._pacing.monotonic()
        response = await self._send(request, read=read)
        log.debug(
            "%s %s %s -> %d (%.0f ms)",
            self.provider,
            request.method,
            redact(request.path),
            response.status_code,
            (self._pacing.monotonic() - started) * 1000,
        )
        self._raise_for_status(response, read=read)
        try:
            return decode(response)
        except Unreadable as exc:
            if not read and response.is_success:
                raise OrderPending(self.provider, "unreadable answer to a write") from exc
            raise

    async def _send(self, r: _Request, *, read: bool) -> httpx.Response:
        """One request on the wire; transport failures mapped by whether it may have arrived."""
        headers = r.headers() if callable(r.headers) else r.headers
        async with self._sem:
            try:
                return await self._client.request(
                    r.method, r.path, params=r.params, json=r.json, content=r.content, data=r.data, headers=headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never reached the provider: safe to report as down, even for writes.
                raise Unavailable(self.provider, f"cannot connect ({type(exc).__name__})") from exc
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                log.warning("%s %s %s: %s after sending", self.provider, r.method, redact(r.path), type(exc).__name__)
                if read:
                    raise Unavailable(self.provider, f"no answer ({type(exc).__name__})") from exc
                raise OrderPending(self.provider, f"no answer to a write ({type(exc).__name__})") from exc

    async def _acquire(self, buckets: Sequence[tuple[TokenBucket, Hashable]]) -> None:
        """Wait for the provider's overall pace, then for each bucket this call counts against."""
        await self.limiter.acquire()
        for bucket, key in buckets:
            await bucket.acquire(key)

    def _raise_for_status(self, response: httpx.Response, *, read: bool) -> None:
        """429 and 5xx: rate limited, down, or for a write an outcome nobody knows yet."""
        code = response.status_code
        if code == 429 or code >= 500:
            retry_after = retry_after_seconds(response.headers.get("retry-after"), self._now())
            if code == 429:
                raise RateLimited(self.provider, "rate limited (HTTP 429)", retry_after=retry_after)
            if not read:
                raise OrderPending(self.provider, f"HTTP {code} answering a write")
            raise Unavailable(self.provider, f"HTTP {code}", retry_after=retry_after)
