"""Turn a recorded Binance USDⓈ-M futures stream into a NautilusTrader ``ParquetDataCatalog``.

    python -m adapters.binance.loaders SRC --catalog DIR [--symbol BTCUSDT] [--checkpoint-s 300]

Input: the hftbacktest collector format, gzip (or plain) text with one ``<local_recv_ns> <json>`` per line, where
the JSON is a combined-stream frame (``{"stream": "btcusdt@depth@0ms", "data": {...}}``) or the REST depth
snapshot the collector fetched (``{"lastUpdateId": ..., "bids": [...], "asks": [...]}``). Every frame is decoded
with NautilusTrader's own Binance schemas and turned into its own data types by their own parsers, exactly as
its live Binance data client does:

- ``OrderBookDelta``: the REST snapshot (``BinanceDepth``) as CLEAR + one level per price, then each ``depthUpdate``
  (``BinanceOrderBookData``) as UPDATE/DELETE deltas. The book is synchronised the way Binance documents and
  NautilusTrader's client does it: diffs received before the snapshot are held, those whose final update id
  ``u`` is not past the snapshot's ``lastUpdateId`` are dropped, the rest are applied at the snapshot's receive
  time (a catalog's ``ts_init`` never goes back). Each later diff must continue the previous one (``pu`` equals
  the previous ``u``); a break is counted as a sequence gap (none on the bundled recording);
- ``TradeTick`` from ``trade`` (``BinanceFuturesTradeData``), aggressor from the buyer-is-maker flag;
- ``QuoteTick`` from ``bookTicker`` (``BinanceQuoteData``).

Only what follows the first snapshot is written: before it there is no book, so trades and quotes then are
counted and dropped. Every ``checkpoint_s`` the whole book (kept in a NautilusTrader ``OrderBook``) is re-emitted
as CLEAR + levels instead of a diff, so a backtest can start mid-file (``mm_strategy.backtest.align_to_snapshot``).

Timestamps: the receive time is ``ts_init``; the venue time (``T``, else ``E``) is ``ts_event``, capped at the
receive time and kept non-decreasing per stream, each adjustment counted. The bundled recording's receive clock
runs 1.23–1.27 s behind Binance's, so there every venue time is capped at the receive time.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import msgspec
from nautilus_trader.adapters.binance.common.schemas.market import BinanceDataMsgWrapper
from nautilus_trader.adapters.binance.common.schemas.market import BinanceDepth
from nautilus_trader.adapters.binance.common.schemas.market import BinanceOrderBookData
from nautilus_trader.adapters.binance.common.schemas.market import BinanceOrderBookMsg
from nautilus_trader.adapters.binance.common.schemas.market import BinanceQuoteMsg
from nautilus_trader.adapters.binance.futures.schemas.market import BinanceFuturesTradeMsg
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from adapters.binance.instruments import usdm_perpetual
from adapters.catalog import CatalogSourceError
from adapters.catalog import LoadedSource
from adapters.catalog import summary_text
from adapters.catalog import write_catalog

_RESEARCH_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "hyperliquid_research_data"
BUNDLED_RECORDING = _RESEARCH_DATA / "hftbacktest/examples/usdm/btcusdt_20240808.gz"
DEFAULT_CHECKPOINT_S = 300.0
EXIT_INPUT_ERROR = 2
_NS_PER_MS = 1_000_000


@dataclass
class LoadResult(LoadedSource):
    """What one recording produced, with the counts a person checks after a load."""

    lines: int = 0
    snapshots: int = 0
    diffs: int = 0
    checkpoints: int = 0
    diffs_before_snapshot_dropped: int = 0
    sequence_gaps: int = 0
    crossed_books: int = 0
    before_book: int = 0
    malformed: int = 0
    other_symbols: int = 0
    other_streams: Counter[str] = field(default_factory=Counter)
    recv_time_regressions: int = 0
    venue_time_regressions: int = 0
    ts_event_capped: int = 0
    parse_s: float = 0.0

    def summary(self) -> str:
        parts = [
            f"{self.path.name}: {self.lines:,} lines, {self.snapshots:,} snapshot(s), {self.diffs:,} diffs "
            f"({self.checkpoints:,} checkpoints)",
            f"{len(self.deltas):,} deltas",
            f"{len(self.trades):,} trades",
            f"{len(self.quotes):,} quotes",
            self.span_text(),
        ]
        anomalies = {
            "diffs before the snapshot dropped": self.diffs_before_snapshot_dropped,
            "trades/quotes before the book dropped": self.before_book,
            "SEQUENCE GAPS": self.sequence_gaps,
            "CROSSED books": self.crossed_books,
            "malformed lines skipped": self.malformed,
            "other symbols skipped": self.other_symbols,
            "receive-time regressions": self.recv_time_regressions,
            "venue-time regressions": self.venue_time_regressions,
            "venue times capped at receive time": self.ts_event_capped,
        }
        skipped = (f"{stream} frames skipped {count:,}" for stream, count in sorted(self.other_streams.items()))
        return summary_text(parts, anomalies, skipped, self.parse_s)


class _RecordingParser:
    """Per-file state: the book and its update id, held pre-snapshot diffs, and the timestamp guards."""

    _wrapper = msgspec.json.Decoder(BinanceDataMsgWrapper)
    _depth_snapshot = msgspec.json.Decoder(BinanceDepth)
    _depth_diff = msgspec.json.Decoder(BinanceOrderBookMsg)
    _trade = msgspec.json.Decoder(BinanceFuturesTradeMsg)
    _quote = msgspec.json.Decoder(BinanceQuoteMsg)

    def __init__(self, path: Path, instrument: Instrument, checkpoint_s: float) -> None:
        self.result = LoadResult(path=path, instrument_id=instrument.id)
        self._instrument = instrument
        self._symbol = instrument.raw_symbol.value
        self._book = OrderBook(instrument.id, BookType.L2_MBP)
        self._update_id: int | None = None  # last applied ``u`` (or the snapshot's lastUpdateId); None: no book
        self._held: list[tuple[int, BinanceOrderBookData]] = []
        self._checkpoint_ns = int(checkpoint_s * 1e9)
        self._last_checkpoint_ns = 0
        self._last_recv_ns = 0
        self._last_event_ns: Counter[str] = Counter()
        self._handlers = {"depth": self._on_diff, "trade": self._on_trade, "bookTicker": self._on_quote}

    def handle(self, recv_ns: int, raw: bytes) -> None:
        self.result.lines += 1
        ts_init = self._monotonic_recv(recv_ns)
        try:
            stream = self._wrapper.decode(raw).stream
            if stream is None:
                self._on_snapshot(self._depth_snapshot.decode(raw), ts_init)
                return
            kind = stream.partition("@")[2].partition("@")[0]
            handler = self._handlers.get(kind)
            if handler is None:
                self.result.other_streams[stream] += 1
                return
            handler(raw, ts_init)
        except (msgspec.DecodeError, ValueError):  # msgspec.ValidationError is a DecodeError
            self.result.malformed += 1

    def _monotonic_recv(self, recv_ns: int) -> int:
        if recv_ns < self._last_recv_ns:
            self.result.recv_time_regressions += 1
            return self._last_recv_ns
        self._last_recv_ns = recv_ns
        return recv_ns

    def _event_ns(self, stream: str, venue_ns: int, ts_init: int) -> int:
        """The venue time capped at the receive time and never before the stream's previous one."""
        if venue_ns > ts_init:
            self.result.ts_event_capped += 1
            venue_ns = ts_init
        last = self._last_event_ns[stream]
        if venue_ns < last:
            self.result.venue_time_regressions += 1
            venue_ns = last
        self._last_event_ns[stream] = venue_ns
        return venue_ns

    # -- book -----------------------------------------------------------------------------------------------

    def _on_snapshot(self, snapshot: BinanceDepth, ts_init: int) -> None:
        """A REST snapshot (re)starts the book: CLEAR + its levels, then the held diffs that continue it."""
        self.result.snapshots += 1
        ts_event = self._event_ns("depth", (snapshot.T or snapshot.E or 0) * _NS_PER_MS, ts_init)
        parsed = snapshot.parse_to_order_book_snapshot(self._instrument.id, ts_init).deltas
        self._emit_full_book(parsed, snapshot.lastUpdateId, ts_event, ts_init)
        self._update_id = snapshot.lastUpdateId
        self._last_checkpoint_ns = ts_init
        held, self._held = self._held, []
        for _, diff in held:
            self._apply_diff(diff, ts_init)

    def _on_diff(self, raw: bytes, ts_init: int) -> None:
        diff = self._depth_diff.decode(raw).data
        if diff.s != self._symbol:
            self.result.other_symbols += 1
            return
        self.result.diffs += 1
        if self._update_id is None:
            self._held.append((ts_init, diff))
            return
        self._apply_diff(diff, ts_init)

    def _apply_diff(self, diff: BinanceOrderBookData, ts_init: int) -> None:
        if diff.u <= self._update_id:
            self.result.diffs_before_snapshot_dropped += 1
            return
        if diff.pu is not None and diff.pu != self._update_id and diff.U > self._update_id + 1:
            self.result.sequence_gaps += 1
        self._update_id = diff.u
        deltas = diff.parse_to_order_book_deltas(self._instrument.id, ts_init).deltas
        if not deltas:
            return
        ts_event = self._event_ns("depth", deltas[0].ts_event, ts_init)
        deltas = [_stamped(d, d.flags, ts_event) for d in deltas]
        for delta in deltas:
            self._book.apply_delta(delta)
        self._count_crossed()
        if self._checkpoint_ns and ts_init - self._last_checkpoint_ns >= self._checkpoint_ns:
            self._last_checkpoint_ns = ts_init
            self.result.checkpoints += 1
            self._emit_full_book(self._book_levels(ts_init), diff.u, ts_event, ts_init)
            return
        self.result.deltas.extend(deltas)

    def _emit_full_book(self, deltas: list[OrderBookDelta], sequence: int, ts_event: int, ts_init: int) -> None:
        """CLEAR + levels flagged F_SNAPSHOT, F_LAST on the last, so the data engine applies them as one batch."""
        levels = [d for d in deltas if d.action != BookAction.CLEAR]
        clear = OrderBookDelta.clear(self._instrument.id, sequence, ts_event, ts_init)
        batch = [_stamped(d, RecordFlag.F_SNAPSHOT, ts_event, sequence) for d in (clear, *levels)]
        batch[-1] = _stamped(batch[-1], batch[-1].flags | RecordFlag.F_SNAPSHOT | RecordFlag.F_LAST, ts_event, sequence)
        self._book.clear(sequence, ts_event)
        for delta in batch[1:]:
            self._book.apply_delta(delta)
        self._count_crossed()
        self.result.deltas.extend(batch)

    def _book_levels(self, ts_init: int) -> list[OrderBookDelta]:
        """The kept book as one ADD per level (best first on each side)."""
        deltas = []
        for levels in (self._book.bids(), self._book.asks()):
            for level in levels:
                deltas += [OrderBookDelta(self._instrument.id, BookAction.ADD, o, 0, 0, ts_init, ts_init) for o in level.orders()]
        return deltas

    def _count_crossed(self) -> None:
        bid, ask = self._book.best_bid_price(), self._book.best_ask_price()
        if bid is not None and ask is not None and bid >= ask:
            self.result.crossed_books += 1

    # -- trades and quotes ----------------------------------------------------------------------------------

    def _on_trade(self, raw: bytes, ts_init: int) -> None:
        data = self._trade.decode(raw).data
        if data.s != self._symbol:
            self.result.other_symbols += 1
            return
        tick = data.parse_to_trade_tick(self._instrument.id, ts_init)
        if self._update_id is None:
            self.result.before_book += 1
            return
        ts_event = self._event_ns("trade", tick.ts_event, ts_init)
        self.result.trades.append(
            TradeTick(tick.instrument_id, tick.price, tick.size, tick.aggressor_side, tick.trade_id, ts_event, ts_init),
        )

    def _on_quote(self, raw: bytes, ts_init: int) -> None:
        data = self._quote.decode(raw).data
        if data.s != self._symbol:
            self.result.other_symbols += 1
            return
        tick = data.parse_to_quote_tick(self._instrument.id, ts_init)
        if self._update_id is None:
            self.result.before_book += 1
            return
        ts_event = self._event_ns("quote", tick.ts_event, ts_init)
        self.result.quotes.append(
            QuoteTick(tick.instrument_id, tick.bid_price, tick.ask_price, tick.bid_size, tick.ask_size, ts_event, ts_init),
        )


