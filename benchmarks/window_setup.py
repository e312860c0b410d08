#!/usr/bin/env python
"""What a run of a sweep pays on a long catalog before its first event, in one run: column reads against queries.

SCALE TEST ONLY (the day is the archive hour replayed 24 times, ``day_of_data.py``; never strategy results). Every
run of a sweep aligns its window to the last full-book snapshot before it and measures the feed lag over its range,
and a walk-forward is laid on the catalog's arrival and snapshot times (``mm_strategy/book_columns.py``). Each is
timed here both ways on the same catalog, as it was done before issue 13's change (the alignment and the times from
the catalog's ``OrderBookDelta`` query, the lag from the columns of every file) and from the columns of the files
that meet the range, with both answers compared. Late windows are the case that
matters: an object query reads the whole day before the window.

    python benchmarks/window_setup.py [--at-hour 23.5] [--repeats 3]

Prints, per item, the best of ``--repeats`` for each way, their ratio, and whether the answers agree.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from nautilus_trader.model.enums import BookAction  # noqa: E402
from nautilus_trader.model.enums import RecordFlag  # noqa: E402
from nautilus_trader.model.identifiers import InstrumentId  # noqa: E402
from nautilus_trader.persistence.catalog import ParquetDataCatalog  # noqa: E402

from benchmarks.day_of_data import DAY_CATALOG  # noqa: E402
from benchmarks.day_of_data import NS_PER_HOUR  # noqa: E402
from benchmarks.day_of_data import build_day  # noqa: E402
from mm_strategy import book_columns  # noqa: E402
from mm_strategy.backtest import DataRange  # noqa: E402
from mm_strategy.backtest import align_to_snapshot  # noqa: E402
from mm_strategy.backtest import feed_lag_ms  # noqa: E402
from mm_strategy.research.windows import data_times  # noqa: E402
from run_backtest import DEFAULT_CATALOG  # noqa: E402
from run_backtest import ensure_catalog  # noqa: E402

RANGE_NS = 60_000_000_000  # a one-minute run's range for the feed lag


def utc(ts_ns: int) -> pd.Timestamp:
    return pd.Timestamp(ts_ns, unit="ns", tz="UTC")


def best_of(repeats: int, work: Callable[[], object]) -> tuple[float, object]:
    times, answer = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        answer = work()
        times.append(time.perf_counter() - started)
    return min(times), answer


def query_snapshot_ns(catalog: Path, iid: InstrumentId, at_ns: int) -> int | None:
    deltas = ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[iid.value], end=at_ns)
    clears = [d.ts_init for d in deltas if d.action == BookAction.CLEAR]
    return clears[-1] if clears else None


def every_file_lag_ms(catalog: Path, iid: InstrumentId, start_ns: int, end_ns: int) -> float:
    """The feed lag as it was read before: the columns of every file of the catalog, filtered to the range after."""
    ts_event, ts_init, flags = [], [], []
    for f in book_columns.delta_files(catalog, iid):
        table = pq.read_table(f.path, columns=["ts_event", "ts_init", "flags"])
        ts_event.append(table["ts_event"].to_numpy().astype(np.int64))
        ts_init.append(table["ts_init"].to_numpy().astype(np.int64))
        flags.append(table["flags"].to_numpy())
    event, init = np.concatenate(ts_event), np.concatenate(ts_init)
    last = ((np.concatenate(flags) & RecordFlag.F_LAST) != 0) & (init >= start_ns) & (init <= end_ns)
    return float(np.median(init[last] - event[last])) / 1e6 if last.any() else 0.0


def query_times(catalog: Path, iid: InstrumentId, start_ns: int, end_ns: int) -> tuple[list[int], list[int]]:
    deltas = ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[iid.value], start=start_ns, end=end_ns)
    return [d.ts_init for d in deltas], sorted({d.ts_init for d in deltas if d.action == BookAction.CLEAR})


def column_times(catalog: Path, iid: InstrumentId, start_ns: int, end_ns: int) -> tuple[list[int], list[int]]:
    data_ts_ns, checkpoints_ns = data_times(catalog, iid.value, start_ns, end_ns)
    return data_ts_ns.tolist(), checkpoints_ns.tolist()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--at-hour", type=float, default=23.5, help="where in the day the window starts")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not (DAY_CATALOG / "data").exists():
        build_day(ensure_catalog(DEFAULT_CATALOG), DAY_CATALOG, 24)
    iid = ParquetDataCatalog(str(DAY_CATALOG)).instruments()[0].id
    files = book_columns.delta_files(DAY_CATALOG, iid)
    first_ns, last_ns = files[0].first_ns, files[-1].last_ns
    at_ns = first_ns + int(args.at_hour * NS_PER_HOUR)
    items = [
        ("align a window's start", lambda: query_snapshot_ns(DAY_CATALOG, iid, at_ns),
         lambda: align_to_snapshot(DAY_CATALOG, iid, DataRange(start=utc(at_ns))).start.value),
        ("feed lag of a 1-minute run", lambda: every_file_lag_ms(DAY_CATALOG, iid, at_ns, at_ns + RANGE_NS),
         lambda: feed_lag_ms(DAY_CATALOG, iid, DataRange(start=utc(at_ns), end=utc(at_ns + RANGE_NS)))),
        ("walk-forward times, whole day", lambda: query_times(DAY_CATALOG, iid, first_ns, last_ns),
         lambda: column_times(DAY_CATALOG, iid, first_ns, last_ns)),
    ]
    print(f"{DAY_CATALOG.name} (SCALE TEST), window at hour {args.at_hour:g}, best of {args.repeats}")
    print(f"{'':32s}{'before s':>10s}{'now s':>11s}{'ratio':>9s}  same answer")
    for name, query, columns in items:
        query_s, query_answer = best_of(args.repeats, query)
        columns_s, columns_answer = best_of(args.repeats, columns)
        print(f"{name:32s}{query_s:10.3f}{columns_s:11.4f}{query_s / columns_s:8.0f}x  {query_answer == columns_answer}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
