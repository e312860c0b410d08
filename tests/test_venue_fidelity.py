"""Where the local exchange used to be more lenient than the real venue, and the client defects that hid (review
of session 9). Each venue behaviour is taken from a live capture, cited in ``local_exchange/errors.py`` and
``local_exchange/config.py``:

- every per-order and per-cancel error ends in `` asset=N``; the client compared the cancel error with ``==``, so
  live a cancel of an order already gone became a plain OrderCancelRejected and the node kept a dead order open;
- a modify whose new order is refused has cancelled the old one ("Error placing new order during modify: …"); the
  node must end with the order CANCELED even when the stream's CANCELED is lost;
- one signed action holds at most 200 items ("Signed action over weight limit of 200."); the client splits;
- a modify of a dead order answers "Cannot modify canceled or filled order".

Venue-level tests talk to the local exchange over HTTP; client-level ones run a real ``TradingNode`` against it
(manual clock: the market holds still).
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderCancelRejected
from nautilus_trader.model.events import OrderModifyRejected

from adapters.hyperliquid import actions
from adapters.hyperliquid import parsing
from adapters.hyperliquid.local_exchange import test_account_address as funded_account_address
from adapters.hyperliquid.weights import MAX_ACTION_ITEMS
from tests.test_adapter_execution import manual_node
from tests.test_adapter_execution import record_actions
from tests.test_adapter_execution import rest_a_bid
from tests.test_adapter_execution import settled
from tests.test_adapter_execution import touch as node_touch
from tests.test_live_support import BTC_ID
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import node_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for
from tests.test_local_exchange_support import BTC
from tests.test_local_exchange_support import alice  # noqa: F401  (fixture)
from tests.test_local_exchange_support import exchange  # noqa: F401  (fixture)
from tests.test_local_exchange_support import http  # noqa: F401  (fixture)
from tests.test_local_exchange_support import rest  # noqa: F401  (fixture)
from tests.test_local_exchange_support import touch
from tests.test_local_exchange_support import venue_factory  # noqa: F401  (fixture)
from tests.test_local_exchange_support import wire

MISSING_ORDER_BTC = "Order was never placed, already canceled, or filled. asset=0"


def statuses(body: dict) -> list:
    assert body["status"] == "ok", body
    return body["response"]["data"]["statuses"]


# -- the venue ------------------------------------------------------------------------------------------


async def test_a_cancel_of_a_dead_order_answers_the_live_text_with_its_asset(alice, rest):
    bid, _ = await touch(rest)
    oid = (await alice.order(True, bid - 50, "0.01"))["resting"]["oid"]
    assert statuses(await alice.act(actions.cancel_action([(BTC, oid)]))) == ["success"]
    assert statuses(await alice.act(actions.cancel_action([(BTC, oid)]))) == [{"error": MISSING_ORDER_BTC}]
    assert parsing.is_missing_order(MISSING_ORDER_BTC)


async def test_a_modify_whose_new_order_is_refused_has_cancelled_the_old_one(alice, rest):
    """The usual requote failure: the new leg at the touch as post-only crosses. Both forms of the action."""
    bid, ask = await touch(rest)
    for modify_action in (actions.batch_modify_action, lambda modifies: actions.modify_action(*modifies[0])):
        oid = (await alice.order(True, bid - 50, "0.01"))["resting"]["oid"]
        body = await alice.act(modify_action([(oid, wire(True, ask, "0.01"))]))
        error = statuses(body)[0]["error"] if body["status"] == "ok" else body["response"]
        assert error.startswith("Error placing new order during modify: Post only order would have immediately matched")
        assert parsing.modify_canceled_old_order(error)
        assert oid not in [o["oid"] for o in await rest.info("openOrders", user=alice.address)]
        status = await rest.info("orderStatus", user=alice.address, oid=oid)
        assert status["order"]["status"] == "canceled"


async def test_a_modify_of_a_dead_order_answers_the_live_text(alice, rest):
    bid, _ = await touch(rest)
    oid = (await alice.order(True, bid - 50, "0.01"))["resting"]["oid"]
    await alice.act(actions.cancel_action([(BTC, oid)]))
    body = await alice.act(actions.batch_modify_action([(oid, wire(True, bid - 60, "0.01"))]))
    assert statuses(body) == [{"error": "Cannot modify canceled or filled order"}]
    body = await alice.act(actions.modify_action(oid, wire(True, bid - 60, "0.01")))
    assert body == {"status": "err", "response": "Cannot modify canceled or filled order"}


async def test_an_action_of_more_than_200_items_is_refused_whole(alice, rest):
    over = await alice.act(actions.cancel_action([(BTC, oid + 1) for oid in range(MAX_ACTION_ITEMS + 1)]))
    assert over == {"status": "err", "response": "Signed action over weight limit of 200."}
    assert len(statuses(await alice.act(actions.cancel_action([(BTC, oid + 1) for oid in range(MAX_ACTION_ITEMS)])))) == 200


# -- the client -----------------------------------------------------------------------------------------


def modify_to(live, strategy, order, price: Decimal) -> None:
    strategy.modify_order(live.node.cache.order(order.client_order_id), price=live.node.cache.instrument(BTC_ID).make_price(price))


def events_of(live, order, kind: type) -> list:
    return [event for event in live.node.cache.order(order.client_order_id).events if isinstance(event, kind)]


async def test_a_cancel_of_an_order_the_venue_already_cancelled_closes_it_in_the_node(exchange_factory, node_factory):
    """The venue cancelled the order and its news was lost: the node's cancel gets the suffixed missing-order text,
    which must be confirmed from the venue's record (CANCELED), not turned into a cancel rejection."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    order = await rest_a_bid(live, strategy, 40)
    venue = live.exchange.venue
    live.exchange.faults.drop(channel="orderUpdates", count=1)
    venue.cancel(venue.accounts[funded_account_address()], BTC, int(order.venue_order_id.value), venue.clock.now_ms())
    venue.flush()
    assert not live.venue_open_orders()
    strategy.cancel_order(live.node.cache.order(order.client_order_id))
    await settled(live, order, OrderStatus.CANCELED)
    assert not events_of(live, order, OrderCancelRejected)


