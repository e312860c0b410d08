"""Jump-robust volatility of the mid: bipower variation on a fixed time grid.

Why bipower: the GLFT half-spread and skew scale with the diffusive σ. Realised variance (RV = Σr²) counts a jump as
variance and would widen quotes for minutes after a single print; bipower variation (BV = π/2·Σ|r_t|·|r_{t−1}|)
converges to the diffusive part only, and RV/BV > 1 flags the jump (inventory §B7 "Volatility (bipower)").

Sampling (inventory §B7 units caveat: the original mixed per-bucket returns with per-second σ):
- The book updates irregularly (≈ every 0.6 s on the bundled hour). Each grid point k·Δ (Δ = `sample_interval_s`,
  1 s by default, aligned to the epoch so results do not depend on the start time) takes the last mid observed at or
  before it (last-value sampling).
- A grid interval with no new update adds no return (the mid there is unknown, not unchanged): with Poisson arrivals
  every 0.6 s, 19 % of 1 s intervals are empty, and their zero returns would bias BV down by 17 % (measured). The
  next return spans the empty intervals or the feed gap.
- Every return is normalised by √(time between the two sampled updates, in s), so all returns estimate σ² per second
  whatever their length (unbiased for any arrival rate). The duration is floored at half a grid step so a one-tick
  move just after a quiet spell is amplified by at most √2.

Estimation:
- EWMAs over returns (not wall time, so a gap does not decay what was learned): σ from a slow BV (`half_life_s`),
  the jump ratio from fast RV and BV (`jump_half_life_s`) so that one jump shows up at once.
- "Prior until enough returns": every EWMA starts with `prior_weight_returns` pseudo-returns at the baseline σ
  (RV = BV = σ_b²). With no data the output is the prior exactly; the prior's weight decays like any old return.
- σ is clamped to [min_sigma_mult, max_sigma_mult]·baseline: the 10× cap is lesson E15; the floor keeps the GLFT skew
  c2·σ away from 0 when q ≠ 0 (lesson E3) after a long flat stretch.

Measured on the bundled BTC hour (2024-01-01 12:00, 1 s grid, defaults): σ_BV ≈ 2.4e-5 /√s (≈ 14 % annualised),
σ_RV ≈ 4.2e-5, full-hour RV/BV ≈ 1.6. Two thirds of the 1 s returns are zero (the mid moves in bursts of whole ticks),
which pulls BV below RV without any jump; hence the jump regime also needs a material jump variance (see
`classify_regime`): it then fires on 2 of 5,587 snapshots instead of 271.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_NS_PER_S = 1_000_000_000
_BIPOWER_SCALE = math.pi / 2.0  # 1/E|Z|² for Z ~ N(0, 1): makes E[π/2·|r_t||r_{t−1}|] = σ²

REGIME_CALM = "calm"
REGIME_NORMAL = "normal"
REGIME_VOLATILE = "volatile"
REGIME_JUMP = "jump"
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class VolatilityParams:
    """Defaults: baseline σ 2e-4 /√s and the 10× cap from DESIGN §5; jump/regime thresholds from inventory §B7."""

    baseline_sigma_frac_per_sqrt_s: float = 2e-4
    sample_interval_s: float = 1.0
    half_life_s: float = 120.0
    jump_half_life_s: float = 30.0
    prior_weight_returns: float = 30.0
    max_sigma_mult: float = 10.0
    min_sigma_mult: float = 0.05
    max_jump_ratio: float = 10.0
    jump_ratio_threshold: float = 3.0
    jump_min_sigma_mult: float = 0.25
    calm_below_mult: float = 0.5
    volatile_above_mult: float = 1.5

    def __post_init__(self) -> None:
        checks = (
            ("baseline_sigma_frac_per_sqrt_s", 0 < self.baseline_sigma_frac_per_sqrt_s < math.inf, "> 0 and finite"),
            ("sample_interval_s", 0 < self.sample_interval_s < math.inf, "> 0 and finite"),
            ("half_life_s", 0 < self.half_life_s < math.inf, "> 0 and finite"),
            ("jump_half_life_s", 0 < self.jump_half_life_s < math.inf, "> 0 and finite"),
            ("prior_weight_returns", 0 < self.prior_weight_returns < math.inf, "> 0 and finite"),
            ("max_sigma_mult", 1 <= self.max_sigma_mult < math.inf, ">= 1 and finite"),
            ("min_sigma_mult", 0 < self.min_sigma_mult <= 1, "in (0, 1]"),
            ("max_jump_ratio", 1 < self.max_jump_ratio < math.inf, "> 1 and finite"),
            ("jump_ratio_threshold", 1 < self.jump_ratio_threshold <= self.max_jump_ratio, "in (1, max_jump_ratio]"),
            ("jump_min_sigma_mult", 0 <= self.jump_min_sigma_mult < math.inf, ">= 0 and finite"),
            ("calm_below_mult", 0 < self.calm_below_mult <= 1, "in (0, 1]"),
            ("volatile_above_mult", 1 <= self.volatile_above_mult < self.max_sigma_mult, "in [1, max_sigma_mult)"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"VolatilityParams.{name}: must be {rule}, got {getattr(self, name)!r}")


@dataclass(frozen=True, slots=True)
class VolatilityEstimate:
    """σ (BV, clamped) and σ_total (RV, clamped) in fraction of price per √s; jump_ratio = fast RV/BV, capped.

    `n_returns` counts returns used since this process started (a restored model starts at 0, like every cold-start
    count: lesson E2). `last_mid_age_s` is the time since the last mid update (inf before any): the caller decides
    staleness.
    """

    sigma_frac_per_sqrt_s: float
    sigma_total_frac_per_sqrt_s: float
    jump_ratio: float
    regime: str
    n_returns: int
    last_mid_age_s: float


def half_life_decay(half_life: float, step: float) -> float:
    """Per-step EWMA retention for a half-life expressed in the same unit as the step."""
    return 0.5 ** (step / half_life)


def classify_regime(sigma_ratio: float, jump_ratio: float, jump_sigma_ratio: float, params: VolatilityParams) -> str:
    """Regime from σ/σ_baseline, RV/BV and the jump part √(RV − BV)/σ_baseline.

    Thresholds from inventory §B7 (0.5 / 1.5 / JR 3), no hysteresis (the EWMAs already smooth). A jump needs a high
    ratio *and* a material jump variance: on a quiet book one isolated tick between flat seconds has no bipower
    neighbour and drives RV/BV above 3 (5 % of the bundled hour) while moving the price by 0.1 bp. A jump wins over the
    σ level because it calls for a different response (pause, not widen).
    """
    if jump_ratio >= params.jump_ratio_threshold and jump_sigma_ratio >= params.jump_min_sigma_mult:
        return REGIME_JUMP
    if sigma_ratio > params.volatile_above_mult:
        return REGIME_VOLATILE
    if sigma_ratio < params.calm_below_mult:
        return REGIME_CALM
    return REGIME_NORMAL


def capped_ratio(num: float, den: float, cap: float) -> float:
    """num/den clamped to [0, cap]; den == 0 (a perfectly flat mid) reads as no jump when num is 0 too."""
    if den <= 0.0:
        return cap if num > 0.0 else 1.0
    return min(num / den, cap)


class _VarianceEwma:
    """RV and BV EWMAs sharing one weight, started from a prior pseudo-sample (σ_b², weight w0)."""

    __slots__ = ("decay", "weight", "rv_sum", "bv_sum")

    def __init__(self, decay: float, prior_var: float, prior_weight: float) -> None:
        self.decay = decay
        self.weight = prior_weight
        self.rv_sum = prior_var * prior_weight
        self.bv_sum = prior_var * prior_weight

    def update(self, sq: float, bipower: float) -> None:
        d = self.decay
        self.weight = d * self.weight + 1.0
        self.rv_sum = d * self.rv_sum + sq
        self.bv_sum = d * self.bv_sum + bipower

    def rv(self) -> float:
        return self.rv_sum / self.weight

    def bv(self) -> float:
        return self.bv_sum / self.weight

    def to_state(self) -> list[float]:
        return [self.weight, self.rv_sum, self.bv_sum]

    def load(self, state: list[float]) -> None:
        self.weight, self.rv_sum, self.bv_sum = (float(x) for x in state)


class VolatilityModel:
    """Feed every mid with `on_mid(ts_ns, mid)` in time order; read `estimate(ts_ns)`."""

    __slots__ = (
        "params",
        "_interval_ns",
        "_slow",
        "_fast",
        "_n_returns",
        "_last_mid",
        "_last_ts_ns",
        "_next_grid_ns",
        "_prev_sample_log_mid",
        "_prev_sample_ns",
        "_prev_abs_ret",
    )

    def __init__(self, params: VolatilityParams | None = None) -> None:
        self.params = params or VolatilityParams()
        p = self.params
        self._interval_ns = max(1, round(p.sample_interval_s * _NS_PER_S))
        prior_var = p.baseline_sigma_frac_per_sqrt_s**2
        step_s, prior_weight = p.sample_interval_s, p.prior_weight_returns
        self._slow = _VarianceEwma(half_life_decay(p.half_life_s, step_s), prior_var, prior_weight)
        self._fast = _VarianceEwma(half_life_decay(p.jump_half_life_s, step_s), prior_var, prior_weight)
        self._n_returns = 0
        # sampling chain: last update seen, first grid point at or after it, last sampled update and |return|
        self._last_mid = math.nan
        self._last_ts_ns = -1
        self._next_grid_ns = -1
        self._prev_sample_log_mid = math.nan
        self._prev_sample_ns = 0
        self._prev_abs_ret = math.nan

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """O(1): at most one sample per update.

        The previous update is sampled when this one lands past the grid point it preceded. Updates older than the
        last one are ignored (the grid only moves forward); non-positive or non-finite mids raise, since a bad mid
        here would poison σ for a half-life.
        """
        if not 0.0 < mid < math.inf:
            raise ValueError(f"VolatilityModel.on_mid: mid must be > 0 and finite, got {mid!r}")
        if ts_ns < self._last_ts_ns:
            return
        if ts_ns > self._next_grid_ns:
            if self._last_ts_ns >= 0:
                self._sample(self._last_ts_ns, math.log(self._last_mid))
            interval = self._interval_ns
            self._next_grid_ns = -(-ts_ns // interval) * interval
        self._last_mid = mid
        self._last_ts_ns = ts_ns

    def _sample(self, obs_ns: int, log_mid: float) -> None:
        prev_ns = self._prev_sample_ns
        prev_log_mid = self._prev_sample_log_mid
        self._prev_sample_ns = obs_ns
        self._prev_sample_log_mid = log_mid
        if prev_log_mid != prev_log_mid:  # NaN: first sample of a chain
            return
        duration_ns = max(obs_ns - prev_ns, self._interval_ns >> 1)
        abs_ret = abs(log_mid - prev_log_mid) / math.sqrt(duration_ns / _NS_PER_S)
        prev_abs_ret = self._prev_abs_ret
        self._prev_abs_ret = abs_ret
        if prev_abs_ret != prev_abs_ret:  # NaN: first return, no bipower pair yet
            return
        sq = abs_ret * abs_ret
        bipower = _BIPOWER_SCALE * abs_ret * prev_abs_ret
        self._slow.update(sq, bipower)
        self._fast.update(sq, bipower)
        self._n_returns += 1

    def estimate(self, ts_ns: int) -> VolatilityEstimate:
        p = self.params
        base = p.baseline_sigma_frac_per_sqrt_s
        lo, hi = p.min_sigma_mult * base, p.max_sigma_mult * base
        sigma = min(max(math.sqrt(self._slow.bv()), lo), hi)
        sigma_total = min(max(math.sqrt(self._slow.rv()), lo), hi)
        fast_rv, fast_bv = self._fast.rv(), self._fast.bv()
        jump_ratio = capped_ratio(fast_rv, fast_bv, p.max_jump_ratio)
        jump_sigma_ratio = math.sqrt(max(fast_rv - fast_bv, 0.0)) / base
        age_s = (ts_ns - self._last_ts_ns) / _NS_PER_S if self._last_ts_ns >= 0 else math.inf
        return VolatilityEstimate(
            sigma_frac_per_sqrt_s=sigma,
            sigma_total_frac_per_sqrt_s=sigma_total,
            jump_ratio=jump_ratio,
            regime=classify_regime(sigma / base, jump_ratio, jump_sigma_ratio, p),
            n_returns=self._n_returns,
            last_mid_age_s=max(age_s, 0.0),
        )

    def to_state(self) -> dict:
        """Learned EWMAs only: neither the sampling chain (a return across a restart means nothing) nor n_returns."""
        return {"version": STATE_VERSION, "slow": self._slow.to_state(), "fast": self._fast.to_state()}

    @classmethod
    def restore(cls, params: VolatilityParams, state: dict) -> VolatilityModel:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"VolatilityModel.restore: unsupported state version {state.get('version')!r}")
        model = cls(params)
        model._slow.load(state["slow"])
        model._fast.load(state["fast"])
        return model

