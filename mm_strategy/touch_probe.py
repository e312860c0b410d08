"""``TouchProbe``: a validation strategy that keeps one post-only order per side resting at the best price.

Why: our market maker quotes several ticks deep, so almost all its fills happen when the market moves through its
price; they say little about queue position. The probe's orders live in the queue at the touch, which is where a
queue model is right or wrong. The agreement benchmark runs it with trade-driven fills and with the book-only
queue model to judge the queue mechanics themselves. Not a trading strategy: it ignores inventory.

Policy, on each book batch, per side: no working order → join the best price on that side; the order's price is
no longer the best because the best moved away from it (a BUY below a higher best bid) → cancel, rejoin next
batch. An order whose level emptied while the best moved past it stays: it may be filled, or be the best alone.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.trading.strategy import Strategy


class TouchProbeConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    order_size: Decimal


class TouchProbe(Strategy):
    def __init__(self, config: TouchProbeConfig) -> None:
        super().__init__(config)
        self._instrument = None

    def on_start(self) -> None:
        self._instrument = self.cache.instrument(self.config.instrument_id)
        if self._instrument is None:
            self.log.error(f"instrument {self.config.instrument_id} not in cache: probe idle")
            return
        self.subscribe_order_book_deltas(self.config.instrument_id, BookType.L2_MBP)

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        book: OrderBook = self.cache.order_book(self.config.instrument_id)
        best_bid, best_ask = book.best_bid_price(), book.best_ask_price()
        if best_bid is None or best_ask is None:
            return
        self._tend(OrderSide.BUY, best_bid)
        self._tend(OrderSide.SELL, best_ask)

    def on_stop(self) -> None:
        self.cancel_all_orders(self.config.instrument_id)

    def _tend(self, side: OrderSide, best: Price) -> None:
        working = [o for o in self.cache.orders_open(instrument_id=self.config.instrument_id, side=side)]
        working += self.cache.orders_inflight(instrument_id=self.config.instrument_id, side=side)
        if not working:
            order = self.order_factory.limit(
                instrument_id=self.config.instrument_id,
                order_side=side,
                quantity=self._instrument.make_qty(self.config.order_size),
                price=best,
                post_only=True,
            )
            self.submit_order(order)
            return
        for order in working:
            if order.is_open and not order.is_pending_cancel and _behind(side, order.price, best):
                self.cancel_order(order)


def _behind(side: OrderSide, price: Price, best: Price) -> bool:
    """The best on our side moved away from our price: others now have priority at a better price."""
    return price < best if side == OrderSide.BUY else price > best
