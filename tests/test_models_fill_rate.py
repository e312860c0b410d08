"""Fill intensity λ(δ) = λ₀·exp(−δ/δ_char): hand-worked conjugate updates, censored non-fills, the MAP in δ_char,
recovery from simulated orders, forgetting half-life, the observed rate window, warmup and persistence."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mm_strategy.models.fill_rate import FillRateModel
from mm_strategy.models.fill_rate import FillRateParams
from mm_strategy.models.fill_rate import TrailingEventWindow
from mm_strategy.models.fill_rate import fit_decay

S = 1_000_000_000
T0 = 1_700_000_000 * S
# forgetting negligible (f = 0.5^(1e-12)): hand-worked sums stay exact to ~1e-9
NO_FORGET = FillRateParams(half_life_obs=1e12)


def observe(model: FillRateModel, n: int, depth_bps: float, rested_s: float, filled: bool, t_s: float = 0.0) -> None:
    for k in range(n):
        model.on_order_outcome(T0 + round((t_s + k) * S), depth_bps, rested_s, filled)


def test_prior_without_data() -> None:
    est = FillRateModel().estimate(T0)
    assert (est.lambda0_per_s, est.delta_char_bps) == (0.8, 10.0)
    # λ(10 bp) = 0.8·e⁻¹ = 0.8·0.36787944 = 0.29430355
    assert est.intensity_per_s(10.0) == pytest.approx(0.29430355, rel=1e-8)
    assert est.observations == 0 and not est.is_warm and est.observed_fills_per_hour == 0.0


def test_fills_and_censored_non_fills_at_the_touch_hand_worked() -> None:
    model = FillRateModel(NO_FORGET)
    observe(model, 20, depth_bps=0.0, rested_s=1.0, filled=True)
    est = model.estimate(T0 + 20 * S)
    # prior Gamma(10, 10/0.8 = 12.5 s); 20 fills over 20 s at δ = 0, where e^(−bδ) = 1 whatever b:
    # λ₀ = (10 + 20)/(12.5 + 20) = 30/32.5 = 0.9230769; no depth information → δ_char stays at its prior mode
    assert est.lambda0_per_s == pytest.approx(0.9230769, rel=1e-7)
    assert est.delta_char_bps == pytest.approx(10.0, rel=1e-9)
    observe(model, 20, depth_bps=0.0, rested_s=2.0, filled=False, t_s=20)
    # 20 cancels after 2 s each add 40 s of exposure and no fill: λ₀ = 30/(32.5 + 40) = 0.4137931
    lower = model.estimate(T0 + 40 * S)
    assert lower.lambda0_per_s == pytest.approx(0.4137931, rel=1e-7)
    assert (lower.effective_fills, lower.effective_exposure_s) == pytest.approx((20.0, 60.0))


def log_posterior_b(b: float, fills: np.ndarray, exposure: np.ndarray, depth: np.ndarray, p: FillRateParams) -> float:
    """ln p(b | data) up to a constant, written out independently of the model (module docstring)."""
    a0, b0 = p.lambda0_prior_strength, p.lambda0_prior_strength / p.lambda0_prior_per_s
    s, d0 = p.delta_char_prior_strength, p.delta_char_prior_bps
    return (
        -b * float(fills @ depth)
        - (a0 + fills.sum()) * math.log(b0 + float(exposure @ np.exp(-b * depth)))
        + s * math.log(b)
        - s * d0 * b
    )


def test_delta_char_is_the_posterior_mode() -> None:
    model = FillRateModel(NO_FORGET)
    # more fills near the touch than deeper: δ_char must come out below the 10 bp prior
    observe(model, 30, depth_bps=1.0, rested_s=1.0, filled=True)
    observe(model, 30, depth_bps=8.0, rested_s=5.0, filled=False, t_s=30)
    observe(model, 5, depth_bps=8.0, rested_s=3.0, filled=True, t_s=60)
    est = model.estimate(T0 + 70 * S)
    b_hat = 1.0 / est.delta_char_bps
    depth = np.array([1.0, 8.0])
    fills, exposure = np.array([30.0, 5.0]), np.array([30.0, 165.0])
    at_mode = log_posterior_b(b_hat, fills, exposure, depth, NO_FORGET)
    for b in (b_hat * 1.001, b_hat * 0.999):
        assert at_mode > log_posterior_b(b, fills, exposure, depth, NO_FORGET)
    assert est.delta_char_bps < 10.0
    # λ₀ is the conditional posterior mean at b̂: (10 + 35)/(12.5 + 30·e^(−b̂) + 165·e^(−8b̂))
    expected = 45.0 / (12.5 + float(exposure @ np.exp(-b_hat * depth)))
    assert est.lambda0_per_s == pytest.approx(expected, rel=1e-9)


def test_mode_found_on_random_binned_data() -> None:
    """Safeguarded Newton: at b̂ the gradient vanishes, or b̂ sits on a bound with the gradient pushing outwards."""
    p = FillRateParams()
    rng = np.random.default_rng(0)
    depth = np.arange(201) * 0.5
    b_lo, b_hi = 1 / p.max_delta_char_bps, 1 / p.min_delta_char_bps
    for _ in range(300):
        fills, exposure = np.zeros(201), np.zeros(201)
        top_bin = int(rng.choice([5, 40, 201]))
        for _ in range(int(rng.integers(1, 300))):
            i = int(rng.integers(0, top_bin))
            exposure[i] += rng.exponential(float(rng.choice([0.1, 2.0, 30.0])))
            fills[i] += float(rng.random() < rng.random())
        fills, exposure = fills * rng.choice([1e-3, 1.0, 100.0]), exposure * rng.choice([1e-3, 1.0, 100.0])
        for b_start in (b_lo, 0.1, b_hi):
            _, b = fit_decay(fills, exposure, depth, p, b_start)
            decay = np.exp(-b * depth)
            alpha, beta = 10 + fills.sum(), 12.5 + exposure @ decay
            grad = -(fills @ depth) + alpha * ((exposure * depth) @ decay) / beta + 5 / b - 5 * 10
            at_lo, at_hi = b <= b_lo * (1 + 1e-8), b >= b_hi * (1 - 1e-8)
            assert abs(grad) < 1e-6 * max(1.0, 5 / b, fills @ depth) or (at_lo and grad < 0) or (at_hi and grad > 0)


def test_recovers_the_true_intensity_from_simulated_orders() -> None:
    rng = np.random.default_rng(7)
    lambda0_true, delta_char_true, max_rest_s = 0.5, 5.0, 3.0
    model = FillRateModel(NO_FORGET)
    for k in range(20_000):
        depth = float(rng.choice(np.arange(0.0, 21.0, 2.0)))
        time_to_fill = rng.exponential(1.0 / (lambda0_true * math.exp(-depth / delta_char_true)))
        filled = time_to_fill < max_rest_s  # otherwise cancelled at 3 s: censored
        model.on_order_outcome(T0 + k * S, depth, min(time_to_fill, max_rest_s), filled)
    est = model.estimate(T0 + 20_000 * S)
    assert est.lambda0_per_s == pytest.approx(lambda0_true, rel=0.05)
    assert est.delta_char_bps == pytest.approx(delta_char_true, rel=0.05)


def test_fills_only_would_overstate_lambda0() -> None:
    """The original's wiring (§B4): fills only. The same orders without their censored spells look twice as hot."""
    with_cancels, fills_only = FillRateModel(NO_FORGET), FillRateModel(NO_FORGET)
    for k in range(50):
        with_cancels.on_order_outcome(T0 + k * S, 2.0, 1.0, True)
        fills_only.on_order_outcome(T0 + k * S, 2.0, 1.0, True)
        with_cancels.on_order_outcome(T0 + k * S, 2.0, 1.0, False)
    assert with_cancels.estimate(T0 + 60 * S).lambda0_per_s < fills_only.estimate(T0 + 60 * S).lambda0_per_s


