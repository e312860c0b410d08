"""Real market data as model inputs: one recording through the project's loader, replayed as the actors see it.

The loader (``adapters.hyperliquid.loaders.parse_file``) turns a recording into the deltas and trades a catalog
holds (or a catalog gives them); the deltas are applied to a NautilusTrader ``OrderBook`` and each batch's mid
taken, as ``EstimatorActor`` does. Events come in ``ts_init`` order (the engine's replay order) and carry the venue
``ts_event`` (the clock of the market-data-only actors).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag

from adapters.hyperliquid import loaders
from adapters.hyperliquid.meta import instrument_for

_SIGN = {AggressorSide.BUYER: 1, AggressorSide.SELLER: -1}


class Mid(NamedTuple):
    ts_ns: int
    mid: float


class Trade(NamedTuple):
    ts_ns: int
    price: float
    size: float
    aggressor_sign: int


def replay(path: Path, coin: str = "BTC") -> list[Mid | Trade]:
    """Book mids and trades of one recording, in replay order."""
    result = loaders.parse_file(path, instrument_for(coin))
    return market_events(result.deltas, result.trades)


def market_events(deltas: list[OrderBookDelta], trades: list[TradeTick]) -> list[Mid | Trade]:
    """Book mids (one per batch with both sides) and trades, in ``ts_init`` order (a catalog's deltas and trades
    too: ``benchmarks/validate_estimators.py``)."""
    book = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    keyed: list[tuple[int, int, Mid | Trade]] = []
    for delta in deltas:
        book.apply_delta(delta)
        if delta.flags & RecordFlag.F_LAST:
            mid = book.midpoint()
            if mid is not None:
                keyed.append((delta.ts_init, 0, Mid(delta.ts_event, mid)))
    for trade in trades:
        sign = _SIGN.get(trade.aggressor_side, 0)
        keyed.append((trade.ts_init, 1, Trade(trade.ts_event, trade.price.as_double(), trade.size.as_double(), sign)))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in keyed]


def mids_of(events: list[Mid | Trade]) -> list[Mid]:
    return [event for event in events if isinstance(event, Mid)]
