"""Sweep specs, parameter paths, expansion, windows and ranking: everything decided before or after the backtests.

Bad input must fail before any backtest starts, naming the field; these tests never run a backtest.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

import run_sweep
from mm_strategy.research.expand import parameter_sets
from mm_strategy.research.overrides import OverrideError
from mm_strategy.research.overrides import apply_overrides
from mm_strategy.research.plan import plan_sweep
from mm_strategy.research.provenance import catalog_fingerprint
from mm_strategy.research.provenance import code_version
from mm_strategy.research.provenance import stale_fields
from mm_strategy.research.scoring import choose_winner
from mm_strategy.research.scoring import leaderboard
from mm_strategy.research.scoring import score_runs
from mm_strategy.research.spec import SpecError
from mm_strategy.research.spec import load_spec
from mm_strategy.research.spec import parse_spec
from mm_strategy.research.walkforward import ALL_TIED
from mm_strategy.research.walkforward import OOS_FAILED
from mm_strategy.research.walkforward import summary
from mm_strategy.research.walkforward import walk_forward_table
from tests.sweep_support import BASE_CONFIG
from tests.sweep_support import CHECKPOINT_S
from tests.sweep_support import build_catalog
from tests.sweep_support import write_spec


@pytest.fixture(scope="module")
def catalog(hl_captures, tmp_path_factory):
    return build_catalog(hl_captures, tmp_path_factory.mktemp("sweep_catalog"))


@pytest.fixture
def base_document():
    return json.loads(BASE_CONFIG.read_text())


def _spec(**fields):
    raw = {"name": "t", "configs": [str(BASE_CONFIG)], "datasets": [{"catalog": "unused"}], **fields}
    return parse_spec(raw, BASE_CONFIG)


# --- dotted paths into the config document -------------------------------------------------------------------


def test_override_sets_nested_fields_and_leaves_the_base_untouched(base_document):
    before = json.dumps(base_document, sort_keys=True)
    result = apply_overrides(base_document, {"strategy.config.num_levels": 5, "backtest.latency_ms": 10.0})
    assert result["strategy"]["config"]["num_levels"] == 5
    assert result["backtest"]["latency_ms"] == 10.0
    assert json.dumps(base_document, sort_keys=True) == before


def test_override_reaches_an_actor_by_class_name_or_index(base_document):
    index = next(i for i, a in enumerate(base_document["actors"]) if a["actor_path"].endswith(":VolatilityActor"))
    by_name = apply_overrides(base_document, {"actors.VolatilityActor.config.publish_interval_ms": 500})
    by_index = apply_overrides(base_document, {f"actors.{index}.config.publish_interval_ms": 500})
    assert by_name == by_index
    assert by_name["actors"][index]["config"]["publish_interval_ms"] == 500


def test_override_that_cannot_be_followed_names_the_path(base_document):
    with pytest.raises(OverrideError, match=r"actors\.NoSuchActor\.config\.x.*no element 'NoSuchActor'.*KappaActor"):
        apply_overrides(base_document, {"actors.NoSuchActor.config.x": 1})
    with pytest.raises(OverrideError, match=r"strategy\.config\.num_levels is a int"):
        apply_overrides(base_document, {"strategy.config.num_levels.x": 1})
    with pytest.raises(OverrideError, match=r"actors has \d+ elements, no index 99"):
        apply_overrides(base_document, {"actors.99.config.x": 1})


def test_live_only_paths_are_refused_naming_the_path(base_document, tmp_path, catalog):
    for path in ("venue.live.environment", "live", "live.reconcile_s"):
        with pytest.raises(OverrideError, match=rf"parameter path '{path}': .*live-only"):
            apply_overrides(base_document, {path: 1})
    assert apply_overrides(base_document, {"venue.name": base_document["venue"]["name"]}) == base_document
    live_path = "venue.live.environment"
    swept = load_spec(write_spec(tmp_path / "p.json", catalog, parameters={live_path: ["a", "b"]}))
    with pytest.raises(SpecError, match=rf"parameters\.{live_path}: .*live-only"):
        plan_sweep(swept)
    fixed = load_spec(write_spec(tmp_path / "f.json", catalog, parameters={"live.reconcile_s": 5}))
    with pytest.raises(SpecError, match=r"parameters\.live\.reconcile_s: .*live-only"):
        plan_sweep(fixed)
    in_dataset = load_spec(write_spec(tmp_path / "d.json", catalog,
                                      datasets=[{"catalog": str(catalog), "overrides": {live_path: "x"}}]))
    with pytest.raises(SpecError, match=r"datasets\[0\]\.overrides: .*venue\.live\.environment.*live-only"):
        plan_sweep(in_dataset)


def test_state_files_are_refused_in_sweeps_naming_the_field(tmp_path, catalog):
    """Reviewer finding: with a kill-switch state_path or an actor's state_dir set, each run restored the state the
    run before it wrote (κ learned on a later window, a latched halt) and the results depended on run order."""
    for path, shown in (
        ("strategy.config.state_path", r"\$\.strategy\.config\.state_path"),
        ("actors.KappaActor.config.state_dir", r"\$\.actors\[\d\]\.config\.state_dir"),
    ):
        spec = load_spec(write_spec(tmp_path / "s.json", catalog, parameters={path: str(tmp_path / "state")}))
        with pytest.raises(SpecError, match=rf"{shown}: live only \(set \$\.live\.state_dir"):
            plan_sweep(spec)


# --- expansion -------------------------------------------------------------------------------------------------


def test_lists_grids_and_samples_combine_reproducibly():
    fields = {
        "parameters": {
            "strategy.config.num_levels": [2, 3],
            "strategy.config.level_spacing_bps": {"start": 0.5, "stop": 1.5, "num": 3},
            "backtest.latency_ms": {"low": 10, "high": 100, "log": True},
        },
        "sampling": {"method": "lhs", "samples": 4, "seed": 7},
    }
    sets = parameter_sets(_spec(**fields))
    assert len(sets) == 2 * 3 * 4
    assert {s["strategy.config.level_spacing_bps"] for s in sets} == {0.5, 1.0, 1.5}
    latencies = sorted({s["backtest.latency_ms"] for s in sets})
    assert len(latencies) == 4 and 10 <= latencies[0] and latencies[-1] <= 100
    assert parameter_sets(_spec(**fields)) == sets  # same seed, same points
    fields["sampling"]["seed"] = 8
    assert {s["backtest.latency_ms"] for s in parameter_sets(_spec(**fields))} != set(latencies)


def test_latin_hypercube_hits_every_stratum_of_every_parameter_once():
    n = 10
    spec = _spec(
        parameters={"backtest.latency_ms": {"low": 0, "high": 1}, "strategy.config.level_spacing_bps": {"low": 0, "high": 1}},
        sampling={"method": "lhs", "samples": n, "seed": 3},
    )
    sets = parameter_sets(spec)
    for path in ("backtest.latency_ms", "strategy.config.level_spacing_bps"):
        strata = sorted(int(s[path] * n) for s in sets)
        assert strata == list(range(n))


def test_integer_samples_are_ints_and_duplicates_collapse():
    spec = _spec(parameters={"strategy.config.num_levels": {"low": 1, "high": 2, "integer": True}},
                 sampling={"method": "random", "samples": 20, "seed": 1})
    values = [s["strategy.config.num_levels"] for s in parameter_sets(spec)]
    assert sorted(values) == [1, 2] and all(isinstance(v, int) for v in values)


# --- bad input fails before any backtest, naming the field ------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"parameters": {"strategy.config.num_levels": []}}, r"parameters\.strategy\.config\.num_levels: an empty list.*zero runs"),
        ({"datasets": []}, r"datasets: no dataset.*zero runs"),
        ({"parameters": {"backtest.latency_ms": {"low": 1, "high": 2}}, "sampling": {"method": "lhs", "samples": 0, "seed": 1}},
         r"sampling\.samples: 0.*zero runs"),
        ({"parameters": {"backtest.latency_ms": {"low": 1, "high": 2}}}, r"sampling: required.*backtest\.latency_ms"),
        ({"parameters": {"backtest.latency_ms": {"low": 2, "high": 1}}, "sampling": {"method": "lhs", "samples": 2, "seed": 1}},
         r"parameters\.backtest\.latency_ms: low must be < high"),
        ({"parameters": {"strategy.config.level_spacing_bps": {"start": 1, "stop": 2}}},
         r"parameters\.strategy\.config\.level_spacing_bps: expected"),
        ({"rank": "net_profit"}, r"rank: unknown metric 'net_profit'"),
        ({"rank": {"net_pnl": 1.0, "markout_5s_bps": 0}}, r"rank\.markout_5s_bps: weight must be finite and non-zero"),
        ({"constraints": ["two_sided_frac >> 0.9"]}, r"constraints\[0\]: 'two_sided_frac >> 0.9' is not"),
        ({"constraints": ["uptime >= 0.9"]}, r"constraints\[0\]: unknown metric 'uptime'"),
        ({"walk_forward": {"window_s": 0}}, r"walk_forward\.window_s: must be > 0"),
        ({"name": "a b"}, r"name: 'a b'"),
        ({"colour": "red"}, r"unknown field `colour`"),
    ],
)
def test_invalid_spec_names_the_field(fields, message):
    with pytest.raises(SpecError, match=message):
        _spec(**fields)


def test_unknown_parameter_path_fails_naming_it(tmp_path, catalog):
    spec = load_spec(write_spec(tmp_path / "s.json", catalog, parameters={"strategy.config.num_levelz": [3]}))
    with pytest.raises(SpecError, match=r"parameters\.strategy\.config\.num_levelz: .*num_levelz"):
        plan_sweep(spec)


def test_invalid_parameter_value_fails_naming_the_field(tmp_path, catalog):
    # the first value is valid, so this is caught when the full grid is validated, before any backtest
    spec = load_spec(write_spec(tmp_path / "s.json", catalog, parameters={"strategy.config.num_levels": [3, 0]}))
    with pytest.raises(SpecError, match=r"parameters: .*\"strategy\.config\.num_levels\": 0.*num_levels"):
        plan_sweep(spec)


def test_missing_catalog_names_the_path(tmp_path):
    missing = tmp_path / "no_such_catalog"
    spec = load_spec(write_spec(tmp_path / "s.json", missing))
    with pytest.raises(SpecError, match=rf"datasets\[0\]\.catalog: {missing}: no such catalog"):
        plan_sweep(spec)


def test_missing_spec_and_base_config_name_their_paths(tmp_path, catalog):
    with pytest.raises(SpecError, match=r"nope\.yaml: spec file not found"):
        load_spec(tmp_path / "nope.yaml")
    spec = load_spec(write_spec(tmp_path / "s.json", catalog, configs=[str(tmp_path / "gone.json")]))
    with pytest.raises(SpecError, match=r"configs\[0\]: .*gone\.json: config file not found"):
        plan_sweep(spec)


def test_walk_forward_without_two_windows_names_the_window(tmp_path, catalog):
    spec = load_spec(write_spec(tmp_path / "s.json", catalog, walk_forward={"window_s": 400}))
    with pytest.raises(SpecError, match=r"walk_forward\.window_s: 0 window\(s\) of 400 s.*--checkpoint-s"):
        plan_sweep(spec)


def test_ray_flag_without_ray_fails_clearly_before_any_run(tmp_path, catalog, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError, as without the extra
    spec = write_spec(tmp_path / "s.json", catalog)
    out = tmp_path / "out"
    assert run_sweep.main([str(spec), "--ray", "auto", "--out", str(out)]) == 2
    assert "pip install '.[ray]'" in capsys.readouterr().err
    assert not out.exists()


def test_yaml_spec_loads_like_json(tmp_path, catalog):
    text = f"""
