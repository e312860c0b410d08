"""No winner from one run's luck, and no choice decided by fee rounding (review of session 9, findings 2 and 4).

The results tables here are rows as the runner writes them, with the review's own figures; no backtest runs.
"""

from __future__ import annotations

import json

import pandas as pd

from mm_strategy.research.scoring import choose_winner
from mm_strategy.research.scoring import leaderboard
from mm_strategy.research.scoring import score_runs
from mm_strategy.research.spec import parse_spec
from mm_strategy.research.walkforward import ALL_TIED
from mm_strategy.research.walkforward import walk_forward_table
from tests.sweep_support import BASE_CONFIG


def _spec():
    raw = {"name": "t", "configs": [str(BASE_CONFIG)], "datasets": [{"catalog": "unused"}], "rank": "net_pnl",
           "min_fill_events": 0}
    return parse_spec(raw, BASE_CONFIG)


def _results(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["status"] = "ok"
    frame["run_id"] = [f"r{i}" for i in range(len(frame))]
    frame["config"] = "c.json"
    frame["params_json"] = frame["params_id"].map(lambda p: json.dumps({"x": p}))
    frame["dataset"] = "d"
    frame["window_start"] = frame["window"].map(lambda w: f"t{w}")
    return frame


def test_one_run_per_candidate_writes_no_winner_and_says_why():
    """The review's Binance sweep: 6 candidates once each, the top at $1.77 with #2 at $1.30."""
    nets = {"A": 1.76601, "B": 1.30, "C": 0.9, "D": 0.5, "E": 0.1, "F": -0.2}
    spec = _spec()
    scored = score_runs(_results([{"params_id": p, "window": 0, "pnl.net": v} for p, v in nets.items()]), spec)
    board = leaderboard(scored, spec.rank_penalty_se)
    assert board["params_id"].iloc[0] == "A" and board["scored_runs"].iloc[0] == 1
    choice = choose_winner(board, scored, spec)
    assert choice.row is None
    assert choice.reason.startswith("no winner: the top candidate") and "has 1 scored run(s)" in choice.reason
    two = score_runs(_results([{"params_id": p, "window": w, "pnl.net": v + 0.01 * w}
                               for p, v in nets.items() for w in (0, 1)]), spec)
    assert choose_winner(leaderboard(two, spec.rank_penalty_se), two, spec).row["params_id"] == "A"


def test_fee_rounding_does_not_decide_a_walk_forward_step_or_the_leaderboard():
    """Window 3 of the review: the same 4 fills, spread capture 1.165 and inventory −0.12; fees 5e-6 apart."""
    spread_capture, inventory = 1.165, -0.12
    fees = {"A": 0.500389, "B": 0.500394}
    rows = [{"params_id": p, "window": w, "pnl.net": spread_capture + inventory - fee}
            for w in (0, 1) for p, fee in fees.items()]
    spec = _spec()
    scored = score_runs(_results(rows), spec)
    walk = walk_forward_table(scored)
    assert walk["in_sample_tied"].tolist() == [2] and walk["left_out"].tolist() == [ALL_TIED]
    board = leaderboard(scored, spec.rank_penalty_se)
    assert board["tied"].tolist() == [2, 2]
    assert choose_winner(board, scored, spec).reason.startswith("no winner: the top 2 candidates tie")


def test_a_tie_is_the_candidates_equal_to_its_best_not_a_chain_of_neighbours():
    """1.0, 0.99992 and 0.99984: each within 1e-4 of its neighbour, but the ends 1.6e-4 apart. The walk-forward step
    ties the first two with the best (``same_score``), and so must the leaderboard."""
    rows = [{"params_id": p, "window": w, "pnl.net": net}
            for w in (0, 1) for p, net in (("A", 1.0), ("B", 0.99992), ("C", 0.99984))]
    spec = _spec()
    scored = score_runs(_results(rows), spec)
    assert walk_forward_table(scored)["in_sample_tied"].tolist() == [2]
    board = leaderboard(scored, spec.rank_penalty_se)
    assert board["params_id"].tolist() == ["A", "B", "C"] and board["tied"].tolist() == [2, 2, 1]
