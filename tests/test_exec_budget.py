"""The execution client's address request budget (Hyperliquid's address-based rate limit) against the local
exchange under a real ``TradingNode`` (manual clock: the market holds still).

The venue keeps one count per address, ``nRequestsUsed`` (``userRateLimit``): every action it executes adds its
batch length (orders, cancels or modifies; 1 for any other action), and cancels are only held to a higher cap
(``min(cap + 100000, 2 * cap)``). Between two reads the client keeps its own copy of that count, which must follow
the same rule: each test compares the two after the case it covers, with the client's periodic re-read held off so
that the copy cannot be corrected behind the test's back.
"""

from __future__ import annotations

import asyncio
import time

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.events import OrderCancelRejected

from adapters.hyperliquid.execution import BUDGET_REREAD_LIMITED_S
from adapters.hyperliquid.local_exchange.ratelimit import address_cap
from tests.test_adapter_execution import MANUAL
from tests.test_adapter_execution import manual_node
from tests.test_adapter_execution import record_actions
from tests.test_adapter_execution import rest_a_bid
from tests.test_adapter_execution import settled
from tests.test_adapter_execution import touch
from tests.test_batch_modify import news_of_another_leg_after_a_cancel
from tests.test_exec_recovery import crashed_with_two_orders
from tests.test_live_support import LiveNode
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import live_settings
from tests.test_live_support import node_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for


def align_counts(live: LiveNode) -> None:
    """Set the client's copy to the venue's count, as a read does, and hold off every read from now on (periodic
    or after a refusal): the copy then stands alone."""
    budget = live.exec_client._budget
    budget.update(live.account.n_requests_used, budget.cap)
    live.exec_client._budget_read_s = float("inf")


def counts(live: LiveNode) -> tuple[int, int]:
    """(the client's count, the venue's ``nRequestsUsed``)."""
    return live.exec_client._budget.used, live.account.n_requests_used


async def counts_agree(live: LiveNode, what: str) -> None:
    await wait_for(lambda: counts(live)[0] == counts(live)[1], 3, f"the counts to agree after {what}: {counts(live)}")


# -- no order held INITIALIZED across the budget's re-read ---------------------------------------------------------


async def test_orders_refused_by_an_exhausted_budget_are_never_held_initialized_across_its_re_read(
    exchange_factory, node_factory
):
    """The client's count says exhausted, a re-read is due, and the venue's answer to it is slow. The order list
    used to stay INITIALIZED for the whole read (no OrderSubmitted yet), and a strategy skips INITIALIZED orders
    when it pulls its quotes, so a pull then was lost and the orders could go out after it. Now the list is refused
    at once from the count held, the re-read runs in the background (one, however many refusals meanwhile), and the
    next list after it goes out with the venue's fresh count."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    client = live.exec_client
    read_started, answer = asyncio.Event(), asyncio.Event()
    reads = []
    read = client._info.user_rate_limit

    async def slow_read(user: str):
        reads.append(user)
        read_started.set()
        await answer.wait()
        return await read(user)

    client._info.user_rate_limit = slow_read
    cap = client._budget.cap
    client._budget.update(cap, cap)  # the client's copy: exhausted; the venue's count: nearly nothing used
    # due for the re-read after a refusal (10 s), not yet for the periodic one (account_refresh_secs = 30 s)
    client._budget_read_s = time.monotonic() - BUDGET_REREAD_LIMITED_S - 1
    received = record_actions(live)
    bid, ask = touch(live)

    def submit_list(depth: int) -> list:
        orders = [strategy.limit(OrderSide.BUY, bid - depth), strategy.limit(OrderSide.SELL, ask + depth)]
        strategy.submit_order_list(strategy.order_factory.create_list(orders))
        return orders

    def status(order) -> OrderStatus:
        return live.node.cache.order(order.client_order_id).status

    first = submit_list(40)
    await asyncio.wait_for(read_started.wait(), 5)
    await wait_for(lambda: all(status(o) != OrderStatus.INITIALIZED for o in first), 2, "the list out of INITIALIZED")
    assert not answer.is_set(), "decided while the re-read was still waiting for its answer"
    for order in first:
        refused = await settled(live, order, OrderStatus.REJECTED)
        assert "request budget exhausted" in refused.events[-1].reason
    second = submit_list(50)
    for order in second:
        await settled(live, order, OrderStatus.REJECTED)
    assert len(reads) == 1, "one re-read in flight, whatever the refusals meanwhile"
    assert received == [], "nothing posted"

    answer.set()
    await wait_for(lambda: client._budget.allows(2), 5, "the fresh count")
    for order in submit_list(60):
        await settled(live, order, OrderStatus.ACCEPTED)
    assert len(reads) == 1


# -- the client's count follows the venue's between reads -------------------------------------------------------


async def test_an_order_batch_whose_answer_was_lost_counts_as_the_venue_counts_it(exchange_factory, node_factory):
    """The venue executed the batch and its answer was lost (outcome unknown once the socket that posted it
    drops): it counts at the venue. The client used to count only answered actions."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    align_counts(live)
    live.exchange.faults.drop(action="order", phase="response", count=1)
    await rest_a_bid(live, strategy, 40)  # accepted from the stream's news, its post still waiting for an answer
    assert live.exec_client._poster.inflight == 1
    assert await live.exchange.drop_ws_connections(abrupt=True) >= 1
    await wait_for(lambda: live.exec_client._poster.inflight == 0, 5, "the post's outcome unknown")
    await counts_agree(live, "a lost answer")