async def test_a_modify_refused_at_the_touch_ends_with_the_order_canceled_even_when_its_cancel_news_is_lost(
    exchange_factory, node_factory
):
    live, strategy = await manual_node(exchange_factory, node_factory)
    order = await rest_a_bid(live, strategy, 40)
    live.exchange.faults.drop(channel="orderUpdates", count=1)  # the old leg's CANCELED
    _, ask = node_touch(live)
    modify_to(live, strategy, order, ask)
    closed = await settled(live, order, OrderStatus.CANCELED, timeout_s=8)
    [refused] = events_of(live, order, OrderModifyRejected)
    assert refused.reason.startswith("Error placing new order during modify: Post only order would have")
    assert isinstance(closed.events[-1], OrderCanceled) and not live.venue_open_orders()


async def test_a_modify_refused_at_the_touch_ends_with_the_order_canceled(exchange_factory, node_factory):
    live, strategy = await manual_node(exchange_factory, node_factory)
    order = await rest_a_bid(live, strategy, 40)
    _, ask = node_touch(live)
    modify_to(live, strategy, order, ask)
    closed = await settled(live, order, OrderStatus.CANCELED)
    assert [type(e) for e in closed.events[-2:]] == [OrderModifyRejected, OrderCanceled]


async def test_batches_longer_than_the_action_cap_are_split(exchange_factory, node_factory):
    """250 bids as one order list, then cancel-all: each goes out as actions of at most 200 items, and all apply."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    received = record_actions(live)
    bid, _ = node_touch(live)
    n_orders = MAX_ACTION_ITEMS + 50
    orders = [strategy.limit(OrderSide.BUY, bid - 100 - Decimal(i)) for i in range(n_orders)]
    strategy.submit_order_list(strategy.order_factory.create_list(orders))
    for order in orders:
        await settled(live, order, OrderStatus.ACCEPTED, timeout_s=15)
    assert len(live.venue_open_orders()) == n_orders
    strategy.cancel_all_orders(BTC_ID)
    await wait_for(lambda: not live.venue_open_orders(), 15, "every order cancelled at the venue")
    for order in orders:
        await settled(live, order, OrderStatus.CANCELED, timeout_s=15)
    sizes = {kind: [len(a[key]) for a in received if a["type"] == kind] for kind, key in (("order", "orders"), ("cancelByCloid", "cancels"))}
    assert sizes == {"order": [200, 50], "cancelByCloid": [200, 50]}