name: yaml_test
configs: [{BASE_CONFIG}]
parameters:
  strategy.config.num_levels: [2, 3]
datasets:
  - catalog: {catalog}
rank: {{net_pnl: 1.0, markout_5s_bps: 0.1}}
constraints: ["two_sided_frac >= 0.5"]
"""
    (tmp_path / "s.yaml").write_text(text)
    spec = load_spec(tmp_path / "s.yaml")
    assert spec.rank_weights == {"pnl.net": 1.0, "markouts.by_group.all.horizons.5s.markout_bps": 0.1}
    assert spec.constraints[0].column == "quoting.two_sided_frac"
    assert len(plan_sweep(spec).tasks) == 2


# --- windows on the real capture -----------------------------------------------------------------------------


def test_walk_forward_windows_start_on_checkpoints_and_skip_recorder_gaps(tmp_path, catalog):
    spec = load_spec(write_spec(tmp_path / "s.json", catalog, walk_forward={"window_s": 45}))
    windows = plan_sweep(spec).windows["hl_btc"]
    first = windows[0].start_ns
    offsets_s = [round((w.start_ns - first) / 1e9, 1) for w in windows]
    # three windows before the 250 s gap at 134.6 s, none across it or the 51 s gap at 388.7 s, two after
    assert offsets_s == [0.0, 46.7, 93.0, 439.4, 486.0]
    assert all(w.duration_s == pytest.approx(45.0) for w in windows)
    assert all(a.end_ns < b.start_ns for a, b in zip(windows, windows[1:]))  # no shared data
    # each window starts on a full-book checkpoint, at most one checkpoint interval after the previous end
    assert all((b.start_ns - a.end_ns) / 1e9 <= CHECKPOINT_S + 2 for a, b in zip(windows[:2], windows[1:3]))


def test_single_window_is_the_whole_catalog(tmp_path, catalog):
    plan = plan_sweep(load_spec(write_spec(tmp_path / "s.json", catalog)))
    (window,) = plan.windows["hl_btc"]
    assert window.duration_s == pytest.approx(542.2, abs=0.1)
    assert len(plan.tasks) == 1 and plan.tasks[0].catalog == str(catalog.resolve())


def test_every_base_config_is_a_candidate_of_its_own(tmp_path, catalog, base_document):
    variant = tmp_path / "variant.json"
    variant.write_text(json.dumps(apply_overrides(base_document, {"backtest.latency_ms": 100.0})))
    twin = tmp_path / "twin.json"
    twin.write_text(json.dumps(base_document))  # the same document under another name: still its own runs
    spec = load_spec(write_spec(tmp_path / "s.json", catalog, configs=[str(BASE_CONFIG), str(variant), str(twin)],
                                parameters={"strategy.config.num_levels": [2, 3]}))
    plan = plan_sweep(spec)
    assert len(plan.tasks) == 6 and len({t.run_id for t in plan.tasks}) == 6
    assert {t.config for t in plan.tasks} == {str(BASE_CONFIG), str(variant), str(twin)}
    assert {t.document["backtest"]["latency_ms"] for t in plan.tasks if t.config == str(variant)} == {100.0}


def test_run_ids_depend_on_inputs_only(tmp_path, catalog):
    spec = load_spec(write_spec(tmp_path / "s.json", catalog, parameters={"strategy.config.num_levels": [2, 3]}))
    first, again = plan_sweep(spec), plan_sweep(spec)
    assert [t.run_id for t in first.tasks] == [t.run_id for t in again.tasks]
    assert len({t.run_id for t in first.tasks}) == 2


# --- ranking and walk-forward selection on a results table ------------------------------------------------------


ENOUGH_FILLS = 20.0  # fill events of a run that does not set its own: above the default min_fill_events


def _results(rows):
    """Result rows with the columns the runner writes (values chosen to make the selection visible)."""
    frame = pd.DataFrame(rows)
    frame["fills.fill_events"] = frame["fills.fill_events"] if "fills.fill_events" in frame else ENOUGH_FILLS
    frame["run_id"] = [f"r{i}" for i in range(len(frame))]
    frame["config"] = "c.json"
    frame["params_json"] = frame["params_id"].map(lambda p: json.dumps({"x": p}))
    frame["param.x"] = frame["params_id"]
    frame["dataset"] = "d"
    frame["window_start"] = frame["window"].map(lambda w: f"t{w}")
    return frame


def test_constraints_and_walk_forward_choose_on_k_and_score_on_k_plus_1():
    spec = _spec(rank="net_pnl", constraints=["two_sided_frac >= 0.9"])
    rows = [
        # window 0: B earns more but breaks the constraint, so A is chosen
        {"params_id": "A", "window": 0, "status": "ok", "pnl.net": 1.0, "quoting.two_sided_frac": 0.95},
        {"params_id": "B", "window": 0, "status": "ok", "pnl.net": 5.0, "quoting.two_sided_frac": 0.50},
        {"params_id": "C", "window": 0, "status": "ok", "pnl.net": 0.5, "quoting.two_sided_frac": 0.99},
        # window 1: A is second of three out of sample; C is best in-sample here
        {"params_id": "A", "window": 1, "status": "ok", "pnl.net": 0.2, "quoting.two_sided_frac": 0.95},
        {"params_id": "B", "window": 1, "status": "ok", "pnl.net": 3.0, "quoting.two_sided_frac": 0.95},
        {"params_id": "C", "window": 1, "status": "ok", "pnl.net": 4.0, "quoting.two_sided_frac": 0.99},
        # window 2: C failed, so its out-of-sample score is missing
        {"params_id": "A", "window": 2, "status": "ok", "pnl.net": 0.1, "quoting.two_sided_frac": 0.95},
        {"params_id": "B", "window": 2, "status": "ok", "pnl.net": 0.3, "quoting.two_sided_frac": 0.95},
        {"params_id": "C", "window": 2, "status": "error", "pnl.net": np.nan, "quoting.two_sided_frac": np.nan},
    ]
    scored = score_runs(_results(rows), spec)
    assert scored["feasible"].tolist() == [True, False, True, True, True, True, True, True, False]

    walk = walk_forward_table(scored)
    assert walk["params_id"].tolist() == ["A", "C"]
    assert walk["in_sample_score"].tolist() == [1.0, 4.0]
    assert walk["out_of_sample_score"].iloc[0] == 0.2 and walk["oos_rank"].iloc[0] == 3
    assert walk["oos_candidates"].tolist() == [3, 2]
    assert walk["oos_best_score"].iloc[0] == 4.0
    assert walk["in_sample_tied"].tolist() == [1, 1]
    assert np.isnan(walk["out_of_sample_score"].iloc[1])  # C failed on window 2

    board = leaderboard(scored, spec.rank_penalty_se)
    # A: feasible in every run (mean 0.433); B and C are not (B broke the constraint, C failed once)
    assert board["params_id"].tolist()[0] == "A" and board["feasible"].tolist() == [True, False, False]
    assert board["score_mean"].iloc[0] == pytest.approx((1.0 + 0.2 + 0.1) / 3)
    assert board.set_index("params_id")["failed"].to_dict() == {"A": 0, "B": 0, "C": 1}
    assert choose_winner(board, scored, spec).row["params_id"] == "A"


def test_a_choice_among_tied_candidates_ranks_like_chance_out_of_sample():
    spec = _spec(rank="net_pnl")
    rows = [{"params_id": p, "window": w, "status": "ok", "pnl.net": 0.0} for w in (0, 1) for p in "ABCD"]
    walk = walk_forward_table(score_runs(_results(rows), spec))
    assert walk["in_sample_tied"].tolist() == [4]
    assert walk["oos_rank"].tolist() == [2.5]  # the middle of 4 equal places, not "best"


def test_weighted_rank_and_no_feasible_winner():
    spec = _spec(rank={"net_pnl": 1.0, "max_drawdown": -2.0}, constraints=["fills_per_hour >= 100"])
    rows = [
        {"params_id": "A", "window": 0, "status": "ok", "pnl.net": 1.0, "drawdown.max_abs": 0.5, "fills.fills_per_hour": 10.0},
        {"params_id": "B", "window": 0, "status": "ok", "pnl.net": 2.0, "drawdown.max_abs": 2.0, "fills.fills_per_hour": 50.0},
    ]
    scored = score_runs(_results(rows), spec)
    assert scored["score"].tolist() == [0.0, -2.0]
    board = leaderboard(scored, spec.rank_penalty_se)
    assert board["params_id"].tolist() == ["A", "B"] and not board["feasible"].any()
    choice = choose_winner(board, scored, spec)
    assert choice.row is None
    assert choice.reason.startswith("no candidate qualifies") and "fills_per_hour >= 100: broken by 2 of 2" in choice.reason


def test_ranking_by_a_metric_no_run_reports_fails_naming_it():
    spec = _spec(rank="pnl.nett")
    rows = [{"params_id": "A", "window": 0, "status": "ok", "pnl.net": 1.0}]
    with pytest.raises(ValueError, match=r"no run reports pnl\.nett"):
        score_runs(_results(rows), spec)


# --- noise: minimum fills, the noise-aware objective, ties, zero-information walk-forward steps -------------------


def test_every_run_needs_min_fill_events_by_default():
    spec = _spec(rank="net_pnl")
    assert [c.text for c in spec.constraints] == ["fill_events >= 10 (min_fill_events)"]
    rows = [{"params_id": p, "window": 0, "status": "ok", "pnl.net": 1.0, "fills.fill_events": n}
            for p, n in (("A", 9.0), ("B", 10.0))]
    assert score_runs(_results(rows), spec)["feasible"].tolist() == [False, True]
    off = _spec(rank="net_pnl", min_fill_events=0)
    assert off.constraints == () and score_runs(_results(rows), off)["feasible"].all()
    with pytest.raises(SpecError, match=r"min_fill_events: must be >= 0"):
        _spec(min_fill_events=-1)


def test_a_mean_made_of_one_lucky_window_ranks_below_a_steady_one():
    """The example sweep's pattern: nothing in 4 windows, one window of luck."""
    spec = _spec(rank="net_pnl")
    lucky, steady = [0.0, 0.0, 0.0, 0.0, 0.57], [0.10, 0.11, 0.09, 0.10, 0.10]
    rows = [{"params_id": p, "window": w, "status": "ok", "pnl.net": v}
            for p, values in (("lucky", lucky), ("steady", steady)) for w, v in enumerate(values)]
    scored = score_runs(_results(rows), spec)
    board = leaderboard(scored, spec.rank_penalty_se).set_index("params_id")
    assert board.loc["lucky", "score_mean"] > board.loc["steady", "score_mean"]
    assert board.loc["lucky", "score_se"] == pytest.approx(np.std(lucky, ddof=1) / np.sqrt(5))
    assert board.loc["steady", "rank"] == 1 and board.loc["lucky", "objective"] == pytest.approx(0.0, abs=1e-12)
    assert choose_winner(leaderboard(scored, spec.rank_penalty_se), scored, spec).row["params_id"] == "steady"
    plain = leaderboard(scored, 0.0)  # rank_penalty_se: 0 ranks by the mean alone
    assert plain["params_id"].iloc[0] == "lucky"


