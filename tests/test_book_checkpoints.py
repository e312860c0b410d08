"""Full-book snapshots after a run's first replay as the diff they amount to (``mm_strategy.book_checkpoints``).

A CLEAR makes NautilusTrader's matching engine zero the queue ahead of every resting order: each checkpoint the
loaders write handed our orders the front of their queues (review: the touch probe got 119 fill events on the BTC
capture built with a checkpoint every 15 s, 90 without any). A catalog's checkpoints must change no fill.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.hyperliquid import catalog_cli
from mm_strategy.backtest import run_backtest
from mm_strategy.book_checkpoints import CheckpointsAsDiffs
from mm_strategy.node_config import load_venue_config
from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
from queue_model_agreement import probe_settings  # noqa: E402

IID = InstrumentId.from_str("BTC-USD-PERP.HYPERLIQUID")
F_LAST, F_SNAPSHOT = int(RecordFlag.F_LAST), int(RecordFlag.F_SNAPSHOT)


def _delta(action, side, price, size, ts, last=False, snapshot=False):
    order = None if action == BookAction.CLEAR else BookOrder(side, Price(price, 0), Quantity(size, 5), 0)
    flags = (F_LAST if last else 0) | (F_SNAPSHOT if snapshot else 0)
    return OrderBookDelta(IID, action, order, flags, ts, ts, ts)


def _snapshot(ts, bids, asks):
    levels = [(OrderSide.BUY, p, s) for p, s in bids] + [(OrderSide.SELL, p, s) for p, s in asks]
    clear = _delta(BookAction.CLEAR, OrderSide.NO_ORDER_SIDE, 0, 0, ts, snapshot=True)
    adds = [_delta(BookAction.ADD, side, p, s, ts, i == len(levels) - 1, True) for i, (side, p, s) in enumerate(levels)]
    return [clear, *adds]


def _summary(deltas):
    return [(d.action, d.order.side if d.order else None, d.order.price.as_double() if d.order else None,
             d.order.size.as_double() if d.order else None, bool(d.flags & F_LAST)) for d in deltas]


def test_only_the_first_snapshot_clears_later_ones_become_their_diff():
    rewriter = CheckpointsAsDiffs()
    first = _snapshot(1, [(100, 1.0), (99, 2.0)], [(101, 1.5)])
    assert rewriter.rewrite(first) == first, "the run's first book is a snapshot"
    diff = [_delta(BookAction.UPDATE, OrderSide.BUY, 99, 3.0, 2, last=True)]
    assert rewriter.rewrite(diff) == diff, "diffs pass as written"
    # the same book again (the usual checkpoint): one UPDATE of the best bid to its own size, no CLEAR
    same = rewriter.rewrite(_snapshot(3, [(100, 1.0), (99, 3.0)], [(101, 1.5)]))
    assert _summary(same) == [(BookAction.UPDATE, OrderSide.BUY, 100.0, 1.0, True)]
    # a book that differs: what takes the held book to it, DELETEs first, then UPDATEs, then ADDs
    changed = rewriter.rewrite(_snapshot(4, [(100, 2.0)], [(101, 1.5), (102, 4.0)]))
    assert _summary(changed) == [
        (BookAction.DELETE, OrderSide.BUY, 99.0, 0.0, False),
        (BookAction.UPDATE, OrderSide.BUY, 100.0, 2.0, False),
        (BookAction.ADD, OrderSide.SELL, 102.0, 4.0, True),
    ]
    assert all(d.ts_init == 4 for d in changed) and rewriter.snapshots_rewritten == 2


@pytest.fixture(scope="module")
def btc_capture_with_and_without_checkpoints(hl_captures, tmp_path_factory):
    catalogs = []
    for checkpoint_s in ("0", "15"):
        path = tmp_path_factory.mktemp(f"hl_btc_cp{checkpoint_s}")
        source = str(hl_captures / "hl_BTC_20250903.gz")
        assert catalog_cli.main([source, "--coin", "BTC", "--catalog", str(path), "--checkpoint-s", checkpoint_s]) == 0
        catalogs.append(path)
    return catalogs


def _probe_fills(catalog: Path) -> list[tuple]:
    settings = probe_settings(load_venue_config(REPO_ROOT / "configs" / "hyperliquid_btc.json"))
    outcome = run_backtest(settings, catalog)
    fills = sorted(
        (e.ts_event, e.client_order_id.value, e.last_px.as_double(), e.last_qty.as_double())
        for order in outcome.engine.cache.orders()
        for e in order.events
        if isinstance(e, OrderFilled)
    )
    outcome.node.dispose()
    return fills


def test_a_catalogs_checkpoints_change_no_fill(btc_capture_with_and_without_checkpoints):
    """The touch probe (one order per side resting at the best price: where queue position decides) gets the same
    fills from the BTC capture whether it holds a full-book checkpoint every 15 s or none (119 against 90 before)."""
    without, every_15_s = btc_capture_with_and_without_checkpoints
    fills = _probe_fills(without)
    assert len(fills) > 50
    assert _probe_fills(every_15_s) == fills
