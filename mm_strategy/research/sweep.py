"""A sweep from spec to report: plan (everything validated), run what is not in the results table yet, analyse.

Output folder (``reports/sweeps/<name>`` by default): ``runs/`` (the Parquet results table, one file per run),
``report.html``, ``leaderboard.csv``, ``walk_forward.csv`` and ``best_config.json`` (the winning parameters as a
config file, when a candidate meets every constraint). Running the same command again resumes: finished runs are
skipped, and the analysis always covers exactly the runs of the current plan.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from mm_strategy.research.local_pool import run_local
from mm_strategy.research.plan import SweepPlan
from mm_strategy.research.plan import plan_sweep
from mm_strategy.research.ray_pool import require_ray
from mm_strategy.research.ray_pool import run_ray
from mm_strategy.research.report import write_sweep_report
from mm_strategy.research.results import ResultsTable
from mm_strategy.research.runner import STATUS_OK
from mm_strategy.research.scoring import leaderboard
from mm_strategy.research.scoring import score_runs
from mm_strategy.research.scoring import winner
from mm_strategy.research.spec import load_spec
from mm_strategy.research.walkforward import summary as walk_forward_summary
from mm_strategy.research.walkforward import walk_forward_table
from mm_strategy.research.winner import write_winning_config

DEFAULT_OUT_ROOT = Path("reports") / "sweeps"


@dataclass
class SweepOutcome:
    out_dir: Path
    plan: SweepPlan
    executed: int  # runs done by this invocation
    skipped: int  # runs already in the results table
    failed: int  # failed runs of the plan (this invocation or earlier)
    wall_s: float
    scored: pd.DataFrame
    board: pd.DataFrame
    walk: pd.DataFrame | None
    best_config: Path | None
    report: Path


def run_sweep(
    spec_path: Path | str,
    out_dir: Path | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    start_method: str = "forkserver",
    after_row: Callable[[dict], None] | None = None,
) -> SweepOutcome:
    """Everything is validated (spec, every run's config, catalogs, windows, Ray) before the first backtest.

    ``after_row`` is called with each row once it is saved (tests use it to interrupt a sweep mid-way).
    """
    spec = load_spec(spec_path)
    if ray_address is not None:
        require_ray()
    workers = workers or os.cpu_count() or 1
    plan = plan_sweep(spec)
    out_dir = Path(out_dir) if out_dir is not None else DEFAULT_OUT_ROOT / spec.name
    table = ResultsTable(out_dir)
    finished = table.finished_ids(include_failed=not retry_failed)
    todo = [task for task in plan.tasks if task.run_id not in finished]
    started = time.perf_counter()
    with tqdm(total=len(plan.tasks), initial=len(plan.tasks) - len(todo), unit="run", desc=spec.name,
              disable=not progress, dynamic_ncols=True) as bar:
        failures = 0

        def on_row(row: dict) -> None:
            nonlocal failures
            table.append(row)
            failures += row["status"] != STATUS_OK
            bar.update(1)
            bar.set_postfix(failed=failures)
            if after_row is not None:
                after_row(row)

        if ray_address is not None:
            run_ray(todo, ray_address, on_row)
        else:
            run_local(todo, workers, on_row, start_method=start_method)
    wall_s = time.perf_counter() - started
    return analyse(spec_path, out_dir, plan, table, executed=len(todo), wall_s=wall_s,
                   where=f"Ray at {ray_address}" if ray_address else f"{workers} local worker(s)")


def analyse(spec_path, out_dir: Path, plan: SweepPlan, table: ResultsTable, executed: int, wall_s: float, where: str) -> SweepOutcome:
    spec = plan.spec
    frame = table.load({task.run_id for task in plan.tasks})
    scored = score_runs(frame, spec)
    board = leaderboard(scored)
    walk = walk_forward_table(scored) if spec.walk_forward is not None and not scored.empty else None
    best = winner(board)
    best_config = None
    if best is not None:
        config = best["config"]
        best_config = write_winning_config(plan.base_documents[config], json.loads(best["params_json"]),
                                           out_dir / "best_config.json", f"{config} with the winning parameters")
    board.to_csv(out_dir / "leaderboard.csv", index=False)
    if walk is not None:
        walk.to_csv(out_dir / "walk_forward.csv", index=False)
    failed = int((~scored["ok"]).sum()) if not scored.empty else 0
    info = run_information(spec_path, plan, executed, failed, wall_s, where, walk, best_config)
    report = write_sweep_report(out_dir / "report.html", f"Parameter sweep: {spec.name}", info, scored, board, walk)
    return SweepOutcome(out_dir, plan, executed, len(plan.tasks) - executed, failed, wall_s, scored, board, walk,
                        best_config, report)


def run_information(spec_path, plan: SweepPlan, executed: int, failed: int, wall_s: float, where: str,
                    walk: pd.DataFrame | None, best_config: Path | None) -> list[tuple[str, str]]:
    spec = plan.spec
    windows = ", ".join(f"{name}: {len(ws)} × {ws[0].duration_s:.0f} s" for name, ws in plan.windows.items())
    rows = [
        ("spec", str(spec_path)),
        ("base configs", ", ".join(str(c) for c in spec.configs)),
        ("parameters", ", ".join(spec.parameter_paths) or "none (base configs only)"),
        ("candidates", f"{len(plan.parameter_sets) * len(spec.configs)}"),
        ("windows", windows),
        ("runs", f"{len(plan.tasks)} ({executed} run now on {where}, {len(plan.tasks) - executed} from earlier)"),
        ("failed runs", str(failed)),
        ("wall time (this invocation)", f"{wall_s:.1f} s"),
        ("rank by", " + ".join(f"{w:g}·{c}" for c, w in spec.rank_weights.items())),
        ("constraints", "; ".join(c.text for c in spec.constraints) or "none"),
        ("winning config", str(best_config) if best_config else "none: no candidate met every constraint in every run"),
    ]
    if walk is not None:
        s = walk_forward_summary(walk)
        if s["steps"]:
            rows.append((
                "walk-forward (mean over steps)",
                f"in-sample score {s['in_sample_score_mean']:.4g}, out-of-sample {s['out_of_sample_score_mean']:.4g}, "
                f"OOS rank percentile {s['oos_rank_percentile_mean']:.2f} (0 best, 0.5 chance) over {s['steps']} steps",
            ))
    return rows
