"""The live node end to end: ``TradingNode`` + our Hyperliquid clients + the unchanged ``GLFTMarketMaker`` config
against the in-process local exchange replaying the real BTC hour at high speed.

What a trader needs to be true, checked against the venue's own records (not the node's view of itself):
quotes rest at the venue under our deterministic cloids, every venue fill reaches the node exactly once, the
node's position equals ``clearinghouseState``, a clean stop leaves nothing open and the dead-man switch cleared;
and the same holds when the user stream is cut while the replay crosses our orders and every frame of the gap
is lost. The CLI test runs ``run_live.py`` with ``--record`` and backtests the recording.
"""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal

from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from adapters.hyperliquid.actions import cloid_from_client_order_id
from adapters.hyperliquid.execution import RESYNC_ON_RECONNECT
from tests.conftest import REPO_ROOT
from tests.test_live_support import BTC_ID
from tests.test_live_support import LiveNode
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import live_settings
from tests.test_live_support import node_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for

USER_CHANNELS = ("orderUpdates", "userFills", "user")
REPLAY_SPEED = 20.0
# Test-only strategy settings: quote closer to the touch so the replay crosses our orders within seconds, and no
# same-side burst pause (at 20x replay a burst window of 2 s wall time spans 40 s of market).
FAST_FILLS = {
    "half_spread_mult": 0.2,
    "requote_tolerance_half_spread_frac": 1.0,  # orders rest until the mid moved a whole half-spread: more crossings
    "risk": {"min_spread_floor_bps": 1.5, "burst_events": 1000},
}


def node_fill_ids(live: LiveNode) -> list[str]:
    """Trade ids of every OrderFilled the node applied (duplicates would show up here twice)."""
    return [e.trade_id.value for o in live.node.cache.orders() for e in o.events if isinstance(e, OrderFilled)]


def venue_fill_ids(live: LiveNode) -> list[str]:
    return [str(fill["tid"]) for fill in live.account.fills]


async def assert_reconciled_with_venue(live: LiveNode) -> None:
    assert sorted(live.emitted_fill_ids) == sorted(venue_fill_ids(live)), "each venue fill emitted exactly once"
    assert sorted(node_fill_ids(live)) == sorted(venue_fill_ids(live)), "each venue fill applied exactly once"
    venue_szi = await live.clearinghouse_position()
    assert live.node_position() == venue_szi, "node position == clearinghouseState szi"
    positions = live.node.cache.positions(instrument_id=BTC_ID)
    assert sum((Decimal(str(p.signed_qty)) for p in positions if p.is_open), Decimal(0)) == venue_szi


def assert_clean_shutdown(live: LiveNode) -> None:
    assert live.venue_open_orders() == [], "nothing left open at the venue"
    assert live.account.schedule_cancel_ms is None, "dead-man switch cleared"
    assert live.node.cache.orders_open() == [], "nothing open in the node"


async def test_glft_quotes_fills_reconcile_and_shut_down_cleanly(exchange_factory, node_factory, tmp_path):
    exchange = await exchange_factory(speed=REPLAY_SPEED, schedule_cancel_min_volume_usd=0)  # the switch needs $1M traded live
    live = await node_factory(exchange, live_settings(**FAST_FILLS), record_path=tmp_path / "raw.gz")

    await wait_for(lambda: len(live.venue_open_orders()) >= 2, 15, "quotes resting at the venue")
    node_cloids = {cloid_from_client_order_id(o.client_order_id.value) for o in live.node.cache.orders_open()}
    assert {o.cloid for o in live.venue_open_orders()} & node_cloids, "venue orders carry the node's cloids"
    assert all(o.tif == "Alo" for o in live.venue_open_orders()), "post-only quotes go out as ALO"
    assert live.account.schedule_cancel_ms is not None, "dead-man switch armed while running"

    await wait_for(lambda: len(live.account.fills) >= 4, 40, "four fills at the venue")
    await wait_for(lambda: len(node_fill_ids(live)) == len(venue_fill_ids(live)), 5, "the node to see every fill")
    assert len(live.strategy.recorder.fills) >= 4, "fills reached the strategy"
    await live.stop()

    await assert_reconciled_with_venue(live)
    assert_clean_shutdown(live)
    assert live.data_client.malformed_frames == live.exec_client.malformed_frames == 0
    assert (tmp_path / "raw.gz").stat().st_size > 0, "the market feed was recorded"


