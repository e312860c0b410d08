"""``GLFTMarketMaker``: quotes a post-only ladder from the GLFT closed form (DESIGN §4) around the fair value.

Each book batch runs one quote cycle:

1. the kill switch sees the book and decides what may be quoted (``QuotePlan``: HALTED or pulled → cancel all;
   REDUCING or a red inventory zone → reducing side only, tightened; yellow → smaller increasing side);
2. model inputs come from the estimator actors' latest messages, or from the priors when missing, or the more
   conservative of prior and last value when stale (``inputs.py``); γ_eff (per USD) = γ × vol scalar × inventory,
   in log space and clamped; calibration and warmup scale the half-spread;
3. GLFT depths per side, measured from the fair value (the mid shifted by the size imbalance near it, in the coin's
   own σ: ``models/fair_value.py``) → a ladder rounded to the venue's rules → a level-by-level diff against the resting
   orders, so an order that still sits at its own level's price keeps its queue position and one that does not is
   amended to its level's price and size with one modify (``_amendable`` says when a venue can take one); the cap is
   pending-aware (every working order counts as filled, an order with a modify in flight at its old leaves plus its
   new size: Hyperliquid's modify is cancel-replace).

Every report series is recorded on the engine clock (``self.clock``), never on an event's venue timestamp: venue
time lags receive time and fills recovered by a resync are older still, so mixing them made series go backwards
and lost the live report after a reconnect (issue 12, defect 1).

Risk checks that need no book event (staleness, equity for the loss limits) run on a timer in data time.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Callable
from collections.abc import Hashable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from nautilus_trader.core.data import Data
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderAccepted
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.events import OrderExpired
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderModifyRejected
from nautilus_trader.model.events import OrderPendingCancel
from nautilus_trader.model.events import OrderPendingUpdate
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.model.events import OrderSubmitted
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.identifiers import OrderListId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import FIXED_PRECISION
from nautilus_trader.model.objects import Price
from nautilus_trader.model.orders import LimitOrder
from nautilus_trader.model.orders import Order
from nautilus_trader.model.orders import OrderList
from nautilus_trader.trading.strategy import Strategy

from mm_strategy.config import GLFTMarketMakerConfig
from mm_strategy.equity import FillBooking
from mm_strategy.equity import equity_usd
from mm_strategy.estimates import LatestEstimates
from mm_strategy.messages import ESTIMATE_TYPES
from mm_strategy.messages import FundingPayment
from mm_strategy.messages import AdverseSelectionEstimate
from mm_strategy.messages import CalibrationState
from mm_strategy.messages import FillRateEstimate
from mm_strategy.messages import InformedFlowEstimate
from mm_strategy.messages import KappaEstimate
from mm_strategy.messages import VolatilityEstimate
from mm_strategy.messages import WarmupState
from mm_strategy.messages import data_type
from mm_strategy.inputs import InputResolver
from mm_strategy.models.fair_value import fair_value_shift_bps
from mm_strategy.models.fair_value import size_imbalance
from mm_strategy.models.inventory import Side
from mm_strategy.models.inventory import reducing_side
from mm_strategy.models.kill_switch import KillEvent
from mm_strategy.models.kill_switch import KillSwitch
from mm_strategy.models.kill_switch import QuotePlan
from mm_strategy.models.risk import check_skew
from mm_strategy.order_tags import PlacementTag
from mm_strategy.order_tags import placement_tags
from mm_strategy.order_tags import read_placement
from mm_strategy.quoting import Amendment
from mm_strategy.quoting import DepthRules
from mm_strategy.quoting import Depths
from mm_strategy.quoting import LadderBuilder
from mm_strategy.quoting import LadderSpec
from mm_strategy.quoting import ModelInputs
from mm_strategy.quoting import QuoteDiff
from mm_strategy.quoting import QuoteLevel
from mm_strategy.quoting import RestingOrder
from mm_strategy.quoting import ZERO
from mm_strategy.quoting import diff_quotes
from mm_strategy.quoting import glft_depths_bps
from mm_strategy.quoting import requote_tolerance
from mm_strategy.recorder import SessionRecorder
from mm_strategy.venue_rules import venue_rules_for

_RISK_TIMER = "mm.risk"
_STATUS_TIMER = "mm.status"
_BPS = 1e4
# How long the loss limits wait for a venue-reported balance to book our last fill (``equity.FillBooking``): the
# exec client reads the account 0.25 s after a fill; a few reads' worth, and the limits judge regardless.
_BOOKING_GRACE_NS = 5_000_000_000
_IMBALANCE_STEPS = 20  # a quote cycle re-runs when the band imbalance moves by 1/20 (``on_order_book_deltas``)
_PEAK_SAVE_NS = 60_000_000_000  # a rising peak equity is written to the state file at most once a minute
_SERIES_INTERVAL_NS = 1_000_000_000  # model-input series for the report: one point per data second
_SIZES_KEPT = 8  # scaled order sizes kept (``_scaled_size``)
# Estimate fields plotted in the report (the blended κ per side, σ and γ_eff come from the quote cycle itself).
_REPORTED_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {  # (message field, series name)
    KappaEstimate: (
        ("kappa_book", "kappa_book"),
        ("kappa_own", "kappa_own"),
        ("blend_weight", "kappa_blend_weight"),
        ("fit_r2", "intensity_fit_r2"),
    ),
    VolatilityEstimate: (("jump_ratio", "jump_ratio"),),
    FillRateEstimate: (
        ("observed_fills_per_hour", "fills_per_hour_observed"),
        ("expected_fills_per_hour", "fills_per_hour_curve"),
    ),
    AdverseSelectionEstimate: (("as_bps_bid", "as_bps_bid"), ("as_bps_ask", "as_bps_ask")),
    CalibrationState: (("half_spread_mult", "calibration_mult"), ("progress", "calibration_progress")),
    InformedFlowEstimate: (("p_informed", "p_informed"),),
    WarmupState: (("progress", "warmup_progress"),),
}


class GLFTMarketMaker(Strategy):
    def __init__(self, config: GLFTMarketMakerConfig) -> None:
        super().__init__(config)
        self.recorder = SessionRecorder(instrument_id=str(config.instrument_id))
        self.kill_switch = KillSwitch(config.risk)
        self._instrument: Instrument | None = None
        self._spec: LadderSpec | None = None
        self._rules: DepthRules | None = None
        self._ladder: LadderBuilder | None = None
        self._estimates: LatestEstimates | None = None
        self._inputs: InputResolver | None = None
        self._orders_by_id: dict[str, Order] = {}
        self._notes = _OrderNotes()  # what the cache does not say about our orders (levels, modifies in flight)
        # the mid and time of each amended order's last update: its fills' placement (``on_order_updated``)
        self._amended_at: dict[str, tuple[PlacementTag, int]] = {}
        self._order_events = 0  # order events handled: our working orders change only with one (``_working``)
        self._working_set: _WorkingSet | None = None
        self._cap: Decimal | None = None  # risk.max_position as a Decimal
        self._size_by_mult: dict[float, Decimal] = {}  # order size × a quote plan's size multiplier
        self._last_mid: float | None = None
        self._fill_booking = FillBooking(_BOOKING_GRACE_NS)
        self._last_series_ns = 0
        self._skew_warned = False
        self._saved_state: tuple[tuple, object] | None = None  # what the state file holds (``_persist``)
        self._saved_peak_ns = 0
        self._last_top: tuple[float, float] | None = None
        self._last_estimate_ns: dict[type, int] = {}
        self._dirty = True
        self._intensity_sources: Counter[str] = Counter()
        # A cycle often reads what the one before read (an event that moved nothing these depend on): each answers
        # again without recomputing then (``_LastCall``). Not the diff: its arguments are long to compare and differ
        # in 85 % of the cycles (the tolerance moves with the mid), which cost what the rest saved.
        self._depths = _LastCall(glft_depths_bps)
        self._tolerance = _LastCall(requote_tolerance)
        self._bid_decimal = _TouchDecimal()
        self._ask_decimal = _TouchDecimal()
        self.quote_cycles = 0
        self.orders_sent = 0  # requests (the report's), counted in ``on_order_event``
        self.cancels_sent = 0
        self.modifies_sent = 0  # one request each (Hyperliquid counts a batchModify per order, as an order)

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
            rules=venue_rules_for(self._instrument, self.config.venue_rules),
        )
        self._ladder = LadderBuilder(self._spec)
        config = self.config
        self._rules = DepthRules(
            half_spread_mult=config.half_spread_mult,
            skew_mult=config.skew_mult,
            # the venue's fee for this instrument (the instrument carries it in backtest and live alike)
            maker_fee_bps=float(self._instrument.maker_fee) * 1e4,
            min_half_spread_bps=config.risk.min_spread_floor_bps,
            as_addon_cap_bps=config.as_addon_cap_bps,
            informed_addon_cap_bps=config.informed_addon_cap_bps,
        )
        self._estimates = LatestEstimates(int(self.config.estimate_staleness_s * 1e9), self.log.info)
        self._inputs = InputResolver(
            config.priors, config.risk, config.informed_addon_cap_bps, self._rules, float(config.order_size)
        )
        self._cap = Decimal(repr(config.risk.max_position))
        self._working_set = None  # events while stopped reach no handler: read the working orders afresh
        self._restore_from_file()
        for cls in (*ESTIMATE_TYPES, FundingPayment):
            self.subscribe_data(data_type(cls, self.config.instrument_id), instrument_id=self.config.instrument_id)
        self.subscribe_order_book_deltas(self.config.instrument_id, BookType.L2_MBP)
        self.msgbus.subscribe(topic=control_topic(self.id.value), handler=self._on_control)
        self.clock.set_timer(_RISK_TIMER, _seconds(self.config.risk_check_interval_s), callback=self._on_risk_timer)
        self.clock.set_timer(_STATUS_TIMER, _seconds(self.config.status_interval_s), callback=self._on_status_timer)

    def on_stop(self) -> None:
        self.clock.cancel_timers()
        # ``cancel_all_orders`` applies its cancel requests to the orders without publishing them: counted here
        pending_before = self._pending_cancels()
        self.cancel_all_orders(self.config.instrument_id)
        self.cancels_sent += self._pending_cancels() - pending_before
        if self.config.close_position_on_stop:
            self.close_all_positions(self.config.instrument_id)
        self._save_to_file()
        self.log.info(f"stopped: {self.kill_switch.status_line()}")

    def on_save(self) -> dict[str, bytes]:
        return {"kill_switch": json.dumps(self.kill_switch.to_state()).encode()}

    def on_load(self, state: dict[str, bytes]) -> None:
        if "kill_switch" in state:
            saved = json.loads(state["kill_switch"])
            self.kill_switch = KillSwitch.restore(self.config.risk, saved, self.clock.timestamp_ns())
            self._log_kill_events(list(self.kill_switch.events))

    # -- operator control ------------------------------------------------------------------------------

    def manual_halt(self, reason: str) -> None:
        """Halt quoting now (cancel all, no new orders) until :meth:`manual_resume`."""
        self._handle_kill_events(self.kill_switch.manual_halt(self.clock.timestamp_ns(), reason))

    def manual_resume(self) -> None:
        """Lift the operator halt and the latched reasons, then check the limits at once: a daily loss or drawdown
        still breached trips again in the same instant, rather than a risk tick later, after a quote cycle had
        placed a full ladder under a limit that still held (review)."""
        now = self.clock.timestamp_ns()
        self._handle_kill_events(self.kill_switch.manual_resume(now) + self._limit_checks(now))

    def _on_control(self, command: str) -> None:
        """Bus commands on ``control_topic``: ``halt[:reason]``, ``resume``, ``status``. The verb is read without
        case or surrounding blanks (``HALT`` or ``halt\n`` halted nothing before); an unknown one is an error."""
        verb, _, argument = str(command).partition(":")
        verb = verb.strip().lower()
        if verb == "halt":
            self.manual_halt(argument.strip() or "operator")
        elif verb == "resume":
            self.manual_resume()
        elif verb == "status":
            self.log.info(self.status_line())
        else:
            self.log.error(f"unknown control command {command!r}, ignored (halt[:reason] | resume | status)")

    def estimates_on_prior(self) -> dict[str, int]:
        """Quote cycles that used a prior because an estimate type was missing or stale (for the report)."""
        return dict(self._estimates.prior_cycles) if self._estimates else {}

    def status_line(self) -> str:
        position = self._net_position()
        return f"{self.kill_switch.status_line()} | position {position} | cycles {self.quote_cycles}"

    # -- data ------------------------------------------------------------------------------------------

    def on_data(self, data: Data) -> None:
        if type(data) is FundingPayment:
            self.recorder.funding.append((self.clock.timestamp_ns(), data.amount_usd))
            return
        self._estimates.update(data)
        self._dirty = True
        if isinstance(data, KappaEstimate):
            self._intensity_sources[data.source] += 1
        self._record_estimate(data)

    def intensity_sources(self) -> dict[str, float]:
        """Share of intensity-curve estimates per source ("prior", "trades", "book_crossings", "…+own")."""
        total = sum(self._intensity_sources.values())
        return {source: n / total for source, n in self._intensity_sources.most_common()} if total else {}

    def _record_estimate(self, data: Data) -> None:
        """Estimator series for the report, at most one point per data second and type."""
        fields = _REPORTED_FIELDS.get(type(data))
        now = self.clock.timestamp_ns()
        if not fields or now - self._last_estimate_ns.get(type(data), 0) < _SERIES_INTERVAL_NS:
            return
        self._last_estimate_ns[type(data)] = now
        self.recorder.on_values(now, [(series, float(getattr(data, field))) for field, series in fields])

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        book: OrderBook = self.cache.order_book(self.config.instrument_id)
        best_bid, best_ask = book.best_bid_price(), book.best_ask_price()
        # Engine clock time (receive time in a replay, local time live): the clock of fills and timers. Venue time
        # lags it by the feed latency (0.1–2.9 s on the bundled hour); the kill switch measures a book's age from it.
        ts_ns = self.clock.timestamp_ns()
        if best_bid is None or best_ask is None:
            # an empty or one-sided book is an invalid one: quotes are pulled now, not at the stale timer 5 s later
            self._handle_kill_events(self.kill_switch.on_book(ts_ns, math.nan, math.nan))
            return
        bid_f, ask_f = best_bid.as_double(), best_ask.as_double()
        self._handle_kill_events(self.kill_switch.on_book(ts_ns, bid_f, ask_f, deltas.ts_event))
        if bid_f >= ask_f:
            return
        mid = (bid_f + ask_f) / 2.0
        self._last_mid = mid
        self.recorder.on_mid(ts_ns, mid)
        imbalance = self._band_imbalance(book, mid)
        # Same top of book, about the same imbalance (steps of 1/20 move the centre by 0.05 σ·√h) and no order,
        # estimate or risk event since the last cycle: the desired ladder and the working orders are unchanged,
        # so the cycle would be a no-op (deep-level and heartbeat updates).
        top = (bid_f, ask_f, round(imbalance * _IMBALANCE_STEPS))
        if not self._dirty and self._last_top == top:
            return
        self._last_top = top
        self._dirty = False
        self._quote_cycle(ts_ns, mid, imbalance, self._bid_decimal(best_bid), self._ask_decimal(best_ask))

    def _band_imbalance(self, book: OrderBook, mid: float) -> float:
        """Size imbalance within ``fair_value.band_bps`` of the mid, over no more levels than the venue's live feed
        shows (``models/fair_value.py``), 0 when disabled."""
        fair_value = self.config.fair_value
        if fair_value.beta == 0:
            return 0.0
        levels = self._spec.rules.live_book_levels
        return band_imbalance(book, mid, fair_value.band_bps, self._instrument.price_precision, levels)

    # -- quoting ---------------------------------------------------------------------------------------

    def _quote_cycle(self, ts_ns: int, mid: float, imbalance: float, best_bid: Decimal, best_ask: Decimal) -> None:
        self.quote_cycles += 1
        position = self._net_position()
        position_f = float(position)
        working = self._working()
        plan = self.kill_switch.quote_plan(ts_ns, position_f)
        if plan.cancel_all:
            self._cancel_all(working)
            return
        inputs = self._model_inputs(ts_ns, position_f, mid)
        lot = float(self.config.order_size)
        q_lots = position_f / lot
        tick = self._spec.rules.tick_at(best_bid)
        depths = self._depths(inputs, mid, float(tick), lot, q_lots, self._rules)
        self._check_skew(q_lots, depths)
        shift_bps = fair_value_shift_bps(imbalance, inputs.sigma_frac_per_sqrt_s, self.config.fair_value)
        centre = mid * (1.0 + shift_bps / _BPS)
        reducing = reducing_side(position_f)
        bids, asks = self._desired_ladder(centre, best_bid, best_ask, position, reducing, working, depths, plan)
        events = self.kill_switch.on_quote_cycle(ts_ns, position_f, _reducing_side_quoted(position, bids, asks))
        self._handle_kill_events(events)
        if events and self.kill_switch.quote_plan(ts_ns, position_f) != plan:
            # the ladder was built under the plan before this trip (a halt has just cancelled everything): place
            # none of it; the next cycle (``_dirty`` is set) quotes under the new plan
            return
        half_spread_px = mid * 1e-4 * min(depths.half_spread_bid_bps, depths.half_spread_ask_bps)
        config = self.config
        tolerance = self._tolerance(
            tick,
            half_spread_px,
            config.requote_tolerance_ticks,
            config.requote_tolerance_half_spread_frac,
            config.requote_tolerance_deeper_mult,
        )
        tolerances = {OrderSide.BUY: tolerance, OrderSide.SELL: tolerance}
        if reducing is not None:
            # The side that sheds inventory gets no hysteresis: the skew (or a reduce-only tighten) pulls it in to
            # buy fill probability, and keeping its old, deeper order would absorb that move (review).
            tolerances[OrderSide.BUY if reducing is Side.BID else OrderSide.SELL] = tolerance.symmetric()
        diff = diff_quotes(bids + asks, working.resting(self._order_events), tolerances, plan.reduce_only)
        if diff.place or diff.amend or diff.cancel:  # most cycles keep every order: nothing to send
            self._send(diff, mid, position, working, plan.reduce_only)
        self._record_series(ts_ns, inputs, depths, shift_bps)

    def _send(self, diff: QuoteDiff, mid: float, position: Decimal, working: _WorkingSet, reduce_only: bool) -> None:
        """A cycle's modifies, cancels and new orders, what the cap allows of them (``_within_cap``)."""
        placed, amended, unaffordable = self._within_cap(diff.place, diff.amend, position, working)
        orders = self._new_orders(placed, mid, reduce_only)
        # The new orders are built before anything is sent, and everything goes out back to back: live, the commands
        # wait in the engines' queues until this handler returns, so building orders after them only delayed them
        # (tick_to_wire --loop-trace: 400-580 µs of the cancel's 1.7 ms p50). The modifies go first and together:
        # nothing between them, so the execution client can send them as one batchModify; they move the levels the
        # ladder keeps quoting, whose stale prices are what gets picked off. Live, the cancel still reaches the venue
        # before them (it goes straight to the execution engine's queue, the modifies and the order list through the
        # risk engine's first); in a backtest the venue takes them in the order sent. The new list goes last, after
        # the cancels that make room for it.
        self._amend(amended)
        cancels = (*diff.cancel, *unaffordable)
        self._cancel(self._orders_by_id[o.order_id] for o in cancels if o.order_id in self._orders_by_id)
        self._submit(orders)

    def _model_inputs(self, ts_ns: int, position: float, mid: float) -> ModelInputs:
        """Every model input from a fresh estimate, else its conservative fallback (``inputs.py``, logged once)."""
        return self._inputs.resolve(self._estimates, ts_ns, position, mid)

    def _desired_ladder(
        self,
        centre: float,
        best_bid: Decimal,
        best_ask: Decimal,
        position: Decimal,
        reducing: Side | None,
        working: _WorkingSet,
        depths: Depths,
        plan: QuotePlan,
    ) -> tuple[list[QuoteLevel], list[QuoteLevel]]:
        """Ladder under the plan: sizes scaled per side, the reducing side (``reducing_side`` of the position)
        tightened when reduce-only."""
        bid_depth, ask_depth = depths.bid_bps, depths.ask_bps
        if reducing is Side.BID:
            bid_depth -= plan.reducing_tighten_bps
        elif reducing is Side.ASK:
            ask_depth -= plan.reducing_tighten_bps
        pending = working.pending_leaves(self._order_events)
        bid_budget, ask_budget = self._side_budgets(position, pending)
        if plan.reduce_only:
            bid_budget, ask_budget = _reduce_only_budgets(bid_budget, ask_budget, position, pending)
        return self._ladder.build(
            centre=centre,
            best_bid=best_bid,
            best_ask=best_ask,
            bid_depth_bps=bid_depth,
            ask_depth_bps=ask_depth,
            bid_size=self._scaled_size(plan.bid_size_mult),
            ask_size=self._scaled_size(plan.ask_size_mult),
            bid_budget=bid_budget,
            ask_budget=ask_budget,
        )

    def _scaled_size(self, mult: float) -> Decimal:
        """The order size times a size multiplier, kept per multiplier: 1 and 0, or the yellow zone's, which changes
        only with the position (a few values at a time; the table starts over when it grows past them)."""
        size = self._size_by_mult.get(mult)
        if size is None:
            if len(self._size_by_mult) >= _SIZES_KEPT:
                self._size_by_mult.clear()
            size = self._size_by_mult[mult] = self.config.order_size * Decimal(repr(mult))
        return size

    def _side_budgets(self, position: Decimal, pending: dict[OrderSide, Decimal]) -> tuple[Decimal, Decimal]:
        """How much each side may still add: the cap minus the worst case of orders that can no longer be kept
        (``pending``: ``_WorkingSet.pending_leaves``)."""
        cap = self._cap
        return (
            max(cap - position - pending[OrderSide.BUY], ZERO),
            max(cap + position - pending[OrderSide.SELL], ZERO),
        )

    def _within_cap(
        self, place: tuple[QuoteLevel, ...], amend: tuple[Amendment, ...], position: Decimal, working: _WorkingSet
    ) -> tuple[list[QuoteLevel], list[Amendment], list[RestingOrder]]:
        """Trim new orders and amendments (deepest first) so position + the worst case of every working order + what
        this cycle adds stays within the cap: (levels to place, amendments to send, orders to cancel instead).

        Orders just sent for cancellation still count: they may fill before the cancel lands. An amendment adds its
        whole new size: the venue replaces the order, and the old leaves may fill before it answers (as with cancel +
        new); one that does not fit is cancelled instead, as the order would have been without modifies.
        """
        if not place and not amend:
            return [], [], []
        cap = self._cap
        leaves = working.leaves(self._order_events)
        room = {
            OrderSide.BUY: cap - position - leaves[OrderSide.BUY],
            OrderSide.SELL: cap + position - leaves[OrderSide.SELL],
        }
        placed, amended, cancelled = [], [], []
        for item in sorted((*place, *amend), key=lambda it: (it if isinstance(it, QuoteLevel) else it.level).level):
            if isinstance(item, QuoteLevel):
                if item.size <= room[item.side]:
                    room[item.side] -= item.size
                    placed.append(item)
                continue
            growth = item.level.size  # the old leg stays counted until the venue answers (``worst_leaves``)
            if growth <= room[item.level.side]:
                room[item.level.side] -= growth
                amended.append(item)
            else:
                cancelled.append(item.order)
        return placed, amended, cancelled

    def _new_orders(self, levels: list[QuoteLevel], mid: float, reduce_only: bool) -> list[Order]:
        """The cycle's new orders; two or more form one order list (``_submit``) and carry its id.

        NautilusTrader's ``OrderFactory.create_list`` leaves its orders' ``order_list_id`` unset, and its cache
        purges an order list only through the ids of its orders: every list, and the orders it holds, stayed in
        memory for good, purge or not (``backtest.purge_settings``). The orders are built as the factory
        builds them (same client order ids, same clock), with the list's id."""
        instrument = self._instrument
        factory = self.order_factory
        list_id = factory.generate_order_list_id() if len(levels) > 1 else None
        orders = []
        for level in levels:
            order = LimitOrder(
                trader_id=self.trader_id,
                strategy_id=self.id,
                instrument_id=instrument.id,
                client_order_id=factory.generate_client_order_id(),
                order_side=level.side,
                quantity=instrument.make_qty(level.size),
                price=instrument.make_price(level.price),
                init_id=UUID4(),
                ts_init=self.clock.timestamp_ns(),
                time_in_force=TimeInForce.GTC,
                post_only=True,
                reduce_only=reduce_only,
                order_list_id=list_id,
                tags=placement_tags(mid, level.level),
            )
            self._orders_by_id[order.client_order_id.value] = order
            self._notes.level_by_id[order.client_order_id.value] = level.level
            orders.append(order)
        return orders

    def _submit(self, orders: list[Order]) -> None:
        """A cycle's new orders as one list: one signed ``order`` action live, instead of one request each."""
        if len(orders) > 1:
            self.submit_order_list(OrderList(orders[0].order_list_id, orders))
        elif orders:
            self.submit_order(orders[0])
        if orders:
            self._working_set = None  # they are working orders now, before any event says so (``_working``)

    def _amend(self, amendments: list[Amendment]) -> None:
        """Each amendment as one ``ModifyOrder``, back to back (``_quote_cycle``). Its target is noted first: the
        order's ``OrderPendingUpdate`` reaches ``on_order_event`` inside ``modify_order``, and from then on the diff
        sees the order at its target and the cap counts its old leaves plus its new size (``_OrderNotes.worst_leaves``)."""
        instrument = self._instrument
        for amendment in amendments:
            order = self._orders_by_id[amendment.order.order_id]
            self._notes.amend_by_id[amendment.order.order_id] = amendment.level
            self.modify_order(
                order,
                quantity=instrument.make_qty(amendment.level.size),
                price=instrument.make_price(amendment.level.price),
            )

    def _cancel_all(self, working: _WorkingSet) -> None:
        """Cancel every working order not already being cancelled."""
        self._cancel(o for o in working.orders if not o.is_pending_cancel)

    def _cancel(self, orders) -> None:
        """A cycle's cancels as one batch: one signed ``cancelByCloid`` action live, instead of one request each.

        An order still INITIALIZED is left for a later cycle or risk tick: live, a cancel goes straight to the
        execution engine while the submit waits in the risk engine's queue, so it could reach the client first,
        for an order it has not sent yet."""
        orders = [order for order in orders if order.status != OrderStatus.INITIALIZED]
        if orders:
            self.cancel_orders(orders)

    def _check_skew(self, q_lots: float, depths: Depths) -> None:
        warning = check_skew(q_lots, depths.skew_bps_per_lot)
        if warning and not self._skew_warned:
            self.log.warning(warning)
        self._skew_warned = warning is not None

    def _record_series(self, ts_ns: int, inputs: ModelInputs, depths: Depths, shift_bps: float) -> None:
        if ts_ns - self._last_series_ns < _SERIES_INTERVAL_NS:
            return
        self._last_series_ns = ts_ns
        self.recorder.on_values(
            ts_ns,
            (
                ("kappa_bid", inputs.kappa_bid_per_frac),
                ("kappa_ask", inputs.kappa_ask_per_frac),
                ("sigma_frac_per_sqrt_s", inputs.sigma_frac_per_sqrt_s),
                ("a_per_s_bid", inputs.a_bid_per_s),
                ("a_per_s_ask", inputs.a_ask_per_s),
                ("gamma_eff_per_usd", inputs.gamma_per_usd),
                ("half_spread_mult", inputs.half_spread_mult),
                ("as_addon_bps_bid", inputs.as_addon_bid_bps),
                ("as_addon_bps_ask", inputs.as_addon_ask_bps),
                ("informed_addon_bps_bid", inputs.informed_addon_bid_bps),
                ("informed_addon_bps_ask", inputs.informed_addon_ask_bps),
                ("half_spread_bps", 0.5 * (depths.half_spread_bid_bps + depths.half_spread_ask_bps)),
                ("skew_bps_per_lot", depths.skew_bps_per_lot),
                ("fair_value_shift_bps", shift_bps),
            ),
        )

    # -- risk ------------------------------------------------------------------------------------------

    def _on_risk_timer(self, event) -> None:
        self._dirty = True  # estimates age and pauses expire with time alone
        now = event.ts_event
        events = self.kill_switch.check_staleness(now) + self._limit_checks(now)
        self._handle_kill_events(events)
        self._persist(now)  # after the cancels: a state file that cannot be written must not hold them back
        if not events and self.kill_switch.quote_plan(now, float(self._net_position())).cancel_all:
            # Quotes pulled or halted: no quote cycle runs on a dead or crossed feed, so a cancel the venue
            # refused (the order is back to ACCEPTED) or one that was lost is sent again here, every tick.
            self._cancel_all(self._working())

    def _limit_checks(self, now: int) -> list[KillEvent]:
        """The position as the portfolio holds it, whoever moved it (a liquidation, an auto-deleveraging or a manual
        fill is no fill of ours, and only this lets the kill switch see the jump and the 2x limit), and the loss
        limits on the current equity."""
        events = self.kill_switch.on_position(now, float(self._net_position()), had_fill=False)
        account = self.portfolio.account(self.config.instrument_id.venue)
        state = account.last_event if account is not None else None
        if not self._fill_booking.booked(state.ts_event if state is not None else None, now):
            return events  # the balance has not booked our last fill yet (``equity.FillBooking``)
        equity = equity_usd(self.portfolio, self.cache, self.config.instrument_id, self._last_mid)
        if equity is not None:
            events += self.kill_switch.on_pnl(now, equity)
        return events

    def _on_status_timer(self, event) -> None:
        self.log.info(self.status_line())

    def _handle_kill_events(self, events: list[KillEvent]) -> None:
        if not events:
            return
        self._dirty = True
        self._log_kill_events(events)
        if self.kill_switch.quote_plan(events[-1].ts_ns, float(self._net_position())).cancel_all:
            self._cancel_all(self._working())
        self._persist(events[-1].ts_ns)

    def _log_kill_events(self, events: list[KillEvent]) -> None:
        for event in events:
            self.log.warning(str(event))
            self.recorder.on_kill_event(
                event.ts_ns, str(event.trigger), str(event.from_state), str(event.to_state), event.detail, event.cleared
            )

    def _restore_from_file(self) -> None:
        path = self.config.state_path
        if path and Path(path).exists():
            self.on_load({"kill_switch": Path(path).read_bytes()})
            self.log.info(f"restored kill switch from {path}: {self.kill_switch.status_line()}")

    def _persist(self, now_ns: int) -> None:
        """Write the state file when what it holds changed: a reason tripped or cleared, or a new day's start equity
        (at once), or today's peak equity (at most once a minute). Saved only at a clean stop, a crash or a kill
        forgot a halt, and each restart granted a fresh daily-loss budget from a new day-start equity (review)."""
        if not self.config.state_path:
            return
        state = self.kill_switch.to_state()
        anchor = (state["day"], state["day_start_equity_usd"], json.dumps(state["reasons"]))
        saved = self._saved_state
        if saved is not None and saved[0] == anchor:
            if state["peak_equity_usd"] == saved[1] or now_ns - self._saved_peak_ns < _PEAK_SAVE_NS:
                return
        if not self._save_to_file():
            return
        self._saved_state = (anchor, state["peak_equity_usd"])
        self._saved_peak_ns = now_ns

    def _save_to_file(self) -> bool:
        """Write the state file atomically (a crash while writing leaves the previous file, never a truncated one
        that stops the next start); whether it is on disk. A file that cannot be written (a full or read-only disk, a
        state path under a file) is logged as an error each time it is tried (``_persist`` tries again at the next
        risk tick), not raised: raised, it stopped the risk timer before its cancels and ``on_stop`` before the node
        stopped (review: a halt on such a disk left 4–6 quotes at the venue for 40 s)."""
        if self.config.state_path:
            path = Path(self.config.state_path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_name(path.name + ".partial")
                partial.write_bytes(self.on_save()["kill_switch"])
                os.replace(partial, path)
            except OSError as error:
                self.log.error(f"kill switch state not saved to {path}: {error!r}")
                return False
        return True

    # -- order events ----------------------------------------------------------------------------------

    def on_order_event(self, event) -> None:
        self._dirty = True  # any order state change can change the working set or the position
        self._order_events += 1
        # Requests, counted as they go (the cache forgets closed orders: ``backtest.purge_settings``)
        if type(event) is OrderSubmitted:
            self.orders_sent += 1
            self._cancel_if_pulled(event)
        elif type(event) is OrderPendingCancel:
            self.cancels_sent += 1
        elif type(event) is OrderPendingUpdate:
            self.modifies_sent += 1

    def _cancel_if_pulled(self, event: OrderSubmitted) -> None:
        """A quote submitted while quotes are pulled or halted is cancelled as soon as it is SUBMITTED: ``_cancel``
        skips it while INITIALIZED (its cancel could overtake it live), so a trip between its creation and its
        submission left it to rest until the next risk tick, up to ``risk_check_interval_s`` (review: orders queued
        behind a halt rested 0.41 s with books flowing, > 4 s with a slower risk tick). Live, the submit has passed
        the risk engine by now, so the cancel cannot reach the client first. Only quotes (post-only): not the
        position close ``on_stop`` may send."""
        order = self.cache.order(event.client_order_id)
        if order is None or not order.is_post_only:
            return
        if self.kill_switch.quote_plan(self.clock.timestamp_ns(), float(self._net_position())).cancel_all:
            self.cancel_orders([order])

    def on_order_accepted(self, event: OrderAccepted) -> None:
        self._record_quotes()

    def on_order_updated(self, event: OrderUpdated) -> None:
        """The venue moved the order (new price and size, back of its queue): from now on its fills are those of a
        new placement at the mid in force now (``_amended_at``), since its tags keep the first placement's mid."""
        coid = event.client_order_id.value
        self._notes.amend_by_id.pop(coid, None)
        order = self.cache.order(event.client_order_id)
        placement = read_placement(order.tags) if order is not None else None
        if placement is not None and self._last_mid is not None:
            self._amended_at[coid] = (PlacementTag(self._last_mid, placement.level), self.clock.timestamp_ns())
        self._record_quotes()

    def on_order_modify_rejected(self, event: OrderModifyRejected) -> None:
        """The order stays as it was (at its old price: a post-only modify that would cross, or an order the venue
        filled or cancelled meanwhile). It is never offered a modify again: the next cycle keeps it or cancels and
        replaces it, so a venue that refuses a modify for good costs one request, not one per cycle. A refusal for
        sending too much counts towards the kill switch as a rate-limited order does."""
        coid = event.client_order_id.value
        if coid not in self._orders_by_id:
            return  # the order filled or was cancelled while the modify was in flight, and is forgotten
        self._notes.amend_by_id.pop(coid, None)
        self._notes.modify_refused.add(coid)
        if _is_rate_limit(event.reason):
            self._venue_error(event, "rate_limit")

    def on_order_canceled(self, event: OrderCanceled) -> None:
        self._forget(event.client_order_id.value)
        self._record_quotes()

    def on_order_expired(self, event: OrderExpired) -> None:
        self._forget(event.client_order_id.value)
        self._record_quotes()

    def on_order_rejected(self, event: OrderRejected) -> None:
        self._forget(event.client_order_id.value)
        if event.due_post_only:
            return  # the book moved under a post-only order: normal for a maker, not an error
        self._venue_error(event, "rate_limit" if _is_rate_limit(event.reason) else "reject")

    def on_order_denied(self, event: OrderDenied) -> None:
        """Refused before it left the node (NautilusTrader's risk engine): counted like a venue rejection."""
        self._forget(event.client_order_id.value)
        self._venue_error(event, "rate_limit" if _is_rate_limit(event.reason) else "reject")

    def _venue_error(self, event: OrderRejected | OrderDenied | OrderModifyRejected, kind: str) -> None:
        order = self.cache.order(event.client_order_id) if type(event) is OrderDenied else None
        answer = refusal_answer(event, order.order_list_id if order is not None else None)
        self._handle_kill_events(self.kill_switch.on_error(self.clock.timestamp_ns(), kind, answer))

    def on_order_filled(self, event: OrderFilled) -> None:
        coid = event.client_order_id.value
        order = self.cache.order(event.client_order_id)
        is_buy = event.order_side == OrderSide.BUY
        now_ns = self.clock.timestamp_ns()
        placement, placement_ts_ns = self._amended_at.get(coid) or (
            (read_placement(order.tags), order.ts_init) if order is not None else (None, now_ns)
        )
        self.recorder.on_fill(
            placement=placement,
            placement_ts_ns=placement_ts_ns,
            order_id=coid,
            ts_ns=now_ns,
            side="BUY" if is_buy else "SELL",
            price=event.last_px.as_double(),
            qty=event.last_qty.as_double(),
            fee=event.commission.as_double(),
            liquidity="MAKER" if event.liquidity_side == LiquiditySide.MAKER else "TAKER",
        )
        self._fill_booking.on_fill(event.ts_event, now_ns)
        # One taker order's fills share the venue's fill timestamp: that groups a sweep into one aggressor event.
        side = Side.BID if is_buy else Side.ASK
        events = self.kill_switch.on_fill(now_ns, side, aggressor_key=str(event.ts_event))
        events += self.kill_switch.on_position(now_ns, float(self._net_position()), had_fill=True)
        self._handle_kill_events(events)
        if order is not None and order.is_closed:
            self._forget(coid)
        self._record_quotes()

    # -- helpers ---------------------------------------------------------------------------------------

    def _pending_cancels(self) -> int:
        """Cancel requests on our orders still in the cache (each leaves an ``OrderPendingCancel`` on its order)."""
        orders = self.cache.orders(instrument_id=self.config.instrument_id, strategy_id=self.id)
        return sum(1 for order in orders for event in order.events if type(event) is OrderPendingCancel)

    def _forget(self, coid: str) -> None:
        self._orders_by_id.pop(coid, None)
        self._amended_at.pop(coid, None)
        self._notes.forget(coid)

    def _net_position(self) -> Decimal:
        """The portfolio's net position as a Decimal. NautilusTrader's is one already (a sum of Decimals), and a Decimal
        is its own ``Decimal(str(...))`` digit for digit: only anything else goes through a string (2 µs a call, 2-3
        calls a quote cycle)."""
        position = self.portfolio.net_position(self.config.instrument_id)
        return position if type(position) is Decimal else Decimal(str(position))

    def _working(self) -> _WorkingSet:
        """Our open and in-flight orders, read from the cache again only after an order event.

        An order changes state only when the engine applies an event to it, and the engine then publishes that
        event to the order's strategy (``on_order_event`` counts them), so between two events the cache would
        answer the same orders in the same states. (``cancel_all_orders`` applies its events without publishing
        them: it runs only in ``on_stop``, and ``on_start`` drops the set.)
        """
        working = self._working_set
        if working is None or working.order_events != self._order_events:
            iid, sid = self.config.instrument_id, self.id
            # once each: PENDING_CANCEL/PENDING_UPDATE orders are in both lists
            unique = {o.client_order_id: o for o in self.cache.orders_open(instrument_id=iid, strategy_id=sid)}
            for order in self.cache.orders_inflight(instrument_id=iid, strategy_id=sid):
                unique.setdefault(order.client_order_id, order)
            # Sent but not yet SUBMITTED: live, the risk and execution engines are queued, and a book message
            # already queued runs the next cycle first. The cache indexes such orders as neither open nor in
            # flight, and a cycle blind to them placed every level again (worst case 2x the cap; review).
            for order in self._orders_by_id.values():
                if order.status == OrderStatus.INITIALIZED:
                    unique.setdefault(order.client_order_id, order)
            working = self._working_set = _WorkingSet(list(unique.values()), self._notes, self._order_events)
        return working

    def _record_quotes(self) -> None:
        ts_ns = self.clock.timestamp_ns()
        best_bid = best_ask = None
        for order in self.cache.orders_open(instrument_id=self.config.instrument_id, strategy_id=self.id):
            px = order.price.as_double()
            if order.side == OrderSide.BUY:
                best_bid = px if best_bid is None else max(best_bid, px)
            else:
                best_ask = px if best_ask is None else min(best_ask, px)
        self.recorder.on_quotes(ts_ns, best_bid, best_ask)


def band_imbalance(
    book: OrderBook,
    mid: float,
    band_bps: float,
    price_precision: int,
    max_levels: int | None = None,
) -> float:
    """(bid − ask)/(bid + ask) of the sizes resting within ``band_bps`` of ``mid``, counting at most ``max_levels``
    levels a side (the venue's live book depth, ``VenueRules.live_book_levels``; None: every level in the band).

    Uncapped it is two cumulative-size queries to the engine's (Rust) book, so the cost does not grow with the
    book's depth (Binance holds thousands of levels). Capped, the levels are read from the touch to one tick past
    the band's edge (``_band_levels``): ``book.bids()`` copied every level of the book with its orders, 20 a side
    on a Hyperliquid recording, to keep five (42 µs of a 310 µs cycle on the archive hour; now 19 µs)."""
    band_frac = band_bps / _BPS
    if max_levels is None:
        bid_size = book.get_quantity_for_price(Price(mid * (1.0 - band_frac), price_precision), OrderSide.SELL)
        ask_size = book.get_quantity_for_price(Price(mid * (1.0 + band_frac), price_precision), OrderSide.BUY)
    else:
        floor, ceiling = mid * (1.0 - band_frac), mid * (1.0 + band_frac)
        bids = _band_levels(book, OrderSide.BUY, floor, price_precision)[:max_levels]
        asks = _band_levels(book, OrderSide.SELL, ceiling, price_precision)[:max_levels]
        # lists, not generators, for ``sum``: the same values in the same order (the same float), built faster
        bid_size = sum([size.as_double() for price, size in bids if price.as_double() >= floor])
        ask_size = sum([size.as_double() for price, size in asks if price.as_double() <= ceiling])
    return size_imbalance(bid_size, ask_size)


def _band_levels(book: OrderBook, side: OrderSide, edge_px: float, price_precision: int) -> list:
    """(price, size) of ``side``'s levels from the touch out to at least ``edge_px``, best first: the levels an
    order of the other side at one tick beyond the edge would cross, so a prefix of ``book.bids()``/``asks()``
    holding every level at or inside the edge (the caller filters at the edge itself, in floats as before). The
    size of an L2 (MBP) level is its one order's, the value ``BookLevel.size()`` gives."""
    scale = 10**price_precision
    if side == OrderSide.BUY:  # one tick below the edge, whatever the float error of the product
        beyond = Price((math.floor(edge_px * scale) - 1) / scale, price_precision)
        return book.get_all_crossed_levels(OrderSide.SELL, beyond, FIXED_PRECISION)
    beyond = Price((math.ceil(edge_px * scale) + 1) / scale, price_precision)
    return book.get_all_crossed_levels(OrderSide.BUY, beyond, FIXED_PRECISION)


def control_topic(strategy_id: str) -> str:
    """Message-bus topic on which an operator (e.g. ``run_live.py``'s signal handlers) controls a strategy."""
    return f"mm.control.{strategy_id}"


def _seconds(value_s: float) -> timedelta:
    return timedelta(seconds=value_s)


class _LastCall:
    """A pure function with its last call remembered: called again with equal arguments, it answers the last result.

    About a fifth of the quote cycles read the same mid and model inputs as the cycle before (an order or estimate
    event that changed nothing the cycle reads sets ``_dirty`` too), and their depths and requote tolerance are then
    the last cycle's (archive hour: 664 and 1,255 of 5,566 cycles). Equal is ``==``: a Decimal argument equal in value
    but written with other digits (1 and 1.0) is answered with the result computed from the other, so only results
    read by value (compared, or turned into prices) may come from here; and 0.0 == -0.0, where a ±0 position (the one
    float that could differ so) adds ±0 to a positive half-spread, the same depth.
    """

    __slots__ = ("_function", "_args", "_result")

    def __init__(self, function: Callable) -> None:
        self._function = function
        self._args: tuple | None = None
        self._result = None

    def __call__(self, *args):
        if args != self._args:
            self._result = self._function(*args)
            self._args = args  # after the call: arguments that raised are met again
        return self._result


class _TouchDecimal:
    """``Price.as_decimal`` of one side's best price, converted again only when its raw value changes.

    The conversion divides a Decimal (1.2 µs) and a new top mostly moves one side. Keyed on ``Price.raw``, the fixed-
    point integer the Decimal is made from, not on the ``Price``: ``Price.__eq__`` converts both sides to Decimals."""

    __slots__ = ("_raw", "_decimal")

    def __init__(self) -> None:
        self._raw: int | None = None
        self._decimal = Decimal(0)

    def __call__(self, price: Price) -> Decimal:
        raw = price.raw
        if raw != self._raw:
            self._decimal = price.as_decimal()
            self._raw = raw
        return self._decimal


class _OrderNotes:
    """What the strategy knows of its own orders that the cache does not: the ladder level each was placed for, the
    size each modify in flight asks for, and the orders whose modify the venue refused."""

    __slots__ = ("level_by_id", "amend_by_id", "modify_refused")

    def __init__(self) -> None:
        self.level_by_id: dict[str, int] = {}
        self.amend_by_id: dict[str, QuoteLevel] = {}  # where each modify in flight moves its order
        self.modify_refused: set[str] = set()

    def forget(self, coid: str) -> None:
        self.level_by_id.pop(coid, None)
        self.amend_by_id.pop(coid, None)
        self.modify_refused.discard(coid)

    def target(self, order: Order) -> QuoteLevel | None:
        """Where a modify in flight moves the order (None without one, or one this process did not send). Kept until
        the venue answers (OrderUpdated with a price, OrderModifyRejected) or the order ends, not by status: a fill or
        a refused cancel meanwhile takes NautilusTrader's order out of PENDING_UPDATE (review)."""
        return self.amend_by_id.get(order.client_order_id.value)

    def worst_leaves(self, order: Order) -> Decimal:
        """What the order may still fill in the worst case: its leaves, or with a modify in flight its old leaves
        *plus* the new size. Hyperliquid's modify is cancel-replace with the new resting size, so a fill of the old
        leg the venue has not reported yet still leaves the whole new size resting (review; cancel + new counted the
        same)."""
        leaves = order.leaves_qty.as_decimal()
        target = self.target(order)
        return leaves if target is None else leaves + target.size


def _amendable(order: Order, notes: _OrderNotes) -> bool:
    """Whether the venue can take a modify for the order now: one this process placed (``level_by_id``), resting
    unfilled and confirmed by the venue (ACCEPTED: not on its way, not partly filled, not being cancelled, no modify
    in flight) and whose modify the venue has not refused before (``on_order_modify_rejected``).

    A partly filled order is cancelled and replaced instead: NautilusTrader's quantity counts what filled and
    Hyperliquid's modify size is the new resting size, so the two would disagree on its remainder, and its resting
    spell already ended at its first fill (``actors/order_events.py``). An order on its way (SUBMITTED) may not
    rest yet when the modify arrives."""
    coid = order.client_order_id.value
    return (
        order.status == OrderStatus.ACCEPTED
        and order.venue_order_id is not None
        and coid in notes.level_by_id
        and coid not in notes.modify_refused
        and coid not in notes.amend_by_id  # a refused cancel puts an order with a modify in flight back to ACCEPTED
    )


def _as_resting(order: Order, notes: _OrderNotes) -> RestingOrder:
    """Its level is the one this process placed it for, else (an order from before a restart) read from its tags.
    An order with a modify in flight is described where the modify puts it (``diff_quotes``)."""
    value = order.client_order_id.value
    level = notes.level_by_id.get(value)
    if level is None:
        placement = read_placement(order.tags)
        level = placement.level if placement is not None else None
    target = notes.target(order)
    return RestingOrder(
        value,
        order.side,
        order.price.as_decimal() if target is None else target.price,
        order.leaves_qty.as_decimal() if target is None else target.size,
        level,
        amendable=_amendable(order, notes),
        reduce_only=order.is_reduce_only,
    )


class _WorkingSet:
    """Our working orders after ``order_events`` order events, with what a quote cycle reads of them, built once.

    ``resting``, ``leaves`` and ``pending_leaves`` take the cycle's current event count: when an event arrived since
    the set was built (the cycle's own cancels, or a halt it tripped), they read the same orders again in their new
    states, as a cycle reading the cache directly would. ``leaves`` is read only when a cycle places or amends, so it
    is built at the first such read (most sets are used only by cycles that keep every order).
    """

    __slots__ = ("orders", "order_events", "_notes", "_resting", "_leaves", "_pending_leaves")

    def __init__(self, orders: list[Order], notes: _OrderNotes, order_events: int) -> None:
        self.orders = orders
        self.order_events = order_events
        self._notes = notes
        self._resting = _resting_views(orders, notes)
        self._leaves: dict[OrderSide, Decimal] | None = None
        self._pending_leaves = _pending_leaves(orders, notes)

    def resting(self, order_events: int) -> list[RestingOrder]:
        """The orders the diff may keep, amend, hold or cancel: every one not being cancelled."""
        return self._resting if order_events == self.order_events else _resting_views(self.orders, self._notes)

    def leaves(self, order_events: int) -> dict[OrderSide, Decimal]:
        """Worst-case leaves per side of every working order (those being cancelled included)."""
        if order_events != self.order_events:
            return _leaves_by_side(self.orders, self._notes)
        if self._leaves is None:
            self._leaves = _leaves_by_side(self.orders, self._notes)
        return self._leaves

    def pending_leaves(self, order_events: int) -> dict[OrderSide, Decimal]:
        """``_pending_leaves``, for the ladder's budget."""
        return self._pending_leaves if order_events == self.order_events else _pending_leaves(self.orders, self._notes)


def _resting_views(orders: list[Order], notes: _OrderNotes) -> list[RestingOrder]:
    return [_as_resting(o, notes) for o in orders if not o.is_pending_cancel]


def _pending_leaves(orders: list[Order], notes: _OrderNotes) -> dict[OrderSide, Decimal]:
    """Per side, what working orders may fill beyond the ladder's levels: the leaves of every order being cancelled,
    and of every order with a modify in flight its old leaves: they may still fill before the venue answers, and the
    new size then rests whole (Hyperliquid's modify is cancel-replace), holding the level."""
    pending = {OrderSide.BUY: Decimal(0), OrderSide.SELL: Decimal(0)}
    for order in orders:
        if order.is_pending_cancel:
            pending[order.side] += order.leaves_qty.as_decimal()
        elif notes.target(order) is not None or order.status == OrderStatus.PENDING_UPDATE:
            pending[order.side] += order.leaves_qty.as_decimal()  # the old leg; the new size holds the level
    return pending


def _reduce_only_budgets(
    bid_budget: Decimal, ask_budget: Decimal, position: Decimal, pending: dict[OrderSide, Decimal]
) -> tuple[Decimal, Decimal]:
    """Reduce-only orders can at most flatten the position, counting the reducing side's orders being cancelled
    (``pending``: they may still fill). Without them, a long 0.01 with a 0.01 ask pending cancel kept a 0.01 ask for
    the ladder, and both filling flipped the position to −0.01 (review)."""
    return (
        min(bid_budget, max(-position - pending[OrderSide.BUY], ZERO)),
        min(ask_budget, max(position - pending[OrderSide.SELL], ZERO)),
    )


def _leaves_by_side(orders, notes: _OrderNotes) -> dict[OrderSide, Decimal]:
    leaves = {OrderSide.BUY: Decimal(0), OrderSide.SELL: Decimal(0)}
    for order in orders:
        if order.side == OrderSide.BUY or order.side == OrderSide.SELL:
            leaves[order.side] += notes.worst_leaves(order)
    return leaves


def _reducing_side_quoted(position: Decimal, bids: list[QuoteLevel], asks: list[QuoteLevel]) -> bool:
    if position > 0:
        return bool(asks)
    if position < 0:
        return bool(bids)
    return True


def refusal_answer(
    event: OrderRejected | OrderDenied | OrderModifyRejected, order_list_id: OrderListId | None
) -> tuple[Hashable, str]:
    """What one refusal answers to, with its cause, for the kill switch, which counts one answer with one cause once
    (``KillSwitch.on_error``). The events one venue answer gives a batch's orders share their ``ts_event``.
    NautilusTrader's risk engine denies an order list's orders one by one, each at its own clock read live (at one
    time in a backtest, whose clock stands still within an event): a denial answers to its list."""
    if type(event) is OrderDenied and order_list_id is not None:
        return order_list_id, event.reason
    return event.ts_event, event.reason


_RATE_LIMIT_MARKS = ("429", "too many", "rate limit", "order_submit_rate", "order_modify_rate", "request budget")


def _is_rate_limit(reason: str) -> bool:
    """A refusal for sending too much: the venue's 429/"too many", a rate limit (NautilusTrader's risk engine denies
    past ``max_order_submit_rate`` and refuses modifies past ``max_order_modify_rate``), or the exhausted address
    request budget our Hyperliquid client refuses on."""
    text = (reason or "").lower()
    return any(mark in text for mark in _RATE_LIMIT_MARKS)
