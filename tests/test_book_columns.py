"""The catalog's book-delta columns (``book_columns.py``) against the deltas as the catalog's own queries return them.

A run's window alignment, its feed lag and a walk-forward's windows are read from parquet columns instead of
``OrderBookDelta`` objects (issue 13: aligning a window at hour 23.5 of the scale-test day cost 1.65 s and 160 MB,
in every run of a sweep). Each answer must be the one the object queries gave, on the real 9-minute BTC capture
with a checkpoint every 15 s, on the archive hour (one snapshot, diffs after), and on the capture's file split in
pieces, overlapping ones included; and the alignment must read only the file it needs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from mm_strategy import book_columns
from mm_strategy.backtest import DataRange
from mm_strategy.backtest import align_to_snapshot
from mm_strategy.backtest import feed_lag_ms
from mm_strategy.research import windows
from tests.sweep_support import build_catalog

BTC = InstrumentId.from_str("BTC-USD-PERP.HYPERLIQUID")


@pytest.fixture(scope="module")
def checkpointed(hl_captures, tmp_path_factory) -> Path:
    return build_catalog(hl_captures, tmp_path_factory.mktemp("cp15"))


@pytest.fixture(scope="module")
def pieces(checkpointed, tmp_path_factory) -> Path:
    """The checkpointed capture's one deltas file as four files: three consecutive pieces of its time, and a fourth
    overlapping the last two (every other row of them), as several writes to one catalog can leave."""
    path = tmp_path_factory.mktemp("cp15_pieces")
    shutil.copytree(checkpointed, path, dirs_exist_ok=True)
    (source,) = _delta_paths(path)
    table = pq.read_table(source)
    source.unlink()
    n = table.num_rows
    cuts = [0, n // 3, 2 * n // 3, n]
    for k in range(3):
        pq.write_table(table.slice(cuts[k], cuts[k + 1] - cuts[k]), source.parent / f"piece{k}.parquet")
    overlap = table.slice(cuts[1], n - cuts[1]).take(np.arange(0, n - cuts[1], 2))
    pq.write_table(overlap, source.parent / "overlap.parquet")
    return path


def _delta_paths(catalog: Path) -> list[Path]:
    return sorted((catalog / "data" / "order_book_deltas" / BTC.value).glob("*.parquet"))


def _deltas(catalog: Path, **query):
    return ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[BTC.value], **query)


def _reference_snapshot_ns(catalog: Path, at_ns: int) -> int | None:
    clears = [d.ts_init for d in _deltas(catalog, end=at_ns) if d.action == BookAction.CLEAR]
    return clears[-1] if clears else None


def _probe_times(catalog: Path) -> list[int]:
    """Every 7 s over the data, each snapshot's own time and 1 ns either side, and before the first delta."""
    deltas = _deltas(catalog)
    first, last = deltas[0].ts_init, deltas[-1].ts_init
    clears = [d.ts_init for d in deltas if d.action == BookAction.CLEAR]
    return [first - 1, *range(first, last + 7_000_000_000, 7_000_000_000), *clears, *(c - 1 for c in clears),
            *(c + 1 for c in clears)]


@pytest.mark.parametrize("which", ["checkpointed", "archive_catalog", "pieces"])
def test_alignment_is_the_last_snapshot_the_catalog_query_gives(which, request):
    catalog = request.getfixturevalue(which)
    for at_ns in _probe_times(catalog):
        expected = _reference_snapshot_ns(catalog, at_ns)
        assert book_columns.last_snapshot_ns(catalog, BTC, at_ns) == expected, at_ns
        start = pd.Timestamp(at_ns, tz="UTC")
        if expected is None:
            with pytest.raises(ValueError, match="no full-book snapshot at or before"):
                align_to_snapshot(catalog, BTC, DataRange(start=start))
        else:
            assert align_to_snapshot(catalog, BTC, DataRange(start=start)).start.value == expected


def test_alignment_reads_only_the_file_holding_the_snapshot(pieces, monkeypatch):
    """Aligning in the last piece, after a checkpoint in it, reads one file: that piece (the overlapping file starts
    earlier and ends at the same time, so it is read too only when the piece's snapshot could be beaten by it)."""
    last_piece = pq.read_table(_delta_paths(pieces)[0].parent / "piece2.parquet", columns=["ts_init", "action"])
    ts_init = last_piece["ts_init"].to_numpy().astype(np.int64)
    at_ns = int(ts_init[last_piece["action"].to_numpy() == int(BookAction.CLEAR)][-1]) + 1
    expected = _reference_snapshot_ns(pieces, at_ns)
    read: list[str] = []
    real_read = pq.read_table

    def counting(path, *args, **kwargs):
        read.append(Path(path).name)
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(book_columns.pq, "read_table", counting)
    assert book_columns.last_snapshot_ns(pieces, BTC, at_ns) == expected
    assert read[0] in ("piece2.parquet", "overlap.parquet") and len(read) <= 2, read
    assert "piece0.parquet" not in read and "piece1.parquet" not in read, read


@pytest.mark.parametrize("which", ["checkpointed", "pieces"])
def test_feed_lag_is_the_median_over_the_range_of_the_catalog_query(which, request):
    catalog = request.getfixturevalue(which)
    deltas = _deltas(catalog)
    first, last = deltas[0].ts_init, deltas[-1].ts_init
    ranges = [DataRange(), DataRange(start=pd.Timestamp(first + 60_000_000_000, tz="UTC")),
              DataRange(end=pd.Timestamp(first + 100_000_000_000, tz="UTC")),
              DataRange(start=pd.Timestamp(first + 390_000_000_000, tz="UTC"),
                        end=pd.Timestamp(last - 30_000_000_000, tz="UTC")),
              DataRange(start=pd.Timestamp(first + 200_000_000_000, tz="UTC"),
                        end=pd.Timestamp(first + 201_000_000_000, tz="UTC"))]  # inside the 250 s recorder gap
    for data_range in ranges:
        lo = data_range.start.value if data_range.start is not None else first
        hi = data_range.end.value if data_range.end is not None else last
        lags = [d.ts_init - d.ts_event for d in deltas if d.flags & RecordFlag.F_LAST and lo <= d.ts_init <= hi]
        expected = float(np.median(lags)) / 1e6 if lags else 0.0
        assert feed_lag_ms(catalog, BTC, data_range) == expected, data_range


def test_walk_forward_times_are_the_catalog_query_times(checkpointed):
    deltas = _deltas(checkpointed)
    start_ns, end_ns = deltas[0].ts_init + 10_000_000_000, deltas[-1].ts_init - 10_000_000_000
    data_ts_ns, checkpoints_ns = windows.data_times(checkpointed, BTC.value, start_ns, end_ns)
    inside = [d for d in deltas if start_ns <= d.ts_init <= end_ns]
    assert data_ts_ns.tolist() == [d.ts_init for d in inside]
    assert checkpoints_ns.tolist() == sorted({d.ts_init for d in inside if d.action == BookAction.CLEAR})
    assert checkpoints_ns.size > 10  # a checkpoint every 15 s of the capture
