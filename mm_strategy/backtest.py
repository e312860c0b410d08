"""Build and run a ``BacktestNode`` over a ``ParquetDataCatalog`` from the shared venue+instrument config.

``run_backtest.py`` (the CLI), the tests and the throughput benchmark all go through :func:`run_backtest`, so
what is measured and tested is exactly what a trader runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.backtest.results import BacktestResult
from nautilus_trader.common.config import ImportableActorConfig
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import BacktestDataConfig
from nautilus_trader.config import BacktestEngineConfig
from nautilus_trader.config import BacktestRunConfig
from nautilus_trader.config import BacktestVenueConfig
from nautilus_trader.config import DataEngineConfig
from nautilus_trader.config import ExecEngineConfig
from nautilus_trader.config import ImportableFeeModelConfig
from nautilus_trader.config import ImportableFillModelConfig
from nautilus_trader.config import ImportableLatencyModelConfig
from nautilus_trader.config import RiskEngineConfig
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from nautilus_trader.trading.config import ImportableStrategyConfig

from mm_strategy.book_columns import last_snapshot_ns
from mm_strategy.book_columns import read_columns
from mm_strategy.node_config import logs_info
from mm_strategy.node_config import quiet_above_info
from mm_strategy.node_config import BacktestSettings
from mm_strategy.node_config import VenueInstrumentConfig
from mm_strategy.queue_model import FillModelSettings
from mm_strategy.streaming import StreamingBacktestNode

# A market maker replaces orders far faster than NautilusTrader's default 100 submits/s throttle assumes.
MAX_ORDER_RATE = "1000/00:00:01"
# Backtests stream the catalog an hour of data at a time (``streaming.py``): memory stays bounded whatever the
# range, and the events replayed are the one-shot load's, in the same order.
STREAM_WINDOW_S = 3600.0
# Closed orders, and account states, older than this leave the engine's cache, checked as often (the live node's
# setting too): otherwise a day of the archive's quoting holds 45k orders in 15k order lists and 110k account states
# (one per order event: the margin account recomputes), 13 MB an hour for the run's whole length.
PURGE_AFTER_MINS = 60


def purge_settings() -> dict[str, int]:
    """The execution engine's purge settings, for backtest and live nodes alike (``ExecEngineConfig``)."""
    return {
        "purge_closed_orders_interval_mins": PURGE_AFTER_MINS,
        "purge_closed_orders_buffer_mins": PURGE_AFTER_MINS,
        "purge_account_events_interval_mins": PURGE_AFTER_MINS,
        "purge_account_events_lookback_mins": PURGE_AFTER_MINS,
    }


@dataclass(frozen=True, slots=True)
class DataRange:
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None


def align_to_snapshot(catalog_path: Path, instrument_id: InstrumentId, data_range: DataRange) -> DataRange:
    """Move ``start`` back to the last full-book snapshot (CLEAR) at or before it.

    Diffs only make sense on top of a book: a replay that started between snapshots would build a partial,
    wrong book. The loaders write a checkpoint snapshot every few minutes for this. Found from the catalog's columns
    (``book_columns.py``): every run of a sweep aligns its window, and the data before it can be days long.
    """
    if data_range.start is None:
        return data_range
    snapshot_ns = last_snapshot_ns(catalog_path, instrument_id, data_range.start.value)
    if snapshot_ns is None:
        raise ValueError(f"no full-book snapshot at or before {data_range.start} in {catalog_path}")
    return DataRange(start=pd.Timestamp(snapshot_ns, tz="UTC"), end=data_range.end)


def catalog_instrument(catalog_path: Path, instrument_id: InstrumentId) -> Instrument:
    """The config's instrument as the catalog holds it; checked before any data loads, naming the field and
    listing the instruments the catalog does hold (a Binance config pointed at a Hyperliquid catalog, say)."""
    held = ParquetDataCatalog(str(catalog_path)).instruments()
    for instrument in held:
        if instrument.id == instrument_id:
            return instrument
    known = ", ".join(sorted(i.id.value for i in held)) or "none"
    raise ValueError(f"instrument_id: {instrument_id} is not in the catalog {catalog_path} (it holds: {known})")


def feed_lag_ms(catalog_path: Path, instrument_id: InstrumentId, data_range: DataRange = DataRange()) -> float:
    """Median receive − venue time of the catalog's book batches in the range, in ms (0 with none).

    Read from the columns of the files that meet the range alone (``book_columns.py``), so it costs milliseconds
    whatever the catalog holds outside it."""
    start_ns = data_range.start.value if data_range.start is not None else None
    end_ns = data_range.end.value if data_range.end is not None else None
    columns = read_columns(catalog_path, instrument_id, ["ts_event", "flags"], start_ns, end_ns)
    batch_end = (columns["flags"] & RecordFlag.F_LAST) != 0
    lags_ns = columns["ts_init"][batch_end] - columns["ts_event"][batch_end]
    return float(np.median(lags_ns)) / 1e6 if lags_ns.size else 0.0


