"""The kill switch's pulls and halts on a live node against the local exchange (replaying the real BTC hour): what
rests at the venue is what counts, not what the node believes."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from adapters.hyperliquid.data import DISCONNECT_GRACE_S
from tests.test_live_support import BTC_ID
from tests.test_live_support import exchange_factory  # noqa: F401
from tests.test_live_support import live_settings
from tests.test_live_support import node_factory  # noqa: F401
from tests.test_live_support import wait_for


async def test_a_halt_cancels_even_when_the_state_file_cannot_be_written(exchange_factory, node_factory, tmp_path):
    """The state file was written before the cancels, and a write that raised (full or read-only disk) stopped the
    handler and every risk tick before them: 4–6 quotes stayed at the venue through a halt."""
    not_a_dir = tmp_path / "not_a_dir"
    not_a_dir.write_text("")  # every save under it raises, as on a disk that refuses writes
    exchange = await exchange_factory(speed=1.0)
    live = await node_factory(exchange, live_settings(state_path=str(not_a_dir / "kill_switch.json")))
    await wait_for(lambda: len(live.venue_open_orders()) >= 2, 20, "quotes resting")
    live.strategy.manual_halt("desk")
    await wait_for(lambda: live.venue_open_orders() == [], 5, "the halt's cancels at the venue")
    await live.stop()  # the save at the stop is logged, not raised out of the node's stop


async def test_a_venue_whose_books_lag_8_s_gets_its_quotes_pulled(exchange_factory, node_factory):
    """Books that keep arriving at the usual cadence but were made 8 s earlier at the venue: the switch measured
    their age on arrival and stayed ACTIVE (review: 20 quote cycles and 6 resting orders on such books)."""
    exchange = await exchange_factory(speed=1.0)
    live = await node_factory(exchange, live_settings())
    await wait_for(lambda: len(live.venue_open_orders()) >= 2, 20, "quotes resting")
    exchange.faults.delay(8.0, channel="l2Book", count=None, seconds=60)
    await wait_for(lambda: live.data_client.lagging_books >= 6, 25, "lagging books applied")
    book = live.node.cache.order_book(BTC_ID)
    age_s = (live.node.kernel.clock.timestamp_ns() - book.ts_event) / 1e9
    assert age_s > 5.0, age_s
    assert live.strategy.kill_switch.pull_quotes, f"quoting on a book {age_s:.1f} s old"
    await wait_for(lambda: live.venue_open_orders() == [], 2, "the pull's cancels at the venue")
    await live.stop()


async def test_quotes_submitted_after_a_halt_are_cancelled_without_waiting_for_a_risk_tick(
    exchange_factory, node_factory
):
    """A halt tripped between an order's creation and its submission: the halt's cancel skips INITIALIZED orders
    (live, it could overtake the submit), so the order rested until the next risk tick; with no books flowing and a
    30 s tick, it rested on."""
    exchange = await exchange_factory(speed=1.0)
    live = await node_factory(exchange, live_settings(risk_check_interval_s=30.0))
    await wait_for(lambda: len(live.venue_open_orders()) >= 2, 20, "quotes resting")
    strategy = live.strategy
    strategy.manual_halt("clear the book")
    await wait_for(lambda: live.venue_open_orders() == [], 10, "the first halt's cancels")
    strategy.manual_resume()
    submit, halted_at = strategy._submit, []

    def submit_then_halt(orders):
        submit(orders)
        if orders and not halted_at:
            halted_at.append(time.monotonic())
            strategy.manual_halt("halt with orders still queued to the engines")
            strategy.on_order_book_deltas = lambda deltas: None  # no book-driven cycle: a dead feed

    strategy._submit = submit_then_halt
    await wait_for(lambda: halted_at, 20, "a cycle that places orders")
    await asyncio.sleep(1.0)
    assert live.venue_open_orders() == []
    await live.stop()


async def test_a_lost_market_socket_empties_the_book_and_pulls_quotes_at_once(exchange_factory, node_factory):
    """Reconnects refused for seconds: the node kept the last book, and its quotes rested on it until the 5 s
    stale pull (review: 6 quotes for 6 s). Emptied once the socket has stayed down for the grace, the book is invalid
    to the kill switch at once; the first book after the reconnect is emitted whole and quoting resumes."""
    exchange = await exchange_factory(speed=1.0)
    live = await node_factory(exchange, live_settings())
    await wait_for(lambda: len(live.venue_open_orders()) >= 2, 20, "quotes resting")
    ws = live.data_client.ws
    reopen = ws._open

    async def refused():
        raise aiohttp.ClientConnectionError("market ws endpoint down")

    ws._open = refused
    lost_at = time.monotonic()
    await ws._ws.close()
    await wait_for(lambda: live.venue_open_orders() == [], 3, "quotes pulled after the grace")
    assert DISCONNECT_GRACE_S <= time.monotonic() - lost_at < 3.0  # the stale pull would take 5 s
    assert live.strategy.kill_switch.pull_quotes
    assert live.node.cache.order_book(BTC_ID).best_bid_price() is None
    ws._open = reopen
    await wait_for(lambda: len(live.venue_open_orders()) >= 2, 20, "quoting again after the reconnect")
    await live.stop()


async def test_a_market_socket_back_within_the_grace_keeps_the_quotes(exchange_factory, node_factory):
    """A quick reconnect (the common case) costs no cancel and re-placement of every quote."""
    exchange = await exchange_factory(speed=1.0)
    live = await node_factory(exchange, live_settings())
    await wait_for(lambda: len(live.venue_open_orders()) >= 2, 20, "quotes resting")
    reconnects = live.data_client.ws.reconnects
    await live.data_client.ws._ws.close()
    await wait_for(lambda: live.data_client.ws.reconnects > reconnects, 5, "the market socket back")
    await asyncio.sleep(DISCONNECT_GRACE_S + 0.5)
    kinds = [str(e.trigger) for e in live.strategy.recorder.kill_events]
    assert "crossed_book" not in kinds, kinds
    await live.stop()
