"""The data client and its WebSocket under bad frames and dead sockets (issue 12, defects 4, 7, 8 and 10).

Bad frames are real frames of the local exchange (which replays the bundled hour) with one field spoiled, fed to
the client's frame handler exactly as the socket would; every one must be counted as malformed and must cost
nothing that comes after it.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import msgspec
from nautilus_trader.common.component import Logger
from nautilus_trader.data.messages import SubscribeFundingRates
from nautilus_trader.data.messages import SubscribeMarkPrices
from nautilus_trader.data.messages import SubscribeOrderBook
from nautilus_trader.data.messages import SubscribeQuoteTicks
from nautilus_trader.data.messages import SubscribeTradeTicks
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import BookAction

from adapters.hyperliquid import loaders
from adapters.hyperliquid.book_diff import SnapshotDiffer
from adapters.hyperliquid.local_exchange.ws import book_wire
from adapters.hyperliquid.meta import default_instrument
from adapters.hyperliquid.schemas.market import L2Book
from adapters.hyperliquid.websocket.client import HyperliquidWebSocketClient
from tests.test_adapter_data import Harness
from tests.test_adapter_data import harness_factory  # noqa: F401  (fixture)
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for

DAY_MS = 86_400_000


def current_book_frame(harness: Harness) -> dict[str, Any]:
    """The frame the venue would push now for BTC's book (real levels from the replayed hour)."""
    book = harness.exchange.venue.markets["BTC"].book
    return {"channel": "l2Book", "data": book_wire(book, None, None, 20)}


def spoiled(frame: dict[str, Any], path: tuple, value: Any) -> str:
    bad = copy.deepcopy(frame)
    target = bad
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(bad)


async def book_started(harness: Harness) -> None:
    await harness.subscribe(SubscribeOrderBook)
    await wait_for(lambda: len(harness.book_batches()) == 1, 5, "the first snapshot")


async def test_a_future_time_is_malformed_and_does_not_freeze_the_book(harness_factory):
    """Defect 4: ``time`` = now + 11.6 days set the stream's last venue time; 0 of the next 20 frames applied."""
    harness = await harness_factory()
    await book_started(harness)
    frame = current_book_frame(harness)
    future_ms = frame["data"]["time"] + int(11.6 * DAY_MS)
    harness.client._on_frame(spoiled(frame, ("data", "time"), future_ms))
    assert harness.client.malformed_frames == 1
    before = len(harness.book_batches())
    harness.exchange.step(20)
    await wait_for(lambda: len(harness.book_batches()) > before + 10, 5, "the next real snapshots")


async def test_the_watchdog_measures_the_last_applied_frame(harness_factory):
    """Defect 4: frames that arrive but are not applied (here: stale venue time) used to keep the watchdog quiet."""
    harness = await harness_factory(config_overrides={"book_stale_secs": 0.4})
    await book_started(harness)
    stale = spoiled(current_book_frame(harness), ("data", "time"), 1)
    for _ in range(12):  # 1.2 s of frames the stream drops, three times the staleness limit
        harness.client._on_frame(stale)
        await asyncio.sleep(0.1)
    assert harness.client.stale_resubscribes >= 1


async def test_a_stale_frame_with_a_bad_level_is_malformed_not_merely_stale(harness_factory):
    """The live differ parses only changed levels, after the staleness check: a stale frame is still read whole."""
    harness = await harness_factory()
    await book_started(harness)
    stale = current_book_frame(harness)
    stale["data"]["time"] = 1
    harness.client._on_frame(spoiled(stale, ("data", "levels", 0, 0, "px"), "nan"))
    assert harness.client.malformed_frames == 1
    harness.client._on_frame(json.dumps(stale))
    assert harness.client.malformed_frames == 1


