#!/usr/bin/env python
"""Run a parameter sweep (and walk-forward evaluation) of the market maker: many backtests, one process each.

    python run_sweep.py configs/sweeps/hl_btc_example.yaml                 # all cores
    python run_sweep.py SPEC --workers 4 --out reports/sweeps/try1
    python run_sweep.py SPEC --ray auto                                     # the Ray cluster this node is in
    python run_sweep.py SPEC --ray 10.0.0.5:6379                            # needs pip install '.[ray]'

The spec format is described in mm_strategy/research/spec.py. Results append to <out>/runs/ as each backtest
finishes: interrupt at any time and run the same command again to resume. Writes <out>/report.html and, when a
candidate meets every constraint, <out>/best_config.json for run_backtest.py / run_live.py --config.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

LEADERBOARD_PRINT_ROWS = 10


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", type=Path, help="sweep spec (JSON or YAML)")
    parser.add_argument("--workers", type=int, default=None, help="parallel backtests (default: all cores)")
    parser.add_argument("--ray", dest="ray_address", default=None, metavar="ADDRESS",
                        help="run as Ray tasks on the cluster at ADDRESS ('auto', host:port, ray://host:port)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default reports/sweeps/<spec name>)")
    parser.add_argument("--retry-failed", action="store_true", help="run again the runs recorded as failed")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workers is not None and args.workers < 1:
        print(f"sweep error: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return 2
    from mm_strategy.research.ray_pool import RayUnavailable
    from mm_strategy.research.spec import SpecError
    from mm_strategy.research.sweep import run_sweep

    try:
        outcome = run_sweep(args.spec, args.out, args.workers, args.ray_address, args.retry_failed, args.progress)
    except (SpecError, RayUnavailable) as exc:
        print(f"sweep error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are saved; run the same command again to resume", file=sys.stderr)
        return 130
    print_outcome(outcome)
    return 0


def print_outcome(outcome) -> None:
    import pandas as pd

    from mm_strategy.research.walkforward import describe_summary
    from mm_strategy.research.walkforward import summary

    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 60):
        columns = ["rank", "feasible", "objective", "score_mean", "score_se", "tied", "params_json", "net_pnl",
                   "markout_5s_bps", "two_sided_frac", "runs", "failed"]
        print(outcome.board[[c for c in columns if c in outcome.board]].head(LEADERBOARD_PRINT_ROWS).to_string(index=False))
        if outcome.walk is not None:
            columns = ["dataset", "in_sample_window", "out_of_sample_window", "params_id", "in_sample_score",
                       "in_sample_tied", "in_sample_candidates", "out_of_sample_score", "oos_rank", "oos_candidates",
                       "left_out"]
            print("\nwalk-forward (chosen on the in-sample window, scored on the next):")
            print(outcome.walk[columns].to_string(index=False))
            print(f"walk-forward summary: {describe_summary(summary(outcome.walk))}")
    print(f"\n{len(outcome.plan.tasks)} runs ({outcome.executed} now, {outcome.skipped} from earlier, "
          f"{outcome.failed} failed) in {outcome.wall_s:.1f} s")
    if outcome.stale is not None:
        print(f"ran again: {outcome.stale}")
    print(f"report:  {outcome.report}")
    print(f"results: {outcome.out_dir / 'runs'}")
    print(f"winner:  {outcome.verdict}")
    print(f"config:  {outcome.best_config or 'none written'}")


if __name__ == "__main__":
    sys.exit(main())
