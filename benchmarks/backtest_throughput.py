#!/usr/bin/env python
"""Bare engine replay vs the full market-making stack on the same catalog, in one run (DESIGN §8).

Prints data points per second for each and their ratio. "Data points" are the engine's iterations (one per
book delta or trade replayed); both runs replay the same data, so the ratio is the cost of our components.

    python benchmarks/backtest_throughput.py [--catalog data/catalog] [--config configs/hyperliquid_btc.json]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from mm_strategy.backtest import run_backtest  # noqa: E402
from mm_strategy.node_config import load_venue_config  # noqa: E402
from run_backtest import DEFAULT_CATALOG  # noqa: E402
from run_backtest import DEFAULT_CONFIG  # noqa: E402
from run_backtest import ensure_catalog  # noqa: E402


def measure(settings, catalog: Path, with_components: bool, repeats: int) -> tuple[int, float, int]:
    """Best of ``repeats`` runs: (data points, wall seconds, fills)."""
    best = None
    for _ in range(repeats):
        outcome = run_backtest(settings, catalog, with_components=with_components)
        fills = sum(1 for o in outcome.engine.cache.orders() if o.filled_qty > 0) if with_components else 0
        sample = (outcome.result.iterations, outcome.wall_s, fills)
        outcome.node.dispose()
        if best is None or sample[1] < best[1]:
            best = sample
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--repeats", type=int, default=2, help="runs per variant; the fastest is kept")
    args = parser.parse_args(argv)
    settings = load_venue_config(args.config)
    ensure_catalog(args.catalog)

    bare_points, bare_s, _ = measure(settings, args.catalog, with_components=False, repeats=args.repeats)
    full_points, full_s, orders_filled = measure(settings, args.catalog, with_components=True, repeats=args.repeats)
    bare_rate, full_rate = bare_points / bare_s, full_points / full_s
    print(f"{'variant':<34}{'data points':>12}{'wall s':>9}{'points/s':>12}")
    print(f"{'bare engine replay':<34}{bare_points:>12,}{bare_s:>9.2f}{bare_rate:>12,.0f}")
    print(f"{'full stack (strategy + actors)':<34}{full_points:>12,}{full_s:>9.2f}{full_rate:>12,.0f}")
    print(f"ratio full/bare throughput: {full_rate / bare_rate:.3f}  (orders with fills: {orders_filled})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