async def test_frames_that_raise_anything_are_counted_malformed(harness_factory):
    """Defect 7: OverflowError (bbo ``time`` -1), decimal.InvalidOperation (``funding`` "") and RecursionError
    escaped the malformed-frame handling and were caught one level up, uncounted."""
    harness = await harness_factory()
    await book_started(harness)
    for command in (SubscribeQuoteTicks, SubscribeFundingRates, SubscribeMarkPrices, SubscribeTradeTicks):
        await harness.subscribe(command)
    await wait_for(lambda: harness.of(QuoteTick) and harness.of(FundingRateUpdate), 5, "bbo and asset context")
    market = harness.exchange.venue.markets["BTC"]
    bbo = {"channel": "bbo", "data": {"coin": "BTC", "time": market.book.time_ms, "bbo": market.book.bbo_wire()}}
    ctx = {"channel": "activeAssetCtx", "data": {"coin": "BTC", "ctx": harness.exchange.venue.asset_ctx(market)}}
    deep = 100_000
    bad_frames = [
        spoiled(bbo, ("data", "time"), -1),
        spoiled(ctx, ("data", "ctx", "funding"), ""),
        spoiled(ctx, ("data", "ctx", "markPx"), "nan"),
        '{"channel": "l2Book", "data": ' + "[" * deep + "]" * deep + "}",
        "[" * deep + "]" * deep,
        spoiled(current_book_frame(harness), ("data", "time"), -5),
        json.dumps(
            {"channel": "trades", "data": [{"coin": "BTC", "side": "B", "px": "1", "sz": "1", "time": -1, "tid": 1}]}
        ),
    ]
    for frame in bad_frames:
        harness.client._on_frame(frame)
    assert harness.client.malformed_frames == len(bad_frames)


async def test_an_unrepresentable_level_costs_only_its_own_frame(harness_factory):
    """Defect 8: a level priced 1e20 or inf was stored before the deltas were built, so the next valid snapshot
    was diffed against it and failed too (its DELETE of the bad level cannot be built either)."""
    harness = await harness_factory()
    await book_started(harness)
    frame = current_book_frame(harness)
    for bad_px in ("1e20", "inf", "nan", "-1"):
        harness.client._on_frame(spoiled(frame, ("data", "levels", 0, 0, "px"), bad_px))
        assert harness.client.malformed_frames == 1, bad_px
        harness.client._on_frame(json.dumps(frame))
        assert harness.client.malformed_frames == 1, f"the valid frame after a level priced {bad_px} was applied"
        harness.client.malformed_frames = 0
    harness.exchange.step(5)
    await wait_for(lambda: harness.exchange.venue.markets["BTC"].book.time_ms != frame["data"]["time"], 5, "steps")
    await asyncio.sleep(0.2)
    assert harness.client.malformed_frames == 0


def test_the_differ_is_unchanged_by_a_snapshot_it_refuses(archive_btc_hour):
    instrument = default_instrument()
    first, second = [msgspec.convert(m["data"], L2Book) for _, _, m in list(loaders.read_messages(archive_btc_hour))[:2]]
    levels = (first.parse_levels(), second.parse_levels())
    clean = SnapshotDiffer.for_instrument(instrument)
    clean.diff(*levels[0], 1, 1)
    expected = clean.diff(*levels[1], 2, 2)
    differ = SnapshotDiffer.for_instrument(instrument)
    differ.diff(*levels[0], 1, 1)
    for bad in (1e20, float("inf"), float("nan"), 0.0):
        bids = [(bad, 1.0), *levels[1][0][1:]]
        try:
            differ.diff(bids, levels[1][1], 2, 2)
        except ValueError:
            pass
        else:
            raise AssertionError(f"a level priced {bad} was accepted")
    got = differ.diff(*levels[1], 2, 2)
    assert [(d.action, d.order.side, d.order.price, d.order.size) for d in got] == [
        (d.action, d.order.side, d.order.price, d.order.size) for d in expected
    ]
    assert all(d.action != BookAction.CLEAR for d in got)


async def test_a_dead_but_open_socket_is_recycled_within_seconds(exchange_factory):
    """Defect 10: a socket that stays open but answers nothing (pongs lost) was recycled only after 60 s, with the
    default 30 s heartbeat; a ping deadline catches it within a few seconds."""
    exchange = await exchange_factory(manual_clock=True)
    frames: list[str] = []
    client = HyperliquidWebSocketClient(
        exchange.ws_url, frames.append, Logger("test"), reconnect_delay_initial_secs=0.05
    )
    await client.connect()
    await client.subscribe({"type": "orderUpdates", "user": "0x" + "ab" * 20})  # a quiet stream
    exchange.faults.drop(channel="pong", count=None, seconds=600)
    exchange.faults.drop(channel="subscriptionResponse", count=None, seconds=600)
    await wait_for(lambda: client.reconnects >= 1, 10, "the dead socket recycled")
    assert client.dead_sockets >= 1
    exchange.faults.clear()
    await wait_for(lambda: any('"pong"' in f for f in frames), 10, "a live socket answering pings")
    await client.disconnect()
