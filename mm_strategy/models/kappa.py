"""One intensity curve per side, λ(δ) = A·e^(−κδ): fills per second of a quote resting δ from the mid.

δ is a price fraction (κ per fraction: κ = 20,000 ↔ a characteristic depth of 0.5 bp), A is fills/s at zero depth.
GLFT needs κ and A from the *same* curve (DESIGN §4–5): this model is their one source, per side (bid = the side our
buys rest on, hit by sell aggressors), and the strategy reads both from its ``KappaEstimate``.

Market fit, from arrivals: an arrival is an aggressive move that reached some depth beyond the mid just before it.
- **trades**, where the data has them: a taker order reaches |px − mid|/mid on its side (a buy lifts the ask side),
  mid = the last book mid before it. Prints sharing the taker order's venue time are one arrival at the deepest
  print: one sweep fills a resting quote once. A print on the wrong side of a stale mid reached no depth and is
  dropped (hftbacktest, mm_anchors §1.2).
- **book crossings**, where it has none: between two book updates the opposite best moved past the previous mid,
  (best_bid − mid_prev)/mid_prev > 0 on the ask side, (mid_prev − best_ask)/mid_prev > 0 on the bid side: exactly
  the moves that fill a resting quote in a trade-less backtest.
- λ(δ) = N(>δ)/T: arrivals in the window that went *beyond* δ, per second of observed window. Arrivals at a quote's
  own depth are not counted as filling it (queue-conservative, hftbacktest's "excluding those at the same price"):
  three quarters of BTC's taker orders stop at the touch, and counting them puts a kink at the touch that no
  exponential fits (R² 0.2–0.5 on the 2025-09-03 captures against 0.8–0.99 without it).
- Depths are counted on the price grid, in half-ticks of the book's tick: k = round(depth/(½·tick/mid)) ≥ 1, as
  |px − mid| is a whole number of half-ticks (the mid of a 1-tick spread is half a tick off the grid). Fixed-width
  bins split the touch, ½·tick/mid, across two bins wherever it crosses a bin boundary: with 0.02 bp bins SOL at
  208.33 fitted κ 22k, A 0.59, R² 0 (8.8k, 0.18 at 209), ETH at 4166.7 and 5000 34k–96k, BTC at 125k 50k (review).
- The tick is learnt from the book (``MarketArrivals.tick``): the smallest step between distinct best prices (the
  spread and each best's move) in the window, a sliding minimum, O(1) amortised per book update; when it changes the
  windows are re-counted in the new tick (at the first books until a one-tick step shows, and where Hyperliquid's
  5-significant-figure tick changes with the price level: at once when it gets finer, one window after the last
  finer step when it gets coarser, e.g. SOL up through 100). Not the instrument's increment: the book's tick is
  coarser on Hyperliquid (SOL 0.01 against 0.0001). Not passed in from the strategy's venue rules either: the
  arrivals are measured on the book, whose tick the book itself shows, and the model and the actor stay free of
  venue knowledge and wiring; ``calibrate.py`` feeds the same ``MarketArrivals``, so it counts in the same tick.
  Before the first book with a spread there is no grid and arrivals are not counted.
- ``fit_survival``: each occupied k is one depth x_k, its arrivals' mean (k₁ the shallowest, n_k arrivals), x_k/k
  its half-tick. An arrival seen at x_k went beyond the previous depth of its grid and not beyond x_k: its
  exponential depth lies in the cell (x_k − tick, x_k], clipped at its grid's touch (interval-censored). Depths fall
  on two interleaved grids, odd half-ticks while the spread is 1 tick and even ones otherwise (SOL: 19 of 70 arrivals
  beyond the touch on even ones), so the cell is a tick deep, not the gap to the previous occupied depth: that read
  an arrival 3 half-ticks out after one at 2 as in (2, 3] where it lies in (1, 3] (κ −17 % to −28 % on SOL's tick,
  draws from the model with a quarter on the other grid; ``tests/test_kappa_estimator.py``).
- The shallowest depth x₁ (the touch) is the origin: by memorylessness the depth beyond x₁ of the N' arrivals that
  went beyond it is exponential with the same κ, whatever the mass at x₁, which is left out (the kink above). The
  other grid's shallowest depth, x₁ + ½ tick (k₁ + 1: the touch of a 2-tick spread when x₁ is a 1-tick spread's), is
  that grid's touch, left out the same way, and the grid's depths are measured beyond it (its origin o = ½ tick
  beyond x₁; o = 0 on the touch's grid). Nothing on that grid was left out at x₁, and its shallowest depth holds
  depths from the mid in (0, 1 tick], not (½ tick, 1 tick]: conditioning it on D > x₁ as the touch's grid counted
  the 2-tick spreads' touch prints as depth beyond the touch, κ +3 % to +24 % and A up to +46 % on draws from the
  model itself with 10–50 % of the arrivals during 2-tick spreads (0.99–1.01 with its own touch).
- The fit covers the near range where we quote, depths below ``max_depth_bps`` (5 bp: 4–10 characteristic depths
  of BTC, ETH and SOL, whose 1/κ is 0.6–1.0 bp); deeper arrivals are left out of κ and A alike (hftbacktest refits
  "the nearest range" too). The far tail is not exponential: sweeps measured from a mid up to 1.2 s stale put a
  dozen ETH taker orders 9–14 bp out on 2025-09-03, which as survivors floor N(>δ) and drag the ask's κ from 14.5k
  to 1.4k. The likelihood is conditioned on the range instead, so a shallow curve is not fitted steep (the
  regression this replaced counted N(>δ) in the range only, falling to 0 at 5 bp: +81 % on κ 3,000 drawn from the
  model, +33 % on 5,000). Each grid g's range ends at its last depth below ``max_depth_bps``, W_g beyond its touch
  (known from the tick; the deepest depth seen, where it lies further, as when the mid moved), and N'_g of the
  arrivals beyond its touch are on it. With u = x − x₁ − o_g and cells (a_k, a_k + h_k] (both beyond the grid's
  touch, W_g too):
      ℓ(κ) = Σ n_k·ln(e^(−κa_k) − e^(−κ(a_k+h_k))) − Σ_g N'_g·ln(1 − e^(−κW_g))
      ℓ'(κ) = −Σ n_k·a_k + Σ n_k·h_k/(e^(κh_k) − 1) − Σ_g N'_g·W_g/(e^(κW_g) − 1) = 0.
  ℓ'(0+) = Σ_g N'_g·W_g/2 − Σ n_k·(a_k + h_k/2) must be > 0 (depths that fall off over the range; else no fit) and
  ℓ'(∞) = −Σ n_k·a_k < 0: bracketed Newton (``_solve_kappa``), 3–5 evaluations of O(occupied depths). Ending the
  range at the deepest depth seen instead read κ −7 % at 60 arrivals beyond the touch on BTC's ticks; with the
  range known, draws from the model read 0.98–1.01 of κ at 300 arrivals beyond the touch and 0.99–1.02 at 60.
  A continuous truncated-exponential density on the quantised depths reads the rounding up to the next tick as
  depth: −5 % to −12 % on BTC's ticks, −25 % to −47 % on SOL's.
- A: the count beyond each grid's touch over the range's share of the curve, taken back to x₁,
  N(>x₁) = Σ_g N'_g·e^(κo_g)/(1 − e^(−κW_g));
  N₀ = N(>x₁)·e^(κx₁) and A = N₀/T (λ(δ) = N(>δ)/T). ``min_survivors`` and 3 points: a fit needs 3 survival points,
  occupied depths with ≥ ``min_survivors`` arrivals beyond them in the range, as the regression's rule was.
- R²: weighted (by N) R² of those points ln N(>x_j) against the fitted count beyond x_j in the range,
  ln Σ_g N'_g·(e^(−κ·(u_j − o_g)⁺) − e^(−κW_g))/(1 − e^(−κW_g)), u_j = x_j − x₁, 1 − SS_res/SS_tot clamped to
  [0, 1]: the regression's R² (the share of ln N's spread the curve explains) measured against the likelihood's
  curve instead of the least-squares line, so it is lower where the survival is not exponential (the archive hour's
  crossings, heavier-tailed: 0.73 pooled, was 0.89).
- A depth must exceed ``MIN_DEPTH_FRAC``: prints and best prices exactly at the mid read 1e-16 through rounding.
- Source per side: trades when the window holds ≥ ``min_updates`` trade arrivals on that side, else crossings.
  Per-event work is O(1) (a histogram increment, the window's expiry and the tick's sliding minimum); the fit runs
  when an estimate is read, and is cached until an arrival enters or leaves the window (T only rescales A).

Reliability, checked in this order, the first failure is the reason (DESIGN §5, the seed's check made two-sided):
fewer than ``min_updates`` arrivals; no fit (< 3 points, or no decay over the range); R² < ``min_r2``; κ > ``reliability_ratio``·κ_prior; κ <
κ_prior/``reliability_ratio``. A side with too few arrivals, no fit or a low R² publishes the instrument prior (κ and
A: one curve); a good fit whose κ left the band publishes κ at the band's edge, the plausible κ nearest the fit, with
the A the likelihood gives the same arrivals at that κ (``SurvivalFit.ln_n0_at``: one curve, not the fit's A, which
belongs to its own κ), flagged ``at_band_edge`` (``KappaModel._side``); the strategy quotes the wider of that curve
and the prior's (``inputs.py``). The band is on κ, the shape of the curve; A is a rate that moves with the market's
activity, which is what it must track.

Own refinement, from our own resting spells (fills **and** non-fills, at the depths each order actually rested,
``actors/order_events.py``): exposure-based Poisson likelihood, Σ_fills ln λ(δ_i) − Σ_segments T_j·λ(δ_j).
- A ~ Gamma(s_A, s_A/A_base): ``own_a_strength`` pseudo-fills centred on the market (or prior) curve's A; given κ,
  A | data = Gamma(s_A + N, s_A/A_base + Σ T_j·e^(−κδ_j)), i.e. A_own = N/Σ T·e^(−κδ) shrunk towards A_base.
- κ ~ Gamma(s_κ + 1, s_κ/κ_base), mode κ_base (``own_kappa_strength``), refined only as far as the data supports
  it: by the likelihood of *where* our fills happened given how many did, in which A cancels. Only fill rates that
  differ between the depths we rested at move κ; a lower fill rate at the one depth we quote (queue position) is
  evidence on A, not on the decay — attributing it to κ would steepen the curve and tighten the quote.
- Both are kept within ``reliability_ratio``× of the base curve: own data refines the curve, it does not replace a
  market fit that passed its checks (and a run of non-fills far out cannot drag A into a spiral of wider quotes).
- The window (``window_s``) is the market fit's; ``own_confidence`` = n/(n + s_A) with n = min(fills in the window,
  fills since this process started), the data share the calibration controller reads (0 after a restore: E2).

Measured with the defaults (``python -m mm_strategy.calibrate``, whole file, both sides pooled; the online model's
600 s windows per side in the kappa tests):
- archive hour 2024-01-01 (BTC 42.7k, no trades): book crossings, κ 25.0k, A 0.018/s, R² 0.73 (bid 20.5k/0.023,
  ask 48.0k/0.017); heavier-tailed than an exponential, so the likelihood follows the bulk near the touch where the
  regression's line followed the tail (21.6k, R² 0.89). Its spread is mostly 2 ticks: most crossings are one tick
  past a mid on the tick grid, at the 2-tick spreads' touch, which fills no quote there and is left out; read as
  depth beyond the 1-tick spreads' touch they made that touch's kink (κ 37.0k, A 0.033/s, R² 0.40; bid 31.3k/0.042,
  ask 62.2k/0.028). Online, 29 % of side-readings pass their checks once the window is full (R² p10 0.45, κ
  14k–69k p10–p90): a 600 s window holds only 10–60 crossings a side, most at a touch, and half the side-readings
  have fewer than 3 depths beyond the touches (46 % passed with that touch read as depth);
- 2025-09-03, 9 min with trades (A over the observed seconds): BTC κ 15.7k, A 0.15/s, R² 0.97; ETH κ 13.9k,
  A 0.092/s, R² 0.94; SOL κ 8.1k, A 0.16/s, R² 0.96 (16.0k/0.149, 14.7k/0.098, 9.9k/0.186 with the 2-tick
  spreads' touch read as depth). Replayed from their start, a reading a second, the first
  ones have too few arrivals or no fit (BTC 85, ETH 111, SOL 148 of ~385 side-readings) and none is at the band's
  edge (with the 0.02 bp bins, read at every event, the first 45 s held band-edge readings: SOL's ask 17, κ
  1.39k–1.93k on 3–4 points, ETH 49, BTC 35); every reading after the first 2 minutes is a trade fit on both sides
  and passes its checks (with the 0.02 bp bins SOL's bid failed its first 18 of 99, κ 1.2k on 4 depths beyond the
  touch).
So κ is 3–10× the seed's 2,500 and A 5–44× below its 0.8/s.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from bisect import insort
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import msgspec
import numpy as np

from mm_strategy.models.priors import InstrumentPriors

_NS_PER_S = 1_000_000_000
_BPS = 1e4
BID = 0
ASK = 1
_NEVER = 1 << 63
STATE_VERSION = 2
# ℓ'(0+) within this fraction of its terms is a flat histogram, no fit: its maximum-likelihood κ is then ~1e-9 of a
# real one (2e-8 per price fraction), no quote depth is priced from it, and whether ℓ'(0+) comes out just above or
# just below 0 is rounding (hypothesis found four arrivals spread over the range on which the model and the
# brute-force reference in the tests split on that sign)
_FLAT_REL = 1e-9
_NEWTON_MAX_ITER = 60
_NEWTON_REL_TOL = 1e-10
# A depth must exceed this to be an arrival: a print or best price exactly at the mid reads 1.4e-16 to 2.1e-16 through
# the mid's rounding on the SOL and ETH captures (one such "arrival" shallower than SOL's touch put the 120 touch prints
# inside the fit as a kink). The finest tick bundled, Binance BTC's 0.1 USD at 62k, is 1.6e-6: 10⁶× larger.
MIN_DEPTH_FRAC = 1e-12
# Two price steps within this share of each other are one step (float noise of a decimal price step is ~1e-14 of it).
_SAME_STEP_REL = 1e-6


class CurveSource(StrEnum):
    PRIOR = "prior"
    TRADES = "trades"
    BOOK_CROSSINGS = "book_crossings"


class FitReason(StrEnum):
    """Why a side's market fit is (not) the active curve; the value is what the actor publishes as `book_reason`."""

    OK = "ok"
    TOO_FEW_UPDATES = "too_few_updates"
    NO_FIT = "no_fit"
    LOW_R2 = "low_r2"
    ABOVE_MAX = "above_max"
    BELOW_MIN = "below_min"


