"""Blended κ: the decay of fill intensity with quote distance, λ(δ) ∝ exp(−κ·δ), δ = |px − mid|/mid.

κ is in 1/price-fraction (κ = 2500 ↔ a mean fill distance of 1/2500 = 4 bps). Three sources (inventory §B1, §B7,
DESIGN §5), per side (bid = the side our buy orders rest on):

1. Book κ, from market data, refreshed continuously:
   - **trade arrivals** when the side saw at least `min_trades` trades in the window: hftbacktest's estimator
     (mm_anchors §1.2). A quote at depth δ is hit by every trade that reached depth ≥ δ, so the arrival rate at
     δ is the survival count N(δ) = #{trades with depth ≥ δ}; OLS of ln N(δ_j) on the bin depths δ_j gives −κ.
     (This cumulates *trades*, which is right; the rate normalisation 1/window only moves the intercept.)
   - otherwise **per-level book size**: OLS of ln(size at level i) on its distance δ_i. Never cumulative depth:
     cumulative depth rises with δ, so −slope ≤ 0 and the original pinned κ at its lower clamp forever (§B1 flaw).
     Successive snapshots are pooled with a time half-life (`book_half_life_s`): one fit on 20 noisy levels
     jumps whenever a large order appears, and a jumping κ is a flickering quote.
   Each fit is clamped to [kappa_min, kappa_max] and reports R².
2. Own-fill κ: Gamma–Exponential conjugate posterior on the **count** of our fills in the window and the sum of
   their distances from the mid **at placement** (lessons E10, E11): α = strength + n, β = strength/prior + Σd,
   κ_own = α/β. Prior Gamma(5, 5/2500): five pseudo-fills at 4 bps.
   Caveat, as DESIGN specifies it: a maker fill prints at our limit, so its distance is the depth *we* quoted.
   κ_own is 1/(mean quoted depth of the orders that filled): it follows our own quoting (quote wider → κ_own
   falls → GLFT quotes wider). fill_rate.py, which also sees the exposure of orders that did not fill, estimates
   the same decay without that loop (κ = 1e4/δ_char_bps).
3. The prior (2500), which stands in for book κ whenever the book fit is unreliable.

Reliability of a side's book κ, checked in this order, first failure is the reason (DESIGN §5, two-sided per
§B1/E11): fewer than `min_book_updates` observations behind the fit; no fit (< 3 points or no spread in δ);
R² < `min_r2`; κ > `reliability_ratio`·prior; κ < prior/`reliability_ratio`. An unreliable side uses the prior.

Blend (§B1, on the *windowed* count, so expired fills hand the weight back): w = 1/(1 + exp(−(n − 10)/5)),
κ_side = (1 − w)·κ_book_side + w·κ_own, clamped. The original's extra ×0.8 "warmup factor" is left out on
purpose: the warmup uplift lives in warmup.py and enters γ once (lesson E5).

Cold start (lesson E2): the posterior keeps restored fills that are still inside the window, but
`fills_since_start` counts only this process's fills, and `own_confidence` — the share of the posterior's α that
comes from real data, n/(n + strength) with n = min(windowed, since start) — is 0 after a restore. It is the κ
confidence the calibration controller should use; the original's 1/(1 + CV) is already 0.69 from the prior alone
(CV = 1/√5), which would call κ calibrated before any fill.

Measured on the bundled BTC hour (defaults, both sides): book κ p10 50 (the floor: 37 % of fits see size *grow*
with distance), median 140, p90 410, median R² 0.014. Per-level size on a BTC book says next to nothing about fill
intensity; the R² gate rejects every snapshot, so a trade-less backtest quotes from the prior until our own fills
move the blend. On the 26 s WS recording nearly every trade prints at the touch (0.05 bp, one bin), so the
trade-arrival fit lacks depths too (hftbacktest issue #32) and the levels fit stands in.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

_NS_PER_S = 1_000_000_000
_BPS = 1e4
MIN_DISTANCE_FRAC = 1e-5  # 0.1 bp floor on own-fill distances (§B1): a zero distance would make κ_own explode
STATE_VERSION = 1


class BookReason(StrEnum):
    """Why a side's book κ is (not) used; the value is what the actor publishes as `book_reason`."""

    OK = "ok"
    TOO_FEW_UPDATES = "too_few_updates"
    NO_FIT = "no_fit"
    LOW_R2 = "low_r2"
    ABOVE_MAX = "above_max"
    BELOW_MIN = "below_min"


