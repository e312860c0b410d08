"""Recovery of the execution client from venue news that is lost, late, malformed or about orders the node has
already closed, against the local exchange under a real ``TradingNode`` (manual clock: the market moves only when
the test advances it). Every test asserts the venue's own state (open orders, fills, position) next to the node's.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderFilled

from adapters.hyperliquid.actions import cloid_from_client_order_id
from adapters.hyperliquid.local_exchange import test_account_address as funded_account_address
from adapters.hyperliquid.order_state import Canceled
from adapters.hyperliquid.constants import MISSING_ORDER_ERROR
from adapters.hyperliquid.schemas.exchange import ExchangeResponse
from adapters.hyperliquid.schemas.exchange import ItemStatus
from adapters.hyperliquid.schemas.exchange import ResponseBody
from adapters.hyperliquid.schemas.exchange import StatusesData
from adapters.hyperliquid.order_state import Filled
from adapters.hyperliquid.order_state import NewsKind
from mm_strategy.node_config import replace_venue_live
from tests.test_adapter_execution import MANUAL
from tests.test_adapter_execution import manual_node
from tests.test_adapter_execution import quote_the_touch
from tests.test_adapter_execution import record_actions
from tests.test_adapter_execution import rest_a_bid
from tests.test_adapter_execution import settled
from tests.test_adapter_execution import touch
from tests.test_batch_modify import answer_action_with
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import live_settings
from tests.test_live_support import node_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for
from tests.test_order_state import TS
from tests.test_order_state import fill as fill_news
from tests.test_order_state import news
from tests.test_order_state import order as order_state


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


async def test_a_fill_lost_on_a_live_stream_is_recovered_after_a_newer_fill_arrived(exchange_factory, node_factory):
    """Both frames of one fill are lost (no disconnect); a fill of another order > 2 s later (venue time) arrives.
    The overdue resync used to read from the newest fill seen minus 2 s, past the lost one, and then gave it up."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    quotes = await quote_the_touch(live, strategy)
    live.exchange.faults.drop(channel="userFills", count=1)
    live.exchange.faults.drop(channel="user", count=1)
    assert live.exchange.advance_until(lambda: len(live.account.fills) >= 1, 1800), "the replay crosses a quote"
    first = live.account.fills[0]
    [lost] = [o for o in quotes if cloid_from_client_order_id(o.client_order_id.value) == first["cloid"]]

    side = OrderSide.BUY if first["side"] == "B" else OrderSide.SELL
    bid, ask = touch(live)
    newer = strategy.limit(side, bid if side == OrderSide.BUY else ask)
    strategy.submit_order(newer)
    await settled(live, newer, OrderStatus.ACCEPTED)
    live.exchange.advance(5.0)
    assert live.exchange.advance_until(lambda: len(live.account.fills) >= 2, 1800), "a second fill"
    assert live.account.fills[1]["time"] - first["time"] > 2_000

    lost = await settled(live, lost, OrderStatus.FILLED, timeout_s=15)
    assert _filled_trade_ids(lost) == [str(first["tid"])]
    venue_fill_ids = sorted(str(fill["tid"]) for fill in live.account.fills)
    await wait_for(lambda: sorted(live.emitted_fill_ids) == venue_fill_ids, 5, "every venue fill, once")
    assert live.node_position() == await live.clearinghouse_position()


async def test_orders_the_venue_took_after_the_node_rejected_them_are_cancelled_there_and_their_fills_count(
    exchange_factory, node_factory
):
    """A batch is posted over WS; the socket dies before the answer and the venue executes the action only 4 s
    later, after the look-ups (with their grace) found no order: both orders are REJECTED in the node. The
    resting one used to stay at the venue, unmanaged until shutdown; the taker's fill must reach the position."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    bid, ask = touch(live)
    live.exchange.faults.delay(4.0, action="order", count=1)
    resting = strategy.limit(OrderSide.BUY, bid - 20)
    taker = strategy.limit(OrderSide.BUY, ask + 5, post_only=False, time_in_force=TimeInForce.IOC)
    strategy.submit_order_list(strategy.order_factory.create_list([resting, taker]))
    await asyncio.sleep(0.2)
    assert await live.exchange.drop_ws_connections(abrupt=True) >= 1
    for order in (resting, taker):
        await settled(live, order, OrderStatus.REJECTED, timeout_s=10)
    rejections = [live.node.cache.order(order.client_order_id).events[-1] for order in (resting, taker)]
    # one lost request: both rejected at the time its answer was lost, with its reason (one refusal for the kill
    # switch, KillSwitch.on_error); each used to get the time of its own look-up
    assert len({(event.ts_event, event.reason) for event in rejections}) == 1, rejections

    cloid = cloid_from_client_order_id(resting.client_order_id.value)
    await wait_for(lambda: len(live.account.fills) == 1, 10, "the venue to execute the late action")
    await wait_for(lambda: live.venue_open_orders() == [], 10, "the stray resting order cancelled at the venue")
    assert live.exchange.venue.find_order(funded_account_address(), cloid).status == "canceled"
    assert live.node.cache.order(resting.client_order_id).status == OrderStatus.REJECTED
    await wait_for(lambda: live.node_position() == Decimal("0.001"), 5, "the taker's fill in the node position")
    assert await live.clearinghouse_position() == Decimal("0.001")


async def test_a_lost_cancel_during_an_info_outage_is_confirmed_and_never_left_open_at_the_venue(
    exchange_factory, node_factory
):
    """The cancel never reaches the venue and /info answers 429 for 45 s, longer than Nautilus's in-flight
    check waits before it resolves the PENDING_CANCEL as CANCELED on its own. The order used to rest at the venue,
    closed in the node and unmanaged; the confirmation now retries until /info answers and cancels it there."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    order = await rest_a_bid(live, strategy, 30)
    live.exchange.faults.drop(action="cancelByCloid", phase="request", count=1)
    live.exchange.faults.http_429(seconds=45)
    strategy.cancel_order(order)
    await wait_for(lambda: live.venue_open_orders() == [], 75, "the order gone from the venue")
    cloid = cloid_from_client_order_id(order.client_order_id.value)
    assert live.exchange.venue.find_order(funded_account_address(), cloid).status == "canceled"
    await settled(live, order, OrderStatus.CANCELED)


