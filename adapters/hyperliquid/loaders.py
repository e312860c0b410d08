"""Turn recorded Hyperliquid market data into a NautilusTrader ``ParquetDataCatalog``.

    python -m adapters.hyperliquid.loaders SRC [SRC ...] --catalog DIR [--meta PATH] [--coin COIN]

Inputs (read through ``recordings.iter_ws_messages``, format detected by content):
- the official S3 archive: LZ4-framed (or gzip, or plain) NDJSON ``{"time": <ISO recv>, "raw": <ws message>}``;
- the hftbacktest collector: gzip (or plain) text ``<recv_ns> <ws json>``.
The receive time becomes ``ts_init``; the venue ``time`` (ms) becomes ``ts_event``.

Every coin found in the sources is loaded, one instrument per coin (built from a real ``meta`` response);
``--coin`` restricts the load to one. Outputs per source file and coin:
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
- a receive time that goes backwards (local clock step) is held at the previous one;
- a book snapshot whose venue time is older than the previous snapshot's is stale and dropped (block times only
  move forward, so applying it would rewind the book);
- a trade whose venue time is older than the previous trade's is stamped with the previous trade's time;
- a venue time after the receive time (clocks disagree) is capped at the receive time.

Writing is idempotent: each stream of each source replaces whatever the catalog held for that instrument and
stream within the source's ``ts_init`` range, so re-running the command leaves the same catalog.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import NamedTuple

import pandas as pd
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.enums import book_action_to_str
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import PRICE_MAX
from nautilus_trader.model.objects import QUANTITY_MAX
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from tqdm import tqdm

from adapters.catalog import CatalogSourceError
from adapters.catalog import write_catalog
from adapters.hyperliquid.instruments import perpetual_from_meta
from adapters.hyperliquid.recordings import RecordingError
from adapters.hyperliquid.recordings import iter_ws_messages

_RESEARCH_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "hyperliquid_research_data"
DEFAULT_META = _RESEARCH_DATA / "hyperliquid-python-sdk/tests/cassettes/info_test/test_get_info.yaml"
DEFAULT_ARCHIVE = (
    _RESEARCH_DATA / "vigil-hypertrace/hyperliquid_samples/hyperliquid-archive/market_data/20240101/12/l2Book/BTC.lz4"
)
DEFAULT_COIN = "BTC"
DEFAULT_CHECKPOINT_S = 300.0

EXIT_INPUT_ERROR = 2
_NS_PER_MS = 1_000_000
_AGGRESSOR_BY_SIDE = {"B": AggressorSide.BUYER, "A": AggressorSide.SELLER}
_ACTION_ORDER = (BookAction.CLEAR, BookAction.ADD, BookAction.UPDATE, BookAction.DELETE)

Level = tuple[float, float]
"""One book level as ``(price, size)``; the differ keys levels by price, so equal prices must parse equal."""


class LoaderError(ValueError):
    """An input the loader cannot use (meta, coin, overlapping sources); the CLI reports it without a traceback."""


# ---------------------------------------------------------------------------------------------------------------
# meta: a plain JSON file or a vcrpy cassette holding a real /info response


_CASSETTE_BODY = re.compile(r"^[ \t]*string: '", re.MULTILINE)


def cassette_response_bodies(path: Path | str) -> list[str]:
    """Every ``response.body.string`` of a vcrpy YAML cassette, in file order, without a YAML library.

    vcrpy writes bodies as YAML single-quoted scalars: ``''`` stands for ``'`` and long bodies are folded over
    several indented lines, which YAML reads back as single spaces. Only that scalar form is supported.
    """
    text = Path(path).read_text(encoding="utf-8")
    return [_read_single_quoted(text, match.end(), path) for match in _CASSETTE_BODY.finditer(text)]


def _read_single_quoted(text: str, start: int, path: Path | str) -> str:
    """The scalar that opens just before ``start``: up to the first lone quote, with ``''`` read as ``'``."""
    pieces = []
    position = start
    while True:
        quote = text.find("'", position)
        if quote < 0:
            raise LoaderError(f"{Path(path).name}: unterminated quoted string at offset {start}")
        if text.startswith("''", quote):
            pieces.append(text[position : quote + 1])
            position = quote + 2
            continue
        pieces.append(text[position:quote])
        return _fold_yaml_lines("".join(pieces))


