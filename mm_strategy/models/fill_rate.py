"""Fill intensity of our own resting orders by depth: λ(δ) = λ₀·exp(−δ/δ_char), fills per second per order.

Why a survival model (inventory §B4 wiring caveat): the original fed only fills, each with a fixed 60 s duration, so
δ_char never moved. An order is a Poisson clock at rate λ(δ) while it rests; each resting spell is one observation
(δ_bps, T_s, k):
- filled after resting T s at δ: one event over exposure T (k = 1);
- cancelled/replaced/expired after T s without a fill: exposure T with no event (k = 0), a censored observation;
- a partial fill is an event; the remainder's next spell starts at that fill.
Log-likelihood Σ k·ln λ(δ) − T·λ(δ): a Poisson regression with log link and ln T offset. δ is the depth at
placement, from the mid at placement (the same anchor as κ and AS, lesson E10), clamped to [0, max_depth_bps].

Estimation (conjugate in λ₀, MAP in b = 1/δ_char):
- prior λ₀ ~ Gamma(a₀, b₀) with a₀ = strength pseudo-fills and b₀ = a₀/λ₀_prior seconds of exposure at depth 0
  (defaults: 10 fills in 12.5 s ⇒ mean 0.8 /s);
- prior b ~ Gamma(s + 1, s·δ_char_prior), whose mode is exactly 1/δ_char_prior (s = 5);
- given b, λ₀ | data ~ Gamma(a₀ + K, b₀ + S(b)), K = Σ w·k, S(b) = Σ w·T·e^(−b·δ); integrating λ₀ out leaves
  ln p(b | data) = −b·Σ w·k·δ − (a₀ + K)·ln(b₀ + S(b)) + s·ln b − s·δ_char_prior·b + const,
  strictly concave in b. Safeguarded Newton on it (bisection when a step leaves the bracket the gradient's sign
  gives), warm-started, in [1/max_δ_char, 1/min_δ_char];
- reported λ₀ is the posterior mean (a₀ + K)/(b₀ + S(b̂)). A censored observation only adds exposure, so it can only
  lower λ₀ (at its depth) — the non-fills the original never saw.
- Exponential forgetting per observation: before each new observation every weight w is multiplied by
  f = 0.5^(1/half_life_obs), so after 100 further observations an old one counts half (the seed's half-life 100).
  The prior is not forgotten: with no data left the model returns to it.

Statistics are binned by depth (`depth_bin_bps`, 0.5 bp ≈ two BTC ticks at 42 k USD: rounding a depth by at most
0.25 bp moves λ by at most 2.5 % at δ_char = 10 bp), so an update is O(bins) with no per-observation memory and a
fit is a few vectorised passes over ≤ 201 bins.

The GLFT `A` is λ₀ (fills/s at zero depth, per order); the lead converts units. `observations` counts this process's
observations (lesson E2) and gates `is_warm` (30); before that the posterior is still reported: with 10 prior
pseudo-fills the prior dominates early data by construction, so there is no jump at the warmup boundary.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

_NS_PER_S = 1_000_000_000
STATE_VERSION = 1
_NEWTON_MAX_ITER = 50
_NEWTON_TOL = 1e-10


@dataclass(frozen=True, slots=True)
class FillRateParams:
    """Defaults: λ₀ prior 0.8 /s strength 10, δ_char 10 bps strength 5, half-life 100 obs, warmup 30, depth ≤ 100 bps
    and δ_char ∈ [1, 50] bps from inventory §B4 / DESIGN §5; the 900 s rate window matches the calibration lookback."""

    lambda0_prior_per_s: float = 0.8
    lambda0_prior_strength: float = 10.0
    delta_char_prior_bps: float = 10.0
    delta_char_prior_strength: float = 5.0
    half_life_obs: float = 100.0
    warmup_obs: int = 30
    max_depth_bps: float = 100.0
    depth_bin_bps: float = 0.5
    min_delta_char_bps: float = 1.0
    max_delta_char_bps: float = 50.0
    rate_window_s: float = 900.0

    def __post_init__(self) -> None:
        checks = (
            ("lambda0_prior_per_s", 0 < self.lambda0_prior_per_s < math.inf, "> 0 and finite"),
            ("lambda0_prior_strength", 0 < self.lambda0_prior_strength < math.inf, "> 0 and finite"),
            ("min_delta_char_bps", 0 < self.min_delta_char_bps < math.inf, "> 0 and finite"),
            ("max_delta_char_bps", self.min_delta_char_bps < self.max_delta_char_bps < math.inf,
             "> min_delta_char_bps and finite"),
            ("delta_char_prior_bps", self.min_delta_char_bps <= self.delta_char_prior_bps <= self.max_delta_char_bps,
             "in [min_delta_char_bps, max_delta_char_bps]"),
            ("delta_char_prior_strength", 0 < self.delta_char_prior_strength < math.inf, "> 0 and finite"),
            ("half_life_obs", 0 < self.half_life_obs < math.inf, "> 0 and finite"),
            ("warmup_obs", self.warmup_obs >= 0, ">= 0"),
            ("max_depth_bps", 0 < self.max_depth_bps < math.inf, "> 0 and finite"),
            ("depth_bin_bps", 0 < self.depth_bin_bps <= self.max_depth_bps, "in (0, max_depth_bps]"),
            ("rate_window_s", 0 < self.rate_window_s < math.inf, "> 0 and finite"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"FillRateParams.{name}: must be {rule}, got {getattr(self, name)!r}")


@dataclass(frozen=True, slots=True)
class FillRateEstimate:
    """λ₀ (fills/s per order at zero depth), δ_char (bps), and our observed fill rate (fills per hour of event time
    over the trailing `rate_window_s`, or over what has been seen of it). `effective_*` are the forgetting-weighted
    sums the fit used; `observations` counts this process's observations only."""

    lambda0_per_s: float
    delta_char_bps: float
    observed_fills_per_hour: float
    observations: int
    effective_observations: float
    effective_fills: float
    effective_exposure_s: float
    is_warm: bool

    def intensity_per_s(self, delta_bps: float) -> float:
        """λ(δ) = λ₀·exp(−δ/δ_char): expected fills per second of one order resting δ bps from the mid."""
        return self.lambda0_per_s * math.exp(-max(delta_bps, 0.0) / self.delta_char_bps)


