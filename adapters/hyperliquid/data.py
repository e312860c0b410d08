"""``HyperliquidDataClient``: the venue's public streams as NautilusTrader market data.

- ``l2Book`` → ``OrderBookDeltas``. Every push is a full snapshot; ``SnapshotDiffer`` (the catalog loader's
  differ) turns it into the ADD/UPDATE/DELETE deltas from the previous one, so the live book, queue positions
  and fills behave exactly as in a backtest of a recording. Live, it diffs the venue's level strings and parses
  only the levels that changed (``diff_raw_batch``: the same deltas as the loader's float diff). The first
  snapshot of a subscription, and the first after every reconnect or stale-stream resubscribe, is emitted whole
  (CLEAR + ADDs, ``F_SNAPSHOT``): after a gap only a fresh snapshot is known-good. ``F_LAST`` closes every batch.
- ``bbo`` → ``QuoteTick`` (the venue pushes it when the top changes, as the loaders derive quotes).
- ``trades`` → ``TradeTick``, deduplicated by ``(time, tid)``; the trades the venue back-fills on subscribing
  that predate the subscription are history and are dropped, as the loaders drop them.
- ``activeAssetCtx`` → ``MarkPriceUpdate`` and ``FundingRateUpdate`` (one venue stream for both).

Timestamps follow the loaders: ``ts_init`` is the receive time, ``ts_event`` the venue time capped at it, and a
snapshot older than the previous one is dropped. A venue time that is negative or far ahead of the receive time
is malformed (``parsing.event_ns``): taken as the stream's last time it would make every later snapshot look stale.
A watchdog resubscribes a book that has *applied* nothing for ``book_stale_secs`` (the stream can stall with the
socket open, protocol §9.10, and frames that arrive but are dropped do not count as life). Receive time says only
that frames arrive: a venue that lags (its API serving blocks seconds behind) keeps pushing books that are old
when they land. A book applied more than ``book_lag_secs`` after its venue time is counted in ``lagging_books``,
and each episode is logged when it starts and when the venue catches up. A frame that cannot be
used, whatever the exception, is logged, counted in ``malformed_frames`` and skipped; it costs nothing that comes
after it (a snapshot is validated before the book differ stores it). Subscriptions to our own custom data
(estimates that actors publish on the bus) are none of the venue's business and are ignored silently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.data.messages import SubscribeData
from nautilus_trader.data.messages import SubscribeFundingRates
from nautilus_trader.data.messages import SubscribeInstrument
from nautilus_trader.data.messages import SubscribeInstruments
from nautilus_trader.data.messages import SubscribeMarkPrices
from nautilus_trader.data.messages import SubscribeOrderBook
from nautilus_trader.data.messages import SubscribeQuoteTicks
from nautilus_trader.data.messages import SubscribeTradeTicks
from nautilus_trader.data.messages import UnsubscribeData
from nautilus_trader.data.messages import UnsubscribeFundingRates
from nautilus_trader.data.messages import UnsubscribeInstrument
from nautilus_trader.data.messages import UnsubscribeInstruments
from nautilus_trader.data.messages import UnsubscribeMarkPrices
from nautilus_trader.data.messages import UnsubscribeOrderBook
from nautilus_trader.data.messages import UnsubscribeQuoteTicks
from nautilus_trader.data.messages import UnsubscribeTradeTicks
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from adapters.hyperliquid.book_diff import SnapshotDiffer
from adapters.hyperliquid.config import HyperliquidDataClientConfig
from adapters.hyperliquid.constants import HYPERLIQUID_CLIENT_ID
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.instruments import HYPERLIQUID_VENUE
from adapters.hyperliquid.parsing import RecentKeys
from adapters.hyperliquid.parsing import event_ns
from adapters.hyperliquid.parsing import ms_to_ns
from adapters.hyperliquid.providers import HyperliquidInstrumentProvider
from adapters.hyperliquid.schemas.market import ActiveAssetCtx
from adapters.hyperliquid.schemas.market import Bbo
from adapters.hyperliquid.schemas.market import BOOK_FRAME_DECODER
from adapters.hyperliquid.schemas.market import BOOK_FRAME_PREFIX
from adapters.hyperliquid.schemas.market import L2Book
from adapters.hyperliquid.schemas.market import Trade
from adapters.hyperliquid.schemas.ws import WsMessage
from adapters.hyperliquid.websocket.client import HyperliquidWebSocketClient
from adapters.hyperliquid.websocket.client import wait_or_stop
from adapters.hyperliquid.websocket.recorder import RECORDED_CHANNELS
from adapters.hyperliquid.websocket.recorder import FrameRecorder

_decode_message = msgspec.json.Decoder(WsMessage).decode
_decode_book_frame = BOOK_FRAME_DECODER.decode
_decode_book = msgspec.json.Decoder(L2Book).decode
_decode_bbo = msgspec.json.Decoder(Bbo).decode
_decode_trades = msgspec.json.Decoder(list[Trade]).decode
_decode_asset_ctx = msgspec.json.Decoder(ActiveAssetCtx).decode
_TRADE_KEYS_KEPT = 10_000
_WATCHDOG_MAX_PERIOD_S = 5.0
# A lost market socket empties the books only when it is not back within this (``_on_disconnected``)
DISCONNECT_GRACE_S = 1.0


@dataclass(slots=True)
class _BookStream:
    differ: SnapshotDiffer
    last_venue_ms: int = 0
    last_applied_s: float = field(default_factory=time.monotonic)  # what the staleness watchdog measures
    lagging: bool = False  # the last applied book was more than book_lag_secs behind its receipt

    def restart(self) -> None:
        """Forget the book: the next snapshot is emitted whole."""
        self.differ.reset()
        self.last_venue_ms = 0
        self.last_applied_s = time.monotonic()


@dataclass(slots=True)
class _TradeStream:
    since_ns: int  # trades before the subscription are the venue's back-fill: history, not events
    seen: RecentKeys = field(default_factory=lambda: RecentKeys(_TRADE_KEYS_KEPT))


class HyperliquidDataClient(LiveMarketDataClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        http_client: HyperliquidHttpClient,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: HyperliquidInstrumentProvider,
        config: HyperliquidDataClientConfig,
        name: str | None = None,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=ClientId(name) if name else HYPERLIQUID_CLIENT_ID,
            venue=HYPERLIQUID_VENUE,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=instrument_provider,
            config=config,
        )
        self._provider = instrument_provider
        self._http = http_client
        self._config = config
        self._ws = HyperliquidWebSocketClient.for_config(
            config, self._on_frame, self._log, self._on_reconnected, self._on_disconnected
        )
        self._books: dict[str, _BookStream] = {}
        self._trades: dict[str, _TradeStream] = {}
        self._quote_coins: set[str] = set()
        self._ctx_users: dict[str, set[str]] = {}  # coin -> {"mark", "funding"}
        self._handlers: dict[str, Callable[[msgspec.Raw, int], None]] = {
            "l2Book": self._on_book,
            "bbo": self._on_bbo,
            "trades": self._on_trades,
            "activeAssetCtx": self._on_asset_ctx,
            "error": self._on_venue_error,
            "subscriptionResponse": _ignore,
            "pong": _ignore,
        }
        self._recorder: FrameRecorder | None = None
        self._stopping = asyncio.Event()
        self.malformed_frames = 0
        self.stale_resubscribes = 0
        self.lagging_books = 0
        self._book_lag_ns = int(config.book_lag_secs * 1e9)

    @property
    def ws(self) -> HyperliquidWebSocketClient:
        return self._ws

    # -- connection ------------------------------------------------------------------------------------

    async def _connect(self) -> None:
        await self._provider.initialize()
        for instrument in self._provider.list_all():
            self._handle_data(instrument)
        if self._config.record_path is not None:
            self._recorder = FrameRecorder(self._config.record_path)
            self._log.info(f"recording market frames to {self._recorder.path}")
        await self._ws.connect()
        self._stopping.clear()
        self.create_task(self._watch_books(), log_msg="book staleness watchdog")

    async def _disconnect(self) -> None:
        self._stopping.set()
        await self._ws.disconnect()
        await self._http.close()
        if self._recorder is not None:
            self._recorder.close()
            self._log.info(f"recorded {self._recorder.frames} frames to {self._recorder.path}")

    def _on_disconnected(self) -> None:
        """The market socket is lost: unless it is back within ``DISCONNECT_GRACE_S``, every subscribed book is
        emptied (one CLEAR each), so the strategy pulls its quotes (an empty book is an invalid one to its kill
        switch) and no actor reads a frozen book from the cache. Kept, the last book was quoted against until the
        5 s stale pull (review: 6 quotes rested 6 s on a socket whose reconnects were refused for 12 s). The grace
        spares the common quick reconnect (the fault suite's took 0.03–0.3 s) a cancel and re-placement of every
        quote and the queue positions they held: emptied at once, the suite's node got 0–3 fills where it had 4–7."""
        if self._stopping.is_set():
            return  # a clean stop: the node cancels its orders itself
        self.create_task(self._empty_books_if_still_down(self._ws.reconnects), log_msg="empty books of a lost socket")

    async def _empty_books_if_still_down(self, reconnects_at_loss: int) -> None:
        await asyncio.sleep(DISCONNECT_GRACE_S)
        if self._stopping.is_set() or self._ws.reconnects != reconnects_at_loss:
            return  # stopped, or back: the reconnect restarts every stream and its first books are emitted whole
        now_ns = self._clock.timestamp_ns()
        for stream in self._books.values():
            clear = stream.differ.clear(now_ns)
            stream.restart()
            self._handle_data(clear)
        if self._books:
            self._log.warning(
                f"market data socket lost for {DISCONNECT_GRACE_S:g} s: {len(self._books)} book(s) emptied until it is back"
            )

    async def _on_reconnected(self) -> None:
        for stream in self._books.values():
            stream.restart()
        self._log.info("market data resubscribed; next book snapshots are emitted whole")

    # -- subscriptions ---------------------------------------------------------------------------------

    async def _subscribe(self, command: SubscribeData) -> None:
        """Custom data types are ours (actor estimates on the bus), never the venue's: nothing to subscribe."""

    async def _unsubscribe(self, command: UnsubscribeData) -> None:
        """See ``_subscribe``."""

    async def _subscribe_instruments(self, command: SubscribeInstruments) -> None:
        """Instruments are published once on connect; the venue has no instrument stream."""

    async def _subscribe_instrument(self, command: SubscribeInstrument) -> None:
        """See ``_subscribe_instruments``."""

    async def _unsubscribe_instruments(self, command: UnsubscribeInstruments) -> None:
        """See ``_subscribe_instruments``."""

    async def _unsubscribe_instrument(self, command: UnsubscribeInstrument) -> None:
        """See ``_subscribe_instruments``."""

    async def _subscribe_order_book_deltas(self, command: SubscribeOrderBook) -> None:
        instrument = self._instrument(command.instrument_id)
        if instrument is None:
            return
        coin = self._provider.coin_of(instrument)
        if coin not in self._books:
            # heartbeat: an unchanged push is one no-op UPDATE, as in the catalogs (``catalog_cli``), so a quiet
            # market keeps the staleness checks and the estimators' cadence alive here exactly as in a backtest
            self._books[coin] = _BookStream(SnapshotDiffer.for_instrument(instrument, heartbeat=True))
            await self._ws.subscribe(self._book_subscription(coin))

    async def _unsubscribe_order_book_deltas(self, command: UnsubscribeOrderBook) -> None:
        coin = self._provider.coin_of_id(command.instrument_id)
        if self._books.pop(coin, None) is not None:
            await self._ws.unsubscribe(self._book_subscription(coin))

    async def _subscribe_quote_ticks(self, command: SubscribeQuoteTicks) -> None:
        instrument = self._instrument(command.instrument_id)
        if instrument is not None and (coin := self._provider.coin_of(instrument)) not in self._quote_coins:
            self._quote_coins.add(coin)
            await self._ws.subscribe({"type": "bbo", "coin": coin})

    async def _unsubscribe_quote_ticks(self, command: UnsubscribeQuoteTicks) -> None:
        coin = self._provider.coin_of_id(command.instrument_id)
        if coin in self._quote_coins:
            self._quote_coins.discard(coin)
            await self._ws.unsubscribe({"type": "bbo", "coin": coin})

    async def _subscribe_trade_ticks(self, command: SubscribeTradeTicks) -> None:
        instrument = self._instrument(command.instrument_id)
        if instrument is not None and (coin := self._provider.coin_of(instrument)) not in self._trades:
            self._trades[coin] = _TradeStream(since_ns=self._clock.timestamp_ns())
            await self._ws.subscribe({"type": "trades", "coin": coin})

    async def _unsubscribe_trade_ticks(self, command: UnsubscribeTradeTicks) -> None:
        coin = self._provider.coin_of_id(command.instrument_id)
        if self._trades.pop(coin, None) is not None:
            await self._ws.unsubscribe({"type": "trades", "coin": coin})

    async def _subscribe_mark_prices(self, command: SubscribeMarkPrices) -> None:
        await self._use_asset_ctx(command.instrument_id, "mark")

    async def _unsubscribe_mark_prices(self, command: UnsubscribeMarkPrices) -> None:
        await self._release_asset_ctx(command.instrument_id, "mark")

    async def _subscribe_funding_rates(self, command: SubscribeFundingRates) -> None:
        await self._use_asset_ctx(command.instrument_id, "funding")

    async def _unsubscribe_funding_rates(self, command: UnsubscribeFundingRates) -> None:
        await self._release_asset_ctx(command.instrument_id, "funding")

    async def _use_asset_ctx(self, instrument_id: InstrumentId, purpose: str) -> None:
        instrument = self._instrument(instrument_id)
        if instrument is None:
            return
        coin = self._provider.coin_of(instrument)
        users = self._ctx_users.setdefault(coin, set())
        if not users:
            await self._ws.subscribe({"type": "activeAssetCtx", "coin": coin})
        users.add(purpose)

    async def _release_asset_ctx(self, instrument_id: InstrumentId, purpose: str) -> None:
        coin = self._provider.coin_of_id(instrument_id)
        users = self._ctx_users.get(coin)
        if users and purpose in users:
            users.discard(purpose)
            if not users:
                del self._ctx_users[coin]
                await self._ws.unsubscribe({"type": "activeAssetCtx", "coin": coin})

    def _book_subscription(self, coin: str) -> dict:
        subscription = {"type": "l2Book", "coin": coin}
        if self._config.book_fast:
            subscription["fast"] = True
        return subscription

    def _instrument(self, instrument_id: InstrumentId) -> Instrument | None:
        instrument = self._provider.find(instrument_id)
        if instrument is None:
            self._log.error(f"cannot subscribe to {instrument_id}: not a loaded {HYPERLIQUID_VENUE} instrument")
        return instrument

    # -- frames ----------------------------------------------------------------------------------------

    def _on_frame(self, text: str) -> None:
        """Every exception here comes from the frame (decoding, validation, an unrepresentable value: msgspec,
        ValueError, OverflowError, RecursionError…), so all of them are counted as malformed at this level. A book
        frame, the feed's hot path, is decoded whole in one pass; any other frame by its envelope, then its data."""
        recv_ns = self._clock.timestamp_ns()
        try:
            if text.startswith(BOOK_FRAME_PREFIX):
                channel = "l2Book"
                self._apply_book(_decode_book_frame(text).data, recv_ns)
            else:
                message = _decode_message(text)
                channel = message.channel
                handler = self._handlers.get(channel)
                if handler is None:
                    raise ValueError(f"unknown channel {channel!r}")
                handler(message.data, recv_ns)
        except Exception as error:
            self.malformed_frames += 1
            self._log.warning(f"skipped a malformed frame ({type(error).__name__}: {error}): {text[:200]!r}")
            return
        if self._recorder is not None and channel in RECORDED_CHANNELS:
            self._recorder.write(recv_ns, text)

    def _on_book(self, data: msgspec.Raw, recv_ns: int) -> None:
        self._apply_book(_decode_book(data), recv_ns)

    def _apply_book(self, book: L2Book, recv_ns: int) -> None:
        stream = self._books.get(book.coin)
        if stream is None:
            return  # a push racing an unsubscribe
        ts_event = event_ns(book.time, recv_ns)
        if book.time < stream.last_venue_ms:
            book.parse_levels()  # a malformed level makes the frame malformed, stale or not
            self._log.warning(f"dropped a stale {book.coin} snapshot (venue time went back)")
            return
        bids, asks = book.levels
        deltas = stream.differ.diff_raw_batch(bids, asks, ts_event, recv_ns)  # raises before storing a bad book
        stream.last_venue_ms = book.time
        stream.last_applied_s = time.monotonic()
        self._check_lag(book.coin, stream, recv_ns - ms_to_ns(book.time))
        if deltas is not None:
            self._handle_data(deltas)

    def _check_lag(self, coin: str, stream: _BookStream, lag_ns: int) -> None:
        if lag_ns > self._book_lag_ns:
            self.lagging_books += 1
            if not stream.lagging:
                stream.lagging = True
                self._log.warning(
                    f"{coin} book arrived {lag_ns / 1e9:.1f} s after its venue time (> book_lag_secs "
                    f"{self._config.book_lag_secs:g}): the venue is behind, or this host's clock is ahead"
                )
        elif stream.lagging:
            stream.lagging = False
            self._log.info(f"{coin} book venue time caught up: {lag_ns / 1e9:.2f} s behind its receipt")

    def _on_bbo(self, data: msgspec.Raw, recv_ns: int) -> None:
        bbo = _decode_bbo(data)
        instrument = self._provider.instrument_for_coin(bbo.coin)
        if instrument is None or bbo.coin not in self._quote_coins:
            return
        quote = bbo.parse_to_quote_tick(instrument, recv_ns)
        if quote is not None:
            self._handle_data(quote)

    def _on_trades(self, data: msgspec.Raw, recv_ns: int) -> None:
        """Every trade of the frame is validated before any is emitted or remembered: a bad one fails the frame."""
        ticks = []
        for trade in _decode_trades(data):
            stream = self._trades.get(trade.coin)
            instrument = self._provider.instrument_for_coin(trade.coin)
            if stream is not None and instrument is not None:
                ticks.append((stream, trade, trade.parse_to_trade_tick(instrument, recv_ns)))
        for stream, trade, tick in ticks:
            if stream.seen.first_time(trade.key) and ms_to_ns(trade.time) >= stream.since_ns:
                self._handle_data(tick)

    def _on_asset_ctx(self, data: msgspec.Raw, recv_ns: int) -> None:
        update = _decode_asset_ctx(data)
        instrument = self._provider.instrument_for_coin(update.coin)
        users = self._ctx_users.get(update.coin)
        if instrument is None or not users:
            return
        mark = update.ctx.parse_to_mark_price(instrument, recv_ns, recv_ns) if "mark" in users else None
        funding = update.ctx.parse_to_funding_rate(instrument, recv_ns, recv_ns) if "funding" in users else None
        for item in (mark, funding):
            if item is not None:
                self._handle_data(item)

    def _on_venue_error(self, data: msgspec.Raw, recv_ns: int) -> None:
        self._log.warning(f"venue error on the market data socket: {bytes(data)[:300].decode('utf-8', 'replace')}")

    # -- staleness watchdog ------------------------------------------------------------------------------

    async def _watch_books(self) -> None:
        period_s = min(self._config.book_stale_secs / 2, _WATCHDOG_MAX_PERIOD_S)
        while await wait_or_stop(self._stopping, period_s):
            if not self._ws.is_connected:
                continue  # the reconnect restarts every stream anyway
            now_s = time.monotonic()
            for coin, stream in list(self._books.items()):
                silent_s = now_s - stream.last_applied_s
                if silent_s < self._config.book_stale_secs:
                    continue
                self._log.warning(f"{coin} book applied nothing for {silent_s:.1f} s: resubscribing")
                self.stale_resubscribes += 1
                stream.restart()
                await self._ws.resubscribe(self._book_subscription(coin))


def _ignore(data: msgspec.Raw, recv_ns: int) -> None:
    """Acks and pongs carry nothing to act on; receiving them is what keeps the connection alive."""
