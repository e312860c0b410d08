"""Walk-forward evaluation: choose on window k, score on window k+1, for every k of every dataset.

Every candidate runs on every window, so the choice on window k is simply the best feasible run there (among equal
scores, the first by config and parameters: never the order rows were read), and its out-of-sample result is the
same candidate's run on window k+1. Besides the two scores, each row says how many candidates tied for the best
in-sample score (``in_sample_tied`` of ``in_sample_candidates`` feasible ones: a choice among many equals is no
choice), where the choice landed among all candidates on k+1 (``oos_rank`` of ``oos_candidates``, ties sharing
their middle place; 1 = it was also the best there) and what the best choice in hindsight scored: in-sample far
above out-of-sample, or an out-of-sample rank no better than chance, is what overfitting looks like.

The summary (means of in-sample and out-of-sample score, OOS rank) is over the steps that measure something, the
same steps for every mean; ``left_out`` says why a step is not among them: nothing feasible in-sample (no choice),
every feasible candidate tied in-sample (a choice by lot: on windows without fills all score 0, and such steps
made a sweep look robust, in-sample 0 = out-of-sample 0), the chosen candidate's out-of-sample run failed, or
either window has no runs because no priors could be fitted on the data before it (``walk_forward.priors:
before_window``, see :mod:`.window_priors`).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from mm_strategy.research.metrics import METRIC_ALIASES
from mm_strategy.research.scoring import TIE_ORDER
from mm_strategy.research.scoring import same_score

NET_PNL = METRIC_ALIASES["net_pnl"]
NO_CHOICE = "no feasible in-sample candidate"
ALL_TIED = "every feasible in-sample candidate tied"
OOS_FAILED = "the chosen candidate failed out of sample"
NO_PRIORS = "no priors fitted before a window"
LEFT_OUT_REASONS = (NO_CHOICE, ALL_TIED, OOS_FAILED, NO_PRIORS)


def walk_forward_table(scored: pd.DataFrame, windows_left_out: Collection[tuple[str, int]] = ()) -> pd.DataFrame:
    """One row per step k → k+1 of each dataset; ``windows_left_out``: (dataset, window) pairs planned without runs
    (``SweepPlan.left_out``), whose steps are listed as left out rather than skipped silently."""
    rows = []
    datasets = sorted(set(scored["dataset"]) | {dataset for dataset, _ in windows_left_out})
    for dataset in datasets:
        runs = scored[scored["dataset"] == dataset]
        missing = {window for name, window in windows_left_out if name == dataset}
        windows = sorted({int(w) for w in runs["window"].unique()} | missing)
        for k, k_next in zip(windows, windows[1:], strict=False):
            row = _step(dataset, runs[runs["window"] == k], runs[runs["window"] == k_next], k, k_next)
            rows.append(row | {"left_out": NO_PRIORS} if {k, k_next} & missing else row)
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> dict[str, float | int]:
    """Means over the steps that measure something (the same steps for every mean), and how many were left out
    for each reason."""
    used = table[table["left_out"] == ""] if not table.empty else table
    result: dict[str, float | int] = {"steps": int(len(used)), "steps_total": int(len(table))}
    result |= {reason: int((table["left_out"] == reason).sum()) if not table.empty else 0 for reason in LEFT_OUT_REASONS}
    if used.empty:
        return result
    percentile = (used["oos_rank"] - 1) / (used["oos_candidates"] - 1).clip(lower=1)
    return result | {
        "in_sample_score_mean": float(used["in_sample_score"].mean()),
        "out_of_sample_score_mean": float(used["out_of_sample_score"].mean()),
        "oos_rank_percentile_mean": float(percentile.mean()),  # 0 = best every time, 0.5 = chance
    }


def describe_summary(s: dict[str, float | int]) -> str:
    """One line: the means and the steps left out, for the report and the command line."""
    left_out = ", ".join(f"{s[reason]} {reason}" for reason in LEFT_OUT_REASONS if s[reason])
    left_out = f"; left out: {left_out}" if left_out else ""
    if not s["steps"]:
        return f"no step of {s['steps_total']} measures anything{left_out}"
    return (f"in-sample score {s['in_sample_score_mean']:.4g}, out-of-sample {s['out_of_sample_score_mean']:.4g}, "
            f"OOS rank percentile {s['oos_rank_percentile_mean']:.2f} (0 best, 0.5 chance) over {s['steps']} of "
            f"{s['steps_total']} steps{left_out}")


def _step(dataset: str, in_runs: pd.DataFrame, out_runs: pd.DataFrame, k: int, k_next: int) -> dict:
    row = {
        "dataset": dataset,
        "in_sample_window": k,
        "in_sample_start": _first(in_runs, "window_start"),
        "out_of_sample_window": k_next,
        "out_of_sample_start": _first(out_runs, "window_start"),
        "config": None,
        "params_id": None,
        "params_json": None,
        "in_sample_score": np.nan,
        "in_sample_tied": 0,
        "in_sample_candidates": 0,
        "in_sample_net_pnl": np.nan,
        "out_of_sample_score": np.nan,
        "out_of_sample_net_pnl": np.nan,
        "out_of_sample_feasible": False,
        "oos_rank": np.nan,
        "oos_candidates": int(out_runs["ok"].sum()),
        "oos_best_score": out_runs["score"].max(),
        "left_out": "",  # why the summary leaves the step out; "" = it counts
    }
    feasible = in_runs[in_runs["feasible"]]
    if feasible.empty:
        return row | {"left_out": NO_CHOICE}  # nothing met the constraints in-sample: no choice to carry forward
    best = feasible[same_score(feasible["score"], feasible["score"].max())]  # the best score, to rounding
    chosen = best.sort_values(TIE_ORDER).iloc[0]
    tied = len(best)
    same = out_runs[(out_runs["config"] == chosen["config"]) & (out_runs["params_id"] == chosen["params_id"])]
    row |= {
        "config": chosen["config"],
        "params_id": chosen["params_id"],
        "params_json": chosen["params_json"],
        "in_sample_score": chosen["score"],
        "in_sample_tied": tied,
        "in_sample_candidates": int(len(feasible)),
        "in_sample_net_pnl": chosen.get(NET_PNL, np.nan),
        "left_out": ALL_TIED if 1 < tied == len(feasible) else "",
    }
    if same.empty or not bool(same["ok"].iloc[0]):
        return row | {"left_out": row["left_out"] or OOS_FAILED}  # shown as a missing out-of-sample score
    oos = same.iloc[0]
    ranked = out_runs["score"].dropna()
    row |= {
        "out_of_sample_score": oos["score"],
        "out_of_sample_net_pnl": oos.get(NET_PNL, np.nan),
        "out_of_sample_feasible": bool(oos["feasible"]),
        "oos_rank": _mid_rank(ranked, oos["score"]),
    }
    return row


def _first(runs: pd.DataFrame, column: str) -> object:
    """The column's first value, or None for a window without runs."""
    return runs[column].iloc[0] if not runs.empty else None


def _mid_rank(scores: pd.Series, score: float) -> float:
    """1 = best; candidates tied with ``score`` share the middle of their places, so a choice among equals ranks
    like chance (all tied → the middle) instead of looking like the best."""
    equal = same_score(scores, score)
    better, tied = int((~equal & (scores > score)).sum()), int(equal.sum())
    return better + (tied + 1) / 2