async def test_orders_of_a_session_that_crashed_are_cancelled_when_the_next_one_connects(
    exchange_factory, node_factory
):
    """The process dies without its shutdown sweep and restarts within the dead-man window: the in-memory cache
    is gone, so its orders used to come back as EXTERNAL, unmanaged, kept alive by the new dead-man refreshes."""
    live = await crashed_with_two_orders(exchange_factory, node_factory)
    assert len(live.venue_open_orders()) == 2 and live.account.schedule_cancel_ms is not None

    received = record_actions(live)
    restarted = await node_factory(live.exchange, live_settings(strategy=MANUAL))
    assert restarted.venue_open_orders() == [], "cancelled on connect"
    kinds = [action["type"] for action in received]
    assert kinds.index("cancel") < kinds.index("scheduleCancel"), "before the dead-man switch is re-armed"
    await asyncio.sleep(0.5)
    assert restarted.node.cache.orders_open() == [], "nothing comes back as EXTERNAL"


async def test_orders_unknown_at_connect_are_kept_when_the_config_says_so(exchange_factory, node_factory):
    live = await crashed_with_two_orders(exchange_factory, node_factory)
    keep = replace_venue_live(live_settings(strategy=MANUAL), cancel_unknown_orders_on_connect=False)
    restarted = await node_factory(live.exchange, keep)
    assert len(restarted.venue_open_orders()) == 2, "kept at the venue"


async def crashed_with_two_orders(exchange_factory, node_factory):
    """A node with a bid and an ask resting, stopped as a crash stops it: sockets close, nothing is cancelled and
    the dead-man switch stays armed."""
    live, strategy = await manual_node(exchange_factory, node_factory, schedule_cancel_min_volume_usd=0)  # the switch needs $1M traded live
    bid, ask = touch(live)
    for order in (strategy.limit(OrderSide.BUY, bid - 30), strategy.limit(OrderSide.SELL, ask + 30)):
        strategy.submit_order(order)
        await settled(live, order, OrderStatus.ACCEPTED)
    client = live.exec_client

    async def crash() -> None:
        client._stopping.set()
        await client.ws.disconnect()

    client._disconnect = crash
    await live.stop()
    return live


# -- the order-state rules behind the stray cancels ---------------------------------------------------------------


def test_an_order_rejected_as_never_placed_stays_rejected_whatever_the_venue_reports_later():
    state = order_state()
    state.on_not_placed("not placed: connection lost", TS)
    assert state.not_placed
    assert state.on_news(news(NewsKind.OPEN), now_s=0.0) == [], "no ACCEPTED after REJECTED: the caller cancels it"
    late = fill_news("0.4", "t1")
    assert state.on_fill(late) == [Filled(late)], "its fill still counts"
    assert state.on_news(news(NewsKind.CANCELED, leg_filled="0.4"), now_s=0.0) == [] and state.not_placed


def test_an_order_the_node_closed_emits_no_second_cancel_unless_a_fill_reopened_it():
    state = order_state(accepted=True)
    state.closed_by_node()
    assert state.on_news(news(NewsKind.CANCELED), now_s=0.0) == [], "Nautilus cancelled it already"

    reopened = order_state(accepted=True)
    reopened.closed_by_node()
    late = fill_news("0.4", "t1")
    assert reopened.on_fill(late) == [Filled(late)] and not reopened.terminal, "CANCELED -> PARTIALLY_FILLED"
    assert reopened.on_news(news(NewsKind.CANCELED, leg_filled="0.4"), now_s=0.0) == [Canceled(TS)]


