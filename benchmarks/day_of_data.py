#!/usr/bin/env python
"""A day of data streamed through the full stack: peak memory and throughput against the one-hour figure.

SCALE TEST ONLY. We hold one real hour of Hyperliquid book data (the archive hour, ``data/catalog``). The day is that
hour replayed 24 times, each copy shifted by a whole hour (timestamps and delta sequence numbers moved, nothing
else), written to ``data/scale_test_day_btc``. At every hour boundary the book jumps back to the hour's opening
snapshot. It measures how time and memory grow with data length and must never be used for strategy results.

Each run is a separate process (its own peak RSS): the real hour, then the day, both through ``run_backtest``
(streamed an hour at a time, ``mm_strategy/streaming.py``). Goals (issue 13): the day's peak RSS <= 2 GB and its
throughput within 20 % of the hour's, i.e. time linear in data length.

    python benchmarks/day_of_data.py [--hours 24] [--config configs/hyperliquid_btc.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from run_backtest import DEFAULT_CATALOG  # noqa: E402
from run_backtest import DEFAULT_CONFIG  # noqa: E402
from run_backtest import ensure_catalog  # noqa: E402

DAY_CATALOG = REPO_ROOT / "data" / "scale_test_day_btc"
NS_PER_HOUR = 3_600_000_000_000
MAX_RSS_GB = 2.0
MAX_SLOWDOWN_FRAC = 0.2


def build_day(hour_catalog: Path, day_catalog: Path, hours: int) -> int:
    """Write ``hours`` shifted copies of the hour's deltas (and its instrument); returns the deltas written."""
    from nautilus_trader.model.data import OrderBookDelta
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    source = ParquetDataCatalog(str(hour_catalog))
    instrument = source.instruments()[0]
    deltas = source.order_book_deltas(instrument_ids=[instrument.id.value])
    if "trade_tick" in source.list_data_types():
        raise SystemExit(f"{hour_catalog} holds trades: the scale test replays the book-only archive hour")
    target = ParquetDataCatalog(str(day_catalog))
    target.write_data([instrument])
    sequence_step = deltas[-1].sequence + 1
    for hour in range(hours):
        shift_ns, shift_seq = hour * NS_PER_HOUR, hour * sequence_step
        target.write_data(
            [
                OrderBookDelta(
                    d.instrument_id, d.action, d.order, d.flags, d.sequence + shift_seq,
                    d.ts_event + shift_ns, d.ts_init + shift_ns,
                )
                for d in deltas
            ]
        )
    return hours * len(deltas)


def run_child(config: Path, catalog: Path) -> dict:
    """One full-stack backtest in this process; what the parent prints."""
    from mm_strategy.backtest import run_backtest
    from mm_strategy.node_config import load_venue_config

    outcome = run_backtest(load_venue_config(config), catalog)
    strategy = outcome.engine.trader.strategies()[0]
    report = {
        "points": outcome.result.iterations,
        "wall_s": outcome.wall_s,
        # the strategy's own counts: the engine's cache forgets closed orders after an hour (backtest.purge_settings);
        # orders, cancels and modifies alike (a requote is mostly a modify, one order lives through many)
        "requests": strategy.orders_sent + strategy.cancels_sent + strategy.modifies_sent,
        "windows": outcome.node.windows_run,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,  # Linux: kB
    }
    outcome.node.dispose()
    return report


def run_in_child(config: Path, catalog: Path) -> dict:
    command = [sys.executable, __file__, "--child", str(catalog), "--config", str(config)]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=24, help="copies of the real hour (default 24: a day)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--rebuild", action="store_true", help="write the day's catalog again")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(run_child(args.config, args.child)))
        return 0

    ensure_catalog(DEFAULT_CATALOG)
    day_catalog = DAY_CATALOG if args.hours == 24 else DAY_CATALOG.with_name(f"scale_test_{args.hours}h_btc")
    if args.rebuild or not day_catalog.exists():
        print(f"SCALE TEST: writing {args.hours} shifted copies of the archive hour to {day_catalog} ...", flush=True)
        written = build_day(DEFAULT_CATALOG, day_catalog, args.hours)
        print(f"  {written:,} deltas", flush=True)

    hour = run_in_child(args.config, DEFAULT_CATALOG)
    day = run_in_child(args.config, day_catalog)
    print(f"\nSCALE TEST (the real hour replayed {args.hours}x; not strategy results), full stack, streamed hourly")
    print(f"{'run':<30}{'data points':>12}{'wall s':>9}{'points/s':>11}{'requests':>10}{'windows':>9}{'peak RSS GB':>13}")
    for label, run in (("real hour", hour), (f"{args.hours} h (scale test)", day)):
        rate = run["points"] / run["wall_s"]
        print(
            f"{label:<30}{run['points']:>12,}{run['wall_s']:>9.1f}{rate:>11,.0f}{run['requests']:>10,}"
            f"{run['windows']:>9}{run['peak_rss_gb']:>13.2f}"
        )
    ratio = (day["points"] / day["wall_s"]) / (hour["points"] / hour["wall_s"])
    speed_ok = ratio >= 1.0 - MAX_SLOWDOWN_FRAC
    rss_ok = day["peak_rss_gb"] <= MAX_RSS_GB
    print(
        f"throughput {args.hours} h / hour: {ratio:.3f} (goal >= {1 - MAX_SLOWDOWN_FRAC:.1f}: "
        f"{'met' if speed_ok else 'NOT met'}); peak RSS {day['peak_rss_gb']:.2f} GB (goal <= {MAX_RSS_GB:g}: "
        f"{'met' if rss_ok else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
