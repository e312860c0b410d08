#!/usr/bin/env python
"""Backtest the GLFT market maker on recorded Hyperliquid data and write the market-making report.

    python run_backtest.py                                   # the bundled real BTC hour, default config
    python run_backtest.py --start 2024-01-01T12:00 --end 2024-01-01T12:15 --out reports/slice
    python run_backtest.py --config configs/hyperliquid_btc.json --catalog data/catalog

The catalog is built from the bundled S3-archive hour when it does not exist yet.
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
DEFAULT_CATALOG = REPO_ROOT / "data" / "catalog"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="venue+instrument config JSON")
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, help="ParquetDataCatalog directory")
    parser.add_argument("--start", type=pd.Timestamp, default=None, help="data start (UTC, ISO 8601)")
    parser.add_argument("--end", type=pd.Timestamp, default=None, help="data end (UTC, ISO 8601)")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default reports/backtest-<utc time>)")
    return parser.parse_args(argv)


def ensure_catalog(catalog: Path) -> None:
    """Build the catalog from the bundled real hour on first use, so the bare command just works."""
    if (catalog / "data" / "order_book_delta").exists() or (catalog / "data" / "order_book_deltas").exists():
        return
    from adapters.hyperliquid import loaders

    print(f"catalog {catalog} not found: building it from the bundled Hyperliquid archive hour", file=sys.stderr)
    code = loaders.main([str(loaders.DEFAULT_ARCHIVE), "--catalog", str(catalog)])
    if code != 0:
        raise SystemExit(code)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from nautilus_trader.model.identifiers import InstrumentId

    from mm_strategy.backtest import DataRange
    from mm_strategy.backtest import align_to_snapshot
    from mm_strategy.backtest import run_backtest
    from mm_strategy.node_config import load_venue_config
    from mm_strategy.session_report import write_session_report

    try:
        settings = load_venue_config(args.config)
    except ValueError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    ensure_catalog(args.catalog)
    out_dir = args.out or REPO_ROOT / "reports" / f"backtest-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"
    requested = DataRange(start=_utc(args.start), end=_utc(args.end))
    data_range = align_to_snapshot(args.catalog, InstrumentId.from_str(settings.instrument_id), requested)
    if data_range.start != requested.start:
        print(f"starting at the last full-book snapshot {data_range.start} (requested {requested.start})", file=sys.stderr)

    outcome = run_backtest(settings, args.catalog, data_range)
    engine = outcome.engine
    strategy = engine.trader.strategies()[0]
    result = outcome.result
    run_info = {
        "mode": "backtest",
        "config": str(args.config),
        "catalog": str(args.catalog),
        "data_start": str(pd.Timestamp(result.backtest_start, tz="UTC")) if result.backtest_start else "",
        "data_end": str(pd.Timestamp(result.backtest_end, tz="UTC")) if result.backtest_end else "",
        "iterations": str(result.iterations),
        "wall_time_s": f"{outcome.wall_s:.2f}",
        "data_points_per_s": f"{result.iterations / outcome.wall_s:,.0f}" if outcome.wall_s > 0 else "",
    }
    report = write_session_report(
        strategy=strategy,
        portfolio=engine.portfolio,
        cache=engine.cache,
        starting_equity=settings.backtest.starting_balance_usdc,
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
