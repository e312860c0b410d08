"""Bipower volatility: grid sampling, hand-worked EWMAs, gaps, jumps, caps, persistence, and the real BTC hour."""

from __future__ import annotations

import json
import math

import lz4.frame
import numpy as np
import pytest

from mm_strategy.models.volatility import (
    REGIME_CALM,
    REGIME_JUMP,
    REGIME_NORMAL,
    REGIME_VOLATILE,
    VolatilityModel,
    VolatilityParams,
)

S = 1_000_000_000
T0 = 1_700_000_000 * S  # a whole second, so the 1 s grid falls on T0 + k·S

# half-life = one grid step → decay d = 0.5; prior pseudo-weight 2 at σ_b² = 1e-6
HAND = VolatilityParams(
    baseline_sigma_frac_per_sqrt_s=1e-3, half_life_s=1.0, jump_half_life_s=1.0, prior_weight_returns=2.0
)


def feed(model: VolatilityModel, events: list[tuple[float, float]]) -> None:
    """events: (seconds after T0, log-mid)."""
    for t_s, log_mid in events:
        model.on_mid(T0 + round(t_s * S), math.exp(log_mid))


def random_walk(rng: np.random.Generator, sigma: float, duration_s: float, mean_gap_s: float = 0.6):
    """Irregular arrivals (exponential gaps, like the ≈0.6 s HL book) of a Brownian log-mid with σ per √s."""
    gaps = rng.exponential(mean_gap_s, int(duration_s / mean_gap_s * 1.2))
    times = np.cumsum(gaps)
    times = times[times < duration_s]
    steps = rng.normal(0.0, sigma * np.sqrt(np.diff(times, prepend=0.0)))
    return times, np.log(42_000.0) + np.cumsum(steps)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("baseline_sigma_frac_per_sqrt_s", 0.0),
        ("sample_interval_s", -1.0),
        ("half_life_s", math.nan),
        ("max_sigma_mult", 0.5),
        ("min_sigma_mult", 0.0),
        ("jump_ratio_threshold", 20.0),  # above max_jump_ratio 10
        ("volatile_above_mult", 0.9),
    ],
)
def test_params_validation_names_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"^VolatilityParams\.{field}: must be .*, got {value!r}$"):
        VolatilityParams(**{field: value})


def test_no_data_gives_the_prior() -> None:
    est = VolatilityModel().estimate(T0)
    assert est.sigma_frac_per_sqrt_s == pytest.approx(2e-4)
    assert est.sigma_total_frac_per_sqrt_s == pytest.approx(2e-4)
    assert est.jump_ratio == pytest.approx(1.0)
    assert est.regime == REGIME_NORMAL
    assert est.n_returns == 0
    assert est.last_mid_age_s == math.inf


def test_last_value_sampling_and_bipower_by_hand() -> None:
    model = VolatilityModel(HAND)
    # grid values: g0 = 0 (t 0.0), g1 = 0.002 (t 1.0 is on the grid, "at or before" includes it; t 0.5 is
    # superseded), g2 = 0.001 (t 2.0; t 1.5 superseded), g3 = 0.004 (t 3.0, sampled when t 3.4 arrives).
    # Every sampled update is 1 s after the previous one, so the returns need no rescaling.
    feed(model, [(0.0, 0.0), (0.5, 0.03), (1.0, 0.002), (1.5, 0.05), (2.0, 0.001), (3.0, 0.004), (3.4, 0.0)])
    # returns r1 = +0.002, r2 = −0.001, r3 = +0.003; pairs (r1, r2), (r2, r3)
    # start: w = 2, RV_sum = BV_sum = 2·1e-6
    # pair 1: w = 0.5·2 + 1 = 2; RV_sum = 1e-6 + (1e-3)² = 2e-6; BV_sum = 1e-6 + π/2·(1e-3·2e-3) = (1 + π)e-6
    # pair 2: w = 2; RV_sum = 1e-6 + (3e-3)² = 10e-6; BV_sum = 0.5(1 + π)e-6 + π/2·(3e-3·1e-3) = (0.5 + 2π)e-6
    # RV = 5e-6, BV = (0.25 + π)e-6
    est = model.estimate(T0 + 4 * S)
    assert est.n_returns == 2
    assert est.sigma_frac_per_sqrt_s == pytest.approx(math.sqrt((0.25 + math.pi) * 1e-6), rel=1e-9)
    assert est.sigma_total_frac_per_sqrt_s == pytest.approx(math.sqrt(5e-6), rel=1e-9)
    assert est.jump_ratio == pytest.approx(5.0 / (0.25 + math.pi), rel=1e-9)
    assert est.last_mid_age_s == pytest.approx(0.6)