def _fold_yaml_lines(raw: str) -> str:
    """YAML flow folding: whitespace around a line break is dropped, one break becomes a space, and each further
    (empty) line becomes a newline."""
    lines = raw.split("\n")
    if len(lines) == 1:
        return raw
    folded = [lines[0].rstrip(" \t")]
    empty_lines = 0
    last = len(lines) - 1
    for index in range(1, len(lines)):
        content = lines[index].lstrip(" \t") if index == last else lines[index].strip(" \t")
        if not content and index != last:
            empty_lines += 1
            continue
        folded.append("\n" * empty_lines if empty_lines else " ")
        folded.append(content)
        empty_lines = 0
    return "".join(folded)


def load_meta(path: Path | str) -> dict[str, Any]:
    """The perp ``meta`` (``{"universe": [...]}``) from a JSON file (``meta`` or ``metaAndAssetCtxs``) or from a
    vcrpy cassette whose responses include one."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{") or text.lstrip().startswith("["):
        documents = [text]
    else:
        documents = cassette_response_bodies(path)
    for document in documents:
        meta = _as_meta(document)
        if meta is not None:
            return meta
    raise LoaderError(f"{path.name}: no perp meta (an object with 'universe') found")


def _as_meta(document: str) -> dict[str, Any] | None:
    try:
        value = json.loads(document)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and value:  # metaAndAssetCtxs: [meta, assetCtxs]
        value = value[0]
    if isinstance(value, dict) and isinstance(value.get("universe"), list):
        return value
    return None


def instrument_for(coin: str, meta_path: Path | str = DEFAULT_META) -> CryptoPerpetual:
    """``coin``'s perp from the meta at ``meta_path``; an unknown coin is an input error, not a crash."""
    meta = load_meta(meta_path)
    try:
        return perpetual_from_meta(meta, coin)
    except KeyError as exc:
        raise LoaderError(f"{Path(meta_path).name}: {exc.args[0]}") from None


def default_instrument() -> CryptoPerpetual:
    """BTC-USD-PERP.HYPERLIQUID from the bundled real ``meta`` response."""
    return instrument_for(DEFAULT_COIN)


# ---------------------------------------------------------------------------------------------------------------
# book: full snapshots → MBP deltas


