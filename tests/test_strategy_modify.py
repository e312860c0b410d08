"""The strategy requotes by amending its resting orders (one modify each) rather than cancelling and replacing them:
requests counted, an order with a modify in flight never modified twice and capped at its worst case, a refused
modify re-diffed,
and fills after an amendment placed at the amendment's mid. On the real 9-minute BTC capture with trades."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.events import OrderModifyRejected
from nautilus_trader.model.events import OrderPendingCancel
from nautilus_trader.model.events import OrderPendingUpdate
from nautilus_trader.model.events import OrderSubmitted
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs
from nautilus_trader.trading.strategy import Strategy

from adapters.hyperliquid.meta import default_instrument
from mm_strategy.backtest import run_backtest
from mm_strategy.node_config import load_venue_config
from mm_strategy.quoting import Amendment
from mm_strategy.quoting import QuoteLevel
from mm_strategy.quoting import RestingOrder
from mm_strategy.reporting import compute_metrics
from mm_strategy.session_report import session_inputs
from mm_strategy.strategy import GLFTMarketMaker
from mm_strategy.strategy import _leaves_by_side
from mm_strategy.strategy import _OrderNotes
from mm_strategy.strategy import _pending_leaves
from run_backtest import REPO_ROOT

CONFIG = REPO_ROOT / "configs" / "hyperliquid_btc.json"


def _run(catalog):
    outcome = run_backtest(load_venue_config(CONFIG), catalog)
    return outcome, outcome.engine.trader.strategies()[0]


def test_each_modify_is_one_request_in_the_counters_and_the_report(hl_btc_catalog):
    outcome, strategy = _run(hl_btc_catalog)
    events = [type(e) for order in outcome.engine.cache.orders() for e in order.events]
    inputs = session_inputs(strategy, outcome.engine.portfolio, outcome.engine.cache, 100_000.0, {})
    requests = compute_metrics(inputs)["requests"]
    outcome.node.dispose()
    assert strategy.modifies_sent == events.count(OrderPendingUpdate) > 100
    assert strategy.orders_sent == events.count(OrderSubmitted) and strategy.cancels_sent == events.count(OrderPendingCancel)
    assert (requests["orders"], requests["cancels"], requests["modifies"]) == (
        strategy.orders_sent, strategy.cancels_sent, strategy.modifies_sent
    )
    assert requests["notional_per_request"] * (strategy.orders_sent + strategy.cancels_sent + strategy.modifies_sent) == (
        pytest.approx(sum(f.price * f.qty for f in inputs.fills))
    )


def test_an_order_with_a_modify_in_flight_is_never_modified_again_nor_doubled(hl_btc_catalog, monkeypatch):
    """Its fills may still come at the old price until the venue answers (the matching engine answers after the
    latency plus the feed lag, ~0.6 s here, and book updates run cycles meanwhile): no second modify races the
    first, and its level gets a new order only in a cycle that cancels it (the ladder moved on meanwhile)."""
    modified: list = []
    seen = {"cycles_with_one_in_flight": 0, "cancelled_in_flight": 0}
    modify, cycle = Strategy.modify_order, GLFTMarketMaker._quote_cycle

    def recording_modify(self, order, *args, **kwargs):
        modified.append(order.client_order_id)
        modify(self, order, *args, **kwargs)

    def checked_cycle(self, *args):
        iid, sid = self.config.instrument_id, self.id
        in_flight = [
            o for o in self.cache.orders_open(instrument_id=iid, strategy_id=sid) if o.status == OrderStatus.PENDING_UPDATE
        ]
        before_ids = {o.client_order_id for o in self.cache.orders(instrument_id=iid, strategy_id=sid)}
        modified.clear()
        cycle(self, *args)
        if not in_flight:
            return
        seen["cycles_with_one_in_flight"] += 1
        assert not set(modified) & {o.client_order_id for o in in_flight}  # no second modify on top of the first
        placed = [o for o in self.cache.orders(instrument_id=iid, strategy_id=sid) if o.client_order_id not in before_ids]
        placed_levels = {(o.side, self._notes.level_by_id[o.client_order_id.value]) for o in placed}
        for order in in_flight:
            if (order.side, self._notes.level_by_id[order.client_order_id.value]) in placed_levels:
                assert order.is_pending_cancel  # replaced only when cancelled
                seen["cancelled_in_flight"] += 1

    monkeypatch.setattr(GLFTMarketMaker, "modify_order", recording_modify)
    monkeypatch.setattr(GLFTMarketMaker, "_quote_cycle", checked_cycle)
    outcome, _ = _run(hl_btc_catalog)
    outcome.node.dispose()
    # 44 cycles on the capture ran with a modify in flight; 30 times the ladder had moved on and the order was cancelled
    assert seen["cycles_with_one_in_flight"] > 30 and seen["cancelled_in_flight"] > 0


def _order(side: OrderSide, qty: str, status: str):
    order = TestExecStubs.limit_order(
        instrument=default_instrument(),
        order_side=side,
        price=Price.from_str("50000.0"),
        quantity=Quantity.from_str(qty),
        client_order_id=ClientOrderId(f"O-{side.name}-{qty}-{status}"),
    )
    order.apply(TestEventStubs.order_submitted(order))
    order.apply(TestEventStubs.order_accepted(order))
    if status == "updating":
        order.apply(TestEventStubs.order_pending_update(order))
    elif status == "cancelling":
        order.apply(TestEventStubs.order_pending_cancel(order))
    return order


def test_the_cap_counts_an_order_with_a_modify_in_flight_at_its_old_leaves_plus_its_new_size():
    """Review: Hyperliquid's modify is cancel-replace with the new resting size, so a fill of the old leg the venue
    has not reported yet still leaves the whole new size resting: the worst case is old leaves + new size, as cancel +
    new counted (the larger of the two undercounted it). The modify is in flight until the venue answers, whatever
    the order's status: a fill or a refused cancel meanwhile takes NautilusTrader's order out of PENDING_UPDATE."""
    notes = _OrderNotes()
    shrinking, growing = _order(OrderSide.BUY, "0.01000", "updating"), _order(OrderSide.BUY, "0.00500", "updating")
    notes.amend_by_id[shrinking.client_order_id.value] = QuoteLevel(OrderSide.BUY, Decimal(49_990), Decimal("0.005"), 0)
    notes.amend_by_id[growing.client_order_id.value] = QuoteLevel(OrderSide.BUY, Decimal(49_980), Decimal("0.01"), 1)
    cancelling, resting = _order(OrderSide.SELL, "0.01000", "cancelling"), _order(OrderSide.SELL, "0.00700", "resting")
    back_to_accepted = _order(OrderSide.SELL, "0.00300", "resting")  # its modify still in flight
    notes.amend_by_id[back_to_accepted.client_order_id.value] = QuoteLevel(
        OrderSide.SELL, Decimal(50_020), Decimal("0.004"), 2
    )
    orders = [shrinking, growing, cancelling, resting, back_to_accepted]
    # every working order at its worst: bids (0.01 + 0.005) + (0.005 + 0.01); asks 0.01 + 0.007 + (0.003 + 0.004)
    assert _leaves_by_side(orders, notes) == {OrderSide.BUY: Decimal("0.03"), OrderSide.SELL: Decimal("0.024")}
    # beyond the levels the ladder plans: the old legs of the orders with a modify in flight, and the cancel in flight
    assert _pending_leaves(orders, notes) == {OrderSide.BUY: Decimal("0.015"), OrderSide.SELL: Decimal("0.013")}


def test_an_amendment_that_would_breach_the_cap_is_a_cancel_instead():
    level = QuoteLevel(OrderSide.BUY, Decimal(49_990), Decimal("0.01"), 1)
    small = RestingOrder("small", OrderSide.BUY, Decimal(49_900), Decimal("0.004"), 1, amendable=True)
    working = SimpleNamespace(leaves=lambda _: {OrderSide.BUY: Decimal("0.014"), OrderSide.SELL: Decimal(0)})
    strategy = SimpleNamespace(_cap=Decimal("0.02"), _order_events=0)
    top = QuoteLevel(OrderSide.BUY, Decimal(50_000), Decimal("0.005"), 0)
    # room 0.02 − 0.014 = 0.006: the level-0 order (0.005) fits; the amendment adds its whole new size 0.01 (the old
    # leaves stay counted until the venue answers), which does not fit
    placed, amended, cancelled = GLFTMarketMaker._within_cap(
        strategy, (top,), (Amendment(small, level),), Decimal(0), working
    )
    assert (placed, amended, cancelled) == ([top], [], [small])
    _, amended, cancelled = GLFTMarketMaker._within_cap(strategy, (), (Amendment(small, level),), Decimal(0), working)
    assert (amended, cancelled) == ([], [small])  # 0.01 > 0.006 of room (counting only the growth, 0.006, fitted)
    roomy = SimpleNamespace(_cap=Decimal("0.024"), _order_events=0)
    _, amended, _ = GLFTMarketMaker._within_cap(roomy, (), (Amendment(small, level),), Decimal(0), working)
    assert amended == [Amendment(small, level)]  # 0.024 − 0.014 = 0.01 of room: the new size fits


def test_a_refused_modify_leaves_the_order_at_its_price_and_the_next_cycle_diffs_it_again(hl_btc_catalog, monkeypatch):
    """The matching engine refuses a post-only modify that would cross (as Hyperliquid refuses an ALO that would
    take): the order stays where it was, nothing trips, and the order is never offered a modify again: the next cycle
    keeps it or cancels it and places its level anew."""
    crossed: dict = {}
    amend = GLFTMarketMaker._amend

    def one_crossing_amend(self, amendments):
        if crossed or self.quote_cycles < 100 or not amendments:
            return amend(self, amendments)
        first = amendments[0]
        book = self.cache.order_book(self.config.instrument_id)
        through = book.best_ask_price() if first.level.side == OrderSide.BUY else book.best_bid_price()
        factor = Decimal("1.01") if first.level.side == OrderSide.BUY else Decimal("0.99")
        crossing = QuoteLevel(first.level.side, through.as_decimal() * factor, first.level.size, first.level.level)
        crossed.update(coid=first.order.order_id, price=first.order.price, ts=self.clock.timestamp_ns())
        return amend(self, [Amendment(first.order, crossing), *amendments[1:]])

    monkeypatch.setattr(GLFTMarketMaker, "_amend", lambda self, a: one_crossing_amend(self, a))
    outcome, strategy = _run(hl_btc_catalog)
    order = outcome.engine.cache.order(ClientOrderId(crossed["coid"]))
    events = order.events
    kills = [e for e in strategy.recorder.kill_events if e.trigger in ("reject", "rate_limit")]
    outcome.node.dispose()
    (refusal,) = [e for e in events if isinstance(e, OrderModifyRejected)]
    assert "POST_ONLY" in refusal.reason and not kills
    after = events[events.index(refusal) + 1 :]
    assert not [e for e in after if isinstance(e, (OrderPendingUpdate, OrderUpdated))]  # never modified again
    assert order.price.as_decimal() == crossed["price"]  # still at its old price
    # diffed again: cancelled (its level placed anew) unless it was kept or filled at its price before that
    assert [type(e) for e in after][:1] in ([OrderPendingCancel], [])
    assert any(isinstance(e, OrderPendingCancel) for e in after) or order.filled_qty > 0 or order.is_open


def test_fills_after_an_amendment_are_placed_at_the_mid_of_the_amendment(hl_btc_catalog, monkeypatch):
    """The report's placement markout measures from the mid when the order took the price it filled at."""
    updates: dict = {}
    on_updated = GLFTMarketMaker.on_order_updated

    def recording(self, event):
        updates.setdefault(event.client_order_id.value, []).append((self._last_mid, self.clock.timestamp_ns()))
        on_updated(self, event)

    monkeypatch.setattr(GLFTMarketMaker, "on_order_updated", recording)
    outcome, strategy = _run(hl_btc_catalog)
    fills = strategy.recorder.fills
    outcome.node.dispose()
    amended = [f for f in fills if f.order_id in updates]
    assert amended  # the capture's fills came to amended orders
    for fill in amended:
        mid, ts = [u for u in updates[fill.order_id] if u[1] <= fill.ts_ns][-1]
        assert (fill.placement_mid, fill.placement_ts_ns) == (mid, ts)
