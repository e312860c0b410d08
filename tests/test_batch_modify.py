"""ModifyOrder commands that reach the execution client in one pass of the event loop go out as ONE signed
``batchModify`` action (one nonce, one signature, one post), each modify keeping its own outcome: its own
OrderUpdated or OrderModifyRejected from its positional status, its own look-up by cloid after a lost answer, and
its own rejection when the action cannot be signed. Before, every ModifyOrder was its own action.

Run under a real ``TradingNode`` against the local exchange (manual clock: the market holds still), with the
strategy issuing the modifies back to back in one synchronous block, as a requoting handler does.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import msgspec

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderModifyRejected
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.orders import Order

from adapters.hyperliquid.execution import NOT_PLACED_GRACE_S
from adapters.hyperliquid.schemas.exchange import ExchangeResponse
from adapters.hyperliquid.schemas.exchange import ItemStatus
from adapters.hyperliquid.schemas.exchange import ResponseBody
from adapters.hyperliquid.schemas.exchange import StatusesData
from mm_strategy.models.kill_switch import KillSwitch
from mm_strategy.models.risk import RiskConfig
from mm_strategy.strategy import refusal_answer
from tests.test_adapter_execution import manual_node
from tests.test_adapter_execution import record_actions
from tests.test_adapter_execution import rest_a_bid
from tests.test_adapter_execution import settled
from tests.test_adapter_execution import touch
from tests.test_exec_not_sent import break_signing
from tests.test_exec_not_sent import refused_as_not_sent
from tests.test_live_support import BTC_ID
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import node_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for


async def three_resting_bids(live, strategy) -> list[Order]:
    return [await rest_a_bid(live, strategy, 40 + 10 * i) for i in range(3)]


def modify_back_to_back(live, strategy, orders: list[Order], prices: list[Decimal]) -> None:
    """One ModifyOrder per order, issued in one synchronous block (no await between them)."""
    instrument = live.node.cache.instrument(BTC_ID)
    for order, price in zip(orders, prices):
        strategy.modify_order(live.node.cache.order(order.client_order_id), price=instrument.make_price(price))


def last_event(live, order: Order):
    return live.node.cache.order(order.client_order_id).events[-1]


async def outcome(live, order: Order, kind: type, timeout_s: float = 5):
    what = f"{order.client_order_id}: {kind.__name__}"
    await wait_for(lambda: isinstance(last_event(live, order), kind), timeout_s, what)
    return live.node.cache.order(order.client_order_id)


def cloid_of(live, order: Order) -> str:
    return live.exec_client._by_coid[order.client_order_id].cloid


async def test_three_modifies_go_out_as_one_batch_modify_each_with_its_own_outcome(exchange_factory, node_factory):
    """The middle modify would cross the ask as post-only: the venue refuses that one alone (its status is the
    second), so it gets OrderModifyRejected, then CANCELED (as live, the modify's cancel half has taken its old order
    off the book), while the other two are updated."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    orders = await three_resting_bids(live, strategy)
    old_oids = [order.venue_order_id for order in orders]
    received = record_actions(live)
    bid, ask = touch(live)
    prices = [bid - 15, ask, bid - 55]
    modify_back_to_back(live, strategy, orders, prices)

    first, crossing, third = orders
    for order, price in ((first, prices[0]), (third, prices[2])):
        updated = await outcome(live, order, OrderUpdated)
        assert updated.price.as_decimal() == price and updated.status == OrderStatus.ACCEPTED
        assert updated.venue_order_id != old_oids[orders.index(order)], "the replacement's oid"
    rejected = await outcome(live, crossing, OrderCanceled)
    assert [type(event) for event in rejected.events[-2:]] == [OrderModifyRejected, OrderCanceled]
    assert "Post only order would have immediately matched" in rejected.events[-2].reason
    assert rejected.price == crossing.price

    assert [a["type"] for a in received] == ["batchModify"], "one action on the wire"
    assert [m["oid"] for m in received[0]["modifies"]] == [cloid_of(live, o) for o in orders], "in command order"
    resting = sorted(o.limit_px for o in live.venue_open_orders())
    assert resting == sorted([prices[0], prices[2]])