def test_empty_intervals_add_no_zero_return_and_the_spanning_return_is_normalised() -> None:
    x_after_gap = 0.002 + 0.002 * math.sqrt(8.0)  # 0.002 per √s over the 8 s from t 2 to t 10
    model = VolatilityModel(HAND)
    # (2, 10) holds no update: no return for g3..g9; the t 10 update is sampled at g10 when t 10.5 arrives
    feed(model, [(0.0, 0.0), (1.0, 0.001), (2.0, 0.002), (10.0, x_after_gap), (10.5, x_after_gap)])
    # returns 0.001, 0.001, then (x_after_gap − 0.002)/√8 = 0.002; pairs (1e-3, 1e-3), (1e-3, 2e-3)
    # pair 1: RV_sum = 1e-6 + 1e-6 = 2e-6;  BV_sum = 1e-6 + π/2·1e-6
    # pair 2: RV_sum = 1e-6 + 4e-6 = 5e-6;  BV_sum = 0.5(1 + π/2)e-6 + π/2·2e-6 = (0.5 + 1.25π)e-6;  w = 2
    est = model.estimate(T0 + 11 * S)
    assert est.n_returns == 2
    assert est.sigma_total_frac_per_sqrt_s == pytest.approx(math.sqrt(2.5e-6), rel=1e-9)
    assert est.sigma_frac_per_sqrt_s == pytest.approx(math.sqrt((0.25 + 0.625 * math.pi) * 1e-6), rel=1e-9)


def test_short_return_duration_is_floored_at_half_a_step() -> None:
    model = VolatilityModel(HAND)
    # sampled updates: t 0 (g0), t 1.0 (g1), t 1.1 (g2: last before 2), t 2.5 (g3, sampled when t 3.5 arrives)
    feed(model, [(0.0, 0.0), (1.0, 0.001), (1.1, 0.002), (2.5, 0.002), (3.5, 0.0)])
    # r1 = 0.001/√1; r2 = 0.001/√max(0.1, 0.5) = √2·1e-3; r3 = 0
    # pair 1: RV_sum = 1e-6 + 2e-6 = 3e-6;  BV_sum = 1e-6 + π/2·√2·1e-6
    # pair 2: RV_sum = 1.5e-6;  BV_sum = 0.5e-6 + π/4·√2·1e-6 + 0;  w = 2
    est = model.estimate(T0 + 4 * S)
    assert est.n_returns == 2
    assert est.sigma_total_frac_per_sqrt_s == pytest.approx(math.sqrt(0.75e-6), rel=1e-9)
    assert est.sigma_frac_per_sqrt_s == pytest.approx(
        math.sqrt((0.25 + math.pi * math.sqrt(2) / 8) * 1e-6), rel=1e-9
    )


def test_older_updates_are_ignored() -> None:
    model = VolatilityModel(HAND)
    feed(model, [(0.0, 0.0), (1.0, 0.002), (0.5, 0.9), (2.0, 0.001), (3.0, 0.004), (3.4, 0.0)])
    reference = VolatilityModel(HAND)
    feed(reference, [(0.0, 0.0), (1.0, 0.002), (2.0, 0.001), (3.0, 0.004), (3.4, 0.0)])
    assert model.estimate(T0 + 4 * S) == reference.estimate(T0 + 4 * S)


def test_bad_mid_raises() -> None:
    with pytest.raises(ValueError, match="mid must be > 0"):
        VolatilityModel().on_mid(T0, 0.0)


def test_random_walk_recovers_sigma() -> None:
    sigma_true = 1.5e-4
    times, log_mids = random_walk(np.random.default_rng(7), sigma_true, 7200.0)
    model = VolatilityModel()
    samples = []
    next_sample_s = 3600.0
    for t_s, x in zip(times, log_mids):
        model.on_mid(T0 + int(t_s * S), math.exp(x))
        if t_s >= next_sample_s:
            samples.append(model.estimate(T0 + int(t_s * S)))
            next_sample_s += 60.0
    # one EWMA reading (half-life 120 s ≈ 350 effective returns) is within ~±10 %; the hour's average within 5 %
    assert all(abs(e.sigma_frac_per_sqrt_s / sigma_true - 1) < 0.15 for e in samples)
    assert np.mean([e.sigma_frac_per_sqrt_s for e in samples]) == pytest.approx(sigma_true, rel=0.05)
    assert np.median([e.jump_ratio for e in samples]) == pytest.approx(1.0, abs=0.15)
    assert {e.regime for e in samples} <= {REGIME_NORMAL, REGIME_VOLATILE}  # 1.5e-4 / 2e-4 = 0.75 → normal