def test_tied_candidates_are_flagged_listed_by_parameters_and_give_no_winner():
    spec = _spec(rank="net_pnl")
    rows = [{"params_id": p, "window": w, "status": "ok", "pnl.net": v}
            for p, v in (("C", 0.5), ("B", 0.3), ("A", 0.3)) for w in (0, 1)]
    rows[2]["pnl.net"] = 0.3 + 1e-15  # B above A by float rounding only: still a tie, listed A before B
    frames = [_results(rows), _results(rows[::-1])]  # the order rows are read in must not matter
    boards = [leaderboard(score_runs(f, spec), spec.rank_penalty_se) for f in frames]
    for board in boards:
        assert board["params_id"].tolist() == ["C", "A", "B"] and board["tied"].tolist() == [1, 2, 2]
    top_tie = [{"params_id": p, "window": w, "status": "ok", "pnl.net": 0.5} for p in "XY" for w in (0, 1)]
    scored = score_runs(_results(top_tie), spec)
    choice = choose_winner(leaderboard(scored, spec.rank_penalty_se), scored, spec)
    assert choice.row is None
    assert choice.reason.startswith("no winner: the top 2 candidates tie at objective 0.5")
    assert '{"x": "X"}' in choice.reason and '{"x": "Y"}' in choice.reason