async def test_an_order_status_naming_neither_oid_nor_error_is_looked_up_at_once(exchange_factory, node_factory):
    """The venue placed the order but answered with a status that is neither a resting/filled oid nor an error
    (a bare string): the client looks the order up by its cloid at once. It used to log the status and leave the
    order SUBMITTED until the stream's news or Nautilus's in-flight check (5 s) came."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    answer_action_with(live, "order", ["waitingForFill"], reach_venue=True)
    live.exchange.faults.delay(5.0, channel="orderUpdates", count=None, seconds=10)  # no news to fall back on
    bid, _ = touch(live)
    order = strategy.limit(OrderSide.BUY, bid - 30)
    strategy.submit_order(order)
    accepted = await settled(live, order, OrderStatus.ACCEPTED, timeout_s=2)
    [resting] = live.venue_open_orders()
    assert accepted.venue_order_id.value == str(resting.oid) and resting.limit_px == bid - 30


def answer_with_first_status_only(live, action_type: str) -> None:
    """The venue executes the client's next ``action_type`` action, but its answer keeps only the first item's
    status (a truncated answer that is not pre-validation's one error for the whole batch)."""
    exchange = live.exec_client._exchange
    post = exchange.post

    async def truncated(action, batch_length=1, on_sent=None):
        response = await post(action, batch_length, on_sent)
        if action["type"] != action_type:
            return response
        exchange.post = post  # once
        return ExchangeResponse("ok", ResponseBody(response.response.type, StatusesData(response.statuses()[:1])))

    exchange.post = truncated


async def test_orders_an_answer_has_no_status_for_are_looked_up_not_rejected(exchange_factory, node_factory):
    """Three orders placed by the venue, the answer naming only the first: the other two are looked up by cloid
    and accepted. They used to be rejected with the first's success as the batch's 'error', then found resting at
    the venue and cancelled there as strays: two requests and a quote lost."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    received = record_actions(live)
    live.exchange.faults.delay(5.0, channel="orderUpdates", count=None, seconds=10)  # no news to fall back on
    answer_with_first_status_only(live, "order")
    bid, _ = touch(live)
    orders = [strategy.limit(OrderSide.BUY, bid - 30 - 10 * i) for i in range(3)]
    strategy.submit_order_list(strategy.order_factory.create_list(orders))
    for order in orders:
        await settled(live, order, OrderStatus.ACCEPTED, timeout_s=4)
    venue_oids = {str(o.oid) for o in live.venue_open_orders()}
    assert {live.node.cache.order(o.client_order_id).venue_order_id.value for o in orders} == venue_oids
    await asyncio.sleep(0.5)
    assert [a["type"] for a in received] == ["order"], "no stray cancels"


async def test_cancels_an_answer_has_no_status_for_are_confirmed_from_the_venue(exchange_factory, node_factory):
    """Two cancels executed by the venue, the answer naming only the first: the second order's record at the
    venue says it is cancelled. It used to get a cancel rejection ('no answer for this cancel') for a cancel that
    happened, and stay open in the node until the stream's news."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    orders = [await rest_a_bid(live, strategy, 40 + 10 * i) for i in range(2)]
    live.exchange.faults.delay(5.0, channel="orderUpdates", count=None, seconds=10)  # no news to fall back on
    answer_with_first_status_only(live, "cancelByCloid")
    strategy.cancel_orders([live.node.cache.order(o.client_order_id) for o in orders])
    for order in orders:
        cancelled = await settled(live, order, OrderStatus.CANCELED, timeout_s=4)
        assert not any(type(e).__name__ == "OrderCancelRejected" for e in cancelled.events)
    assert live.venue_open_orders() == []


async def test_an_empty_answer_to_an_order_batch_is_looked_up_not_rejected(exchange_factory, node_factory):
    """No status at all is no refusal: the venue placed both orders, and the look-ups find them. They used to be
    rejected ('empty answer'), then cancelled at the venue as strays."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    live.exchange.faults.delay(5.0, channel="orderUpdates", count=None, seconds=10)  # no news to fall back on
    answer_action_with(live, "order", [], reach_venue=True)
    bid, _ = touch(live)
    orders = [strategy.limit(OrderSide.BUY, bid - 30 - 10 * i) for i in range(2)]
    strategy.submit_order_list(strategy.order_factory.create_list(orders))
    for order in orders:
        await settled(live, order, OrderStatus.ACCEPTED, timeout_s=4)
    assert len(live.venue_open_orders()) == 2


async def test_one_missing_order_status_for_a_cancel_batch_is_confirmed_per_order(exchange_factory, node_factory):
    """A batch of cancels answered with one 'never placed, already canceled, or filled' status: that error names an
    order, not the batch, so each order is settled from the venue's record (both cancelled here), not every cancel
    refused as one batch error."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    orders = [await rest_a_bid(live, strategy, 40 + 10 * i) for i in range(2)]
    live.exchange.faults.delay(5.0, channel="orderUpdates", count=None, seconds=10)  # no news to fall back on
    answer_action_with(live, "cancelByCloid", [ItemStatus(error=MISSING_ORDER_ERROR)], reach_venue=True)
    strategy.cancel_orders([live.node.cache.order(o.client_order_id) for o in orders])
    for order in orders:
        cancelled = await settled(live, order, OrderStatus.CANCELED, timeout_s=4)
        assert not any(type(e).__name__ == "OrderCancelRejected" for e in cancelled.events)
