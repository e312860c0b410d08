"""``GLFTMarketMaker``: quotes a post-only ladder around the mid from the GLFT closed form (DESIGN §4).

Each book batch runs one quote cycle: model inputs → GLFT depths (ticks) → bps with floors and add-ons →
a ladder rounded to Hyperliquid rules → a diff against the resting orders, so orders that still match keep
their queue position and only moved levels are cancelled and replaced. The cap is pending-aware: the
worst-case position counts every working order (including those being cancelled) as filled.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderAccepted
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderExpired
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from adapters.hyperliquid.rules import tick_at
from mm_strategy.config import GLFTMarketMakerConfig
from mm_strategy.order_tags import placement_tags
from mm_strategy.order_tags import read_placement
from mm_strategy.models.glft import glft_terms
from mm_strategy.models.glft import side_depths_ticks
from mm_strategy.models.glft import to_tick_units
from mm_strategy.quoting import LadderSpec
from mm_strategy.quoting import QuoteLevel
from mm_strategy.quoting import RestingOrder
from mm_strategy.quoting import build_ladder
from mm_strategy.quoting import diff_quotes
from mm_strategy.recorder import SessionRecorder


class GLFTMarketMaker(Strategy):
    def __init__(self, config: GLFTMarketMakerConfig) -> None:
        super().__init__(config)
        self.recorder = SessionRecorder(instrument_id=str(config.instrument_id))
        self._instrument: Instrument | None = None
        self._spec: LadderSpec | None = None
        self._orders_by_id: dict[str, Order] = {}
        self.quote_cycles = 0

    # -- lifecycle -------------------------------------------------------------------------------------

    def on_start(self) -> None:
        self._instrument = self.cache.instrument(self.config.instrument_id)
        if self._instrument is None:
            self.log.error(f"instrument {self.config.instrument_id} not in cache: not quoting")
            self.stop()
            return
        self._spec = LadderSpec(
            num_levels=self.config.num_levels,
            level_spacing_bps=self.config.level_spacing_bps,
            level_spacing_ratio=self.config.level_spacing_ratio,
            sz_decimals=self._instrument.size_precision,
        )
        self.subscribe_order_book_deltas(self.config.instrument_id, BookType.L2_MBP)

    def on_stop(self) -> None:
        self.cancel_all_orders(self.config.instrument_id)
        if self.config.close_position_on_stop:
            self.close_all_positions(self.config.instrument_id)

    # -- market data -----------------------------------------------------------------------------------

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        book: OrderBook = self.cache.order_book(self.config.instrument_id)
        best_bid = book.best_bid_price()
        best_ask = book.best_ask_price()
        if best_bid is None or best_ask is None:
            return
        mid = (best_bid.as_double() + best_ask.as_double()) / 2.0
        self.recorder.on_mid(deltas.ts_event, mid)
        self._quote_cycle(deltas.ts_event, mid, best_bid.as_decimal(), best_ask.as_decimal())

    # -- quoting ---------------------------------------------------------------------------------------

    def _quote_cycle(self, ts_ns: int, mid: float, best_bid: Decimal, best_ask: Decimal) -> None:
        self.quote_cycles += 1
        position = self._net_position()
        bid_depth_bps, ask_depth_bps = self._depths_bps(mid, best_bid, position)
        working = self._working_orders()
        bid_budget, ask_budget = self._side_budgets(position, working)
        bids, asks = build_ladder(
            mid=mid,
            best_bid=best_bid,
            best_ask=best_ask,
            bid_depth_bps=bid_depth_bps,
            ask_depth_bps=ask_depth_bps,
            bid_size=self.config.order_size,
            ask_size=self.config.order_size,
            bid_budget=bid_budget,
            ask_budget=ask_budget,
            spec=self._spec,
        )
        resting = [self._as_resting(o) for o in working if not o.is_pending_cancel and not o.is_inflight]
        diff = diff_quotes(bids + asks, resting, mid, self.config.requote_threshold_bps)
        for stale in diff.cancel:
            self.cancel_order(self._orders_by_id[stale.order_id])
        for level in self._within_cap(diff.place, position, working, diff):
            self._submit(level, mid)

    def _depths_bps(self, mid: float, best_bid: Decimal, position: Decimal) -> tuple[float, float]:
        """GLFT depths converted to bps of mid, the half-spread floored, skew kept (never zero when q ≠ 0)."""
        priors = self.config.priors
        tick = float(tick_at(best_bid, self._spec.sz_decimals))
        units = to_tick_units(priors.kappa_per_frac, priors.sigma_frac_per_sqrt_s, mid, tick)
        terms = glft_terms(
            gamma=priors.gamma,
            kappa_per_tick=units.kappa_per_tick,
            a_per_s=priors.a_per_s,
            sigma_ticks_per_sqrt_s=units.sigma_ticks_per_sqrt_s,
            half_spread_mult=self.config.half_spread_mult,
            skew_mult=self.config.skew_mult,
        )
        ticks_to_bps = tick / mid * 1e4
        half_spread_bps = max(terms.half_spread_ticks * ticks_to_bps, self.config.min_half_spread_bps)
        skew_bps = terms.skew_ticks_per_lot * ticks_to_bps
        q_lots = float(position / self.config.order_size)
        if q_lots != 0.0 and skew_bps <= 0.0:
            self.log.warning(f"inventory skew is zero with q={q_lots:.3f} lots (lesson E3)")
        return half_spread_bps + skew_bps * q_lots, half_spread_bps - skew_bps * q_lots

    def _side_budgets(self, position: Decimal, working: list[Order]) -> tuple[Decimal, Decimal]:
        """How much each side may still add: the cap minus the worst case of orders that can no longer be kept."""
        pending_buy = sum((o.leaves_qty.as_decimal() for o in working if o.side == OrderSide.BUY and _unkeepable(o)), Decimal(0))
        pending_sell = sum((o.leaves_qty.as_decimal() for o in working if o.side == OrderSide.SELL and _unkeepable(o)), Decimal(0))
        cap = self.config.max_position
        return max(cap - position - pending_buy, Decimal(0)), max(cap + position - pending_sell, Decimal(0))

    def _within_cap(self, place, position: Decimal, working: list[Order], diff) -> list[QuoteLevel]:
        """Trim new orders (deepest first) so position + every working order + new orders stays within the cap.

        Orders just sent for cancellation still count: they may fill before the cancel lands.
        """
        cap = self.config.max_position
        exposure = {
            OrderSide.BUY: sum((o.leaves_qty.as_decimal() for o in working if o.side == OrderSide.BUY), Decimal(0)),
            OrderSide.SELL: sum((o.leaves_qty.as_decimal() for o in working if o.side == OrderSide.SELL), Decimal(0)),
        }
        room = {OrderSide.BUY: cap - position - exposure[OrderSide.BUY], OrderSide.SELL: cap + position - exposure[OrderSide.SELL]}
        accepted = []
        for level in sorted(place, key=lambda lv: lv.level):
            if level.size <= room[level.side]:
                room[level.side] -= level.size
                accepted.append(level)
        return accepted

    def _submit(self, level: QuoteLevel, mid: float) -> None:
        instrument = self._instrument
        order = self.order_factory.limit(
            instrument_id=instrument.id,
            order_side=level.side,
            quantity=instrument.make_qty(level.size),
            price=instrument.make_price(level.price),
            time_in_force=TimeInForce.GTC,
            post_only=True,
            tags=placement_tags(mid, level.level),
        )
        self._orders_by_id[order.client_order_id.value] = order
        self.submit_order(order)

    # -- order events ----------------------------------------------------------------------------------

    def on_order_accepted(self, event: OrderAccepted) -> None:
        self._record_quotes(event.ts_event)

    def on_order_canceled(self, event: OrderCanceled) -> None:
        self._forget(event.client_order_id.value)
        self._record_quotes(event.ts_event)

    def on_order_expired(self, event: OrderExpired) -> None:
        self._forget(event.client_order_id.value)
        self._record_quotes(event.ts_event)

    def on_order_rejected(self, event: OrderRejected) -> None:
        self._forget(event.client_order_id.value)

    def on_order_filled(self, event: OrderFilled) -> None:
        coid = event.client_order_id.value
        order = self.cache.order(event.client_order_id)
        self.recorder.on_fill(
            placement=read_placement(order.tags) if order is not None else None,
            placement_ts_ns=order.ts_init if order is not None else event.ts_event,
            order_id=coid,
            ts_ns=event.ts_event,
            side="BUY" if event.order_side == OrderSide.BUY else "SELL",
            price=event.last_px.as_double(),
            qty=event.last_qty.as_double(),
            fee=event.commission.as_double(),
            liquidity="MAKER" if event.liquidity_side == LiquiditySide.MAKER else "TAKER",
        )
        if order is not None and order.is_closed:
            self._forget(coid)
        self._record_quotes(event.ts_event)

    # -- helpers ---------------------------------------------------------------------------------------

    def _forget(self, coid: str) -> None:
        self._orders_by_id.pop(coid, None)

    def _net_position(self) -> Decimal:
        return Decimal(str(self.portfolio.net_position(self.config.instrument_id)))

    def _working_orders(self) -> list[Order]:
        """Open and in-flight orders, once each (PENDING_CANCEL/PENDING_UPDATE orders are in both lists)."""
        iid, sid = self.config.instrument_id, self.id
        unique = {o.client_order_id: o for o in self.cache.orders_open(instrument_id=iid, strategy_id=sid)}
        for order in self.cache.orders_inflight(instrument_id=iid, strategy_id=sid):
            unique.setdefault(order.client_order_id, order)
        return list(unique.values())

    def _as_resting(self, order: Order) -> RestingOrder:
        return RestingOrder(order.client_order_id.value, order.side, order.price.as_decimal(), order.leaves_qty.as_decimal())

    def _record_quotes(self, ts_ns: int) -> None:
        best_bid = best_ask = None
        for order in self.cache.orders_open(instrument_id=self.config.instrument_id, strategy_id=self.id):
            px = order.price.as_double()
            if order.side == OrderSide.BUY:
                best_bid = px if best_bid is None else max(best_bid, px)
            else:
                best_ask = px if best_ask is None else min(best_ask, px)
        self.recorder.on_quotes(ts_ns, best_bid, best_ask)


def _unkeepable(order: Order) -> bool:
    """An order that the diff cannot keep this cycle but that may still fill: in flight or being cancelled."""
    return order.is_pending_cancel or order.is_inflight
