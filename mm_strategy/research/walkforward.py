"""Walk-forward evaluation: choose on window k, score on window k+1, for every k of every dataset.

Every candidate runs on every window, so the choice on window k is simply the best feasible run there, and its
out-of-sample result is the same candidate's run on window k+1. Besides the two scores, each row says how many
candidates tied for the best in-sample score (``in_sample_tied``: a choice among many equals is no choice), where
the choice landed among all candidates on k+1 (``oos_rank`` of ``oos_candidates``, ties sharing their middle place;
1 = it was also the best there) and what the best choice in hindsight scored: in-sample far above out-of-sample,
or an out-of-sample rank no better than chance, is what overfitting looks like.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mm_strategy.research.metrics import METRIC_ALIASES

NET_PNL = METRIC_ALIASES["net_pnl"]


def walk_forward_table(scored: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for dataset, runs in scored.groupby("dataset", sort=True):
        windows = sorted(int(w) for w in runs["window"].unique())
        for k, k_next in zip(windows, windows[1:], strict=False):
            rows.append(_step(dataset, runs[runs["window"] == k], runs[runs["window"] == k_next], k, k_next))
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> dict[str, float | int]:
    """Means over the walk-forward steps that had a choice: in-sample vs out-of-sample score and OOS rank."""
    chosen = table[table["params_id"].notna()] if not table.empty else table
    if chosen.empty:
        return {"steps": 0}
    percentile = (chosen["oos_rank"] - 1) / (chosen["oos_candidates"] - 1).clip(lower=1)
    return {
        "steps": int(len(chosen)),
        "in_sample_score_mean": float(chosen["in_sample_score"].mean()),
        "out_of_sample_score_mean": float(chosen["out_of_sample_score"].mean()),
        "oos_rank_percentile_mean": float(percentile.mean()),  # 0 = best every time, 0.5 = chance
    }


def _step(dataset: str, in_runs: pd.DataFrame, out_runs: pd.DataFrame, k: int, k_next: int) -> dict:
    row = {
        "dataset": dataset,
        "in_sample_window": k,
        "in_sample_start": in_runs["window_start"].iloc[0],
        "out_of_sample_window": k_next,
        "out_of_sample_start": out_runs["window_start"].iloc[0],
        "config": None,
        "params_id": None,
        "params_json": None,
        "in_sample_score": np.nan,
        "in_sample_tied": 0,
        "in_sample_net_pnl": np.nan,
        "out_of_sample_score": np.nan,
        "out_of_sample_net_pnl": np.nan,
        "out_of_sample_feasible": False,
        "oos_rank": np.nan,
        "oos_candidates": int(out_runs["ok"].sum()),
        "oos_best_score": out_runs["score"].max(),
    }
    feasible = in_runs[in_runs["feasible"]]
    if feasible.empty:
        return row  # nothing met the constraints in-sample: no choice to carry forward
    chosen = feasible.loc[feasible["score"].idxmax()]  # among equal scores, the first in the results table
    same = out_runs[(out_runs["config"] == chosen["config"]) & (out_runs["params_id"] == chosen["params_id"])]
    row |= {
        "config": chosen["config"],
        "params_id": chosen["params_id"],
        "params_json": chosen["params_json"],
        "in_sample_score": chosen["score"],
        "in_sample_tied": int((feasible["score"] == chosen["score"]).sum()),  # candidates sharing the best score
        "in_sample_net_pnl": chosen.get(NET_PNL, np.nan),
    }
    if same.empty or not bool(same["ok"].iloc[0]):
        return row  # the chosen candidate failed out of sample: shown as a missing score
    oos = same.iloc[0]
    ranked = out_runs["score"].dropna()
    row |= {
        "out_of_sample_score": oos["score"],
        "out_of_sample_net_pnl": oos.get(NET_PNL, np.nan),
        "out_of_sample_feasible": bool(oos["feasible"]),
        "oos_rank": _mid_rank(ranked, oos["score"]),
    }
    return row


def _mid_rank(scores: pd.Series, score: float) -> float:
    """1 = best; candidates tied with ``score`` share the middle of their places, so a choice among equals ranks
    like chance (all tied → the middle) instead of looking like the best."""
    better, tied = int((scores > score).sum()), int((scores == score).sum())
    return better + (tied + 1) / 2
