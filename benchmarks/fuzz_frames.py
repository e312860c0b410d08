#!/usr/bin/env python
"""Fuzz the data client's frame handling with mutated real frames, and the local exchange with malformed requests.

    python benchmarks/fuzz_frames.py [--frames 10000] [--requests 1000] [--seed 12]

Frames: real ``l2Book`` and ``trades`` frames from the bundled recordings (the S3 archive hour, the 9-minute BTC
capture with trades, the hftbacktest capture), ``bbo`` frames made of those books' real top levels and the real
BTC ``activeAssetCtx`` of the nautilus_trader fixture. Each is re-timed to the receive clock (as the venue's own
clock would stamp it) and mutated once: a value replaced by a nasty one (``"nan"``, ``"1e400"``, ``-1``, ``2**64``,
``[]``…), a key or item removed, an unknown key added, the text truncated or one character changed, the data
nested 100,000 deep, or the data moved to another channel. The mutated text goes to the data client's frame
handler exactly as the socket would hand it over; after every frame counted malformed, a fresh valid frame of the
same channel follows and must be applied (book stored, quote/trade/mark emitted).

Requests: real-shaped ``/info`` bodies, a signed ``/exchange`` order, and WS subscribe/post messages, mutated the
same way, sent over HTTP and one WebSocket to the in-process local exchange; after each, a valid request must be
served (and the WebSocket must stay up).

Printed: escaped exceptions (goal 0: an exception out of the frame handler, an HTTP 5xx, an exception the server
logged, a dropped WebSocket), how many inputs were counted malformed or refused, and valid-after-malformed applied.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import aiohttp
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.data.messages import SubscribeFundingRates
from nautilus_trader.data.messages import SubscribeMarkPrices
from nautilus_trader.data.messages import SubscribeOrderBook
from nautilus_trader.data.messages import SubscribeQuoteTicks
from nautilus_trader.data.messages import SubscribeTradeTicks
from nautilus_trader.model.data import MarkPriceUpdate
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import TraderId

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from adapters.hyperliquid import actions  # noqa: E402
from adapters.hyperliquid.config import HyperliquidDataClientConfig  # noqa: E402
from adapters.hyperliquid.credentials import HyperliquidSigner  # noqa: E402
from adapters.hyperliquid.data import HyperliquidDataClient  # noqa: E402
from adapters.hyperliquid.factories import HyperliquidLiveDataClientFactory  # noqa: E402
from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY  # noqa: E402
from adapters.hyperliquid.local_exchange import LocalExchange  # noqa: E402
from adapters.hyperliquid.local_exchange import LocalExchangeConfig  # noqa: E402
from adapters.hyperliquid.local_exchange.config import DEFAULT_ARCHIVE  # noqa: E402
from adapters.hyperliquid.local_exchange.config import RESEARCH_DATA  # noqa: E402
from adapters.hyperliquid.nonces import NonceManager  # noqa: E402
from adapters.hyperliquid.recordings import iter_ws_messages  # noqa: E402

RECORDINGS = (
    DEFAULT_ARCHIVE,
    RESEARCH_DATA / "hl-collector-csv/recordings/hl_BTC_20250903.gz",
    RESEARCH_DATA / "hftbacktest/examples/hyperliquid/btcusd_20250126.gz",
)
ASSET_CTXS = RESEARCH_DATA / "nautilus_trader/crates/adapters/hyperliquid/test_data/ws_all_dexs_asset_ctxs.json"
BTC_ID = InstrumentId.from_str("BTC-USD-PERP.HYPERLIQUID")
CHANNELS = ("l2Book", "bbo", "trades", "activeAssetCtx")
DEEP = 100_000
NASTY = [
    "",
    " ",
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e400",
    "1e-400",
    "1e20",
    "1e400000000",
    "0x10",
    "9" * 5000,
    -1,
    0,
    2**53,
    2**64,
    10**30,
    1.5e308,
    None,
    True,
    [],
    {},
    [[[]]],
    {"px": "1"},
    "BTC",
    "A",
]


# -- mutations ---------------------------------------------------------------------------------------------


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            found += _paths(item, (*prefix, index))
    return found


def _parent(document: Any, path: tuple) -> Any:
    for key in path[:-1]:
        document = document[key]
    return document


def mutate(message: dict[str, Any], rng: random.Random) -> tuple[str, str]:
    """One mutation of a JSON message: (kind, text)."""
    kind = rng.choice(("replace", "replace", "replace", "delete", "add_key", "truncate", "char", "deep", "channel"))
    text = json.dumps(message)
    if kind == "truncate":
        return kind, text[: rng.randrange(len(text))]
    if kind == "char":
        position = rng.randrange(len(text))
        return kind, text[:position] + rng.choice('{}[]",:0-.eE\\ x\x00é') + text[position + 1 :]
    if kind == "deep":
        return kind, text[: text.rindex("}")] + ', "nested": ' + "[" * DEEP + "]" * DEEP + "}"
    mutated = copy.deepcopy(message)
    if kind == "channel" and "channel" in mutated:
        mutated["channel"] = rng.choice([c for c in (*CHANNELS, "user", "post", "nope") if c != mutated["channel"]])
        return kind, json.dumps(mutated)
    path = rng.choice(_paths(mutated))
    parent = _parent(mutated, path)
    if kind == "delete":
        del parent[path[-1]]
    elif kind == "add_key":
        target = parent[path[-1]]
        (target if isinstance(target, dict) else mutated)["unexpected"] = rng.choice(NASTY)
    else:
        parent[path[-1]] = rng.choice(NASTY)
    return kind, json.dumps(mutated)


# -- real frames -------------------------------------------------------------------------------------------


def real_frames() -> dict[str, list[Any]]:
    """The data of every BTC ``l2Book``/``trades`` frame of the recordings, ``bbo`` built from the books' top
    levels, and the real BTC asset context."""
    frames: dict[str, list[Any]] = {channel: [] for channel in CHANNELS}
    for path in RECORDINGS:
        for _, _, message in iter_ws_messages(path):
            if message.get("channel") in ("l2Book", "trades"):
                frames[message["channel"]].append(message["data"])
    for book in frames["l2Book"]:
        bids, asks = book["levels"]
        if bids and asks:
            frames["bbo"].append({"coin": book["coin"], "time": book["time"], "bbo": [bids[0], asks[0]]})
    ctx = json.loads(ASSET_CTXS.read_text())["data"]["ctxs"][0][1][0]
    frames["activeAssetCtx"].append({"coin": "BTC", "ctx": ctx})
    return frames


class Retimer:
    """Stamps frames with strictly increasing venue times at the receive clock, and fresh trade ids,
    so a valid frame is never stale or a duplicate for reasons of its recording date."""

    def __init__(self) -> None:
        self._last_ms = 0
        self._tid = 1

    def frame(self, channel: str, data: Any) -> dict[str, Any]:
        self._last_ms = max(self._last_ms + 1, time.time_ns() // 1_000_000)
        data = copy.deepcopy(data)
        if channel in ("l2Book", "bbo"):
            data["time"] = self._last_ms
        elif channel == "trades":
            for trade in data:
                trade["time"], trade["tid"] = self._last_ms, self._tid
                self._tid += 1
        return {"channel": channel, "data": data}


# -- the data client ---------------------------------------------------------------------------------------


@dataclass
class FrameReport:
    frames: int = 0
    escaped: int = 0
    malformed: int = 0
    accepted: int = 0
    follow_ups: int = 0
    follow_ups_applied: int = 0
    by_mutation: Counter = field(default_factory=Counter)
    seconds: float = 0.0


async def _data_client(exchange: LocalExchange) -> tuple[HyperliquidDataClient, list[Any]]:
    clock = LiveClock()
    msgbus = MessageBus(TraderId("FUZZ-001"), clock)
    received: list[Any] = []
    msgbus.register("DataEngine.process", received.append)
    config = HyperliquidDataClientConfig(
        environment="local",
        base_url_http=exchange.url,
        base_url_ws=exchange.ws_url,
        instrument_provider=InstrumentProviderConfig(load_all=True),
    )
    client = HyperliquidLiveDataClientFactory.create(
        asyncio.get_running_loop(), "HYPERLIQUID", config, msgbus, Cache(), clock
    )
    await client._connect()
    for command_type, handler in (
        (SubscribeOrderBook, client._subscribe_order_book_deltas),
        (SubscribeQuoteTicks, client._subscribe_quote_ticks),
        (SubscribeTradeTicks, client._subscribe_trade_ticks),
        (SubscribeMarkPrices, client._subscribe_mark_prices),
        (SubscribeFundingRates, client._subscribe_funding_rates),
    ):
        extra = (
            {"book_data_type": OrderBookDelta, "book_type": BookType.L2_MBP}
            if command_type is SubscribeOrderBook
            else {}
        )
        await handler(
            command_type(
                instrument_id=BTC_ID, client_id=None, venue=BTC_ID.venue, command_id=UUID4(), ts_init=0, **extra
            )
        )
    await asyncio.sleep(0.3)  # the subscription snapshots are in
    return client, received


def _applied(client: HyperliquidDataClient, received: list[Any], before: int, message: dict[str, Any]) -> bool:
    channel = message["channel"]
    if channel == "l2Book":
        return client._books["BTC"].last_venue_ms == message["data"]["time"]
    wanted = {"bbo": QuoteTick, "trades": TradeTick, "activeAssetCtx": MarkPriceUpdate}[channel]
    return any(isinstance(item, wanted) for item in received[before:])


async def fuzz_frames(n_frames: int, seed: int) -> FrameReport:
    rng = random.Random(seed)
    frames = real_frames()
    exchange = LocalExchange(LocalExchangeConfig(manual_clock=True, ip_weight_per_min=None))
    await exchange.start()
    client, received = await _data_client(exchange)
    retimer = Retimer()
    report = FrameReport()
    started = time.perf_counter()
    try:
        for index in range(n_frames):
            channel = CHANNELS[index % len(CHANNELS)]
            kind, text = mutate(retimer.frame(channel, rng.choice(frames[channel])), rng)
            report.frames += 1
            report.by_mutation[kind] += 1
            malformed_before = client.malformed_frames
            try:
                client._on_frame(text)
            except Exception:
                report.escaped += 1
                continue
            if client.malformed_frames == malformed_before:
                report.accepted += 1
                continue
            report.malformed += 1
            valid = retimer.frame(channel, rng.choice(frames[channel]))
            before = len(received)
            client._on_frame(json.dumps(valid))
            report.follow_ups += 1
            report.follow_ups_applied += _applied(client, received, before, valid)
            if index % 500 == 0:
                del received[:]
                await asyncio.sleep(0)  # let the socket's own frames through now and then
    finally:
        report.seconds = time.perf_counter() - started
        await client._disconnect()
        await exchange.stop()
    return report


# -- the local exchange ------------------------------------------------------------------------------------


@dataclass
class RequestReport:
    requests: int = 0
    escaped: int = 0
    refused: int = 0
    accepted: int = 0
    ws_dropped: int = 0
    follow_ups: int = 0
    follow_ups_served: int = 0
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0


class _ServerErrors(logging.Handler):
    """Counts what the local exchange logs with a traceback: an exception that reached its last line of defence."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _base_requests(signer: HyperliquidSigner, nonces: NonceManager) -> list[tuple[str, dict[str, Any]]]:
    user = signer.address
    wire = actions.limit_order_wire(0, True, "42000", "0.01", False, "Alo", "0x" + "ab" * 16)
    nonce = nonces.next_nonce()
    order = actions.exchange_payload(
        actions.order_action([wire, wire]),
        nonce,
        signer.sign_l1_action(actions.order_action([wire, wire]), nonce, is_mainnet=False),
    )
    cancel_nonce = nonces.next_nonce()
    cancel = actions.cancel_action([(0, 123)])
    return [
        ("/info", {"type": "l2Book", "coin": "BTC", "nSigFigs": 5, "mantissa": 2}),
        ("/info", {"type": "clearinghouseState", "user": user}),
        ("/info", {"type": "userFillsByTime", "user": user, "startTime": 0, "endTime": 2**40}),
        ("/info", {"type": "orderStatus", "user": user, "oid": "0x" + "ab" * 16}),
        (
            "/info",
            {"type": "candleSnapshot", "req": {"coin": "BTC", "interval": "1m", "startTime": 0, "endTime": 2**42}},
        ),
        ("/info", {"type": "fundingHistory", "coin": "BTC", "startTime": 0}),
        ("/exchange", order),
        (
            "/exchange",
            actions.exchange_payload(
                cancel, cancel_nonce, signer.sign_l1_action(cancel, cancel_nonce, is_mainnet=False)
            ),
        ),
        ("ws", {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "BTC"}}),
        ("ws", {"method": "subscribe", "subscription": {"type": "candle", "coin": "BTC", "interval": "1m"}}),
        ("ws", {"method": "post", "id": 7, "request": {"type": "info", "payload": {"type": "allMids"}}}),
        ("ws", {"method": "post", "id": 8, "request": {"type": "action", "payload": order}}),
    ]


