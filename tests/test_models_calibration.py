"""Calibration controller: the DESIGN §5 formula at hand-worked points, the window-normalisation fix, the first
window normalised by elapsed event time, progress, and real (ns) time rather than call counts."""

from __future__ import annotations

import json
import math

import pytest
from nautilus_trader.model.identifiers import InstrumentId

from mm_strategy.actors.calibration import CalibrationActor
from mm_strategy.actors.calibration import CalibrationActorConfig
from mm_strategy.messages import AdverseSelectionEstimate
from mm_strategy.messages import KappaEstimate
from mm_strategy.models.calibration import CalibrationModel
from mm_strategy.models.calibration import CalibrationParams
from mm_strategy.models.calibration import calibration_progress
from mm_strategy.models.calibration import expected_fills
from mm_strategy.models.calibration import fill_ratio
from mm_strategy.models.calibration import tightening_mult
from mm_strategy.models.priors import InstrumentPriors

S = 1_000_000_000
T0 = 1_700_000_000 * S
SEED_FORMULA = CalibrationParams(prior_fills=0.0)  # ratio = fills/expected exactly


def at(t_s: float) -> int:
    return T0 + round(t_s * S)


def controller_with_fills(params: CalibrationParams, fill_times_s: list[float]) -> CalibrationModel:
    ctl = CalibrationModel(params)
    ctl.estimate(T0)  # the strategy starts: the observed span begins here
    for t_s in fill_times_s:
        ctl.on_fill(at(t_s))
    return ctl


def test_pure_formula_pieces() -> None:
    # expected = 60/h · 900 s / 3600 = 15 (the seed's fix; the bug compared the window count with 60)
    assert expected_fills(60.0, 900.0) == 15.0
    assert fill_ratio(6, 15.0, 0.0) == 0.4 and fill_ratio(0, 0.0, 0.0) == 1.0  # no evidence → neutral
    assert fill_ratio(0, 15.0, 2.0) == pytest.approx(2 / 17)
    # m = max(min(0.4, 1), 0.6) = 0.6; mult = 0.6 + 0.4·0.25 = 0.7
    assert tightening_mult(0.4, 0.25, 0.6) == pytest.approx(0.7)
    # m = min(1.8, 1) = 1 → 1 whatever the progress
    assert tightening_mult(1.8, 0.0, 0.6) == 1.0
    # progress = ½·min(10/20, 1) + ½·min(5/10, 1) = 0.25 + 0.25
    assert calibration_progress(10, 20, 5, 10) == 0.5
    assert calibration_progress(40, 20, 18, 10) == 1.0


def test_full_window_seed_formula_and_the_normalisation_fix() -> None:
    # 30 min in, 12 fills in the last 15 min (one every 75 s from 975 s; a fill stamped exactly 900 s ago has left
    # the window): expected 15 → ratio 0.8 → m = 0.8
    ctl = controller_with_fills(SEED_FORMULA, [975 + 75 * k for k in range(12)])
    ctl.on_progress_inputs(at(1800), as_fills_measured=5, kappa_fills=0)
    est = ctl.estimate(at(1800))
    assert (est.fills_in_window, est.expected_fills_in_window, est.span_s) == (12, 15.0, 900.0)
    # progress = ½·5/20 = 0.125; mult = 0.8 + 0.2·0.125 = 0.825
    assert est.fill_ratio == pytest.approx(0.8) and est.progress == 0.125
    assert est.half_spread_mult == pytest.approx(0.825)
    # the seed's bug (12 fills against the hourly 60) would have read ratio 0.2 → m = 0.6 → 0.65
    assert est.half_spread_mult > tightening_mult(12 / 60, 0.125, 0.6) == pytest.approx(0.65)


def test_first_window_is_normalised_by_elapsed_time() -> None:
    # at the target rate (one fill a minute) for 7.5 min: 7 fills in 450 s against 60·450/3600 = 7.5 expected
    ctl = controller_with_fills(SEED_FORMULA, [60 * k for k in range(1, 8)])
    est = ctl.estimate(at(450))
    # ratio = 7/7.5 = 0.9333 → mult 0.9333 (over the full 900 s it would read 7/15 = 0.467 → floor 0.6)
    assert est.span_s == 450.0 and est.expected_fills_in_window == 7.5
    assert est.half_spread_mult == pytest.approx(0.9333333, rel=1e-6)


def test_no_fills_in_the_first_seconds_is_not_a_dead_market() -> None:
    ctl = controller_with_fills(CalibrationParams(), [])  # prior_fills = 2
    assert ctl.estimate(T0).half_spread_mult == 1.0  # span 0: (0 + 2)/(0 + 2) = 1
    # 10 s: expected = 60·10/3600 = 0.1667; ratio = 2/2.1667 = 0.9231 → mult 0.9231 (the seed formula: 0 → 0.6)
    assert ctl.estimate(at(10)).half_spread_mult == pytest.approx(0.9230769, rel=1e-6)
    # 80 s: expected 1.3333; ratio = 2/3.3333 = 0.6 → the floor; 300 s: 2/7 = 0.286 → floor 0.6
    assert ctl.estimate(at(80)).half_spread_mult == pytest.approx(0.6)
    assert ctl.estimate(at(300)).half_spread_mult == 0.6


