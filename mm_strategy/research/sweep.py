"""A sweep from spec to report: plan (everything validated), run what is not in the results table yet, analyse.

Output folder (``reports/sweeps/<name>`` by default): ``runs/`` (the Parquet results table, one file per run),
``report.html``, ``leaderboard.csv``, ``walk_forward.csv`` and ``best_config.json`` (the winning parameters as a
config file, only when there is a winner: a feasible candidate ranked first and not tied; otherwise no such file,
and an earlier one is removed, so the folder never offers a choice the current results do not support). Running
the same command again resumes: finished runs are skipped unless their code version or catalog changed (then they
run again, see :mod:`.provenance`), and the analysis always covers exactly the runs of the current plan.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from mm_strategy.research.local_pool import run_local
from mm_strategy.research.plan import RunTask
from mm_strategy.research.plan import SweepPlan
from mm_strategy.research.plan import plan_sweep
from mm_strategy.research.provenance import CODE_VERSION
from mm_strategy.research.provenance import PROVENANCE_COLUMNS
from mm_strategy.research.provenance import stale_fields
from mm_strategy.research.ray_pool import require_ray
from mm_strategy.research.ray_pool import run_ray
from mm_strategy.research.report import write_sweep_report
from mm_strategy.research.results import ResultsTable
from mm_strategy.research.runner import STATUS_ERROR
from mm_strategy.research.runner import STATUS_OK
from mm_strategy.research.scoring import choose_winner
from mm_strategy.research.scoring import leaderboard
from mm_strategy.research.scoring import score_runs
from mm_strategy.research.spec import PRIORS_BEFORE_WINDOW
from mm_strategy.research.spec import load_spec
from mm_strategy.research.walkforward import describe_summary
from mm_strategy.research.walkforward import summary as walk_forward_summary
from mm_strategy.research.walkforward import walk_forward_table
from mm_strategy.research.winner import write_winning_config

DEFAULT_OUT_ROOT = Path("reports") / "sweeps"
BEST_CONFIG = "best_config.json"


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
    verdict: str  # why best_config was written, or why not
    stale: str | None  # the finished rows this invocation ran again because their code or catalog changed
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
        require_ray(ray_address)  # fails before any run; sets Ray's loopback switch before Ray is imported
    workers = workers or os.cpu_count() or 1
    plan = plan_sweep(spec)
    out_dir = Path(out_dir) if out_dir is not None else DEFAULT_OUT_ROOT / spec.name
    table = ResultsTable(out_dir)
    todo, stale = pending_runs(plan.tasks, table, retry_failed)
    if stale is not None:
        print(f"{spec.name}: running again {stale}", file=sys.stderr)
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
    return analyse(spec_path, out_dir, plan, table, executed=len(todo), wall_s=wall_s, stale=stale,
                   where=f"Ray at {ray_address}" if ray_address else f"{workers} local worker(s)")


def pending_runs(tasks: list[RunTask], table: ResultsTable, retry_failed: bool) -> tuple[list[RunTask], str | None]:
    """The tasks to run: those without a row, those whose row is stale (other code or catalog), and with
    ``retry_failed`` the failed ones; and a description of the stale rows (None when there are none)."""
    recorded = table.records(["status", *PROVENANCE_COLUMNS])
    todo, stale, was = [], Counter(), {}
    for task in tasks:
        row = recorded.get(task.run_id)
        differing = stale_fields({c: getattr(task, c) for c in PROVENANCE_COLUMNS}, row) if row is not None else []
        if row is None or differing or (retry_failed and row["status"] == STATUS_ERROR):
            todo.append(task)
        stale.update(differing)
        for column in differing:
            was.setdefault(column, (row.get(column), getattr(task, column)))
    if not stale:
        return todo, None
    described = "; ".join(f"{stale[c]} finished run(s) whose {c} differs (e.g. recorded {was[c][0] or 'none'}, "
                          f"now {was[c][1]})" for c in PROVENANCE_COLUMNS if stale[c])
    return todo, described


def analyse(spec_path, out_dir: Path, plan: SweepPlan, table: ResultsTable, executed: int, wall_s: float, where: str,
            stale: str | None) -> SweepOutcome:
    spec = plan.spec
    frame = table.load({task.run_id for task in plan.tasks})
    scored = score_runs(frame, spec)
    board = leaderboard(scored, spec.rank_penalty_se)
    walk = walk_forward_table(scored, plan.left_out) if spec.walk_forward is not None and not scored.empty else None
    choice = choose_winner(board, scored, spec)
    best_config = out_dir / BEST_CONFIG
    if choice.row is None:
        best_config.unlink(missing_ok=True)  # an earlier invocation's winner is not this table's
        best_config = None
    else:
        config = choice.row["config"]
        write_winning_config(plan.base_documents[config], json.loads(choice.row["params_json"]), best_config,
                             f"{config} with the winning parameters")
    board.to_csv(out_dir / "leaderboard.csv", index=False)
    if walk is not None:
        walk.to_csv(out_dir / "walk_forward.csv", index=False)
    failed = int((~scored["ok"]).sum()) if not scored.empty else 0
    info = run_information(spec_path, plan, scored, executed, failed, wall_s, where, walk, best_config, choice.reason,
                           stale)
    report = write_sweep_report(out_dir / "report.html", f"Parameter sweep: {spec.name}", info, scored, board, walk)
    return SweepOutcome(out_dir, plan, executed, len(plan.tasks) - executed, failed, wall_s, scored, board, walk,
                        best_config, choice.reason, stale, report)


def run_information(spec_path, plan: SweepPlan, scored: pd.DataFrame, executed: int, failed: int, wall_s: float, where: str,
                    walk: pd.DataFrame | None, best_config: Path | None, verdict: str,
                    stale: str | None) -> list[tuple[str, str]]:
    spec = plan.spec
    windows = ", ".join(f"{name}: {len(ws)} × {ws[0].duration_s:.0f} s" for name, ws in plan.windows.items())
    rows = [
        ("spec", str(spec_path)),
        ("base configs", ", ".join(str(c) for c in spec.configs)),
        ("parameters", ", ".join(spec.parameter_paths) or "none (base configs only)"),
        ("candidates", f"{len(plan.parameter_sets) * len(spec.configs)}"),
        ("windows", windows),
        ("runs", f"{len(plan.tasks)} ({executed} run now on {where}, {len(plan.tasks) - executed} from earlier)"),
        ("code version", _code_versions(scored)),
        ("failed runs", str(failed)),
        ("wall time (this invocation)", f"{wall_s:.1f} s"),
        ("rank by", " + ".join(f"{w:g}·{c}" for c, w in spec.rank_weights.items())
         + f", candidates by mean − {spec.rank_penalty_se:g} × standard error over their runs"),
        ("constraints (every run)", "; ".join(c.text for c in spec.constraints) or "none"),
        ("winner", verdict),
        ("winning config", str(best_config) if best_config else "none written"),
    ]
    if spec.walk_forward is not None:
        rows.append(("priors", _priors_description(plan)))
    if stale is not None:
        rows.append(("ran again", stale))
    if walk is not None:
        rows.append(("walk-forward (mean over steps)", describe_summary(walk_forward_summary(walk))))
    return rows


def _code_versions(scored: pd.DataFrame) -> str:
    """The code version the runs executed (each worker records its own), with counts when they differ."""
    if scored.empty or CODE_VERSION not in scored.columns:
        return "n/a"
    counts = scored[CODE_VERSION].fillna("none").value_counts()
    if len(counts) == 1:
        return str(counts.index[0])
    return "; ".join(f"{version}: {n} run(s)" for version, n in counts.items()) + " (differing runs run again next time)"


def _priors_description(plan: SweepPlan) -> str:
    """Which priors the runs quoted with, and the windows left out for want of them."""
    if plan.spec.walk_forward.priors != PRIORS_BEFORE_WINDOW:
        return "the config's (walk_forward.priors: config)"
    text = "fitted on each dataset's data before each window (walk_forward.priors: before_window; in each row)"
    left_out = "; ".join(f"{dataset} window {window}: {why}" for (dataset, window), why in sorted(plan.left_out.items()))
    return f"{text}; left out: {left_out}" if left_out else text
