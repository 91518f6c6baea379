"""Pacing for provider calls: where time comes from, and async token buckets.

Split from ``providers/_http.py``: the rate limits each adapter keeps (overall, per ICCID,
for token requests) are their own concern; ``_http`` only waits on them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pacing:
    """Where time comes from for limiters and backoff; tests pass a fake that never sleeps."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    paused_until: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class TokenBucket:
    """An async token bucket: ``rate`` tokens a second, at most ``burst`` saved up.

    ``acquire(key)`` waits for a token of that key's bucket (``None`` is the shared one), so
    one limiter can hold a bucket per ICCID. ``pause(seconds, key)`` makes that bucket wait,
    e.g. after a 429 with Retry-After. Waiters of one key queue on a lock (FIFO); different
    keys never block each other. Idle full buckets are forgotten to bound memory.
    """

    def __init__(self, rate: float, burst: int, *, pacing: Pacing | None = None, max_keys: int = 4096) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst = rate, float(burst)
        self._pacing = pacing or Pacing()
        self._buckets: dict[Hashable, _Bucket] = {}
        self._max_keys = max_keys

    def _bucket(self, key: Hashable) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_idle()
            bucket = self._buckets[key] = _Bucket(self.burst, self._pacing.monotonic())
        return bucket

    def _forget_idle(self) -> None:
        now = self._pacing.monotonic()
        for key, b in list(self._buckets.items()):
            full = b.tokens + (now - b.stamp) * self.rate >= self.burst
            if full and not b.lock.locked() and b.paused_until <= now:
                del self._buckets[key]

    def pause(self, seconds: float, key: Hashable = None) -> None:
        bucket = self._bucket(key)
        bucket.paused_until = max(bucket.paused_until, self._pacing.monotonic() + seconds)

    async def acquire(self, key: Hashable = None) -> None:
        bucket = self._bucket(key)
        async with bucket.lock:
            while True:
                now = self._pacing.monotonic()
                if bucket.paused_until > now:
                    await self._pacing.sleep(bucket.paused_until - now)
                    continue
                bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
                bucket.stamp = now
                if bucket.tokens >= 1 - 1e-9:  # float dust must not become an endless tiny wait
                    bucket.tokens = max(0.0, bucket.tokens - 1)
                    return
                await self._pacing.sleep(max((1 - bucket.tokens) / self.rate, 1e-3))
