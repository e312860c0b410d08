"""Request nonces: strictly increasing milliseconds for one signer."""

from __future__ import annotations

import time
from collections.abc import Callable


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class NonceManager:
    """Millisecond nonces for one signer, strictly increasing: ``max(now_ms, last + 1)``.

    The venue keeps a signer's 100 highest nonces, rejects duplicates and anything not above the smallest
    kept, and requires the nonce within (now - 2 days, now + 1 day) (protocol §4.4). Several actions in the
    same millisecond therefore take consecutive values; a clock that steps back never produces a repeat. Use
    one instance per signing address (an agent wallet signing for several accounts shares one). Single
    asyncio loop: no locking.
    """

    __slots__ = ("_clock_ms", "_last")

    def __init__(self, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._clock_ms = clock_ms
        self._last = 0

    def next_nonce(self) -> int:
        nonce = max(self._clock_ms(), self._last + 1)
        self._last = nonce
        return nonce

    @property
    def last(self) -> int:
        """The most recent nonce handed out (0 before the first)."""
        return self._last
