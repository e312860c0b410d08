"""Client-side view of the venue's two rate limits (protocol §6.6).

- :class:`WeightLimiter`: the IP budget, 1200 weight per minute shared by every REST request from this process
  (the data and execution clients share one per base URL). Requests wait for weight instead of earning a 429;
  a 429 drains the bucket and pauses everyone, since the venue counts the whole IP. Waiters are served first
  come, first served within two lanes: urgent requests (cancels, the dead-man switch, every read: what repairs
  or reduces exposure) go before new orders, so a quoting loop that uses up the budget never holds back a
  cancel or the resync after a reconnect.
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
        self._turn = {True: asyncio.Lock(), False: asyncio.Lock()}  # by urgency: each lane in arrival order
        self._urgent_waiting = 0

    @property
    def available(self) -> float:
        self._refill()
        return self._level

    async def acquire(self, weight: int, urgent: bool = False) -> None:
        """Wait until ``weight`` is available (and any 429 pause is over), then take it. First come, first
        served in each lane, and no new order while an urgent request waits: otherwise a heavy request (a
        resync's 20-weight read) starves behind a stream of 1-weight actions for as long as the budget is tight."""
        self._urgent_waiting += urgent
        try:
            async with self._turn[urgent]:
                while True:
                    self._refill()
                    now = self._clock()
                    if now < self._paused_until:
                        await asyncio.sleep(self._paused_until - now)
                    elif not urgent and self._urgent_waiting:
                        await asyncio.sleep(1.0 / self._rate_per_s)
                    elif self._level >= weight:
                        self._level -= weight
                        return
                    else:
                        await asyncio.sleep((weight - self._level) / self._rate_per_s)
        finally:
            self._urgent_waiting -= urgent

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
        """False when ``n_requests`` new orders or modifies would exceed the cap. Cancels are not asked: they count in
        ``used`` too (the venue reports one count) but have their own, higher cap, so the client always sends them."""
        remaining = self.remaining
        return remaining is None or remaining >= n_requests

    @property
    def is_low(self) -> bool:
        remaining = self.remaining
        return remaining is not None and self.cap is not None and remaining < self.cap * self.WARN_FRACTION