def run_feed_lag_ms(
    settings: BacktestSettings,
    catalog_path: Path,
    instrument_id: InstrumentId,
    data_range: DataRange = DataRange(),
) -> float:
    """The feed lag a run adds to ``latency_ms``: the configured one, else measured on the run's data."""
    if settings.feed_lag_ms is not None:
        return settings.feed_lag_ms
    return feed_lag_ms(catalog_path, instrument_id, data_range)


def venue_config(settings: BacktestSettings, instrument: Instrument, lag_ms: float = 0.0) -> BacktestVenueConfig:
    """The instrument's venue as a NETTING, MARGIN venue with an L2 book: the account in the instrument's
    settlement currency (USDC on Hyperliquid, USDT on Binance USDⓈ-M), maker/taker fees from the instrument.

    Nothing here is venue code: what differs between venues (id, currency, fees, increments) is the instrument's,
    as the venue's own adapter defined it when the catalog was loaded. Orders and cancels reach it after
    ``settings.latency_ms`` plus ``lag_ms``, the recorded feed's lag (``BacktestSettings``).

    ``fill_model.kind`` "trades" fills from trades with NautilusTrader's queue position; a queue kind fills from
    the book alone (``mm_strategy.queue_fill_model``): trades then never fill us, NautilusTrader's trade-driven
    queue is off, and liquidity consumption stays on (the matching engine then treats a consulted order with no
    inferred fill as "nothing available" rather than as an error).
    """
    queue = settings.fill_model.is_queue
    currency = instrument.get_settlement_currency().code
    return BacktestVenueConfig(
        name=instrument.id.venue.value,
        oms_type="NETTING",
        account_type="MARGIN",
        base_currency=currency,
        starting_balances=[f"{settings.starting_balance_usd} {currency}"],
        default_leverage=settings.default_leverage,
        book_type="L2_MBP",
        trade_execution=not queue,
        queue_position=settings.queue_position and not queue,
        liquidity_consumption=settings.liquidity_consumption or queue,
        fee_model=ImportableFeeModelConfig(
            fee_model_path="nautilus_trader.backtest.models:MakerTakerFeeModel",
            config_path="nautilus_trader.backtest.config:MakerTakerFeeModelConfig",
            config={},
        ),
        fill_model=ImportableFillModelConfig(
            fill_model_path="mm_strategy.queue_fill_model:QueueFillModel" if queue else "nautilus_trader.backtest.models:FillModel",
            config_path="nautilus_trader.backtest.config:FillModelConfig",
            config={"prob_fill_on_limit": settings.prob_fill_on_limit, "prob_slippage": 0.0, "random_seed": settings.random_seed},
        ),
        latency_model=ImportableLatencyModelConfig(
            latency_model_path="nautilus_trader.backtest.models:LatencyModel",
            config_path="nautilus_trader.backtest.config:LatencyModelConfig",
            # LatencyModelConfig defaults to a 1 s base latency: always set it explicitly.
            config={"base_latency_nanos": int((settings.latency_ms + lag_ms) * 1_000_000)},
        ),
        modules=[queue_feed_module(settings.fill_model)] if queue else trade_through_modules(settings),
    )


def trade_through_modules(settings: BacktestSettings) -> list[ImportableActorConfig] | None:
    """With trade-driven fills and queue position, a print through an order's price fills it
    (``mm_strategy.trade_through``): NautilusTrader's queue counts only prints at the order's own price."""
    if not settings.queue_position:
        return None  # without queue position the engine already fills whatever a trade reaches
    return [
        ImportableActorConfig(
            actor_path="mm_strategy.trade_through:TradeThroughModule",
            config_path="mm_strategy.trade_through:TradeThroughModuleConfig",
            config={},
        ),
    ]


def queue_feed_module(fill_model: FillModelSettings, drive_fills: bool = True) -> ImportableActorConfig:
    """The venue module that feeds the queue model; ``drive_fills=False`` only records what it infers."""
    function = fill_model.queue_function()
    return ImportableActorConfig(
        actor_path="mm_strategy.queue_fill_model:QueueFeedModule",
        config_path="mm_strategy.queue_fill_model:QueueFeedModuleConfig",
        config={"function": function.kind, "exponent": function.exponent, "drive_fills": drive_fills},
    )


