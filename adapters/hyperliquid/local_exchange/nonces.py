"""Per-signer nonce bookkeeping (reference §4.4).

The venue keeps each signer's 100 highest nonces. A new nonce must lie within (T − 2 d, T + 1 d) of block
time T, must not be in the set, and — once the set is full — must exceed its smallest member. Nonces are
tracked per *signer*: an agent signing for several accounts shares one set.
"""

from __future__ import annotations

import heapq

from adapters.hyperliquid.local_exchange import errors

KEPT = 100
_WINDOW_BEFORE_MS = 2 * 86_400_000
_WINDOW_AFTER_MS = 86_400_000


class NonceStore:
    def __init__(self) -> None:
        self._heaps: dict[str, list[int]] = {}
        self._sets: dict[str, set[int]] = {}

    @staticmethod
    def window_error(nonce: int, now_ms: int) -> str | None:
        """The error text if ``nonce`` is outside the time window: needs no signer, so it is checked before the
        (costly) signature recovery."""
        if not now_ms - _WINDOW_BEFORE_MS < nonce < now_ms + _WINDOW_AFTER_MS:
            return errors.NONCE_OUT_OF_WINDOW.format(nonce=nonce, now=now_ms)
        return None

    def check(self, signer: str, nonce: int, now_ms: int) -> str | None:
        """The venue's error text if ``nonce`` is unusable for ``signer``, else None (nothing recorded)."""
        window_error = self.window_error(nonce, now_ms)
        if window_error is not None:
            return window_error
        if nonce in self._sets.get(signer, ()):
            return errors.DUPLICATE_NONCE.format(nonce=nonce)
        heap = self._heaps.get(signer)
        if heap is not None and len(heap) >= KEPT and nonce <= heap[0]:
            return errors.NONCE_TOO_LOW.format(nonce=nonce)
        return None

    def use(self, signer: str, nonce: int) -> None:
        heap = self._heaps.setdefault(signer, [])
        used = self._sets.setdefault(signer, set())
        heapq.heappush(heap, nonce)
        used.add(nonce)
        if len(heap) > KEPT:
            used.discard(heapq.heappop(heap))
