"""NautilusTrader plumbing for the book-only queue model (``mm_strategy.queue_model``): who sees what, and when.

NautilusTrader 1.231's ``FillModel`` is consulted by the matching engine only for orders the matching core finds
fillable, and it never sees the book's deltas. So the model is two objects:

- ``QueueFeedModule`` (a venue ``SimulationModule``): the exchange hands it every data point in ``pre_process``
  before the matching engine applies it. It mirrors the L2 book, and at the last delta of each batch (``F_LAST``)
  moves each of our resting orders' queue positions to the batch's level sizes. In ``process``, after the venue
  settled its commands, it starts tracking newly accepted orders at the back of their level, and modified ones
  again at the back of their new level: a venue puts a modified order behind its level's queue (Hyperliquid on any
  modify, a new price or a new size alike), and what was inferred through it at its old price is not owed to it.
- ``QueueFillModel`` (a ``FillModel``): says ``fill_limit_inside_spread``, so the matching core consults it for
  every resting order at or better than the best price on its side, on every book update. It answers with a
  one-level book holding what the queue model inferred executed through the order and not yet filled; an order
  that crosses the opposite best keeps NautilusTrader's own book-crossing fill.

Because the module runs before the matching engine on the same delta, a fill happens on the very book update
that implies it. Every inferred fill is published on the message bus (``INFERRED_FILL_TOPIC``); with
``drive_fills`` off the module only publishes while the venue fills from trades, so the agreement benchmark can
judge the inference on exactly the orders that trades filled or did not.

Orders sharing one price are tracked independently (each one's queue excludes the others); ``venue_config`` in
``mm_strategy.backtest`` wires both objects from the ``backtest.fill_model`` settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from nautilus_trader.backtest.config import SimulationModuleConfig
from nautilus_trader.backtest.models import FillModel
from nautilus_trader.backtest.modules import SimulationModule
from nautilus_trader.core.data import Data
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from mm_strategy.queue_model import QueueFunction
from mm_strategy.queue_model import QueuePosition
from mm_strategy.queue_model import Touch
from mm_strategy.queue_model import advance

_F_LAST = RecordFlag.F_LAST.value
_NS_PER_S = 1_000_000_000
INFERRED_FILL_TOPIC = "mm.queue_model.inferred_fill"


@dataclass(frozen=True, slots=True)
class InferredFill:
    ts_ns: int
    client_order_id: str
    side: str  # "BUY" | "SELL"
    price: float
    qty: float


@dataclass(slots=True)
class _Tracked:
    order: object  # the venue's Order
    position: QueuePosition
    price_raw: int
    quantity_raw: int  # with ``price_raw``, what the order was tracked at: either changes only by a modify
    filled_at_start: float  # what had filled before the order was tracked at this price and size
    stop_ns: int | None = None  # shadow only: keep inferring until then after the venue filled the order

    def is_current(self, order) -> bool:
        """Whether ``order`` still rests where this tracking started (no modify since)."""
        return self.price_raw == order.price.raw and self.quantity_raw == order.quantity.raw


class QueueFeedModuleConfig(SimulationModuleConfig, frozen=True):
    """``function``/``exponent``: the queue function (``QueueFunction``). ``drive_fills`` off: infer and record only
    (the venue's own fill model fills), keeping orders the venue filled tracked for ``shadow_grace_s`` more."""

    function: str = "power"
    exponent: float = 2.0
    drive_fills: bool = True
    shadow_grace_s: float = 5.0


class QueueFeedModule(SimulationModule):
    """Feeds the queue model from the venue's book deltas and open orders (see the module docstring)."""

    def __init__(self, config: QueueFeedModuleConfig) -> None:
        super().__init__(config)
        self.function = QueueFunction(config.function, config.exponent)  # validates, naming the field
        if config.shadow_grace_s < 0:
            raise ValueError(f"QueueFeedModuleConfig.shadow_grace_s: must be >= 0, got {config.shadow_grace_s}")
        self._drive_fills = config.drive_fills
        self._grace_ns = int(config.shadow_grace_s * _NS_PER_S)
        self._books: dict[InstrumentId, OrderBook] = {}
        self._tracked: dict[str, _Tracked] = {}
        self._inferred_count = 0

    def register_venue(self, exchange) -> None:
        super().register_venue(exchange)
        if self._drive_fills:
            fill_model = exchange.fill_model
            if not isinstance(fill_model, QueueFillModel):
                raise ValueError(
                    f"QueueFeedModuleConfig.drive_fills: the venue's fill model must be a QueueFillModel, "
                    f"got {type(fill_model).__name__}",
                )
            fill_model.attach(self)

    # -- the venue's hooks ------------------------------------------------------------------------------------

    def pre_process(self, data: Data) -> None:
        if isinstance(data, OrderBookDelta):
            book = self._book(data.instrument_id)
            book.apply_delta(data)
            if data.flags & _F_LAST:
                self._on_book(data.instrument_id, book, data.ts_init)
        elif isinstance(data, OrderBookDeltas):
            book = self._book(data.instrument_id)
            book.apply_deltas(data)
            self._on_book(data.instrument_id, book, data.ts_init)

    def process(self, ts_now: int) -> None:
        self.track(self.exchange.get_open_orders(), ts_now)

    def track(self, open_orders, ts_now: int) -> None:
        """Track newly accepted and modified orders among the venue's open ones; stop tracking closed ones (after the
        grace in shadow mode)."""
        open_ids = set()
        for order in open_orders:
            if order.order_type != OrderType.LIMIT:
                continue
            key = order.client_order_id.value
            open_ids.add(key)
            tracked = self._tracked.get(key)
            if tracked is None or not tracked.is_current(order):  # new, or modified: the back of its level
                self._tracked[key] = self._start(order)
        for key in [k for k in self._tracked if k not in open_ids]:
            tracked = self._tracked[key]
            if self._drive_fills or tracked.order.status != OrderStatus.FILLED:
                del self._tracked[key]  # driven mode, or (shadow) cancelled: its life is over
            elif tracked.stop_ns is None:
                tracked.stop_ns = ts_now + self._grace_ns
            elif ts_now > tracked.stop_ns:
                del self._tracked[key]

    def log_diagnostics(self, logger) -> None:
        logger.info(f"{type(self).__name__}: {self._inferred_count} inferred fills, {len(self._tracked)} tracked")

    def reset(self) -> None:
        self._books.clear()
        self._tracked.clear()
        self._inferred_count = 0

    # -- for the fill model -----------------------------------------------------------------------------------

    def owed_qty(self, order) -> float:
        """Quantity inferred executed through ``order`` at its current price and size that the venue has not filled
        yet (none for an order modified since it was tracked, until ``process`` tracks it again)."""
        tracked = self._tracked.get(order.client_order_id.value)
        if tracked is None or not tracked.is_current(order):
            return 0.0
        filled_since = order.filled_qty.as_double() - tracked.filled_at_start
        return max(min(tracked.position.inferred, tracked.position.quantity) - filled_since, 0.0)

    # -- internals --------------------------------------------------------------------------------------------

    def _book(self, instrument_id: InstrumentId) -> OrderBook:
        book = self._books.get(instrument_id)
        if book is None:
            book = self._books[instrument_id] = OrderBook(instrument_id, BookType.L2_MBP)
        return book

    def _start(self, order) -> _Tracked:
        book = self._book(order.instrument_id)
        view = _SideView.of(book, order.side)
        level = _level_qty(book, order)
        ahead = level if view.is_visible(order.price) else None
        filled = order.filled_qty.as_double()
        position = QueuePosition(
            quantity=order.quantity.as_double() - filled, ahead=ahead, level=level, touch=view.touch(order.price)
        )
        return _Tracked(order, position, order.price.raw, order.quantity.raw, filled)

    def _on_book(self, instrument_id: InstrumentId, book: OrderBook, ts_ns: int) -> None:
        views: dict[OrderSide, _SideView] = {}
        for key, tracked in self._tracked.items():
            order = tracked.order
            if order.instrument_id != instrument_id or tracked.position.remaining <= 0.0:
                continue
            if not tracked.is_current(order):
                continue  # modified since: ``track`` starts it again at the back of its new level
            if tracked.stop_ns is not None and ts_ns > tracked.stop_ns:
                continue
            view = views.get(order.side)
            if view is None:
                view = views[order.side] = _SideView.of(book, order.side)
            filled = advance(
                tracked.position,
                _level_qty(book, order),
                view.is_visible(order.price),
                view.touch(order.price),
                self.function,
            )
            if filled > 0.0:
                side = "BUY" if order.side == OrderSide.BUY else "SELL"
                self._inferred_count += 1
                self.msgbus.publish(INFERRED_FILL_TOPIC, InferredFill(ts_ns, key, side, order.price.as_double(), filled))


def _level_qty(book: OrderBook, order) -> float:
    # get_quantity_at_level takes the *incoming* order's side: SELL reads the bids a BUY of ours rests among.
    incoming = OrderSide.SELL if order.side == OrderSide.BUY else OrderSide.BUY
    return book.get_quantity_at_level(order.price, incoming, order.quantity.precision).as_double()


@dataclass(frozen=True, slots=True)
class _SideView:
    """One side of the mirrored book as our orders on it see it: its best and its deepest visible price."""

    is_buy: bool
    best: Price | None
    worst: Price | None

    @classmethod
    def of(cls, book: OrderBook, side: OrderSide) -> _SideView:
        is_buy = side == OrderSide.BUY
        levels = book.bids() if is_buy else book.asks()
        return cls(is_buy, levels[0].price if levels else None, levels[-1].price if levels else None)

    def touch(self, price: Price) -> Touch:
        if self.best is None:
            return Touch.BETTER
        if price == self.best:
            return Touch.AT
        better = price > self.best if self.is_buy else price < self.best
        return Touch.BETTER if better else Touch.BEHIND

    def is_visible(self, price: Price) -> bool:
        """Our price is within the depth the data shows (or better than its best): an absent level is empty."""
        if self.worst is None:
            return True
        return price >= self.worst if self.is_buy else price <= self.worst


class QueueFillModel(FillModel):
    """Fills resting orders with what the attached ``QueueFeedModule`` inferred (see the module docstring)."""

    def __init__(self, config=None) -> None:
        super().__init__(config=config)
        self._feed: QueueFeedModule | None = None
        self._empty_books: dict[InstrumentId, OrderBook] = {}

    def attach(self, feed: QueueFeedModule) -> None:
        self._feed = feed

    def fill_limit_inside_spread(self) -> bool:
        return True  # consult us for resting orders at the touch, not only for orders crossing the spread

    def get_orderbook_for_fill_simulation(self, instrument, order, best_bid, best_ask):
        if order.order_type != OrderType.LIMIT:
            return None
        crosses = order.price >= best_ask if order.side == OrderSide.BUY else order.price <= best_bid
        if crosses:
            return None  # NautilusTrader's own book-crossing fill at our limit
        owed = self._feed.owed_qty(order) if self._feed is not None else 0.0
        size = Quantity(owed, instrument.size_precision) if owed > 0.0 else None
        if size is None or size.raw < instrument.size_increment.raw:
            return self._empty_book(instrument.id)
        # Whole lots only; the rest stays owed until it makes a lot.
        size = Quantity.from_raw(size.raw - size.raw % instrument.size_increment.raw, instrument.size_precision)
        book = OrderBook(instrument.id, BookType.L2_MBP)
        contra = OrderSide.SELL if order.side == OrderSide.BUY else OrderSide.BUY
        book.add(BookOrder(contra, order.price, size, 1), 0, 0)
        return book

    def _empty_book(self, instrument_id: InstrumentId) -> OrderBook:
        book = self._empty_books.get(instrument_id)
        if book is None:
            book = self._empty_books[instrument_id] = OrderBook(instrument_id, BookType.L2_MBP)
        return book
