"""The market replay and the fill model on the real recordings: book-crossing fills capped by the crossing
liquidity, queue-aware fills from real trades, taker consumption per snapshot, looping, speed, re-timing."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from adapters.hyperliquid.local_exchange import AccountConfig
from adapters.hyperliquid.local_exchange import LocalExchange
from adapters.hyperliquid.local_exchange import LocalExchangeConfig
from adapters.hyperliquid.local_exchange.replay import load_recording
from tests.test_local_exchange_support import START_USDC
from tests.test_local_exchange_support import Rest
from tests.test_local_exchange_support import Trader
from tests.test_local_exchange_support import alice  # noqa: F401  (fixture)
from tests.test_local_exchange_support import exchange  # noqa: F401  (fixture)
from tests.test_local_exchange_support import http  # noqa: F401  (fixture)
from tests.test_local_exchange_support import open_ws
from tests.test_local_exchange_support import rest  # noqa: F401  (fixture)
from tests.test_local_exchange_support import signer_for
from tests.test_local_exchange_support import venue_factory  # noqa: F401  (fixture)


async def test_book_crossing_fills_are_capped_by_the_crossing_liquidity(exchange, alice, rest):
    # Archive hour: best bid 42727 at the start; snapshot 400 (t = 256.5 s) is the first whose best ask,
    # 42725 for 4.0218 BTC, reaches below it.
    await alice.order(True, "42726", "0.01")
    await alice.order(True, "42725", "5")
    assert exchange.advance_until(lambda: exchange.venue.accounts[alice.address].fills, max_seconds=3600)
    assert 256.4 < exchange.venue.replay_position_ns / 1e9 < 256.6
    fills = await rest.info("userFills", user=alice.address)
    assert [(f["px"], f["sz"], f["crossed"]) for f in fills] == [
        ("42725.0", "4.0118", False),
        ("42726.0", "0.01", False),
    ]
    [rest_of_it] = await rest.info("openOrders", user=alice.address)
    assert (rest_of_it["limitPx"], rest_of_it["sz"], rest_of_it["origSz"]) == ("42725.0", "0.9882", "5.0")


async def test_taken_liquidity_comes_back_with_the_next_snapshot(exchange, alice, rest):
    book = await rest.info("l2Book", coin="BTC")
    best = book["levels"][1][0]
    assert "filled" in await alice.order(True, best["px"], best["sz"], tif="Ioc")
    assert "error" in await alice.order(True, best["px"], "0.001", tif="Ioc")
    exchange.step()
    fresh = await rest.info("l2Book", coin="BTC")
    assert "filled" in await alice.order(True, fresh["levels"][1][0]["px"], "0.001", tif="Ioc")


@pytest.fixture
async def ws_market(ws_recording_btc, http):
    """The 26 s hftbacktest capture (books and trades, BTC ~105 k), manual clock, no loop."""
    exchange = LocalExchange(
        LocalExchangeConfig(
            data=(ws_recording_btc,),
            manual_clock=True,
            loop=False,
            accounts=(AccountConfig(signer_for("alice").address, START_USDC),),
        )
    )
    await exchange.start()
    yield exchange
    await exchange.stop()


async def test_queue_aware_fill_from_real_trades(ws_market, http, ws_recording_btc):
    """Bid 0.001 at 105055 from the start: its queue (3.036 BTC shown) shrinks with the displayed size to
    0.12468, then real sells at 105055 eat it (0.00036, 0.00427, then 0.12005 in the 22.2 s sweep) and the
    sweep's print at 105054 goes through our price: that is the fill, before any book ever crosses us."""
    rest = Rest(http, ws_market.url)
    alice = Trader(rest, signer_for("alice"))
    oid = (await alice.order(True, "105055", "0.001"))["resting"]["oid"]
    recording = load_recording((ws_recording_btc,))
    sweep = next(e for e in recording.events if e.kind == "trades" and any(t["px"] == "105054.0" for t in e.data))
    assert ws_market.advance_until(lambda: ws_market.venue.accounts[alice.address].fills, max_seconds=30)
    assert ws_market.venue.replay_position_ns == sweep.position_ns
    [fill] = await rest.info("userFills", user=alice.address)
    assert (fill["px"], fill["sz"], fill["crossed"], fill["oid"]) == ("105055.0", "0.001", False, oid)
    assert Decimal(fill["fee"]) == (Decimal("105.055") * Decimal("0.00015")).quantize(Decimal("0.000001"))
    book = await rest.info("l2Book", coin="BTC")
    assert Decimal(book["levels"][1][0]["px"]) > Decimal("105055"), "no book had crossed the bid yet"


