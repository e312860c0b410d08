"""Fill rate vs the one curve: expected fills per spell hand-worked from the curve in force on its side, observed vs
expected per hour over the observed part of the window, the curve it reports, warmth, persistence, and the trailing
window the calibration model shares."""

from __future__ import annotations

import math

import pytest

from mm_strategy.models.fill_rate import FillRateModel
from mm_strategy.models.fill_rate import FillRateParams
from mm_strategy.models.fill_rate import TrailingEventWindow
from mm_strategy.models.fill_rate import expected_fills
from mm_strategy.models.kappa import ASK
from mm_strategy.models.kappa import BID
from mm_strategy.models.priors import InstrumentPriors

S = 1_000_000_000
T0 = 1_700_000_000 * S
BP = 1e-4
PRIORS = InstrumentPriors(kappa_per_frac=20_000.0, a_per_s=0.03, sigma_frac_per_sqrt_s=4e-5)
PARAMS = FillRateParams()


def test_expected_fills_hand_worked() -> None:
    # 10 s at 0 bp and 20 s at 1 bp under A = 0.03, κ = 20,000: 0.3 + 20·0.03·e^(−2) = 0.3 + 0.0812012 = 0.3812012;
    # a segment through the mid (−0.5 bp) counts at depth 0: A·T
    assert expected_fills(0.03, 20_000.0, [(0.0, 10.0), (BP, 20.0)]) == pytest.approx(0.3812012, rel=1e-6)
    assert expected_fills(0.03, 20_000.0, [(-0.5 * BP, 10.0)]) == pytest.approx(0.3)


def test_prior_curve_until_the_kappa_model_publishes() -> None:
    model = FillRateModel(PARAMS, PRIORS)
    reading = model.estimate(T0)
    assert (reading.lambda0_per_s, reading.delta_char_bps) == (0.03, 0.5)  # 1/20,000 = 0.5 bp
    assert (reading.observed_fills_per_hour, reading.expected_fills_per_hour, reading.spells) == (0.0, 0.0, 0)
    assert not reading.is_warm


def test_observed_against_expected_per_hour_uses_the_curve_of_each_side() -> None:
    model = FillRateModel(PARAMS, PRIORS)
    model.on_curve(T0, 0.05, 10_000.0, 0.02, 40_000.0)
    model.on_spell(T0, BID, [(BP, 60.0)], filled=True)  # expected 60·0.05·e^(−1) = 1.1036383
    model.on_spell(T0 + 60 * S, ASK, [(BP, 60.0)], filled=False)  # expected 60·0.02·e^(−4) = 0.0219788
    model.on_spell(T0 + 120 * S, BID, [(0.0, 10.0)], filled=True)  # expected 10·0.05 = 0.5
    reading = model.estimate(T0 + 180 * S)
    # 180 s observed: 2 fills → 40/h; expected 1.6256171 → 32.51234/h
    assert reading.observed_fills_per_hour == pytest.approx(40.0)
    assert reading.expected_fills_per_hour == pytest.approx(1.6256171 * 20.0, rel=1e-6)
    assert reading.lambda0_per_s == pytest.approx(0.035) and reading.delta_char_bps == pytest.approx(1e4 / 25_000.0)
    assert reading.spells == 3


def test_window_drops_old_spells_and_counts_the_observed_span() -> None:
    model = FillRateModel(FillRateParams(window_s=100.0), PRIORS)
    model.on_spell(T0, BID, [(0.0, 10.0)], filled=True)
    model.on_spell(T0 + 50 * S, BID, [(0.0, 10.0)], filled=False)
    assert model.estimate(T0 + 50 * S).observed_fills_per_hour == pytest.approx(3600.0 / 50.0)
    # at 120 s the first spell (t = 0) is out; the window is full: 0 fills, 0.3 expected over 100 s
    reading = model.estimate(T0 + 120 * S)
    assert reading.observed_fills_per_hour == 0.0 and reading.expected_fills_per_hour == pytest.approx(0.3 * 36.0)


def test_warm_after_30_spells_and_restore_is_cold() -> None:
    model = FillRateModel(PARAMS, PRIORS)
    for k in range(30):
        assert not model.estimate(T0 + k * S).is_warm
        model.on_spell(T0 + k * S, ASK, [(0.0, 1.0)], filled=k % 3 == 0)
    assert model.estimate(T0 + 30 * S).is_warm
    restored = FillRateModel.restore(PARAMS, PRIORS, model.to_state())
    assert restored.estimate(T0 + 31 * S).spells == 0 and restored.to_state() == model.to_state()
    with pytest.raises(ValueError, match="unsupported state version"):
        FillRateModel.restore(PARAMS, PRIORS, {"version": 1})


def test_inputs_are_validated() -> None:
    model = FillRateModel(PARAMS, PRIORS)
    with pytest.raises(ValueError, match="A and κ must be > 0"):
        model.on_curve(T0, 0.0, 20_000.0, 0.03, 20_000.0)
    with pytest.raises(ValueError, match="bad exposure segment"):
        model.on_spell(T0, BID, [(0.0, -1.0)], filled=False)
    with pytest.raises(ValueError, match="side must be"):
        model.on_spell(T0, 5, [(0.0, 1.0)], filled=False)
    with pytest.raises(ValueError, match="FillRateParams.window_s: must be"):
        FillRateParams(window_s=math.inf)


def test_trailing_window_never_runs_backwards_and_sums_weights() -> None:
    window = TrailingEventWindow(10.0)
    window.add(T0 + 5 * S, 2.0)
    window.add(T0 + 3 * S, 0.5)  # older than the latest: treated as now
    assert window.count == 2 and window.total == 2.5 and window.span_s == 0.0
    window.advance(T0 + 15 * S)  # both stamped 5 s: gone at 15 s
    assert window.count == 0 and window.total == 0.0 and window.span_s == 10.0