class SnapshotDiffer:
    """Turn a stream of full L2 snapshots (Hyperliquid ``l2Book``) into market-by-price ``OrderBookDelta``s.

    The first snapshot (and the first after ``reset``) becomes CLEAR + ADDs, all flagged ``F_SNAPSHOT``; each later
    snapshot becomes the ADD/UPDATE/DELETE deltas that turn the previous book into it, so that queue positions
    survive across snapshots. A level that leaves the venue's 20-level window is a DELETE. Within a batch all
    DELETEs come first, then UPDATEs, then ADDs (each side best price first): after the DELETEs the book is a
    subset of the new snapshot, so applying the batch one delta at a time never shows a crossed book unless the
    snapshot itself is crossed. ``F_LAST`` marks the last delta of every batch; ``sequence`` counts deltas and
    never goes back, even across ``reset``. Identical snapshots give no deltas.

    Shared by the catalog loader and the live data client, so backtests see exactly the deltas live trading does.
    Levels are ``(price, size)`` floats, already parsed; the caller owns parsing and timestamps.
    """

    __slots__ = ("_instrument_id", "_heartbeat", "_price_precision", "_size_precision", "_zero_size", "_books", "_sequence")

    def __init__(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        heartbeat: bool = False,
    ) -> None:
        self._instrument_id = instrument_id
        self._heartbeat = heartbeat
        self._price_precision = price_precision
        self._size_precision = size_precision
        self._zero_size = Quantity(0, size_precision)
        self._books: dict[OrderSide, dict[float, float]] | None = None
        self._sequence = 0

    @classmethod
    def for_instrument(cls, instrument: Instrument, heartbeat: bool = False) -> SnapshotDiffer:
        return cls(instrument.id, instrument.price_precision, instrument.size_precision, heartbeat)

    @property
    def sequence(self) -> int:
        """The sequence number of the last delta produced (0 before any)."""
        return self._sequence

    def is_unchanged(self, bids: Sequence[Level], asks: Sequence[Level]) -> bool:
        """True when this snapshot equals the previous one (before ``diff`` records it)."""
        return self._books is not None and self._books[OrderSide.BUY] == dict(bids) and self._books[OrderSide.SELL] == dict(asks)

    def reset(self) -> None:
        """Forget the book (e.g. after a reconnect), so the next snapshot is emitted whole as CLEAR + ADDs."""
        self._books = None

    def diff(
        self,
        bids: Sequence[Level],
        asks: Sequence[Level],
        ts_event_ns: int,
        ts_init_ns: int,
    ) -> list[OrderBookDelta]:
        """The deltas from the previous snapshot to this one (best level first on each side); [] if unchanged.

        A snapshot with a level NautilusTrader cannot represent (non-finite, non-positive, beyond ``PRICE_MAX`` or
        ``QUANTITY_MAX``) raises ``ValueError`` and leaves the differ as it was: the next valid snapshot is then
        diffed against the last good book, never against the refused one."""
        _check_levels(bids)
        _check_levels(asks)
        new_books = {OrderSide.BUY: dict(bids), OrderSide.SELL: dict(asks)}
        old_books = self._books
        if old_books is None:
            deltas = self._snapshot_deltas(new_books, ts_event_ns, ts_init_ns)
        else:
            changes = _book_changes(old_books, new_books)
            if not changes and self._heartbeat:
                changes = _heartbeat_change(new_books)
            deltas = self._build(changes, 0, ts_event_ns, ts_init_ns)
        self._books = new_books
        return deltas

    def diff_batch(
        self,
        bids: Sequence[Level],
        asks: Sequence[Level],
        ts_event_ns: int,
        ts_init_ns: int,
    ) -> OrderBookDeltas | None:
        """``diff`` wrapped as one ``OrderBookDeltas`` event for the data engine; ``None`` when nothing changed."""
        deltas = self.diff(bids, asks, ts_event_ns, ts_init_ns)
        return OrderBookDeltas(self._instrument_id, deltas) if deltas else None

    def _snapshot_deltas(
        self,
        books: dict[OrderSide, dict[float, float]],
        ts_event_ns: int,
        ts_init_ns: int,
    ) -> list[OrderBookDelta]:
        changes = [(BookAction.CLEAR, OrderSide.NO_ORDER_SIDE, 0.0, 0.0)]
        for side, levels in books.items():
            changes.extend((BookAction.ADD, side, price, size) for price, size in levels.items())
        return self._build(changes, RecordFlag.F_SNAPSHOT, ts_event_ns, ts_init_ns)

    def _build(
        self,
        changes: list[tuple[BookAction, OrderSide, float, float]],
        flags: int,
        ts_event_ns: int,
        ts_init_ns: int,
    ) -> list[OrderBookDelta]:
        """The deltas; the sequence advances only once all of them are built (a failure leaves it unchanged)."""
        deltas = []
        last = len(changes) - 1
        for index, (action, side, price, size) in enumerate(changes):
            deltas.append(
                OrderBookDelta(
                    self._instrument_id,
                    action,
                    self._order(action, side, price, size),
                    flags | RecordFlag.F_LAST if index == last else flags,
                    self._sequence + index + 1,
                    ts_event_ns,
                    ts_init_ns,
                ),
            )
        self._sequence += len(deltas)
        return deltas

    def _order(self, action: BookAction, side: OrderSide, price: float, size: float) -> BookOrder | None:
        if action == BookAction.CLEAR:
            return None
        quantity = self._zero_size if action == BookAction.DELETE else Quantity(size, self._size_precision)
        return BookOrder(side, Price(price, self._price_precision), quantity, 0)


def _check_levels(levels: Sequence[Level]) -> None:
    for price, size in levels:
        if not (0 < price <= PRICE_MAX and 0 < size <= QUANTITY_MAX):  # False for nan and inf as well
            raise ValueError(f"book level ({price}, {size}) is not a representable positive price and size")


def _heartbeat_change(books: dict[OrderSide, dict[float, float]]) -> list[tuple[BookAction, OrderSide, float, float]]:
    """A no-op UPDATE of the best bid: the venue re-sent an unchanged book, which proves the feed is alive.

    Without it a quiet but healthy market looks exactly like a dead feed to every staleness check downstream.
    """
    bids = books[OrderSide.BUY]
    if not bids:
        return []
    price = next(iter(bids))
    return [(BookAction.UPDATE, OrderSide.BUY, price, bids[price])]