async def fuzz_requests(n_requests: int, seed: int) -> RequestReport:
    rng = random.Random(seed)
    signer = HyperliquidSigner.from_key(TEST_ACCOUNT_KEY)
    exchange = LocalExchange(LocalExchangeConfig(manual_clock=True, fund_test_account=True, ip_weight_per_min=None))
    await exchange.start()
    errors = _ServerErrors()
    server_log = logging.getLogger("adapters.hyperliquid.local_exchange")
    server_log.addHandler(errors)
    base = _base_requests(signer, NonceManager())
    report = RequestReport()
    started = time.perf_counter()
    headers = {"Content-Type": "application/json"}
    try:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(exchange.ws_url)
            for _ in range(n_requests):
                path, message = rng.choice(base)
                kind, text = mutate(message, rng)
                report.requests += 1
                errors_before = errors.count
                if path == "ws":
                    if ws.closed:
                        report.ws_dropped += 1
                        ws = await http.ws_connect(exchange.ws_url)
                    await ws.send_str(text)
                    status = "ws"
                else:
                    async with http.post(exchange.url + path, data=text.encode(), headers=headers) as response:
                        status = response.status
                        body = await response.text()
                    report.statuses[status] += 1
                    if status >= 500:
                        report.escaped += 1
                    elif status != 200 or '"status":"err"' in body or '"error"' in body:
                        report.refused += 1
                    else:
                        report.accepted += 1
                report.follow_ups += 1
                report.follow_ups_served += await _served_after(http, exchange, ws)
                report.escaped += errors.count - errors_before
    finally:
        server_log.removeHandler(errors)
        report.seconds = time.perf_counter() - started
        await exchange.stop()
    return report


