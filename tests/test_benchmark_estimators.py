"""``benchmarks/estimators.py``: the models are timed on the calls a real full-stack backtest makes into them.

Behaviour only, never timings: the recording holds every kind of call the actors make (own spells and fills, the
estimates fed between actors, reads at the actors' cadence), once each, and replaying it into fresh models gives
back every recorded reading. On the 9-minute BTC capture with trades (fills, spells and trades all occur there).
"""

from __future__ import annotations

import re

import pytest

from benchmarks import estimators
from benchmarks.estimator_replay import BOOK_FEED
from benchmarks.estimator_replay import estimator_actor_classes
from benchmarks.estimator_replay import mismatches
from benchmarks.estimator_replay import recording
from benchmarks.estimator_replay import replay
from mm_strategy.node_config import load_venue_config
from run_backtest import DEFAULT_CONFIG

SEVEN = ["KappaModel", "VolatilityModel", "FillRateModel", "AdverseSelectionModel", "CalibrationModel",
         "InformedFlowModel", "WarmupModel"]


@pytest.fixture(scope="module")
def log(hl_btc_catalog):
    return estimators.record_backtest(load_venue_config(DEFAULT_CONFIG), hl_btc_catalog)[0]


def counts(log, name):
    return log.call_counts(log.index_of(name))


def test_the_recording_holds_every_input_a_backtest_feeds_the_models(log):
    assert [spec.name for spec in log.models] == SEVEN  # one model per actor, no rebuilt ones
    n_book = log.book_events()
    assert n_book > 400  # 446 book batches with both sides on the capture
    assert all(counts(log, name)[method] == n_book for name, method in BOOK_FEED.items())
    reads = {counts(log, name)["estimate"] for name in SEVEN}
    assert len(reads) == 1 and 0.9 * n_book < reads.pop() < n_book  # one read per 250 ms of data time at most
    kappa = counts(log, "KappaModel")
    assert kappa["on_spell"] > 100 and kappa["on_trade"] > 1000  # own resting spells and public trades
    assert counts(log, "FillRateModel")["on_spell"] == kappa["on_spell"]
    assert counts(log, "FillRateModel")["on_curve"] > 0  # kappa's estimates, fed between actors
    assert counts(log, "CalibrationModel")["on_progress_inputs"] > 0
    assert counts(log, "WarmupModel")["on_floor_observations"] > 0
    fills = counts(log, "AdverseSelectionModel")["on_fill"]
    assert fills > 0 and counts(log, "CalibrationModel")["on_fill"] == fills
    # WarmupModel.on_fill calls its own on_market_data: logged once, as the actor's call, not twice
    assert counts(log, "WarmupModel")["on_fill"] == fills
    assert counts(log, "WarmupModel")["on_market_data"] == n_book


def test_replay_returns_every_recorded_reading(log):
    everything = set(range(len(log.models)))
    for indices in [{k} for k in everything] + [everything]:
        assert mismatches(log, indices, replay(log, indices)[1]) == 0


def test_a_replay_that_differs_is_caught(log):
    kappa = log.index_of("KappaModel")
    replayed = replay(log, {kappa})[1]
    replayed[-1] = "not the recorded reading"
    assert mismatches(log, {kappa}, replayed) == 1
    assert mismatches(log, {kappa}, replayed[:-1]) == 1  # a call missing from the replay


def test_recording_restores_the_actor_classes():
    originals = {cls: cls.model_cls for cls in estimator_actor_classes()}
    assert len(originals) == 7
    with pytest.raises(RuntimeError), recording():
        assert all(cls.model_cls is not model_cls for cls, model_cls in originals.items())
        raise RuntimeError("leaves the block")
    assert all(cls.model_cls is model_cls for cls, model_cls in originals.items())


def test_cli_prints_what_is_replayed_and_an_honest_verdict(hl_btc_catalog, capsys):
    argv = ["--catalog", str(hl_btc_catalog), "--no-engine", "--repeats", "1", "--min-total-s", "0"]
    assert estimators.main(argv) == 0
    out = capsys.readouterr().out
    assert "own fills and resting spells" in out and "every replayed call returned" in out
    rows = dict(re.findall(r"^(kappa|volatility|fill_rate|adverse_selection|calibration|informed_flow|warmup) +"
                           r"(\d+\.\d+)", out, re.MULTILINE))
    assert len(rows) == 7
    total = re.search(r"^goal: all seven (\d+\.\d+) µs per book event .*<= 20 µs: (met|NOT met)$", out, re.MULTILINE)
    assert total is not None
    assert total.group(2) == ("met" if float(total.group(1)) <= 20.0 else "NOT met")
