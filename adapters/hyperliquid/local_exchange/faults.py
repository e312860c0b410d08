"""Fault injection, switchable while the exchange runs (Python API, or ``POST /_admin/faults``).

A rule targets WS frames by channel (``l2Book``, ``orderUpdates``, ``user``, ``post``, …) or actions by type
(``order``, ``cancel``, …, for both ``/exchange`` and WS ``post``), and lasts for the next ``count`` matches
or for ``seconds``. Kinds:

- ``drop``: a WS frame is never sent; for an action, ``phase="response"`` (default) executes it and loses the
  answer (the connection is cut), ``phase="request"`` loses it before it reaches the engine.
- ``delay``: a WS frame is sent ``delay_s`` later while later frames go ahead of it; an action is executed
  ``delay_s`` later (it sat in the network).
- ``reorder``: a WS frame is held back and sent right after the next frame of the same channel (or after
  ``REORDER_TIMEOUT_S``), e.g. an ``orderUpdates`` cancel arriving after the accept that followed it.
- ``http_429``: every REST request gets HTTP 429 (an IP-limit storm), for ``count`` requests or ``seconds``.

Connection-level faults (``drop_ws_connections``) and restarts act on the server and live in ``server.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

REORDER_TIMEOUT_S = 1.0
KINDS = ("drop", "delay", "reorder", "http_429")


@dataclass(slots=True)
class FaultRule:
    kind: str
    channel: str | None = None
    action: str | None = None
    remaining: int | None = None
    until: float | None = None
    delay_s: float = 0.0
    phase: str = "response"

    def live(self, now: float) -> bool:
        return (self.remaining is None or self.remaining > 0) and (self.until is None or now < self.until)

    def matches_channel(self, channel: str) -> bool:
        return self.channel is not None and self.channel == channel

    def matches_action(self, action_type: str) -> bool:
        return self.action is not None and self.action == action_type

    def consume(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "channel": self.channel,
            "action": self.action,
            "remaining": self.remaining,
            "seconds_left": None if self.until is None else max(0.0, self.until - time.monotonic()),
            "delay_s": self.delay_s,
            "phase": self.phase,
        }


class FaultController:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    # ---------------------------------------------------------------------------------------- arming

    def drop(
        self,
        *,
        channel: str | None = None,
        action: str | None = None,
        count: int | None = 1,
        seconds: float | None = None,
        phase: str = "response",
    ) -> FaultRule:
        if phase not in ("request", "response"):
            raise ValueError("phase must be 'request' or 'response'")
        return self._add(FaultRule("drop", channel, action, phase=phase), count, seconds)

    def delay(
        self,
        delay_s: float,
        *,
        channel: str | None = None,
        action: str | None = None,
        count: int | None = 1,
        seconds: float | None = None,
    ) -> FaultRule:
        return self._add(FaultRule("delay", channel, action, delay_s=delay_s), count, seconds)

    def reorder(self, channel: str = "orderUpdates", count: int | None = 1, seconds: float | None = None) -> FaultRule:
        return self._add(FaultRule("reorder", channel=channel), count, seconds)

    def http_429(self, count: int | None = None, seconds: float | None = None) -> FaultRule:
        if count is None and seconds is None:
            raise ValueError("a 429 storm needs a count or a duration")
        return self._add(FaultRule("http_429"), count, seconds)

    def clear(self) -> None:
        self.rules.clear()

    def _add(self, rule: FaultRule, count: int | None, seconds: float | None) -> FaultRule:
        if rule.kind in ("drop", "delay") and (rule.channel is None) == (rule.action is None):
            raise ValueError("give exactly one of channel= or action=")
        if count is None and seconds is None:
            raise ValueError("a fault needs a count or a duration")
        rule.remaining = count
        rule.until = None if seconds is None else time.monotonic() + seconds
        self.rules.append(rule)
        return rule

    # --------------------------------------------------------------------------------------- matching

    def for_channel(self, channel: str) -> FaultRule | None:
        return self._take(lambda rule: rule.kind in ("drop", "delay", "reorder") and rule.matches_channel(channel))

    def for_action(self, action_type: str) -> FaultRule | None:
        return self._take(lambda rule: rule.kind in ("drop", "delay") and rule.matches_action(action_type))

    def take_429(self) -> bool:
        return self._take(lambda rule: rule.kind == "http_429") is not None

    def _take(self, predicate) -> FaultRule | None:
        if not self.rules:
            return None
        now = time.monotonic()
        self.rules = [rule for rule in self.rules if rule.live(now)]
        for rule in self.rules:
            if predicate(rule):
                rule.consume()
                return rule
        return None