def test_forgetting_half_life_is_100_observations() -> None:
    model = FillRateModel()  # half-life 100 observations
    observe(model, 300, depth_bps=0.0, rested_s=1.0, filled=True)
    old = model.estimate(T0 + 300 * S)
    observe(model, 100, depth_bps=0.0, rested_s=1.0, filled=False, t_s=300)
    new = model.estimate(T0 + 400 * S)
    # the new regime adds no fills, so what is left of the old regime's fills is exactly its weight: halved
    assert new.effective_fills == pytest.approx(0.5 * old.effective_fills, rel=1e-12)
    # Σ_{i<n} f^i with f = 0.5^(1/100): after 400 observations (1 − 0.5⁴)/(1 − f) = 0.9375/0.0069075 = 135.72
    f = 0.5 ** (1 / 100)
    assert new.effective_observations == pytest.approx((1 - f**400) / (1 - f), rel=1e-12)
    assert new.effective_observations == pytest.approx(135.72, rel=1e-4)
    # λ₀ follows the new (dead) regime, all at δ = 0: fills = ½·W₃₀₀, exposure = ½·W₃₀₀ + W₁₀₀ with
    # W_n = (1 − fⁿ)/(1 − f): W₃₀₀ = 126.66, W₁₀₀ = 72.38 → λ₀ = (10 + 63.33)/(12.5 + 63.33 + 72.38) = 0.4947,
    # down from (10 + 126.66)/(12.5 + 126.66) = 0.9820
    w300, w100 = (1 - f**300) / (1 - f), (1 - f**100) / (1 - f)
    assert old.lambda0_per_s == pytest.approx((10 + w300) / (12.5 + w300), rel=1e-9)
    assert new.lambda0_per_s == pytest.approx((10 + w300 / 2) / (12.5 + w300 / 2 + w100), rel=1e-9)
    assert new.lambda0_per_s == pytest.approx(0.4947, abs=1e-4)


