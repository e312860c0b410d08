"""Backtests that stream the catalog in windows of data time, so memory does not grow with the data range.

NautilusTrader's ``BacktestNode`` loads a run's whole range before replaying it, unless ``chunk_size`` is set; then
its Rust session merges the data types row by row and, at equal ``ts_init``, orders book deltas and trades
differently from the one-shot load (on the 9-minute BTC capture 6 of 18 same-time delta/trade pairs swap).
:class:`StreamingBacktestNode` instead loads one window of data time at a time exactly as the one-shot load does
the whole range (every data config in order, then a stable sort by ``ts_init``: book deltas before trades at the
same time) and runs the engine in streaming mode over it, so a streamed run replays the same events in the same
order as a one-shot run while holding one window in memory. A window boundary never splits a timestamp.

A catalog query bounded in time (any window, and any backtest given a start or end) returns the deltas of one
``ts_init`` in no particular order: the flag marking a batch's last delta could then arrive mid-batch and hand the
strategy a half-applied book (a whole-range slice of the BTC capture placed 386 orders instead of 381). Deltas are
therefore put back in the order the loaders wrote them: by ``(ts_init, sequence)`` (the Hyperliquid loaders number
every delta; Binance's give one update's deltas its update id), then within one update the CLEAR first and the
delta flagged last at the end (an update's other deltas are at distinct price levels, so their order is immaterial).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.backtest.results import BacktestResult
from nautilus_trader.config import BacktestDataConfig
from nautilus_trader.config import BacktestRunConfig
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from mm_strategy.book_checkpoints import CheckpointsAsDiffs

NS_PER_S = 1_000_000_000
_F_LAST = int(RecordFlag.F_LAST)
_FULL_COLLECTION_NEVER = 2**31 - 1  # the oldest generation's threshold: young collections between full ones


class StreamingBacktestNode(BacktestNode):
    """A ``BacktestNode`` whose runs stream their data in windows of ``window_s`` seconds (module docstring)."""

    def __init__(self, configs: list[BacktestRunConfig], window_s: float | None) -> None:
        """``window_s`` None: the whole range as one window (loaded at once, in the loaders' order)."""
        if window_s is not None and not window_s > 0:
            raise ValueError(f"StreamingBacktestNode.window_s: must be > 0, got {window_s!r}")
        super().__init__(configs=configs)
        self._window_ns = None if window_s is None else round(window_s * NS_PER_S)
        self.windows_run = 0

    def run(self) -> list[BacktestResult]:
        """The runs without full garbage collections (``_full_collections_held``)."""
        with _full_collections_held():
            return super().run()

    def _run_oneshot(
        self,
        run_config_id: str,
        engine: BacktestEngine,
        data_configs: list[BacktestDataConfig],
        start: str | int | None = None,
        end: str | int | None = None,
    ) -> None:
        span = data_span(data_configs)
        if span is None:  # nothing in the catalog for these configs: NautilusTrader reports it
            super()._run_oneshot(run_config_id, engine, data_configs, start, end)
            return
        window_start, last = span
        window_ns = self._window_ns or last - window_start + 1
        checkpoints = CheckpointsAsDiffs()  # the run's book, across its windows
        while window_start <= last:
            window_end = min(window_start + window_ns - 1, last)
            with _collector_paused():
                loaded = self._load_window(engine, data_configs, window_start, window_end, checkpoints)
            window_start = window_end + 1
            if not loaded:  # a gap in the data: nothing to replay (an empty run would reset the clocks)
                continue
            engine.run(start=start, end=end, run_config_id=run_config_id, streaming=True)
            engine.clear_data()
            self.windows_run += 1
        engine.end()

    def _load_window(
        self,
        engine: BacktestEngine,
        data_configs: list[BacktestDataConfig],
        window_start: int,
        window_end: int,
        checkpoints: CheckpointsAsDiffs,
    ) -> bool:
        """Load ``[window_start, window_end]`` into the engine in the one-shot load's order, every full-book snapshot
        after the run's first as the diff it amounts to (``book_checkpoints``); False when empty."""
        loaded = False
        for config in data_configs:
            result = self.load_data_config(config, start=window_start, end=window_end)
            if result.data:
                if result.data_cls is OrderBookDelta:
                    result.data.sort(key=_written_order)
                    result.data[:] = checkpoints.rewrite(result.data)
                self._load_engine_data(engine=engine, result=result, sort=False)
                loaded = True
        if loaded:
            engine.sort_data()  # stable: at one ts_init the configs' order (deltas, then trades) as in one shot
        return loaded


@contextmanager
def _collector_paused():
    """Loading a window allocates its data points and their sort keys, which form no reference cycles: collecting
    while they are built only walks them again and again (the archive hour's load: 45 young collections)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _full_collections_held():
    """Backtests without full collections: each walks every object the process holds, the loaded data and the
    whole engine included (~0.1 s, half the bare replay of the archive hour, one or two a run) and found nothing to
    free after a full-stack run of the hour; young collections, which free the replay's own cycles, go on. The
    thresholds are restored after the runs."""
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], _FULL_COLLECTION_NEVER)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _written_order(delta: OrderBookDelta) -> tuple[int, int, bool, bool]:
    return delta.ts_init, delta.sequence, delta.action != BookAction.CLEAR, bool(delta.flags & _F_LAST)


def data_span(data_configs: list[BacktestDataConfig]) -> tuple[int, int] | None:
    """First and last ``ts_init`` (ns) the configs can load: the catalog files' intervals, within each config's
    start and end times; None when no config has data."""
    first = last = None
    for config in data_configs:
        catalog = ParquetDataCatalog(config.catalog_path)
        identifier = config.instrument_id.value if config.instrument_id is not None else None
        intervals = catalog.get_intervals(config.data_type, identifier)
        if not intervals:
            continue
        lo, hi = intervals[0][0], intervals[-1][1]
        if config.start_time is not None:
            lo = max(lo, pd.Timestamp(config.start_time).value)
        if config.end_time is not None:
            hi = min(hi, pd.Timestamp(config.end_time).value)
        if lo > hi:
            continue
        first = lo if first is None else min(first, lo)
        last = hi if last is None else max(last, hi)
    return None if first is None else (first, last)
