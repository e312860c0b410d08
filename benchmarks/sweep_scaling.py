#!/usr/bin/env python
"""Sweep scaling: the same N backtests serially and on all workers, in one run.

    python benchmarks/sweep_scaling.py                                   # 12 runs of the archive-hour spec
    python benchmarks/sweep_scaling.py --spec configs/sweeps/hl_btc_example.yaml --runs 16 --workers 2

Both passes go through the sweep's own executor (a fresh process per backtest, forked from a preloaded
forkserver), with the first N runs of the spec's plan; nothing is written to the results table. Prints:

- scaling efficiency = T_serial / (T_parallel × workers), best pass of each kind (1.0 = perfect; goal ≥ 0.8),
- worker utilisation: Σ run time / (T_parallel × workers), the share the executor itself does not lose,
- the time a run spends in its process beyond ``node.run()`` (config validation, catalog set-up, metrics),
- peak memory per worker: the peak RSS of each backtest's process (ru_maxrss; it counts the pages shared with the
  forkserver, so the machine-wide total is lower than workers × this figure),
- with ``--spawn``, the same parallel pass with freshly spawned interpreters, for comparison,
- whether the serial and parallel passes produced identical metrics (they must),
- the machine's own ceiling measured in the same run: the same efficiency for a pure-Python CPU loop in plain
  processes. On a shared 2-core VM other work steals cycles; the sweep cannot scale better than this.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from mm_strategy.research.local_pool import run_local  # noqa: E402
from mm_strategy.research.plan import plan_sweep  # noqa: E402
from mm_strategy.research.spec import load_spec  # noqa: E402

DEFAULT_SPEC = REPO_ROOT / "configs" / "sweeps" / "archive_hour_100.yaml"
MEASURED_COLUMNS = {"pid", "host", "run_wall_s", "backtest_wall_s", "peak_rss_mb"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="sweep spec whose first runs are timed")
    parser.add_argument("--runs", type=int, default=12, help="backtests per pass (default 12)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel workers (default: all cores)")
    parser.add_argument("--repeats", type=int, default=2, help="serial/parallel pass pairs; the best of each counts")
    parser.add_argument("--spawn", action="store_true", help="also time the parallel pass with spawned interpreters")
    return parser.parse_args(argv)


def burn(iterations: int) -> int:
    total = 0
    for i in range(iterations):
        total += i * i
    return total


def machine_ceiling(workers: int, jobs: int, iterations: int = 5_000_000) -> float:
    """Efficiency of ``jobs`` equal CPU-bound jobs on ``workers`` processes against one after the other."""
    started = time.perf_counter()
    for _ in range(jobs):
        burn(iterations)
    serial_s = time.perf_counter() - started
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(burn, [iterations] * workers))  # start the workers outside the timing
        started = time.perf_counter()
        list(pool.map(burn, [iterations] * jobs))
        parallel_s = time.perf_counter() - started
    return serial_s / (parallel_s * workers)


def timed_pass(tasks, workers: int, start_method: str) -> tuple[float, list[dict]]:
    rows: list[dict] = []
    started = time.perf_counter()
    run_local(tasks, workers, rows.append, start_method=start_method)
    return time.perf_counter() - started, rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(REPO_ROOT)  # spec paths are relative to the repository root
    tasks = plan_sweep(load_spec(args.spec)).tasks[: args.runs]
    print(f"{len(tasks)} backtests from {args.spec.name}, {args.workers} workers, {os.cpu_count()} cores, "
          f"best of {args.repeats} alternating serial/parallel passes")
    timed_pass(tasks[:1], 1, "forkserver")  # start the forkserver (imports NautilusTrader once) outside the timing

    ceiling_before = machine_ceiling(args.workers, jobs=2 * args.workers)
    serial, parallel = [], []
    for _ in range(args.repeats):  # alternate, so a burst of other load hits both kinds of pass alike
        serial.append(timed_pass(tasks, 1, "forkserver"))
        parallel.append(timed_pass(tasks, args.workers, "forkserver"))
    ceiling_after = machine_ceiling(args.workers, jobs=2 * args.workers)
    rows = [row for _, pass_rows in serial + parallel for row in pass_rows]
    failed = [r["error"] for r in rows if r["status"] != "ok"]
    if failed:
        print(f"{len(failed)} runs failed, first: {failed[0]}")
        return 1

    serial_s, serial_rows = min(serial, key=lambda p: p[0])
    parallel_s, parallel_rows = min(parallel, key=lambda p: p[0])
    efficiency = serial_s / (parallel_s * args.workers)
    busy = sum(r["run_wall_s"] for r in parallel_rows) / (parallel_s * args.workers)
    run_s = np.array([r["run_wall_s"] for r in serial_rows])
    backtest_s = np.array([r["backtest_wall_s"] for r in serial_rows])
    rss_mb = np.array([r["peak_rss_mb"] for r in rows])
    print(f"serial    {serial_s:7.2f} s  ({serial_s / len(tasks):.2f} s per backtest; passes "
          f"{', '.join(f'{t:.2f}' for t, _ in serial)} s)")
    print(f"parallel  {parallel_s:7.2f} s  (speed-up {serial_s / parallel_s:.2f}×; passes "
          f"{', '.join(f'{t:.2f}' for t, _ in parallel)} s)")
    print(f"scaling efficiency {efficiency:.0%} on {args.workers} workers (goal ≥ 80 %)")
    print(f"machine ceiling (pure-Python loop, plain processes): {ceiling_before:.0%} before, {ceiling_after:.0%} after")
    print(f"worker utilisation in the parallel pass: {busy:.0%} of workers × wall time is spent inside runs")
    print(f"per backtest: node.run() {backtest_s.mean():.2f} s, the whole run in its process {run_s.mean():.2f} s "
          f"({np.mean(run_s - backtest_s) * 1000:.0f} ms for config validation, catalog set-up, metrics, dispose)")
    print(f"peak memory per worker (RSS): median {np.median(rss_mb):.0f} MB, max {rss_mb.max():.0f} MB")
    if args.spawn:
        spawn_s, _ = timed_pass(tasks, args.workers, "spawn")
        print(f"parallel with spawned interpreters {spawn_s:.2f} s ({spawn_s / parallel_s:.2f}× the forkserver pass)")

    reference = {r["run_id"]: _metrics(r) for r in serial[0][1]}
    identical = all(_metrics(r) == reference[r["run_id"]] for r in rows)
    print(f"every pass produced identical metrics: {identical}")
    return 0 if identical else 1


def _metrics(row: dict) -> dict:
    """The row without what is measured per process; NaN (unmeasurable) compared as equal."""
    return {k: ("nan" if isinstance(v, float) and v != v else v) for k, v in row.items() if k not in MEASURED_COLUMNS}


if __name__ == "__main__":
    sys.exit(main())
