"""Recovery of the execution client from venue news that is lost, late, malformed or about orders the node has
already closed, against the local exchange under a real ``TradingNode`` (manual clock: the market moves only when
the test advances it). Every test asserts the venue's own state (open orders, fills, position) next to the node's.
"""

from __future__ import annotations

import json
from decimal import Decimal

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.events import OrderFilled

from adapters.hyperliquid.actions import cloid_from_client_order_id
from tests.test_adapter_execution import manual_node
from tests.test_adapter_execution import settled
from tests.test_adapter_execution import touch
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import node_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for


def _fill_frame(user: str, fill: dict) -> str:
    return json.dumps({"channel": "userFills", "data": {"user": user, "fills": [fill]}})


def _filled_trade_ids(order) -> list[str]:
    return [event.trade_id.value for event in order.events if isinstance(event, OrderFilled)]


async def test_a_malformed_fill_leaves_no_trace_so_its_order_stays_cancellable_and_a_valid_copy_applies(
    exchange_factory, node_factory
):
    """One corrupt field in a fill used to burn its trade id and record its size before the event failed to
    build: the order looked filled to the client (every cancel dropped) and the valid copy was a 'duplicate'."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    client = live.exec_client
    bid, _ = touch(live)
    to_cancel, to_fill = strategy.limit(OrderSide.BUY, bid - 50), strategy.limit(OrderSide.BUY, bid - 60)
    for order in (to_cancel, to_fill):
        strategy.submit_order(order)
        await settled(live, order, OrderStatus.ACCEPTED)

    def fill_of(order, tid: int) -> dict:
        order = live.node.cache.order(order.client_order_id)
        return {
            "coin": "BTC", "px": str(order.price), "sz": str(order.quantity), "side": "B", "time": 1796219168124,
            "oid": int(order.venue_order_id.value), "crossed": False, "fee": "0.0064", "tid": tid,
            "cloid": cloid_from_client_order_id(order.client_order_id.value), "feeToken": "USDC", "hash": "0x0",
        }

    malformed_before = client.malformed_frames
    client._on_frame(_fill_frame(client.user, dict(fill_of(to_cancel, 777000111), px="-1")))
    client._on_frame(_fill_frame(client.user, dict(fill_of(to_fill, 777000222), fee="not a number")))
    assert client.malformed_frames == malformed_before + 2, "each malformed item is counted"

    strategy.cancel_order(live.node.cache.order(to_cancel.client_order_id))
    await settled(live, to_cancel, OrderStatus.CANCELED)
    assert [o.cloid for o in live.venue_open_orders()] == [cloid_from_client_order_id(to_fill.client_order_id.value)]

    client._on_frame(_fill_frame(client.user, fill_of(to_fill, 777000222)))
    filled = await settled(live, to_fill, OrderStatus.FILLED)
    assert _filled_trade_ids(filled) == ["777000222"] and live.emitted_fill_ids == ["777000222"]
    assert live.node_position() == Decimal("0.001")
