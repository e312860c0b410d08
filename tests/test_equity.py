"""Equity for the loss limits: a venue-reported balance books a fill only at its next read (``equity.FillBooking``).

Live on Hyperliquid the balance is the venue's ``clearinghouseState``, read ~0.25 s after a fill; until then a closing
fill's PnL is in neither the balance nor the open position. The numbers below are real NautilusTrader positions
marked by ``equity_usd``, as the strategy's risk tick computes them.
"""

from __future__ import annotations

from types import SimpleNamespace

from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import PositionId
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.model.position import Position
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs

from adapters.hyperliquid.meta import instrument_for
from mm_strategy.equity import FillBooking
from mm_strategy.equity import equity_usd
from mm_strategy.models.kill_switch import NS_PER_S
from mm_strategy.models.kill_switch import KillSwitch
from mm_strategy.models.kill_switch import Trigger
from mm_strategy.models.risk import RiskConfig

BTC = instrument_for("BTC")
GRACE_NS = 5 * NS_PER_S


def _fill(side: OrderSide, px: str, ts_s: float):
    order = TestExecStubs.limit_order(
        instrument=BTC, order_side=side, price=Price.from_str(px), quantity=Quantity.from_str("0.10000")
    )
    return TestEventStubs.order_filled(
        order,
        BTC,
        position_id=PositionId("BTC-1"),
        trade_id=TradeId(f"T{ts_s}"),
        last_px=Price.from_str(px),
        commission=Money(0, USDC),
        ts_event=int(ts_s * NS_PER_S),
    )


class _Venue:
    """The two engine objects ``equity_usd`` reads, with a balance that changes only when the venue is read."""

    def __init__(self, balance: float) -> None:
        self.balance, self.positions = balance, []

    def account(self, venue):
        total = SimpleNamespace(as_double=lambda: self.balance)
        return SimpleNamespace(balance_total=lambda currency: total)

    def instrument(self, instrument_id):
        return BTC

    def positions_open(self, instrument_id):
        return [p for p in self.positions if p.is_open]


def test_an_unbooked_closing_fill_reads_as_a_drawdown_unless_the_limits_wait_for_the_booking():
    venue = _Venue(10_000.0)
    position = Position(BTC, _fill(OrderSide.BUY, "100000.0", 1.0))
    venue.positions = [position]
    peak = equity_usd(venue, venue, BTC.id, 100_500.0)
    assert peak == 10_050.0  # long 0.1 BTC, 500 up
    position.apply(_fill(OrderSide.SELL, "100500.0", 2.0))  # closed at the mark: +50 realised, not yet in the balance
    unbooked = equity_usd(venue, venue, BTC.id, 100_500.0)
    assert unbooked == 10_000.0

    config = RiskConfig(max_position=1.0, capital_usd=10_000.0, max_drawdown_pct=0.4)
    naive = KillSwitch(config)
    naive.on_pnl(1 * NS_PER_S, peak)
    assert [e.trigger for e in naive.on_pnl(2 * NS_PER_S, unbooked)] == [Trigger.DRAWDOWN]  # 0.5 % "drawdown"

    guarded, booking = KillSwitch(config), FillBooking(GRACE_NS)
    guarded.on_pnl(1 * NS_PER_S, peak)
    booking.on_fill(venue_ns=2 * NS_PER_S, now_ns=int(2.5 * NS_PER_S))
    assert not booking.booked(account_state_ns=1 * NS_PER_S, now_ns=3 * NS_PER_S)  # last read before the fill
    venue.balance = 10_050.0  # the next read books it
    assert booking.booked(account_state_ns=int(2.2 * NS_PER_S), now_ns=int(3.5 * NS_PER_S))
    assert guarded.on_pnl(int(3.5 * NS_PER_S), equity_usd(venue, venue, BTC.id, 100_500.0)) == []


def test_the_wait_is_bounded_and_a_run_of_fills_waits_for_the_newest():
    booking = FillBooking(GRACE_NS)
    assert booking.booked(None, 0)  # nothing filled: judge
    booking.on_fill(venue_ns=10 * NS_PER_S, now_ns=11 * NS_PER_S)
    booking.on_fill(venue_ns=12 * NS_PER_S, now_ns=13 * NS_PER_S)
    assert not booking.booked(account_state_ns=11 * NS_PER_S, now_ns=14 * NS_PER_S)  # booked the first one only
    assert booking.booked(account_state_ns=11 * NS_PER_S, now_ns=16 * NS_PER_S)  # 5 s since the run began: judge
    booking.on_fill(venue_ns=20 * NS_PER_S, now_ns=21 * NS_PER_S)
    assert not booking.booked(account_state_ns=19 * NS_PER_S, now_ns=22 * NS_PER_S)
    assert booking.booked(account_state_ns=20 * NS_PER_S, now_ns=22 * NS_PER_S)
    assert booking.booked(account_state_ns=None, now_ns=23 * NS_PER_S)  # and stays so until the next fill
