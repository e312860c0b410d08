"""Scores, constraints and the leaderboard over the results table.

- score of a run = Σ weight · metric over the spec's ``rank`` (higher is better; a negative weight minimises,
  e.g. ``max_drawdown: -1``). Raw values, not normalised: the weights carry the units, so a score means the same
  on every window and in-sample scores can be compared with out-of-sample ones.
- a run is feasible when it succeeded, its score is defined and every constraint holds on its own metrics.
- a candidate (base config + parameter set) is ranked by its mean score over all its runs (every dataset and
  window); it is feasible only if every one of its runs is: "two-sided ≥ 95 %" should hold in each window, not
  on average.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mm_strategy.research.metrics import METRIC_ALIASES
from mm_strategy.research.runner import PARAM_PREFIX
from mm_strategy.research.runner import STATUS_OK
from mm_strategy.research.spec import SpecError
from mm_strategy.research.spec import SweepSpec

CANDIDATE_KEYS = ["config", "params_id"]
# Shown on the leaderboard next to the score (means over a candidate's successful runs).
BOARD_METRICS = ("net_pnl", "spread_capture", "markout_5s_bps", "fills_per_hour", "two_sided_frac", "sharpe_per_min")


def score_runs(frame: pd.DataFrame, spec: SweepSpec) -> pd.DataFrame:
    """The runs with ``ok``, ``score`` and ``feasible`` columns added."""
    scored = frame.copy()
    scored["ok"] = scored["status"] == STATUS_OK
    successes = scored[scored["ok"]]
    columns = set(spec.rank_weights) | {c.column for c in spec.constraints}
    if not successes.empty:
        missing = sorted(c for c in columns if c not in successes.columns)
        if missing:
            # after the runs (the metric set is only known then): the rows are saved, a fixed spec re-ranks at once
            raise SpecError(f"rank/constraints: no run reports {', '.join(missing)} (check the metric path)")
    score = pd.Series(0.0, index=scored.index)
    for column, weight in spec.rank_weights.items():
        score = score + weight * _numeric(scored, column)
    scored["score"] = score.where(scored["ok"])
    feasible = scored["ok"] & scored["score"].notna()
    for constraint in spec.constraints:
        feasible &= constraint.holds(_numeric(scored, constraint.column))
    scored["feasible"] = feasible
    return scored


def leaderboard(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per candidate, feasible ones first, then by mean score; ``rank`` starts at 1."""
    if scored.empty:
        return pd.DataFrame()
    param_columns = [c for c in scored.columns if c.startswith(PARAM_PREFIX)]
    groups = scored.groupby(CANDIDATE_KEYS, sort=False, dropna=False)
    board = groups.agg(
        runs=("run_id", "size"),
        failed=("ok", lambda ok: int((~ok).sum())),
        feasible_runs=("feasible", "sum"),
        score_mean=("score", "mean"),
        score_min=("score", "min"),
        params_json=("params_json", "first"),
        **{column: (column, "first") for column in param_columns},
    )
    for name in BOARD_METRICS:
        column = METRIC_ALIASES[name]
        board[name] = groups[column].mean() if column in scored.columns else np.nan
    board["feasible"] = (board["feasible_runs"] == board["runs"]) & board["score_mean"].notna()
    board = board.reset_index().sort_values(["feasible", "score_mean"], ascending=[False, False], na_position="last")
    board.insert(0, "rank", np.arange(1, len(board) + 1))
    return board.reset_index(drop=True)


def winner(board: pd.DataFrame) -> pd.Series | None:
    """The top candidate if it is feasible; None when no candidate meets every constraint in every run."""
    if board.empty or not bool(board.iloc[0]["feasible"]):
        return None
    return board.iloc[0]


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce")
