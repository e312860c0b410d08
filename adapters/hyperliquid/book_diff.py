"""Full L2 snapshots (Hyperliquid ``l2Book``) → market-by-price ``OrderBookDelta`` batches.

One implementation for the catalog loaders (``loaders.py``) and the live data client (``data.py``), so a backtest
replays exactly the deltas live trading sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import PRICE_MAX
from nautilus_trader.model.objects import QUANTITY_MAX
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from mm_strategy.book_changes import Books
from mm_strategy.book_changes import Change
from mm_strategy.book_changes import book_changes
from mm_strategy.book_changes import heartbeat_change

_CLEAR, _DELETE, _F_LAST = BookAction.CLEAR, BookAction.DELETE, RecordFlag.F_LAST

Level = tuple[float, float]
"""One book level as ``(price, size)``; the differ keys levels by price, so equal prices must parse equal."""


class RawLevel(Protocol):
    """One level as the venue sends it (``schemas.market.BookLevel``): decimal strings, not yet parsed."""

    px: str
    sz: str


Side = dict[str, str]
"""One side of a raw book, ``px`` string → ``sz`` string, best first."""


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
    ``diff`` takes levels already parsed to ``(price, size)`` floats (the loader); ``diff_raw_batch`` takes the venue's
    raw level strings (the live feed) and gives exactly the deltas ``diff`` gives for their parsed floats, parsing
    only the levels that changed (``_raw_changes``). The caller owns timestamps.
    """

    __slots__ = (
        "_instrument_id", "_heartbeat", "_price_precision", "_size_precision", "_zero_size", "_books", "_raw",
        "_sequence",
    )

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
        # The last book: as floats, or as the venue's strings (every price the repr of its float), or both.
        self._books: Books | None = None
        self._raw: tuple[Side, Side] | None = None
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
        books = self._float_books()
        return books is not None and books[OrderSide.BUY] == dict(bids) and books[OrderSide.SELL] == dict(asks)

    def reset(self) -> None:
        """Forget the book (e.g. after a reconnect), so the next snapshot is emitted whole as CLEAR + ADDs."""
        self._books = None
        self._raw = None

    def clear(self, ts_ns: int) -> OrderBookDeltas:
        """Forget the book and return the one CLEAR that empties the node's copy of it: for a feed known to be
        down, whose last book would otherwise be quoted against as if it were current. The next snapshot is emitted
        whole."""
        self.reset()
        changes = [(_CLEAR, OrderSide.NO_ORDER_SIDE, 0.0, 0.0)]
        return OrderBookDeltas(self._instrument_id, self._build(changes, RecordFlag.F_SNAPSHOT, ts_ns, ts_ns))

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
        old_books = self._float_books()
        if old_books is None:
            deltas = self._snapshot_deltas(new_books, ts_event_ns, ts_init_ns)
        else:
            changes = book_changes(old_books, new_books)
            if not changes and self._heartbeat:
                changes = heartbeat_change(new_books)
            deltas = self._build(changes, 0, ts_event_ns, ts_init_ns)
        self._books = new_books
        self._raw = None
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

    def diff_raw_batch(
        self,
        bids: Sequence[RawLevel],
        asks: Sequence[RawLevel],
        ts_event_ns: int,
        ts_init_ns: int,
    ) -> OrderBookDeltas | None:
        """``diff`` of the venue's raw levels, as one ``OrderBookDeltas`` event; ``None`` when nothing changed.

        Validation is ``diff``'s: a level unchanged since the last book was valid then; a new or changed one is
        parsed and checked here, before anything is stored. When a new price string is not the repr of its float
        (``_raw_changes``), the whole snapshot is parsed and diffed as floats."""
        new_raw = ({level.px: level.sz for level in bids}, {level.px: level.sz for level in asks})
        old_raw = self._raw
        repeats_a_price = len(new_raw[0]) != len(bids) or len(new_raw[1]) != len(asks)  # each copy is checked
        changes = None if old_raw is None or repeats_a_price else _raw_changes(old_raw, new_raw)
        if changes is None:
            deltas = self.diff(_parsed(bids), _parsed(asks), ts_event_ns, ts_init_ns)
            if _prices_are_reprs(new_raw[0]) and _prices_are_reprs(new_raw[1]):
                self._raw = new_raw
        else:
            if not changes and self._heartbeat:  # built only then: the new frame's first bid, as ``diff`` names
                changes = heartbeat_change(_best_bid_book(new_raw[0]))
            deltas = self._build(changes, 0, ts_event_ns, ts_init_ns)
            self._raw = new_raw
            self._books = None
        return OrderBookDeltas(self._instrument_id, deltas) if deltas else None

    def _float_books(self) -> Books | None:
        """The last book as floats; from its strings when only those were kept (exact: each price is a repr)."""
        if self._books is None and self._raw is not None:
            bids, asks = self._raw
            self._books = {
                OrderSide.BUY: {float(px): float(sz) for px, sz in bids.items()},
                OrderSide.SELL: {float(px): float(sz) for px, sz in asks.items()},
            }
        return self._books

    def _snapshot_deltas(
        self,
        books: Books,
        ts_event_ns: int,
        ts_init_ns: int,
    ) -> list[OrderBookDelta]:
        changes = [(BookAction.CLEAR, OrderSide.NO_ORDER_SIDE, 0.0, 0.0)]
        for side, levels in books.items():
            changes.extend((BookAction.ADD, side, price, size) for price, size in levels.items())
        return self._build(changes, RecordFlag.F_SNAPSHOT, ts_event_ns, ts_init_ns)

    def _build(
        self,
        changes: list[Change],
        flags: int,
        ts_event_ns: int,
        ts_init_ns: int,
    ) -> list[OrderBookDelta]:
        """The deltas; the sequence advances only once all of them are built (a failure leaves it unchanged).

        Attributes are read once per batch, not per delta: this runs for every live book frame."""
        instrument_id, price_precision = self._instrument_id, self._price_precision
        size_precision, zero_size, first = self._size_precision, self._zero_size, self._sequence + 1
        last = len(changes) - 1
        deltas = [
            OrderBookDelta(
                instrument_id,
                action,
                None if action == _CLEAR else BookOrder(
                    side,
                    Price(price, price_precision),
                    zero_size if action == _DELETE else Quantity(size, size_precision),
                    0,
                ),
                flags if index != last else flags | _F_LAST,
                first + index,
                ts_event_ns,
                ts_init_ns,
            )
            for index, (action, side, price, size) in enumerate(changes)
        ]
        self._sequence += len(deltas)
        return deltas


