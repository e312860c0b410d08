"""The local exchange under hostile or unlucky input (issue 12): numbers bounded before they are expanded, cheap
checks before signature recovery, one status per order of a batch, deep JSON refused cleanly, and a restart
that reopens the port even with a request in flight."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import aiohttp
import pytest

from adapters.hyperliquid import actions
from adapters.hyperliquid.local_exchange import errors
from adapters.hyperliquid.local_exchange import exchange as exchange_module
from adapters.hyperliquid.local_exchange.errors import BadRequest
from adapters.hyperliquid.local_exchange.schema import parse_envelope
from tests.test_local_exchange_support import MISSING_ORDER
from tests.test_local_exchange_support import btc_error
from tests.test_local_exchange_support import alice  # noqa: F401  (fixture)
from tests.test_local_exchange_support import exchange  # noqa: F401  (fixture)
from tests.test_local_exchange_support import http  # noqa: F401  (fixture)
from tests.test_local_exchange_support import open_ws
from tests.test_local_exchange_support import rest  # noqa: F401  (fixture)
from tests.test_local_exchange_support import touch
from tests.test_local_exchange_support import venue_factory  # noqa: F401  (fixture)
from tests.test_local_exchange_support import wire

GARBAGE_SIGNATURE = {"r": "0x" + "11" * 32, "s": "0x" + "22" * 32, "v": 27}
DEEP = 100_000


def unsigned_order(px: str, sz: str, nonce: int = 1_700_000_000_000) -> dict:
    order = {"a": 0, "b": True, "p": px, "s": sz, "r": False, "t": {"limit": {"tif": "Alo"}}}
    return {
        "action": {"type": "order", "orders": [order], "grouping": "na"},
        "nonce": nonce,
        "signature": GARBAGE_SIGNATURE,
    }


@pytest.mark.parametrize(
    ("px", "sz", "field"),
    [
        ("1e400000000", "0.01", "orders[0].p"),  # 400 million digits once written out
        ("42000", "1e-400000000", "orders[0].s"),
        ("1" * 10_000, "0.01", "orders[0].p"),
        ("42000", "0." + "0" * 50 + "1", "orders[0].s"),
    ],
)
def test_numbers_are_bounded_before_they_are_expanded(px, sz, field):
    """Defect 2: ``"1e400000000"`` used to be written out in full (5.6 s, +0.9 GB) before the signature check."""
    with pytest.raises(BadRequest) as refused:
        parse_envelope(unsigned_order(px, sz))
    assert refused.value.status == 422 and field in refused.value.text and "invalid decimal" in refused.value.text


def test_numbers_in_range_keep_their_canonical_form():
    envelope = parse_envelope(unsigned_order("42651.0", "1E-2"))
    assert (envelope.action["orders"][0]["p"], envelope.action["orders"][0]["s"]) == ("42651", "0.01")
    huge = parse_envelope(unsigned_order("42651", "1e30"))
    assert huge.action["orders"][0]["s"] == "1" + "0" * 30, "absurd but short: left to the per-order checks"


async def test_an_unsigned_absurd_number_is_refused_over_http(exchange, rest):
    status, body = await rest.post("/exchange", unsigned_order("1e400000000", "0.01"))
    assert status == 422 and "orders[0].p" in body


async def test_cheap_checks_come_before_signature_recovery(exchange, rest, monkeypatch):
    """Defect 2: a request whose nonce is outside the window is refused without recovering a signer."""
    recovered = []
    real = exchange_module.recover_l1_signer
    monkeypatch.setattr(exchange_module, "recover_l1_signer", lambda *a: recovered.append(a) or real(*a))
    stale_nonce = exchange.clock.now_ms() - 3 * 86_400_000
    status, body = await rest.post("/exchange", unsigned_order("42000", "0.01", nonce=stale_nonce))
    assert status == 200 and body["status"] == "err" and body["response"].startswith("Invalid nonce")
    assert recovered == []


async def test_each_order_of_a_batch_gets_its_own_status(exchange, alice, rest):
    """Defect 3: ``[good, good, size 1e30]`` used to be an HTTP 500 with the two good orders resting unseen."""
    bid, _ = await touch(rest)
    statuses = await alice.orders(
        wire(True, bid - 10, "0.01"), wire(True, bid - 11, "0.01"), wire(True, bid - 12, "1e30")
    )
    assert [list(status) for status in statuses] == [["resting"], ["resting"], ["error"]]
    assert statuses[2]["error"] == btc_error(errors.INVALID_SIZE)
    open_oids = {order["oid"] for order in await rest.info("openOrders", user=alice.address)}
    assert open_oids == {statuses[0]["resting"]["oid"], statuses[1]["resting"]["oid"]}


@pytest.mark.parametrize("sz", ["1e29", "99999999999999999999999999999.5", "12345678901234567890123456789012345678"])
async def test_sizes_beyond_decimal_precision_are_invalid_sizes(exchange, alice, rest, sz):
    bid, _ = await touch(rest)
    assert await alice.order(True, bid - 10, sz) == {"error": btc_error(errors.INVALID_SIZE)}


async def test_prices_beyond_decimal_precision_are_rejected_per_order(exchange, alice, rest):
    assert await alice.order(True, "1234567890123456789012345678901.5", "0.01") == {"error": btc_error(errors.TICK)}
    assert await alice.order(True, "1234567890123456789012345678901.55", "0.01") == {"error": btc_error(errors.INVALID_PRICE)}
    cancel = await alice.act(actions.cancel_action([(0, 1)]))
    assert cancel["response"]["data"]["statuses"] == [{"error": MISSING_ORDER}], "the exchange still answers"


async def test_deeply_nested_json_is_a_clean_parse_error(exchange, rest, http):
    """Defect 6: a ``RecursionError`` used to give HTTP 500 and drop WebSocket connections."""
    nested = "[" * DEEP + "]" * DEEP
    for path in ("/info", "/exchange"):
        status, body = await rest.post(path, nested, raw=True)
        assert status == 400 and body.startswith("Failed to parse the request body as JSON"), (path, status, body)
        status, body = await rest.post(
            path, json.dumps({"type": "meta", "x": 1})[:-1] + ', "y": ' + nested + "}", raw=True
        )
        assert status == 400, (path, status)
    ws = await open_ws(http, exchange)
    await ws.send('{"method": "subscribe", "subscription": ' + nested + "}")
    assert (await ws.next("error")).startswith("Error parsing JSON into valid websocket request")
    await ws.send({"method": "ping"})
    assert await ws.next("pong") is None, "the connection survived"


async def test_restart_reopens_the_port_with_a_request_in_flight(exchange, alice, rest):
    """Defect 5: a connection the shutdown did not know about kept the port closed for aiohttp's 60 s."""
    bid, _ = await touch(rest)
    exchange.faults.delay(action="order", delay_s=120.0, count=1)
    in_flight = asyncio.create_task(
        alice.rest.post("/exchange", alice.payload(actions.order_action([wire(True, bid - 10)])))
    )
    await asyncio.sleep(0.2)  # the request is inside the server, held by the delay fault
    async with asyncio.timeout(20):  # deadline far below the 60 s the port used to stay closed
        await exchange.restart(downtime_s=0.1)
    with pytest.raises(aiohttp.ClientError):
        await in_flight
    assert await rest.info("allMids") is not None, "serving again on the same port"


def test_bound_constants_leave_room_for_every_real_number():
    """The largest real values (a BTC price, a big size) are far inside the bound."""
    envelope = parse_envelope(unsigned_order("99999", "123456.12345"))
    assert Decimal(envelope.action["orders"][0]["s"]) == Decimal("123456.12345")


@pytest.mark.parametrize("field", ["a", "nonce"])
async def test_integers_beyond_u64_are_refused_before_hashing(exchange, rest, field):
    """Found by fuzzing: an asset id of 2**64 reached msgpack (OverflowError, HTTP 500) before any check."""
    body = unsigned_order("42000", "0.01", nonce=exchange.clock.now_ms())
    if field == "a":
        body["action"]["orders"][0]["a"] = 2**64
    else:
        body["nonce"] = 2**64
    status, text = await rest.post("/exchange", body)
    assert status == 422 and "invalid type" in text, (status, text)