def _book_changes(
    old_books: dict[OrderSide, dict[float, float]],
    new_books: dict[OrderSide, dict[float, float]],
) -> list[tuple[BookAction, OrderSide, float, float]]:
    """DELETEs, then UPDATEs, then ADDs (both sides each) that take ``old_books`` to ``new_books``."""
    deletes, updates, adds = [], [], []
    for side, new in new_books.items():
        old = old_books[side]
        deletes.extend((BookAction.DELETE, side, price, 0.0) for price in old if price not in new)
        for price, size in new.items():
            old_size = old.get(price)
            if old_size is None:
                adds.append((BookAction.ADD, side, price, size))
            elif old_size != size:
                updates.append((BookAction.UPDATE, side, price, size))
    return deletes + updates + adds


# ---------------------------------------------------------------------------------------------------------------
# one recording → deltas, trades, quotes


@dataclass
class LoadResult:
    """What one source file produced, with the counts a person checks after a load."""

    path: Path
    instrument_id: InstrumentId
    deltas: list[OrderBookDelta] = field(default_factory=list)
    trades: list[TradeTick] = field(default_factory=list)
    quotes: list[QuoteTick] = field(default_factory=list)
    lines: int = 0
    snapshots: int = 0
    batches: int = 0
    repeated_snapshots: int = 0
    stale_snapshots: int = 0
    crossed_snapshots: int = 0
    duplicate_trades: int = 0
    pre_recording_trades: int = 0
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

    def ts_init_span_ns(self) -> tuple[int, int] | None:
        """First and last ``ts_init`` over all streams; ``None`` when the file produced nothing."""
        firsts = [stream[0].ts_init for stream in self.streams()]
        lasts = [stream[-1].ts_init for stream in self.streams()]
        return (min(firsts), max(lasts)) if firsts else None

    def streams(self) -> list[list]:
        """The non-empty output streams, each written to the catalog in one call."""
        return [stream for stream in (self.deltas, self.trades, self.quotes) if stream]

    def summary(self) -> str:
        actions = ", ".join(f"{name} {count:,}" for name, count in self.action_counts().items())
        parts = [
            f"{self.path.name}: {self.snapshots:,} snapshots ({self.repeated_snapshots:,} repeats)",
            f"{self.batches:,} batches ({self.checkpoints:,} checkpoints, {self.heartbeats:,} heartbeats)",
            f"{len(self.deltas):,} deltas ({actions})",
            f"{len(self.trades):,} trades",
            f"{len(self.quotes):,} quotes",
            _span_text(self.ts_init_span_ns()),
        ]
        anomalies = {
            "stale snapshots dropped": self.stale_snapshots,
            "CROSSED snapshots": self.crossed_snapshots,
            "duplicate trades dropped": self.duplicate_trades,
            "pre-recording trades dropped": self.pre_recording_trades,
            "other coins skipped": self.other_coins,
            "receive-time regressions": self.recv_time_regressions,
            "trade-time regressions": self.trade_time_regressions,
            "venue times capped at receive time": self.ts_event_capped,
        }
        parts.extend(f"{name} {count:,}" for name, count in anomalies.items() if count)
        parts.extend(f"{channel} messages skipped {count:,}" for channel, count in sorted(self.other_channels.items()))
        return ", ".join(parts) + f" [{self.parse_s:.2f} s]"


def _span_text(span_ns: tuple[int, int] | None) -> str:
    if span_ns is None:
        return "no data"
    start, end = (pd.Timestamp(ns, tz="UTC") for ns in span_ns)
    return f"{start.isoformat()} to {end.isoformat()} ({(span_ns[1] - span_ns[0]) / 1e9:,.1f} s)"


