"""One coin's market: the replayed book plus our resting orders.

Fill model (our orders never move the replayed book):
- A resting order fills at its own limit price, as maker, when a new snapshot crosses it (best ask ≤ our
  bid, best bid ≥ our ask): the replayed liquidity at or through our price is what traded with us, so the
  fill is capped by it and shared out best price first.
- Where the recording has trades, a resting order is queue-aware: at placement its queue ahead is the
  displayed size at its price; trades at that price eat the queue first and fill us with the excess; a trade
  through our price fills us first (we were the better price). Queue ahead only shrinks as the displayed
  size at our price shrinks; a level that vanished inside the displayed window leaves no queue.
- A taker (GTC/IOC that crosses) walks the replayed levels at their displayed prices. What it takes is
  remembered per level until the next snapshot replaces the book, so two takers in one book do not both
  eat the same displayed size.
Our own orders are invisible to the public book and never match each other (no self-trade model).
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.hyperliquid.local_exchange.book import BookSnapshot
from adapters.hyperliquid.local_exchange.book import Level
from adapters.hyperliquid.local_exchange.state import Order
from adapters.hyperliquid.local_exchange.wire import ZERO

RECENT_TRADES = 30  # trades back-filled on a new `trades` subscription ([3P-PROBE], reference §5.2)


@dataclass(frozen=True, slots=True)
class Fill:
    order: Order
    qty: Decimal
    px: Decimal


class Market:
    def __init__(self, coin: str, asset: int, sz_decimals: int, max_leverage: int) -> None:
        self.coin = coin
        self.asset = asset
        self.sz_decimals = sz_decimals
        self.max_leverage = max_leverage
        self.book: BookSnapshot | None = None
        self.last_trade_px: Decimal | None = None
        self.recent_trades: deque[dict[str, Any]] = deque(maxlen=RECENT_TRADES)
        self._bids: list[tuple[tuple[Decimal, int], Order]] = []  # keyed (-px, oid): best first
        self._asks: list[tuple[tuple[Decimal, int], Order]] = []  # keyed (px, oid)
        self._taken: dict[tuple[bool, Decimal], Decimal] = {}

    # ----------------------------------------------------------------------------------------- prices

    def mark(self) -> Decimal | None:
        """Mid of the replayed book, else the last trade; the venue's mark blends oracle and book, which a
        replay of the book alone cannot reproduce."""
        mid = self.book.mid() if self.book is not None else None
        return mid if mid is not None else self.last_trade_px

    def bbo(self) -> tuple[Decimal | None, Decimal | None]:
        if self.book is None:
            return None, None
        bid, ask = self.book.best_bid, self.book.best_ask
        return (bid.px if bid else None), (ask.px if ask else None)

    def would_cross(self, is_buy: bool, px: Decimal) -> bool:
        bid, ask = self.bbo()
        return (ask is not None and px >= ask) if is_buy else (bid is not None and px <= bid)

    # ---------------------------------------------------------------------------------- resting orders

    def rest(self, order: Order) -> None:
        size = self.book.size_at(order.is_buy, order.limit_px) if self.book is not None else None
        order.queue_ahead = size or ZERO
        side, key = self._side(order)
        bisect.insort(side, (key, order), key=lambda item: item[0])

    def remove(self, order: Order) -> None:
        side, key = self._side(order)
        index = bisect.bisect_left(side, key, key=lambda item: item[0])
        if index < len(side) and side[index][1] is order:
            del side[index]

    def _side(self, order: Order) -> tuple[list, tuple[Decimal, int]]:
        if order.is_buy:
            return self._bids, (-order.limit_px, order.oid)
        return self._asks, (order.limit_px, order.oid)

    # ------------------------------------------------------------------------------------------ taking

    def take(self, is_buy: bool, limit_px: Decimal, qty: Decimal) -> list[tuple[Decimal, Decimal]]:
        """Walk the opposite replayed side up to ``limit_px``; returns ``[(px, qty)]`` best first."""
        if self.book is None:
            return []
        fills = []
        remaining = qty
        for level in self.book.asks if is_buy else self.book.bids:
            if remaining == 0 or (level.px > limit_px if is_buy else level.px < limit_px):
                break
            key = (not is_buy, level.px)
            available = level.sz - self._taken.get(key, ZERO)
            if available <= 0:
                continue
            take = min(available, remaining)
            self._taken[key] = self._taken.get(key, ZERO) + take
            remaining -= take
            fills.append((level.px, take))
        return fills

    # ------------------------------------------------------------------------------------ replay input

    def apply_book(self, snapshot: BookSnapshot) -> list[Fill]:
        self.book = snapshot
        self._taken.clear()
        fills = self._cross(self._bids, snapshot.asks, lambda ours, level: level <= ours)
        fills += self._cross(self._asks, snapshot.bids, lambda ours, level: level >= ours)
        for _, order in self._bids + self._asks:
            shown = snapshot.size_at(order.is_buy, order.limit_px)
            if shown is not None and shown < order.queue_ahead:
                order.queue_ahead = shown
        return fills

    def apply_trades(self, trades: list[dict[str, Any]]) -> list[Fill]:
        fills: list[Fill] = []
        unfilled: dict[int, Decimal] = {}  # what each order has left after this batch's earlier fills
        for trade in trades:
            px, size = Decimal(trade["px"]), Decimal(trade["sz"])
            self.last_trade_px = px
            # The aggressor's side is `side`: a sell ("A") trades with bids, a buy ("B") with asks.
            ours = self._bids if trade["side"] == "A" else self._asks
            fills += self._trade_through(ours, px, size, trade["side"] == "A", unfilled)
        return fills

    def record_trades(self, wire_trades: list[dict[str, Any]]) -> None:
        self.recent_trades.extend(wire_trades)

    @staticmethod
    def _cross(ours: list, levels: tuple, crosses) -> list[Fill]:
        fills: list[Fill] = []
        for _, order in list(ours):
            available = sum((lv.sz for lv in levels if crosses(order.limit_px, lv.px)), ZERO)
            if available <= 0:
                break
            qty = min(order.sz, available)
            fills.append(Fill(order, qty, order.limit_px))
            levels = tuple(_shrink(levels, qty, order.limit_px, crosses))
        return fills

    @staticmethod
    def _trade_through(
        ours: list, px: Decimal, size: Decimal, ours_are_bids: bool, unfilled: dict[int, Decimal]
    ) -> list[Fill]:
        fills: list[Fill] = []
        left = size
        for _, order in ours:
            if left <= 0:
                break
            better = order.limit_px > px if ours_are_bids else order.limit_px < px
            if not better:
                if order.limit_px != px:
                    break
                eaten = min(order.queue_ahead, left)
                order.queue_ahead -= eaten
                left -= eaten
            qty = min(unfilled.get(order.oid, order.sz), left)
            if qty > 0:
                fills.append(Fill(order, qty, order.limit_px))
                unfilled[order.oid] = unfilled.get(order.oid, order.sz) - qty
                left -= qty
        return fills

def _shrink(levels: tuple, qty: Decimal, limit_px: Decimal, crosses):
    """Levels with ``qty`` of crossing liquidity removed best-first: what one of our orders used up."""
    left = qty
    for level in levels:
        if left > 0 and crosses(limit_px, level.px):
            used = min(level.sz, left)
            left -= used
            yield Level(level.px, level.sz - used, level.n)
        else:
            yield level
