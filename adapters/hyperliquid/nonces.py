"""Request nonces: strictly increasing milliseconds for one signer, one counter per signer in a process.

The venue tracks nonces per signing address (the account, or the agent wallet when one signs), not per
connection or client. Every client of this process that signs with one address therefore takes its nonces
from the same :class:`NonceManager` (:func:`nonce_manager_for`): two execution clients with their own counters
on one key would both hand out ``now_ms`` within one millisecond and the venue would refuse the second as
``Invalid nonce: duplicate``. A counter cannot span processes: two processes trading on one key collide the
same way, so each process needs its own key (an agent wallet per process, protocol §4.4), as the venue asks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class NonceManager:
    """Millisecond nonces for one signer, strictly increasing: ``max(now_ms, last + 1)``.

    The venue keeps a signer's 100 highest nonces, rejects duplicates and anything not above the smallest
    kept, and requires the nonce within (now - 2 days, now + 1 day) (protocol §4.4). Several actions in the
    same millisecond therefore take consecutive values; a clock that steps back never produces a repeat. One
    instance per signing address (an agent wallet signing for several accounts shares one): take it from
    :func:`nonce_manager_for`. Single asyncio loop: no locking.
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


@lru_cache(maxsize=None)
def nonce_manager_for(signer_address: str) -> NonceManager:
    """The process's nonce counter for ``signer_address`` (lowercase ``0x`` address, as the signer gives it)."""
    return NonceManager()
