"""The data client on its own, against the local exchange (manual clock), with the data engine replaced by a
list that records what the client hands it.

The central property: the live ``OrderBookDeltas`` stream is the catalog loader's delta stream for the same
snapshots, so a live book (and the queue positions resting in it) evolves exactly as in a backtest.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.data.messages import SubscribeData
from nautilus_trader.data.messages import SubscribeFundingRates
from nautilus_trader.data.messages import SubscribeMarkPrices
from nautilus_trader.data.messages import SubscribeOrderBook
from nautilus_trader.data.messages import SubscribeQuoteTicks
from nautilus_trader.data.messages import SubscribeTradeTicks
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import MarkPriceUpdate
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.model.instruments import CryptoPerpetual

from adapters.hyperliquid import loaders
from adapters.hyperliquid.config import HyperliquidDataClientConfig
from adapters.hyperliquid.data import HyperliquidDataClient
from adapters.hyperliquid.factories import HyperliquidLiveDataClientFactory
from adapters.hyperliquid.local_exchange import LocalExchange
from adapters.hyperliquid.meta import default_instrument
from adapters.hyperliquid.recordings import iter_ws_messages
from adapters.hyperliquid.schemas.market import L2Book
from mm_strategy.messages import KappaEstimate
from mm_strategy.messages import data_type
from tests.test_live_support import BTC_ID
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for


class Harness:
    def __init__(self, client: HyperliquidDataClient, exchange: LocalExchange, received: list[Any]) -> None:
        self.client = client
        self.exchange = exchange
        self.received = received

    def of(self, kind: type) -> list[Any]:
        return [item for item in self.received if isinstance(item, kind)]

    def book_batches(self) -> list[OrderBookDeltas]:
        return self.of(OrderBookDeltas)

    async def subscribe(self, command_type: type, **extra: Any) -> None:
        handler = {
            SubscribeOrderBook: self.client._subscribe_order_book_deltas,
            SubscribeQuoteTicks: self.client._subscribe_quote_ticks,
            SubscribeTradeTicks: self.client._subscribe_trade_ticks,
            SubscribeMarkPrices: self.client._subscribe_mark_prices,
            SubscribeFundingRates: self.client._subscribe_funding_rates,
        }[command_type]
        if command_type is SubscribeOrderBook:
            extra = {"book_data_type": OrderBookDelta, "book_type": BookType.L2_MBP, **extra}
        command = command_type(
            instrument_id=BTC_ID, client_id=None, venue=BTC_ID.venue, command_id=UUID4(), ts_init=0, **extra
        )
        await handler(command)


@pytest.fixture
async def harness_factory(exchange_factory) -> AsyncIterator[Any]:
    clients: list[HyperliquidDataClient] = []

    async def make(config_overrides: dict | None = None, manual_clock: bool = True, **exchange_overrides: Any) -> Harness:
        exchange = await exchange_factory(manual_clock=manual_clock, **exchange_overrides)
        clock = LiveClock()
        msgbus = MessageBus(TraderId("TESTER-001"), clock)
        received: list[Any] = []
        msgbus.register("DataEngine.process", received.append)
        config = HyperliquidDataClientConfig(
            environment="local",
            base_url_http=exchange.url,
            base_url_ws=exchange.ws_url,
            instrument_provider=InstrumentProviderConfig(load_all=True),
            reconnect_delay_initial_secs=0.05,
            **(config_overrides or {}),
        )
        client = HyperliquidLiveDataClientFactory.create(
            asyncio.get_running_loop(), "HYPERLIQUID", config, msgbus, Cache(), clock
        )
        await client._connect()
        clients.append(client)
        return Harness(client, exchange, received)

    yield make
    for client in clients:
        await client._disconnect()


def delta_rows(deltas: list[OrderBookDelta]) -> list[tuple]:
    """What a book consumer sees, without timestamps (the venue re-times the replay) or sequence numbers."""
    return [(d.action, d.order.side, d.order.price, d.order.size, d.flags) for d in deltas]


async def test_instruments_are_the_loaders_instrument(harness_factory):
    harness = await harness_factory()
    instruments = {i.id: i for i in harness.of(CryptoPerpetual)}
    assert instruments[BTC_ID] == default_instrument()
    live, catalog = instruments[BTC_ID], default_instrument()
    assert (live.price_precision, live.size_precision, live.info) == (catalog.price_precision, catalog.size_precision, catalog.info)
    assert live.quote_currency == live.settlement_currency == catalog.quote_currency


async def test_book_stream_is_the_catalog_loaders_delta_stream(harness_factory, archive_btc_hour):
    harness = await harness_factory()
    await harness.subscribe(SubscribeOrderBook)
    await wait_for(lambda: len(harness.book_batches()) == 1, 5, "the first snapshot")
    harness.exchange.step(60)
    # Frames of one socket arrive in order: once the bbo snapshot sent after the 60 pushes is in, so are they.
    await harness.subscribe(SubscribeQuoteTicks)
    await wait_for(lambda: harness.of(QuoteTick), 5, "the bbo snapshot")

    batches = harness.book_batches()
    live_deltas = [d for batch in batches for d in batch.deltas]
    # the catalogs' stream (``catalog_cli``): a repeated snapshot is a one-delta heartbeat batch, never nothing
    loaded = loaders.parse_file(archive_btc_hour, default_instrument(), heartbeat=True)
    assert len(batches) == 61, "the first snapshot and 60 pushes, repeats included: one batch each"
    assert delta_rows(live_deltas) == delta_rows(loaded.deltas[: len(live_deltas)]), "the loader's deltas, in order"
    assert loaded.deltas[len(live_deltas) - 1].flags & RecordFlag.F_LAST, "whole batches"
    first = batches[0].deltas
    assert first[0].action == BookAction.CLEAR and all(d.flags & RecordFlag.F_SNAPSHOT for d in first)
    for batch in batches:
        assert [bool(d.flags & RecordFlag.F_LAST) for d in batch.deltas] == [False] * (len(batch.deltas) - 1) + [True]
        assert all(d.ts_event <= d.ts_init for d in batch.deltas)


async def test_reconnect_and_stale_stream_restart_the_book_with_a_snapshot(harness_factory):
    harness = await harness_factory(config_overrides={"book_stale_secs": 0.4})
    await harness.subscribe(SubscribeOrderBook)
    await wait_for(lambda: len(harness.book_batches()) == 1, 5, "the first snapshot")
    harness.exchange.step(3)
    await wait_for(lambda: len(harness.book_batches()) >= 2, 5, "diffs")
    assert all(d.action != BookAction.CLEAR for b in harness.book_batches()[1:] for d in b.deltas)

    count = len(harness.book_batches())
    await harness.exchange.drop_ws_connections(abrupt=True)
    await wait_for(lambda: harness.client.ws.reconnects == 1 and len(harness.book_batches()) > count, 5, "resubscribed")
    after_reconnect = harness.book_batches()[count].deltas
    assert after_reconnect[0].action == BookAction.CLEAR, "the first book after a reconnect is a fresh snapshot"

    # The market now stands still (manual clock): the watchdog resubscribes and the book restarts again.
    count = len(harness.book_batches())
    await wait_for(lambda: harness.client.stale_resubscribes >= 1 and len(harness.book_batches()) > count, 5, "stale resubscribe")
    assert harness.book_batches()[count].deltas[0].action == BookAction.CLEAR


async def test_trades_quotes_mark_and_funding(harness_factory, ws_recording_btc):
    harness = await harness_factory(data=(ws_recording_btc,))
    subscribed_ns = LiveClock().timestamp_ns()
    for command_type in (SubscribeTradeTicks, SubscribeQuoteTicks, SubscribeMarkPrices, SubscribeFundingRates):
        await harness.subscribe(command_type)
    # The venue answers subscriptions in order: the last one's first push means every one is active.
    await wait_for(lambda: harness.of(FundingRateUpdate), 5, "the asset context")
    harness.exchange.advance(25.0)  # the 25.4 s recording, without looping back to its start
    loaded = loaders.parse_file(ws_recording_btc, default_instrument())
    await wait_for(lambda: len(harness.of(TradeTick)) >= len(loaded.trades), 5, "the recording's trades")
    trades = harness.of(TradeTick)
    ids = [t.trade_id.value for t in trades]
    assert len(ids) == len(set(ids)) == len(loaded.trades), "each trade once; the back-fill of old ones is history"
    assert [(t.price, t.size, t.aggressor_side) for t in trades] == [(t.price, t.size, t.aggressor_side) for t in loaded.trades]
    assert all(t.ts_event >= subscribed_ns for t in trades)

    await harness.exchange.drop_ws_connections(abrupt=True)
    await wait_for(lambda: harness.client.ws.reconnects == 1, 5, "reconnect")
    await asyncio.sleep(0.3)  # the venue re-sends its last 30 trades on resubscribing
    assert len(harness.of(TradeTick)) == len(trades), "re-sent trades are dropped as duplicates"

    quotes = harness.of(QuoteTick)
    assert quotes and all(q.bid_price < q.ask_price for q in quotes)
    assert harness.of(MarkPriceUpdate) and harness.of(FundingRateUpdate)


async def test_custom_data_subscriptions_are_ignored_silently(harness_factory):
    harness = await harness_factory()
    before = dict(harness.client.ws._subscriptions)
    command = SubscribeData(
        data_type=data_type(KappaEstimate, BTC_ID),
        instrument_id=BTC_ID,
        client_id=None,
        venue=BTC_ID.venue,
        command_id=UUID4(),
        ts_init=0,
    )
    await harness.client._subscribe(command)
    assert harness.client.ws._subscriptions == before


async def test_malformed_frames_are_counted_and_skipped(harness_factory, ws_recording_btc):
    harness = await harness_factory()
    await harness.subscribe(SubscribeOrderBook)
    await wait_for(lambda: len(harness.book_batches()) == 1, 5, "the first snapshot")
    for frame in (
        "",
        "{",
        "[1, 2]",
        '{"channel": "l2Book", "data": {"coin": "BTC", "time": 1, "levels": [[{"px": "x", "sz": "1"}], []]}}',
        '{"channel": "l2Book", "data": {"coin": "BTC", "time": "late", "levels": [[], []]}}',
        '{"channel": "bbo", "data": {"coin": "BTC"}}',
        # the venue's compact form, which the one-pass book decoder reads
        '{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[{"px":"-1","sz":"1"}],[]]}}',
        '{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[{"px":"x","sz":"1"}],[]]}}',
        '{"channel":"l2Book","data":{"coin":"BTC"}}',
        '{"channel":"l2Book",',
    ):
        harness.client._on_frame(frame)
    assert harness.client.malformed_frames == 10
    harness.exchange.step()
    await wait_for(lambda: len(harness.book_batches()) == 2, 5, "the next real frame")


def first_capture_book(path) -> dict:
    return next(message for _, _, message in iter_ws_messages(path) if message.get("channel") == "l2Book")


async def test_book_frames_the_loaders_refuse_are_refused_live(harness_factory, ws_recording_btc):
    """A numeric ``px``/``sz`` or a string ``time`` (a venue format change) is refused by ``L2Book``, the loaders'
    schema: the live path must refuse it too, in the venue's compact form (the one-pass decoder) and spaced (the
    envelope path), so that the node never trades on frames a backtest of its own recording would drop."""
    harness = await harness_factory()
    await harness.subscribe(SubscribeOrderBook)
    await wait_for(lambda: len(harness.book_batches()) == 1, 5, "the first snapshot")
    message = first_capture_book(ws_recording_btc)
    data, level = message["data"], message["data"]["levels"][0][0]
    changed = [
        {**data, "levels": [[{**level, "px": float(level["px"])}], []]},
        {**data, "levels": [[{**level, "sz": float(level["sz"])}], []]},
        {**data, "time": str(data["time"])},
        {**data, "levels": [[{**level, "n": str(level.get("n", 1))}], []]},
    ]
    for book in changed:
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(msgspec.json.encode(book), type=L2Book)
        for text in (msgspec.json.encode({"channel": "l2Book", "data": book}).decode(), json.dumps({"channel": "l2Book", "data": book})):
            before = harness.client.malformed_frames
            harness.client._on_frame(text)
            assert harness.client.malformed_frames == before + 1, text[:120]
    harness.exchange.step()
    await wait_for(lambda: len(harness.book_batches()) == 2, 5, "the next real frame")
