"""Full L2 snapshots (Hyperliquid ``l2Book``) → market-by-price ``OrderBookDelta`` batches.

One implementation for the catalog loaders (``loaders.py``) and the live data client (``data.py``), so a backtest
replays exactly the deltas live trading sees.
"""

from __future__ import annotations

from collections.abc import Sequence

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

Level = tuple[float, float]
"""One book level as ``(price, size)``; the differ keys levels by price, so equal prices must parse equal."""



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

    __slots__ = (
        "_instrument_id", "_heartbeat", "_price_precision", "_size_precision", "_zero_size", "_books", "_sequence",
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
        books = self._books
        return books is not None and books[OrderSide.BUY] == dict(bids) and books[OrderSide.SELL] == dict(asks)

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