async def test_a_lost_batch_modify_answer_is_resolved_per_order_by_cloid(exchange_factory, node_factory):
    """The venue executed the batch but its answer was lost: each order is looked up by its cloid. The two the
    venue replaced are updated to their new leg; the one it refused (post-only cross) is rejected as not applied, then
    CANCELED: as live, the refused modify's cancel half has taken its old order off the book."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    orders = await three_resting_bids(live, strategy)
    received = record_actions(live)
    live.exchange.faults.drop(action="batchModify", phase="response", count=1)
    bid, ask = touch(live)
    prices = [bid - 15, bid - 35, ask]
    modify_back_to_back(live, strategy, orders, prices)

    for order, price in zip(orders[:2], prices):
        updated = await outcome(live, order, OrderUpdated, timeout_s=10)
        assert updated.price.as_decimal() == price and updated.status == OrderStatus.ACCEPTED
        assert updated.venue_order_id.value in {str(o.oid) for o in live.venue_open_orders()}, "the new leg, by cloid"
    # the venue's record still shows its old leg: looked up again after the grace (NOT_PLACED_GRACE_S) first
    # (Nautilus's own in-flight check may close it first, from the venue's record: either way it ends CANCELED)
    closed = await settled(live, orders[2], OrderStatus.CANCELED, timeout_s=10 + NOT_PLACED_GRACE_S + 3)
    assert closed.price == orders[2].price and len(live.venue_open_orders()) == 2
    assert [a["type"] for a in received] == ["batchModify"], "one batch, nothing resent"


async def test_a_batch_modify_that_cannot_be_signed_rejects_every_modify(exchange_factory, node_factory):
    live, strategy = await manual_node(exchange_factory, node_factory)
    orders = await three_resting_bids(live, strategy)
    signer = break_signing(live, "batchModify")
    bid, _ = touch(live)
    modify_back_to_back(live, strategy, orders, [bid - 15, bid - 35, bid - 55])
    for order in orders:
        kept = await refused_as_not_sent(live, order, "OrderModifyRejected")
        assert kept.status == OrderStatus.ACCEPTED and kept.price == order.price, "not left PENDING_UPDATE"
    assert signer.refused == 1, "one action signed for the three modifies"
    assert sorted(o.limit_px for o in live.venue_open_orders()) == sorted(o.price.as_decimal() for o in orders)


async def test_modifies_then_an_order_list_in_one_pass_keep_their_order_on_the_wire(exchange_factory, node_factory):
    """A requote's usual shape (modifies, then new orders): the batch goes out before the order action, not after
    it nor on a timer, since the order list's own command flushes the modifies queued before it."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    orders = await three_resting_bids(live, strategy)
    received = record_actions(live)
    bid, _ = touch(live)
    modify_back_to_back(live, strategy, orders[:2], [bid - 15, bid - 35])
    new_orders = [strategy.limit(OrderSide.BUY, bid - 90 - i) for i in range(2)]
    strategy.submit_order_list(strategy.order_factory.create_list(new_orders))
    for order in new_orders:
        await settled(live, order, OrderStatus.ACCEPTED)
    for order in orders[:2]:
        await outcome(live, order, OrderUpdated)
    assert [action["type"] for action in received] == ["batchModify", "order"]
    assert len(received[0]["modifies"]) == 2


async def test_a_modify_and_a_cancel_of_one_order_in_one_pass_end_cancelled(exchange_factory, node_factory):
    """Nautilus sends a cancel straight to the execution engine and a modify through the risk engine's queue, so
    the cancel is on the wire first and the risk engine denies the modify of the order now pending cancel: the
    batch carries the other order's modify alone, and the order ends CANCELED at the venue and in the node."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    cancelled, modified, _ = await three_resting_bids(live, strategy)
    received = record_actions(live)
    bid, _ = touch(live)
    modify_back_to_back(live, strategy, [cancelled, modified], [bid - 15, bid - 35])
    strategy.cancel_order(live.node.cache.order(cancelled.client_order_id))
    await settled(live, cancelled, OrderStatus.CANCELED)
    updated = await outcome(live, modified, OrderUpdated)
    assert updated.price.as_decimal() == bid - 35
    targets = [[c.get("cloid") or c.get("oid") for c in a.get("cancels", a.get("modifies"))] for a in received]
    assert [a["type"] for a in received] == ["cancelByCloid", "batchModify"]
    assert targets == [[cloid_of(live, cancelled)], [cloid_of(live, modified)]]
    assert cloid_of(live, cancelled) not in {o.cloid for o in live.venue_open_orders()}


def answer_action_with(live, action_type: str, statuses: list, reach_venue: bool) -> None:
    """The client's next ``action_type`` action gets ``statuses`` as its answer: after the venue executed it
    (``reach_venue``), or without the venue ever seeing it. Other actions pass through untouched."""
    exchange = live.exec_client._exchange
    post = exchange.post

    async def answered(action, batch_length=1, on_sent=None):
        if action["type"] != action_type:
            return await post(action, batch_length, on_sent)
        exchange.post = post  # once
        if reach_venue:
            await post(action, batch_length, on_sent)
        elif on_sent is not None:
            on_sent()
        return ExchangeResponse("ok", ResponseBody("order", StatusesData(statuses)))

    exchange.post = answered


async def test_one_error_for_a_whole_batch_modify_rejects_every_modify(exchange_factory, node_factory):
    """Pre-validation may answer a batch of n with a single error (schemas/exchange.py): every modify is refused
    with that error and every order keeps its price, none left PENDING_UPDATE."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    orders = await three_resting_bids(live, strategy)
    answer_action_with(live, "batchModify", [ItemStatus(error="Insufficient margin to place order.")], reach_venue=False)
    bid, _ = touch(live)
    modify_back_to_back(live, strategy, orders, [bid - 15, bid - 35, bid - 55])
    for order in orders:
        kept = await outcome(live, order, OrderModifyRejected)
        assert kept.events[-1].reason == "Insufficient margin to place order."
        assert kept.status == OrderStatus.ACCEPTED and kept.price == order.price
    assert sorted(o.limit_px for o in live.venue_open_orders()) == sorted(o.price.as_decimal() for o in orders)


