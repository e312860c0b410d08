"""Walk-forward runs never quote with priors fitted on their own future (review of session 9, finding 1).

On the real 9-minute BTC capture (checkpoint every 15 s, as ``make sweep`` builds it): ``walk_forward.priors:
before_window`` fits each window's κ, A, σ on the data before it, leaves out a window with nothing to fit on, and
records the priors in each row; a config whose ``priors.fitted_on`` stamp covers the windows scored out of sample is
refused at planning. No backtest runs here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from mm_strategy import calibrate
from mm_strategy.node_config import load_venue_config_dict
from mm_strategy.research.plan import plan_sweep
from mm_strategy.research.runner import task_columns
from mm_strategy.research.spec import SpecError
from mm_strategy.research.spec import load_spec
from mm_strategy.research.walkforward import NO_PRIORS
from mm_strategy.research.walkforward import summary
from mm_strategy.research.walkforward import walk_forward_table
from tests.sweep_support import BASE_CONFIG
from tests.sweep_support import build_catalog
from tests.sweep_support import write_spec

BTC = "BTC-USD-PERP.HYPERLIQUID"


@pytest.fixture(scope="module")
def catalog(hl_captures, tmp_path_factory):
    return build_catalog(hl_captures, tmp_path_factory.mktemp("sweep_catalog"))


def _walk_spec(folder: Path, catalog: Path, config: Path = BASE_CONFIG, **walk_forward) -> Path:
    return write_spec(folder / "spec.json", catalog, configs=[str(config)],
                      parameters={"strategy.config.num_levels": [2, 3]}, walk_forward={"window_s": 45, **walk_forward})


def _stamped_config(folder: Path, catalog: Path) -> Path:
    """The shipped config with the priors block ``python -m mm_strategy.calibrate`` prints for ``catalog``."""
    document = json.loads(BASE_CONFIG.read_text())
    priors = calibrate.calibrate(catalog, InstrumentId.from_str(BTC)).priors
    document["priors"] = json.loads(calibrate.priors_json(priors))["priors"]
    path = folder / "stamped.json"
    path.write_text(json.dumps(document))
    return path


def test_each_window_quotes_with_priors_fitted_only_on_the_data_before_it(catalog, tmp_path):
    plan = plan_sweep(load_spec(_walk_spec(tmp_path, catalog, priors="before_window")))
    windows = plan.windows["hl_btc"]
    assert len(windows) == 5
    # window 0 starts with the capture: nothing before it to fit on, so it has no runs and says why
    assert list(plan.left_out) == [("hl_btc", 0)] and "0 two-sided book update(s)" in plan.left_out[("hl_btc", 0)]
    assert sorted({task.window for task in plan.tasks}) == [1, 2, 3, 4] and len(plan.tasks) == 2 * 4
    raw = ParquetDataCatalog(str(catalog))
    instrument = raw.instruments(instrument_ids=[BTC])[0]
    for window in windows[1:]:
        # independently: replay only the deltas and trades stamped before the window, as the review did
        before = calibrate.market_data(
            instrument,
            [d for d in raw.order_book_deltas(instrument_ids=[BTC]) if d.ts_init < window.start_ns],
            [t for t in raw.trade_ticks(instrument_ids=[BTC]) if t.ts_init < window.start_ns],
        )
        expected = calibrate.priors_block(calibrate.calibrate_data(before, str(catalog)).priors)
        tasks = [task for task in plan.tasks if task.window == window.index]
        assert [task.document["priors"] for task in tasks] == [expected, expected]
        assert pd.Timestamp(expected["fitted_on"]["end"]).value < window.start_ns
        row = task_columns(tasks[0])
        assert row["priors_source"] == "before_window" and json.loads(row["priors_json"]) == expected
        assert "less than the kappa model's 600 s window" in row["priors_note"]  # under 600 s of market before it
    window_3 = next(task for task in plan.tasks if task.window == 3).document["priors"]
    # the review's refit on the data before window 3, against the config's fit on all 542 s
    assert (window_3["kappa_per_frac"], window_3["a_per_s"], window_3["sigma_frac_per_sqrt_s"]) == (16800.0, 0.129, 5.67e-05)


def test_calibrate_stamps_where_its_priors_were_fitted_and_the_stamp_loads(catalog):
    block = json.loads(calibrate.priors_json(calibrate.calibrate(catalog, InstrumentId.from_str(BTC)).priors))["priors"]
    assert block["fitted_on"] == {"catalog": str(catalog), "start": "2025-09-03T12:55:12.546592700+00:00",
                                  "end": block["fitted_on"]["end"]}
    assert pd.Timestamp(block["fitted_on"]["end"]) > pd.Timestamp("2025-09-03T13:04:14Z")
    document = json.loads(BASE_CONFIG.read_text()) | {"priors": block}
    assert load_venue_config_dict(document, "stamped").priors.fitted_on.catalog == str(catalog)


def test_config_priors_fitted_on_the_out_of_sample_windows_are_refused(catalog, tmp_path):
    stamped = _stamped_config(tmp_path, catalog)
    with pytest.raises(SpecError, match=r"configs\[0\] .*priors\.fitted_on .* overlaps out-of-sample walk-forward "
                                        r"window\(s\) 1, 2, 3, 4 of datasets\[0\].*walk_forward\.priors: before_window"):
        plan_sweep(load_spec(_walk_spec(tmp_path, catalog, stamped)))
    refit = plan_sweep(load_spec(_walk_spec(tmp_path, catalog, stamped, priors="before_window")))
    assert refit.tasks and all(pd.Timestamp(task.document["priors"]["fitted_on"]["end"]).value < task.start_ns
                               for task in refit.tasks)


def test_swept_priors_and_refitted_priors_cannot_be_combined(catalog, tmp_path):
    path = write_spec(tmp_path / "s.json", catalog, parameters={"priors.a_per_s": [0.1, 0.2]},
                      walk_forward={"window_s": 45, "priors": "before_window"})
    with pytest.raises(SpecError, match=r"walk_forward\.priors: .*priors\.a_per_s"):
        load_spec(path)


def test_a_step_with_a_window_left_out_for_want_of_priors_is_listed_not_dropped():
    rows = [{"dataset": "d", "window": w, "window_start": f"t{w}", "ok": True, "feasible": True, "score": s,
             "config": "c", "params_id": p, "params_json": p, "pnl.net": s}
            for w in (1, 2) for p, s in (("A", 1.0), ("B", 0.5))]
    walk = walk_forward_table(pd.DataFrame(rows), {("d", 0): "calibration refused"})
    assert walk[["in_sample_window", "out_of_sample_window"]].values.tolist() == [[0, 1], [1, 2]]
    assert walk["left_out"].tolist() == [NO_PRIORS, ""]
    s = summary(walk)
    assert s["steps"] == 1 and s["steps_total"] == 2 and s[NO_PRIORS] == 1