def _stamped(delta: OrderBookDelta, flags: int, ts_event: int, sequence: int | None = None) -> OrderBookDelta:
    return OrderBookDelta(
        delta.instrument_id,
        delta.action,
        delta.order,
        flags,
        delta.sequence if sequence is None else sequence,
        ts_event,
        delta.ts_init,
    )


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(recv_ns, json bytes)`` per line of a collector recording (gzip or plain); lines without a leading
    integer are yielded with ``recv_ns = -1`` so the parser counts them malformed."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rb") if gzipped else path.open("rb")) as lines:
        for line in lines:
            stamp, _, raw = line.partition(b" ")
            try:
                yield int(stamp), raw
            except ValueError:
                yield -1, line


def parse_file(path: Path | str, instrument: Instrument, checkpoint_s: float = DEFAULT_CHECKPOINT_S) -> LoadResult:
    """Parse one recording for ``instrument`` (its ``raw_symbol``, e.g. BTCUSDT)."""
    path = Path(path)
    parser = _RecordingParser(path, instrument, checkpoint_s)
    started_s = time.perf_counter()
    for recv_ns, raw in read_lines(path):
        if recv_ns < 0:
            parser.result.lines += 1
            parser.result.malformed += 1
            continue
        parser.handle(recv_ns, raw)
    parser.result.parse_s = time.perf_counter() - started_s
    return parser.result


