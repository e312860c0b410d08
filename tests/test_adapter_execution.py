"""The execution client under a real ``TradingNode`` against the local exchange (manual clock: the market holds
still, so every outcome is decided by the orders alone).

A do-nothing strategy is driven from the test; assertions read the venue's own state (open orders with their
cloids, positions, the actions it received) next to the node's events.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.config import ImportableStrategyConfig
from nautilus_trader.trading.strategy import Strategy

from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY
from adapters.hyperliquid.local_exchange import test_account_address as funded_account_address
from adapters.hyperliquid.actions import cloid_from_client_order_id
from adapters.hyperliquid.credentials import HyperliquidSigner
from mm_strategy.messages import FundingPayment
from mm_strategy.messages import data_topic
from mm_strategy.node_config import replace_venue_live
from tests.test_live_support import BTC_ID
from tests.test_live_support import KEY_ENV
from tests.test_live_support import LiveNode
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import live_settings
from tests.test_live_support import node_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for

SIZE = Decimal("0.001")


class ManualStrategyConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId


class ManualStrategy(Strategy):
    """Subscribes to the book (so MARKET orders can be priced) and otherwise does what the test tells it."""

    def on_start(self) -> None:
        self.subscribe_order_book_deltas(self.config.instrument_id, BookType.L2_MBP)

    def on_stop(self) -> None:
        """Leaves its orders to the execution client's shutdown sweep, which is under test too."""

    def limit(self, side: OrderSide, price: Decimal | str, size: Decimal = SIZE, **kwargs) -> Order:
        instrument = self.cache.instrument(self.config.instrument_id)
        kwargs.setdefault("post_only", True)
        order = self.order_factory.limit(
            self.config.instrument_id, side, instrument.make_qty(size), instrument.make_price(Decimal(price)), **kwargs
        )
        return order


MANUAL = ImportableStrategyConfig(
    strategy_path=f"{__name__}:ManualStrategy",
    config_path=f"{__name__}:ManualStrategyConfig",
    config={"instrument_id": BTC_ID.value, "order_id_tag": "T1"},
)


async def manual_node(exchange_factory, node_factory, **exchange_overrides) -> tuple[LiveNode, ManualStrategy]:
    exchange = await exchange_factory(manual_clock=True, **exchange_overrides)
    live = await node_factory(exchange, live_settings(strategy=MANUAL))
    strategy = live.strategy
    await wait_for(lambda: live.node.cache.order_book(BTC_ID) is not None and live.node.cache.order_book(BTC_ID).best_bid_price() is not None, 10, "the book")
    return live, strategy


def touch(live: LiveNode) -> tuple[Decimal, Decimal]:
    return live.exchange.venue.markets["BTC"].bbo()


async def quote_the_touch(live: LiveNode, strategy) -> list[Order]:
    """A bid at the best bid and an ask at the best ask, both accepted."""
    bid, ask = touch(live)
    orders = [strategy.limit(OrderSide.BUY, bid), strategy.limit(OrderSide.SELL, ask)]
    for order in orders:
        strategy.submit_order(order)
        await settled(live, order, OrderStatus.ACCEPTED)
    return orders


async def rest_a_bid(live: LiveNode, strategy, below: int) -> Order:
    """A bid ``below`` dollars under the best bid, accepted (it rests: the manual clock holds the market still)."""
    bid, _ = touch(live)
    order = strategy.limit(OrderSide.BUY, bid - below)
    strategy.submit_order(order)
    return await settled(live, order, OrderStatus.ACCEPTED)


def record_actions(live: LiveNode) -> list[dict]:
    """Every action the venue executes, as it received it."""
    handler = live.exchange.actions
    received: list[dict] = []
    execute = handler.execute

    def recording(envelope):
        received.append(envelope.action)
        return execute(envelope)

    handler.execute = recording
    return received


async def settled(live: LiveNode, order: Order, status: OrderStatus, timeout_s: float = 5) -> Order:
    await wait_for(lambda: live.node.cache.order(order.client_order_id).status == status, timeout_s, f"{order.client_order_id} {status.name}")
    return live.node.cache.order(order.client_order_id)


