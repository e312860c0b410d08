"""Sweeps that run: real backtests on the real 9-minute BTC capture, each in its own process.

A 2-candidate × 3-window walk-forward sweep (6 backtests of 45 s) is shared by most tests; the others run 1–3
backtests of their own. No timing is asserted (speed figures are in benchmarks/sweep_scaling.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import pandas as pd
import pytest

import run_backtest
import run_sweep as run_sweep_cli
from mm_strategy.node_config import load_venue_config
from mm_strategy.research.local_pool import run_local
from mm_strategy.research.overrides import apply_overrides
from mm_strategy.research.plan import plan_sweep
from mm_strategy.research.provenance import catalog_fingerprint
from mm_strategy.research.provenance import code_version
from mm_strategy.research.results import ResultsTable
from mm_strategy.research.spec import load_spec
from mm_strategy.research.sweep import run_sweep
from tests.sweep_support import BASE_CONFIG
from tests.sweep_support import FIRST_SEGMENT_END
from tests.sweep_support import build_catalog
from tests.sweep_support import write_spec

LEVELS = "strategy.config.num_levels"
RUN_COLUMNS = ["run_id", "params_id", "window", "dataset", "status", "run_wall_s", "peak_rss_mb", "pid", "iterations"]
METRIC_COLUMNS = [
    "pnl.net",
    "pnl.spread_capture",
    "pnl.reconciliation_error",
    "fills.count",
    "fills.fills_per_hour",
    "quoting.two_sided_frac",
    "markouts.by_group.all.horizons.5s.markout_bps",
    "pnl_per_min_sharpe",
]


@pytest.fixture(scope="module")
def catalog(hl_captures, tmp_path_factory):
    return build_catalog(hl_captures, tmp_path_factory.mktemp("sweep_catalog"))


@pytest.fixture(scope="module")
def walk_spec(catalog, tmp_path_factory):
    """The mechanics, not a trading choice: no trade reaches our quotes in these three windows (0 fills, PnL 0 for
    every candidate), so the minimum of fills is off and the rank is one that differs between the candidates
    without fills (fewer requests is better: 2 levels win every window. Fewer quote changes did too until the strategy
    amended its orders: both quote the same best prices in the first window now, 18 changes each)."""
    folder = tmp_path_factory.mktemp("walk_spec")
    return write_spec(
        folder / "walk.json",
        catalog,
        name="walk",
        parameters={LEVELS: [2, 3]},
        datasets=[{"catalog": str(catalog), "name": "hl_btc", "end": FIRST_SEGMENT_END}],
        walk_forward={"window_s": 45},
        rank={"requests.per_hour": -1.0},
        constraints=["two_sided_frac >= 0.1"],
        min_fill_events=0,
    )


@pytest.fixture(scope="module")
def swept(walk_spec, tmp_path_factory):
    return run_sweep(walk_spec, tmp_path_factory.mktemp("walk_out"), workers=2, progress=False)


def test_every_backtest_runs_in_its_own_process_and_lands_in_the_table(swept):
    assert swept.executed == 6 and swept.skipped == 0 and swept.failed == 0
    runs = ResultsTable(swept.out_dir).load()
    assert len(runs) == 6 and set(runs["status"]) == {"ok"}
    assert set(RUN_COLUMNS + METRIC_COLUMNS + [f"param.{LEVELS}"]) <= set(runs.columns)
    assert runs["pid"].nunique() == 6  # one fresh process per backtest
    assert sorted(runs[f"param.{LEVELS}"].unique()) == [2, 3]
    assert (runs["iterations"] > 1000).all()
    # the metrics are the session report's: the PnL split reconciles with each run's own engine account
    assert runs["pnl.reconciliation_error"].abs().max() < 1e-6
    split = runs["pnl.spread_capture"] + runs["pnl.inventory"] - runs["pnl.fees"] + runs["pnl.funding"]
    assert (runs["pnl.net"] - split).abs().max() < 1e-9


def test_walk_forward_chooses_on_each_window_and_scores_the_next(swept):
    walk, scored = swept.walk, swept.scored
    assert walk[["in_sample_window", "out_of_sample_window"]].values.tolist() == [[0, 1], [1, 2]]
    assert walk["in_sample_tied"].tolist() == [1, 1] and walk["left_out"].tolist() == ["", ""]  # both steps count
    for _, step in walk.iterrows():
        in_sample = scored[(scored["window"] == step["in_sample_window"]) & scored["feasible"]]
        best = in_sample.loc[in_sample["score"].idxmax()]
        assert step["params_id"] == best["params_id"] and step["in_sample_score"] == best["score"]
        same = scored[(scored["window"] == step["out_of_sample_window"]) & (scored["params_id"] == best["params_id"])]
        assert step["out_of_sample_score"] == same["score"].iloc[0]
    assert (swept.out_dir / "walk_forward.csv").exists() and (swept.out_dir / "leaderboard.csv").exists()


def test_winning_config_is_accepted_unchanged_by_run_backtest(swept, walk_spec, catalog, tmp_path):
    assert swept.best_config is not None and swept.verdict.startswith("rank 1 of 2")
    best = swept.board.iloc[0]
    assert best[f"param.{LEVELS}"] == 2 and best["tied"] == 1
    written = json.loads(swept.best_config.read_text())
    base = json.loads((walk_spec.parent / BASE_CONFIG.name).read_text())  # the config the spec swept
    assert written == apply_overrides(base, {LEVELS: int(best[f"param.{LEVELS}"])})  # nothing else changed
    assert load_venue_config(swept.best_config).strategy.config["num_levels"] == best[f"param.{LEVELS}"]
    out = tmp_path / "report"
    args = ["--config", str(swept.best_config), "--catalog", str(catalog), "--end", FIRST_SEGMENT_END, "--out", str(out)]
    assert run_backtest.main(args) == 0
    assert (out / "report.json").exists()


def test_report_page_has_every_section_and_opens_offline(swept):
    page = swept.report.read_text()
    for section in ("Sweep summary", "Leaderboard", "Score against each parameter", "Walk-forward: in-sample vs out-of-sample",
                    "Walk-forward table"):
        assert section in page
    assert "<script src=" not in page  # nothing fetched: the page opens offline
    assert page.count("* plotly.js v") == 1  # plotly.js inlined once, shared by every figure


def test_same_command_resumes_without_redoing_finished_runs(swept, walk_spec):
    again = run_sweep(walk_spec, swept.out_dir, workers=2, progress=False)
    assert again.executed == 0 and again.skipped == 6
    pd.testing.assert_frame_equal(again.board, swept.board)
    lost = next((swept.out_dir / "runs").glob("*.parquet"))
    lost.unlink()
    assert run_sweep(walk_spec, swept.out_dir, workers=2, progress=False).executed == 1


def test_interrupted_sweep_keeps_finished_rows_and_resumes(walk_spec, tmp_path):
    saved = []

    def interrupt_after_two(row):
        saved.append(row["run_id"])
        if len(saved) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(walk_spec, tmp_path, workers=2, progress=False, after_row=interrupt_after_two)
    table = ResultsTable(tmp_path)
    assert table.finished_ids() == set(saved)
    assert not [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")]  # no half-written rows
    resumed = run_sweep(walk_spec, tmp_path, workers=2, progress=False)
    assert resumed.executed == 4 and resumed.skipped == 2 and len(table.finished_ids()) == 6


def test_failed_and_crashed_runs_are_recorded_and_the_sweep_goes_on(catalog, tmp_path):
    window = {"catalog": str(catalog), "end": "2025-09-03T12:55:50"}
    spec = write_spec(
        tmp_path / "failing.json",
        catalog,
        datasets=[
            {**window, "name": "good"},
            # the node cannot be built: a Python error inside NautilusTrader, which returns no result
            {**window, "name": "no_strategy", "overrides": {"strategy.strategy_path": "mm_strategy.strategy:NoSuchStrategy"}},
            # the worker process dies outright (SIGABRT, as a native crash would)
            {**window, "name": "aborts", "overrides": {"strategy.strategy_path": "tests.sweep_support:AbortingMarketMaker"}},
        ],
    )
    outcome = run_sweep(spec, tmp_path / "out", workers=2, progress=False)
    runs = ResultsTable(tmp_path / "out").load().set_index("dataset")
    assert outcome.failed == 2
    assert runs.loc["good", "status"] == "ok"
    assert runs.loc["no_strategy", "status"] == "error"
    assert runs.loc["no_strategy", "error"].startswith("RuntimeError: backtest produced no result")
    assert "NoSuchStrategy" in runs.loc["no_strategy", "log_excerpt"]
    assert runs.loc["aborts", "error"].startswith("worker process died (exit code -6)")
    assert "Failed runs (2" in outcome.report.read_text()
    retried = run_sweep(spec, tmp_path / "out", workers=2, progress=False, retry_failed=True)
    assert retried.executed == 2 and retried.failed == 2  # only the failures ran again


def test_forked_worker_reproduces_a_spawned_interpreter_exactly(walk_spec):
    """The forkserver has imported NautilusTrader but never built a node: a child forked from it must give the
    same backtest as a freshly spawned interpreter."""
    task = plan_sweep(load_spec(walk_spec)).tasks[0]
    rows = {}
    for method in ("spawn", "forkserver"):
        collected = []
        run_local([dataclasses.replace(task)], 1, collected.append, start_method=method)
        rows[method] = collected[0]
    assert rows["spawn"]["status"] == rows["forkserver"]["status"] == "ok"
    measured = {"pid", "run_wall_s", "backtest_wall_s", "peak_rss_mb"}
    spawned, forked = (pd.Series({k: v for k, v in rows[m].items() if k not in measured}) for m in ("spawn", "forkserver"))
    pd.testing.assert_series_equal(spawned, forked)  # every metric, NaN where both could not measure it
    assert rows["spawn"]["session.mid_updates"] > 10  # a real replay, not two empty runs


def test_no_best_config_without_enough_fills_or_with_a_tie_and_the_command_says_why(catalog, tmp_path, capsys):
    """0 fills in this window: by default no candidate qualifies; without the minimum, both tie at PnL 0. Either
    way no best_config.json (an earlier one is removed), and the command line says why."""
    datasets = [{"catalog": str(catalog), "name": "hl_btc", "end": "2025-09-03T12:55:50"}]
    out = tmp_path / "out"
    (out).mkdir()
    (out / "best_config.json").write_text("{}")  # left by an earlier invocation
    spec = write_spec(tmp_path / "few.json", catalog, parameters={LEVELS: [2, 3]}, datasets=datasets)
    assert run_sweep_cli.main([str(spec), "--out", str(out), "--workers", "2", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "winner:  no candidate qualifies: none met every constraint in every run" in printed
    assert "fill_events >= 10 (min_fill_events): broken by 2 of 2 successful runs" in printed
    assert "config:  none written" in printed and not (out / "best_config.json").exists()
    tie = write_spec(tmp_path / "tie.json", catalog, parameters={LEVELS: [2, 3]}, datasets=datasets, min_fill_events=0)
    outcome = run_sweep(tie, out, workers=2, progress=False)
    assert outcome.executed == 0 and outcome.best_config is None  # the same runs, judged again
    assert outcome.verdict.startswith("no winner: the top 2 candidates tie at objective 0")
    assert outcome.board["tied"].tolist() == [2, 2]
    assert outcome.board["params_json"].tolist() == sorted(outcome.board["params_json"])  # listed by parameters


def test_resume_runs_again_rows_of_other_code_or_another_catalog_build(catalog, tmp_path, capsys):
    own_catalog = tmp_path / "catalog"
    shutil.copytree(catalog, own_catalog)  # copy2 keeps the modification times: the same fingerprint
    spec = write_spec(tmp_path / "one.json", own_catalog,
                      datasets=[{"catalog": str(own_catalog), "name": "hl_btc", "end": "2025-09-03T12:55:50"}])
    out = tmp_path / "out"
    first = run_sweep(spec, out, workers=1, progress=False)
    assert first.executed == 1 and first.stale is None
    row = ResultsTable(out).load().iloc[0]
    assert row["code_version"] == code_version() and row["catalog_fingerprint"] == catalog_fingerprint(own_catalog)
    assert run_sweep(spec, out, workers=1, progress=False).executed == 0

    # a row of other code: its worker recorded the version it ran (not the plan's, which a monkeypatch here could
    # fake, but the worker computes its own)
    ResultsTable(out).append(row.to_dict() | {"code_version": "another-commit"})
    again = run_sweep(spec, out, workers=1, progress=False)
    assert again.executed == 1 and again.stale.startswith("1 finished run(s) whose code_version differs")
    assert f"recorded another-commit, now {row['code_version']}" in again.stale
    assert "code_version differs" in capsys.readouterr().err  # said before running, not only at the end
    assert ResultsTable(out).load()["code_version"].tolist() == [row["code_version"]]  # replaced, not added

    data_file = next(own_catalog.rglob("*.parquet"))
    os.utime(data_file, ns=(data_file.stat().st_atime_ns, data_file.stat().st_mtime_ns + 1))  # a rebuilt catalog
    rebuilt = run_sweep(spec, out, workers=1, progress=False)
    assert rebuilt.executed == 1 and "whose catalog_fingerprint differs" in rebuilt.stale
    assert "code_version" not in rebuilt.stale
