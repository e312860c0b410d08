"""/exchange: the order → fill → position → clearinghouseState round trip on the real BTC hour, every
rejection with the venue's own text, cancels, modifies, the dead man's switch, agents, nonces, budgets."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal

from adapters.hyperliquid import actions
from adapters.hyperliquid import signing
from adapters.hyperliquid.local_exchange import AccountConfig
from tests.test_local_exchange_support import BTC
from tests.test_local_exchange_support import MISSING_ORDER
from tests.test_local_exchange_support import btc_error
from tests.test_local_exchange_support import OK_DEFAULT
from tests.test_local_exchange_support import START_USDC
from tests.test_local_exchange_support import Rest
from tests.test_local_exchange_support import Trader
from tests.test_local_exchange_support import alice  # noqa: F401  (fixture)
from tests.test_local_exchange_support import exchange  # noqa: F401  (fixture)
from tests.test_local_exchange_support import http  # noqa: F401  (fixture)
from tests.test_local_exchange_support import rest  # noqa: F401  (fixture)
from tests.test_local_exchange_support import signer_for
from tests.test_local_exchange_support import touch
from tests.test_local_exchange_support import venue_factory  # noqa: F401  (fixture)
from tests.test_local_exchange_support import wire

MAKER = Decimal("0.00015")
TAKER = Decimal("0.00045")
USD = Decimal("0.000001")
CLOID = "0x" + "c1" * 16


def no_open_orders(exchange, user: str):
    return lambda: not exchange.venue.open_orders.get(user)


async def test_alo_bid_fills_when_the_book_crosses_then_closes_with_a_taker(exchange, alice, rest):
    bid, ask = await touch(rest)
    px = bid - 1  # one tick below the best bid: BTC at 42.7k trades in whole dollars
    resting = await alice.order(True, px, "0.01", cloid=CLOID)
    assert list(resting) == ["resting"] and resting["resting"]["cloid"] == CLOID
    assert exchange.advance_until(no_open_orders(exchange, alice.address), max_seconds=3600)

    crossed = await rest.info("l2Book", coin="BTC")
    assert Decimal(crossed["levels"][1][0]["px"]) <= px, "filled only once the replayed asks reached our bid"
    [fill] = await rest.info("userFills", user=alice.address)
    maker_fee = (px * Decimal("0.01") * MAKER).quantize(USD)
    assert fill["px"] == str(px)
    assert (fill["sz"], fill["side"], fill["dir"], fill["crossed"], fill["startPosition"], fill["closedPnl"]) == (
        "0.01", "B", "Open Long", False, "0.0", "0.0"
    )
    assert Decimal(fill["fee"]) == maker_fee and fill["oid"] == resting["resting"]["oid"] and fill["cloid"] == CLOID
    status = await rest.info("orderStatus", user=alice.address, oid=CLOID)
    assert status["order"]["status"] == "filled" and status["order"]["order"]["sz"] == "0.0"

    bid, ask = await touch(rest)
    mid = (bid + ask) / 2
    state = await rest.info("clearinghouseState", user=alice.address)
    position = state["assetPositions"][0]["position"]
    unrealized = Decimal("0.01") * (mid - px)
    account_value = START_USDC - maker_fee + unrealized
    assert (position["coin"], Decimal(position["szi"]), Decimal(position["entryPx"])) == ("BTC", Decimal("0.01"), px)
    assert Decimal(position["positionValue"]) == (Decimal("0.01") * mid).quantize(USD)
    assert Decimal(position["unrealizedPnl"]) == unrealized.quantize(USD)
    assert Decimal(position["marginUsed"]) == (Decimal("0.01") * mid / 20).quantize(USD)
    assert Decimal(state["marginSummary"]["accountValue"]) == account_value.quantize(USD)
    assert Decimal(state["marginSummary"]["totalRawUsd"]) == (account_value - Decimal("0.01") * mid).quantize(USD)
    assert Decimal(state["withdrawable"]) == (account_value - Decimal("0.01") * mid / 20).quantize(USD)

    # Close it: a reduce-only IOC sell takes the best bid as taker.
    closing = await alice.order(False, bid, "0.01", tif="Ioc", reduce_only=True)
    assert closing == {"filled": {"totalSz": "0.01", "avgPx": str(bid), "oid": closing["filled"]["oid"]}}
    close_fill = (await rest.info("userFills", user=alice.address))[0]
    assert (close_fill["dir"], close_fill["crossed"], close_fill["startPosition"]) == ("Close Long", True, "0.01")
    assert Decimal(close_fill["closedPnl"]) == Decimal("0.01") * (bid - px)
    assert Decimal(close_fill["fee"]) == (bid * Decimal("0.01") * TAKER).quantize(USD)
    state = await rest.info("clearinghouseState", user=alice.address)
    assert state["assetPositions"] == []
    cash = START_USDC - maker_fee - Decimal(close_fill["fee"]) + Decimal(close_fill["closedPnl"])
    assert Decimal(state["marginSummary"]["accountValue"]) == cash


async def test_ioc_walks_the_displayed_levels_and_consumes_them(exchange, alice, rest):
    book = await rest.info("l2Book", coin="BTC")
    asks = [(Decimal(level["px"]), Decimal(level["sz"])) for level in book["levels"][1]]
    size = asks[0][1] + Decimal("0.1")  # more than the best level holds
    limit = asks[1][0]
    taken = await alice.order(True, limit, size, tif="Ioc")
    expected_px = (asks[0][0] * asks[0][1] + asks[1][0] * Decimal("0.1")) / size
    assert Decimal(taken["filled"]["totalSz"]) == size
    assert Decimal(taken["filled"]["avgPx"]) == expected_px.quantize(Decimal("0.00000001"))
    fills = await rest.info("userFills", user=alice.address)
    assert [(f["px"], f["sz"], f["crossed"]) for f in fills] == [
        (str(asks[1][0]), "0.1", True), (str(asks[0][0]), str(asks[0][1]), True)
    ]
    assert fills[0]["hash"] == fills[1]["hash"], "one transaction"
    # Our taker does not move the replayed book, but what it took stays taken until the next snapshot.
    again = await alice.order(True, asks[0][0], "0.01", tif="Ioc")
    assert again == {"error": btc_error("Order could not immediately match against any resting orders.")}
    assert (await rest.info("l2Book", coin="BTC")) == book


async def test_gtc_that_crosses_fills_then_rests_the_remainder(exchange, alice, rest):
    book = await rest.info("l2Book", coin="BTC")
    best_ask, best_size = Decimal(book["levels"][1][0]["px"]), Decimal(book["levels"][1][0]["sz"])
    status = await alice.order(True, best_ask, best_size + Decimal("0.05"), tif="Gtc")
    assert list(status) == ["resting"]
    [resting] = await rest.info("openOrders", user=alice.address)
    assert (Decimal(resting["sz"]), Decimal(resting["origSz"])) == (Decimal("0.05"), best_size + Decimal("0.05"))
    [fill] = await rest.info("userFills", user=alice.address)
    assert Decimal(fill["sz"]) == best_size and fill["crossed"] is True


async def test_rejections_carry_the_venue_texts(venue_factory, http):
    small = signer_for("carol")
    exchange = await venue_factory(
        accounts=(AccountConfig(signer_for("alice").address, START_USDC), AccountConfig(small.address, Decimal(100)))
    )
    rest = Rest(http, exchange.url)
    alice, carol = Trader(rest, signer_for("alice")), Trader(rest, small)
    bid, ask = await touch(rest)
    alo_cross = f"Post only order would have immediately matched, bbo was {int(bid)}@{int(ask)}."
    cases = [
        (alice.order(True, "42651.5", "0.01"), "Price must be divisible by tick size."),
        (alice.order(True, "42651.55", "0.01"), "Order has invalid price."),
        (alice.order(True, bid - 1, "0.000001"), "Order has invalid size."),
        (alice.order(True, bid - 1, "0.0002"), "Order must have minimum value of $10."),
        (alice.order(True, ask, "0.01"), alo_cross),
        (alice.order(False, bid, "0.01"), alo_cross),
        (carol.order(True, bid - 1, "0.1"), "Insufficient margin to place order."),
        (alice.order(True, bid - 1, "0.01", reduce_only=True), "Reduce only order would increase position."),
        (alice.order(True, bid - 100, "0.01", "Ioc"), "Order could not immediately match against any resting orders."),
    ]
    for call, text in cases:
        assert await call == {"error": btc_error(text)}
    history = await rest.info("historicalOrders", user=alice.address)
    assert [h["status"] for h in history][::-1] == [
        "tickRejected", "tickRejected", "rejected", "minTradeNtlRejected", "badAloPxRejected", "badAloPxRejected",
        "reduceOnlyRejected", "iocCancelRejected",
    ]
    # A whole-request error for an asset that does not exist, and a per-cancel error for an unknown oid.
    order = actions.limit_order_wire(9999, True, bid - 1, "0.01", False, "Alo")
    assert await alice.act(actions.order_action([order])) == {"status": "err", "response": "Asset 9999 does not exist."}
    assert await alice.act(actions.cancel_action([(BTC, 123)])) == {
        "status": "ok",
        "response": {"type": "cancel", "data": {"statuses": [{"error": MISSING_ORDER}]}},
    }
    # A batch gets one status per order, in order.
    batch = await alice.orders(
        wire(True, bid - 2),
        wire(True, "42651.5"),
    )
    assert list(batch[0]) == ["resting"] and batch[1] == {"error": btc_error("Price must be divisible by tick size.")}


async def test_signature_failures_name_the_recovered_address(alice, rest):
    bid, _ = await touch(rest)
    action = actions.order_action([wire(True, bid - 1)])
    nonce = alice.nonces.next_nonce()
    # Signed for mainnet (source "a") while the local venue verifies as testnet: a stranger's address.
    signature = alice.signer.sign_l1_action(action, nonce, is_mainnet=True)
    stranger = signing.recover_l1_signer(action, nonce, None, None, signature, False)
    assert stranger != alice.address
    status, body = await rest.post("/exchange", actions.exchange_payload(action, nonce, signature))
    assert status == 200
    assert body == {"status": "err", "response": f"L1 error: User or API Wallet {stranger} does not exist."}
    # A price with a trailing zero is hashed as sent by the client but canonically by the venue (§4.3.3).
    sloppy = {"type": "order", "orders": [{**action["orders"][0], "p": f"{int(bid) - 1}.0"}], "grouping": "na"}
    body = await alice.act(sloppy)
    assert body["status"] == "err" and body["response"].startswith("L1 error: User or API Wallet 0x")
    assert alice.address not in body["response"]
    # Keys hashed in another order recover to someone else too.
    shuffled = {"orders": action["orders"], "type": "order", "grouping": "na"}
    assert (await alice.act(shuffled))["status"] == "err"
    assert await rest.info("openOrders", user=alice.address) == []


async def test_nonce_rules(alice, rest):
    bid, _ = await touch(rest)
    action = actions.order_action([wire(True, bid - 1)])
    nonce = alice.nonces.next_nonce()
    assert (await alice.act(action, nonce=nonce))["status"] == "ok"
    duplicate = await alice.act(action, nonce=nonce)
    assert duplicate == {"status": "err", "response": f"Invalid nonce: duplicate nonce {nonce}"}
    three_days_ago = int(time.time() * 1000) - 3 * 86_400_000
    old = await alice.act(action, nonce=three_days_ago)
    assert old["status"] == "err" and old["response"].startswith("Invalid nonce:")
    # The 100 highest are kept; a nonce below all of them is refused once the set is full.
    base = alice.nonces.next_nonce()
    for offset in range(100):
        assert (await alice.act(actions.noop_action(), nonce=base + 1000 + offset))["status"] == "ok"
    stale = await alice.act(actions.noop_action(), nonce=base + 1)
    assert stale["status"] == "err" and stale["response"].startswith("Invalid nonce:")


async def test_agent_wallet_must_be_approved_by_the_master(exchange, alice, rest):
    agent = Trader(rest, signer_for("alice-agent"))
    bid, _ = await touch(rest)
    refused = await agent.act(actions.order_action([wire(True, bid - 1)]))
    assert refused == {"status": "err", "response": f"L1 error: User or API Wallet {agent.address} does not exist."}
    assert await alice.approve_agent(agent.address) == OK_DEFAULT
    placed = await agent.order(True, bid - 1, "0.01")
    [order] = await rest.info("openOrders", user=alice.address)
    assert order["oid"] == placed["resting"]["oid"]
    assert await rest.info("openOrders", user=agent.address) == [], "the agent's own address holds nothing"
    # A new unnamed agent replaces the old one.
    successor = Trader(rest, signer_for("alice-agent-2"))
    await alice.approve_agent(successor.address)
    assert (await agent.act(actions.noop_action()))["status"] == "err"
    assert (await successor.act(actions.noop_action()))["status"] == "ok"
    # An agent cannot approve agents: user-signed actions need the master's key.
    assert (await agent.approve_agent(signer_for("x").address))["response"].startswith("L1 error: User or API Wallet")


async def test_vault_and_expiry_and_deposit_checks(venue_factory, http):
    broke = signer_for("dave")
    accounts = (AccountConfig(signer_for("alice").address, START_USDC), AccountConfig(broke.address, Decimal(0)))
    exchange = await venue_factory(accounts=accounts)
    rest = Rest(http, exchange.url)
    alice = Trader(rest, signer_for("alice"))
    vault = "0x" + "ab" * 20
    unregistered = await alice.act(actions.noop_action(), vault_address=vault)
    assert unregistered == {"status": "err", "response": f"Vault not registered: {vault}"}
    expired = await alice.act(actions.noop_action(), expires_after=int(time.time() * 1000) - 1000)
    assert expired["status"] == "err" and expired["response"].startswith("Action expired")
    assert (await alice.act(actions.noop_action(), expires_after=int(time.time() * 1000) + 60_000))["status"] == "ok"
    assert await Trader(rest, broke).act(actions.noop_action()) == {
        "status": "err", "response": f"Must deposit before performing actions. User: {broke.address}"
    }


async def test_cancel_and_cancel_by_cloid(alice, rest):
    bid, _ = await touch(rest)
    first = (await alice.order(True, bid - 3, "0.01"))["resting"]["oid"]
    await alice.order(True, bid - 4, "0.01", cloid=CLOID)
    by_oid = await alice.act(actions.cancel_action([(BTC, first)]))
    by_cloid = await alice.act(actions.cancel_by_cloid_action([(BTC, CLOID)]))
    assert by_oid["response"]["data"]["statuses"] == by_cloid["response"]["data"]["statuses"] == ["success"]
    again = await alice.act(actions.cancel_action([(BTC, first)]))
    assert again["response"]["data"]["statuses"] == [{"error": MISSING_ORDER}]
    assert await rest.info("openOrders", user=alice.address) == []
    assert (await rest.info("orderStatus", user=alice.address, oid=first))["order"]["status"] == "canceled"


async def test_modify_is_cancel_replace_keeping_the_cloid(alice, rest):
    bid, _ = await touch(rest)
    old = (await alice.order(True, bid - 3, "0.01", cloid=CLOID))["resting"]["oid"]
    new_wire = wire(True, bid - 2, "0.02", cloid=CLOID)
    assert await alice.act(actions.modify_action(old, new_wire)) == OK_DEFAULT
    [current] = await rest.info("frontendOpenOrders", user=alice.address)
    assert current["oid"] != old and current["cloid"] == CLOID
    assert (Decimal(current["limitPx"]), current["sz"]) == (bid - 2, "0.02")
    assert (await rest.info("orderStatus", user=alice.address, oid=old))["order"]["status"] == "canceled"
    # batchModify by cloid answers like an order action.
    body = await alice.act(actions.batch_modify_action([(CLOID, wire(True, bid - 5, "0.02", cloid=CLOID))]))
    assert body["response"]["type"] == "order" and list(body["response"]["data"]["statuses"][0]) == ["resting"]
    # A modify whose new order would cross has still cancelled the old one, as live (its cancel half runs first).
    crossing = wire(True, bid + 50, "0.02", cloid=CLOID)
    body = await alice.act(actions.batch_modify_action([(CLOID, crossing)]))
    error = body["response"]["data"]["statuses"][0]["error"]
    assert error.startswith("Error placing new order during modify: Post only order would have immediately matched")
    assert await rest.info("openOrders", user=alice.address) == []
    missing = await alice.act(actions.modify_action(1, new_wire))
    assert missing == {"status": "err", "response": "Cannot modify canceled or filled order"}


async def test_schedule_cancel_is_a_dead_mans_switch(exchange, alice, rest):
    exchange.venue.config = replace(exchange.venue.config, schedule_cancel_min_volume_usd=0)  # $1M traded live
    bid, _ = await touch(rest)
    await alice.order(True, bid - 3, "0.01")
    await alice.order(True, bid - 4, "0.01")
    now = exchange.clock.now_ms()
    too_early = await alice.act(actions.schedule_cancel_action(now + 1000))
    assert too_early["status"] == "err"
    assert await alice.act(actions.schedule_cancel_action(now + 6000)) == OK_DEFAULT
    exchange.advance_to(now + 5900)
    assert len(await rest.info("openOrders", user=alice.address)) == 2
    exchange.advance_to(now + 6100)
    assert await rest.info("openOrders", user=alice.address) == []
    history = await rest.info("historicalOrders", user=alice.address)
    assert {h["status"] for h in history} == {"scheduledCancel"}
    # Clearing (no time key) disarms it.
    await alice.order(True, bid - 3, "0.01")
    await alice.act(actions.schedule_cancel_action(exchange.clock.now_ms() + 6000))
    await alice.act(actions.schedule_cancel_action(None))
    exchange.advance(10)
    assert len(await rest.info("openOrders", user=alice.address)) == 1


async def test_update_leverage_changes_margin(exchange, alice, rest):
    assert await alice.act(actions.update_leverage_action(BTC, True, 5)) == OK_DEFAULT
    _, ask = await touch(rest)
    await alice.order(True, ask, "0.01", tif="Ioc")
    position = (await rest.info("clearinghouseState", user=alice.address))["assetPositions"][0]["position"]
    assert position["leverage"] == {"type": "cross", "value": 5}
    assert Decimal(position["marginUsed"]) == (Decimal(position["positionValue"]) / 5).quantize(USD)
    assert (await alice.act(actions.update_leverage_action(BTC, True, 51)))["status"] == "err"


async def test_address_budget_is_enforced_but_cancels_still_pass(venue_factory, http):
    limited = AccountConfig(signer_for("alice").address, START_USDC, n_requests_used=10_000)
    exchange = await venue_factory(accounts=(limited,))
    rest = Rest(http, exchange.url)
    alice = Trader(rest, signer_for("alice"))
    bid, _ = await touch(rest)
    first = await alice.order(True, bid - 1, "0.01")  # the once-per-10-s allowance of a limited address
    assert "resting" in first
    refused = await alice.act(actions.order_action([wire(True, bid - 2)]))
    assert refused == {
        "status": "err",
        "response": "Too many cumulative requests sent (10002 > 10000) for cumulative volume traded $0.00. "
        "Place taker orders to free up 1 request per USDC traded.",
    }
    cancel = await alice.act(actions.cancel_action([(BTC, first["resting"]["oid"])]))
    assert cancel["response"]["data"]["statuses"] == ["success"]
    assert (await rest.info("userRateLimit", user=alice.address))["nRequestsUsed"] == 10_002


async def test_malformed_exchange_requests_never_crash(alice, rest):
    good = alice.payload(actions.noop_action())
    signature = good["signature"]
    order = {"a": 0, "b": True, "p": "42000", "s": "1", "r": False, "t": {"limit": {"tif": "Alo"}}}

    def order_body(**changes):
        action = {"type": "order", "orders": [{**order, **changes}], "grouping": "na"}
        return {"action": action, "nonce": 1, "signature": signature}

    cases = [
        ("{", 400),
        ({"action": {"type": "bogus"}, "nonce": 1, "signature": signature}, 422),
        ({"action": {"type": "order", "orders": [{"a": 0}], "grouping": "na"}, "nonce": 1}, 422),
        (order_body(b=1), 422),
        (order_body(p=42000), 422),
        (order_body(t={"limit": {"tif": "Day"}}), 422),
        ({**good, "nonce": "1"}, 422),
        ({**good, "signature": {"r": "0xzz", "s": "0x1", "v": 27}}, 422),
        ({**good, "signature": {"r": "0x1", "s": "0x1", "v": 30}}, 422),
        ({k: v for k, v in good.items() if k != "signature"}, 422),
        ([], 422),
    ]
    for body, status in cases:
        got_status, got = await rest.post("/exchange", body, raw=isinstance(body, str))
        assert got_status == status, (body, got_status, got)
        assert isinstance(got, str) and "Traceback" not in got
    assert (await alice.act(actions.noop_action()))["status"] == "ok", "still serving"


async def test_margin_counts_resting_orders_and_nets_bids_against_asks(venue_factory, http):
    small = signer_for("carol")
    exchange = await venue_factory(accounts=(AccountConfig(small.address, Decimal(100)),))
    rest = Rest(http, exchange.url)
    carol = Trader(rest, small)
    bid, ask = await touch(rest)
    # 100 USDC at the default 20x carries 2000 USDC of worst-case exposure: one 0.04 BTC bid (~1709 USDC).
    assert "resting" in await carol.order(True, bid - 1, "0.04")
    assert await carol.order(True, bid - 2, "0.04") == {"error": btc_error("Insufficient margin to place order.")}
    assert "resting" in await carol.order(False, ask + 1, "0.04"), "an ask nets against the bid"
    assert await carol.order(False, ask + 2, "0.01") == {"error": btc_error("Insufficient margin to place order.")}


async def test_reduce_only_gtc_larger_than_the_position_cancels_the_rest(alice, rest):
    _, ask = await touch(rest)
    await alice.order(True, ask, "0.01", tif="Ioc")
    bid, _ = await touch(rest)
    closing = await alice.order(False, bid, "0.05", tif="Gtc", reduce_only=True)
    assert closing["filled"]["totalSz"] == "0.01"
    assert await rest.info("openOrders", user=alice.address) == []
    status = await rest.info("orderStatus", user=alice.address, oid=closing["filled"]["oid"])
    assert (status["order"]["status"], status["order"]["order"]["sz"]) == ("reduceOnlyCanceled", "0.04")


async def test_closed_orders_are_forgotten_oldest_first(exchange, alice, rest, monkeypatch):
    from adapters.hyperliquid.local_exchange import engine

    monkeypatch.setattr(engine, "_ORDERS_KEPT", 10)
    bid, _ = await touch(rest)
    keep = (await alice.order(True, bid - 1, "0.01"))["resting"]["oid"]
    rejected = [(await alice.order(True, bid - 100, "0.01", tif="Ioc")) for _ in range(12)]
    assert all("error" in r for r in rejected)
    history = await rest.info("historicalOrders", user=alice.address)
    assert len(history) <= 10 and history[-1]["order"]["oid"] == keep, "open orders are never forgotten"


async def test_frontend_market_orders_and_the_asset_suffix_variant(venue_factory, http):
    exchange = await venue_factory(error_asset_suffix=True)
    rest = Rest(http, exchange.url)
    alice = Trader(rest, signer_for("alice"))
    bid, ask = await touch(rest)

    def market(px):  # the UI's tif (§3.2); the SDK builders only make Alo/Gtc/Ioc
        return {**wire(True, px, tif="Ioc"), "t": {"limit": {"tif": "FrontendMarket"}}}

    [taken, starved] = await alice.orders(market(ask + 10), market(bid - 10))
    assert taken["filled"]["totalSz"] == "0.01"
    assert starved == {"error": "No liquidity available for market order. asset=0"}
    assert await alice.order(True, "42651.5", "0.01") == {"error": "Price must be divisible by tick size. asset=0"}