def test_single_jump_raises_ratio_but_not_bipower_sigma() -> None:
    sigma_true = 1e-4
    times, log_mids = random_walk(np.random.default_rng(11), sigma_true, 1800.0)
    log_mids = log_mids + np.where(times >= 1500.0, 30 * sigma_true, 0.0)  # one +30σ(1 s) jump at t = 1500 s
    model = VolatilityModel()
    before = after = None
    for t_s, x in zip(times, log_mids):
        model.on_mid(T0 + int(t_s * S), math.exp(x))
        if before is None and t_s >= 1498.0:
            before = model.estimate(T0 + int(t_s * S))
        if after is None and t_s >= 1503.0:
            after = model.estimate(T0 + int(t_s * S))
    assert before.jump_ratio < 2.0 and before.regime != REGIME_JUMP
    # the return holding the jump spans 0.6–2 s, so the jump is J ≈ 21–30σ after normalisation.
    # fast EWMA (α ≈ 0.023): RV gains ≈ α·J² ≈ 10–20σ², BV only ≈ α·2·π/2·J·0.8σ ≈ 2–3σ²: ratio well above 3
    assert after.jump_ratio > 3.0
    assert after.regime == REGIME_JUMP
    rv_var_gain = after.sigma_total_frac_per_sqrt_s**2 - before.sigma_total_frac_per_sqrt_s**2
    bv_var_gain = after.sigma_frac_per_sqrt_s**2 - before.sigma_frac_per_sqrt_s**2
    assert after.sigma_total_frac_per_sqrt_s > 1.5 * before.sigma_total_frac_per_sqrt_s
    # slow EWMA (α ≈ 0.0058): RV gains α·J², BV ≈ α·π·J·0.8σ, i.e. J/(0.8π) ≈ 8–12× less (0.05–0.22 over seeds
    # 0–11). σ_BV stays within 30 % of the truth: bipower at a 1 s grid is robust, not immune (the jump still
    # pairs with its two neighbours)
    assert bv_var_gain < 0.3 * rv_var_gain
    assert after.sigma_frac_per_sqrt_s == pytest.approx(sigma_true, rel=0.3)


def test_sigma_is_capped_at_ten_times_baseline_and_floored() -> None:
    times, log_mids = random_walk(np.random.default_rng(3), 50 * 2e-4, 900.0)
    wild = VolatilityModel()
    for t_s, x in zip(times, log_mids):
        wild.on_mid(T0 + int(t_s * S), math.exp(x))
    est = wild.estimate(T0 + 900 * S)
    assert est.sigma_frac_per_sqrt_s == pytest.approx(10 * 2e-4)
    assert est.sigma_total_frac_per_sqrt_s == pytest.approx(10 * 2e-4)
    assert est.regime == REGIME_VOLATILE

    flat = VolatilityModel()
    for k in range(3600):
        flat.on_mid(T0 + k * S // 2, 42_000.0)
    est = flat.estimate(T0 + 1800 * S)
    assert est.sigma_frac_per_sqrt_s == pytest.approx(0.05 * 2e-4)  # floor keeps the GLFT skew non-zero (E3)
    assert est.jump_ratio == pytest.approx(1.0)
    assert est.regime == REGIME_CALM


def test_state_round_trip() -> None:
    times, log_mids = random_walk(np.random.default_rng(5), 2e-4, 600.0)
    model = VolatilityModel()
    for t_s, x in zip(times, log_mids):
        model.on_mid(T0 + int(t_s * S), math.exp(x))
    state = json.loads(json.dumps(model.to_state()))
    restored = VolatilityModel.restore(model.params, state)
    ts = T0 + 600 * S
    original, again = model.estimate(ts), restored.estimate(ts)
    assert again.sigma_frac_per_sqrt_s == original.sigma_frac_per_sqrt_s
    assert again.jump_ratio == original.jump_ratio
    assert original.n_returns > 300 and again.n_returns == 0  # counts since start only (lesson E2)
    assert again.last_mid_age_s == math.inf  # the sampling chain restarts after a restore
    with pytest.raises(ValueError, match="unsupported state version"):
        VolatilityModel.restore(model.params, {**state, "version": 99})


def read_archive_mids(path) -> list[tuple[int, float]]:
    """(ts_ns from data.time ms, (best bid + best ask)/2) of every snapshot in the S3 archive file."""
    out = []
    with lz4.frame.open(path, "rt") as f:
        for line in f:
            data = json.loads(line)["raw"]["data"]
            bids, asks = data["levels"]
            out.append((data["time"] * 1_000_000, (float(bids[0]["px"]) + float(asks[0]["px"])) / 2))
    return out


def test_real_btc_hour_sigma_is_plausible(archive_btc_hour) -> None:
    model = VolatilityModel()
    sigmas, regimes = [], []
    for ts_ns, mid in read_archive_mids(archive_btc_hour):
        model.on_mid(ts_ns, mid)
        est = model.estimate(ts_ns)
        sigmas.append(est.sigma_frac_per_sqrt_s)
        regimes.append(est.regime)
    final = model.estimate(ts_ns)
    # 3,599 s on a 1 s grid; a few 1 s intervals hold no snapshot (max gap 2.8 s)
    assert 3500 < final.n_returns < 3599
    # quiet holiday hour: measured ≈ 2.4e-5 /√s (≈ 13 % annualised); a plausible BTC band is 5–60 % annualised
    annualised = np.median(sigmas[len(sigmas) // 4 :]) * math.sqrt(365 * 86400)
    assert 0.05 < annualised < 0.60
    assert 1.0 <= final.jump_ratio <= 10.0
    assert regimes.count(REGIME_JUMP) < 0.05 * len(regimes)  # isolated ticks must not read as jumps