class _RecordingParser:
    """Per-file state: the differ, the last top of book, seen trade ids and the timestamp guards."""

    def __init__(self, path: Path, instrument: Instrument, checkpoint_s: float = 0.0, heartbeat: bool = False) -> None:
        self.result = LoadResult(path=path, instrument_id=instrument.id)
        self._checkpoint_ns = int(checkpoint_s * 1e9)
        self._last_checkpoint_ns: int | None = None
        self._coin = instrument.raw_symbol.value
        self._price_precision = instrument.price_precision
        self._size_precision = instrument.size_precision
        self._differ = SnapshotDiffer.for_instrument(instrument, heartbeat)
        self._last_top: tuple[Level, Level] | None = None
        self._seen_trades: set[tuple[int, int]] = set()
        self._first_recv_ns: int | None = None
        self._last_recv_ns = 0
        self._last_book_venue_ns = 0
        self._last_trade_event_ns = 0

    def handle(self, line_no: int, recv_ns: int, message: dict[str, Any]) -> None:
        self.result.lines += 1
        ts_init_ns = self._monotonic_recv(recv_ns)
        channel = message.get("channel")
        try:
            if channel == "l2Book":
                self._on_book(message["data"], ts_init_ns)
            elif channel == "trades":
                self._on_trades(message["data"], ts_init_ns)
            else:
                self.result.other_channels[str(channel)] += 1
        except KeyError as exc:
            raise RecordingError(self.result.path, line_no, f"{channel} message missing {exc}") from None
        except (TypeError, ValueError) as exc:
            raise RecordingError(self.result.path, line_no, f"malformed {channel} message: {exc}") from None

    def _monotonic_recv(self, recv_ns: int) -> int:
        if self._first_recv_ns is None:
            self._first_recv_ns = recv_ns
        if recv_ns < self._last_recv_ns:
            self.result.recv_time_regressions += 1
            return self._last_recv_ns
        self._last_recv_ns = recv_ns
        return recv_ns

    def _capped(self, venue_ns: int, ts_init_ns: int) -> int:
        if venue_ns > ts_init_ns:
            self.result.ts_event_capped += 1
            return ts_init_ns
        return venue_ns

    def _on_book(self, data: dict[str, Any], ts_init_ns: int) -> None:
        if data["coin"] != self._coin:
            self.result.other_coins += 1
            return
        venue_ns = int(data["time"]) * _NS_PER_MS
        raw_bids, raw_asks = data["levels"]
        bids, asks = _parse_levels(raw_bids), _parse_levels(raw_asks)
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

        A backtest that starts mid-file needs a full book to start from; a checkpoint is one. Checkpoints cost a
        queue-position reset for resting orders (a CLEAR), hence a long default interval.
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

    def _on_trades(self, trades: list[dict[str, Any]], ts_init_ns: int) -> None:
        if not isinstance(trades, list):
            raise TypeError("'data' is not a list of trades")
        for raw in trades:
            if raw["coin"] != self._coin:
                self.result.other_coins += 1
                continue
            trade = _parse_trade(raw)
            key = (trade.venue_ns, trade.tid)
            if key in self._seen_trades:
                self.result.duplicate_trades += 1
                continue
            self._seen_trades.add(key)
            if trade.venue_ns < self._first_recv_ns:
                self.result.pre_recording_trades += 1
                continue
            self.result.trades.append(self._trade_tick(trade, ts_init_ns))

    def _trade_tick(self, trade: _Trade, ts_init_ns: int) -> TradeTick:
        venue_ns = trade.venue_ns
        if venue_ns < self._last_trade_event_ns:
            self.result.trade_time_regressions += 1
            venue_ns = self._last_trade_event_ns
        ts_event_ns = self._capped(venue_ns, ts_init_ns)
        self._last_trade_event_ns = ts_event_ns
        return TradeTick(
            self.result.instrument_id,
            Price(trade.price, self._price_precision),
            Quantity(trade.size, self._size_precision),
            trade.aggressor,
            TradeId(str(trade.tid)),
            ts_event_ns,
            ts_init_ns,
        )


class _Trade(NamedTuple):
    venue_ns: int
    tid: int
    aggressor: AggressorSide
    price: float
    size: float


def _parse_trade(raw: dict[str, Any]) -> _Trade:
    """Validate every trade, even one dropped later, so a corrupt line never passes unnoticed."""
    aggressor = _AGGRESSOR_BY_SIDE.get(raw["side"])
    if aggressor is None:
        raise ValueError(f"trade side {raw['side']!r} is neither 'B' nor 'A'")
    price, size = float(raw["px"]), float(raw["sz"])
    if not (price > 0 and size > 0):
        raise ValueError(f"non-positive trade price or size ({raw['px']}, {raw['sz']})")
    return _Trade(int(raw["time"]) * _NS_PER_MS, int(raw["tid"]), aggressor, price, size)


def _parse_levels(raw_levels: list[dict[str, str]]) -> list[Level]:
    """``[{"px": "42727.0", "sz": "0.02265", "n": 1}, ...]`` → ``[(42727.0, 0.02265), ...]``, order kept."""
    levels = [(float(level["px"]), float(level["sz"])) for level in raw_levels]
    for price, size in levels:
        if not (price > 0 and size > 0):
            raise ValueError(f"non-positive level price or size ({price}, {size})")
    return levels