async def test_submit_cancel_modify_and_batches(exchange_factory, node_factory):
    live, strategy = await manual_node(exchange_factory, node_factory)
    actions = record_actions(live)
    bid, ask = touch(live)

    order = strategy.limit(OrderSide.BUY, bid - 20)
    strategy.submit_order(order)
    order = await settled(live, order, OrderStatus.ACCEPTED)
    [venue_order] = live.venue_open_orders()
    assert venue_order.cloid == cloid_from_client_order_id(order.client_order_id.value), "deterministic cloid"
    assert order.venue_order_id.value == str(venue_order.oid) and venue_order.tif == "Alo"

    strategy.modify_order(order, price=live.node.cache.instrument(BTC_ID).make_price(bid - 25))
    await wait_for(lambda: live.venue_open_orders() and live.venue_open_orders()[0].limit_px == bid - 25, 5, "modify")
    await wait_for(lambda: any(isinstance(e, OrderUpdated) for e in live.node.cache.order(order.client_order_id).events), 5, "OrderUpdated")
    order = live.node.cache.order(order.client_order_id)
    [replaced] = live.venue_open_orders()
    assert order.venue_order_id.value == str(replaced.oid) != str(venue_order.oid), "the replacement's oid"
    assert replaced.cloid == venue_order.cloid and order.price.as_decimal() == bid - 25
    assert order.status == OrderStatus.ACCEPTED and not any(isinstance(e, OrderCanceled) for e in order.events)

    strategy.cancel_order(order)
    await settled(live, order, OrderStatus.CANCELED)
    assert live.venue_open_orders() == []

    actions.clear()
    order_list = strategy.order_factory.create_list(
        [strategy.limit(OrderSide.BUY, bid - 30 - i) for i in range(2)] + [strategy.limit(OrderSide.SELL, ask + 30)]
    )
    strategy.submit_order_list(order_list)
    for listed in order_list.orders:
        await settled(live, listed, OrderStatus.ACCEPTED)
    assert [a["type"] for a in actions] == ["order"] and len(actions[0]["orders"]) == 3, "one batch action"
    strategy.cancel_orders(list(order_list.orders))
    for listed in order_list.orders:
        await settled(live, listed, OrderStatus.CANCELED)
    assert [a["type"] for a in actions[1:]] == ["cancelByCloid"] and len(actions[1]["cancels"]) == 3, "one batch cancel"

    resting = [strategy.limit(OrderSide.SELL, ask + 40 + i) for i in range(2)]
    for order in resting:
        strategy.submit_order(order)
        await settled(live, order, OrderStatus.ACCEPTED)
    strategy.cancel_all_orders(BTC_ID)
    for order in resting:
        await settled(live, order, OrderStatus.CANCELED)
    assert live.venue_open_orders() == []


async def test_rejections_carry_the_venue_text_and_impossible_orders_are_denied(exchange_factory, node_factory):
    live, strategy = await manual_node(exchange_factory, node_factory)
    bid, ask = touch(live)

    crossing = strategy.limit(OrderSide.BUY, ask)
    strategy.submit_order(crossing)
    crossing = await settled(live, crossing, OrderStatus.REJECTED)
    assert crossing.last_event.due_post_only
    assert crossing.last_event.reason == f"Post only order would have immediately matched, bbo was {bid:.0f}@{ask:.0f}. asset=0"

    reduce_only = strategy.limit(OrderSide.SELL, ask + 10, reduce_only=True)
    strategy.submit_order(reduce_only)
    reduce_only = await settled(live, reduce_only, OrderStatus.REJECTED)
    assert reduce_only.last_event.reason == "Reduce only order would increase position. asset=0" and not reduce_only.last_event.due_post_only

    too_big = strategy.limit(OrderSide.BUY, bid - 10, size=Decimal(100))
    strategy.submit_order(too_big)
    assert (await settled(live, too_big, OrderStatus.REJECTED)).last_event.reason == "Insufficient margin to place order. asset=0"

    off_tick = strategy.limit(OrderSide.BUY, bid - Decimal("10.5"))
    strategy.submit_order(off_tick)
    off_tick = await settled(live, off_tick, OrderStatus.DENIED)
    assert "5-significant-figure" in off_tick.last_event.reason
    fok = strategy.limit(OrderSide.BUY, bid - 10, post_only=False, time_in_force=TimeInForce.FOK)
    strategy.submit_order(fok)
    assert "time in force" in (await settled(live, fok, OrderStatus.DENIED)).last_event.reason
    assert live.venue_open_orders() == [] and live.account.fills == []


