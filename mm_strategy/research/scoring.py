"""Scores, constraints, the leaderboard and the winner over the results table.

- score of a run = Σ weight · metric over the spec's ``rank`` (higher is better; a negative weight minimises,
  e.g. ``max_drawdown: -1``). Raw values, not normalised: the weights carry the units, so a score means the same
  on every window and in-sample scores can be compared with out-of-sample ones.
- a run is feasible when it succeeded, its score is defined and every constraint holds on its own metrics (the
  spec's ``min_fill_events`` is one of them).
- a candidate (base config + parameter set) is feasible only if every one of its runs is: "two-sided ≥ 95 %"
  should hold in each window, not on average. It is ranked by a noise-aware objective,
  ``score_mean − rank_penalty_se · score_se``, where ``score_se`` is the standard error of the mean over its runs
  (every dataset and window; 0 with a single run, which has no spread to measure): a candidate whose mean comes
  from one lucky window ranks below a steady one with a slightly lower mean. A top candidate with fewer than 2
  scored runs is no winner (see :func:`choose_winner`).
- candidates whose objectives are equal (to rounding) are tied: the leaderboard orders them by config and
  parameters (never by the order rows were read) and says so in ``tied``; a tie at the top, or no feasible
  candidate, means there is no winner, and :func:`choose_winner` says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mm_strategy.research.metrics import METRIC_ALIASES
from mm_strategy.research.runner import PARAM_PREFIX
from mm_strategy.research.runner import STATUS_OK
from mm_strategy.research.spec import SpecError
from mm_strategy.research.spec import SweepSpec

CANDIDATE_KEYS = ["config", "params_id"]
TIE_ORDER = ["config", "params_json"]  # how equal candidates are listed: by what they are, reproducibly
# Scores equal to this tolerance are ties. Absolute, in score units (USD for net_pnl): two candidates with the same
# fills differ by fee rounding only (review session 9, window 3: the same 4 fills, spread capture and inventory,
# fees $0.000005 apart, decided the fold), up to ~1e-6 USD a fill; 1e-4 covers 100 such fills and is far below
# any PnL difference worth choosing on.
TIE_RTOL = 1e-9
TIE_ATOL = 1e-4
OBJECTIVE_DECIMALS = 12  # digits below this are float noise: rounded off so mean − SE of [x, 0, 0, 0, 0] reads 0
MIN_SCORED_RUNS = 2  # a winner's standard error needs two runs; one run's score may be its luck
TIE_SHOWN = 3  # tied candidates named in the no-winner message
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


def leaderboard(scored: pd.DataFrame, rank_penalty_se: float) -> pd.DataFrame:
    """One row per candidate: feasible ones first, then by objective, ties by config and parameters; ``rank``
    starts at 1 and ``tied`` counts the candidates sharing the row's objective (1: none)."""
    if scored.empty:
        return pd.DataFrame()
    param_columns = [c for c in scored.columns if c.startswith(PARAM_PREFIX)]
    groups = scored.groupby(CANDIDATE_KEYS, sort=False, dropna=False)
    board = groups.agg(
        runs=("run_id", "size"),
        failed=("ok", lambda ok: int((~ok).sum())),
        feasible_runs=("feasible", "sum"),
        score_mean=("score", "mean"),
        score_std=("score", "std"),
        scored_runs=("score", "count"),
        score_min=("score", "min"),
        params_json=("params_json", "first"),
        **{column: (column, "first") for column in param_columns},
    )
    board["score_se"] = board.pop("score_std") / np.sqrt(board["scored_runs"])
    objective = board["score_mean"] - rank_penalty_se * board["score_se"].fillna(0.0)
    # mean − SE of [x, 0, 0, 0, 0] is exactly 0, computed as ±1e-17: rounded at the tie tolerance so it reads as 0
    board["objective"] = objective.round(OBJECTIVE_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
    for name in BOARD_METRICS:
        column = METRIC_ALIASES[name]
        board[name] = groups[column].mean() if column in scored.columns else np.nan
    board["feasible"] = (board["feasible_runs"] == board["runs"]) & board["score_mean"].notna()
    board = board.reset_index().sort_values(["feasible", "objective"], ascending=False, na_position="last")
    board["tie_group"] = _tie_groups(board)
    # within a tie, by config and parameters: not by rounding noise in the objective, nor by the order rows were read
    board = board.sort_values(["tie_group", *TIE_ORDER], kind="stable").reset_index(drop=True)
    board["tied"] = board.groupby("tie_group")["tie_group"].transform("size")
    board.insert(0, "rank", np.arange(1, len(board) + 1))
    return board.drop(columns="tie_group")


def same_score(values: pd.Series, score: float) -> pd.Series:
    """Which ``values`` equal ``score`` to rounding (NaN equals nothing)."""
    return pd.Series(np.isclose(values.astype(float), score, rtol=TIE_RTOL, atol=TIE_ATOL), index=values.index)


def _tie_groups(board: pd.DataFrame) -> np.ndarray:
    """Numbers the runs of equal feasibility and objective (to rounding) down the sorted board: 1, 1, 2, 3, 3, ...

    Each group is the candidates equal to its first (best) one, as ``same_score`` compares a walk-forward step's
    candidates with its best: compared with its neighbour instead, 1.0, 0.99992 and 0.99984 chained into one tie
    though its ends are 1.6e-4 apart, and the leaderboard and the walk-forward table could disagree (review)."""
    objective, feasible = board["objective"].to_numpy(float), board["feasible"].to_numpy(bool)
    groups = np.empty(len(board), dtype=np.int64)
    group, first = 0, 0
    for k in range(len(board)):
        if k == 0 or feasible[k] != feasible[first] or not np.isclose(
            objective[k], objective[first], rtol=TIE_RTOL, atol=TIE_ATOL
        ):
            group, first = group + 1, k
        groups[k] = group
    return groups


@dataclass(frozen=True, slots=True)
class WinnerChoice:
    """The winning candidate's leaderboard row, or None with ``reason`` saying why there is none."""

    row: pd.Series | None
    reason: str


def choose_winner(board: pd.DataFrame, scored: pd.DataFrame, spec: SweepSpec) -> WinnerChoice:
    """The top candidate when it is feasible, not tied and scored on at least ``MIN_SCORED_RUNS`` runs; otherwise
    no winner, and why.

    One run has no spread to measure, so its objective is its score with no noise penalty (the review's Binance
    sweep of 6 candidates once each wrote a winner at $1.77 whose per-minute PnL gave ±$1.9, with #2 at $1.30).
    A standard error from the run's own per-minute PnL was the alternative; it was not taken: 5–10 minutes of a
    run give 5–10 autocorrelated points (inventory carries over), the resulting SE is itself noise, and it would
    rank candidates on two different kinds of error. More windows (``walk_forward``) or datasets give the real one.
    """
    if board.empty:
        return WinnerChoice(None, "no candidate qualifies: the sweep has no runs")
    top = board.iloc[0]
    if not bool(top["feasible"]):
        return WinnerChoice(None, f"no candidate qualifies: none met every constraint in every run ({_breaches(scored, spec)})")
    if int(top["tied"]) > 1:
        tied = board.head(int(top["tied"]))
        names = "; ".join(tied["params_json"].head(TIE_SHOWN)) + ("; ..." if len(tied) > TIE_SHOWN else "")
        return WinnerChoice(None, f"no winner: the top {len(tied)} candidates tie at objective {top['objective']:.6g} "
                                  f"({names}); the runs cannot tell them apart")
    if int(top["scored_runs"]) < MIN_SCORED_RUNS:
        return WinnerChoice(None, f"no winner: the top candidate ({top['params_json']}, objective "
                                  f"{top['objective']:.6g}) has {int(top['scored_runs'])} scored run(s), so its "
                                  f"standard error is unknown and its lead may be one run's luck; score it on "
                                  f"{MIN_SCORED_RUNS} or more windows (walk_forward) or datasets")
    return WinnerChoice(top, f"rank 1 of {len(board)}: objective {top['objective']:.6g} (mean {top['score_mean']:.6g}, "
                             f"standard error {_fmt(top['score_se'])} over {int(top['runs'])} run(s))")


def _breaches(scored: pd.DataFrame, spec: SweepSpec) -> str:
    """How many runs failed, and how many broke each constraint (a run can break several)."""
    ok = scored[scored["ok"]]
    parts = [f"{int((~scored['ok']).sum())} of {len(scored)} runs failed"]
    parts += [f"{c.text}: broken by {int((~c.holds(_numeric(ok, c.column))).sum())} of {len(ok)} successful runs"
              for c in spec.constraints]
    return "; ".join(parts)


def _fmt(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.4g}"


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce")
