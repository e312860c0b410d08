"""/info responses against the real captures: same keys, same JSON value types, the live key order.

The python-SDK cassettes are real but partly from 2023, when the venue listed keys alphabetically and
before it added ``tid``/``feeToken`` to fills; the NautilusTrader fixtures and the 2025 historicalOrders
capture carry the current layout. Each test says which capture it holds the answer to.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from adapters.hyperliquid.meta import load_meta
from tests.test_local_exchange_support import START_USDC
from tests.test_local_exchange_support import alice  # noqa: F401  (fixture)
from tests.test_local_exchange_support import capture
from tests.test_local_exchange_support import exchange  # noqa: F401  (fixture)
from tests.test_local_exchange_support import http  # noqa: F401  (fixture)
from tests.test_local_exchange_support import rest  # noqa: F401  (fixture)
from tests.test_local_exchange_support import touch
from tests.test_local_exchange_support import venue_factory  # noqa: F401  (fixture)

NOBODY = "0x5e9ee1089755c3435139848e47e6635505d5a13a"  # the user of the real clearinghouseState capture


def assert_same_shape(ours: Any, real: Any, path: str = "$", nullable: frozenset[str] = frozenset()) -> None:
    """Every key of the real object exists in ours with the same JSON type, recursively (lists: first items).
    Keys named in ``nullable`` may be null on one side and a string on the other."""
    if isinstance(real, dict):
        assert isinstance(ours, dict), f"{path}: expected an object, got {ours!r}"
        missing = set(real) - set(ours)
        assert not missing, f"{path}: missing keys {sorted(missing)}"
        for key in real:
            if key in nullable and (ours[key] is None or real[key] is None):
                continue
            assert_same_shape(ours[key], real[key], f"{path}.{key}", nullable)
    elif isinstance(real, list):
        assert isinstance(ours, list), f"{path}: expected a list, got {ours!r}"
        if real and ours:
            assert_same_shape(ours[0], real[0], f"{path}[0]", nullable)
    else:
        assert type(ours) is type(real), f"{path}: {ours!r} vs real {real!r}"


async def resting_order_and_fill(exchange, alice) -> None:
    """Give alice one open order and one fill so the account endpoints have content."""
    bid, ask = await touch(alice.rest)
    assert "resting" in await alice.order(True, bid - 5, "0.01", cloid="0x" + "11" * 16)
    await alice.order(True, ask, "0.001", tif="Ioc")


async def test_meta_is_the_real_universe(rest, sdk_cassettes):
    meta = await rest.info("meta")
    real = capture(sdk_cassettes, "test_get_info.yaml")
    assert meta == real == load_meta(sdk_cassettes / "test_get_info.yaml")
    assert meta["universe"][0] == {"maxLeverage": 50, "name": "BTC", "szDecimals": 5}


async def test_meta_and_asset_ctxs(rest, nt_fixtures):
    meta, ctxs = await rest.info("metaAndAssetCtxs")
    assert len(ctxs) == len(meta["universe"])
    real = json.loads((nt_fixtures / "ws_all_dexs_asset_ctxs.json").read_text())["data"]["ctxs"][0][1][0]
    assert list(ctxs[0]) == list(real), "ctx keys in the live order"
    assert_same_shape(ctxs[0], real)
    bid, ask = await touch(rest)
    assert Decimal(ctxs[0]["midPx"]) == (bid + ask) / 2
    assert ctxs[0]["impactPxs"] == [str(bid), str(ask)]
    assert ctxs[1]["midPx"] is None and ctxs[1]["impactPxs"] is None, "no book for unreplayed coins"


async def test_l2_book_matches_the_real_snapshot(rest, sdk_cassettes, nt_fixtures, archive_btc_hour):
    book = await rest.info("l2Book", coin="BTC")
    real = capture(sdk_cassettes, "test_get_l2_snapshot.yaml")
    assert_same_shape(book, real)
    assert list(book) == ["coin", "time", "levels"]
    assert [list(level) for level in book["levels"][0][:1]] == [["px", "sz", "n"]], "live level key order"
    assert_same_shape(book, json.loads((nt_fixtures / "http_l2_book_btc.json").read_text()))
    assert len(book["levels"][0]) == len(book["levels"][1]) == 20
    # The first snapshot of the archive hour, with its prices and sizes untouched.
    assert book["levels"][0][0] == {"px": "42727.0", "sz": "0.02265", "n": 1}
    assert book["levels"][1][0] == {"px": "42729.0", "sz": "3.83257", "n": 2}


async def test_l2_book_aggregation_and_unknown_coin(rest):
    coarse = await rest.info("l2Book", coin="BTC", nSigFigs=3)
    assert [level["px"] for level in coarse["levels"][0][:2]] == ["42700.0", "42600.0"]
    assert await rest.info("l2Book", coin="NOPE") is None
    quiet = await rest.info("l2Book", coin="ETH")
    assert quiet["levels"] == [[], []]


async def test_all_mids(rest, sdk_cassettes):
    mids = await rest.info("allMids")
    assert_same_shape(mids, {"BTC": capture(sdk_cassettes, "test_get_all_mids.yaml")["BTC"]})
    assert mids == {"BTC": "42728.0"}


async def test_clearinghouse_state(exchange, alice, rest, sdk_cassettes, nt_fixtures):
    await resting_order_and_fill(exchange, alice)
    state = await rest.info("clearinghouseState", user=alice.address)
    real = capture(sdk_cassettes, "test_get_user_state.yaml")
    # maxTradeSzs left the position object after 2023 (absent from the docs and the 2025-26 fixtures).
    for entry in real["assetPositions"]:
        del entry["position"]["maxTradeSzs"]
    assert_same_shape(state, real, nullable=frozenset({"liquidationPx"}))
    assert list(state) == [
        "marginSummary", "crossMarginSummary", "crossMaintenanceMarginUsed", "withdrawable", "assetPositions", "time"
    ]
    fixture = json.loads((nt_fixtures / "http_clearinghouse_state_negative_total_raw_usd.json").read_text())
    assert list(state["marginSummary"]) == list(fixture["crossMarginSummary"])
    assert state["assetPositions"][0]["position"]["leverage"] == {"type": "cross", "value": 20}


async def test_clearinghouse_state_of_an_unknown_user_is_zeroed(rest):
    state = await rest.info("clearinghouseState", user=NOBODY)
    assert state["assetPositions"] == [] and state["withdrawable"] == "0.0"
    zeros = {"accountValue": "0.0", "totalNtlPos": "0.0", "totalRawUsd": "0.0", "totalMarginUsed": "0.0"}
    assert state["marginSummary"] == state["crossMarginSummary"] == zeros
    assert isinstance(state["time"], int)


async def test_open_orders_and_frontend_open_orders(exchange, alice, rest, sdk_cassettes):
    await resting_order_and_fill(exchange, alice)
    open_orders = await rest.info("openOrders", user=alice.address)
    assert_same_shape(open_orders, capture(sdk_cassettes, "test_get_open_orders.yaml"))
    frontend = await rest.info("frontendOpenOrders", user=alice.address)
    # The real capture holds trigger orders (tif null); ours is a plain ALO limit order.
    real_frontend = capture(sdk_cassettes, "test_get_frontend_open_orders.yaml")
    assert_same_shape(frontend, real_frontend, nullable=frozenset({"tif"}))
    assert (frontend[0]["tif"], frontend[0]["orderType"], frontend[0]["cloid"]) == ("Alo", "Limit", "0x" + "11" * 16)
    historical_order = capture(sdk_cassettes, "test_historical_orders.yaml")[0]["order"]
    assert list(frontend[0]) == list(historical_order), "frontend order key order as in the 2025 capture"
    assert await rest.info("openOrders", user=NOBODY) == [] == await rest.info("frontendOpenOrders", user=NOBODY)
    assert await rest.info("spotClearinghouseState", user=alice.address) == {"balances": []}


async def test_user_fills_and_by_time(exchange, alice, rest, sdk_cassettes, nt_fixtures):
    await resting_order_and_fill(exchange, alice)
    fills = await rest.info("userFills", user=alice.address)
    assert_same_shape(fills, capture(sdk_cassettes, "test_get_user_fills.yaml"))
    real_2026 = json.loads((nt_fixtures / "http_user_fills_dust_conversion.json").read_text())[0]
    assert list(fills[0]) == list(real_2026), "current fill layout: tid, feeToken, twapId"
    assert_same_shape(fills[0], real_2026, nullable=frozenset({"twapId"}))
    at = fills[0]["time"]
    by_time = await rest.info("userFillsByTime", user=alice.address, startTime=at, endTime=at)
    assert by_time == fills
    assert_same_shape(by_time, capture(sdk_cassettes, "test_get_user_fills_by_time.yaml"))
    assert await rest.info("userFillsByTime", user=alice.address, startTime=fills[0]["time"] + 1) == []
    assert await rest.info("userFills", user=NOBODY) == []


async def test_order_status_and_historical_orders(exchange, alice, rest, sdk_cassettes):
    await resting_order_and_fill(exchange, alice)
    real = capture(sdk_cassettes, "test_historical_orders.yaml")
    history = await rest.info("historicalOrders", user=alice.address)
    assert_same_shape(history, real, nullable=frozenset({"cloid"}))
    assert [list(h) for h in history[:1]] == [list(real[0])]
    assert [h["status"] for h in history] == ["filled", "open"]
    oid = history[1]["order"]["oid"]
    by_oid = await rest.info("orderStatus", user=alice.address, oid=oid)
    by_cloid = await rest.info("orderStatus", user=alice.address, oid="0x" + "11" * 16)
    assert by_oid == by_cloid == {"status": "order", "order": history[1]}
    assert await rest.info("orderStatus", user=alice.address, oid=1) == {"status": "unknownOid"}
    assert await rest.info("orderStatus", user=NOBODY, oid=oid) == {"status": "unknownOid"}


async def test_user_rate_limit(exchange, alice, rest, sdk_cassettes):
    assert await rest.info("userRateLimit", user=alice.address) == {
        "cumVlm": "0.0", "nRequestsUsed": 0, "nRequestsCap": 10000, "nRequestsSurplus": 0
    }
    await resting_order_and_fill(exchange, alice)
    limits = await rest.info("userRateLimit", user=alice.address)
    assert_same_shape(limits, capture(sdk_cassettes, "test_user_rate_limit.yaml"))
    fill = (await rest.info("userFills", user=alice.address))[0]
    volume = Decimal(fill["px"]) * Decimal(fill["sz"])
    assert Decimal(limits.pop("cumVlm")) == volume
    assert limits == {"nRequestsUsed": 2, "nRequestsCap": 10000 + int(volume), "nRequestsSurplus": 0}
    assert (await rest.info("userRateLimit", user=NOBODY))["nRequestsCap"] == 10000


async def test_account_value_starts_at_the_deposit(alice, rest):
    state = await rest.info("clearinghouseState", user=alice.address)
    assert Decimal(state["marginSummary"]["accountValue"]) == START_USDC
    assert Decimal(state["withdrawable"]) == START_USDC


async def test_malformed_info_requests_get_the_venue_errors(rest):
    cases = [
        ("{not json", 400, "Failed to parse the request body as JSON"),
        (json.dumps({"type": "noSuchThing"}), 422, "unknown variant `noSuchThing`"),
        (json.dumps({"type": "clearinghouseState"}), 422, "missing field `user`"),
        (json.dumps({"type": "clearinghouseState", "user": 7}), 422, "invalid type"),
        (json.dumps({"type": "clearinghouseState", "user": "0x123"}), 422, "invalid address"),
        (json.dumps({"type": "orderStatus", "user": NOBODY, "oid": 1.5}), 422, "oid"),
        (json.dumps({"type": "l2Book", "coin": "BTC", "nSigFigs": 9}), 422, "nSigFigs"),
        (json.dumps(["type", "meta"]), 422, "expected a map"),
    ]
    for body, status, text in cases:
        got_status, got = await rest.post("/info", body, raw=True)
        assert (got_status, text in got) == (status, True), (body, got_status, got)
        assert "Traceback" not in got
    async with rest.session.post(rest.base_url + "/info", data=b'{"type":"meta"}') as response:
        assert response.status == 415