async def test_a_batch_modify_status_that_says_neither_oid_nor_error_is_looked_up_by_cloid(
    exchange_factory, node_factory
):
    """A status the client cannot read as a new leg or a refusal (a bare string) says nothing about the modify.
    The venue did replace the orders here: each is looked up by its cloid and updated to its new leg, where it
    used to be rejected as not applied, the node then holding the old price of an order the venue had moved."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    orders = await three_resting_bids(live, strategy)
    answer_action_with(live, "batchModify", ["waitingForFill"] * 3, reach_venue=True)
    live.exchange.faults.delay(0.5, channel="orderUpdates", count=None, seconds=5)  # the legs' news after the answer
    bid, _ = touch(live)
    prices = [bid - 15, bid - 35, bid - 55]
    modify_back_to_back(live, strategy, orders, prices)
    venue_oids = None
    for order, price in zip(orders, prices):
        updated = await outcome(live, order, OrderUpdated, timeout_s=10)
        venue_oids = venue_oids or {str(o.oid) for o in live.venue_open_orders()}
        assert updated.price.as_decimal() == price and updated.venue_order_id.value in venue_oids
    assert sorted(o.limit_px for o in live.venue_open_orders()) == sorted(prices)


async def test_a_refused_batch_modify_is_one_answer_for_the_kill_switch(exchange_factory, node_factory):
    """One error for the whole batch: every modify is refused at the one time the answer came, so the strategy's
    kill switch counts one refusal (``KillSwitch.on_error``), not one per order (each used to get its own time)."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    orders = await three_resting_bids(live, strategy)
    answer_action_with(live, "batchModify", [ItemStatus(error="Too many cumulative requests sent")], reach_venue=False)
    bid, _ = touch(live)
    modify_back_to_back(live, strategy, orders, [bid - 15, bid - 35, bid - 55])
    refusals = [(await outcome(live, order, OrderModifyRejected)).events[-1] for order in orders]
    assert len({event.ts_event for event in refusals}) == 1, [event.ts_event for event in refusals]
    # what the strategy's kill switch makes of them: one rate-limit error, within a limit of one
    switch = KillSwitch(RiskConfig(max_position=1.0, capital_usd=10_000.0, max_rate_limit_errors=1))
    for event in refusals:
        assert switch.on_error(event.ts_event, "rate_limit", refusal_answer(event, None)) == []