async def test_a_batch_refused_for_its_request_budget_is_one_rate_limit_error(exchange_factory, node_factory):
    """An account without request budget: our client refuses every ``order`` batch with one answer, which rejects
    each of its orders. The kill switch's rate-limit rule (> 3 in 60 s → REDUCING) must count answers, not orders:
    it used to trip on the very first batch of four or more orders."""
    exchange = await exchange_factory(speed=REPLAY_SPEED, address_initial_buffer=0)
    live = await node_factory(exchange, live_settings())
    trips = lambda: [e for e in live.strategy.recorder.kill_events if e.trigger == "rate_limit" and not e.cleared]
    await wait_for(lambda: trips(), 30, "the rate-limit trip")
    refusals = [
        e for o in live.node.cache.orders() for e in o.events
        if isinstance(e, OrderRejected) and "request budget" in e.reason and e.ts_event <= trips()[0].ts_ns
    ]
    answers = {e.ts_event for e in refusals}
    assert len(refusals) > len(answers), "the batches held several orders each"
    assert len(answers) == 4, f"tripped after {len(answers)} refused answers ({len(refusals)} orders), not 4"
    assert trips()[0].detail == "4 rate_limit errors in the last 60 s > max 3"
    await live.stop()
    assert live.venue_open_orders() == []


async def test_fills_during_a_user_stream_gap_are_recovered_once(exchange_factory, node_factory):
    """Cut every socket while all user-stream frames are being lost (including the snapshot after the
    reconnect), with the replay crossing our quotes: only the REST resync can recover those fills."""
    exchange = await exchange_factory(speed=REPLAY_SPEED)
    live = await node_factory(exchange, live_settings(**FAST_FILLS))
    await wait_for(lambda: len(live.venue_open_orders()) >= 2, 15, "quotes resting at the venue")

    for channel in USER_CHANNELS:
        exchange.faults.drop(channel=channel, count=None, seconds=60)
    fills_before_gap = len(live.account.fills)
    await wait_for(lambda: len(live.account.fills) >= fills_before_gap + 2, 40, "two fills during the gap")

    await exchange.drop_ws_connections(abrupt=True)
    await wait_for(lambda: live.exec_client.resyncs[RESYNC_ON_RECONNECT] == 1, 15, "the post-reconnect resync")
    await wait_for(lambda: sorted(node_fill_ids(live)) == sorted(venue_fill_ids(live)), 10, "the gap's fills")
    exchange.faults.clear()
    assert live.data_client.ws.reconnects >= 1 and live.exec_client.ws.reconnects >= 1

    await live.stop()
    await assert_reconciled_with_venue(live)
    assert_clean_shutdown(live)


async def test_malformed_frames_are_skipped_and_the_node_keeps_trading(exchange_factory, node_factory):
    exchange = await exchange_factory(speed=REPLAY_SPEED)
    live = await node_factory(exchange, live_settings(**FAST_FILLS))
    await wait_for(lambda: len(live.venue_open_orders()) >= 2, 15, "quotes resting at the venue")
    junk = [
        "not json",
        '{"channel": 5}',
        '{"channel": "l2Book", "data": {"coin": "BTC"}}',
        '{"channel": "l2Book", "data": {"coin": "BTC", "time": 1, "levels": [[{"px": "-1", "sz": "1"}], []]}}',
        '{"channel": "trades", "data": {"not": "a list"}}',
        '{"channel": "somethingNew", "data": {}}',
    ]
    for frame in junk:
        live.data_client._on_frame(frame)
    for frame in (*junk, '{"channel": "orderUpdates", "data": [{"order": {}}]}', '{"channel": "userFills", "data": []}'):
        live.exec_client._on_frame(frame)
    assert live.data_client.malformed_frames == len(junk)
    assert live.exec_client.malformed_frames == len(junk) + 2

    fills, cycles = len(live.account.fills), live.strategy.quote_cycles
    await wait_for(lambda: live.strategy.quote_cycles > cycles + 50, 20, "the strategy to keep quoting")
    await wait_for(lambda: len(live.account.fills) > fills, 40, "fills after the bad frames")
    await live.stop()
    await assert_reconciled_with_venue(live)
    assert_clean_shutdown(live)


def test_run_live_cli_records_a_catalog_the_backtest_replays(tmp_path):
    """``run_live.py`` with no venue arguments (in-process local exchange), ``--record``, then ``run_backtest.py``
    on the recorded catalog: the live feed becomes the same kind of catalog the loaders write."""
    catalog, live_out, backtest_out = tmp_path / "catalog", tmp_path / "live", tmp_path / "backtest"
    live = subprocess.run(
        [sys.executable, "run_live.py", "--duration", "12", "--speed", "30", "--record", str(catalog), "--out", str(live_out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert live.returncode == 0, live.stdout[-3000:] + live.stderr[-3000:]
    assert "report:" in live.stdout and (live_out / "report.json").exists()
    # a pushed book that repeated the last one is a heartbeat in the catalog, as the catalog CLI writes it
    heartbeats = re.search(r"([\d,]+) heartbeats", live.stdout)
    assert heartbeats is not None and int(heartbeats.group(1).replace(",", "")) > 0, live.stdout[-2000:]
    data_types = set(ParquetDataCatalog(str(catalog)).list_data_types())
    assert {"order_book_deltas", "quote_tick", "crypto_perpetual"} <= data_types, data_types

    backtest = subprocess.run(
        [sys.executable, "run_backtest.py", "--catalog", str(catalog), "--out", str(backtest_out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert backtest.returncode == 0, backtest.stdout[-3000:] + backtest.stderr[-3000:]
    assert (backtest_out / "report.json").exists()