def test_on_target_reads_one_with_the_prior() -> None:
    # 15 fills in the last 900 s: (15 + 2)/(15 + 2) = 1
    ctl = controller_with_fills(CalibrationParams(), [1030 + 60 * k for k in range(15)])
    est = ctl.estimate(at(1900))
    assert est.fills_in_window == 15 and est.fill_ratio == 1.0 and est.half_spread_mult == 1.0


def test_progress_phases_the_hunger_out() -> None:
    ctl = controller_with_fills(SEED_FORMULA, [])
    for as_fills, kappa_fills, expected_mult in [
        (0, 0, 0.6),  # progress 0
        (10, 5, 0.8),  # progress ½·0.5 + ½·0.5 = 0.5 → 0.6 + 0.4·0.5
        (20, 6, 0.92),  # progress ½ + ½·0.6 = 0.8 → 0.6 + 0.32
        (25, 12, 1.0),  # progress 1
    ]:
        ctl.on_progress_inputs(at(600), as_fills, kappa_fills)
        assert ctl.estimate(at(600)).half_spread_mult == pytest.approx(expected_mult)
    with pytest.raises(ValueError, match="kappa_fills=-1"):
        ctl.on_progress_inputs(at(600), 0, -1)


def test_calibrated_once_it_stays_calibrated_at_a_fill_rate_below_target() -> None:
    # Review finding: the κ part of progress was KappaEstimate.own_confidence, the own-fill share of the last 600 s,
    # n/(n + 10): at 0.5 (full) only from 10 fills per 600 s, i.e. the 60/h target itself. Below target it never
    # completed, and after a quiet 10 minutes it fell back to 0: the cold-start tightening never ended (6 fills/h:
    # multiplier ≈ 0.84 after 4 h). Now it counts κ's filled spells since start, as the AS part counts markouts.
    hourly = 6
    fill_times = [30.0 + 3600.0 / hourly * k for k in range(4 * hourly)]  # 4 h at 6 fills/h, far below 60/h
    ctl = controller_with_fills(CalibrationParams(), fill_times)
    ctl.on_progress_inputs(at(4 * 3600), as_fills_measured=len(fill_times), kappa_fills=len(fill_times))
    est = ctl.estimate(at(4 * 3600))
    assert est.fill_ratio < 0.2 and est.progress == 1.0 and est.half_spread_mult == 1.0


def test_time_comes_from_timestamps_not_from_calls() -> None:
    ctl = controller_with_fills(SEED_FORMULA, [2.0])
    for _ in range(1000):  # a thousand quote cycles inside 5 s are 5 s, not 1000 s
        est = ctl.estimate(at(5))
    assert est.span_s == 5.0 and est.expected_fills_in_window == pytest.approx(60 * 5 / 3600)
    # an estimate stamped earlier than what was already seen does not rewind the span
    assert ctl.estimate(at(3)).span_s == 5.0
    # fills leave the window after lookback_s of event time
    assert ctl.estimate(at(901)).fills_in_window == 1 and ctl.estimate(at(903)).fills_in_window == 0


def test_restore_is_fresh() -> None:
    ctl = controller_with_fills(CalibrationParams(), [10.0, 20.0])
    state = json.loads(json.dumps(ctl.to_state()))
    restored = CalibrationModel.restore(CalibrationParams(), None, state)
    est = restored.estimate(at(30))
    assert est.fills_in_window == 0 and est.span_s == 0.0 and est.progress == 0.0
    with pytest.raises(ValueError, match="version"):
        CalibrationModel.restore(CalibrationParams(), None, {})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("target_fills_per_hour", 0.0),
        ("min_half_spread_mult", 1.5),
        ("min_half_spread_mult", 0.0),
        ("lookback_s", math.inf),
        ("as_fills_full", 0),
        ("kappa_fills_full", 0),
        ("prior_fills", -1.0),
    ],
)
def test_params_validation_names_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"^CalibrationParams\.{field}: must be .*, got {value!r}$"):
        CalibrationParams(**{field: value})


def test_the_actor_reads_kappas_fills_since_start_not_its_windowed_share() -> None:
    # The wiring half of the fix: 12 filled spells since start, none in the last 600 s (own_confidence 0): κ counts
    # as calibrated; a restored model (fills_since_start 0) still does not (lesson E2).
    iid = InstrumentId.from_str("BTC-USD-PERP.HYPERLIQUID")
    priors = InstrumentPriors(kappa_per_frac=17_000.0, a_per_s=0.05, sigma_frac_per_sqrt_s=5e-5)
    actor = CalibrationActor(CalibrationActorConfig(instrument_id=iid, priors=priors))
    quiet = KappaEstimate(instrument_id=iid, own_confidence=0.0, fills_since_start=12, ts_event=at(900), ts_init=at(900))
    marked = AdverseSelectionEstimate(instrument_id=iid, fills_measured=25, ts_event=at(900), ts_init=at(900))
    actor.feed_estimate(at(900), quiet)
    actor.feed_estimate(at(900), marked)
    assert actor.model.estimate(at(900)).progress == 1.0
    restored = KappaEstimate(instrument_id=iid, own_confidence=0.0, fills_since_start=0, ts_event=at(901), ts_init=at(901))
    actor.feed_estimate(at(901), restored)
    assert actor.model.estimate(at(901)).progress == 0.5
