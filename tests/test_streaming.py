"""Streamed backtests (``mm_strategy/streaming.py``) replay the events a one-shot load replays, in the same order.

On the 9-minute BTC capture with trades (the catalog ``make catalogs`` builds), the reference is NautilusTrader's
own ``BacktestNode`` loading the whole catalog at once, unbounded (the loaders' order). A run bounded in time by its
own first and last timestamps, and runs streamed in one window, in one-minute and in 7 s windows, place the same
orders and get the same fills and balance, over the same data points but the checkpoint our node replays as a diff.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pandas as pd
import pytest

from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from mm_strategy.backtest import BacktestOutcome
from mm_strategy.backtest import DataRange
from mm_strategy.backtest import run_backtest
from mm_strategy.backtest import run_config
from mm_strategy.book_checkpoints import CheckpointsAsDiffs
from mm_strategy.node_config import load_venue_config
from mm_strategy.streaming import StreamingBacktestNode
from mm_strategy.streaming import _written_order
from mm_strategy.streaming import data_span

REPO_ROOT = Path(__file__).resolve().parents[1]


def _settings():
    return load_venue_config(REPO_ROOT / "configs" / "hyperliquid_btc.json")


def _reference(catalog: Path) -> dict:
    """NautilusTrader's one-shot load of the whole catalog, no time bound: the order the loaders wrote. Our node
    replays each full-book checkpoint after the first as the diff it amounts to (``book_checkpoints``, tested on
    its own there): the capture's one checkpoint, the first book after its 250 s gap, is 41 deltas as written and
    54 as that diff, and the reference counts the data points so."""
    config = run_config(_settings(), catalog)
    node = BacktestNode(configs=[config])
    result = node.run()[0]
    summary = _summary(BacktestOutcome(node=node, result=result, run_config_id=config.id, wall_s=0.0, feed_lag_ms=0.0))
    deltas = ParquetDataCatalog(str(catalog)).order_book_deltas()
    deltas.sort(key=_written_order)
    rewriter = CheckpointsAsDiffs()
    summary["iterations"] += len(rewriter.rewrite(deltas)) - len(deltas)
    assert rewriter.snapshots_rewritten == 1
    return summary


def _outcome(catalog: Path, data_range: DataRange = DataRange(), window_s: float | None = 3600.0) -> dict:
    return _summary(run_backtest(_settings(), catalog, data_range, stream_window_s=window_s))


def _summary(outcome: BacktestOutcome) -> dict:
    engine = outcome.engine
    orders = list(engine.cache.orders())
    fills, updates = [], []  # updates: the strategy amends its orders, each modify the venue applied
    for o in orders:
        for e in o.events:  # one pass: ``events`` copies the order's list on every access
            if type(e).__name__ == "OrderFilled":
                fills.append((e.ts_event, str(e.last_px), str(e.last_qty)))
            elif type(e).__name__ == "OrderUpdated":
                updates.append((e.ts_event, str(e.price), str(e.quantity)))
    summary = {
        "iterations": outcome.result.iterations,
        "orders": [(o.ts_init, o.side, str(o.price), str(o.quantity)) for o in orders],
        "updates": updates,
        "fills": sorted(fills),
        "balance": str(engine.cache.accounts()[0].balance_total()),
    }
    outcome.node.dispose()
    return summary


@pytest.fixture(scope="module")
def reference(hl_btc_catalog) -> dict:
    return _reference(hl_btc_catalog)


def test_a_backtest_bounded_in_time_replays_the_whole_range_as_the_unbounded_one(hl_btc_catalog, reference) -> None:
    """A time-bounded catalog query returns one timestamp's deltas in any order; replayed as they came, a batch's
    last-delta flag could arrive mid-batch (386 orders instead of 381 before the loaders' order was restored)."""
    first, last = data_span(run_config(_settings(), hl_btc_catalog).data)
    bounded = _outcome(hl_btc_catalog, DataRange(start=pd.Timestamp(first, tz="UTC"), end=pd.Timestamp(last, tz="UTC")))
    # The comparison covers orders, their amendments and fills (15 on the capture with orders arriving after the feed's
    # lag; 2 with 50 ms; 10 now): 53 orders and 440 updates since the strategy amends its orders (381 orders before).
    assert len(reference["orders"]) + len(reference["updates"]) > 300 and len(reference["fills"]) >= 2
    assert bounded == reference


@pytest.mark.parametrize("window_s", [None, 60.0, 7.0])
def test_streaming_in_windows_replays_the_one_shot_load(hl_btc_catalog, reference, window_s) -> None:
    assert _outcome(hl_btc_catalog, window_s=window_s) == reference


def test_a_backtest_makes_no_full_garbage_collection_and_restores_the_collector(hl_btc_catalog) -> None:
    """A full collection walks the whole engine and the loaded data to free nothing (~0.1 s each, one or two a run
    of the archive hour before): none during a run; after it the collector is as it was (on, same thresholds)."""
    collected: list[int] = []

    def on_collection(phase: str, info: dict) -> None:
        if phase == "start":
            collected.append(info["generation"])

    thresholds = gc.get_threshold()
    # The oldest generation emptied (what is alive now frozen) and its threshold 0: without the hold, the run's
    # first young collection to promote anything would be followed by a full one.
    gc.freeze()
    gc.collect()
    eager = (thresholds[0], thresholds[1], 0)
    gc.set_threshold(*eager)
    gc.callbacks.append(on_collection)
    try:
        # the run alone: once it returns the eager thresholds are back, and the next young collection of whatever
        # follows is a full one (reading the run's orders and their 440 updates afterwards was enough)
        outcome = run_backtest(_settings(), hl_btc_catalog, DataRange(), stream_window_s=60.0)
        after = gc.isenabled(), gc.get_threshold()
    finally:
        gc.callbacks.remove(on_collection)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    outcome.node.dispose()
    assert collected and 2 not in collected
    assert after == (True, eager)


def test_a_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="StreamingBacktestNode.window_s: must be > 0, got 0"):
        StreamingBacktestNode([], 0)