def test_depth_is_clamped_and_inputs_validated() -> None:
    model = FillRateModel(NO_FORGET)
    model.on_order_outcome(T0, -3.0, 1.0, True)  # a negative depth counts as the touch
    model.on_order_outcome(T0, 500.0, 1.0, False)  # beyond 100 bp: binned at 100 bp
    assert model.estimate(T0).effective_exposure_s == pytest.approx(2.0)
    bins = [(i, round(fills), round(exposure)) for i, fills, exposure in model.to_state()["bins"]]
    assert bins == [(0, 1, 1), (200, 0, 1)]  # bin i is i·0.5 bp
    with pytest.raises(ValueError, match="rested_s"):
        model.on_order_outcome(T0, 1.0, -1.0, False)
    with pytest.raises(ValueError, match="depth_bps"):
        model.on_order_outcome(T0, math.nan, 1.0, False)


def test_observed_fills_per_hour_uses_event_time() -> None:
    model = FillRateModel()
    model.estimate(T0)  # the observed span starts at the first timestamp seen
    for t_s in (30, 60, 90):
        model.on_order_outcome(T0 + t_s * S, 1.0, 5.0, True)
    model.on_order_outcome(T0 + 100 * S, 1.0, 5.0, False)
    # 3 fills in 120 s of observation → 3/120·3600 = 90 per hour
    assert model.estimate(T0 + 120 * S).observed_fills_per_hour == pytest.approx(90.0)
    # at 950 s the window is full (900 s): only fills after 50 s count → 2/900·3600 = 8 per hour
    assert model.estimate(T0 + 950 * S).observed_fills_per_hour == pytest.approx(8.0)


def test_trailing_window_never_runs_backwards() -> None:
    window = TrailingEventWindow(10.0)
    window.add(T0 + 5 * S)
    window.add(T0 + 3 * S)  # late: counted at the latest time seen
    window.advance(T0 + 14 * S)
    assert (window.count, window.span_s) == (2, 9.0)
    window.advance(T0 + 15 * S)  # both stamped 5 s: expired at 15 s
    assert (window.count, window.span_s) == (0, 10.0)


def test_warm_after_30_observations_and_restore_is_fitted_but_cold() -> None:
    model = FillRateModel()
    observe(model, 29, depth_bps=3.0, rested_s=2.0, filled=True)
    assert not model.estimate(T0 + 29 * S).is_warm
    observe(model, 1, depth_bps=6.0, rested_s=4.0, filled=False, t_s=29)
    before = model.estimate(T0 + 30 * S)
    assert before.is_warm and before.observations == 30
    state = json.loads(json.dumps(model.to_state()))
    restored = FillRateModel.restore(FillRateParams(), state)
    after = restored.estimate(T0 + 30 * S)
    assert after.lambda0_per_s == pytest.approx(before.lambda0_per_s, rel=1e-9)
    assert after.delta_char_bps == pytest.approx(before.delta_char_bps, rel=1e-9)
    assert after.effective_observations == before.effective_observations
    assert after.observations == 0 and not after.is_warm  # E2
    with pytest.raises(ValueError, match="binned"):
        FillRateModel.restore(FillRateParams(depth_bin_bps=1.0), state)
    with pytest.raises(ValueError, match="version"):
        FillRateModel.restore(FillRateParams(), {"version": 0})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lambda0_prior_per_s", 0.0),
        ("lambda0_prior_strength", -1.0),
        ("delta_char_prior_bps", 60.0),
        ("delta_char_prior_strength", 0.0),
        ("half_life_obs", math.inf),
        ("warmup_obs", -1),
        ("max_depth_bps", 0.0),
        ("depth_bin_bps", 200.0),
        ("min_delta_char_bps", 0.0),
        ("max_delta_char_bps", 0.5),
        ("rate_window_s", 0.0),
    ],
)
def test_params_validation_names_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"^FillRateParams\.{field}: must be .*, got {value!r}$"):
        FillRateParams(**{field: value})
