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
from mm_strategy.research.scoring import leaderboard
from mm_strategy.research.scoring import score_runs
from mm_strategy.research.scoring import winner
from mm_strategy.research.spec import SpecError
from mm_strategy.research.spec import load_spec
from mm_strategy.research.spec import parse_spec
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


def _results(rows):
    """Result rows with the columns the runner writes (values chosen to make the selection visible)."""
    frame = pd.DataFrame(rows)
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

    board = leaderboard(scored)
    # A: feasible in every run (mean 0.433); B and C are not (B broke the constraint, C failed once)
    assert board["params_id"].tolist()[0] == "A" and board["feasible"].tolist() == [True, False, False]
    assert board["score_mean"].iloc[0] == pytest.approx((1.0 + 0.2 + 0.1) / 3)
    assert board.set_index("params_id")["failed"].to_dict() == {"A": 0, "B": 0, "C": 1}
    assert winner(board)["params_id"] == "A"


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
    board = leaderboard(scored)
    assert board["params_id"].tolist() == ["A", "B"] and not board["feasible"].any()
    assert winner(board) is None


def test_ranking_by_a_metric_no_run_reports_fails_naming_it():
    spec = _spec(rank="pnl.nett")
    rows = [{"params_id": "A", "window": 0, "status": "ok", "pnl.net": 1.0}]
    with pytest.raises(ValueError, match=r"no run reports pnl\.nett"):
        score_runs(_results(rows), spec)
