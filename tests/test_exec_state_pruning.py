"""The execution client forgets the states of orders closed longer than its retention (a node quoting for days
places thousands of orders an hour; every resync used to walk all of them), and late venue news of a forgotten
order changes nothing: a duplicate fill is not applied again, a late cancel is dropped, not reported as external.

Against the local exchange under a real ``TradingNode`` (manual clock), with a 1 s retention set through the
config the node builds its client from; the test waits the retention out on the wall clock and runs the resync
that prunes.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.orders import Order

from adapters.hyperliquid import node as hyperliquid_node
from adapters.hyperliquid import parsing
from adapters.hyperliquid.actions import cloid_from_client_order_id
from adapters.hyperliquid.config import HyperliquidExecClientConfig
from adapters.hyperliquid.execution import RESYNC_OVERLAP_MS
from adapters.hyperliquid.local_exchange import test_account_address as funded_account_address
from mm_strategy.backtest import PURGE_AFTER_MINS
from tests.test_adapter_execution import manual_node
from tests.test_adapter_execution import record_actions
from tests.test_adapter_execution import settled
from tests.test_adapter_execution import touch
from tests.test_live_support import BTC_ID
from tests.test_live_support import LiveNode
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import node_factory  # noqa: F401  (fixture)

RETENTION_S = 1.0
BATCHES = 3
BATCH_SIZE = 20


def test_the_default_retention_covers_the_engine_purge_buffer():
    """While the cache holds a closed order, its state must stay too (config docstring)."""
    assert HyperliquidExecClientConfig().closed_order_retention_secs >= PURGE_AFTER_MINS * 60


@dataclass
class Pruned:
    live: LiveNode
    strategy: object
    old: list[Order]  # closed before the retention passed: forgotten
    taker: Order  # filled before it: forgotten
    recent: Order  # cancelled after it: kept
    resting: Order  # open: kept
    reports: list  # what the client sent as reports (external orders and fills) after the pruning


def cloid(order: Order) -> str:
    return cloid_from_client_order_id(order.client_order_id.value)


@pytest.fixture
def short_retention(monkeypatch):
    config = partial(HyperliquidExecClientConfig, closed_order_retention_secs=RETENTION_S)
    monkeypatch.setattr(hyperliquid_node, "HyperliquidExecClientConfig", config)


async def pruned_node(exchange_factory, node_factory) -> Pruned:
    """60 bids placed and cancelled in batches and one IOC taker filled; the retention (and the resync's 2 s
    overlap) passes; then one bid is cancelled and one left resting, and a resync prunes. The client is first put
    where one restarted from a persisted cache is: the orders' fills are in their states only (the recent-fills set
    is empty) and its resync reads fills from the session's start, after them."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    bid, ask = touch(live)
    old: list[Order] = []
    for batch in range(BATCHES):
        orders = [strategy.limit(OrderSide.BUY, bid - 100 - batch * BATCH_SIZE - i) for i in range(BATCH_SIZE)]
        strategy.submit_order_list(strategy.order_factory.create_list(orders))
        for order in orders:
            await settled(live, order, OrderStatus.ACCEPTED)
        strategy.cancel_all_orders(BTC_ID)
        for order in orders:
            await settled(live, order, OrderStatus.CANCELED)
        old += orders
    taker = strategy.limit(OrderSide.BUY, ask + 5, post_only=False, time_in_force=TimeInForce.IOC)
    strategy.submit_order(taker)
    await settled(live, taker, OrderStatus.FILLED)
    await asyncio.sleep(max(RETENTION_S, RESYNC_OVERLAP_MS / 1000) + 0.5)

    recent, resting = strategy.limit(OrderSide.BUY, bid - 40), strategy.limit(OrderSide.BUY, bid - 30)
    for order in (recent, resting):
        strategy.submit_order(order)
        await settled(live, order, OrderStatus.ACCEPTED)
    strategy.cancel_order(live.node.cache.order(recent.client_order_id))
    await settled(live, recent, OrderStatus.CANCELED)

    client = live.exec_client
    client._seen_trades = parsing.RecentKeys(client._seen_trades._capacity)
    client._fills_read_ms, client._session_start_ms = 0, client._now_ms()
    await client.resync("test")
    reports: list = []
    client._send_fill_report = reports.append
    client._send_order_status_report = reports.append
    return Pruned(live, strategy, old, taker, recent, resting, reports)


async def test_states_of_orders_closed_longer_than_the_retention_are_forgotten(
    short_retention, exchange_factory, node_factory
):
    """61 closed orders used to stay in every map for good (and in every resync's walk)."""
    pruned = await pruned_node(exchange_factory, node_factory)
    client = pruned.live.exec_client
    kept = {cloid(pruned.recent), cloid(pruned.resting)}
    assert set(client._states) == kept
    assert {state.cloid for state in client._by_coid.values()} == kept
    assert {state.cloid for state in client._by_oid.values()} == kept
    assert client._awaiting == set()
    assert pruned.live.node.cache.order(pruned.taker.client_order_id).is_closed, "the cache keeps it (its own purge)"


async def test_a_duplicate_fill_of_a_forgotten_order_is_not_applied_again(
    short_retention, exchange_factory, node_factory
):
    pruned = await pruned_node(exchange_factory, node_factory)
    live, client = pruned.live, pruned.live.exec_client
    [fill] = live.account.fills
    assert fill["cloid"] == cloid(pruned.taker)
    position = live.node_position()
    emitted = list(live.emitted_fill_ids)
    without_cloid = {key: value for key, value in fill.items() if key != "cloid"}
    for copy in (fill, without_cloid):
        client._on_frame(json.dumps({"channel": "userFills", "data": {"user": client.user, "fills": [copy]}}))
    await asyncio.sleep(0.3)
    assert pruned.reports == [], "not reported as a fill of an unknown order"
    assert live.emitted_fill_ids == emitted and live.node_position() == position == Decimal("0.001")


async def test_a_late_cancel_of_a_forgotten_order_changes_nothing(short_retention, exchange_factory, node_factory):
    pruned = await pruned_node(exchange_factory, node_factory)
    live, client = pruned.live, pruned.live.exec_client
    cancelled = pruned.old[0]
    venue_order = live.exchange.venue.find_order(funded_account_address(), cloid(cancelled))
    assert venue_order.status == "canceled"
    orders_before = len(live.node.cache.orders())
    malformed_before = client.malformed_frames

    client._on_frame(json.dumps({"channel": "orderUpdates", "data": [venue_order.update_wire()]}))
    await asyncio.sleep(0.3)
    assert pruned.reports == [], "not reported as an external order"
    assert len(live.node.cache.orders()) == orders_before and client.malformed_frames == malformed_before
    assert cloid(cancelled) not in client._states, "not re-created"
    assert live.node.cache.order(cancelled.client_order_id).status == OrderStatus.CANCELED


async def test_a_forgotten_order_the_venue_shows_live_is_cancelled_there(
    short_retention, exchange_factory, node_factory
):
    """Never seen in practice (an order listed open at the venue is not pruned), but nothing would manage it."""
    pruned = await pruned_node(exchange_factory, node_factory)
    live, client = pruned.live, pruned.live.exec_client
    received = record_actions(live)
    venue_order = live.exchange.venue.find_order(funded_account_address(), cloid(pruned.old[0]))
    update = dict(venue_order.update_wire(), status="open")
    client._on_frame(json.dumps({"channel": "orderUpdates", "data": [update]}))
    await asyncio.sleep(0.5)
    assert pruned.reports == []
    assert any(a["type"] == "cancel" and a["cancels"][0]["o"] == venue_order.oid for a in received)
