"""Venue time and replay position.

The venue's clock must stay close to the wall clock even when the market is a 2024 recording: clients put
``now_ms`` in their nonces and the venue only accepts nonces within (T − 2 d, T + 1 d) of its block time T,
and strategies compare book timestamps with their own clock to detect staleness. So venue time starts at the
wall clock and the recording is re-timed onto it, never the other way round.

Two modes:
- real time: the replay position advances with the wall clock times ``speed``; venue time is the wall clock.
- manual (tests): nothing moves until ``advance``/``set_position`` is called; venue time is the start
  instant plus the replay position, so a test that advances 10 minutes of market sees 10 minutes pass.
"""

from __future__ import annotations

import time


class VenueClock:
    def __init__(self, speed: float = 1.0, manual: bool = False) -> None:
        self.speed = speed
        self.manual = manual
        self._anchor_wall_ns = time.time_ns()
        self._manual_position_ns = 0

    def start(self) -> None:
        """Anchor the replay at the current instant (called once, when the exchange first starts)."""
        self._anchor_wall_ns = time.time_ns()
        self._manual_position_ns = 0

    def now_ms(self) -> int:
        if self.manual:
            return (self._anchor_wall_ns + self._manual_position_ns) // 1_000_000
        return time.time_ns() // 1_000_000

    def venue_ms_at(self, position_ns: int) -> int:
        """Venue time at which the replay reaches ``position_ns``: what a replayed event is re-timed to."""
        scale = 1.0 if self.manual else self.speed
        return (self._anchor_wall_ns + int(position_ns / scale)) // 1_000_000

    def position_at(self, venue_ms: int) -> int:
        """Inverse of ``venue_ms_at``: the replay position whose venue time is ``venue_ms``."""
        scale = 1.0 if self.manual else self.speed
        return int((venue_ms * 1_000_000 - self._anchor_wall_ns) * scale)

    def position_ns(self) -> int:
        """Nanoseconds of recording played so far (the recording's own time axis, from its first event)."""
        if self.manual:
            return self._manual_position_ns
        return int((time.time_ns() - self._anchor_wall_ns) * self.speed)

    def wall_delay_s(self, position_ns: int) -> float:
        """Seconds of wall time until the replay reaches ``position_ns`` (real-time mode)."""
        return max(0.0, (position_ns - self.position_ns()) / self.speed / 1e9)

    def set_position(self, position_ns: int) -> None:
        if not self.manual:
            raise RuntimeError("the replay position can only be set on a manual clock")
        if position_ns < self._manual_position_ns:
            raise ValueError("the replay clock cannot go backwards")
        self._manual_position_ns = position_ns
