"""/ws: acks, the pushed shapes, the userFills snapshot then stream, post requests, ping/pong, idle close."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from adapters.hyperliquid import actions
from adapters.hyperliquid import credentials
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


async def test_l2book_subscription_ack_snapshot_and_pushes(exchange, http, archive_btc_hour):
    ws = await open_ws(http, exchange)
    subscription = {"type": "l2Book", "coin": "BTC"}
    assert await ws.subscribe(subscription) == {"method": "subscribe", "subscription": subscription}
    first = await ws.next("l2Book")
    assert list(first) == ["coin", "time", "levels"]
    assert first["levels"][0][0] == {"px": "42727.0", "sz": "0.02265", "n": 1}
    exchange.step()
    pushed = await ws.next("l2Book")
    # The archive's second snapshot, re-timed onto the venue clock.
    assert pushed["levels"][0][0] == {"px": "42723.0", "sz": "0.17828", "n": 1}
    assert len(pushed["levels"][0]) == len(pushed["levels"][1]) == 20
    assert abs(pushed["time"] - exchange.clock.now_ms()) < 5_000
    assert pushed["time"] > first["time"]

    await ws.subscribe({"type": "l2Book", "coin": "BTC", "fast": True})
    fast = await ws.next("l2Book")
    assert len(fast["levels"][0]) == 5
    await ws.send({"method": "unsubscribe", "subscription": subscription})
    assert await ws.next("subscriptionResponse") == {"method": "unsubscribe", "subscription": subscription}
    exchange.step()
    assert len((await ws.next("l2Book"))["levels"][0]) == 5, "only the fast subscription is left"
    assert await ws.nothing_on("l2Book")


async def test_bbo_and_all_mids_push_on_change(exchange, http):
    ws = await open_ws(http, exchange)
    await ws.subscribe({"type": "bbo", "coin": "BTC"})
    await ws.subscribe({"type": "allMids"})
    bbo = await ws.next("bbo")
    assert list(bbo) == ["coin", "time", "bbo"] and bbo["bbo"][0] == {"px": "42727.0", "sz": "0.02265", "n": 1}
    assert await ws.next("allMids") == {"mids": {"BTC": "42728.0"}}
    exchange.step()
    assert (await ws.next("bbo"))["bbo"][0]["px"] == "42723.0"
    assert await ws.next("allMids") == {"mids": {"BTC": "42726.0"}}


async def test_user_fills_snapshot_then_stream_and_order_updates(exchange, alice, http, rest):
    _, ask = await touch(rest)
    await alice.order(True, ask, "0.001", tif="Ioc")
    ws = await open_ws(http, exchange)
    for kind in ("userFills", "orderUpdates", "userEvents"):
        await ws.subscribe({"type": kind, "user": alice.address})
    snapshot = await ws.next("userFills")
    assert snapshot["isSnapshot"] is True and snapshot["user"] == alice.address
    assert snapshot["fills"] == await rest.info("userFills", user=alice.address)
    assert await ws.nothing_on("orderUpdates"), "orderUpdates has no snapshot"

    await alice.order(True, ask, "0.002", tif="Ioc")
    streamed = await ws.next("userFills")
    assert "isSnapshot" not in streamed and streamed["user"] == alice.address
    assert [f["sz"] for f in streamed["fills"]] == ["0.002"]
    assert await ws.next("user") == {"fills": streamed["fills"]}
    assert [u["status"] for u in await ws.next("orderUpdates")] == ["filled"]

    bid, _ = await touch(rest)
    oid = (await alice.order(True, bid - 10, "0.01", cloid="0x" + "aa" * 16))["resting"]["oid"]
    [update] = await ws.next("orderUpdates")
    assert update["status"] == "open" and list(update) == ["order", "status", "statusTimestamp"]
    assert update["order"] == {
        "coin": "BTC", "side": "B", "limitPx": str(bid - 10), "sz": "0.01", "oid": oid,
        "timestamp": update["order"]["timestamp"], "origSz": "0.01", "cloid": "0x" + "aa" * 16,
    }
    await alice.act(actions.cancel_action([(BTC, oid)]))
    assert [u["status"] for u in await ws.next("orderUpdates")] == ["canceled"]


async def test_a_batch_is_one_order_updates_message(exchange, alice, http, rest):
    bid, _ = await touch(rest)
    ws = await open_ws(http, exchange)
    await ws.subscribe({"type": "orderUpdates", "user": alice.address})
    await alice.orders(*(wire(True, bid - i) for i in range(1, 4)))
    assert [u["status"] for u in await ws.next("orderUpdates")] == ["open"] * 3


async def test_post_requests_round_trip(exchange, alice, http, rest):
    ws = await open_ws(http, exchange)
    info = await ws.post(1, "info", {"type": "l2Book", "coin": "BTC"})
    assert info == {"type": "info", "payload": {"type": "l2Book", "data": await rest.info("l2Book", coin="BTC")}}
    bid, _ = await touch(rest)
    action = actions.order_action([wire(True, bid - 1)])
    nonce = alice.nonces.next_nonce()
    placed = await ws.post(2, "action", alice.payload(action, nonce))
    assert placed["type"] == "action" and list(placed["payload"]["response"]["data"]["statuses"][0]) == ["resting"]
    replay = await ws.post(3, "action", alice.payload(action, nonce))
    assert replay["payload"] == {"status": "err", "response": f"Invalid nonce: duplicate nonce {nonce}"}
    bad = await ws.post(4, "info", {"type": "nope"})
    assert bad["type"] == "error" and "unknown variant `nope`" in bad["payload"]


async def test_ping_pong_and_protocol_errors(exchange, http):
    ws = await open_ws(http, exchange)
    await ws.send({"method": "ping"})
    assert await ws.next("pong") is None
    await ws.send("garbage")
    assert await ws.next("error") == "Error parsing JSON into valid websocket request: garbage"
    await ws.subscribe({"type": "trades", "coin": "BTC"})
    await ws.send({"method": "subscribe", "subscription": {"type": "trades", "coin": "BTC"}})
    assert await ws.next("error") == 'Already subscribed: {"type":"trades","coin":"BTC"}'
    await ws.send({"method": "subscribe", "subscription": {"type": "l2Book", "coin": "NOPE"}})
    assert (await ws.next("error")).startswith("Invalid subscription")
    await ws.send({"method": "unsubscribe", "subscription": {"type": "bbo", "coin": "BTC"}})
    assert await ws.next("error") == 'Already unsubscribed: {"type":"bbo","coin":"BTC"}'
    await ws.send({"method": "post", "id": "x", "request": {}})
    assert (await ws.next("error")).startswith("Error parsing JSON into valid websocket request")


async def test_idle_connections_are_closed_unless_they_ping(venue_factory, http):
    exchange = await venue_factory(ws_idle_timeout_s=0.6)
    quiet = await http.ws_connect(exchange.ws_url)
    chatty = await http.ws_connect(exchange.ws_url)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(6):
        await chatty.send_str(json.dumps({"method": "ping"}))
        await asyncio.sleep(0.2)
    closed = await quiet.receive(timeout=2)
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert 0.5 < loop.time() - started < 2.0
    assert not chatty.closed
    assert json.loads((await chatty.receive(timeout=1)).data) == {"channel": "pong"}


async def test_real_time_replay_pushes_without_being_stepped(venue_factory, http):
    exchange = await venue_factory(manual_clock=False, speed=20.0)
    ws = await open_ws(http, exchange)
    await ws.subscribe({"type": "l2Book", "coin": "BTC"})
    times = [(await ws.next("l2Book"))["time"] for _ in range(8)]
    assert times == sorted(times) and len(set(times)) == 8
    wall = exchange.clock.now_ms()
    assert abs(times[-1] - wall) < 3_000, "re-timed to the venue clock"


async def test_post_action_of_an_agent_over_ws(exchange, alice, http, rest):
    agent = Trader(rest, credentials.HyperliquidSigner.from_key("0x" + "42" * 32))
    await alice.approve_agent(agent.address, "bot")
    ws = await open_ws(http, exchange)
    bid, _ = await touch(rest)
    placed = await ws.post(9, "action", agent.payload(actions.order_action([wire(True, bid - 1)])))
    oid = placed["payload"]["response"]["data"]["statuses"][0]["resting"]["oid"]
    assert [o["oid"] for o in await rest.info("openOrders", user=alice.address)] == [oid]


async def test_user_fills_stream_can_carry_is_snapshot_false(venue_factory, http):
    exchange = await venue_factory(user_fills_stream_snapshot_key=True)
    rest = Rest(http, exchange.url)
    alice = Trader(rest, signer_for("alice"))
    ws = await open_ws(http, exchange)
    await ws.subscribe({"type": "userFills", "user": alice.address})
    assert (await ws.next("userFills"))["isSnapshot"] is True
    _, ask = await touch(rest)
    await alice.order(True, ask, "0.001", tif="Ioc")
    streamed = await ws.next("userFills")
    assert list(streamed) == ["isSnapshot", "user", "fills"] and streamed["isSnapshot"] is False
