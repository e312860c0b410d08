"""Full-book snapshots after a run's first are replayed as the diff they amount to, not as a CLEAR.

The loaders write a full-book snapshot (a CLEAR, then one ADD per level, flagged ``F_SNAPSHOT``) every
``--checkpoint-s`` (300 s by default, 15 s for the sweep catalog), so that a backtest can start mid-file on a full
book (``backtest.align_to_snapshot``); the Binance loader writes one at each REST snapshot. NautilusTrader 1.231's
matching engine meets a CLEAR by setting the queue ahead of every resting order to zero
(``OrderMatchingEngine._clear_all_queue_positions``), so every checkpoint moved our resting orders to the front of
their queues and the next print at their price filled them. Review of the fill model: the touch probe on the BTC
capture got 119 fill events from a catalog with 15 s checkpoints against 90 from the same data without; on SOL an
order with 2,920 counted ahead was filled by a 0.06 print right after one. Sweeps on the 15 s catalog would favour
tight quotes for fills that were never there.

Only a run's first snapshot must be one (its book starts empty). Every later one is turned into the deltas that take
the book the run holds to it: levels that did not change keep their queues, a level that changed or went is updated
or deleted as any diff would be. When the two books agree (the usual case: the loaders write checkpoints between
diffs that already track the book) the batch becomes one UPDATE of the best bid to its own size, so the batch keeps
its place in time as the loaders' heartbeats do. A snapshot that does differ (the Binance loader's restart after a
gap in the diff stream) still corrects the book, without a reset of the levels it leaves as they were.
"""

from __future__ import annotations

from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.objects import Quantity

_F_LAST = int(RecordFlag.F_LAST)
_SIDES = (OrderSide.BUY, OrderSide.SELL)
Book = dict[OrderSide, dict[int, BookOrder]]  # side -> raw price -> the level


class CheckpointsAsDiffs:
    """Rewrites a run's book deltas, in replay order, window after window (module docstring)."""

    __slots__ = ("_book", "snapshots_rewritten")

    def __init__(self) -> None:
        self._book: Book | None = None  # the book the run holds, from its first snapshot on
        self.snapshots_rewritten = 0

    def rewrite(self, deltas: list[OrderBookDelta]) -> list[OrderBookDelta]:
        """``deltas`` in the order the loaders wrote them (a snapshot's CLEAR first, ``F_LAST`` on its last)."""
        out: list[OrderBookDelta] = []
        snapshot: list[OrderBookDelta] | None = None
        for delta in deltas:
            if snapshot is None and delta.action != BookAction.CLEAR:
                self._apply(delta)
                out.append(delta)
                continue
            if snapshot is None:
                snapshot = []
            snapshot.append(delta)
            if delta.flags & _F_LAST:
                out.extend(self._replayed(snapshot))
                snapshot = None
        if snapshot is not None:  # a snapshot without its last delta: left as written
            out.extend(snapshot)
        return out

    def _apply(self, delta: OrderBookDelta) -> None:
        if self._book is None:
            return  # before the run's first snapshot: nothing to track yet
        levels = self._book[delta.order.side]
        if delta.action == BookAction.DELETE:
            levels.pop(delta.order.price.raw, None)
        else:
            levels[delta.order.price.raw] = delta.order

    def _replayed(self, snapshot: list[OrderBookDelta]) -> list[OrderBookDelta]:
        new: Book = {side: {} for side in _SIDES}
        for delta in snapshot[1:]:
            if delta.action in (BookAction.ADD, BookAction.UPDATE):
                new[delta.order.side][delta.order.price.raw] = delta.order
        old, self._book = self._book, new
        if old is None:
            return snapshot  # the run's first book
        self.snapshots_rewritten += 1
        changes = _changes(old, new) or _heartbeat(new)
        first, last = snapshot[0], len(changes) - 1
        return [
            OrderBookDelta(
                first.instrument_id,
                action,
                order,
                _F_LAST if index == last else 0,
                first.sequence,
                first.ts_event,
                first.ts_init,
            )
            for index, (action, order) in enumerate(changes)
        ]


def _changes(old: Book, new: Book) -> list[tuple[BookAction, BookOrder]]:
    """DELETEs, then UPDATEs, then ADDs, as the loaders' diffs are ordered (the book never shows a transient cross
    the snapshot itself does not)."""
    deletes, updates, adds = [], [], []
    for side in _SIDES:
        before, after = old[side], new[side]
        for raw, order in before.items():
            if raw not in after:
                deletes.append((BookAction.DELETE, _deleted(order)))
        for raw, order in after.items():
            previous = before.get(raw)
            if previous is None:
                adds.append((BookAction.ADD, order))
            elif previous.size != order.size:
                updates.append((BookAction.UPDATE, order))
    return deletes + updates + adds


def _deleted(order: BookOrder) -> BookOrder:
    return BookOrder(order.side, order.price, Quantity.zero(order.size.precision), order.order_id)


def _heartbeat(book: Book) -> list[tuple[BookAction, BookOrder]]:
    """One UPDATE of the best bid (else the best ask) to its own size: a batch that changes nothing."""
    for side, best in ((OrderSide.BUY, max), (OrderSide.SELL, min)):
        if book[side]:
            return [(BookAction.UPDATE, book[side][best(book[side])])]
    return []
