"""Client-side view of the venue's two rate limits (protocol §6.6).

- :class:`WeightLimiter`: the IP budget, 1200 weight per minute shared by every REST request from this process
  (the data and execution clients share one per base URL). Requests wait for weight instead of earning a 429;
  a 429 drains the bucket and pauses everyone, since the venue counts the whole IP.
- :class:`AddressBudget`: the per-address action count (10 000 + cumulative USDC volume; a batch of n counts n;
  cancels get a larger cap). The venue is the authority (``userRateLimit``); between reads the client counts
  what it sends, so it can warn before the venue starts refusing orders and stop wasting requests on orders
  that would be refused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from adapters.hyperliquid.weights import IP_WEIGHT_PER_MIN


class WeightLimiter:
    def __init__(self, per_minute: int = IP_WEIGHT_PER_MIN, clock: Callable[[], float] = time.monotonic) -> None:
        self._capacity = float(per_minute)
        self._rate_per_s = per_minute / 60.0
        self._clock = clock
        self._level = self._capacity
        self._stamp = clock()
        self._paused_until = 0.0
        self._turn = asyncio.Lock()  # waiters are served in arrival order

    @property
    def available(self) -> float:
        self._refill()
        return self._level

    async def acquire(self, weight: int) -> None:
        """Wait until ``weight`` is available (and any 429 pause is over), then take it. First come, first
        served: otherwise a heavy request (a resync's 20-weight read) starves behind a stream of 1-weight
        actions for as long as the budget stays tight."""
        async with self._turn:
            while True:
                self._refill()
                now = self._clock()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                if self._level >= weight:
                    self._level -= weight
                    return
                await asyncio.sleep((weight - self._level) / self._rate_per_s)

    def charge(self, weight: int) -> None:
        """Take weight that only became known after the answer (per-item weight of list endpoints)."""
        if weight > 0:
            self._refill()
            self._level -= weight

    def pause(self, seconds: float) -> None:
        """After a 429: the venue thinks this IP is over budget, so nothing goes out for ``seconds``."""
        self._refill()
        self._level = min(self._level, 0.0)
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self._capacity, self._level + (now - self._stamp) * self._rate_per_s)
        self._stamp = now


class AddressBudget:
    """Actions used against the address cap, as last read from the venue plus what was sent since."""

    WARN_FRACTION = 0.1

    def __init__(self) -> None:
        self.used = 0
        self.cap: int | None = None  # unknown until the first read

    def update(self, used: int, cap: int) -> None:
        self.used, self.cap = used, cap

    def spend(self, n_requests: int) -> None:
        self.used += n_requests

    @property
    def remaining(self) -> int | None:
        return None if self.cap is None else self.cap - self.used

    def allows(self, n_requests: int) -> bool:
        """False when ``n_requests`` new orders would exceed the cap (cancels have more room and always pass)."""
        remaining = self.remaining
        return remaining is None or remaining >= n_requests

    @property
    def is_low(self) -> bool:
        remaining = self.remaining
        return remaining is not None and self.cap is not None and remaining < self.cap * self.WARN_FRACTION
