"""Candles (``candleSnapshot`` and the WS ``candle`` subscription) from the replayed public trades.

A candle is ``{t, T, s, i, o, c, h, l, v, n}``: open and close times in ms (``T = t + interval - 1``), coin,
interval, prices and base volume as venue decimal strings, trade count as an integer (reference §2, §5.2; the
real kPEPE capture). Buckets are aligned on the epoch. Like the venue, a candle exists only where trades do, so
a recording without trades (the S3 book archive) has none. ``1M`` (calendar months) is not served.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from adapters.hyperliquid.local_exchange.wire import dec

_MINUTE_MS = 60_000
INTERVAL_MS = {
    "1m": _MINUTE_MS,
    "3m": 3 * _MINUTE_MS,
    "5m": 5 * _MINUTE_MS,
    "15m": 15 * _MINUTE_MS,
    "30m": 30 * _MINUTE_MS,
    "1h": 60 * _MINUTE_MS,
    "2h": 120 * _MINUTE_MS,
    "4h": 240 * _MINUTE_MS,
    "8h": 480 * _MINUTE_MS,
    "12h": 720 * _MINUTE_MS,
    "1d": 1440 * _MINUTE_MS,
    "3d": 3 * 1440 * _MINUTE_MS,
    "1w": 7 * 1440 * _MINUTE_MS,
}
MAX_CANDLES = 5000  # per candleSnapshot answer (reference §2)
_TRADES_KEPT = 200_000  # per coin; a looping replay would otherwise grow without bound

_Trade = tuple[int, Decimal, Decimal]  # (time ms, px, sz)


class CandleStore:
    def __init__(self) -> None:
        self._trades: dict[str, deque[_Trade]] = {}

    def add(self, coin: str, wire_trades: Iterable[dict[str, Any]]) -> None:
        trades = self._trades.setdefault(coin, deque(maxlen=_TRADES_KEPT))
        trades.extend((t["time"], Decimal(t["px"]), Decimal(t["sz"])) for t in wire_trades)

    def trades(self, coin: str) -> Iterator[_Trade]:
        return iter(self._trades.get(coin, ()))

    def candles(self, coin: str, interval: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Candles whose trades fall in ``[start_ms, end_ms]``, oldest first, at most ``MAX_CANDLES`` (the latest)."""
        span_ms = INTERVAL_MS[interval]
        buckets: dict[int, list[_Trade]] = {}
        for trade in self.trades(coin):
            if start_ms <= trade[0] <= end_ms:
                buckets.setdefault(trade[0] // span_ms, []).append(trade)
        return [_candle(coin, interval, bucket, trades) for bucket, trades in sorted(buckets.items())][-MAX_CANDLES:]

    def current(self, coin: str, interval: str) -> dict[str, Any] | None:
        """The candle holding the latest trade (what a ``candle`` subscription is pushed), or None before any."""
        trades = self._trades.get(coin)
        if not trades:
            return None
        bucket = trades[-1][0] // INTERVAL_MS[interval]
        recent: list[_Trade] = []
        for trade in reversed(trades):
            if trade[0] // INTERVAL_MS[interval] != bucket:
                break
            recent.append(trade)
        return _candle(coin, interval, bucket, recent[::-1])


def _candle(coin: str, interval: str, bucket: int, trades: list[_Trade]) -> dict[str, Any]:
    span_ms = INTERVAL_MS[interval]
    prices = [px for _, px, _ in trades]
    return {
        "t": bucket * span_ms,
        "T": bucket * span_ms + span_ms - 1,
        "s": coin,
        "i": interval,
        "o": dec(prices[0]),
        "c": dec(prices[-1]),
        "h": dec(max(prices)),
        "l": dec(min(prices)),
        "v": dec(sum((sz for _, _, sz in trades), Decimal(0))),
        "n": len(trades),
    }
