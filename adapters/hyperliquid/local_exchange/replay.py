"""The market: real recorded Hyperliquid WS traffic, re-timed onto the venue clock.

Each recording file is placed on a relative time axis that starts at its own first message, so files of
different dates (the 2024 S3 archive hour, the 2025 hftbacktest capture) all start when the server starts.
A coin may come from only one file: two recordings of one coin from different dates cannot be one market.

Loaded recordings are immutable and cached per path set, because several exchanges in one test session
replay the same 9 MB hour.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.hyperliquid.recordings import iter_ws_messages

_LOOP_GAP_NS = 500_000_000


@dataclass(frozen=True, slots=True)
class ReplayEvent:
    """One recorded WS message: ``kind`` is ``"l2Book"`` or ``"trades"``. ``origin_ms`` is the receive time of
    its file's first message: block times are re-timed through the same axis as receive times, so they stay
    monotonic and keep their recorded delay to the receipt (scaled by the replay speed)."""

    position_ns: int
    kind: str
    coin: str
    data: Any
    origin_ms: int


@dataclass(frozen=True, slots=True)
class Recording:
    events: tuple[ReplayEvent, ...]
    span_ns: int
    coins: tuple[str, ...]
    sources: tuple[str, ...]

    def first_book(self, coin: str) -> ReplayEvent | None:
        return next((e for e in self.events if e.kind == "l2Book" and e.coin == coin), None)


def load_recording(paths: tuple[Path, ...]) -> Recording:
    return _load(tuple(Path(p).resolve() for p in paths))


@functools.lru_cache(maxsize=8)
def _load(paths: tuple[Path, ...]) -> Recording:
    events: list[ReplayEvent] = []
    owner: dict[str, Path] = {}
    for path in paths:
        file_events = _read_file(path)
        for coin in {e.coin for e in file_events}:
            if coin in owner:
                raise ValueError(f"{coin} is recorded in both {owner[coin].name} and {path.name}; give one")
            owner[coin] = path
        events.extend(file_events)
    if not events:
        raise ValueError(f"no l2Book or trades messages in {', '.join(p.name for p in paths)}")
    events.sort(key=lambda e: e.position_ns)
    return Recording(
        events=tuple(events),
        span_ns=events[-1].position_ns + _LOOP_GAP_NS,
        coins=tuple(sorted(owner)),
        sources=tuple(str(p) for p in paths),
    )


def _read_file(path: Path) -> list[ReplayEvent]:
    events: list[ReplayEvent] = []
    first_ns: int | None = None
    for _, recv_ns, message in iter_ws_messages(path):
        channel = message.get("channel")
        if channel not in ("l2Book", "trades"):
            continue
        first_ns = recv_ns if first_ns is None else first_ns
        position = recv_ns - first_ns
        origin_ms = first_ns // 1_000_000
        data = message["data"]
        if channel == "l2Book":
            events.append(ReplayEvent(position, "l2Book", data["coin"], data, origin_ms))
            continue
        by_coin: dict[str, list[dict]] = {}
        for trade in data:
            by_coin.setdefault(trade["coin"], []).append(trade)
        for coin, trades in by_coin.items():
            events.append(ReplayEvent(position, "trades", coin, trades, origin_ms))
    return events


class ReplayCursor:
    """Walks a recording, looping if asked; positions keep growing across laps (lap × span)."""

    def __init__(self, recording: Recording, loop: bool) -> None:
        self.recording = recording
        self.loop = loop
        self.lap = 0
        self._index = 0

    def next_position(self) -> int | None:
        if self._index >= len(self.recording.events):
            if not self.loop:
                return None
            self._index = 0
            self.lap += 1
        return self.recording.events[self._index].position_ns + self.lap * self.recording.span_ns

    def pop(self) -> ReplayEvent:
        event = self.recording.events[self._index]
        self._index += 1
        return event
