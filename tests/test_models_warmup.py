"""Warmup: liquid vs illiquid thresholds, progress and uplift by hand, force-start at 30 s of data (E1), permanent
graduation, and a restored tracker that is never warm (E2)."""

from __future__ import annotations

import json
import math

import pytest

from mm_strategy.models.warmup import WarmupParams
from mm_strategy.models.warmup import WarmupModel
from mm_strategy.models.warmup import warmup_progress
from mm_strategy.models.warmup import warmup_uplift

S = 1_000_000_000
T0 = 1_700_000_000 * S


def at(t_s: float) -> int:
    return T0 + round(t_s * S)


def tracker_with(fill_times_s: list[float], floor_obs: int = 0, floor_at_s: float = 0.0) -> WarmupModel:
    tracker = WarmupModel(WarmupParams())
    tracker.on_market_data(T0)
    for t_s in fill_times_s:
        tracker.on_fill(at(t_s))
    tracker.on_floor_observations(at(floor_at_s), floor_obs)
    return tracker


def test_pure_pieces() -> None:
    # ½·min(5/20, 1) + ½·min(4/10, 1) = 0.125 + 0.2 = 0.325; uplift = 1 + 0.1·(1 − 0.325) = 1.0675
    assert warmup_progress(5, 20, 4, 10) == pytest.approx(0.325)
    assert warmup_uplift(0.325, 1.1) == pytest.approx(1.0675)
    assert warmup_progress(30, 20, 12, 10) == 1.0 and warmup_uplift(1.0, 1.1) == 1.0


def test_illiquid_thresholds_are_10_floor_observations_and_5_fills() -> None:
    # 5 fills and 10 markouts over 1100 s: 5/1100 = 0.0045 fills/s < 0.005 → illiquid → 10 and 5 → graduated
    tracker = tracker_with([200, 400, 600, 800, 1000], floor_obs=10, floor_at_s=1050)
    est = tracker.estimate(at(1100))
    assert est.fill_rate_per_s == pytest.approx(5 / 1100) and not est.liquid_regime
    assert (est.floor_needed, est.kappa_fills_needed) == (10, 5)
    assert est.progress == 1.0 and est.is_warm and not est.forced and est.uplift == 1.0


def test_liquid_thresholds_are_20_floor_observations_and_10_fills() -> None:
    # the same 5 fills and 10 markouts within 100 s: 0.05 fills/s → liquid → 20 and 10 are needed
    tracker = tracker_with([10, 20, 30, 40, 50], floor_obs=10, floor_at_s=60)
    est = tracker.estimate(at(100))
    assert est.liquid_regime and (est.floor_needed, est.kappa_fills_needed) == (20, 10)
    # progress = ½·10/20 + ½·5/10 = 0.5 → uplift 1.05; warm only because 100 s > 30 s of data
    assert est.progress == 0.5 and est.uplift == pytest.approx(1.05)
    assert est.is_warm and est.forced
    for t_s in range(101, 106):
        tracker.on_fill(at(t_s))
    tracker.on_floor_observations(at(106), 20)
    done = tracker.estimate(at(110))
    assert done.progress == 1.0 and done.is_warm and not done.forced and done.uplift == 1.0


def test_force_start_after_30_s_of_data_without_any_fill() -> None:
    tracker = WarmupModel(WarmupParams())
    assert not tracker.estimate(at(100)).is_warm  # no data yet: the clock has not started
    tracker.on_market_data(at(100))
    before = tracker.estimate(at(129.999))
    assert not before.is_warm and not before.forced and before.uplift == pytest.approx(1.1)
    est = tracker.estimate(at(130))
    assert est.is_warm and est.forced and est.data_s == 30.0
    assert est.progress == 0.0 and est.uplift == pytest.approx(1.1)  # the priors are no better for the timer


def test_progress_never_moves_backwards_when_the_regime_turns_liquid() -> None:
    tracker = tracker_with([], floor_obs=5, floor_at_s=999)
    for _ in range(4):
        tracker.on_fill(at(1000))
    # 4/1000 = 0.004 → illiquid: ½·5/10 + ½·4/5 = 0.25 + 0.4 = 0.65
    assert tracker.estimate(at(1000)).progress == pytest.approx(0.65)
    tracker.on_fill(at(1000))
    tracker.on_fill(at(1000))
    est = tracker.estimate(at(1000))
    # 6/1000 = 0.006 → liquid: ½·5/20 + ½·6/10 = 0.425 now, but progress stays at its maximum 0.65
    assert est.liquid_regime and est.progress == pytest.approx(0.65)


def test_graduation_is_permanent() -> None:
    tracker = tracker_with([100, 200, 300, 400, 500], floor_obs=10, floor_at_s=1500)
    assert tracker.estimate(at(1500)).progress == 1.0  # illiquid: 5/1500 fills/s
    for t_s in range(1501, 1511):  # a burst of fills: the regime turns liquid (15/1510 ≈ 0.0099)
        tracker.on_fill(at(t_s))
    est = tracker.estimate(at(1510))
    assert est.liquid_regime and est.progress == 1.0 and est.is_warm and not est.forced


def test_floor_observation_counts_only_grow() -> None:
    tracker = tracker_with([], floor_obs=8, floor_at_s=5)
    tracker.on_floor_observations(at(6), 3)  # an older message
    assert tracker.estimate(at(10)).floor_observations == 8


def test_a_restored_tracker_is_cold() -> None:
    warm = tracker_with([200, 400, 600, 800, 1000], floor_obs=10, floor_at_s=1050)
    assert warm.estimate(at(1100)).is_warm
    restored = WarmupModel.restore(WarmupParams(), None, json.loads(json.dumps(warm.to_state())))
    est = restored.estimate(at(1100))
    assert not est.is_warm and est.progress == 0.0 and est.kappa_fills == 0 and est.uplift == pytest.approx(1.1)
    with pytest.raises(ValueError, match="version"):
        WarmupModel.restore(WarmupParams(), None, {"version": 2})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("liquid_fill_rate_per_s", 0.0),
        ("liquid_floor_obs", 0),
        ("liquid_kappa_fills", 0),
        ("illiquid_floor_obs", -1),
        ("illiquid_kappa_fills", 0),
        ("force_start_s", math.inf),
        ("max_uplift", 0.9),
    ],
)
def test_params_validation_names_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"^WarmupParams\.{field}: must be .*, got {value!r}$"):
        WarmupParams(**{field: value})