async def test_a_deep_queue_is_not_jumped(ws_market, http):
    """Ask 0.001 at 105056 behind 6.34 BTC: the 26 s of buys at 105056 total far less, so it never fills."""
    rest = Rest(http, ws_market.url)
    alice = Trader(rest, signer_for("alice"))
    await alice.order(False, "105056", "0.001")
    ws_market.advance(60)
    assert ws_market.venue.next_event_position() is None, "no loop: the recording has ended"
    assert await rest.info("userFills", user=alice.address) == []
    assert len(await rest.info("openOrders", user=alice.address)) == 1


async def test_trades_channel_shape_backfill_and_fresh_ids_per_lap(ws_recording_btc, http):
    exchange = LocalExchange(LocalExchangeConfig(data=(ws_recording_btc,), manual_clock=True, loop=True))
    await exchange.start()
    try:
        exchange.advance(5)
        ws = await open_ws(http, exchange)
        await ws.subscribe({"type": "trades", "coin": "BTC"})
        backfill = await ws.next("trades")
        assert len(backfill) == 30, "the last 30 trades on subscribe"
        assert list(backfill[0]) == ["coin", "side", "px", "sz", "hash", "time", "tid", "users"]
        assert isinstance(backfill[0]["tid"], int) and len(backfill[0]["users"]) == 2
        first_lap = {t["tid"] for t in exchange.venue.markets["BTC"].recent_trades}
        span_s = exchange.venue.recording.span_ns / 1e9
        exchange.advance(span_s)
        assert exchange.venue.replay_lap == 1
        second_lap = {t["tid"] for t in exchange.venue.markets["BTC"].recent_trades}
        assert first_lap.isdisjoint(second_lap)
        times = [t["time"] for t in exchange.venue.markets["BTC"].recent_trades]
        assert times[-1] > backfill[-1]["time"], "a new lap moves forward in time"
    finally:
        await exchange.stop()


async def test_speed_factor_in_real_time(ws_recording_btc, http):
    exchange = LocalExchange(LocalExchangeConfig(data=(ws_recording_btc,), speed=40.0))
    await exchange.start()
    try:
        await asyncio.sleep(0.5)
        played_s = exchange.venue.replay_position_ns / 1e9
        assert 10 < played_s < 30, played_s
    finally:
        await exchange.stop()


def test_one_coin_comes_from_one_recording(archive_btc_hour, ws_recording_btc):
    with pytest.raises(ValueError, match="BTC is recorded in both"):
        load_recording((archive_btc_hour, ws_recording_btc))


def test_config_refuses_to_leave_loopback():
    with pytest.raises(ValueError, match="loopback"):
        LocalExchangeConfig(host="0.0.0.0")


async def test_funding_is_paid_hourly_when_enabled(venue_factory, http):
    exchange = await venue_factory(funding_rate_hourly=Decimal("0.0001"))
    rest = Rest(http, exchange.url)
    alice = Trader(rest, signer_for("alice"))
    ask = (await rest.info("l2Book", coin="BTC"))["levels"][1][0]["px"]
    await alice.order(True, ask, "0.1", tif="Ioc")
    ws = await open_ws(http, exchange)
    await ws.subscribe({"type": "userEvents", "user": alice.address})
    exchange.advance(3600)
    event = (await ws.next("user"))["funding"]
    mid = Decimal((await rest.info("allMids"))["BTC"])
    assert (event["coin"], event["szi"], event["fundingRate"]) == ("BTC", "0.1", "0.0001")
    assert Decimal(event["usdc"]) == -(Decimal("0.1") * mid * Decimal("0.0001")).quantize(Decimal("0.000001"))
    position = (await rest.info("clearinghouseState", user=alice.address))["assetPositions"][0]["position"]
    assert Decimal(position["cumFunding"]["allTime"]) == -Decimal(event["usdc"])
