"""Calibration: quote a tighter half-spread while the estimators are uncalibrated and fills are scarce (§B6).

The explore/exploit bootstrap: adverse selection and κ can only be learned from our own fills, so while they are
unknown and we fill below target, quote tighter (half-spread · mult, mult < 1) to buy information; phase this out
as the estimators calibrate. The multiplier acts on the half-spread, which is monotone in fill probability. The
original lowered γ instead, but the GLFT half-spread is not monotone in γ (c1 = ln(1 + γΔ/κ)/(γΔ) falls with γ
while the σ term rises), so "lower γ to attract fills" can widen quotes (issue 10, defect 7). Equations (DESIGN §5), with every choice pinned down:

    quoted_s  = ½·(bid seconds + ask seconds) in the last lookback_s with an order of ours resting on that side
    expected  = target_fills_per_hour · quoted_s / 3600                     (the seed's window-normalisation fix)
    ratio     = (fills_in_window + prior_fills) / (expected + prior_fills)
    m         = max(min(ratio, 1), min_half_spread_mult)
    progress  = ½·min(as_fills_measured / as_fills_full, 1) + ½·min(kappa_fills / kappa_fills_full, 1)
    half_spread_mult = m + (1 − m)·progress

Choices and why:
- **expected over the seconds we quoted, not the full lookback nor the elapsed time.** The seed compared the
  window count with an hourly target (4× too hungry at 900 s); fixing that with the full lookback still leaves the
  first 15 minutes biased: at the target rate, 7.5 min in, 7.5 fills against an expected 15 reads as half the
  target. The elapsed time since start fixed that but counted seconds in which nothing of ours rested as quoting
  time without fills: across the HL captures' 250 s feed gap ETH's multiplier fell from 0.80 to 0.68, so the first
  quotes after the gap were 12 % tighter on the GLFT part, when the market was least known (quant review); the
  same held before the first quote and whenever quotes were pulled or halted. Fills only come from resting orders,
  so only resting time is evidence: the seconds covered by our resting spells (``actors/order_events.py``: accepted
  → first fill, cancel, expiry or amendment), per side, as a union (the ladder's levels rest together), a side's
  second counting ½ because the target is for a two-sided quote: one-sided quoting (a reduce-only zone) expects
  half the fills. Into a feed gap our orders still rest until the stale-book kill switch pulls them (6.6 s into
  each ETH gap), and live they can be filled there: those seconds count (ETH now 0.80 → 0.775 across the gap).
  A spell reaches the model when it ends, so its seconds count from then: the strategy amends or cancels its
  orders often enough that this lags by 1–2 s at the median and 10–23 s at most on the captures, which delays the
  start-up tightening by as much and no more (BTC and SOL still reach the floor about 80 s in). A filled spell the
  book crossed before its fill event is counted up to the crossing but placed as ending at the event (off by the
  fill's delivery lag). A spell ends at its order's first fill, so a partly filled order that rests on adds no
  seconds after that fill (fewer expected fills: less tightening, the safe side). Why not a book-freshness rule
  like ``kappa.MarketArrivals``' observed stretches: it would exclude the feed gap, but not the time before the
  first quote, nor quotes pulled for any other reason.
- **prior_fills (default 2)**: the ratio is the posterior mean of (fill rate / target) under a Gamma prior centred on
  the target with `prior_fills` pseudo-fills. Without it, 0 fills in the first 10 s (expected 0.17, and a 85 %
  chance of seeing none *at* the target rate) gives ratio 0 and the floor multiplier: the controller would conclude
  the market is dead from no evidence. With 2 pseudo-fills: ratio 0.92 after 10 s without fills, the floor after
  80 s of quoting without fills (expected 1.33), and (15 + 2)/(15 + 2) = 1 on target. `prior_fills = 0` is the seed's
  formula exactly; with nothing quoted yet (quoted_s 0) the ratio is then taken as 1.
- **progress**: the inventory's definition (§B6), linear in each input and capped. The inputs must be cold-start
  counts of this process (lesson E2): AS `fills_measured` counts markouts since start, and the κ part counts
  `KappaEstimate.fills_since_start`, the filled resting spells the intensity curve has learned from since start
  (10 of them = the 0.5 data share of its own-fill posterior, whose strength is 10 pseudo-fills). Not the
  windowed `own_confidence`: that share counts the spells of the last 600 s only, so below 60 fills/h it never
  reached 0.5 and, after any quiet 10 minutes, fell back to 0: progress never completed and the tightening, meant
  for the cold start, never ended (at 6 fills/h the multiplier stayed ≈ 0.84 for good; review). The original's
  1/(1 + CV) is 0.69 from the Gamma(5) prior alone, which would mark κ calibrated before any fill.
- No snap to 1 at progress ≥ 0.95 (the original's `is_calibrated`): the formula is continuous and already within
  2 % of 1 there; a snap would only add a jump in the spread.

The multiplier scales the GLFT half-spread together with the warmup uplift (``risk.combined_half_spread_mult``); the
floor ``min_half_spread_mult`` bounds it, and the half-spread floor (≥ maker fee) still applies after it. Nothing is persisted: the window is this process's fill rate at this process's quotes, and the progress inputs
are cold-start counts (E2); `to_state`/`restore` exist for the common interface.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import msgspec

from mm_strategy.models.fill_rate import TrailingEventWindow
from mm_strategy.models.kappa import ASK
from mm_strategy.models.kappa import BID
from mm_strategy.models.priors import InstrumentPriors

STATE_VERSION = 1
_NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class CalibrationParams:
    """Defaults: target 60/h, min_half_spread_mult 0.6, lookback 900 s (seed session log); 20 AS fills and 10 κ
    fills (κ confidence 0.5, inventory §B6) for full progress; prior_fills 2 (module docstring)."""

    target_fills_per_hour: float = 60.0
    min_half_spread_mult: float = 0.6
    lookback_s: float = 900.0
    as_fills_full: int = 20
    kappa_fills_full: int = 10
    prior_fills: float = 2.0

    def __post_init__(self) -> None:
        checks = (
            ("target_fills_per_hour", 0 < self.target_fills_per_hour < math.inf, "> 0 and finite"),
            ("min_half_spread_mult", 0 < self.min_half_spread_mult <= 1, "in (0, 1]"),
            ("lookback_s", 0 < self.lookback_s < math.inf, "> 0 and finite"),
            ("as_fills_full", self.as_fills_full >= 1, ">= 1"),
            ("kappa_fills_full", self.kappa_fills_full >= 1, ">= 1"),
            ("prior_fills", 0 <= self.prior_fills < math.inf, ">= 0 and finite"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"CalibrationParams.{name}: must be {rule}, got {getattr(self, name)!r}")


class CalibrationReading(msgspec.Struct, frozen=True):
    """Half-spread multiplier in [min_half_spread_mult, 1] and how it was made (DESIGN §3 CalibrationState)."""

    half_spread_mult: float
    progress: float
    fills_in_window: int
    expected_fills_in_window: float
    fill_ratio: float
    quoted_s: float
    as_fills_measured: int
    kappa_fills: int


def expected_fills(target_fills_per_hour: float, quoted_s: float) -> float:
    """Fills the target rate predicts over `quoted_s` seconds of quoting (the seed's fix: per window, not per hour)."""
    return target_fills_per_hour * quoted_s / 3600.0


def fill_ratio(fills: int, expected: float, prior_fills: float) -> float:
    """(fills + prior)/(expected + prior): posterior-mean rate over target, 1 when there is no evidence at all."""
    denominator = expected + prior_fills
    return (fills + prior_fills) / denominator if denominator > 0.0 else 1.0


def calibration_progress(as_fills: int, as_full: int, kappa_fills: int, kappa_full: int) -> float:
    """Mean of the two capped calibration fractions (inventory §B6), in [0, 1]."""
    as_part = min(max(as_fills, 0) / as_full, 1.0)
    kappa_part = min(max(kappa_fills, 0) / kappa_full, 1.0)
    return 0.5 * (as_part + kappa_part)


def tightening_mult(ratio: float, progress: float, min_half_spread_mult: float) -> float:
    """m = max(min(ratio, 1), floor); mult = m + (1 − m)·progress."""
    m = max(min(ratio, 1.0), min_half_spread_mult)
    return m + (1.0 - m) * progress


class CoveredTime:
    """How many seconds of a trailing window a union of intervals covers (one side's resting spells, which overlap
    when the ladder rests several levels). Intervals are kept merged and sorted; one that ended before the window is
    dropped, so a side quoted without a break is one interval.

    The kept intervals' summed length is kept with them (``_total_ns``, whole nanoseconds: exact in any order), so
    a read at or after every kept end, the model's case, clips only the first interval instead of walking them all
    (issue 13: read at every book batch, with tens of intervals after a stretch of requotes)."""

    __slots__ = ("_window_ns", "_intervals", "_total_ns")

    def __init__(self, window_s: float) -> None:
        self._window_ns = round(window_s * _NS_PER_S)
        self._intervals: deque[tuple[int, int]] = deque()
        self._total_ns = 0  # Σ (end − start) over ``_intervals``

    def add(self, start_ns: int, end_ns: int) -> None:
        intervals = self._intervals
        later = []  # wholly after this one (an end that arrived out of order): put back untouched
        while intervals and intervals[-1][0] > end_ns:
            later.append(intervals.pop())
        total_ns = self._total_ns
        while intervals and intervals[-1][1] >= start_ns:  # touching or overlapping: merge
            start, end = intervals.pop()
            total_ns -= end - start
            start_ns, end_ns = min(start, start_ns), max(end, end_ns)
        intervals.append((start_ns, end_ns))
        self._total_ns = total_ns + (end_ns - start_ns)
        intervals.extend(reversed(later))

    def seconds(self, now_ns: int) -> float:
        """Covered seconds in (now − window, now]."""
        window_start = now_ns - self._window_ns
        intervals = self._intervals
        while intervals and intervals[0][1] <= window_start:
            start, end = intervals.popleft()
            self._total_ns -= end - start
        if intervals and intervals[-1][1] <= now_ns:
            # Every interval ends by now, and only the first can start before the window (the rest start after its
            # end, which is inside the window): the total less the first one's part before the window.
            return (self._total_ns - max(window_start - intervals[0][0], 0)) / _NS_PER_S
        covered_ns = 0
        for start, end in intervals:
            covered_ns += max(min(end, now_ns) - max(start, window_start), 0)
        return covered_ns / _NS_PER_S


class CalibrationModel:
    """Feed `on_fill` for every own fill and `on_spell` for every resting spell of our orders (each once, E11), and
    `on_progress_inputs` whenever the AS / κ estimates change; read `estimate(ts_ns)`. Pass event time (backtest)
    or clock time (live), the clock the spells are stamped in."""

    __slots__ = ("params", "_fills", "_quoted", "_as_fills", "_kappa_fills", "_progress", "_memo")

    def __init__(self, params: CalibrationParams, priors: InstrumentPriors | None = None) -> None:
        self.params = p = params
        self._fills = TrailingEventWindow(p.lookback_s)
        self._quoted = (CoveredTime(p.lookback_s), CoveredTime(p.lookback_s))  # by side: BID, ASK
        self._as_fills = 0
        self._kappa_fills = 0
        self._progress = calibration_progress(0, p.as_fills_full, 0, p.kappa_fills_full)  # of its inputs
        self._memo: tuple[tuple, CalibrationReading] | None = None  # the last reading and what it was made of

    def on_fill(self, ts_ns: int) -> None:
        self._advance(ts_ns)
        self._fills.add(ts_ns)

    def on_spell(self, ts_ns: int, side: int, rested_s: float) -> None:
        """A resting spell of ours on `side` (BID/ASK) that ended at `ts_ns` after `rested_s` seconds."""
        if side != BID and side != ASK:
            raise ValueError(f"CalibrationModel.on_spell: side must be BID (0) or ASK (1), got {side!r}")
        if not 0.0 <= rested_s < math.inf:
            raise ValueError(f"CalibrationModel.on_spell: rested_s must be >= 0 and finite, got {rested_s!r}")
        self._advance(ts_ns)
        self._quoted[side].add(ts_ns - round(rested_s * _NS_PER_S), ts_ns)

    def on_progress_inputs(self, ts_ns: int, as_fills_measured: int, kappa_fills: int) -> None:
        """AS markouts measured and κ's filled spells, both since this process started (module docstring)."""
        if as_fills_measured < 0 or kappa_fills < 0:
            raise ValueError(
                "CalibrationModel.on_progress_inputs: fill counts must be >= 0, "
                f"got as_fills_measured={as_fills_measured!r}, kappa_fills={kappa_fills!r}"
            )
        self._advance(ts_ns)
        self._as_fills = as_fills_measured
        self._kappa_fills = kappa_fills
        p = self.params
        self._progress = calibration_progress(as_fills_measured, p.as_fills_full, kappa_fills, p.kappa_fills_full)

    def estimate(self, ts_ns: int) -> CalibrationReading:
        """The previous reading itself when none of its inputs changed (every read between spells, fills and
        progress changes, while no quoted stretch is leaving the window): nothing to rebuild, and the actor skips
        comparing it again."""
        now_ns = self._advance(ts_ns)
        bid, ask = self._quoted
        quoted_s = 0.5 * (bid.seconds(now_ns) + ask.seconds(now_ns))
        fills = self._fills.count
        key = (quoted_s, fills, self._progress, self._as_fills, self._kappa_fills)
        if self._memo is not None and self._memo[0] == key:
            return self._memo[1]
        reading = self._reading(quoted_s, fills)
        self._memo = (key, reading)
        return reading

    def _advance(self, ts_ns: int) -> int:
        """Move the fill window to `ts_ns`; the latest time seen (an older timestamp does not rewind it)."""
        self._fills.advance(ts_ns)
        return self._fills.now_ns

    def _reading(self, quoted_s: float, fills: int) -> CalibrationReading:
        p = self.params
        expected = expected_fills(p.target_fills_per_hour, quoted_s)
        ratio = fill_ratio(fills, expected, p.prior_fills)
        progress = self._progress
        return CalibrationReading(  # positional, in field order (estimated at every publication)
            tightening_mult(ratio, progress, p.min_half_spread_mult),  # half_spread_mult
            progress,  # progress
            fills,  # fills_in_window
            expected,  # expected_fills_in_window
            ratio,  # fill_ratio
            quoted_s,  # quoted_s
            self._as_fills,  # as_fills_measured
            self._kappa_fills,  # kappa_fills
        )

    def to_state(self) -> dict:
        return {"version": STATE_VERSION}

    @classmethod
    def restore(cls, params: CalibrationParams, priors: InstrumentPriors | None, state: dict) -> CalibrationModel:
        """A fresh model (module docstring: nothing learned survives a restart by design)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"CalibrationModel.restore: unsupported state version {state.get('version')!r}")
        return cls(params, priors)