class TrailingEventWindow:
    """Event timestamps in a trailing window of event time, and how much of that window has been observed.

    `span_s` = min(window, now − first timestamp seen): a rate over a window that has not been observed in full is
    normalised by the observed part (lesson E12, calibration docstring). Time only moves forward: an older timestamp
    is treated as the latest one seen, which keeps the deque sorted.
    """

    __slots__ = ("_window_ns", "_times", "_start_ns", "_now_ns")

    def __init__(self, window_s: float) -> None:
        self._window_ns = round(window_s * _NS_PER_S)
        self._times: deque[int] = deque()
        self._start_ns: int | None = None
        self._now_ns = 0

    def advance(self, ts_ns: int) -> None:
        if self._start_ns is None:
            self._start_ns = self._now_ns = ts_ns
        elif ts_ns > self._now_ns:
            self._now_ns = ts_ns
        cutoff = self._now_ns - self._window_ns
        times = self._times
        while times and times[0] <= cutoff:
            times.popleft()

    def add(self, ts_ns: int) -> None:
        self.advance(ts_ns)
        self._times.append(self._now_ns)

    @property
    def count(self) -> int:
        return len(self._times)

    @property
    def span_s(self) -> float:
        if self._start_ns is None:
            return 0.0
        return min(self._now_ns - self._start_ns, self._window_ns) / _NS_PER_S


def fit_decay(
    fills: np.ndarray,
    exposure_s: np.ndarray,
    depth_bps: np.ndarray,
    params: FillRateParams,
    b_start: float,
) -> tuple[float, float]:
    """(λ₀ posterior mean, b̂ = 1/δ_char MAP) from binned forgetting-weighted fills and exposures (module docstring).

    Newton on the concave profile ln p(b | data); the gradient and curvature are
        g = −D + α·S₁/β + s/b − s·δ₀,   h = α·(S₁² − S₂·β)/β² − s/b²  (< 0),
    with α = a₀ + ΣK, β = b₀ + S, S_m = Σ E·δ^m·e^(−bδ), D = Σ K·δ.
    """
    a0 = params.lambda0_prior_strength
    b0 = a0 / params.lambda0_prior_per_s
    s = params.delta_char_prior_strength
    s_delta0 = s * params.delta_char_prior_bps
    b_lo, b_hi = 1.0 / params.max_delta_char_bps, 1.0 / params.min_delta_char_bps
    alpha = a0 + float(fills.sum())
    fill_depth = float(fills @ depth_bps)
    e1 = exposure_s * depth_bps
    e2 = e1 * depth_bps
    b = min(max(b_start, b_lo), b_hi)
    for _ in range(_NEWTON_MAX_ITER):
        decay = np.exp(-b * depth_bps)
        beta = b0 + float(exposure_s @ decay)
        s1 = float(e1 @ decay)
        s2 = float(e2 @ decay)
        grad = -fill_depth + alpha * s1 / beta + s / b - s_delta0
        curv = alpha * (s1 * s1 - s2 * beta) / (beta * beta) - s / (b * b)
        # g is decreasing (concavity), so its sign brackets the mode; a Newton step leaving the bracket bisects
        if grad > 0.0:
            b_lo = b
        else:
            b_hi = b
        b_new = b - grad / curv
        if not b_lo < b_new < b_hi:
            b_new = 0.5 * (b_lo + b_hi)
        done = abs(b_new - b) <= _NEWTON_TOL * b
        b = b_new
        if done:
            break
    beta = b0 + float(exposure_s @ np.exp(-b * depth_bps))
    return alpha / beta, b


