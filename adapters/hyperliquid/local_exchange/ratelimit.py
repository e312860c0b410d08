"""The venue's two rate limits (reference §6.6).

- Per IP: REST requests share 1200 weight per minute (a bucket refilled continuously); over budget → HTTP 429.
  The weights are the client's own table (``adapters/hyperliquid/weights.py``).
- Per address (actions only): ``10 000 + floor(cumulative USDC volume)`` requests, a batch of n counting n;
  cancels get ``min(cap + 100 000, 2·cap)``; a limited address may still act once every 10 s.
"""

from __future__ import annotations

import math
import time
from decimal import ROUND_DOWN
from decimal import Decimal

from adapters.hyperliquid.local_exchange import errors
from adapters.hyperliquid.local_exchange.state import Account
from adapters.hyperliquid.local_exchange.wire import dec

_LIMITED_INTERVAL_MS = 10_000
CANCEL_ACTIONS = frozenset({"cancel", "cancelByCloid", "scheduleCancel"})


class IpWeightLimiter:
    """A token bucket per client IP: ``capacity`` weight, refilled at ``capacity`` per minute."""

    def __init__(self, per_minute: int | None) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, ip: str, weight: int) -> bool:
        if self.per_minute is None:
            return True
        now = time.monotonic()
        level, stamp = self._buckets.get(ip, (float(self.per_minute), now))
        level = min(float(self.per_minute), level + (now - stamp) * self.per_minute / 60.0)
        if level < weight:
            self._buckets[ip] = (level, now)
            return False
        self._buckets[ip] = (level - weight, now)
        return True

    def charge(self, ip: str, weight: int) -> None:
        """Take weight that only became known after answering (per-item info weight); may go negative."""
        if self.per_minute is None or weight <= 0:
            return
        level, stamp = self._buckets.get(ip, (float(self.per_minute), time.monotonic()))
        self._buckets[ip] = (level - weight, stamp)


def address_cap(account: Account, initial_buffer: int, action_type: str = "order") -> int:
    cap = initial_buffer + math.floor(account.cum_vlm)
    return min(cap + 100_000, 2 * cap) if action_type in CANCEL_ACTIONS else cap


def check_address_budget(
    account: Account,
    action_type: str,
    n_requests: int,
    initial_buffer: int,
    now_ms: int,
) -> str | None:
    """The venue's error text if the address is out of budget, else None. Charges nothing."""
    cap = address_cap(account, initial_buffer, action_type)
    used = account.n_requests_used + n_requests
    if used <= cap or now_ms - account.limited_last_ms >= _LIMITED_INTERVAL_MS:
        return None
    volume = account.cum_vlm.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return errors.ADDRESS_RATE_LIMIT.format(used=used, cap=cap, volume=volume)


def charge_address(account: Account, action_type: str, n_requests: int, initial_buffer: int, now_ms: int) -> None:
    if account.n_requests_used + n_requests > address_cap(account, initial_buffer, action_type):
        account.limited_last_ms = now_ms  # used the once-per-10-s allowance
    account.n_requests_used += n_requests


def user_rate_limit_wire(account: Account | None, initial_buffer: int) -> dict:
    if account is None:
        return {"cumVlm": "0.0", "nRequestsUsed": 0, "nRequestsCap": initial_buffer, "nRequestsSurplus": 0}
    return {
        "cumVlm": dec(account.cum_vlm),
        "nRequestsUsed": account.n_requests_used,
        "nRequestsCap": address_cap(account, initial_buffer),
        "nRequestsSurplus": 0,
    }