async def test_fills_positions_and_reconciliation_on_restart(exchange_factory, node_factory):
    exchange = await exchange_factory(manual_clock=True)
    live = await node_factory(exchange, live_settings(strategy=MANUAL))
    strategy = live.strategy
    await wait_for(lambda: live.node.cache.order_book(BTC_ID) is not None, 10, "the book")
    bid, ask = touch(live)

    taker = strategy.limit(OrderSide.BUY, ask + 5, size=Decimal("0.003"), post_only=False, time_in_force=TimeInForce.IOC)
    strategy.submit_order(taker)
    taker = await settled(live, taker, OrderStatus.FILLED)
    market = strategy.order_factory.market(BTC_ID, OrderSide.SELL, live.node.cache.instrument(BTC_ID).make_qty("0.001"))
    strategy.submit_order(market)
    await settled(live, market, OrderStatus.FILLED)
    await wait_for(lambda: live.node_position() == Decimal("0.002"), 5, "the node position")
    assert await live.clearinghouse_position() == Decimal("0.002")
    fills = [e for o in live.node.cache.orders() for e in o.events if isinstance(e, OrderFilled)]
    assert sorted(e.trade_id.value for e in fills) == sorted(str(f["tid"]) for f in live.account.fills)
    assert all(e.commission.as_decimal() > 0 for e in fills), "taker fees from the venue's fill"

    maker = strategy.limit(OrderSide.SELL, ask + 3)
    strategy.submit_order(maker)
    await settled(live, maker, OrderStatus.ACCEPTED)
    await live.stop()
    assert live.venue_open_orders() == [] and live.account.schedule_cancel_ms is None

    restarted = await node_factory(exchange, live_settings(strategy=MANUAL))
    await wait_for(lambda: restarted.node_position() == Decimal("0.002"), 10, "the position reconciled on start")
    assert await restarted.clearinghouse_position() == Decimal("0.002")


async def test_429_storms_and_lost_answers_never_lose_or_double_an_order(exchange_factory, node_factory):
    live, strategy = await manual_node(exchange_factory, node_factory)
    bid, _ = touch(live)

    live.exchange.faults.http_429(count=3)
    order = strategy.limit(OrderSide.BUY, bid - 20)
    strategy.submit_order(order)
    await settled(live, order, OrderStatus.ACCEPTED, timeout_s=15)

    live.exchange.faults.drop(action="order", phase="response", count=1)
    lost = strategy.limit(OrderSide.BUY, bid - 21)
    strategy.submit_order(lost)
    lost = await settled(live, lost, OrderStatus.ACCEPTED)
    venue_cloids = [o.cloid for o in live.venue_open_orders()]
    assert venue_cloids.count(cloid_from_client_order_id(lost.client_order_id.value)) == 1, "placed once, found by cloid"
    assert len(venue_cloids) == 2