class FillRateModel:
    """Feed `on_order_outcome` once per resting spell of each of our orders (fill or cancel, lesson E11); read
    `estimate(ts_ns)`. The fit is recomputed lazily, only when an observation arrived since the last estimate."""

    __slots__ = ("params", "_depths_bps", "_fills", "_exposure_s", "_weight", "_forget", "_observations",
                 "_fill_times", "_b", "_lambda0", "_dirty")

    def __init__(self, params: FillRateParams | None = None) -> None:
        self.params = p = params or FillRateParams()
        n_bins = int(round(p.max_depth_bps / p.depth_bin_bps)) + 1
        self._depths_bps = np.arange(n_bins) * p.depth_bin_bps
        self._fills = np.zeros(n_bins)
        self._exposure_s = np.zeros(n_bins)
        self._weight = 0.0  # forgetting-weighted number of observations
        self._forget = 0.5 ** (1.0 / p.half_life_obs)
        self._observations = 0
        self._fill_times = TrailingEventWindow(p.rate_window_s)
        self._b = 1.0 / p.delta_char_prior_bps
        self._lambda0 = p.lambda0_prior_per_s
        self._dirty = False

    def on_order_outcome(self, ts_ns: int, depth_bps: float, rested_s: float, filled: bool) -> None:
        """One resting spell: `rested_s` at `depth_bps` (from the mid at placement), ended by a fill or not.
        O(bins) vectorised: decay all weights by f, then add this observation to its depth bin."""
        if not 0.0 <= rested_s < math.inf:
            raise ValueError(f"FillRateModel.on_order_outcome: rested_s must be >= 0 and finite, got {rested_s!r}")
        if not math.isfinite(depth_bps):
            raise ValueError(f"FillRateModel.on_order_outcome: depth_bps must be finite, got {depth_bps!r}")
        p = self.params
        i = round(min(max(depth_bps, 0.0), p.max_depth_bps) / p.depth_bin_bps)
        f = self._forget
        self._fills *= f
        self._exposure_s *= f
        self._weight = self._weight * f + 1.0
        self._exposure_s[i] += rested_s
        if filled:
            self._fills[i] += 1.0
            self._fill_times.add(ts_ns)
        else:
            self._fill_times.advance(ts_ns)
        self._observations += 1
        self._dirty = True

    def estimate(self, ts_ns: int) -> FillRateEstimate:
        p = self.params
        window = self._fill_times
        window.advance(ts_ns)
        if self._dirty:
            self._lambda0, self._b = fit_decay(self._fills, self._exposure_s, self._depths_bps, p, self._b)
            self._dirty = False
        span_s = window.span_s
        return FillRateEstimate(
            lambda0_per_s=self._lambda0,
            delta_char_bps=1.0 / self._b,
            observed_fills_per_hour=window.count / span_s * 3600.0 if span_s > 0.0 else 0.0,
            observations=self._observations,
            effective_observations=self._weight,
            effective_fills=float(self._fills.sum()),
            effective_exposure_s=float(self._exposure_s.sum()),
            is_warm=self._observations >= p.warmup_obs,
        )

    def to_state(self) -> dict:
        """The binned weighted statistics (non-zero bins only) and the last b̂; not the observed-rate window nor the
        observation count (E2: a restored model is fitted but not warm)."""
        nonzero = np.flatnonzero((self._fills > 0.0) | (self._exposure_s > 0.0))
        return {
            "version": STATE_VERSION,
            "depth_bin_bps": self.params.depth_bin_bps,
            "bins": [[int(i), float(self._fills[i]), float(self._exposure_s[i])] for i in nonzero],
            "weight": self._weight,
            "b_per_bps": self._b,
        }

    @classmethod
    def restore(cls, params: FillRateParams, state: dict) -> FillRateModel:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"FillRateModel.restore: unsupported state version {state.get('version')!r}")
        if state["depth_bin_bps"] != params.depth_bin_bps:
            raise ValueError(
                f"FillRateModel.restore: state binned at {state['depth_bin_bps']!r} bps, params at "
                f"{params.depth_bin_bps!r}"
            )
        model = cls(params)
        n_bins = len(model._depths_bps)
        for i, fills, exposure_s in state["bins"]:
            if not (0 <= i < n_bins and fills >= 0.0 and exposure_s >= 0.0):
                raise ValueError(f"FillRateModel.restore: bad bin {[i, fills, exposure_s]!r}")
            model._fills[i] = fills
            model._exposure_s[i] = exposure_s
        model._weight = float(state["weight"])
        model._b = float(state["b_per_bps"])
        model._dirty = True
        return model
