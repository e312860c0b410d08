"""Turn one recording of Hyperliquid market data into NautilusTrader data for a catalog.

The command line is ``catalog_cli.py``; the catalog writer ``adapters/catalog.py``; the snapshot differ, shared with
the live data client, ``book_diff.py``; instruments come from a real ``meta`` (``meta.py``).

Inputs (read through ``recordings.iter_ws_messages``, format detected by content):
- the official S3 archive: LZ4-framed (or gzip, or plain) NDJSON ``{"time": <ISO recv>, "raw": <ws message>}``;
- the hftbacktest collector: gzip (or plain) text ``<recv_ns> <ws json>``;
- the data collector's CSV capture ``orderbooks_<COIN>.csv[.gz]`` with its ``trades_<COIN>.csv[.gz]``, read as the
  frames it was recorded from (``csv_capture.py``).
The receive time becomes ``ts_init``; the venue ``time`` (ms) becomes ``ts_event``. Each message's data is decoded
by the live client's own schemas (``schemas/market.py``: ``L2Book``, ``Trade``), so a recording and the live feed
are read by the same definitions. Outputs per source file and coin:
- ``OrderBookDelta``: every ``l2Book`` snapshot is diffed against the previous one (``SnapshotDiffer``), because
  Nautilus' queue-position model resets on CLEAR and would fill us too early on a snapshot feed;
- ``TradeTick`` from ``trades``. Subscribing replays the venue's recent trades: a trade stamped before the file's
  first receive time happened before the recording began, so it is history, not an event to replay (it would
  reach a backtest all at once at the subscription instant and fill resting orders on stale prices); it is
  dropped and counted. Replays after a reconnect are dropped as duplicates of ``(time, tid)``, the venue's
  unique trade key (``tid`` alone is a hash of the two order ids);
- ``QuoteTick`` from each snapshot's top level, only when the top (price or size) changed. This mirrors the live
  ``bbo`` channel, which the venue sends only when the BBO changes, so backtest and live quote streams agree.

Timestamp policy (the catalog needs ``ts_init`` non-decreasing; we also keep ``ts_event`` non-decreasing per stream
and never after ``ts_init``). None of these adjustments happens on the bundled real data; each is counted:
- a receive time that goes backwards (local clock step) is held at the previous one. Only the coin's own messages
  count: a file holding several coins one after another (recordings concatenated per coin) restarts the clock with
  each coin, and holding the second coin at the first one's last stamp would collapse it into one instant;
- a book snapshot whose venue time is older than the previous snapshot's is stale and dropped (block times only
  move forward, so applying it would rewind the book);
- a trade whose venue time is older than the previous trade's is stamped with the previous trade's time;
- a venue time after the receive time (clocks disagree) is capped at the receive time.

A line torn by a recorder killed mid-write (``recordings.iter_ws_messages``) is skipped and counted.

A long file (the collector appends to one pair of files for days) is parsed in pieces of an hour of receive time
(``parse_pieces``), each written before the next is read: held whole, 6 hours of BTC took 785 MB, so a few days
would not fit in memory.

Writing is idempotent: each stream of each source replaces whatever the catalog held for that instrument and
stream within the source's ``ts_init`` range, so re-running the command leaves the same catalog.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import book_action_to_str
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from tqdm import tqdm

from adapters.catalog import LoadedSource
from adapters.catalog import summary_text
from adapters.hyperliquid.book_diff import Level
from adapters.hyperliquid.book_diff import SnapshotDiffer
from adapters.hyperliquid.meta import _RESEARCH_DATA
from adapters.hyperliquid.parsing import aggressor_side
from adapters.hyperliquid.recordings import RecordingError
from adapters.hyperliquid.recordings import TornLine
from adapters.hyperliquid.recordings import iter_ws_messages
from adapters.hyperliquid.schemas.market import L2Book
from adapters.hyperliquid.schemas.market import Trade

DEFAULT_ARCHIVE = (
    _RESEARCH_DATA / "vigil-hypertrace/hyperliquid_samples/hyperliquid-archive/market_data/20240101/12/l2Book/BTC.lz4"
)
DEFAULT_CHECKPOINT_S = 300.0
# An hour of the busiest bundled coin is ~100k deltas, ~130 MB of NautilusTrader objects.
PIECE_S = 3600.0
# A trade received this long after it happened came with a resubscription after a recorder outage (the live stream's
# own lag is under 4 s on the captures): replayed at its receive stamp it would meet a book half a minute newer and
# fill orders placed after it happened. ETH's capture holds 49 (7-26 s late, just after its 250 s outage).
MAX_TRADE_LAG_S = 10.0

_NS_PER_MS = 1_000_000
_MAX_TIMESTAMP_NS = 2**63 - 1  # pandas' and the catalog's latest time, 2262-04-11
_MAX_TRADE_LAG_NS = round(MAX_TRADE_LAG_S * 1e9)
_ACTION_ORDER = (BookAction.CLEAR, BookAction.ADD, BookAction.UPDATE, BookAction.DELETE)



@dataclass
class LoadResult(LoadedSource):
    """What one source file produced, with the counts a person checks after a load."""

    lines: int = 0
    snapshots: int = 0
    batches: int = 0
    repeated_snapshots: int = 0
    stale_snapshots: int = 0
    crossed_snapshots: int = 0
    duplicate_trades: int = 0
    pre_recording_trades: int = 0
    late_trades: int = 0
    torn_lines: int = 0
    other_coins: int = 0
    other_channels: Counter[str] = field(default_factory=Counter)
    recv_time_regressions: int = 0
    trade_time_regressions: int = 0
    ts_event_capped: int = 0
    checkpoints: int = 0
    heartbeats: int = 0
    parse_s: float = 0.0

    def action_counts(self) -> dict[str, int]:
        """Deltas per ``BookAction`` name (CLEAR, ADD, UPDATE, DELETE)."""
        counts = Counter(delta.action for delta in self.deltas)
        return {book_action_to_str(action): counts[action] for action in _ACTION_ORDER if counts[action]}

    def summary(self) -> str:
        actions = ", ".join(f"{name} {count:,}" for name, count in self.action_counts().items())
        parts = [
            f"{self.path}: {self.snapshots:,} snapshots ({self.repeated_snapshots:,} repeats)",
            f"{self.batches:,} batches ({self.checkpoints:,} checkpoints, {self.heartbeats:,} heartbeats)",
            f"{len(self.deltas):,} deltas ({actions})",
            f"{len(self.trades):,} trades",
            f"{len(self.quotes):,} quotes",
            self.span_text(),
        ]
        anomalies = {
            "stale snapshots dropped": self.stale_snapshots,
            "CROSSED snapshots": self.crossed_snapshots,
            "duplicate trades dropped": self.duplicate_trades,
            "pre-recording trades dropped": self.pre_recording_trades,
            f"trades received over {MAX_TRADE_LAG_S:g} s late dropped": self.late_trades,
            "torn lines skipped (a write cut short)": self.torn_lines,
            "other coins skipped": self.other_coins,
            "receive-time regressions": self.recv_time_regressions,
            "trade-time regressions": self.trade_time_regressions,
            "venue times capped at receive time": self.ts_event_capped,
        }
        skipped = (f"{channel} messages skipped {count:,}" for channel, count in sorted(self.other_channels.items()))
        return summary_text(parts, anomalies, skipped, self.parse_s)


class _RecordingParser:
    """Per-file state: the differ, the last top of book, seen trade ids and the timestamp guards."""

    def __init__(
        self,
        path: Path,
        instrument: Instrument,
        checkpoint_s: float = 0.0,
        heartbeat: bool = False,
        piece_s: float = math.inf,
    ) -> None:
        self.result = LoadResult(path=path, instrument_id=instrument.id)
        self.finished: list[LoadResult] = []
        self._piece_ns = piece_s * 1e9
        self._piece_start_ns = 0
        self._checkpoint_ns = int(checkpoint_s * 1e9)
        self._last_checkpoint_ns: int | None = None
        self._coin = instrument.raw_symbol.value
        self._price_precision = instrument.price_precision
        self._size_precision = instrument.size_precision
        self._differ = SnapshotDiffer.for_instrument(instrument, heartbeat)
        self._last_top: tuple[Level, Level] | None = None
        self._seen_trades: set[tuple[int, int]] = set()  # (venue time ms, tid)
        self._first_recv_ns: int | None = None
        self._last_recv_ns = 0
        self._last_book_venue_ns = 0
        self._last_trade_event_ns = 0

    def on_torn(self, path: Path, line_no: int) -> None:
        """The reader skipped a line a killed recorder cut short (``recordings.TornLine``): counted, not silent."""
        self.result.torn_lines += 1

    def handle(self, line_no: int, recv_ns: int, message: dict[str, Any]) -> None:
        self.result.lines += 1
        if not 0 <= recv_ns <= _MAX_TIMESTAMP_NS:  # a recorder's stamp cut and joined to the next line's
            reason = f"receive time {recv_ns} ns is outside 1970-2262, the span of the catalog's int64 ns"
            raise RecordingError(self.result.path, line_no, reason)
        channel = message.get("channel")
        try:
            if channel == "l2Book":
                self._on_book(message["data"], recv_ns)
            elif channel == "trades":
                self._on_trades(message["data"], recv_ns)
            else:
                self.result.other_channels[str(channel)] += 1
        except KeyError as exc:
            raise RecordingError(self.result.path, line_no, f"{channel} message missing {exc}") from None
        except (TypeError, ValueError) as exc:
            raise RecordingError(self.result.path, line_no, f"malformed {channel} message: {exc}") from None

    def _monotonic_recv(self, recv_ns: int) -> int:
        """The ``ts_init`` of one of the coin's messages: its receive time, never before the coin's previous one."""
        if self._first_recv_ns is None:
            self._first_recv_ns = self._piece_start_ns = recv_ns
        if recv_ns < self._last_recv_ns:
            self.result.recv_time_regressions += 1
            return self._last_recv_ns
        if recv_ns > self._last_recv_ns and recv_ns - self._piece_start_ns >= self._piece_ns and self.result.streams():
            self._start_piece(recv_ns)
        self._last_recv_ns = recv_ns
        return recv_ns

    def _start_piece(self, recv_ns: int) -> None:
        """Close the current piece at a receive time newer than all of it, so pieces never share a ``ts_init``
        (writing one replaces the catalog's data in its range); the book, trade ids and clocks carry on."""
        self.finished.append(self.result)
        self.result = LoadResult(path=self.result.path, instrument_id=self.result.instrument_id)
        self._piece_start_ns = recv_ns

    def _capped(self, venue_ns: int, ts_init_ns: int) -> int:
        if venue_ns > ts_init_ns:
            self.result.ts_event_capped += 1
            return ts_init_ns
        return venue_ns

    def _on_book(self, data: Any, recv_ns: int) -> None:
        book = msgspec.convert(data, L2Book)
        if book.coin != self._coin:
            self.result.other_coins += 1
            return
        ts_init_ns = self._monotonic_recv(recv_ns)
        venue_ns = book.time * _NS_PER_MS
        bids, asks = book.parse_levels()
        self.result.snapshots += 1
        if venue_ns < self._last_book_venue_ns:
            self.result.stale_snapshots += 1
            return
        self._last_book_venue_ns = venue_ns
        ts_event_ns = self._capped(venue_ns, ts_init_ns)
        if bids and asks and bids[0][0] >= asks[0][0]:
            self.result.crossed_snapshots += 1
        self._maybe_checkpoint(ts_init_ns)
        repeated = self._differ.is_unchanged(bids, asks)
        deltas = self._differ.diff(bids, asks, ts_event_ns, ts_init_ns)
        self.result.deltas.extend(deltas)
        if repeated:
            self.result.repeated_snapshots += 1
        if deltas and not repeated:
            self.result.batches += 1
        elif deltas:
            self.result.heartbeats += 1
        self._quote_if_top_changed(bids, asks, ts_event_ns, ts_init_ns)

    def _maybe_checkpoint(self, ts_init_ns: int) -> None:
        """Every ``checkpoint_s`` re-emit the whole book (CLEAR + ADDs) instead of a diff.

        A backtest that starts mid-file needs a full book to start from; a checkpoint is one. A run replays every
        checkpoint after its first book as the diff it amounts to (``mm_strategy.book_checkpoints``): as a CLEAR it
        zeroed the queue ahead of every resting order in NautilusTrader's matching engine.
        """
        if self._last_checkpoint_ns is None:
            self._last_checkpoint_ns = ts_init_ns
        elif self._checkpoint_ns and ts_init_ns - self._last_checkpoint_ns >= self._checkpoint_ns:
            self._differ.reset()
            self._last_checkpoint_ns = ts_init_ns
            self.result.checkpoints += 1

    def _quote_if_top_changed(self, bids: list[Level], asks: list[Level], ts_event_ns: int, ts_init_ns: int) -> None:
        if not bids or not asks:
            return
        top = (bids[0], asks[0])
        if top == self._last_top:
            return
        self._last_top = top
        (bid_px, bid_sz), (ask_px, ask_sz) = top
        self.result.quotes.append(
            QuoteTick(
                self.result.instrument_id,
                Price(bid_px, self._price_precision),
                Price(ask_px, self._price_precision),
                Quantity(bid_sz, self._size_precision),
                Quantity(ask_sz, self._size_precision),
                ts_event_ns,
                ts_init_ns,
            ),
        )

    def _on_trades(self, data: Any, recv_ns: int) -> None:
        """Every trade is validated, even one dropped later, so a corrupt line never passes unnoticed."""
        ts_init_ns: int | None = None
        for trade in msgspec.convert(data, list[Trade]):
            if trade.coin != self._coin:
                self.result.other_coins += 1
                continue
            if ts_init_ns is None:
                ts_init_ns = self._monotonic_recv(recv_ns)
            aggressor = aggressor_side(trade.side)
            price, size = float(trade.px), float(trade.sz)
            if not (price > 0 and size > 0):
                raise ValueError(f"non-positive trade price or size ({trade.px}, {trade.sz})")
            if trade.key in self._seen_trades:
                self.result.duplicate_trades += 1
                continue
            self._seen_trades.add(trade.key)
            venue_ns = trade.time * _NS_PER_MS
            if venue_ns < self._first_recv_ns:
                self.result.pre_recording_trades += 1
                continue
            if ts_init_ns - venue_ns > _MAX_TRADE_LAG_NS:
                self.result.late_trades += 1
                continue
            self.result.trades.append(self._trade_tick(venue_ns, trade.tid, aggressor, price, size, ts_init_ns))

    def _trade_tick(
        self, venue_ns: int, tid: int, aggressor: AggressorSide, price: float, size: float, ts_init_ns: int
    ) -> TradeTick:
        if venue_ns < self._last_trade_event_ns:
            self.result.trade_time_regressions += 1
            venue_ns = self._last_trade_event_ns
        ts_event_ns = self._capped(venue_ns, ts_init_ns)
        self._last_trade_event_ns = ts_event_ns
        return TradeTick(
            self.result.instrument_id,
            Price(price, self._price_precision),
            Quantity(size, self._size_precision),
            aggressor,
            TradeId(str(tid)),
            ts_event_ns,
            ts_init_ns,
        )


def parse_file(
    path: Path | str,
    instrument: Instrument,
    progress: bool = False,
    checkpoint_s: float = 0.0,
    heartbeat: bool = False,
) -> LoadResult:
    """Parse one recording (S3 archive, WS collector format or CSV capture) for ``instrument``'s coin, whole.

    ``checkpoint_s`` > 0 re-emits a full snapshot that often (see ``_RecordingParser._maybe_checkpoint``);
    0 gives pure diffs after the first snapshot. ``heartbeat`` turns each repeated snapshot into one no-op
    UPDATE, so the catalog keeps the feed's liveness (see ``book_changes.heartbeat_change``).

    Raises ``RecordingError`` (a ``ValueError`` naming the file and line) on input it cannot read.
    """
    return next(parse_pieces(path, instrument, math.inf, progress, checkpoint_s, heartbeat))


def parse_pieces(
    path: Path | str,
    instrument: Instrument,
    piece_s: float = PIECE_S,
    progress: bool = False,
    checkpoint_s: float = 0.0,
    heartbeat: bool = False,
) -> Iterator[LoadResult]:
    """``parse_file`` in consecutive pieces of at least ``piece_s`` of receive time (the last may be shorter), each
    with its own counts, so that a file of days never has to be held whole. Concatenated, the pieces' streams are
    ``parse_file``'s, and no ``ts_init`` falls in two pieces."""
    path = Path(path)
    parser = _RecordingParser(path, instrument, checkpoint_s, heartbeat, piece_s)
    started_s = time.perf_counter()
    messages = read_messages(path, on_torn=parser.on_torn)
    if progress:
        messages = tqdm(messages, desc=path.name, unit=" lines", file=sys.stderr, disable=None, leave=False)
    for line_no, recv_ns, message in messages:
        parser.handle(line_no, recv_ns, message)
        while parser.finished:
            piece = parser.finished.pop(0)
            piece.parse_s, started_s = time.perf_counter() - started_s, time.perf_counter()
            yield piece
    parser.result.parse_s = time.perf_counter() - started_s
    yield parser.result


def read_messages(path: Path, on_torn: TornLine | None = None) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """``iter_ws_messages`` with decompression and decoding failures reported against the file and line."""
    messages = iter_ws_messages(path, on_torn)
    line_no = 0
    while True:
        try:
            item = next(messages)
        except StopIteration:
            return
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            raise
        except (OSError, EOFError, RuntimeError, UnicodeDecodeError) as exc:
            raise RecordingError(path, line_no + 1, f"unreadable data after this point ({exc})") from None
        line_no = item[0]
        yield item
