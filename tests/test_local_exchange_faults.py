"""Each fault does what it says: dropped connections, dropped/delayed/reordered frames and actions, 429 storms,
the IP weight limit, and restarts that keep state. Also through the admin endpoint of a standalone server."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from adapters.hyperliquid import actions
from tests.test_local_exchange_support import BTC
from tests.test_local_exchange_support import Rest
from tests.test_local_exchange_support import Trader
from tests.test_local_exchange_support import alice  # noqa: F401  (fixture)
from tests.test_local_exchange_support import exchange  # noqa: F401  (fixture)
from tests.test_local_exchange_support import http  # noqa: F401  (fixture)
from tests.test_local_exchange_support import open_ws
from tests.test_local_exchange_support import rest  # noqa: F401  (fixture)
from tests.test_local_exchange_support import signer_for
from tests.test_local_exchange_support import touch
from tests.test_local_exchange_support import venue_factory  # noqa: F401  (fixture)
from tests.test_local_exchange_support import wire

GONE = (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE)


async def test_drop_ws_connections(exchange, http):
    abrupt = await http.ws_connect(exchange.ws_url)
    await abrupt.send_str('{"method":"ping"}')
    await abrupt.receive(timeout=1)
    assert await exchange.drop_ws_connections(abrupt=True) == 1
    assert (await abrupt.receive(timeout=2)).type in GONE
    polite = await http.ws_connect(exchange.ws_url)
    await asyncio.sleep(0.05)
    assert await exchange.drop_ws_connections(abrupt=False) == 1
    message = await polite.receive(timeout=2)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1012
    again = await open_ws(http, exchange)
    await again.send({"method": "ping"})
    assert await again.next("pong") is None


async def test_drop_frames_of_one_channel(exchange, http, rest):
    ws = await open_ws(http, exchange)
    await ws.subscribe({"type": "l2Book", "coin": "BTC"})
    await ws.subscribe({"type": "bbo", "coin": "BTC"})
    await ws.next("l2Book")
    await ws.next("bbo")
    exchange.faults.drop(channel="l2Book", count=2)
    exchange.step(3)
    received = await ws.next("l2Book")
    assert received == await rest.info("l2Book", coin="BTC"), "the first two pushes were lost"
    assert await ws.nothing_on("l2Book")
    assert await ws.next("bbo"), "other channels unaffected"


async def test_delay_frames_of_one_channel(exchange, alice, http, rest):
    ws = await open_ws(http, exchange)
    await ws.subscribe({"type": "orderUpdates", "user": alice.address})
    exchange.faults.delay(0.4, channel="orderUpdates")
    bid, _ = await touch(rest)
    started = time.monotonic()
    await alice.order(True, bid - 1, "0.01")
    assert await ws.nothing_on("orderUpdates", 0.25)
    assert [u["status"] for u in await ws.next("orderUpdates")] == ["open"]
    assert time.monotonic() - started >= 0.4


async def test_modify_updates_in_natural_and_reordered_order(exchange, alice, http, rest):
    ws = await open_ws(http, exchange)
    await ws.subscribe({"type": "orderUpdates", "user": alice.address})
    bid, _ = await touch(rest)
    cloid = "0x" + "dd" * 16
    oid = (await alice.order(True, bid - 5, "0.01", cloid=cloid))["resting"]["oid"]
    await ws.next("orderUpdates")

    async def modify_statuses(target, px) -> list[tuple[str, int]]:
        await alice.act(actions.modify_action(target, wire(True, px, cloid=cloid)))
        first, second = await ws.next("orderUpdates"), await ws.next("orderUpdates")
        return [(u["status"], u["order"]["oid"]) for u in first + second]

    natural = await modify_statuses(oid, bid - 6)
    assert [s for s, _ in natural] == ["canceled", "open"] and natural[0][1] == oid
    exchange.faults.reorder("orderUpdates")
    reordered = await modify_statuses(cloid, bid - 7)
    assert [s for s, _ in reordered] == ["open", "canceled"], "the accept overtakes the cancel"
    assert reordered[1][1] == natural[1][1]


async def test_modify_order_can_be_configured(venue_factory, http):
    exchange = await venue_factory(modify_cancel_first=False)
    rest = Rest(http, exchange.url)
    alice = Trader(rest, signer_for("alice"))
    ws = await open_ws(http, exchange)
    await ws.subscribe({"type": "orderUpdates", "user": alice.address})
    bid, _ = await touch(rest)
    oid = (await alice.order(True, bid - 5, "0.01"))["resting"]["oid"]
    await ws.next("orderUpdates")
    await alice.act(actions.modify_action(oid, wire(True, bid - 6)))
    assert [(await ws.next("orderUpdates"))[0]["status"] for _ in range(2)] == ["open", "canceled"]


async def test_dropped_action_response_still_executes(exchange, alice, rest):
    bid, _ = await touch(rest)
    exchange.faults.drop(action="order")
    with pytest.raises(aiohttp.ClientError):
        await alice.order(True, bid - 1, "0.01")
    assert len(await rest.info("openOrders", user=alice.address)) == 1, "placed, but the client never heard"
    exchange.faults.drop(action="order", phase="request")
    with pytest.raises(aiohttp.ClientError):
        await alice.order(True, bid - 2, "0.01")
    assert len(await rest.info("openOrders", user=alice.address)) == 1, "lost before the engine"
    assert "resting" in await alice.order(True, bid - 3, "0.01"), "rules expire after their count"


async def test_delayed_and_dropped_ws_posts(exchange, alice, http, rest):
    ws = await open_ws(http, exchange)
    bid, _ = await touch(rest)
    exchange.faults.delay(0.3, action="cancel")
    oid = (await alice.order(True, bid - 1, "0.01"))["resting"]["oid"]
    started = time.monotonic()
    cancel = await ws.post(1, "action", alice.payload(actions.cancel_action([(BTC, oid)])))
    assert cancel["payload"]["response"]["data"]["statuses"] == ["success"]
    assert time.monotonic() - started >= 0.3
    exchange.faults.drop(action="order")
    payload = alice.payload(actions.order_action([wire(True, bid - 2)]))
    await ws.send({"method": "post", "id": 2, "request": {"type": "action", "payload": payload}})
    assert await ws.nothing_on("post")
    assert len(await rest.info("openOrders", user=alice.address)) == 1


async def test_429_storm_by_count_and_by_time(exchange, rest):
    exchange.faults.http_429(count=2)
    statuses = [(await rest.post("/info", {"type": "allMids"}))[0] for _ in range(3)]
    assert statuses == [429, 429, 200]
    exchange.faults.http_429(seconds=0.3)
    assert (await rest.post("/exchange", {}))[0] == 429
    await asyncio.sleep(0.35)
    assert (await rest.post("/info", {"type": "allMids"}))[0] == 200


async def test_ip_weight_limit_gives_429(venue_factory, http):
    exchange = await venue_factory(ip_weight_per_min=100)
    rest = Rest(http, exchange.url)
    statuses = [(await rest.post("/info", {"type": "l2Book", "coin": "BTC"}))[0] for _ in range(51)]
    assert statuses[:50] == [200] * 50 and statuses[50] == 429, "weight 2 each, 100 per minute"
    heavy = await venue_factory(ip_weight_per_min=100)
    heavy_rest = Rest(http, heavy.url)
    statuses = [(await heavy_rest.post("/info", {"type": "meta"}))[0] for _ in range(6)]
    assert statuses == [200] * 5 + [429], "meta weighs 20"


async def test_restart_keeps_state_on_the_same_port(exchange, alice, http, rest):
    bid, ask = await touch(rest)
    resting = (await alice.order(True, bid - 1, "0.01"))["resting"]["oid"]
    nonce = alice.nonces.next_nonce()
    await alice.act(actions.order_action([wire(True, ask, "0.001", "Ioc")]), nonce=nonce)
    kinds = ("openOrders", "userFills", "clearinghouseState")
    before = {kind: await rest.info(kind, user=alice.address) for kind in kinds}
    ws = await http.ws_connect(exchange.ws_url)
    port = exchange.port

    restarting = asyncio.create_task(exchange.restart(downtime_s=0.3))
    await asyncio.sleep(0.15)
    with pytest.raises(aiohttp.ClientConnectionError):
        await rest.post("/info", {"type": "allMids"})
    await restarting
    assert (await ws.receive(timeout=1)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert exchange.port == port
    for kind, value in before.items():
        after = await rest.info(kind, user=alice.address)
        if kind == "clearinghouseState":
            after.pop("time"), value.pop("time")
        assert after == value, kind
    assert [o["oid"] for o in before["openOrders"]] == [resting]
    duplicate = await alice.act(actions.noop_action(), nonce=nonce)
    assert duplicate["response"] == f"Invalid nonce: duplicate nonce {nonce}", "nonce state survives"
    fresh = await open_ws(http, exchange)
    await fresh.subscribe({"type": "userFills", "user": alice.address})
    assert len((await fresh.next("userFills"))["fills"]) == 1


async def test_admin_endpoint_arms_faults_and_moves_the_clock(exchange, rest, http):
    status, armed = await rest.post("/_admin/faults", {"fault": "http_429", "count": 1})
    assert status == 200 and armed["armed"]["kind"] == "http_429"
    assert (await rest.post("/info", {"type": "allMids"}))[0] == 429
    assert (await rest.post("/info", {"type": "allMids"}))[0] == 200
    await rest.post("/_admin/faults", {"fault": "drop", "channel": "l2Book", "count": 3})
    async with http.get(exchange.url + "/_admin/faults") as response:
        assert (await response.json())["faults"][0]["remaining"] == 3
    assert (await rest.post("/_admin/faults", {"fault": "clear"}))[1] == {"cleared": True}
    assert (await rest.post("/_admin/faults", {"fault": "explode"}))[0] == 400
    before = await rest.info("l2Book", coin="BTC")
    status, moved = await rest.post("/_admin/clock", {"step": 5})
    assert status == 200 and moved["position_ns"] > 0
    assert await rest.info("l2Book", coin="BTC") != before
    ws = await http.ws_connect(exchange.ws_url)
    await asyncio.sleep(0.05)
    assert (await rest.post("/_admin/faults", {"fault": "drop_ws"}))[1] == {"dropped": 1}
    assert (await ws.receive(timeout=2)).type in GONE
    assert (await rest.post("/_admin/faults", {"fault": "restart", "downtime_s": 0.1}))[1] == {"restarting": True}
    await asyncio.sleep(0.4)
    assert (await rest.post("/info", {"type": "allMids"}))[0] == 200


async def test_standalone_command_serves_and_takes_faults_over_http(http, archive_btc_hour):
    address = signer_for("alice").address
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.hyperliquid.local_exchange", "--data", str(archive_btc_hour), "--port", "0",
        "--account", f"{address}=250000", "--log-level", "WARNING",
        cwd=Path(__file__).resolve().parents[1], stdout=asyncio.subprocess.PIPE,
    )
    try:
        url = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
        ws_url = (await process.stdout.readline()).decode().strip()
        assert url.startswith("http://127.0.0.1:") and ws_url == url.replace("http", "ws") + "/ws"
        rest = Rest(http, url)
        state = await rest.info("clearinghouseState", user=address)
        assert state["marginSummary"]["accountValue"] == "250000.0"
        await rest.post("/_admin/faults", {"fault": "http_429", "count": 1})
        assert (await rest.post("/info", {"type": "allMids"}))[0] == 429
        assert (await rest.post("/info", {"type": "allMids"}))[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