async def test_agent_wallet_trades_for_the_master(exchange_factory, node_factory, monkeypatch):
    agent_key = "0x" + "42" * 32
    agent = HyperliquidSigner.from_key(agent_key).address
    master = funded_account_address()
    exchange = await exchange_factory(manual_clock=True, agents=((agent, master),))
    settings = live_settings(strategy=MANUAL)
    settings = replace_venue_live(settings, account_address=master, leverage=7)
    monkeypatch.setenv(KEY_ENV, agent_key)
    live = await node_factory(exchange, settings)
    assert live.exec_client.user == master and live.exec_client._exchange.signer_address == agent
    await wait_for(lambda: live.node.cache.order_book(BTC_ID) is not None, 10, "the book")
    await rest_a_bid(live, live.strategy, 20)
    assert [o.user for o in live.venue_open_orders()] == [master], "the order belongs to the master account"
    assert live.account.leverage == {"BTC": 7}, "updateLeverage on connect, signed by the agent for the master"
    assert TEST_ACCOUNT_KEY != agent_key


async def test_a_lost_modify_answer_is_looked_up_and_the_order_stays_open(exchange_factory, node_factory):
    """The venue replaced the order but its answer was lost: the old leg's CANCELED must not close the order."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    order = await rest_a_bid(live, strategy, 20)
    bid, _ = touch(live)
    live.exchange.faults.drop(action="batchModify", phase="response", count=1)
    live.exchange.faults.delay(0.5, channel="orderUpdates", count=2)  # both legs' news after the lost answer
    strategy.modify_order(order, price=live.node.cache.instrument(BTC_ID).make_price(bid - 25))
    await wait_for(lambda: any(isinstance(e, OrderUpdated) for e in live.node.cache.order(order.client_order_id).events), 10, "OrderUpdated")
    [replaced] = live.venue_open_orders()
    order = live.node.cache.order(order.client_order_id)
    assert replaced.limit_px == bid - 25 and order.venue_order_id.value == str(replaced.oid), "the new leg, found by cloid"
    assert order.status == OrderStatus.ACCEPTED and order.price.as_decimal() == bid - 25
    assert not any(isinstance(e, OrderCanceled) for e in order.events)


async def test_fills_lost_on_a_live_stream_are_recovered_within_seconds(exchange_factory, node_factory):
    """No disconnect: the venue's orderUpdates says FILLED while every fill frame is lost. The node fetches the
    fills within seconds (the 60 s periodic resync would be the only other way)."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    orders = await quote_the_touch(live, strategy)
    for channel in ("userFills", "user"):
        live.exchange.faults.drop(channel=channel, count=None, seconds=60)
    assert live.exchange.advance_until(lambda: live.account.fills, 1800), "the replay crosses one of the quotes"
    [filled] = [o for o in orders if cloid_from_client_order_id(o.client_order_id.value) == live.account.fills[0]["cloid"]]
    order = await settled(live, filled, OrderStatus.FILLED, timeout_s=15)
    assert [e.trade_id.value for e in order.events if isinstance(e, OrderFilled)] == [str(f["tid"]) for f in live.account.fills]
    assert live.exec_client.resyncs["venue fills overdue on the streams"] == 1


async def test_a_funding_payment_reaches_the_bus_for_the_strategys_report(exchange_factory, node_factory):
    """The venue's userEvents funding was only logged: the report's funding line read 0 and live payments landed
    in the reconciliation error (review). It is published as a FundingPayment on the topic the strategy reads."""
    live, strategy = await manual_node(exchange_factory, node_factory, funding_rate_hourly=Decimal("0.0001"))
    _, ask = touch(live)
    taker = strategy.limit(OrderSide.BUY, ask + 5, post_only=False, time_in_force=TimeInForce.IOC)
    strategy.submit_order(taker)
    await settled(live, taker, OrderStatus.FILLED)
    payments: list[FundingPayment] = []
    live.node.kernel.msgbus.subscribe(data_topic(FundingPayment, BTC_ID), payments.append)
    live.exchange.advance(3600)
    await wait_for(lambda: payments, 10, "the funding payment")
    paid = live.exchange.venue.user_funding[live.account.address][-1]["delta"]
    assert payments[0].instrument_id == BTC_ID and payments[0].rate == pytest.approx(1e-4)
    assert payments[0].amount_usd == pytest.approx(float(paid["usdc"])) and payments[0].amount_usd < 0  # longs pay