class BookSource(StrEnum):
    TRADES = "trades"
    LEVELS = "levels"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class KappaParams:
    """Defaults: prior/strength/blend/window from DESIGN §5 (seed values, §B1); clamp [50, 10000] from the
    original's book-κ estimator (§B7 KappaOrchestrator); reliability 3× / 10 updates / R² 0.3 from DESIGN §5."""

    prior: float = 2500.0
    strength: float = 5.0
    blend_min_fills: float = 10.0
    blend_scale: float = 5.0
    window_s: float = 600.0
    kappa_min: float = 50.0
    kappa_max: float = 10_000.0
    reliability_ratio: float = 3.0
    min_book_updates: int = 10
    min_r2: float = 0.3
    book_levels: int = 20
    book_half_life_s: float = 5.0
    min_trades: int = 20
    trade_bin_bps: float = 0.5
    trade_bins: int = 40

    def __post_init__(self) -> None:
        checks = (
            ("kappa_min", 0 < self.kappa_min < math.inf, "> 0 and finite"),
            ("kappa_max", self.kappa_min < self.kappa_max < math.inf, "> kappa_min and finite"),
            ("prior", self.kappa_min <= self.prior <= self.kappa_max, "in [kappa_min, kappa_max]"),
            ("strength", 0 < self.strength < math.inf, "> 0 and finite"),
            ("blend_min_fills", 0 <= self.blend_min_fills < math.inf, ">= 0 and finite"),
            ("blend_scale", 0 < self.blend_scale < math.inf, "> 0 and finite"),
            ("window_s", 0 < self.window_s < math.inf, "> 0 and finite"),
            ("reliability_ratio", 1 < self.reliability_ratio < math.inf, "> 1 and finite"),
            ("min_book_updates", self.min_book_updates >= 1, ">= 1"),
            ("min_r2", 0 <= self.min_r2 <= 1, "in [0, 1]"),
            ("book_levels", self.book_levels >= 3, ">= 3"),
            ("book_half_life_s", 0 <= self.book_half_life_s < math.inf, ">= 0 and finite (0 = no pooling)"),
            ("min_trades", self.min_trades >= 3, ">= 3"),
            ("trade_bin_bps", 0 < self.trade_bin_bps < math.inf, "> 0 and finite"),
            ("trade_bins", self.trade_bins >= 3, ">= 3"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"KappaParams.{name}: must be {rule}, got {getattr(self, name)!r}")


@dataclass(frozen=True, slots=True)
class ExpFit:
    """OLS of ln(quantity) on distance: quantity ∝ exp(−kappa·δ). `kappa` is −slope, unclamped."""

    kappa: float
    r2: float


@dataclass(frozen=True, slots=True)
class BookSideFit:
    """One side's book κ: the clamped fit (NaN when none), its R² (NaN when none), where it came from, the
    reliability verdict, and the value that enters the blend (the fit when reliable, else the prior)."""

    kappa_fit: float
    r2: float
    source: BookSource
    observations: int
    reason: BookReason
    kappa_eff: float

    @property
    def reliable(self) -> bool:
        return self.reason is BookReason.OK


@dataclass(frozen=True, slots=True)
class KappaEstimate:
    """κ per side for GLFT (1/price-fraction) and what produced it (DESIGN §3 KappaEstimate plus diagnostics).

    - kappa_book: mean of the two sides' effective book κ (the prior on an unreliable side).
    - book_reliable: both sides reliable; book_reason: the bid's reason if it failed, else the ask's.
    - own_fill_count: own fills in the window (drives the blend); fills_since_start: this process only (gates).
    - own_confidence: n/(n + strength), n = min(own_fill_count, fills_since_start) (module docstring).
    """

    kappa_bid: float
    kappa_ask: float
    kappa_book: float
    kappa_own: float
    kappa_own_sd: float
    own_confidence: float
    book_reliable: bool
    book_reason: BookReason
    own_fill_count: int
    fills_since_start: int
    blend_weight: float
    book_updates: int
    bid: BookSideFit
    ask: BookSideFit


def blend_weight(n_fills: float, min_fills: float, scale: float) -> float:
    """Sigmoid weight of own-fill κ: 0.12 at n = 0, 0.5 at n = min_fills, 0.88 at min_fills + 2·scale (§B1)."""
    z = (n_fills - min_fills) / scale
    if z < -700.0:  # exp overflow guard; the weight is 0 to double precision long before this
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def gamma_posterior(n_fills: int, sum_distance_frac: float, prior: float, strength: float) -> tuple[float, float]:
    """(mean, sd) of the Gamma(strength + n, strength/prior + Σd) posterior on κ; counts, not sizes (§B1, E11)."""
    alpha = strength + n_fills
    beta = strength / prior + sum_distance_frac
    return alpha / beta, math.sqrt(alpha) / beta


def book_reliability(fit_kappa: float | None, r2: float, observations: int, params: KappaParams) -> BookReason:
    """The two-sided reliability rule of the module docstring; `fit_kappa` is the clamped fit or None."""
    if observations < params.min_book_updates:
        return BookReason.TOO_FEW_UPDATES
    if fit_kappa is None:
        return BookReason.NO_FIT
    if r2 < params.min_r2:
        return BookReason.LOW_R2
    if fit_kappa > params.reliability_ratio * params.prior:
        return BookReason.ABOVE_MAX
    if fit_kappa < params.prior / params.reliability_ratio:
        return BookReason.BELOW_MIN
    return BookReason.OK


def clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


class _Regression:
    """Weighted sufficient statistics of (x, y) for OLS, with exponential decay for pooling over time."""

    __slots__ = ("w", "sx", "sy", "sxx", "sxy", "syy")

    def __init__(self) -> None:
        self.w = self.sx = self.sy = self.sxx = self.sxy = self.syy = 0.0

    def decay(self, factor: float) -> None:
        self.w *= factor
        self.sx *= factor
        self.sy *= factor
        self.sxx *= factor
        self.sxy *= factor
        self.syy *= factor

    def add(self, x: float, y: float) -> None:
        self.w += 1.0
        self.sx += x
        self.sy += y
        self.sxx += x * x
        self.sxy += x * y
        self.syy += y * y

    def add_levels(self, levels: Sequence[tuple[float, float]], mid: float, max_levels: int) -> None:
        """x = |px − mid|/mid, y = ln(size) for the first `max_levels` levels with size > 0.

        The hot path of the κ actor (every book event): inlined sums on local floats, no per-level calls or
        arrays. Measured at 20 levels: 3.1 µs per side, against 7–8 µs to build and reduce numpy arrays.
        """
        inv_mid = 1.0 / mid
        log = math.log
        w = sx = sy = sxx = sxy = syy = 0.0
        for px, sz in levels[:max_levels]:
            if sz <= 0.0:
                continue
            x = abs(px - mid) * inv_mid
            y = log(sz)
            w += 1.0
            sx += x
            sy += y
            sxx += x * x
            sxy += x * y
            syy += y * y
        self.w += w
        self.sx += sx
        self.sy += sy
        self.sxx += sxx
        self.sxy += sxy
        self.syy += syy

    def fit(self) -> ExpFit | None:
        """None with less than 3 points' weight or no spread in x. R² = 0 when y is constant (no decay seen)."""
        w = self.w
        if w < 3.0:
            return None
        vxx = self.sxx - self.sx * self.sx / w
        if vxx <= 1e-12 * self.sxx:
            return None
        vxy = self.sxy - self.sx * self.sy / w
        vyy = self.syy - self.sy * self.sy / w
        r2 = vxy * vxy / (vxx * vyy) if vyy > 0.0 else 0.0
        return ExpFit(kappa=-vxy / vxx, r2=min(r2, 1.0))

    def reset(self) -> None:
        self.w = self.sx = self.sy = self.sxx = self.sxy = self.syy = 0.0


class _ArrivalDepths:
    """Depths of one side's trades in a trailing window, binned for the survival regression (mm_anchors §1.2).

    A depth in bin i satisfies i·w ≤ d < (i+1)·w; depths beyond the last bin go into it, which keeps the survival
    count N_j = Σ_{i≥j} count_i = #{d ≥ j·w} exact for every bin. The fit is cached until the window changes.
    """

    __slots__ = ("_window_ns", "_bin_frac", "_events", "_counts", "_fit", "_dirty")

    def __init__(self, window_s: float, bin_bps: float, bins: int) -> None:
        self._window_ns = round(window_s * _NS_PER_S)
        self._bin_frac = bin_bps / _BPS
        self._events: deque[tuple[int, int]] = deque()
        self._counts = [0] * bins
        self._fit: ExpFit | None = None
        self._dirty = False

    def __len__(self) -> int:
        return len(self._events)

    def add(self, ts_ns: int, depth_frac: float) -> None:
        i = min(int(depth_frac / self._bin_frac), len(self._counts) - 1)
        self._events.append((ts_ns, i))
        self._counts[i] += 1
        self._dirty = True

    def expire(self, now_ns: int) -> None:
        cutoff = now_ns - self._window_ns
        events, counts = self._events, self._counts
        while events and events[0][0] <= cutoff:
            counts[events.popleft()[1]] -= 1
            self._dirty = True

    def fit(self) -> ExpFit | None:
        if self._dirty:
            self._fit = self._survival_fit()
            self._dirty = False
        return self._fit

    def _survival_fit(self) -> ExpFit | None:
        reg = _Regression()
        survivors = 0
        for j in range(len(self._counts) - 1, -1, -1):
            survivors += self._counts[j]
            if survivors:
                reg.add(j * self._bin_frac, math.log(survivors))
        return reg.fit()


class KappaEstimator:
    """Feed `on_book` (every L2 snapshot), `on_trade` (every market trade, once: E11), `on_own_fill` (every own
    fill, once); read `estimate(ts_ns)`. Time is only ever the caller's ts_ns."""

    __slots__ = ("params", "_levels", "_arrivals", "_book_updates", "_last_book_ns", "_window_ns", "_own",
                 "_own_sum_d", "_fills_since_start")

    def __init__(self, params: KappaParams | None = None) -> None:
        self.params = p = params or KappaParams()
        self._levels = (_Regression(), _Regression())  # index 0 = bid, 1 = ask
        self._arrivals = tuple(_ArrivalDepths(p.window_s, p.trade_bin_bps, p.trade_bins) for _ in range(2))
        self._book_updates = 0
        self._last_book_ns: int | None = None
        self._window_ns = round(p.window_s * _NS_PER_S)
        self._own: deque[tuple[int, float]] = deque()  # (ts_ns, distance_frac) of own fills in the window
        self._own_sum_d = 0.0
        self._fills_since_start = 0

    def on_book(
        self, ts_ns: int, bids: Sequence[tuple[float, float]], asks: Sequence[tuple[float, float]], mid: float
    ) -> None:
        """One L2 snapshot: levels as (price, size), best first. O(levels). Pools with the previous snapshots,
        decayed by 0.5^(Δt/book_half_life_s) (half-life 0: this snapshot alone)."""
        if not 0.0 < mid < math.inf:
            raise ValueError(f"KappaEstimator.on_book: mid must be > 0 and finite, got {mid!r}")
        factor = self._pool_factor(ts_ns)
        n = self.params.book_levels
        for reg, levels in zip(self._levels, (bids, asks), strict=True):
            if factor == 0.0:
                reg.reset()
            elif factor < 1.0:
                reg.decay(factor)
            reg.add_levels(levels, mid, n)
        self._book_updates += 1

    def _pool_factor(self, ts_ns: int) -> float:
        last, self._last_book_ns = self._last_book_ns, ts_ns
        half_life = self.params.book_half_life_s
        if half_life == 0.0:
            return 0.0
        if last is None or ts_ns <= last:
            return 1.0
        return 0.5 ** ((ts_ns - last) / _NS_PER_S / half_life)

    def on_trade(self, ts_ns: int, px: float, mid: float, aggressor_is_buy: bool) -> None:
        """A market trade against the mid just before it. A buy aggressor lifts asks (our ask side), a sell hits
        bids. A trade on the wrong side of that mid (stale mid) carries no depth and is skipped (mm_anchors §1.2)."""
        if not 0.0 < mid < math.inf:
            raise ValueError(f"KappaEstimator.on_trade: mid must be > 0 and finite, got {mid!r}")
        depth_frac = (px - mid) / mid if aggressor_is_buy else (mid - px) / mid
        if depth_frac >= 0.0:
            arrivals = self._arrivals[1 if aggressor_is_buy else 0]
            arrivals.expire(ts_ns)  # keeps the deque bounded by the window even if nobody reads an estimate
            arrivals.add(ts_ns, depth_frac)

    def on_own_fill(self, ts_ns: int, fill_px: float, placement_mid: float) -> None:
        """An own fill; the distance is measured from the mid when the order was **placed** (E10), floored at
        0.1 bp. Partial fills of one order are separate fills (the count is what the posterior needs)."""
        if not 0.0 < placement_mid < math.inf:
            raise ValueError(f"KappaEstimator.on_own_fill: placement_mid must be > 0 and finite, got {placement_mid!r}")
        distance = max(abs(fill_px - placement_mid) / placement_mid, MIN_DISTANCE_FRAC)
        self._own.append((ts_ns, distance))
        self._own_sum_d += distance
        self._fills_since_start += 1

    def _expire(self, now_ns: int) -> None:
        cutoff = now_ns - self._window_ns
        own = self._own
        if own and own[0][0] <= cutoff:
            while own and own[0][0] <= cutoff:
                own.popleft()
            self._own_sum_d = math.fsum(d for _, d in own)  # re-sum on expiry: no drift from add/subtract
        for arrivals in self._arrivals:
            arrivals.expire(now_ns)

    def _book_side(self, side: int) -> BookSideFit:
        p = self.params
        arrivals = self._arrivals[side]
        fit = arrivals.fit() if len(arrivals) >= p.min_trades else None
        if fit is not None:
            source, observations = BookSource.TRADES, len(arrivals)
        else:
            fit = self._levels[side].fit()
            source = BookSource.LEVELS if fit is not None else BookSource.NONE
            observations = self._book_updates
        kappa_fit = None if fit is None else clamp(fit.kappa, p.kappa_min, p.kappa_max)
        r2 = math.nan if fit is None else fit.r2
        reason = book_reliability(kappa_fit, r2, observations, p)
        return BookSideFit(
            kappa_fit=math.nan if kappa_fit is None else kappa_fit,
            r2=r2,
            source=source,
            observations=observations,
            reason=reason,
            kappa_eff=kappa_fit if reason is BookReason.OK else p.prior,
        )

    def estimate(self, ts_ns: int) -> KappaEstimate:
        p = self.params
        self._expire(ts_ns)
        n_window = len(self._own)
        kappa_own, kappa_own_sd = gamma_posterior(n_window, self._own_sum_d, p.prior, p.strength)
        n_real = min(n_window, self._fills_since_start)
        w = blend_weight(n_window, p.blend_min_fills, p.blend_scale)
        bid, ask = self._book_side(0), self._book_side(1)
        return KappaEstimate(
            kappa_bid=clamp((1.0 - w) * bid.kappa_eff + w * kappa_own, p.kappa_min, p.kappa_max),
            kappa_ask=clamp((1.0 - w) * ask.kappa_eff + w * kappa_own, p.kappa_min, p.kappa_max),
            kappa_book=0.5 * (bid.kappa_eff + ask.kappa_eff),
            kappa_own=kappa_own,
            kappa_own_sd=kappa_own_sd,
            own_confidence=n_real / (n_real + p.strength),
            book_reliable=bid.reliable and ask.reliable,
            book_reason=ask.reason if bid.reliable else bid.reason,
            own_fill_count=n_window,
            fills_since_start=self._fills_since_start,
            blend_weight=w,
            book_updates=self._book_updates,
            bid=bid,
            ask=ask,
        )

    def to_state(self) -> dict:
        """Own fills still in the window (the learned part). Book and trade statistics are market data the next
        process re-reads within seconds; persisting them would also fake the `book_updates` gate."""
        return {"version": STATE_VERSION, "own_fills": [[ts, d] for ts, d in self._own]}

    @classmethod
    def restore(cls, params: KappaParams, state: dict) -> KappaEstimator:
        """Restored fills enter the posterior and the blend until they expire; `fills_since_start` and
        `own_confidence` start at 0 (lesson E2)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"KappaEstimator.restore: unsupported state version {state.get('version')!r}")
        model = cls(params)
        for ts, d in state["own_fills"]:
            if not MIN_DISTANCE_FRAC <= d < math.inf:
                raise ValueError(f"KappaEstimator.restore: own-fill distance must be >= 1e-5, got {d!r}")
            model._own.append((int(ts), float(d)))
        model._own_sum_d = math.fsum(d for _, d in model._own)
        return model
