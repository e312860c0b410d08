"""Jump-robust volatility of the mid: bipower variation of H-second returns sampled every second.

Why bipower: the GLFT half-spread and skew scale with the diffusive σ. Realised variance (RV = Σr²) counts a jump as
variance and would widen quotes for minutes after a single print; bipower variation (BV = π/2·Σ|r_t|·|r_{t−H}|)
converges to the diffusive part only, and RV/BV > 1 flags the jump (inventory §B7 "Volatility (bipower)").

Why H-second returns (`return_horizon_s`, 20 s by default) and not 1 s ones: the mid moves in whole half-ticks, in
bursts. At 1 s, two thirds of the returns on the bundled BTC hour are zero, and a product of neighbouring |r| is zero
whenever either is, so 1 s bipower read σ ≈ 2.4–2.7e-5 /√s against 4.2e-5 realised at 10–60 s (−40 %). Realised σ
of that hour rises from 3.5e-5 at 1 s to 4.2e-5 at 10 s and is flat from there to 60 s; at 20 s a return spans
≈ 8 ticks and the half-tick bounce of the mid adds < 1 % of its variance. So returns are taken over H, where
discreteness no longer biases them, and the quote's σ is the σ that holds over the 10–60 s an inventory is held.

Sampling (O(1) per book event, O(1) per elapsed second):
- Each grid point k·Δ (Δ = `sample_interval_s`, 1 s, aligned to the epoch so results do not depend on the start
  time) takes the last mid observed at or before it. The ring buffer keeps the last 2H/Δ + 1 grid log-mids.
- Every grid step adds one overlapping H-return r_n = x_n − x_{n−K} (K = H/Δ) and its bipower pair with the
  adjacent, non-overlapping return r_{n−K}: RV term r_n²/H, BV term π/2·|r_n|·|r_{n−K}|/H, both σ² per second.
  Overlapping returns use every second of data (a 20 s return every second, not every 20 s) at no bias.
- A feed gap longer than `max_feed_gap_s` restarts the chain (the mid there is unknown, not unchanged: carried
  forward it would add returns that are too small); the first bipower pair then comes 2H later.

Estimation:
- EWMAs over grid steps: σ from a slow BV (`half_life_s`), the jump ratio from fast RV and BV (`jump_half_life_s`).
  A feed gap does not decay what was learned (no steps are taken over it).
- Prior until enough returns: every EWMA starts with `prior_weight_s` seconds' worth of pseudo-returns at the
  instrument's prior σ (``InstrumentPriors.sigma_frac_per_sqrt_s``, RV = BV = σ_prior²). With no data the output is
  the prior exactly; the prior's weight decays like any old return.
- σ is clamped to [min_sigma_mult, max_sigma_mult]·σ_prior: the 10× cap is lesson E15; the floor keeps the GLFT skew
  c2·σ away from 0 when q ≠ 0 (lesson E3) after a long flat stretch.

Measured with the defaults against realised σ at 10–60 s (`benchmarks/validate_estimators.py`): on the bundled BTC
hour the reading averages 3.9e-5 (0.92×) against 4.25e-5 realised, from a prior ½× or 2× off (1 s bipower: 2.6e-5).
Bipower sits a little under RV there because the hour's 20 s returns are fat-tailed. The HL captures of 2025-09-03
hold only 290 s of book each (a 250 s gap): the reading moves from a prior ½× or 2× off to 0.77–0.87× or 1.22–1.28×
of realised (BTC 5.5e-5, ETH 9.7e-5, SOL 1.7e-4 /√s), bracketing it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec

from mm_strategy.models.priors import InstrumentPriors

_NS_PER_S = 1_000_000_000
_BIPOWER_SCALE = math.pi / 2.0  # 1/E|Z|² for Z ~ N(0, 1): makes E[π/2·|r_t||r_{t−H}|] = σ²·H

REGIME_CALM = "calm"
REGIME_NORMAL = "normal"
REGIME_VOLATILE = "volatile"
REGIME_JUMP = "jump"
STATE_VERSION = 2


@dataclass(frozen=True, slots=True)
class VolatilityParams:
    """The 10× cap from DESIGN §5; jump/regime thresholds from inventory §B7; horizon and half-lives chosen on the
    bundled data (module docstring). The baseline σ is the instrument prior, not a parameter."""

    sample_interval_s: float = 1.0
    return_horizon_s: float = 20.0
    half_life_s: float = 300.0
    jump_half_life_s: float = 60.0
    prior_weight_s: float = 60.0
    max_feed_gap_s: float = 10.0
    max_sigma_mult: float = 10.0
    min_sigma_mult: float = 0.05
    max_jump_ratio: float = 10.0
    jump_ratio_threshold: float = 3.0
    jump_min_sigma_mult: float = 0.25
    calm_below_mult: float = 0.5
    volatile_above_mult: float = 1.5

    def __post_init__(self) -> None:
        steps = self.return_horizon_s / self.sample_interval_s if self.sample_interval_s > 0 else math.nan
        checks = (
            ("sample_interval_s", 0 < self.sample_interval_s < math.inf, "> 0 and finite"),
            (
                "return_horizon_s",
                steps >= 1 and abs(steps - round(steps)) < 1e-9 and steps <= 3600,
                "a whole multiple (1 to 3600) of sample_interval_s",
            ),
            ("half_life_s", 0 < self.half_life_s < math.inf, "> 0 and finite"),
            ("jump_half_life_s", 0 < self.jump_half_life_s < math.inf, "> 0 and finite"),
            ("prior_weight_s", 0 < self.prior_weight_s < math.inf, "> 0 and finite"),
            (
                "max_feed_gap_s",
                self.sample_interval_s <= self.max_feed_gap_s <= self.return_horizon_s,
                "in [sample_interval_s, return_horizon_s]",
            ),
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


class VolatilityReading(msgspec.Struct, frozen=True):
    """σ (BV, clamped) and σ_total (RV, clamped) in fraction of price per √s; jump_ratio = fast RV/BV, capped.

    `n_returns` counts the H-returns used since this process started (a restored model starts at 0, like every
    cold-start count: lesson E2). `last_mid_age_s` is the time since the last mid update (inf before any): the
    caller decides staleness.
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
    """Regime from σ/σ_prior, RV/BV and the jump part √(RV − BV)/σ_prior.

    Thresholds from inventory §B7 (0.5 / 1.5 / JR 3), no hysteresis (the EWMAs already smooth). A jump needs a high
    ratio *and* a material jump variance, so a flat stretch broken by one tick does not read as a jump. A jump wins
    over the σ level because it is a different event from a volatile diffusion. The regime is reported (estimator
    series, report) and no quote input reads it: the quote's σ stays the diffusive one, and what follows a jump is
    answered where it shows, by the adverse-selection add-on of the side hit and by the kill switch's burst pause.
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
    """RV and BV EWMAs sharing one weight, started from a prior pseudo-sample (σ_prior², weight w0)."""

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
        "priors",
        "_interval_ns",
        "_max_gap_ns",
        "_k",
        "_horizon_s",
        "_slow",
        "_fast",
        "_n_returns",
        "_last_mid",
        "_last_ts_ns",
        "_next_grid_ns",
        "_ring",
        "_n_samples",
        "_levels",
    )

    def __init__(self, params: VolatilityParams, priors: InstrumentPriors) -> None:
        self.params = params
        self.priors = priors
        p = params
        self._interval_ns = max(1, round(p.sample_interval_s * _NS_PER_S))
        self._max_gap_ns = round(p.max_feed_gap_s * _NS_PER_S)
        self._k = round(p.return_horizon_s / p.sample_interval_s)
        self._horizon_s = self._k * p.sample_interval_s
        prior_var = priors.sigma_frac_per_sqrt_s**2
        step_s = p.sample_interval_s
        prior_weight = p.prior_weight_s / step_s
        self._slow = _VarianceEwma(half_life_decay(p.half_life_s, step_s), prior_var, prior_weight)
        self._fast = _VarianceEwma(half_life_decay(p.jump_half_life_s, step_s), prior_var, prior_weight)
        self._n_returns = 0
        self._last_mid = math.nan
        self._last_ts_ns = -1
        self._next_grid_ns = -1  # first grid point not yet sampled (>= the last update's ts)
        self._ring = [0.0] * (2 * self._k + 1)  # grid log-mids; index n mod len
        self._n_samples = 0  # grid points sampled since the chain (re)started
        self._levels: tuple[float, float, float, str] | None = None  # σ, σ_total, jump ratio, regime; None = stale

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """Samples every grid point in [last update, ts_ns) with the last mid, then records this one.

        Updates older than the last one are ignored (the grid only moves forward); non-positive or non-finite mids
        raise, since a bad mid here would poison σ for a half-life.
        """
        if not 0.0 < mid < math.inf:
            raise ValueError(f"VolatilityModel.on_mid: mid must be > 0 and finite, got {mid!r}")
        if ts_ns < self._last_ts_ns:
            return
        interval = self._interval_ns
        if self._last_ts_ns < 0 or ts_ns - self._last_ts_ns > self._max_gap_ns:
            self._n_samples = 0  # first update or a feed gap: restart the chain
        elif self._next_grid_ns < ts_ns:  # a grid point passed since the last update: sample it (and any others)
            log_mid = math.log(self._last_mid)
            grid_ns = self._next_grid_ns
            while grid_ns < ts_ns:
                self._sample(log_mid)
                grid_ns += interval
        self._next_grid_ns = -(-ts_ns // interval) * interval
        self._last_mid = mid
        self._last_ts_ns = ts_ns

    def _sample(self, log_mid: float) -> None:
        ring, k = self._ring, self._k
        size = len(ring)
        n = self._n_samples
        ring[n % size] = log_mid
        self._n_samples = n + 1
        if n < 2 * k:
            return
        mid_back = ring[(n - k) % size]
        ret = log_mid - mid_back
        prev_ret = mid_back - ring[(n - 2 * k) % size]
        horizon_s = self._horizon_s
        sq = ret * ret / horizon_s
        bipower = _BIPOWER_SCALE * abs(ret) * abs(prev_ret) / horizon_s
        self._slow.update(sq, bipower)
        self._fast.update(sq, bipower)
        self._n_returns += 1
        self._levels = None

    def estimate(self, ts_ns: int) -> VolatilityReading:
        """The levels change once per grid step at most and are computed then, on demand; only the age is new."""
        levels = self._levels
        if levels is None:
            levels = self._levels = self._compute_levels()
        age_s = (ts_ns - self._last_ts_ns) / _NS_PER_S if self._last_ts_ns >= 0 else math.inf
        # positional, in field order: the levels, n_returns, last_mid_age_s
        return VolatilityReading(*levels, self._n_returns, age_s if age_s > 0.0 else 0.0)

    def _compute_levels(self) -> tuple[float, float, float, str]:
        p = self.params
        base = self.priors.sigma_frac_per_sqrt_s
        lo, hi = p.min_sigma_mult * base, p.max_sigma_mult * base
        sigma = min(max(math.sqrt(self._slow.bv()), lo), hi)
        sigma_total = min(max(math.sqrt(self._slow.rv()), lo), hi)
        fast_rv, fast_bv = self._fast.rv(), self._fast.bv()
        jump_ratio = capped_ratio(fast_rv, fast_bv, p.max_jump_ratio)
        jump_sigma_ratio = math.sqrt(max(fast_rv - fast_bv, 0.0)) / base
        return sigma, sigma_total, jump_ratio, classify_regime(sigma / base, jump_ratio, jump_sigma_ratio, p)

    def to_state(self) -> dict:
        """Learned EWMAs only: neither the sampling chain (a return across a restart means nothing) nor n_returns."""
        return {"version": STATE_VERSION, "slow": self._slow.to_state(), "fast": self._fast.to_state()}

    @classmethod
    def restore(cls, params: VolatilityParams, priors: InstrumentPriors, state: dict) -> VolatilityModel:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"VolatilityModel.restore: unsupported state version {state.get('version')!r}")
        model = cls(params, priors)
        model._slow.load(state["slow"])
        model._fast.load(state["fast"])
        return model
