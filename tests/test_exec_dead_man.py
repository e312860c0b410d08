"""The venue's dead-man switch (``scheduleCancel``) under a node whose cancels stop working, against the local
exchange under a real ``TradingNode`` (real-time clock: the switch is the venue's timer).

Review: with ``cancelByCloid`` requests lost while every other action still worked, a halted node kept its 6 quotes
resting for 22 s and refreshed the switch halfway through, postponing the very backstop that would have cancelled
them. The execution client now stops refreshing while a cancel it asked for stays unconfirmed and brings the
deadline forward to the venue's minimum; once its cancels are confirmed again (here: the venue's cancel emptied
the book) the refresh resumes.
"""

from __future__ import annotations

import asyncio
import time

from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.events import OrderCancelRejected

from adapters.hyperliquid.constants import MIN_DEAD_MAN_SWITCH_SECS
from adapters.hyperliquid.execution import CANCEL_UNCONFIRMED_S
from adapters.hyperliquid.execution import DEAD_MAN_CHECK_PERIOD_S
from adapters.hyperliquid.execution import DEAD_MAN_LEAD_MARGIN_S
from adapters.hyperliquid.schemas.exchange import ItemStatus
from tests.test_adapter_execution import manual_node
from tests.test_adapter_execution import rest_a_bid
from tests.test_adapter_execution import settled
from tests.test_batch_modify import answer_action_with
from tests.test_live_support import BTC_ID
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import live_settings
from tests.test_live_support import node_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for

# Slack for the event loop and the venue's timer on a shared 2-core machine.
_SLACK_S = 1.5
# From the halt to the venue's cancel: the cancel's grace, one check of the client, the venue's minimum lead.
_VENUE_CANCEL_BY_S = CANCEL_UNCONFIRMED_S + DEAD_MAN_CHECK_PERIOD_S + MIN_DEAD_MAN_SWITCH_SECS + DEAD_MAN_LEAD_MARGIN_S


async def _quoting_node(exchange_factory, node_factory):
    exchange = await exchange_factory(speed=1.0, schedule_cancel_min_volume_usd=0)  # the switch needs $1M traded live
    live = await node_factory(exchange, live_settings())
    await wait_for(lambda: len(live.venue_open_orders()) >= 2, 20, "quotes resting")
    await wait_for(lambda: live.account.schedule_cancel_ms is not None, 5, "the dead-man switch armed")
    return exchange, live


async def _deadlines_until(live, done, timeout_s: float) -> tuple[list[int], float]:
    """The venue's deadlines seen (every 20 ms) until ``done()`` holds, and how long that took."""
    t0 = time.monotonic()
    seen: list[int] = []
    while not done() and time.monotonic() - t0 < timeout_s:
        if live.account.schedule_cancel_ms is not None and live.account.schedule_cancel_ms not in seen:
            seen.append(live.account.schedule_cancel_ms)
        await asyncio.sleep(0.02)
    return seen, time.monotonic() - t0


async def test_a_halt_whose_cancels_are_lost_lets_the_venue_cancel_at_its_minimum_and_never_postpones_it(
    exchange_factory, node_factory
):
    exchange, live = await _quoting_node(exchange_factory, node_factory)
    exchange.faults.drop(action="cancelByCloid", phase="request", count=None, seconds=40)
    live.strategy.manual_halt("desk: stop")

    deadlines, elapsed_s = await _deadlines_until(live, lambda: not live.venue_open_orders(), 30)

    assert not live.venue_open_orders(), f"{len(live.venue_open_orders())} orders still open after {elapsed_s:.1f} s"
    assert elapsed_s <= _VENUE_CANCEL_BY_S + _SLACK_S, f"the venue cancelled after {elapsed_s:.1f} s"
    assert deadlines == sorted(deadlines, reverse=True), f"deadline moved later during the outage: {deadlines}"
    # The venue's cancel closed every order the node wanted gone: its cancels are settled, so refreshing resumes
    # (cancels still lost: nothing else confirms them) and the switch is again a full window ahead.
    window_ms = int(live.exec_client._config.dead_man_switch_secs * 1000)
    await wait_for(
        lambda: (live.account.schedule_cancel_ms or 0) > exchange.clock.now_ms() + window_ms // 2,
        DEAD_MAN_CHECK_PERIOD_S + MIN_DEAD_MAN_SWITCH_SECS + 5,
        "the dead-man switch refreshed again",
    )


async def test_a_halt_whose_cancels_work_never_brings_the_switch_forward(exchange_factory, node_factory):
    """Normal operation: cancels confirmed within a second leave the switch a full window ahead."""
    exchange, live = await _quoting_node(exchange_factory, node_factory)
    live.strategy.manual_halt("desk: stop")
    await wait_for(lambda: not live.venue_open_orders(), 5, "the halt's cancels")
    window_ms = int(live.exec_client._config.dead_man_switch_secs * 1000)
    t0 = time.monotonic()
    while time.monotonic() - t0 < CANCEL_UNCONFIRMED_S + 2 * DEAD_MAN_CHECK_PERIOD_S + 1:
        ahead_ms = live.account.schedule_cancel_ms - exchange.clock.now_ms()
        assert ahead_ms > window_ms // 2, f"the switch was brought forward to {ahead_ms} ms"
        await asyncio.sleep(0.1)


async def test_an_order_modified_after_its_cancel_was_refused_no_longer_holds_the_switch(
    exchange_factory, node_factory
):
    """A refused cancel starts the clock, but a modify of the same order says the node wants it live after all:
    the switch keeps its refreshed deadline and the venue keeps the order (manual clock: the deadline is compared
    with the one set before, not with the venue's time)."""
    live, strategy = await manual_node(exchange_factory, node_factory, schedule_cancel_min_volume_usd=0)
    order = await rest_a_bid(live, strategy, below=50)
    await wait_for(lambda: live.account.schedule_cancel_ms is not None, 5, "the dead-man switch armed")
    armed_ms = live.account.schedule_cancel_ms
    answer_action_with(live, "cancelByCloid", [ItemStatus(error="Cancel refused (test)")], reach_venue=False)
    strategy.cancel_order(order)
    await wait_for(
        lambda: any(isinstance(e, OrderCancelRejected) for e in live.node.cache.order(order.client_order_id).events),
        5,
        "the cancel refused",
    )
    order = await settled(live, order, OrderStatus.ACCEPTED)
    instrument = live.node.cache.instrument(BTC_ID)
    new_price = instrument.make_price(order.price.as_double() - 1)
    strategy.modify_order(order, price=new_price)
    await wait_for(lambda: live.node.cache.order(order.client_order_id).price == new_price, 5, "the modify")
    await asyncio.sleep(CANCEL_UNCONFIRMED_S + 2 * DEAD_MAN_CHECK_PERIOD_S + 0.5)
    assert live.account.schedule_cancel_ms >= armed_ms, "the switch was brought forward for an order kept live"
    assert len(live.venue_open_orders()) == 1
