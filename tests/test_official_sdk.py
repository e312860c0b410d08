"""The official ``hyperliquid-python-sdk``, unchanged, against the local exchange on loopback (issue 12, defect 9).

Its constructors call ``spotMeta``; its WebSocket manager accepts ``candle``, ``notification`` and ``webData2``
subscriptions. Every SDK call a market maker uses is made here exactly as a user of the SDK would make it, with
nothing passed in by hand (no ``meta``/``spot_meta``), and checked against what the local exchange holds. The
SDK is synchronous (``requests`` and a ``websocket-client`` thread), so its calls run in worker threads while the
exchange serves on the test's event loop. The market is the real BTC recording with trades (2025-09-03).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account

from adapters.hyperliquid.local_exchange import AccountConfig
from adapters.hyperliquid.local_exchange import LocalExchange
from adapters.hyperliquid.local_exchange import LocalExchangeConfig
from tests.conftest import RESEARCH_DATA
from tests.conftest import _require
from tests.test_live_support import wait_for
from tests.test_local_exchange_support import key_for

hyperliquid = pytest.importorskip("hyperliquid", reason="the dev extra installs hyperliquid-python-sdk")
from hyperliquid.exchange import Exchange  # noqa: E402
from hyperliquid.info import Info  # noqa: E402
from hyperliquid.utils.signing import OrderRequest  # noqa: E402
from hyperliquid.utils.types import Cloid  # noqa: E402

BTC_RECORDING = RESEARCH_DATA / "hl-collector-csv/recordings/hl_BTC_20250903.gz"
CLOID = Cloid.from_str("0x" + "5d" * 16)
ALO = {"limit": {"tif": "Alo"}}
HOUR_MS = 3_600_000


@pytest.fixture
async def venue() -> Any:
    wallet = Account.from_key(key_for("sdk"))
    config = LocalExchangeConfig(
        data=(_require(BTC_RECORDING),),
        manual_clock=True,
        accounts=(AccountConfig(wallet.address, Decimal(100_000)),),
        funding_rate_hourly=Decimal("0.0000125"),
        schedule_cancel_min_volume_usd=Decimal(0),  # the SDK's scheduleCancel call needs $1M traded live
    )
    exchange = LocalExchange(config)
    await exchange.start()
    exchange.advance(60.0)  # a minute of the real market: a book, trades and candles
    yield exchange, wallet
    await exchange.stop()


def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return asyncio.to_thread(function, *args, **kwargs)


async def test_info_and_exchange_rest_calls_work_unchanged(venue):
    exchange, wallet = venue
    user = wallet.address
    info = await call(Info, exchange.url, True)  # calls spotMeta and meta, as every SDK user's Info does
    sdk = await call(Exchange, wallet, exchange.url)
    assert info.name_to_asset("BTC") == 0 and info.asset_to_sz_decimals[0] == 5

    book = await call(info.l2_snapshot, "BTC")
    best_bid = Decimal(book["levels"][0][0]["px"])
    bid = float(best_bid - 200)

    placed = await call(sdk.order, "BTC", True, 0.001, bid, ALO, cloid=CLOID)
    oid = placed["response"]["data"]["statuses"][0]["resting"]["oid"]
    batch = await call(
        sdk.bulk_orders,
        [OrderRequest(coin="BTC", is_buy=True, sz=0.001, limit_px=bid - 1, order_type=ALO, reduce_only=False)] * 2,
    )
    batch_oids = [status["resting"]["oid"] for status in batch["response"]["data"]["statuses"]]
    modified = await call(sdk.modify_order, batch_oids[0], "BTC", True, 0.002, bid - 2, ALO)
    assert modified["status"] == "ok"
    assert (await call(sdk.cancel, "BTC", batch_oids[1]))["response"]["data"]["statuses"] == ["success"]

    open_orders = await call(info.open_orders, user)
    frontend = await call(info.frontend_open_orders, user)
    assert {o["oid"] for o in open_orders} == {o["oid"] for o in frontend} and oid in {o["oid"] for o in frontend}
    assert (await call(info.query_order_by_oid, user, oid))["order"]["status"] == "open"
    assert (await call(info.query_order_by_cloid, user, CLOID))["order"]["order"]["oid"] == oid
    assert (await call(sdk.cancel_by_cloid, "BTC", CLOID))["response"]["data"]["statuses"] == ["success"]

    opened = await call(sdk.market_open, "BTC", True, 0.001)
    assert "filled" in opened["response"]["data"]["statuses"][0], opened
    state = await call(info.user_state, user)
    assert state["assetPositions"][0]["position"]["szi"] == "0.001"
    opened_ms = exchange.clock.now_ms()
    exchange.advance_to((opened_ms // HOUR_MS + 1) * HOUR_MS + 1_000)  # the next funding payment
    [rate] = await call(info.funding_history, "BTC", opened_ms)
    [paid] = await call(info.user_funding_history, user, opened_ms)
    assert rate["fundingRate"] == paid["delta"]["fundingRate"] == "0.0000125" and paid["delta"]["szi"] == "0.001"
    assert Decimal(paid["delta"]["usdc"]) < 0, "a long pays a positive rate"
    closed = await call(sdk.market_close, "BTC")
    assert "filled" in closed["response"]["data"]["statuses"][0], closed
    fills = await call(info.user_fills, user)
    # newest first, one fill per book level a market order crosses (1 or 2, by where the replay stands when it
    # lands: the test's own pace moves the venue's clock; flaky as one fill each), so each order is checked whole
    dirs = [f["dir"] for f in fills]
    closes = dirs.count("Close Long")
    assert closes >= 1 and dirs == ["Close Long"] * closes + ["Open Long"] * (len(dirs) - closes)
    for direction in ("Close Long", "Open Long"):
        assert sum(Decimal(f["sz"]) for f in fills if f["dir"] == direction) == Decimal("0.001")
    by_time = await call(info.user_fills_by_time, user, fills[-1]["time"])
    assert {f["tid"] for f in by_time} == {f["tid"] for f in fills}
    assert len(await call(info.historical_orders, user)) >= 5

    assert (await call(sdk.update_leverage, 10, "BTC"))["status"] == "ok"
    assert (await call(sdk.schedule_cancel, exchange.clock.now_ms() + 60_000))["status"] == "ok"
    approved, agent_key = await call(sdk.approve_agent)
    assert approved["status"] == "ok" and Account.from_key(agent_key).address.lower() in exchange.venue.agents
    assert (await call(sdk.noop, exchange.clock.now_ms()))["status"] == "ok"

    assert (await call(info.meta))["universe"][0]["name"] == "BTC"
    meta, ctxs = await call(info.meta_and_asset_ctxs)
    assert len(ctxs) == len(meta["universe"])
    spot_meta = await call(info.spot_meta)
    assert spot_meta["universe"] == [] and spot_meta["tokens"][0]["name"] == "USDC"
    spot_meta_ctxs = await call(info.spot_meta_and_asset_ctxs)
    assert spot_meta_ctxs == [spot_meta, []]
    assert "BTC" in await call(info.all_mids)
    assert (await call(info.spot_user_state, user)) == {"balances": []}
    assert (await call(info.user_rate_limit, user))["nRequestsUsed"] > 0
    # from the venue's first trade: the clock was advanced past the next hour above, so "the last hour" would
    # leave out whatever the replay printed in its first seconds (how many depends on the test's own pace)
    now_ms = exchange.clock.now_ms()
    trades = list(exchange.venue.candles.trades("BTC"))
    candles = await call(info.candles_snapshot, "BTC", "1m", min(t[0] for t in trades), now_ms)
    assert candles and all(c["s"] == "BTC" and c["i"] == "1m" and c["T"] == c["t"] + 59_999 for c in candles)
    assert sum(c["n"] for c in candles) == len(trades)


async def test_websocket_subscriptions_work_unchanged(venue):
    exchange, wallet = venue
    user = wallet.address
    info = await call(Info, exchange.url)  # with its WebSocket manager thread
    received: dict[str, list[Any]] = {}
    lock = threading.Lock()

    def collect(name: str) -> Callable[[Any], None]:
        def on_message(message: Any) -> None:
            with lock:
                received.setdefault(name, []).append(message)

        return on_message

    subscriptions = {
        "allMids": {"type": "allMids"},
        "l2Book": {"type": "l2Book", "coin": "BTC"},
        "trades": {"type": "trades", "coin": "BTC"},
        "bbo": {"type": "bbo", "coin": "BTC"},
        "activeAssetCtx": {"type": "activeAssetCtx", "coin": "BTC"},
        "candle": {"type": "candle", "coin": "BTC", "interval": "1m"},
        "userFills": {"type": "userFills", "user": user},
        "orderUpdates": {"type": "orderUpdates", "user": user},
        "userEvents": {"type": "userEvents", "user": user},
        "webData2": {"type": "webData2", "user": user},
        "notification": {"type": "notification", "user": user},
    }
    try:
        await wait_for(lambda: info.ws_manager.ws_ready, 5, "the SDK's WebSocket")
        for name, subscription in subscriptions.items():
            await call(info.subscribe, subscription, collect(name))
        await wait_for(
            lambda: len(exchange.hub.sessions) == 1 and len(next(iter(exchange.hub.sessions)).subs) == 11,
            5,
            "11 subscriptions accepted",
        )
        sdk = await call(Exchange, wallet, exchange.url)
        await call(sdk.market_open, "BTC", True, 0.001)
        exchange.advance(60.0)
        pushed = (
            "allMids",
            "l2Book",
            "trades",
            "bbo",
            "activeAssetCtx",
            "candle",
            "userFills",
            "orderUpdates",
            "userEvents",
            "webData2",
        )
        await wait_for(lambda: all(received.get(name) for name in pushed), 10, f"a push on each of {pushed}")
    finally:
        await call(info.disconnect_websocket)
    candle = received["candle"][-1]["data"]
    assert (candle["s"], candle["i"], candle["T"] - candle["t"]) == ("BTC", "1m", 59_999)
    web_data = received["webData2"][-1]["data"]
    assert web_data["user"] == user.lower()
    assert web_data["clearinghouseState"]["assetPositions"][0]["position"]["szi"] == "0.001"
    assert "notification" not in received, "nothing to notify: the subscription is accepted and stays quiet"
