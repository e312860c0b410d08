"""A catalog's book-delta columns read straight from its parquet files, without building data objects.

Why: what the research loop asks of a catalog around a run needs a few integer columns, not ``OrderBookDelta``
objects: the last full-book snapshot at or before a window's start (``backtest.align_to_snapshot``), the receive lag
of the book batches in a run's range (``backtest.feed_lag_ms``), the arrival and snapshot times a walk-forward is
laid on (``research/windows.py``). Queried as objects, aligning cost time and memory in the length of the data
*before* the window (a window at hour 23.5 of the scale-test day: 1.65 s and 160 MB, paid by every run of a sweep;
a week of data, 7x that), and the lag read every file of the catalog whatever the range. Here a file is read only
when its ts_init range, from the parquet footer's statistics, meets the range asked for, and only the columns asked
for; the snapshot search reads backwards from the start and stops at the first file holding one.

Ranges are inclusive at both ends, as the catalog's own queries (``start <= ts_init <= end``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.identifiers import InstrumentId

# The catalog's directories for book deltas (NautilusTrader's class-to-name; older catalogs used the singular).
BOOK_DELTA_DIRS = ("order_book_deltas", "order_book_delta")
_CLEAR = int(BookAction.CLEAR)


@dataclass(frozen=True, slots=True)
class DeltaFile:
    """One parquet file of book deltas and the ts_init range it holds."""

    path: Path
    first_ns: int
    last_ns: int

    def meets(self, start_ns: int | None, end_ns: int | None) -> bool:
        return (start_ns is None or self.last_ns >= start_ns) and (end_ns is None or self.first_ns <= end_ns)


def delta_files(catalog_path: Path, instrument_id: InstrumentId) -> list[DeltaFile]:
    """The instrument's book-delta files holding rows, earliest first, each with its ts_init range."""
    data = Path(catalog_path) / "data"
    paths = [p for kind in BOOK_DELTA_DIRS for p in (data / kind / instrument_id.value).glob("*.parquet")]
    files = [described for path in paths if (described := _described(path)) is not None]
    return sorted(files, key=lambda f: (f.first_ns, f.last_ns, str(f.path)))


def read_columns(
    catalog_path: Path,
    instrument_id: InstrumentId,
    columns: Iterable[str],
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> dict[str, np.ndarray]:
    """``columns`` (``ts_init`` always among them, as int64) of the rows with ``start_ns <= ts_init <= end_ns``,
    in ts_init order (stable: rows of one time keep the catalog's order)."""
    names = list(dict.fromkeys(["ts_init", *columns]))
    tables = [
        pq.read_table(f.path, columns=names)
        for f in delta_files(catalog_path, instrument_id)
        if f.meets(start_ns, end_ns)
    ]
    if not tables:
        return {name: np.zeros(0, dtype=np.int64) for name in names}
    table = pa.concat_tables(tables)
    out = {name: table[name].to_numpy().astype(np.int64) for name in names}
    keep = np.ones(len(out["ts_init"]), dtype=bool)
    if start_ns is not None:
        keep &= out["ts_init"] >= start_ns
    if end_ns is not None:
        keep &= out["ts_init"] <= end_ns
    order = np.argsort(out["ts_init"][keep], kind="stable")
    return {name: values[keep][order] for name, values in out.items()}


def last_snapshot_ns(catalog_path: Path, instrument_id: InstrumentId, at_or_before_ns: int) -> int | None:
    """The ts_init of the last full-book snapshot (a CLEAR) at or before ``at_or_before_ns``; None when there is none.

    Files are read latest first (by the last time each holds up to ``at_or_before_ns``) and the search stops once no
    file left can hold a later one: a catalog with checkpoints reads one file, whatever the data before it."""
    files = [f for f in delta_files(catalog_path, instrument_id) if f.first_ns <= at_or_before_ns]
    files.sort(key=lambda f: min(f.last_ns, at_or_before_ns), reverse=True)
    found: int | None = None
    for f in files:
        if found is not None and found >= min(f.last_ns, at_or_before_ns):
            break
        table = pq.read_table(f.path, columns=["ts_init", "action"])
        ts_init = table["ts_init"].to_numpy().astype(np.int64)
        clears = ts_init[(table["action"].to_numpy() == _CLEAR) & (ts_init <= at_or_before_ns)]
        if clears.size and (found is None or clears.max() > found):
            found = int(clears.max())
    return found


def _described(path: Path) -> DeltaFile | None:
    """The file with its ts_init range, from the row groups' footer statistics (the column itself only when a row
    group has none); None for a file without rows."""
    metadata = pq.ParquetFile(path).metadata
    if metadata.num_rows == 0:
        return None
    column = metadata.schema.to_arrow_schema().get_field_index("ts_init")
    stats = [metadata.row_group(i).column(column).statistics for i in range(metadata.num_row_groups)]
    if all(s is not None and s.has_min_max for s in stats):
        return DeltaFile(path, min(int(s.min) for s in stats), max(int(s.max) for s in stats))
    ts_init = pq.read_table(path, columns=["ts_init"])["ts_init"].to_numpy().astype(np.int64)
    return DeltaFile(path, int(ts_init.min()), int(ts_init.max()))