async def test_a_stray_cancel_counts_as_the_venue_counts_it(exchange_factory, node_factory):
    """An order the node closed shows live at the venue under another leg: the client cancels it there by cloid
    (``_check_stray``). That cancel used to be left out of the client's count."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    await news_of_another_leg_after_a_cancel(live, strategy, before_news=lambda: align_counts(live))
    await counts_agree(live, "the stray's cancel")


async def test_the_cancels_and_dead_man_switch_of_a_connect_count_as_the_venue_counts_them(
    exchange_factory, node_factory
):
    """On connect the client reads the venue's count, then cancels the orders a crashed session left and arms the
    dead-man switch (``scheduleCancel``): both used to be left out of its count."""
    crashed = await crashed_with_two_orders(exchange_factory, node_factory)
    received = record_actions(crashed)
    restarted = await node_factory(crashed.exchange, live_settings(strategy=MANUAL))
    restarted.exec_client._budget_read_s = float("inf")  # the copy as the connect left it
    await wait_for(lambda: "scheduleCancel" in [a["type"] for a in received], 5, "the dead-man switch armed")
    assert "cancel" in [a["type"] for a in received]
    await counts_agree(restarted, "the connect's cancels and scheduleCancel")


async def test_the_shutdown_sweep_counts_as_the_venue_counts_it(exchange_factory, node_factory):
    """A clean stop cancels every open order at the venue and clears the dead-man switch: both count there."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    for depth in (40, 50):
        await rest_a_bid(live, strategy, depth)
    align_counts(live)
    received = record_actions(live)
    await live.stop()
    assert [a["type"] for a in received].count("cancel") == 1 and live.venue_open_orders() == []
    assert counts(live)[0] == counts(live)[1], counts(live)


async def test_a_cancel_refused_for_the_address_limit_does_not_count(exchange_factory, node_factory):
    """Past even the cancels' cap, within the 10 s of a limited address's last action, the venue refuses a cancel
    without executing it: its count stays. The client used to count the refused cancel all the same."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    order = await rest_a_bid(live, strategy, 40)
    account = live.account
    cancel_cap = address_cap(account, live.exchange.config.address_initial_buffer, "cancel")
    account.n_requests_used = cancel_cap
    account.limited_last_ms = live.exchange.venue.clock.now_ms()  # the manual clock holds: limited throughout
    align_counts(live)
    strategy.cancel_order(live.node.cache.order(order.client_order_id))
    is_refused = lambda: any(isinstance(e, OrderCancelRejected) for e in live.node.cache.order(order.client_order_id).events)
    await wait_for(is_refused, 5, "the cancel refused")
    assert "Too many cumulative requests" in live.node.cache.order(order.client_order_id).events[-1].reason
    await counts_agree(live, "the refused cancel")
    assert counts(live) == (cancel_cap, cancel_cap)