@dataclass(frozen=True, slots=True)
class KappaParams:
    """Window 600 s, reliability 3×/R² 0.3/10 updates from DESIGN §5; own-A strength 10 pseudo-fills (the seed's
    λ₀ prior strength); the survival cut-off chosen on the bundled data (module docstring). Market arrivals are
    counted in half-ticks of the book's tick; ``depth_bin_bps`` bins only our own resting exposure, which is read at
    each bin's exposure-weighted mean depth, not censored. The κ and A priors are the instrument's
    (``InstrumentPriors``), not parameters."""

    window_s: float = 600.0
    min_updates: int = 10
    min_r2: float = 0.3
    reliability_ratio: float = 3.0
    depth_bin_bps: float = 0.02
    max_depth_bps: float = 5.0
    min_survivors: int = 2
    own_a_strength: float = 10.0
    own_kappa_strength: float = 10.0
    max_mid_age_s: float = 5.0

    def __post_init__(self) -> None:
        checks = (
            ("window_s", 0 < self.window_s < math.inf, "> 0 and finite"),
            ("min_updates", self.min_updates >= 1, ">= 1"),
            ("min_r2", 0 <= self.min_r2 <= 1, "in [0, 1]"),
            ("reliability_ratio", 1 < self.reliability_ratio < math.inf, "> 1 and finite"),
            ("depth_bin_bps", 0 < self.depth_bin_bps < math.inf, "> 0 and finite"),
            ("max_depth_bps", 3 * self.depth_bin_bps <= self.max_depth_bps < math.inf,
             ">= 3 bins and finite"),
            ("min_survivors", self.min_survivors >= 1, ">= 1"),
            ("own_a_strength", 0 < self.own_a_strength < math.inf, "> 0 and finite"),
            ("own_kappa_strength", 0 < self.own_kappa_strength < math.inf, "> 0 and finite"),
            ("max_mid_age_s", 0 < self.max_mid_age_s < math.inf, "> 0 and finite"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"KappaParams.{name}: must be {rule}, got {getattr(self, name)!r}")


class SurvivalFit(msgspec.Struct, frozen=True):
    """N(>δ) = e^ln_n0·e^(−kappa·δ), the truncated likelihood's curve; r2 over its `points` survival points;
    A = e^ln_n0 / span. `touch_frac` (x₁) and `truncations`, (N'_g, o_g, W_g) per depth grid (its arrivals beyond its
    touch, the touch's depth beyond x₁ and the range's width beyond the touch), are what ln N₀ is made of, kept so the
    same formula gives N₀ at another κ (`ln_n0_at`: the band's edge, ``KappaModel._side``)."""

    ln_n0: float
    kappa_per_frac: float
    r2: float
    points: int
    touch_frac: float
    truncations: tuple[tuple[int, float, float], ...]

    def ln_n0_at(self, kappa_per_frac: float) -> float:
        """ln N₀ of the maximum-likelihood curve given κ: N₀ = e^(κx₁)·Σ_g N'_g·e^(κo_g)/(1 − e^(−κW_g))."""
        return _ln_n0(self.truncations, self.touch_frac, kappa_per_frac)


def _ln_n0(truncations: Sequence[tuple[int, float, float]], touch_frac: float, kappa_per_frac: float) -> float:
    # N(>x₁): each grid's count beyond its touch, N'_g/(1 − e^(−κW_g)), taken back to x₁ by e^(κo_g) (1 on the
    # touch's grid, so one grid's N₀ is the same float as before the other grid had a touch of its own)
    beyond_touch = sum(n * math.exp(kappa_per_frac * origin) / -math.expm1(-kappa_per_frac * width)
                       for n, origin, width in truncations)
    return math.log(beyond_touch) + kappa_per_frac * touch_frac


class IntensityFit(msgspec.Struct, frozen=True):
    """A market fit of one side: λ(δ) = a_per_s·e^(−kappa_per_frac·δ), its R², how many arrivals and histogram
    points back it, and the span of data (s) the rate is measured over; `survival` the fit it was read from."""

    a_per_s: float
    kappa_per_frac: float
    r2: float
    arrivals: int
    points: int
    span_s: float
    survival: SurvivalFit

    def a_per_s_at(self, kappa_per_frac: float) -> float:
        """A of the maximum-likelihood curve given κ (the band's edge): N₀(κ)/span."""
        return math.exp(self.survival.ln_n0_at(kappa_per_frac)) / self.span_s


class SideCurve(msgspec.Struct, frozen=True):
    """One side's published curve and where it came from.

    - market: the fit of `market_source` (None when there was none); reason: the reliability verdict on it;
      base_*: the curve own data refines (the market fit when reliable, else the prior);
    - a_per_s, kappa_per_frac: the published curve; source: `base source` plus "+own" when own spells are in the
      window; own_weight: the data share of A's posterior, Σ T·e^(−κδ)/(Σ T·e^(−κδ) + s_A/A_base).
    """

    a_per_s: float
    kappa_per_frac: float
    source: str
    market_source: CurveSource
    market: IntensityFit | None
    arrivals: int
    reason: FitReason
    base_a_per_s: float
    base_kappa_per_frac: float
    own_fills: int
    own_exposure_s: float
    own_weight: float

    @property
    def reliable(self) -> bool:
        return self.reason is FitReason.OK

    @property
    def at_band_edge(self) -> bool:
        """A good fit outside the band: κ published at the band's edge with the likelihood's A at that κ
        (``KappaModel._side``)."""
        return self.reason in _OUTSIDE_BAND


class KappaReading(msgspec.Struct, frozen=True):
    """Both sides' curves and the DESIGN §3 `KappaEstimate` summary (the actor maps it field by field).

    - kappa_book: mean of the sides' base κ (the prior on an unreliable side); kappa_own: mean of the published κ;
    - fit_r2, fit_updates: the worse side's market-fit R² (0 without a fit) and arrivals behind it;
    - book_reliable: both market fits reliable; book_reason: the bid's reason if it failed, else the ask's;
    - own_fill_count: filled spells in the window; fills_since_start: this process's only (E2);
    - blend_weight: mean own_weight of the sides; own_confidence: n/(n + s_A) (module docstring).
    """

    kappa_bid: float
    kappa_ask: float
    a_bid_per_s: float
    a_ask_per_s: float
    source: str
    fit_r2: float
    fit_updates: int
    kappa_book: float
    kappa_own: float
    book_reliable: bool
    book_reason: FitReason
    own_fill_count: int
    fills_since_start: int
    blend_weight: float
    own_confidence: float
    bid: SideCurve
    ask: SideCurve


# --- the market fit ---------------------------------------------------------------------------------------------


def fit_survival(
    counts: np.ndarray, depth_sums: np.ndarray, min_survivors: int, max_depth_frac: float
) -> SurvivalFit | None:
    """`survival_fit` of a histogram given as arrays (`counts[k]` arrivals k half-ticks deep with depths summing to
    `depth_sums[k]`; `counts[0]` must be 0): the pooled sides of ``calibrate.py``."""
    counts_list = counts.tolist()
    return survival_fit(np.flatnonzero(counts).tolist(), counts_list, depth_sums.tolist(), sum(counts_list),
                        min_survivors, max_depth_frac)


def survival_fit(
    occupied: Sequence[int],
    counts: Sequence[int] | dict[int, int],
    depth_sums: Sequence[float] | dict[int, float],
    total: int,
    min_survivors: int,
    max_depth_frac: float,
    kappa_start: float | None = None,
) -> SurvivalFit | None:
    """The truncated, interval-censored maximum-likelihood curve of an arrival-depth histogram (module docstring).

    `occupied`: the depths holding arrivals in half-ticks (k ≥ 1), ascending; `counts[k]` arrivals k half-ticks deep
    with depths summing to `depth_sums[k]` (price fractions); `total` arrivals in all. Each occupied k is one depth
    x_k, its arrivals' mean, and x_k/k its half-tick as a fraction; the shallowest, k₁, and k₁ + 1 are the two
    grids' touches, whose arrivals fill no quote there and are left out. None with fewer than 3 survival points
    (occupied depths with at least `min_survivors` arrivals beyond them, the old fit's rule) or when the depths beyond
    the touches do not fall off over the range (ℓ'(0+) ≤ 0: no κ > 0 maximises the likelihood, and
    A = Σ_g N'_g·e^(κ(x₁+o_g))/(1 − e^(−κW_g)) grows without bound as κ → 0).

    O(occupied depths) per likelihood evaluation, a handful of evaluations (bracketed Newton, `_solve_kappa`): this
    runs at the estimate after every arrival a window gains or loses, so Newton starts from `kappa_start`, the
    window's previous κ, when there is one (one arrival more or less moves it little: 3–4 evaluations, 4–5 cold).
    """
    if len(occupied) < 3:
        return None
    k1 = occupied[0]
    if occupied[1] == k1 + 1:  # the other grid's touch: left out as the touch's arrivals are
        total -= counts[k1 + 1]
        occupied = [k1, *occupied[2:]]
        if len(occupied) < 3:
            return None
    depths = [depth_sums[k] / counts[k] for k in occupied]
    x1 = depths[0]
    beyond = total - counts[k1]  # N': arrivals beyond each grid's touch, in range
    points = 0
    left = beyond
    for k in occupied[1:]:  # survival points, the shallowest ones: ≥ min_survivors arrivals beyond each
        if left < min_survivors:
            break
        points += 1
        left -= counts[k]
    if points < 3:
        return None
    # each depth's cell (x_k − tick, x_k] clipped at its grid's touch, measured from it as (a, a + h]: the touch's
    # grid from x₁, the other from x₁ + ½ tick. With 3 points the deepest depth is ≥ 3 half-ticks beyond x₁, so some
    # a > 0 and ℓ'(∞) = −Σ n·a < 0
    half_tick = x1 / k1
    origins = (0.0, half_tick)  # per grid (0: the touch's), its touch beyond x₁
    cells = []
    lower_sum = excess_sum = 0.0
    n_other = 0  # arrivals on the other half-tick grid than the touch's
    deepest = [0.0, 0.0]  # per grid, the deepest u seen
    for j in range(1, len(occupied)):
        k, x = occupied[j], depths[j]
        grid = (k - k1) & 1
        origin = origins[grid]
        a = x * (k - 2) / k - x1 - origin
        if a < 0.0:  # max(a, 0.0) without the call
            a = 0.0
        u = x - x1 - origin
        n = counts[k]
        h = u - a
        nh = n * h
        cells.append((h, nh, nh * h))
        lower_sum += n * a
        excess_sum += n * u
        n_other += n * grid
        if u > deepest[grid]:
            deepest[grid] = u
    # each grid's range ends at its last depth below max_depth (its arrivals' u ≤ W_g): known from the tick, where
    # the deepest depth seen stops short of it (−7 % on κ at 60 arrivals on BTC's ticks)
    k_last = math.ceil(max_depth_frac / half_tick) - 1  # k·half_tick < max_depth
    truncations = []
    for grid, n in ((0, beyond - n_other), (1, n_other)):
        if n:
            k_end = k_last if (k_last - k1) & 1 == grid else k_last - 1
            truncations.append((n, origins[grid], max((k_end - k1 - grid) * half_tick, deepest[grid])))
    # ℓ'(0+) = Σ_g N'_g·W_g/2 − Σ n·(a + h/2) ≤ 0 (to ``_FLAT_REL`` of its terms): no decay over the range
    range_sum = sum(n * width for n, _, width in truncations)
    if lower_sum + excess_sum >= range_sum * (1.0 - _FLAT_REL):
        return None
    kappa = _solve_kappa(cells, truncations, lower_sum, kappa_start or beyond / excess_sum)
    ln_n0 = _ln_n0(truncations, x1, kappa)
    r2 = _r2_in_range(counts, occupied, depths, points, kappa, truncations)
    return SurvivalFit(ln_n0, kappa, r2, points, x1, tuple(truncations))


_MAX_EXPONENT = 700.0  # e^700 ≈ 1e304: beyond it h/(e^(κh) − 1) is 0 to double precision


def _score(kappa: float, cells: Sequence[tuple[float, float, float]], ranges: Sequence[tuple[float, float, float]],
           lower_sum: float) -> tuple[float, float]:
    """(ℓ'(κ), ℓ''(κ)) of the module docstring's log-likelihood,
    ℓ' = −Σ n·a + Σ n·h/(e^(κh) − 1) − Σ_g N'_g·W_g/(e^(κW_g) − 1).

    `cells` are (h, n·h, n·h²) and `ranges` (W_g, N'_g·W_g, N'_g·W_g²): the products, the same at every evaluation,
    are made once per fit (``survival_fit``), in the order the terms multiply, so each term is the same float."""
    expm1 = math.expm1
    g = -lower_sum
    c = 0.0
    for h, nh, nhh in cells:
        z = kappa * h
        if z < _MAX_EXPONENT:
            q = expm1(z)
            g += nh / q
            c -= nhh * (q + 1.0) / (q * q)
    for width, nw, nww in ranges:
        z = kappa * width
        if z < _MAX_EXPONENT:
            q = expm1(z)
            g -= nw / q
            c += nww * (q + 1.0) / (q * q)
    return g, c


def _solve_kappa(cells: Sequence[tuple[float, float, float]], truncations: Sequence[tuple[int, float, float]],
                 lower_sum: float, start: float) -> float:
    """The root of ℓ'(κ), which is > 0 at 0+ (checked by the caller) and −Σ n·a < 0 as κ → ∞ (arrivals more than a
    tick beyond the touch: 3 points): Newton from `start` (the window's previous κ, else the untruncated continuous
    estimate, 1/mean excess), kept inside the bracket the signs so far give, bisecting (doubling while there is no
    upper end) when a step would leave it or the curvature is not negative."""
    lo, hi = 0.0, math.inf
    kappa = start
    ranges = [(width, n * width, n * width * width) for n, _, width in truncations]
    for _ in range(_NEWTON_MAX_ITER):
        g, c = _score(kappa, cells, ranges, lower_sum)
        if g == 0.0:
            return kappa
        if g > 0.0:
            lo = kappa
        else:
            hi = kappa
        step = kappa - g / c if c < 0.0 else math.nan
        if not lo < step < hi:
            step = 2.0 * kappa if hi == math.inf else 0.5 * (lo + hi)
        if abs(step - kappa) <= _NEWTON_REL_TOL * kappa:
            return step
        kappa = step
    return kappa


def _r2_in_range(counts: Sequence[int] | dict[int, int], occupied: Sequence[int], depths: Sequence[float],
                 points: int, kappa: float, truncations: Sequence[tuple[int, float, float]]) -> float:
    """Weighted R² (weights N, clamped to [0, 1]) of the survival points ln N(>x_j) in the range against the fitted
    curve's count beyond x_j in the range, ln Σ_g N'_g·(e^(−κ·(u_j − o_g)⁺) − e^(−κW_g))⁺/(1 − e^(−κW_g)),
    u_j = x_j − x₁ (all of a grid's arrivals are beyond a point short of its touch):
    1 − SS_res/SS_tot about the weighted mean, the share of the points' spread the curve explains, as the old
    regression's R² was."""
    x1 = depths[0]
    left = sum(n for n, _, _ in truncations)
    # per grid (one or two): N'_g, o_g, e^(−κW_g) and 1 − e^(−κW_g), the same at every point. The count beyond is the
    # two grids' terms added once, the float sum() gave them; a grid with no arrivals adds +0.0, which changes nothing
    (n0, origin0, tail0, share0), (n1, origin1, tail1, share1) = [
        (n, origin, math.exp(-kappa * width), -math.expm1(-kappa * width)) for n, origin, width in truncations
    ] + [(0, 0.0, 0.0, 1.0)] * (2 - len(truncations))
    log, exp = math.log, math.exp
    weights = [left]  # N(>x_j) in the range, the survival points' counts
    for k in occupied[1:points]:
        left -= counts[k]
        weights.append(left)
    ys = [log(w) for w in weights]
    fits = []
    for x in depths[:points]:
        u = x - x1
        d0 = exp(-kappa * (u - origin0 if u > origin0 else 0.0)) - tail0
        d1 = exp(-kappa * (u - origin1 if u > origin1 else 0.0)) - tail1
        fits.append(log(n0 * (0.0 if d0 < 0.0 else d0) / share0 + n1 * (0.0 if d1 < 0.0 else d1) / share1))
    # the sums as before, of lists (sum() adds the same terms in the same order, compensated)
    total_w = sum(weights)
    mean_y = sum([w * y for w, y in zip(weights, ys)]) / total_w
    ss_tot = sum([w * (y - mean_y) ** 2 for w, y in zip(weights, ys)])
    ss_res = sum([w * (y - f) ** 2 for w, y, f in zip(weights, ys, fits)])
    return min(max(1.0 - ss_res / ss_tot, 0.0), 1.0)


class ArrivalDepths:
    """Depths of one side's arrivals of one source in a trailing window, histogrammed in half-ticks for
    `survival_fit`.

    Depths at or beyond `max_depth_bps` are outside the fitted range and not kept. O(1) per arrival (expiry
    included; a depth that becomes occupied or empty is an insertion in the short sorted list of occupied depths);
    the fit is cached until an arrival enters or leaves the window. `retick` re-counts the window in a new tick:
    O(window), only when the book's tick changes (``MarketArrivals``).
    """

    __slots__ = (
        "_window_ns", "_max_depth_frac", "_events", "_counts", "_depth_sums", "_occupied", "_fit", "_dirty",
        "version", "expires_at_ns",
    )

    def __init__(self, window_s: float, max_depth_bps: float) -> None:
        self._window_ns = round(window_s * _NS_PER_S)
        self._max_depth_frac = max_depth_bps / _BPS
        # (ts_ns, half-ticks k, depth, depth in half-ticks unrounded): the last to re-count in another tick
        self._events: deque[tuple[int, int, float, float]] = deque()
        self._counts: dict[int, int] = {}  # k -> arrivals k half-ticks deep (occupied k only)
        self._depth_sums: dict[int, float] = {}
        self._occupied: list[int] = []  # k with arrivals, ascending
        self._fit: SurvivalFit | None = None
        self._dirty = False
        self.version = 0  # bumped whenever the window's content changes
        self.expires_at_ns = _NEVER  # when the oldest arrival leaves the window: `expire` before then is a no-op

    def __len__(self) -> int:
        return len(self._events)

    def add(self, ts_ns: int, depth_frac: float, half_tick_frac: float) -> None:
        """One arrival that went `depth_frac` (> 0) beyond the mid, where half a tick is `half_tick_frac` of it."""
        if ts_ns >= self.expires_at_ns:
            self.expire(ts_ns)
        if depth_frac >= self._max_depth_frac:
            return
        if not self._events:
            self.expires_at_ns = ts_ns + self._window_ns
        steps = depth_frac / half_tick_frac
        k = _half_ticks(steps)
        self._events.append((ts_ns, k, depth_frac, steps))
        self._count(k, depth_frac)
        self._dirty = True
        self.version += 1

    def _count(self, k: int, depth_frac: float) -> None:
        counts = self._counts
        n = counts.get(k, 0)
        if not n:
            insort(self._occupied, k)
            self._depth_sums[k] = 0.0
        counts[k] = n + 1
        self._depth_sums[k] += depth_frac

    def expire(self, now_ns: int) -> None:
        cutoff = now_ns - self._window_ns
        events = self._events
        if not events or events[0][0] > cutoff:
            return
        counts, depth_sums, occupied = self._counts, self._depth_sums, self._occupied
        while events and events[0][0] <= cutoff:
            _, k, depth, _ = events.popleft()
            n = counts[k] - 1
            if n:
                counts[k] = n
                depth_sums[k] -= depth
            else:
                del counts[k], depth_sums[k], occupied[bisect_left(occupied, k)]
        self.expires_at_ns = events[0][0] + self._window_ns if events else _NEVER
        self._dirty = True
        self.version += 1

    def retick(self, ratio: float) -> None:
        """Re-count the window after the tick became `ratio` × the one its arrivals were counted in."""
        events = deque((ts, _half_ticks(steps / ratio), depth, steps / ratio) for ts, _, depth, steps in self._events)
        self._events = events
        self._counts, self._depth_sums, self._occupied = {}, {}, []
        for _, k, depth, _ in events:
            self._count(k, depth)
        self._dirty = True
        self.version += 1

    def fit(self, min_survivors: int) -> SurvivalFit | None:
        if self._dirty:
            start = self._fit.kappa_per_frac if self._fit is not None else None
            self._fit = survival_fit(
                self._occupied, self._counts, self._depth_sums, len(self._events), min_survivors,
                self._max_depth_frac, start,
            )
            self._dirty = False
        return self._fit

    def histogram(self) -> tuple[np.ndarray, np.ndarray]:
        """(counts, depth sums) by half-ticks in the window, as long as its deepest k + 1: what `fit_survival`
        fits, for pooling sides (calibrate.py)."""
        size = self._occupied[-1] + 1 if self._occupied else 1
        counts, sums = np.zeros(size, dtype=np.int64), np.zeros(size)
        for k in self._occupied:
            counts[k], sums[k] = self._counts[k], self._depth_sums[k]
        return counts, sums


def _half_ticks(steps: float) -> int:
    """A depth's whole half-ticks: at least 1 (a depth > 0 is beyond the mid), the nearest integer to
    |px − mid|/(tick/2), which is one up to float noise when the tick is the book's."""
    return max(round(steps), 1)


class MarketArrivals:
    """Arrivals per side from trades and from book crossings (module docstring), and the window's span.

    Feed `on_book` (best prices of every book update) and `on_trade` (every public trade, once: E11); read
    `fit(side, source, now)`. `taker_ts_ns` groups the prints of one taker order (the venue time they share).

    A depth is measured only from a mid at most ``max_mid_age_s`` old: across a feed gap (the HL captures hold gaps
    of 51 and 250 s) the last mid says nothing about where the book was when a trade printed or how far the next
    book moved, and 3–8 % of the captures' prints would otherwise be measured from a mid up to 250 s old
    (counted in ``stale_mid_skips``). For the same reason the span A is counted over (``span_s``) is the observed
    time in the window, the stretches with a fresh mid, not the elapsed time: arrivals in a gap are not counted, so
    its seconds must not be either (over the captures' outages A came out 2.2× too low, and GLFT's spread and skew,
    ∝ A^(−½), about 1.5× too wide).
    """

    __slots__ = (
        "params", "trades", "crossings", "windows", "_prev_mid", "_prev_bid", "_prev_ask", "_prev_book_ns",
        "_max_age_ns", "_observed", "_pending", "_window_ns", "_steps", "tick", "stale_mid_skips",
    )

    def __init__(self, params: KappaParams) -> None:
        self.params = p = params
        self._window_ns = round(p.window_s * _NS_PER_S)
        self.trades = tuple(ArrivalDepths(p.window_s, p.max_depth_bps) for _ in range(2))
        self.crossings = tuple(ArrivalDepths(p.window_s, p.max_depth_bps) for _ in range(2))
        self.windows = (*self.trades, *self.crossings)  # every market window, for `advance` and version keys
        self._prev_mid: float | None = None
        self._prev_bid = self._prev_ask = 0.0
        self._prev_book_ns = 0
        self._max_age_ns = round(p.max_mid_age_s * _NS_PER_S)
        self.stale_mid_skips = 0
        self._observed: deque[list[int]] = deque()  # [start_ns, end_ns] of each stretch with a fresh mid
        # [ts_ns, taker_ts_ns, side, deepest depth, half-tick fraction] of the taker order in progress
        self._pending: list | None = None
        # (ts_ns, step) of the book's price steps in the window, increasing: the first is the smallest (the tick)
        self._steps: deque[tuple[int, float]] = deque()
        self.tick: float | None = None  # the book's tick in price, None until a book with a spread

    def on_book(self, ts_ns: int, best_bid: float, best_ask: float) -> None:
        if not (0.0 < best_bid < math.inf and 0.0 < best_ask < math.inf):
            raise ValueError(
                f"MarketArrivals.on_book: best prices must be > 0 and finite, got {best_bid!r}, {best_ask!r}"
            )
        self._learn_tick(ts_ns, best_bid, best_ask)
        prev = self._prev_mid
        if prev is not None:
            prev_ns = self._prev_book_ns
            if ts_ns - prev_ns > self._max_age_ns:
                self.stale_mid_skips += 1
                prev = None
            elif self._observed and self._observed[-1][1] == prev_ns:
                self._observed[-1][1] = ts_ns
            else:
                self._observed.append([prev_ns, ts_ns])
        if prev is not None and self.tick is not None:
            half_tick = 0.5 * self.tick / prev
            ask_depth = (best_bid - prev) / prev
            if ask_depth > MIN_DEPTH_FRAC:
                self.crossings[ASK].add(ts_ns, ask_depth, half_tick)
            bid_depth = (prev - best_ask) / prev
            if bid_depth > MIN_DEPTH_FRAC:
                self.crossings[BID].add(ts_ns, bid_depth, half_tick)
        self._prev_mid = 0.5 * (best_bid + best_ask)
        self._prev_bid, self._prev_ask = best_bid, best_ask
        self._prev_book_ns = ts_ns

    def _learn_tick(self, ts_ns: int, best_bid: float, best_ask: float) -> None:
        """The book's tick: the smallest step between distinct best prices (the spread, and each best's move) in the
        window, a sliding minimum (O(1) amortised). When it changes beyond float noise the windows are re-counted
        in the new tick (``ArrivalDepths.retick``): at the first books, until a one-tick step is seen, and when the
        price crosses a level where the venue's tick changes (Hyperliquid's 5 significant figures)."""
        floor = MIN_DEPTH_FRAC * best_ask  # two floats of one price differ by less
        step = best_ask - best_bid if best_ask - best_bid > floor else math.inf
        if self._prev_mid is not None:
            moved = abs(best_bid - self._prev_bid)
            if floor < moved < step:
                step = moved
            moved = abs(best_ask - self._prev_ask)
            if floor < moved < step:
                step = moved
        steps = self._steps
        if step < math.inf:
            while steps and steps[-1][1] >= step * (1.0 - _SAME_STEP_REL):
                steps.pop()
            steps.append((ts_ns, step))
        cutoff = ts_ns - self._window_ns
        while len(steps) > 1 and steps[0][0] <= cutoff:  # the last step seen stays the tick until another comes
            steps.popleft()
        if not steps:
            return
        tick, old = steps[0][1], self.tick
        if old is None:
            self.tick = tick
        elif abs(tick - old) > _SAME_STEP_REL * old:
            self.tick = tick
            self.flush()  # the taker order in progress was measured in the old tick: count it before re-counting
            for window in self.windows:
                window.retick(tick / old)

    def on_trade(self, ts_ns: int, px: float, mid: float, aggressor_is_buy: bool, taker_ts_ns: int) -> None:
        if not (0.0 < mid < math.inf and 0.0 < px < math.inf):
            raise ValueError(f"MarketArrivals.on_trade: px and mid must be > 0 and finite, got {px!r}, {mid!r}")
        if self._prev_mid is not None and ts_ns - self._prev_book_ns > self._max_age_ns:  # `mid` is that book's
            self.stale_mid_skips += 1
            return
        if self.tick is None:  # no book with a spread yet: the depth has no grid to be counted on
            return
        side = ASK if aggressor_is_buy else BID
        depth = (px - mid) / mid if aggressor_is_buy else (mid - px) / mid
        pending = self._pending
        if pending is not None and pending[1] == taker_ts_ns and pending[2] == side:
            if depth > pending[3]:
                pending[3] = depth
                pending[4] = 0.5 * self.tick / mid
            return
        self.flush()
        self._pending = [ts_ns, taker_ts_ns, side, depth, 0.5 * self.tick / mid]

    def flush(self) -> None:
        """Close the taker order in progress (called before any read)."""
        pending, self._pending = self._pending, None
        if pending is not None and pending[3] > MIN_DEPTH_FRAC:
            self.trades[pending[2]].add(pending[0], pending[3], pending[4])

    def span_s(self, now_ns: int) -> float:
        """Observed seconds in the window ending at ``now_ns``: the stretches between book updates at most
        ``max_mid_age_s`` apart, and the time since the last one while its mid is still that fresh."""
        window_start = now_ns - self._window_ns
        observed_ns = 0
        for start, end in self._observed:  # one stretch per feed gap: a handful
            start = start if start > window_start else window_start
            end = end if end < now_ns else now_ns
            if end > start:
                observed_ns += end - start
        if self._prev_mid is not None:
            since = self._prev_book_ns if self._prev_book_ns > window_start else window_start
            if now_ns > since and now_ns - self._prev_book_ns <= self._max_age_ns:
                observed_ns += now_ns - since
        return observed_ns / _NS_PER_S

    def advance(self, now_ns: int) -> None:
        """Close the taker order in progress and drop what is older than the window ending at `now_ns` from every
        window: what a read at `now_ns` needs first (a window whose oldest arrival is still inside costs a compare)."""
        self.flush()
        for window in self.windows:
            if window.expires_at_ns <= now_ns:
                window.expire(now_ns)
        observed, window_start = self._observed, now_ns - self._window_ns
        while observed and observed[0][1] <= window_start:
            observed.popleft()

    def source_for(self, side: int, now_ns: int) -> CurveSource:
        """Trades when the side has at least `min_updates` trade arrivals in the window, else book crossings."""
        self.advance(now_ns)
        return self._source(side)[0]

    def _source(self, side: int) -> tuple[CurveSource, ArrivalDepths]:
        trades = self.trades[side]
        if len(trades) >= self.params.min_updates:
            return CurveSource.TRADES, trades
        return CurveSource.BOOK_CROSSINGS, self.crossings[side]

    def arrivals(self, side: int, source: CurveSource) -> ArrivalDepths:
        return (self.trades if source is CurveSource.TRADES else self.crossings)[side]

    def fit(self, side: int, source: CurveSource, now_ns: int) -> tuple[IntensityFit | None, int]:
        """The side's fit from `source` over the window ending at `now_ns`, and the arrivals in that window."""
        self.advance(now_ns)
        return self._fit(self.arrivals(side, source), self.span_s(now_ns))

    def current(self, side: int, span_s: float) -> tuple[CurveSource, IntensityFit | None, int]:
        """`source_for` and `fit` of that source at once, over windows already advanced to the reading's time, whose
        span is `span_s` (what `KappaModel.estimate` reads)."""
        source, arrivals = self._source(side)
        fit, n = self._fit(arrivals, span_s)
        return source, fit, n

    def _fit(self, arrivals: ArrivalDepths, span_s: float) -> tuple[IntensityFit | None, int]:
        n = len(arrivals)
        survival = arrivals.fit(self.params.min_survivors)
        if survival is None or span_s <= 0.0:
            return None, n
        return intensity(survival, span_s, n), n


def intensity(survival: SurvivalFit, span_s: float, arrivals: int) -> IntensityFit:
    # positional, in field order (a_per_s, kappa_per_frac, r2, arrivals, points, span_s, survival): built at every
    # reading
    return IntensityFit(math.exp(survival.ln_n0) / span_s, survival.kappa_per_frac, survival.r2, arrivals,
                        survival.points, span_s, survival)


_OUTSIDE_BAND = (FitReason.ABOVE_MAX, FitReason.BELOW_MIN)


def reliability(fit: IntensityFit | None, arrivals: int, kappa_prior: float, params: KappaParams) -> FitReason:
    """The two-sided reliability rule of the module docstring."""
    if arrivals < params.min_updates:
        return FitReason.TOO_FEW_UPDATES
    if fit is None:
        return FitReason.NO_FIT
    if fit.r2 < params.min_r2:
        return FitReason.LOW_R2
    if fit.kappa_per_frac > params.reliability_ratio * kappa_prior:
        return FitReason.ABOVE_MAX
    if fit.kappa_per_frac < kappa_prior / params.reliability_ratio:
        return FitReason.BELOW_MIN
    return FitReason.OK


def _r2(side: SideCurve) -> float:
    """The side's market-fit R², 0 without a fit."""
    return side.market.r2 if side.market is not None else 0.0


# --- own refinement ---------------------------------------------------------------------------------------------


def refine_curve(
    a_base: float,
    kappa_base: float,
    depths_frac: Sequence[float],
    exposure_s: Sequence[float],
    n_fills: int,
    fill_depth_sum_frac: float,
    params: KappaParams,
    kappa_prior: float | None = None,
) -> tuple[float, float, float]:
    """(A, κ, data weight) of the posterior of the module docstring, given our exposure (seconds resting at each
    depth) and fills (count and summed depth at fill).

    κ: the mode of prior × the likelihood of *where* the N fills happened given that N happened,
    Π e^(−κδ_i)/S(κ)^N with S_m = Σ T·δ^m·e^(−κδ). A cancels from it, so only fill rates that differ between
    depths move κ; exposure at a single depth leaves it at κ_base whatever the fill rate there (that says A).
    Newton on the concave ln p(κ) = −κ·D − N·ln S(κ) + s_κ·ln κ − s_κ·κ/κ_base, bracketed in the band, bisecting
    when a step leaves the bracket:
        g = −D + N·S₁/S + s_κ/κ − s_κ/κ_base,   h = N·(S₁² − S₂·S)/S² − s_κ/κ²  (< 0), D = Σ δ_fill.
    A | κ̂ ~ Gamma(s_A + N, s_A/A_base + S(κ̂)): its mean, and the data weight S/(S + s_A/A_base).
    """
    kappa, s0 = refine_kappa(kappa_base, depths_frac, exposure_s, n_fills, fill_depth_sum_frac, params, kappa_prior)
    return own_curve(a_base, kappa, s0, n_fills, params)


def refine_kappa(
    kappa_base: float,
    depths_frac: Sequence[float],
    exposure_s: Sequence[float],
    n_fills: int,
    fill_depth_sum_frac: float,
    params: KappaParams,
    kappa_prior: float | None = None,
) -> tuple[float, float]:
    """κ̂ and S(κ̂) of `refine_curve`. Neither depends on A_base (A cancels from κ's likelihood), so a window whose
    spells did not change keeps them while only A_base moves (`_OwnSpells.refine`).

    κ̂ stays within ``reliability_ratio``× of κ_base and, given the instrument's ``kappa_prior``, of the prior too:
    the market fit may already sit near the prior band's edge, and own data would otherwise carry the published κ
    to 9× the prior (review), past the band DESIGN §5 falls back to the prior beyond."""
    return refine_kappa_points(
        kappa_base, ExposurePoints.of(depths_frac, exposure_s), n_fills, fill_depth_sum_frac, params, kappa_prior
    )


class ExposurePoints:
    """Our exposure as (depth δ, seconds T) points, kept as the rows T, T·δ, T·δ² so that S(κ) and its first two
    moments S_m = Σ T·δ^m·e^(−κδ) are one ``exp`` and one matrix product per Newton step. A point with T = 0 adds
    nothing (the rows `_ExposureBins` keeps free).

    `_OwnSpells` updates them only when its window changes; a read whose κ_base moved but whose spells did not
    (every trade arrival on a busy tape) pays only the steps. Vectorised, the sums add up in numpy's order rather
    than term by term, so κ̂ can differ from a Python loop's in its last bits (issue 13: kappa's Newton steps were
    80 % of the seven estimators' time on the 2025-09-03 BTC capture, ~27 µs a step over ~90 points)."""

    __slots__ = ("depths_frac", "moments")

    def __init__(self, depths_frac: np.ndarray, moments: np.ndarray) -> None:
        self.depths_frac = depths_frac
        self.moments = moments

    @classmethod
    def of(cls, depths_frac: Sequence[float], exposure_s: Sequence[float]) -> ExposurePoints:
        depths = np.asarray(depths_frac, dtype=np.float64)
        seconds = np.asarray(exposure_s, dtype=np.float64)
        if depths.shape != seconds.shape or depths.ndim != 1:
            raise ValueError(f"one exposure per depth: {depths.shape} depths, {seconds.shape} exposures")
        weighted = seconds * depths
        return cls(depths, np.stack((seconds, weighted, weighted * depths)))

    def sums(self, kappa: float) -> np.ndarray:
        """(S, S₁, S₂) at κ."""
        return self.moments @ np.exp(self.depths_frac * -kappa)

    def exposure_sum(self, kappa: float) -> float:
        """S(κ) = Σ T·e^(−κδ) alone."""
        return float(self.moments[0] @ np.exp(self.depths_frac * -kappa))


def refine_kappa_points(
    kappa_base: float,
    points: ExposurePoints,
    n_fills: int,
    fill_depth_sum_frac: float,
    params: KappaParams,
    kappa_prior: float | None = None,
    kappa_start: float | None = None,
) -> tuple[float, float]:
    """`refine_kappa` over kept exposure points (`ExposurePoints`).

    Newton starts from ``kappa_start`` when it lies inside the bracket (the last κ̂ of a window whose κ_base has
    moved a little: one or two steps instead of three or four), else from κ_base. The mode is unique (ln p is
    concave), so the start changes only the last bits of κ̂, which stops within 1e-10 of it either way."""
    s_k, band = params.own_kappa_strength, params.reliability_ratio
    if n_fills <= 0:  # κ stays at its base: only S(κ) is needed, not the moments Newton steps on
        return kappa_base, points.exposure_sum(kappa_base)
    lo, hi = kappa_base / band, kappa_base * band
    if kappa_prior is not None:
        lo, hi = max(lo, kappa_prior / band), min(hi, kappa_prior * band)
    kappa = kappa_start if kappa_start is not None and lo < kappa_start < hi else kappa_base
    s0, s1, s2 = points.sums(kappa).tolist()  # S and its moments at the current κ
    if s0 <= 0.0:  # no exposure: nothing to refine on
        return kappa_base, s0
    for _ in range(_NEWTON_MAX_ITER):
        grad = -fill_depth_sum_frac + n_fills * s1 / s0 + s_k / kappa - s_k / kappa_base
        curv = n_fills * (s1 * s1 - s2 * s0) / (s0 * s0) - s_k / (kappa * kappa)
        if grad == 0.0:
            break
        if grad > 0.0:  # g decreases (concavity): its sign says on which side the mode lies
            lo = kappa
        else:
            hi = kappa
        step = kappa - grad / curv
        if not lo < step < hi:
            step = 0.5 * (lo + hi)
        if abs(step - kappa) <= _NEWTON_REL_TOL * kappa:
            return step, points.exposure_sum(step)  # converged: only S is returned, not its moments
        kappa = step
        s0, s1, s2 = points.sums(kappa).tolist()
    return kappa, s0


def own_curve(a_base: float, kappa: float, s0: float, n_fills: int, params: KappaParams) -> tuple[float, float, float]:
    """(A, κ, data weight) of `refine_curve` from κ̂ and S(κ̂)."""
    s_a, band = params.own_a_strength, params.reliability_ratio
    beta0 = s_a / a_base
    a = min(max((s_a + n_fills) / (beta0 + s0), a_base / band), a_base * band)
    return a, kappa, s0 / (s0 + beta0)


class _ExposureBins:
    """Exposure seconds and seconds·depth per depth bin, in the rows T and T·δ of one `ExposurePoints` (T·δ² and the
    mean depths alongside), so a refinement after each spell reads them without rebuilding: converting ~90 bins from
    Python lists cost ~35 µs, more than the Newton steps. A bin's row is zeroed when its last entry leaves and reused
    by the next new bin.

    The sums are kept entry by entry in Python lists, and only the rows that changed are written to the arrays,
    with their mean depth and T·δ², when the points are read: adding an entry to two numpy elements cost ~0.7 µs
    against ~0.15 µs in lists, and a spell touches ~6 bins (issue 13). Each row is the same float either way (one
    IEEE operation per entry in the same order, and the same division and product per row as the vectorised
    ones)."""

    __slots__ = ("_slot", "_free", "_entries", "_seconds", "_weighted", "_changed", "_depths", "_moments")

    def __init__(self) -> None:
        self._slot: dict[int, int] = {}  # bin -> row
        self._free: list[int] = []
        self._entries: list[int] = []  # per row: spell entries in it (0: free)
        self._seconds: list[float] = []  # per row: T and T·δ, the arrays' rows T and T·δ once `points` writes them
        self._weighted: list[float] = []
        self._changed: set[int] = set()  # rows whose sums changed since `points`
        self._depths = np.zeros(0)
        self._moments = np.zeros((3, 0))

    def add(self, i: int, seconds: float, weighted: float) -> None:
        row = self._slot.get(i)
        if row is None:
            row = self._slot[i] = self._free.pop() if self._free else self._grow()
        self._seconds[row] += seconds
        self._weighted[row] += weighted
        self._entries[row] += 1
        self._changed.add(row)

    def remove(self, i: int, seconds: float, weighted: float) -> None:
        row = self._slot[i]
        self._entries[row] -= 1
        if self._entries[row] == 0:
            self._seconds[row] = self._weighted[row] = 0.0
            del self._slot[i]
            self._free.append(row)
        else:
            self._seconds[row] -= seconds
            self._weighted[row] -= weighted
        self._changed.add(row)

    def points(self) -> ExposurePoints:
        """The bins as points at their exposure-weighted mean depths (0 where no time is left); valid until the next
        ``points`` (they share its rows)."""
        depths, (row_s, row_td, row_tdd) = self._depths, self._moments
        for row in self._changed:
            t, td = self._seconds[row], self._weighted[row]
            depth = td / t if t > 0.0 else 0.0
            row_s[row], row_td[row], depths[row], row_tdd[row] = t, td, depth, td * depth
        self._changed.clear()
        return ExposurePoints(depths, self._moments)

    def _grow(self) -> int:
        rows = len(self._entries)
        capacity = max(2 * rows, 16)
        moments = np.zeros((3, capacity))
        moments[:, :rows] = self._moments
        depths = np.zeros(capacity)
        depths[:rows] = self._depths
        self._moments, self._depths = moments, depths
        added = capacity - rows
        self._entries.extend([0] * added)
        self._seconds.extend([0.0] * added)
        self._weighted.extend([0.0] * added)
        self._free.extend(range(capacity - 1, rows, -1))
        return rows


class _OwnSpells:
    """One side's own resting spells in the window: exposure seconds per depth bin (with their depth-weighted sum,
    so each bin is evaluated at its exposure-weighted mean depth) and the fills' count and summed depth."""

    __slots__ = (
        "_window_ns", "_bin_frac", "_spells", "_bins", "n_fills", "fill_depth_sum", "exposure_s", "version", "_refined",
        "_points", "expires_at_ns",
    )

    def __init__(self, window_s: float, depth_bin_bps: float) -> None:
        self._window_ns = round(window_s * _NS_PER_S)
        self._bin_frac = depth_bin_bps / _BPS
        # (ts_ns, ((bin, seconds, seconds·depth), ...), fill depth or None)
        self._spells: deque[tuple[int, tuple[tuple[int, float, float], ...], float | None]] = deque()
        self._bins = _ExposureBins()
        self.n_fills = 0
        self.fill_depth_sum = 0.0
        self.exposure_s = 0.0
        self.version = 0  # bumped whenever the window's content changes
        self.expires_at_ns = _NEVER  # when the oldest spell leaves the window: `expire` before then is a no-op
        # (κ_base, version) → (κ̂, S(κ̂)) of the last refinement
        self._refined: tuple[tuple[float, int], tuple[float, float]] | None = None
        self._points: tuple[int, ExposurePoints | None] = (-1, None)  # (version, the refinement's input)

    def __len__(self) -> int:
        return len(self._spells)

    def add(self, ts_ns: int, exposure: Sequence[tuple[float, float]], fill_depth_frac: float | None) -> None:
        bin_frac = self._bin_frac
        seconds_by_bin: dict[int, float] = {}  # 0.0 + the first segment's seconds is those seconds exactly
        weighted_by_bin: dict[int, float] = {}
        for depth, seconds in exposure:
            if depth < 0.0:  # through the mid: λ is A there at most
                depth = 0.0
            i = int(depth / bin_frac)
            seconds_by_bin[i] = seconds_by_bin.get(i, 0.0) + seconds
            weighted_by_bin[i] = weighted_by_bin.get(i, 0.0) + seconds * depth
        self._add(ts_ns, tuple(zip(seconds_by_bin, seconds_by_bin.values(), weighted_by_bin.values())),
                  fill_depth_frac)

    def _add(self, ts_ns: int, entries: tuple[tuple[int, float, float], ...], fill_depth: float | None) -> None:
        if fill_depth is not None:
            fill_depth = max(fill_depth, 0.0)
            self.n_fills += 1
            self.fill_depth_sum += fill_depth
        for i, t, td in entries:
            self._bins.add(i, t, td)
            self.exposure_s += t
        if not self._spells:
            self.expires_at_ns = ts_ns + self._window_ns
        self._spells.append((ts_ns, entries, fill_depth))
        self.version += 1

    def expire(self, now_ns: int) -> None:
        cutoff = now_ns - self._window_ns
        spells = self._spells
        if not spells or spells[0][0] > cutoff:
            return
        self.version += 1
        while spells and spells[0][0] <= cutoff:
            _, entries, fill_depth = spells.popleft()
            if fill_depth is not None:
                self.n_fills -= 1
                self.fill_depth_sum = self.fill_depth_sum - fill_depth if self.n_fills else 0.0
            for i, t, td in entries:
                self._bins.remove(i, t, td)
                self.exposure_s -= t
        if not spells:
            self.exposure_s = 0.0
        self.expires_at_ns = spells[0][0] + self._window_ns if spells else _NEVER

    def refine(
        self, a_base: float, kappa_base: float, params: KappaParams, kappa_prior: float
    ) -> tuple[float, float, float]:
        if not self._spells:
            return a_base, kappa_base, 0.0
        key = (kappa_base, self.version)  # the prior is the model's, fixed
        if self._refined is None or self._refined[0] != key:
            if self._points[0] != self.version:
                # (depth, seconds) per bin at its exposure-weighted mean depth
                self._points = (self.version, self._bins.points())
            start = None if self._refined is None else self._refined[1][0]
            refined = refine_kappa_points(
                kappa_base, self._points[1], self.n_fills, self.fill_depth_sum, params, kappa_prior, start
            )
            self._refined = (key, refined)
        kappa, s0 = self._refined[1]
        return own_curve(a_base, kappa, s0, self.n_fills, params)

    def to_state(self) -> list:
        return [[ts, [list(e) for e in entries], fill] for ts, entries, fill in self._spells]

    def restore(self, spells: list) -> None:
        for ts, entries, fill in spells:
            checked = tuple((int(i), float(t), float(td)) for i, t, td in entries)
            if any(i < 0 or not (0.0 <= t < math.inf and 0.0 <= td < math.inf) for i, t, td in checked):
                raise ValueError(f"KappaModel.restore: bad exposure entry in {entries!r}")
            if fill is not None and not 0.0 <= fill < math.inf:
                raise ValueError(f"KappaModel.restore: fill depth must be >= 0 and finite, got {fill!r}")
            self._add(int(ts), checked, None if fill is None else float(fill))


# --- the model --------------------------------------------------------------------------------------------------


class KappaModel:
    """Feed `on_book` (best prices of every book update), `on_trade` (every public trade, once: E11) and `on_spell`
    (every resting spell of our orders, once); read `estimate(ts_ns)`. Time is only ever the caller's ts_ns."""

    __slots__ = ("params", "priors", "market", "_own", "_fills_since_start", "_memo", "_sides")

    def __init__(self, params: KappaParams, priors: InstrumentPriors) -> None:
        self.params = params
        self.priors = priors
        self.market = MarketArrivals(params)
        self._own = tuple(_OwnSpells(params.window_s, params.depth_bin_bps) for _ in range(2))
        self._fills_since_start = 0
        self._memo: tuple[tuple, KappaReading] | None = None  # the last reading and the state it was read from
        # per side, the last curve and the state it was read from: (span_s, trade, crossing and own window versions)
        self._sides: list[tuple[tuple, SideCurve] | None] = [None, None]

    def on_book(self, ts_ns: int, best_bid: float, best_ask: float) -> None:
        self.market.on_book(ts_ns, best_bid, best_ask)

    def on_trade(self, ts_ns: int, px: float, mid: float, aggressor_is_buy: bool, taker_ts_ns: int) -> None:
        self.market.on_trade(ts_ns, px, mid, aggressor_is_buy, taker_ts_ns)

    def on_spell(
        self, ts_ns: int, side: int, exposure: Sequence[tuple[float, float]], fill_depth_frac: float | None
    ) -> None:
        """One resting spell of ours on `side` (BID/ASK): (depth_frac, seconds) segments where it rested, and the
        depth it filled at (None for a cancel or expiry)."""
        if side not in (BID, ASK):
            raise ValueError(f"KappaModel.on_spell: side must be BID (0) or ASK (1), got {side!r}")
        for depth, seconds in exposure:
            if not (math.isfinite(depth) and 0.0 <= seconds < math.inf):
                raise ValueError(f"KappaModel.on_spell: bad exposure segment {(depth, seconds)!r}")
        if fill_depth_frac is not None and not math.isfinite(fill_depth_frac):
            raise ValueError(f"KappaModel.on_spell: fill depth must be finite, got {fill_depth_frac!r}")
        self._own[side].add(ts_ns, exposure, fill_depth_frac)
        if fill_depth_frac is not None:
            self._fills_since_start += 1

    def _side(self, side: int, span_s: float) -> SideCurve:
        """One side's curve, from windows `estimate` has advanced to the reading's time."""
        p, priors, market = self.params, self.priors, self.market
        source, fit, arrivals = market.current(side, span_s)
        reason = reliability(fit, arrivals, priors.kappa_per_frac, p)
        if reason is FitReason.OK:
            base_a, base_kappa, base_source = fit.a_per_s, fit.kappa_per_frac, source
        elif reason in _OUTSIDE_BAND:
            # A good fit whose κ left the band: κ at the band's edge (the plausible κ nearest the fit), and the A the
            # likelihood gives the market's arrivals at that κ, N'·e^(κx₁)/(1 − e^(−κW))/T: one curve. The fit's own
            # A belongs to its own κ: 1.7–2.2× too large at SOL's lower edge (review), a skew ≥ √2 too small. Not the
            # prior alone: with the fee in the model (A' = A·e^(−κf)) GLFT's half-spread is U-shaped in κ, and a
            # prior near its low is the tightest quote on offer exactly when the market differs most (review: SOL
            # with sweeps 4× deeper, 2.57 bp from the prior where the band edge gave 3.97). The side is flagged and
            # the strategy prices the edge against the prior (``inputs.py``): the wider of the two is quoted.
            ratio = p.reliability_ratio if reason is FitReason.ABOVE_MAX else 1.0 / p.reliability_ratio
            base_kappa = ratio * priors.kappa_per_frac
            base_a, base_source = fit.a_per_s_at(base_kappa), source
        else:
            base_a, base_kappa, base_source = priors.a_per_s, priors.kappa_per_frac, CurveSource.PRIOR
        own = self._own[side]
        a, kappa, weight = own.refine(base_a, base_kappa, p, priors.kappa_per_frac)
        return SideCurve(  # positional, in field order: msgspec matches 12 keywords in ~0.3 µs more
            a,  # a_per_s
            kappa,  # kappa_per_frac
            f"{base_source}+own" if len(own) else str(base_source),  # source
            source,  # market_source
            fit,  # market
            arrivals,  # arrivals
            reason,  # reason
            base_a,  # base_a_per_s
            base_kappa,  # base_kappa_per_frac
            own.n_fills,  # own_fills
            own.exposure_s,  # own_exposure_s
            weight,  # own_weight
        )

    def estimate(self, ts_ns: int) -> KappaReading:
        """The reading at `ts_ns`; unchanged windows (the usual case between arrivals once the window is full, as
        publication runs every 250 ms) return the previous reading without refitting or rebuilding it."""
        market = self.market
        market.advance(ts_ns)
        o0, o1 = own = self._own
        for window in own:
            if window.expires_at_ns <= ts_ns:
                window.expire(ts_ns)
        t0, t1, c0, c1 = market.windows
        span_s = market.span_s(ts_ns)
        key = (span_s, t0.version, t1.version, c0.version, c1.version, o0.version, o1.version)
        if self._memo is not None and self._memo[0] == key:
            return self._memo[1]
        reading = self._reading(span_s)
        self._memo = (key, reading)
        return reading

    def _current_side(self, side: int, span_s: float) -> SideCurve:
        """`_side`, or the side's last curve when nothing it is read from changed: a new arrival or spell is on one
        side, and the other side's fit, refinement and curve would be rebuilt equal (half the sides read on the
        archive hour). Skipping it changes no state: its fit and refinement are cached on the same versions."""
        market = self.market
        key = (span_s, market.trades[side].version, market.crossings[side].version, self._own[side].version)
        memo = self._sides[side]
        if memo is not None and memo[0] == key:
            return memo[1]
        curve = self._side(side, span_s)
        self._sides[side] = (key, curve)
        return curve

    def _reading(self, span_s: float) -> KappaReading:
        bid, ask = self._current_side(BID, span_s), self._current_side(ASK, span_s)
        n_window = bid.own_fills + ask.own_fills
        n_real = min(n_window, self._fills_since_start)
        bid_ok = bid.reason is FitReason.OK
        return KappaReading(  # positional, in field order: msgspec matches 17 keywords in ~0.5 µs more
            bid.kappa_per_frac,  # kappa_bid
            ask.kappa_per_frac,  # kappa_ask
            bid.a_per_s,  # a_bid_per_s
            ask.a_per_s,  # a_ask_per_s
            bid.source if bid.source == ask.source else f"bid:{bid.source},ask:{ask.source}",  # source
            min(_r2(bid), _r2(ask)),  # fit_r2
            min(bid.arrivals, ask.arrivals),  # fit_updates
            0.5 * (bid.base_kappa_per_frac + ask.base_kappa_per_frac),  # kappa_book
            0.5 * (bid.kappa_per_frac + ask.kappa_per_frac),  # kappa_own
            bid_ok and ask.reason is FitReason.OK,  # book_reliable
            ask.reason if bid_ok else bid.reason,  # book_reason
            n_window,  # own_fill_count
            self._fills_since_start,  # fills_since_start
            0.5 * (bid.own_weight + ask.own_weight),  # blend_weight
            n_real / (n_real + self.params.own_a_strength),  # own_confidence
            bid,
            ask,
        )

    def to_state(self) -> dict:
        """Own spells still in the window (the learned part). Market arrivals are market data the next process
        re-reads within minutes; persisting them would also fake the `min_updates` gate."""
        return {"version": STATE_VERSION, "own": [own.to_state() for own in self._own]}

    @classmethod
    def restore(cls, params: KappaParams, priors: InstrumentPriors, state: dict) -> KappaModel:
        """Restored spells enter the posterior until they expire; `fills_since_start` and `own_confidence` start
        at 0 (lesson E2)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"KappaModel.restore: unsupported state version {state.get('version')!r}")
        model = cls(params, priors)
        for own, spells in zip(model._own, state["own"], strict=True):
            own.restore(spells)
        return model