def parse_file(
    path: Path | str,
    instrument: Instrument,
    progress: bool = False,
    checkpoint_s: float = 0.0,
    heartbeat: bool = False,
) -> LoadResult:
    """Parse one recording (S3 archive or WS collector format) for ``instrument``'s coin.

    ``checkpoint_s`` > 0 re-emits a full snapshot that often (see ``_RecordingParser._maybe_checkpoint``);
    0 gives pure diffs after the first snapshot. ``heartbeat`` turns each repeated snapshot into one no-op
    UPDATE, so the catalog keeps the feed's liveness (see ``_heartbeat_change``).

    Raises ``RecordingError`` (a ``ValueError`` naming the file and line) on input it cannot read.
    """
    path = Path(path)
    parser = _RecordingParser(path, instrument, checkpoint_s, heartbeat)
    started_s = time.perf_counter()
    messages = _read_messages(path)
    if progress:
        messages = tqdm(messages, desc=path.name, unit=" lines", file=sys.stderr, disable=None, leave=False)
    for line_no, recv_ns, message in messages:
        parser.handle(line_no, recv_ns, message)
    parser.result.parse_s = time.perf_counter() - started_s
    return parser.result


def _read_messages(path: Path) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """``iter_ws_messages`` with decompression and decoding failures reported against the file and line."""
    messages = iter_ws_messages(path)
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


# ---------------------------------------------------------------------------------------------------------------
# CLI


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m adapters.hyperliquid.loaders",
        description="Load recorded Hyperliquid l2Book/trades data into a NautilusTrader ParquetDataCatalog.",
    )
    parser.add_argument("sources", nargs="+", type=Path, metavar="SRC", help="S3 archive (.lz4) or WS recording (.gz)")
    parser.add_argument("--catalog", type=Path, required=True, help="ParquetDataCatalog directory (created if absent)")
    parser.add_argument("--meta", type=Path, default=DEFAULT_META, help="meta JSON or SDK cassette (default: bundled)")
    parser.add_argument("--coin", default=None, help="load only this coin (default: every coin in the sources)")
    parser.add_argument(
        "--checkpoint-s",
        type=float,
        default=DEFAULT_CHECKPOINT_S,
        help=f"full-book snapshot every N seconds so backtests can start mid-file (default {DEFAULT_CHECKPOINT_S:g}, 0 = off)",
    )
    parser.add_argument(
        "--no-heartbeat",
        dest="heartbeat",
        action="store_false",
        help="drop repeated snapshots instead of writing a no-op UPDATE for each (default: write them)",
    )
    return parser.parse_args(argv)


def coins_in(paths: Iterable[Path | str]) -> list[str]:
    """Every coin with a book or a trade in the sources, in order of first appearance."""
    coins: dict[str, None] = {}
    for path in paths:
        for _, _, message in _read_messages(Path(path)):
            data = message.get("data")
            if message.get("channel") == "l2Book" and isinstance(data, dict):
                coins.setdefault(str(data.get("coin")), None)
            elif message.get("channel") == "trades" and isinstance(data, list):
                coins.update((str(trade.get("coin")), None) for trade in data if isinstance(trade, dict))
    return list(coins)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        if args.coin is not None:
            sources_of = {args.coin: list(args.sources)}
        else:  # each source is parsed for the coins it holds
            sources_of = {}
            for source in args.sources:
                for coin in coins_in([source]):
                    sources_of.setdefault(coin, []).append(source)
            if not sources_of:
                raise LoaderError("no l2Book or trades message in the sources: nothing to load")
        instruments = [instrument_for(coin, args.meta) for coin in sources_of]
        for instrument in instruments:
            results = []
            for source in sources_of[instrument.raw_symbol.value]:
                result = parse_file(
                    source, instrument, progress=True, checkpoint_s=args.checkpoint_s, heartbeat=args.heartbeat
                )
                print(result.summary())
                results.append(result)
            write_catalog(results, instrument, args.catalog)
    except (RecordingError, LoaderError, CatalogSourceError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    loaded = ", ".join(str(instrument.id) for instrument in instruments)
    print(f"catalog {args.catalog}: {loaded} from {len(args.sources)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