def data_configs(
    catalog_path: Path,
    instrument_id: InstrumentId,
    data_range: DataRange,
    include_quotes: bool = False,
    include_trades: bool = True,
) -> list[BacktestDataConfig]:
    """Book deltas always; trades when the catalog holds some (the S3 archive hour has none) unless dropped (to
    judge a book-only fill model on data with trades); quotes on request (our components read the book, but
    quote-driven strategies such as NautilusTrader's examples need them)."""
    catalog = ParquetDataCatalog(str(catalog_path))
    available = catalog.list_data_types()
    classes = [OrderBookDelta]
    if include_trades and "trade_tick" in available:
        classes.append(TradeTick)
    if include_quotes and "quote_tick" in available:
        classes.append(QuoteTick)
    return [
        BacktestDataConfig(
            catalog_path=str(catalog_path),
            data_cls=cls,
            instrument_id=instrument_id,
            start_time=data_range.start.isoformat() if data_range.start is not None else None,
            end_time=data_range.end.isoformat() if data_range.end is not None else None,
        )
        for cls in classes
    ]


def run_config(
    settings: VenueInstrumentConfig,
    catalog_path: Path,
    data_range: DataRange = DataRange(),
    with_components: bool = True,
    include_quotes: bool = False,
    include_trades: bool = True,
    purge_closed_orders: bool = True,
) -> BacktestRunConfig:
    """The run config; ``with_components=False`` gives the bare engine replay the benchmark compares against.

    ``purge_closed_orders``: the engine forgets orders closed, and account states, more than ``PURGE_AFTER_MINS``
    ago, every as many minutes, as a live node does (``live.py``), so a long run's memory does not grow with its
    orders. Runs of an hour or less never purge. Off for tools that read every order from the cache after the run
    (the grid's score)."""
    instrument_id = InstrumentId.from_str(settings.instrument_id)
    instrument = catalog_instrument(catalog_path, instrument_id)
    log_level = settings.backtest.log_level
    lag_ms = run_feed_lag_ms(settings.backtest, catalog_path, instrument_id, data_range)
    strategies, actors, portfolio = quiet_above_info(
        log_level, [settings.strategy] if with_components else [], list(settings.actors) if with_components else []
    )
    engine = BacktestEngineConfig(
        logging=LoggingConfig(log_level=log_level, bypass_logging=log_level == "OFF"),
        # The catalog holds single deltas flagged F_LAST per snapshot; buffering hands each component whole
        # batches, never a half-applied book.
        data_engine=DataEngineConfig(buffer_deltas=True),
        risk_engine=RiskEngineConfig(max_order_submit_rate=MAX_ORDER_RATE, max_order_modify_rate=MAX_ORDER_RATE),
        exec_engine=ExecEngineConfig(**(purge_settings() if purge_closed_orders else {})),
        portfolio=portfolio,
        strategies=strategies,
        actors=actors,
        # NautilusTrader's post-run statistics (its analyzer) are only logged, at INFO: nothing reads them from the
        # result, our report computes its own.
        run_analysis=logs_info(log_level),
    )
    return BacktestRunConfig(
        engine=engine,
        venues=[venue_config(settings.backtest, instrument, lag_ms)],
        data=data_configs(catalog_path, instrument_id, data_range, include_quotes, include_trades),
        dispose_on_completion=False,
    )


@dataclass
class BacktestOutcome:
    node: BacktestNode
    result: BacktestResult
    run_config_id: str
    wall_s: float
    feed_lag_ms: float  # the lag the run added to ``latency_ms`` (``run_feed_lag_ms``), for its report

    @property
    def engine(self):
        return self.node.get_engine(self.run_config_id)


def run_backtest(
    settings: VenueInstrumentConfig,
    catalog_path: Path,
    data_range: DataRange = DataRange(),
    with_components: bool = True,
    include_quotes: bool = False,
    include_trades: bool = True,
    stream_window_s: float | None = STREAM_WINDOW_S,
    purge_closed_orders: bool = True,
) -> BacktestOutcome:
    """``stream_window_s`` None loads the whole range before replaying it; ``purge_closed_orders``: ``run_config``."""
    config = run_config(
        settings, catalog_path, data_range, with_components, include_quotes, include_trades, purge_closed_orders
    )
    node = StreamingBacktestNode([config], stream_window_s)
    started = time.perf_counter()
    results = node.run()
    wall_s = time.perf_counter() - started
    if not results:
        raise RuntimeError("backtest produced no result (see the engine log above)")
    base_latency_ms = config.venues[0].latency_model.config["base_latency_nanos"] / 1e6
    return BacktestOutcome(
        node=node,
        result=results[0],
        run_config_id=config.id,
        wall_s=wall_s,
        feed_lag_ms=base_latency_ms - settings.backtest.latency_ms,
    )