def test_walk_forward_summary_leaves_out_steps_that_measure_nothing_and_uses_the_same_steps_for_both_means():
    spec = _spec(rank="net_pnl")
    scores = {
        0: {"A": 0.0, "B": 0.0, "C": 0.0},  # every candidate tied: a choice by lot
        1: {"A": 2.0, "B": 1.0, "C": 0.0},  # chooses A ...
        2: {"A": None, "B": 1.0, "C": 3.0},  # ... which fails here; C is chosen
        3: {"A": 0.5, "B": 0.4, "C": 1.0},
    }
    rows = [{"params_id": p, "window": w, "status": "ok" if v is not None else "error",
             "pnl.net": np.nan if v is None else v} for w, by in scores.items() for p, v in by.items()]
    walk = walk_forward_table(score_runs(_results(rows), spec))
    assert walk["left_out"].tolist() == [ALL_TIED, OOS_FAILED, ""]
    assert walk["in_sample_tied"].tolist() == [3, 1, 1] and walk["in_sample_candidates"].tolist() == [3, 3, 2]
    s = summary(walk)
    assert s["steps"] == 1 and s["steps_total"] == 3 and s[ALL_TIED] == 1 and s[OOS_FAILED] == 1
    assert s["in_sample_score_mean"] == 3.0 and s["out_of_sample_score_mean"] == 1.0  # step 2 → 3 only


