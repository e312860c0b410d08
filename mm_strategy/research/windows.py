"""Time windows on a catalog: one per dataset, or walk-forward windows rolling over it.

A backtest can only start on a full book, so every window starts at a checkpoint snapshot (a CLEAR; the loaders
write one every ``--checkpoint-s``). Walk-forward windows are laid greedily: start at the first checkpoint at or
after the cursor, run exactly ``window_s`` (equal lengths keep PnL and fills comparable between windows), move the
cursor to the end, repeat while a whole window still fits. Windows never overlap, so no out-of-sample window
shares data with the window its parameters were chosen on.

Recordings have holes (a reconnect, a collector restart). A window spanning a gap longer than ``max_gap_s`` would
measure the strategy's stale-book halt rather than its quoting, so it is skipped: the cursor moves past the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from mm_strategy.backtest import DataRange
from mm_strategy.backtest import align_to_snapshot
from mm_strategy.book_columns import read_columns
from mm_strategy.research.spec import Dataset
from mm_strategy.research.spec import SpecError
from mm_strategy.research.spec import WalkForward

NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Window:
    """``[start_ns, end_ns]``, both inclusive (the catalog's ``end_time`` is inclusive)."""

    index: int
    start_ns: int
    end_ns: int

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self.start_ns, unit="ns", tz="UTC")

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(self.end_ns, unit="ns", tz="UTC")

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / NS_PER_S


def plan_windows(dataset: Dataset, instrument_id: str, walk_forward: WalkForward | None, field: str) -> list[Window]:
    """The windows of one dataset; ``field`` (``datasets[i]``) names the spec entry in every error."""
    catalog_path = dataset.catalog
    if not catalog_path.is_dir():
        raise SpecError(f"{field}.catalog: {catalog_path}: no such catalog directory")
    catalog = ParquetDataCatalog(str(catalog_path))
    intervals = catalog.get_intervals(OrderBookDelta, instrument_id)
    if not intervals:
        raise SpecError(f"{field}.catalog: {catalog_path} holds no order book data for {instrument_id}")
    start_ns = dataset.start.value if dataset.start is not None else intervals[0][0]
    end_ns = dataset.end.value if dataset.end is not None else intervals[-1][1]
    if start_ns >= end_ns:
        raise SpecError(f"{field}: start {_utc(start_ns)} is not before end {_utc(end_ns)}")
    if walk_forward is None:
        return [Window(0, _aligned_start(catalog_path, instrument_id, start_ns, field), end_ns)]
    data_ts_ns, checkpoints_ns = data_times(catalog_path, instrument_id, start_ns, end_ns)
    windows = walk_forward_windows(data_ts_ns, checkpoints_ns, end_ns, walk_forward)
    if len(windows) < 2:
        raise SpecError(
            f"walk_forward.window_s: {len(windows)} window(s) of {walk_forward.window_s:g} s without a gap over "
            f"{walk_forward.max_gap_s:g} s in {catalog_path} ({field}, {_utc(start_ns)} to {_utc(end_ns)}, "
            f"{checkpoints_ns.size} checkpoint snapshots); walk-forward needs two. Shorten the window, or rebuild "
            "the catalog with more checkpoints (python -m adapters.hyperliquid.catalog_cli ... --checkpoint-s N)"
        )
    return windows


def walk_forward_windows(
    data_ts_ns: np.ndarray,
    checkpoints_ns: np.ndarray,
    end_ns: int,
    walk_forward: WalkForward,
) -> list[Window]:
    """Greedy non-overlapping windows of exactly ``window_s`` starting at checkpoints, skipping data gaps.

    ``data_ts_ns``: sorted times at which data arrived; ``checkpoints_ns``: sorted full-book snapshot times.
    """
    window_ns = int(walk_forward.window_s * NS_PER_S)
    max_gap_ns = int(walk_forward.max_gap_s * NS_PER_S)
    windows: list[Window] = []
    cursor = int(checkpoints_ns[0]) if checkpoints_ns.size else end_ns
    while True:
        i = int(np.searchsorted(checkpoints_ns, cursor, side="left"))
        if i == checkpoints_ns.size:
            return windows
        start = int(checkpoints_ns[i])
        end = start + window_ns
        if end > end_ns:
            return windows
        inside = data_ts_ns[(data_ts_ns >= start) & (data_ts_ns < end)]
        points = np.concatenate((inside, [end]))
        gaps = np.diff(points)
        too_long = np.flatnonzero(gaps > max_gap_ns)
        if too_long.size:
            cursor = int(points[too_long[0] + 1])  # the first data after the gap
            continue
        windows.append(Window(len(windows), start, end - 1))
        cursor = end


def data_times(catalog_path: Path, instrument_id: str, start_ns: int, end_ns: int):
    """Book arrival times and full-book snapshot times in ``[start_ns, end_ns]``, from the catalog's columns
    (``book_columns.py``): a walk-forward over days of data needs two integer columns, not the deltas as objects."""
    columns = read_columns(catalog_path, InstrumentId.from_str(instrument_id), ["action"], start_ns, end_ns)
    data_ts_ns = columns["ts_init"]
    return data_ts_ns, np.unique(data_ts_ns[columns["action"] == int(BookAction.CLEAR)])


def _aligned_start(catalog_path: Path, instrument_id: str, start_ns: int, field: str) -> int:
    """A single window starts at the last full book at or before the requested start, as ``run_backtest.py`` does."""
    try:
        aligned = align_to_snapshot(catalog_path, InstrumentId.from_str(instrument_id), DataRange(start=_utc(start_ns)))
    except ValueError as exc:
        raise SpecError(f"{field}.start: {exc}") from None
    return aligned.start.value


def _utc(ts_ns: int) -> pd.Timestamp:
    return pd.Timestamp(ts_ns, unit="ns", tz="UTC")
