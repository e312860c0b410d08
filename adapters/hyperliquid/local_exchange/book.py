"""One replayed L2 snapshot: parsed prices for matching, the recorded level dicts for the wire.

The recording already holds the venue's exact level objects (``{"px","sz","n"}``, strings and an int), so
the wire form is served from them unchanged; only matching needs ``Decimal``s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING
from decimal import ROUND_FLOOR
from decimal import Decimal
from typing import Any

from adapters.hyperliquid.constants import BOOK_LEVELS
from adapters.hyperliquid.local_exchange.wire import dec


@dataclass(frozen=True, slots=True)
class Level:
    px: Decimal
    sz: Decimal
    n: int


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    coin: str
    time_ms: int
    bids: tuple[Level, ...]  # best (highest) first
    asks: tuple[Level, ...]  # best (lowest) first
    raw_levels: tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]

    @classmethod
    def from_ws_data(cls, data: dict[str, Any], time_ms: int) -> BookSnapshot:
        raw_bids, raw_asks = data["levels"]
        return cls(
            coin=data["coin"],
            time_ms=time_ms,
            bids=tuple(_level(raw) for raw in raw_bids),
            asks=tuple(_level(raw) for raw in raw_asks),
            raw_levels=(_wire_order(raw_bids), _wire_order(raw_asks)),
        )

    @property
    def best_bid(self) -> Level | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> Level | None:
        return self.asks[0] if self.asks else None

    def mid(self) -> Decimal | None:
        if not self.bids or not self.asks:
            return None
        return (self.bids[0].px + self.asks[0].px) / 2

    def size_at(self, is_bid: bool, px: Decimal) -> Decimal | None:
        """Displayed size at ``px`` on one side; None when ``px`` is outside the displayed window (unknown)."""
        levels = self.bids if is_bid else self.asks
        if not levels:
            return None
        deepest = levels[-1].px
        if (is_bid and px < deepest) or (not is_bid and px > deepest):
            return None
        for level in levels:
            if level.px == px:
                return level.sz
        return Decimal(0)

    def wire(self, n_sig_figs: int | None = None, mantissa: int | None = None, n_levels: int = BOOK_LEVELS) -> list:
        """``levels`` as the venue sends it: ``[bids, asks]``, optionally aggregated like ``nSigFigs``."""
        if n_sig_figs is None:
            return [list(self.raw_levels[0][:n_levels]), list(self.raw_levels[1][:n_levels])]
        return [
            _aggregate(self.bids, n_sig_figs, mantissa, ROUND_FLOOR)[:n_levels],
            _aggregate(self.asks, n_sig_figs, mantissa, ROUND_CEILING)[:n_levels],
        ]

    def bbo_wire(self) -> list:
        return [
            self.raw_levels[0][0] if self.raw_levels[0] else None,
            self.raw_levels[1][0] if self.raw_levels[1] else None,
        ]


def _wire_order(raw_levels: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Re-key each level as ``px, sz, n``: the live order; some collectors re-serialise keys alphabetically."""
    return tuple({"px": raw["px"], "sz": raw["sz"], "n": raw["n"]} for raw in raw_levels)


def _level(raw: dict[str, Any]) -> Level:
    return Level(Decimal(raw["px"]), Decimal(raw["sz"]), int(raw["n"]))


def _aggregate(levels: tuple[Level, ...], n_sig_figs: int, mantissa: int | None, rounding: str) -> list[dict]:
    """Bucket levels to ``n_sig_figs`` significant figures (bids down, asks up), summing size and count."""
    buckets: dict[Decimal, list] = {}
    for level in levels:
        exponent = math.floor(math.log10(level.px)) - n_sig_figs + 1
        step = Decimal(1).scaleb(exponent) * (mantissa or 1)
        bucket_px = (level.px / step).to_integral_value(rounding=rounding) * step
        entry = buckets.setdefault(bucket_px, [Decimal(0), 0])
        entry[0] += level.sz
        entry[1] += level.n
    return [{"px": dec(px), "sz": dec(sz), "n": n} for px, (sz, n) in buckets.items()]