def _check_levels(levels: Sequence[Level]) -> None:
    for price, size in levels:
        _check_level(price, size)


def _check_level(price: float, size: float) -> None:
    if not (0 < price <= PRICE_MAX and 0 < size <= QUANTITY_MAX):  # False for nan and inf as well
        raise ValueError(f"book level ({price}, {size}) is not a representable positive price and size")


def _best_bid_book(bids: Side) -> Books:
    """The new frame's first bid, all a heartbeat needs (``heartbeat_change``): the venue may list the same levels
    in another order, and the float diff names the new frame's first bid, not the old one's."""
    first = next(iter(bids.items()), None)
    return {OrderSide.BUY: {} if first is None else {float(first[0]): float(first[1])}}


def _parsed(levels: Sequence[RawLevel]) -> list[Level]:
    return [(float(level.px), float(level.sz)) for level in levels]


def _prices_are_reprs(side: Side) -> bool:
    """Whether every price string is ``repr`` of its own float (the venue's ``"42304.0"``, ``"0.0123"``).

    Distinct such strings are distinct floats, so a book of them diffs by string exactly as by float."""
    return all(repr(float(px)) == px for px in side)


def _raw_changes(old_raw: tuple[Side, Side], new_raw: tuple[Side, Side]) -> list[Change] | None:
    """``book_changes`` of the parsed books, from the strings: only new or changed levels are parsed and checked.

    Exact because every price string of ``old_raw`` is the repr of its float, and so must be each new price
    (else ``None``: the caller diffs the floats): strings and floats then key the same levels in the same order.
    A changed size string is compared as a float, as ``book_changes`` does. Raises ``ValueError`` for a new
    level that ``diff`` would refuse."""
    deletes, updates, adds = [], [], []
    for side, old, new in ((OrderSide.BUY, old_raw[0], new_raw[0]), (OrderSide.SELL, old_raw[1], new_raw[1])):
        if old == new:
            continue
        deletes.extend([(BookAction.DELETE, side, float(px), 0.0) for px in old if px not in new])
        for px, sz, old_sz in [(px, sz, old.get(px)) for px, sz in new.items() if old.get(px) != sz]:
            price, size = float(px), float(sz)
            _check_level(price, size)
            if old_sz is None:
                if repr(price) != px:
                    return None
                adds.append((BookAction.ADD, side, price, size))
            elif size != float(old_sz):
                updates.append((BookAction.UPDATE, side, price, size))
    return deletes + updates + adds
