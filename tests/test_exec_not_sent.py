"""Actions that fail before any of them is written (here: the signer raises). Nothing reached the venue, so the
outcome is known without a look-up: the orders of a submit end SUBMITTED then REJECTED ("not sent: ..."), a
cancel or a modify is rejected and the order stays as it was. Before, the command's task died with the orders
INITIALIZED (never tracked) or PENDING_CANCEL / PENDING_UPDATE for good, counted against the strategy's caps.

Over a WS post the body is signed before the poster writes it; over REST it is signed inside the HTTP client,
after the orders' bookkeeping: both paths are run against the local exchange."""

from __future__ import annotations

from typing import Any

import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus

from tests.test_adapter_execution import manual_node
from tests.test_adapter_execution import record_actions
from tests.test_adapter_execution import rest_a_bid
from tests.test_adapter_execution import settled
from tests.test_adapter_execution import touch
from tests.test_live_support import BTC_ID
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import node_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for


class FailingSigner:
    """The client's signer, except that it raises for actions of ``failing_type`` while ``failing`` is set."""

    def __init__(self, signer, failing_type: str) -> None:
        self._signer = signer
        self.failing_type = failing_type
        self.failing = True
        self.refused = 0

    @property
    def address(self) -> str:
        return self._signer.address

    def sign_l1_action(self, action: dict[str, Any], *args, **kwargs):
        if self.failing and action["type"] == self.failing_type:
            self.refused += 1
            raise ValueError("signing device unavailable")
        return self._signer.sign_l1_action(action, *args, **kwargs)


def break_signing(live, action_type: str) -> FailingSigner:
    exchange = live.exec_client._exchange
    exchange._signer = FailingSigner(exchange._signer, action_type)
    return exchange._signer


async def node_over(transport: str, exchange_factory, node_factory):
    """A manual node whose actions go as WS posts, or by REST only (the poster reports itself disconnected)."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    if transport == "rest":
        live.exec_client._poster._is_connected = lambda: False
    return live, strategy


async def refused_as_not_sent(live, order, event_name: str):
    """The order once its last event is ``event_name`` (a cancel or modify rejected), checked to carry the reason."""
    await wait_for(
        lambda: type(live.node.cache.order(order.client_order_id).events[-1]).__name__ == event_name,
        5,
        f"{order.client_order_id}: {event_name}",
    )
    order = live.node.cache.order(order.client_order_id)
    assert order.events[-1].reason == "not sent: ValueError: signing device unavailable"
    return order


@pytest.mark.parametrize("transport", ["ws_post", "rest"])
async def test_orders_whose_action_cannot_be_signed_are_submitted_then_rejected(
    exchange_factory, node_factory, transport
):
    live, strategy = await node_over(transport, exchange_factory, node_factory)
    received = record_actions(live)
    signer = break_signing(live, "order")
    bid, _ = touch(live)
    order_list = strategy.order_factory.create_list([strategy.limit(OrderSide.BUY, bid - 50 - i) for i in range(2)])
    strategy.submit_order_list(order_list)
    for order in order_list.orders:
        order = await settled(live, order, OrderStatus.REJECTED)
        assert [type(event).__name__ for event in order.events] == ["OrderInitialized", "OrderSubmitted", "OrderRejected"]
        assert order.events[-1].reason == "not sent: ValueError: signing device unavailable"
    assert signer.refused == 1 and received == [] and live.venue_open_orders() == [], "nothing reached the venue"
    assert live.exec_client._awaiting == set(), "no look-up pending: the outcome is known"

    signer.failing = False
    order = strategy.limit(OrderSide.BUY, bid - 50)
    strategy.submit_order(order)
    await settled(live, order, OrderStatus.ACCEPTED)


@pytest.mark.parametrize("transport", ["ws_post", "rest"])
async def test_a_cancel_that_cannot_be_signed_is_rejected_and_the_orders_stay_open(
    exchange_factory, node_factory, transport
):
    live, strategy = await node_over(transport, exchange_factory, node_factory)
    orders = [await rest_a_bid(live, strategy, 60 + i) for i in range(2)]
    signer = break_signing(live, "cancelByCloid")
    strategy.cancel_orders(orders)
    for order in orders:
        order = await refused_as_not_sent(live, order, "OrderCancelRejected")
        assert order.status == OrderStatus.ACCEPTED, "not left PENDING_CANCEL"
    assert len(live.venue_open_orders()) == 2

    signer.failing = False
    strategy.cancel_orders(orders)
    for order in orders:
        await settled(live, order, OrderStatus.CANCELED)


@pytest.mark.parametrize("transport", ["ws_post", "rest"])
async def test_a_modify_that_cannot_be_signed_is_rejected_and_the_order_keeps_its_price(
    exchange_factory, node_factory, transport
):
    live, strategy = await node_over(transport, exchange_factory, node_factory)
    order = await rest_a_bid(live, strategy, 70)
    price = order.price
    signer = break_signing(live, "batchModify")
    bid, _ = touch(live)
    strategy.modify_order(order, price=live.node.cache.instrument(BTC_ID).make_price(bid - 75))
    order = await refused_as_not_sent(live, order, "OrderModifyRejected")
    assert order.status == OrderStatus.ACCEPTED and order.price == price, "not left PENDING_UPDATE"
    assert [o.limit_px for o in live.venue_open_orders()] == [price.as_decimal()]
    assert signer.refused == 1