async def _served_after(
    http: aiohttp.ClientSession, exchange: LocalExchange, ws: aiohttp.ClientWebSocketResponse
) -> bool:
    """A valid info request is served over HTTP, and the WebSocket answers a ping (frames queued before it —
    acks, snapshots, error frames for the malformed message — are read past)."""
    async with http.post(exchange.url + "/info", json={"type": "allMids"}) as response:
        if response.status != 200:
            return False
    if ws.closed:
        return False
    await ws.send_str('{"method":"ping"}')
    try:
        async with asyncio.timeout(5):
            while True:
                message = await ws.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    return False
                if message.data == '{"channel":"pong"}':
                    return True
    except TimeoutError:
        return False


# -- report ------------------------------------------------------------------------------------------------


def print_reports(frames: FrameReport, requests: RequestReport, seed: int) -> None:
    print(f"\nfuzz (seed {seed})")
    print(
        f"data client: {frames.frames:,} mutated real frames in {frames.seconds:.1f} s ({frames.frames / max(frames.seconds, 1e-9):,.0f}/s)"
    )
    print(f"  escaped exceptions                    {frames.escaped:>8,}   (goal 0)")
    print(f"  counted malformed                     {frames.malformed:>8,}")
    print(f"  accepted (the mutation left it valid) {frames.accepted:>8,}")
    print(f"  valid frame after a malformed applied {frames.follow_ups_applied:>8,} / {frames.follow_ups:,}")
    print("  mutations: " + ", ".join(f"{kind} {count:,}" for kind, count in sorted(frames.by_mutation.items())))
    print(f"local exchange: {requests.requests:,} mutated requests in {requests.seconds:.1f} s")
    print(f"  escaped (HTTP 5xx, logged exception)  {requests.escaped:>8,}   (goal 0)")
    print(f"  WebSocket connections dropped         {requests.ws_dropped:>8,}   (goal 0)")
    print(f"  HTTP refused (4xx or err/error)       {requests.refused:>8,}")
    print(f"  HTTP accepted                         {requests.accepted:>8,}")
    print(f"  valid request after a malformed served{requests.follow_ups_served:>8,} / {requests.follow_ups:,}")
    print("  HTTP statuses: " + ", ".join(f"{status} {count:,}" for status, count in sorted(requests.statuses.items())))


async def run(n_frames: int, n_requests: int, seed: int) -> tuple[FrameReport, RequestReport]:
    return await fuzz_frames(n_frames, seed), await fuzz_requests(n_requests, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=10_000, help="mutated frames through the data client")
    parser.add_argument("--requests", type=int, default=1_000, help="mutated requests through the local exchange")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)
    frames, requests = asyncio.run(run(args.frames, args.requests, args.seed))
    print_reports(frames, requests, args.seed)
    clean = frames.escaped == requests.escaped == requests.ws_dropped == 0
    return 0 if clean and frames.follow_ups_applied == frames.follow_ups else 1


if __name__ == "__main__":
    sys.exit(main())