def test_walk_forward_choice_among_equal_scores_does_not_depend_on_row_order():
    spec = _spec(rank="net_pnl")
    rows = [{"params_id": p, "window": w, "status": "ok", "pnl.net": v}
            for w in (0, 1) for p, v in (("B", 1.0 + 1e-15), ("A", 1.0), ("C", 0.0))]
    chosen = {tuple(walk_forward_table(score_runs(_results(r), spec))["params_id"]) for r in (rows, rows[::-1])}
    assert chosen == {("A",)}


# --- provenance: what the run id cannot see --------------------------------------------------------------------


def _git(repo, *args):
    import subprocess

    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_code_version_is_the_commit_plus_a_hash_of_uncommitted_changes(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "mm_strategy").mkdir(parents=True)
    source = repo / "mm_strategy" / "a.py"
    source.write_text("x = 1\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c")
    clean = code_version(repo)
    assert len(clean) == 12 and "+" not in clean
    source.write_text("x = 2\n")
    dirty = code_version(repo)
    source.write_text("x = 3\n")
    assert dirty.startswith(f"{clean}+dirty.") and code_version(repo) not in (clean, dirty)
    source.write_text("x = 1\n")
    (repo / "mm_strategy" / "new.py").write_text("y = 1\n")  # untracked source counts too
    assert code_version(repo).startswith(f"{clean}+dirty.")
    monkeypatch.setenv("PATH", str(tmp_path / "no_git_here"))  # no git at all: a hash of the sources
    without_git = code_version(repo)
    assert without_git.startswith("src.")
    source.write_text("x = 4\n")
    assert code_version(repo) != without_git


def test_catalog_fingerprint_follows_the_data_files(tmp_path):
    import os

    data = tmp_path / "cat" / "data" / "x"
    data.mkdir(parents=True)
    part = data / "part-0.parquet"
    part.write_bytes(b"1")
    first = catalog_fingerprint(tmp_path / "cat")
    (tmp_path / "cat" / ".built").write_text("")  # not a data file
    assert catalog_fingerprint(tmp_path / "cat") == first
    os.utime(part, ns=(1, 1))
    assert catalog_fingerprint(tmp_path / "cat") != first
    current = {"code_version": "a", "catalog_fingerprint": "f"}
    assert stale_fields(current, {"code_version": "a", "catalog_fingerprint": "f"}) == []
    assert stale_fields(current, {"code_version": "b", "catalog_fingerprint": "f"}) == ["code_version"]
    assert stale_fields(current, {"status": "ok"}) == ["code_version", "catalog_fingerprint"]  # an older row