async def test_a_batch_modify_is_refused_by_the_exhausted_address_budget_as_orders_are(exchange_factory, node_factory):
    """With the address request budget used up the client refuses new orders itself (a limited address may send
    one action per 10 s); a modify counts on that budget as an order does and is refused the same way, in one
    answer, without reaching the venue. It used to be posted all the same."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    orders = await three_resting_bids(live, strategy)
    received = record_actions(live)
    client = live.exec_client
    client._budget.update(10_000, 10_000)
    client._budget_read_s = float("inf")  # no re-read from the venue during the test
    bid, _ = touch(live)
    modify_back_to_back(live, strategy, orders, [bid - 15, bid - 35, bid - 55])
    refusals = [(await outcome(live, order, OrderModifyRejected)).events[-1] for order in orders]
    assert all("request budget exhausted" in event.reason for event in refusals)
    assert len({event.ts_event for event in refusals}) == 1
    assert received == [], "nothing posted"
    assert sorted(o.limit_px for o in live.venue_open_orders()) == sorted(o.price.as_decimal() for o in orders)


async def test_a_lost_modify_answer_the_venue_executes_late_applies_the_new_legs(exchange_factory, node_factory):
    """The venue takes a batchModify but executes it 0.3 s later while the socket that posted it drops: the
    look-up right after the loss still shows the old legs. Rejected then, the late modify closed each order in the
    node (its old leg's CANCELED) while its new leg rested at the venue unmanaged (review). The look-up is now
    repeated after the grace an order gets, and the node ends on the venue's new legs."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    orders = [await rest_a_bid(live, strategy, 40 + 10 * i) for i in range(2)]
    live.exchange.faults.delay(0.3, action="batchModify", count=1)
    bid, _ = touch(live)
    prices = [bid - 15, bid - 25]
    modify_back_to_back(live, strategy, orders, prices)
    await asyncio.sleep(0.05)
    assert await live.exchange.drop_ws_connections(abrupt=True) >= 1
    for order, price in zip(orders, prices):
        updated = await outcome(live, order, OrderUpdated, timeout_s=15)
        assert updated.status == OrderStatus.ACCEPTED and updated.price.as_decimal() == price
    venue = {o.cloid: o for o in live.venue_open_orders()}
    for order in orders:
        resting = venue[cloid_of(live, order)]
        assert str(resting.oid) == live.node.cache.order(order.client_order_id).venue_order_id.value


async def news_of_another_leg_after_a_cancel(live, strategy, before_news=lambda: None):
    """A bid rested and cancelled, then stream news of another leg live under its cloid (a stray); waits for the
    client's cancel of it. ``before_news`` runs once the cancel settled. Returns the order and the actions the venue
    received from then on."""
    order = await rest_a_bid(live, strategy, 40)
    client = live.exec_client
    record = (await client._info.order_status(client.user, cloid_of(live, order))).order
    strategy.cancel_order(live.node.cache.order(order.client_order_id))
    await settled(live, order, OrderStatus.CANCELED)
    before_news()
    received = record_actions(live)
    other_leg = msgspec.structs.replace(record.order, oid=record.order.oid + 1_000_000)
    client._on_order_update(msgspec.structs.replace(record, order=other_leg, status="open"))
    await wait_for(lambda: any(a["type"] == "cancelByCloid" for a in received), 5, "the stray's cancel")
    return order, received


async def test_another_leg_live_at_the_venue_of_an_order_closed_by_venue_news_is_cancelled(
    exchange_factory, node_factory
):
    """News of a leg the node never saw, live under the cloid of an order venue news closed (a modify rejected as
    lost that the venue executed after all), is a stray: nothing manages it, so it is cancelled at the venue by
    cloid. It used to be taken for a resync's stale snapshot of the closed order and left resting."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    order, received = await news_of_another_leg_after_a_cancel(live, strategy)
    (cancel,) = [a for a in received if a["type"] == "cancelByCloid"]
    assert [c["cloid"] for c in cancel["cancels"]] == [cloid_of(live, order)]
    assert live.node.cache.order(order.client_order_id).status == OrderStatus.CANCELED


async def test_a_lost_modify_answer_whose_look_up_fails_at_first_ends_on_the_venues_new_leg(
    exchange_factory, node_factory
):
    """The venue executes the modify; its answer and the stream's news of the new leg are lost, and /info answers
    429 for 8 s, so the first look-up by cloid fails. The modify used to be rejected then, and the node kept the
    old leg's oid and price for good: the new leg's later news (a resync's open orders, the look-ups of the old oid
    gone from them) is an OPEN under the order's own cloid, which changed nothing. The look-up is now retried with
    its backoff until /info answers, and the node ends on the venue's new leg."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    order = await rest_a_bid(live, strategy, 40)
    faults = live.exchange.faults
    faults.drop(action="batchModify", phase="response", count=1)
    faults.drop(channel="orderUpdates", count=None, seconds=3)
    faults.http_429(seconds=8)
    bid, _ = touch(live)
    modify_back_to_back(live, strategy, [order], [bid - 25])
    await wait_for(lambda: live.exec_client._poster.inflight == 1, 2, "the modify posted")
    assert await live.exchange.drop_ws_connections(abrupt=True) >= 1  # its answer lost: the outcome is unknown
    (resting,) = live.venue_open_orders()
    assert resting.limit_px == bid - 25 and str(resting.oid) != order.venue_order_id.value, "the venue modified it"

    def node_on_the_new_leg() -> bool:
        cached = live.node.cache.order(order.client_order_id)
        return cached.venue_order_id.value == str(resting.oid) and cached.price.as_decimal() == bid - 25

    await wait_for(node_on_the_new_leg, 30, "the node on the venue's new leg")
    cached = live.node.cache.order(order.client_order_id)
    assert cached.status == OrderStatus.ACCEPTED
    assert not any(isinstance(event, OrderModifyRejected) for event in cached.events)