def first_recv_ns(path: Path) -> int:
    """The recording's first receive time: the instrument definition is stamped with it."""
    for recv_ns, _ in read_lines(path):
        if recv_ns >= 0:
            return recv_ns
    raise ValueError(f"{path.name}: no timestamped line")


def load(path: Path | str, catalog_path: Path | str, symbol: str = "BTCUSDT", checkpoint_s: float = DEFAULT_CHECKPOINT_S) -> LoadResult:
    """Parse ``path`` for ``<symbol>-PERP.BINANCE`` and write instrument and streams into the catalog."""
    path = Path(path)
    instrument = usdm_perpetual(InstrumentId.from_str(f"{symbol}-PERP.BINANCE"), first_recv_ns(path))
    result = parse_file(path, instrument, checkpoint_s)
    if not result.deltas:
        raise ValueError(f"{path.name}: no {symbol} book (a REST depth snapshot is needed to start one)")
    write_catalog([result], instrument, catalog_path)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m adapters.binance.loaders",
        description="Load a recorded Binance USD-M futures stream into a NautilusTrader ParquetDataCatalog.",
    )
    parser.add_argument("source", type=Path, nargs="?", default=BUNDLED_RECORDING, help="collector recording (.gz)")
    parser.add_argument("--catalog", type=Path, required=True, help="ParquetDataCatalog directory (created if absent)")
    parser.add_argument("--symbol", default="BTCUSDT", help="Binance symbol (default BTCUSDT)")
    parser.add_argument(
        "--checkpoint-s",
        type=float,
        default=DEFAULT_CHECKPOINT_S,
        help=f"full-book snapshot every N seconds so backtests can start mid-file (default {DEFAULT_CHECKPOINT_S:g}, 0 = off)",
    )
    args = parser.parse_args(argv)
    try:
        result = load(args.source, args.catalog, args.symbol, args.checkpoint_s)
    except (KeyError, ValueError, CatalogSourceError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    print(result.summary())
    print(f"catalog {args.catalog}: {result.instrument_id} from {args.source.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
