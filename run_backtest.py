#!/usr/bin/env python
"""Backtest the GLFT market maker on recorded data of the config's venue and write the market-making report.

    python run_backtest.py                                   # the bundled real BTC hour, default config
    python run_backtest.py --start 2024-01-01T12:00 --end 2024-01-01T12:15 --out reports/slice
    python run_backtest.py --config configs/hyperliquid_btc.json --catalog data/catalog
    python run_backtest.py --config configs/binance_btcusdt.json   # 5.7 min of Binance USD-M BTCUSDT

The venue comes from the config's ``venue.name``; without ``--catalog`` the venue's bundled real data is used
(``data/catalog`` for Hyperliquid, ``data/catalog_binance_btcusdt`` for Binance), built on first use. Any other
``--catalog`` must already hold book data (build one with ``python -m adapters.hyperliquid.catalog_cli``): a
mistyped path is an error, never a run on the bundled data.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from datetime import timezone
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = REPO_ROOT / "configs" / "hyperliquid_btc.json"
DEFAULT_CATALOG = REPO_ROOT / "data" / "catalog"  # the default config's bundled data (the benchmarks' default)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="venue+instrument config JSON")
    parser.add_argument("--catalog", type=Path, default=None, help="ParquetDataCatalog directory (default: the venue's bundled data)")
    parser.add_argument("--start", type=pd.Timestamp, default=None, help="data start (UTC, ISO 8601)")
    parser.add_argument("--end", type=pd.Timestamp, default=None, help="data end (UTC, ISO 8601)")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default reports/backtest-<utc time>)")
    return parser.parse_args(argv)


def _lag_source(settings, lag_ms: float) -> str:
    if settings.backtest.feed_lag_ms is not None:
        return " (configured)"
    if lag_ms == 0.0:
        return " (measured 0: the catalog's venue times equal its receive times; set backtest.feed_lag_ms)"
    return " (measured: median receive - venue time of the books)"


def has_book_data(catalog: Path) -> bool:
    from mm_strategy.book_columns import BOOK_DELTA_DIRS

    return any((catalog / "data" / kind).exists() for kind in BOOK_DELTA_DIRS)


def no_book_data(catalog: Path) -> str:
    """The error for a catalog without book data, saying how to build one."""
    return (
        f"{catalog} holds no book data (build it with `python -m adapters.hyperliquid.catalog_cli FILE_OR_DIR "
        f"--catalog {catalog}`, `make catalogs` for the bundled ones, or omit --catalog for the bundled data)"
    )


def catalog_problem(catalog: Path, bundled: Path, venue=None) -> str | None:
    """None when ``catalog`` can be read: the venue's ``bundled`` catalog is built on first use (``ensure_catalog``),
    any other must already hold book data, so a mistyped path is an error, never a run on the bundled data."""
    if catalog.resolve() == bundled.resolve():
        ensure_catalog(catalog, venue)
        return None
    return None if has_book_data(catalog) else no_book_data(catalog)


def ensure_catalog(catalog: Path, venue=None) -> None:
    """Build the catalog from the venue's bundled real data on first use, so the bare command just works
    (``venue`` a node module from ``adapters.venues``; None: the default config's)."""
    if has_book_data(catalog):
        return
    if venue is None:
        from adapters.venues import venue_module
        from mm_strategy.node_config import load_venue_config

        venue = venue_module(load_venue_config(DEFAULT_CONFIG))
    print(f"catalog {catalog} not found: building it from the bundled {venue.VENUE} data", file=sys.stderr)
    venue.build_bundled_catalog(catalog)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from nautilus_trader.model.identifiers import InstrumentId

    from adapters.venues import venue_module
    from mm_strategy.backtest import DataRange
    from mm_strategy.backtest import align_to_snapshot
    from mm_strategy.backtest import catalog_instrument
    from mm_strategy.backtest import run_backtest
    from mm_strategy.node_config import load_venue_config
    from mm_strategy.node_config import refuse_state_fields
    from mm_strategy.session_report import write_session_report

    try:
        settings = load_venue_config(args.config)
        refuse_state_fields(settings)
        venue = venue_module(settings)
    except ValueError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    bundled = REPO_ROOT / venue.BUNDLED_CATALOG
    catalog = args.catalog or bundled
    if (problem := catalog_problem(catalog, bundled, venue)) is not None:
        print(f"catalog error: {problem}", file=sys.stderr)
        return 2
    instrument_id = InstrumentId.from_str(settings.instrument_id)
    try:
        catalog_instrument(catalog, instrument_id)
    except ValueError as exc:
        print(f"config error: {args.config}: {exc}", file=sys.stderr)
        return 2
    out_dir = args.out or REPO_ROOT / "reports" / f"backtest-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"
    requested = DataRange(start=_utc(args.start), end=_utc(args.end))
    data_range = align_to_snapshot(catalog, instrument_id, requested)
    if data_range.start != requested.start:
        print(f"starting at the last full-book snapshot {data_range.start} (requested {requested.start})", file=sys.stderr)

    outcome = run_backtest(settings, catalog, data_range)
    lag_ms = outcome.feed_lag_ms
    engine = outcome.engine
    strategy = engine.trader.strategies()[0]
    result = outcome.result
    run_info = {
        "mode": "backtest",
        "config": str(args.config),
        "venue": settings.venue.name,
        "catalog": str(catalog),
        "data_start": str(pd.Timestamp(result.backtest_start, tz="UTC")) if result.backtest_start else "",
        "data_end": str(pd.Timestamp(result.backtest_end, tz="UTC")) if result.backtest_end else "",
        "iterations": str(result.iterations),
        "wall_time_s": f"{outcome.wall_s:.2f}",
        "data_points_per_s": f"{result.iterations / outcome.wall_s:,.0f}" if outcome.wall_s > 0 else "",
        "order_latency_ms": f"{settings.backtest.latency_ms:g} + feed lag {lag_ms:.0f}" + _lag_source(settings, lag_ms)
        + ", then the next event (BacktestSettings)",
        # live, the exec client books each hourly payment (userEvents); a catalog holds no funding data
        "funding": "not simulated (0 in the PnL split)",
    }
    report = write_session_report(
        strategy=strategy,
        portfolio=engine.portfolio,
        cache=engine.cache,
        starting_equity=settings.backtest.starting_balance_usd,
        out_dir=out_dir,
        title=f"GLFT market maker backtest: {settings.instrument_id}",
        run_info=run_info,
        engine=engine,
    )
    print(report.summary)
    print(f"run time {outcome.wall_s:.1f} s for {result.iterations:,} data points")
    print(f"report: {report.paths.html}")
    print(f"        {report.paths.json}")
    outcome.node.dispose()
    return 0


def _utc(ts: pd.Timestamp | None) -> pd.Timestamp | None:
    if ts is None:
        return None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


if __name__ == "__main__":
    sys.exit(main())
