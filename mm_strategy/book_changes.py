"""The changes that take one market-by-price book to another: DELETEs, then UPDATEs, then ADDs.

One rule for every place that turns full books into deltas: the snapshot differ of the Hyperliquid loaders and live
feed (``adapters/hyperliquid/book_diff.py``) and the backtest's replay of a catalog's later checkpoints as diffs
(``book_checkpoints.py``), so a checkpoint replays as exactly the deltas a diff would have written there.
"""

from __future__ import annotations

from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide

Books = dict[OrderSide, dict[float, float]]
"""Both sides of a book, price → size, each side in the order its levels were given (best first)."""
Change = tuple[BookAction, OrderSide, float, float]
"""One delta to build: ``(action, side, price, size)`` (size 0.0 for a DELETE)."""


def book_changes(old_books: Books, new_books: Books) -> list[Change]:
    """DELETEs, then UPDATEs, then ADDs (both sides each) that take ``old_books`` to ``new_books``: after the
    DELETEs the book is a subset of the new one, so applying the changes one at a time never shows a crossed book
    unless the new one is crossed."""
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


def heartbeat_change(books: Books) -> list[Change]:
    """A no-op UPDATE of the first bid: a book re-sent unchanged, which proves the feed is alive.

    Without it a quiet but healthy market looks exactly like a dead feed to every staleness check downstream.
    """
    bids = books[OrderSide.BUY]
    if not bids:
        return []
    price = next(iter(bids))
    return [(BookAction.UPDATE, OrderSide.BUY, price, bids[price])]
