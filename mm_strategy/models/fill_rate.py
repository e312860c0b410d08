"""Our fill rate against the intensity curve: fills per hour observed at the depths our orders rested, and the
fills per hour the curve predicts there (DESIGN §7, "fill rate vs model").

There is one intensity curve, λ(δ) = A·e^(−κδ) per side, fitted and refined by ``kappa.py`` (DESIGN §5: the same
curve, not a second one). This model does not fit another; it checks that one against what our orders met:
- every resting spell (fills **and** non-fills, at the depths the order actually rested, ``actors/order_events.py``)
  adds its expected fills Σ_segments T_j·A·e^(−κ·max(δ_j, 0)) under the curve in force on its side when it ended,
  and one observed fill if it filled;
- both are summed over a trailing window of event time (``window_s``, the calibration lookback) and reported per
  hour of the window observed so far (lesson E12). Observed well below expected means the curve promises fills our
  queue position does not get (the own-spell refinement in ``kappa.py`` pulls A down as that evidence accumulates);
  well above means we are filled more than the market's arrivals suggest, typically by adverse moves.

The curve comes from the kappa model's published estimate (the instrument prior before the first one), so
``lambda0_per_s``/``delta_char_bps`` report the curve the comparison used: A and 1/κ (bps), averaged over the sides.
``spells`` counts this process's spells and gates ``is_warm`` (lesson E2); nothing learned is persisted: the
windows are diagnostics a restarted process rebuilds.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from mm_strategy.models.kappa import ASK
from mm_strategy.models.kappa import BID
from mm_strategy.models.priors import InstrumentPriors

_NS_PER_S = 1_000_000_000
_BPS = 1e4
STATE_VERSION = 3


@dataclass(frozen=True, slots=True)
class FillRateParams:
    """Window 900 s (the calibration lookback, so both read fills over the same stretch); warm after 30 spells
    (the seed's 30 observations)."""

    window_s: float = 900.0
    warmup_spells: int = 30

    def __post_init__(self) -> None:
        checks = (
            ("window_s", 0 < self.window_s < math.inf, "> 0 and finite"),
            ("warmup_spells", self.warmup_spells >= 0, ">= 0"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"FillRateParams.{name}: must be {rule}, got {getattr(self, name)!r}")


class FillRateReading(msgspec.Struct, frozen=True):
    """Observed and curve-expected fills per hour over the trailing window; the curve used (A in fills/s at zero
    depth, 1/κ in bps, mean of the sides); this process's spell count and warmth."""

    observed_fills_per_hour: float
    expected_fills_per_hour: float
    lambda0_per_s: float
    delta_char_bps: float
    spells: int
    is_warm: bool


class TrailingEventWindow:
    """Weighted event timestamps in a trailing window of event time, and how much of that window has been observed.

    `span_s` = min(window, now − first timestamp seen): a rate over a window that has not been observed in full is
    normalised by the observed part (lesson E12, calibration docstring). Time only moves forward: an older timestamp
    is treated as the latest one seen, which keeps the deque sorted. `count` counts events, `total` sums weights.
    """

    __slots__ = ("_window_ns", "_events", "_start_ns", "_now_ns", "_total")

    def __init__(self, window_s: float) -> None:
        self._window_ns = round(window_s * _NS_PER_S)
        self._events: deque[tuple[int, float]] = deque()
        self._start_ns: int | None = None
        self._now_ns = 0
        self._total = 0.0

    def advance(self, ts_ns: int) -> None:
        if self._start_ns is None:
            self._start_ns = self._now_ns = ts_ns
        elif ts_ns > self._now_ns:
            self._now_ns = ts_ns
        cutoff = self._now_ns - self._window_ns
        events = self._events
        while events and events[0][0] <= cutoff:
            self._total -= events.popleft()[1]
        if not events:
            self._total = 0.0  # no float residue once the window is empty

    def add(self, ts_ns: int, weight: float = 1.0) -> None:
        self.advance(ts_ns)
        self._events.append((self._now_ns, weight))
        self._total += weight

    @property
    def count(self) -> int:
        return len(self._events)

    @property
    def now_ns(self) -> int:
        """The latest timestamp seen (0 before any)."""
        return self._now_ns

    @property
    def total(self) -> float:
        return self._total

    @property
    def span_s(self) -> float:
        if self._start_ns is None:
            return 0.0
        return min(self._now_ns - self._start_ns, self._window_ns) / _NS_PER_S


def expected_fills(a_per_s: float, kappa_per_frac: float, exposure: Sequence[tuple[float, float]]) -> float:
    """Σ T·A·e^(−κ·max(δ, 0)) over (depth_frac, seconds) segments: the curve's fills for that exposure."""
    exp = math.exp
    # `0.0 if depth < 0.0 else depth` is max(depth, 0.0) without the call (the same float, -0.0 and NaN included)
    return sum([
        seconds * a_per_s * exp(-kappa_per_frac * (0.0 if depth < 0.0 else depth)) for depth, seconds in exposure
    ])


class FillRateModel:
    """Feed `on_curve` (every published curve) and `on_spell` (every resting spell of our orders, once: E11);
    read `estimate(ts_ns)`."""

    __slots__ = ("params", "_curves", "_observed", "_expected", "_spells", "_memo")

    def __init__(self, params: FillRateParams, priors: InstrumentPriors) -> None:
        self.params = params
        prior = (priors.a_per_s, priors.kappa_per_frac)
        self._curves = [prior, prior]  # (A per s, κ per frac) by side
        self._observed = TrailingEventWindow(params.window_s)
        self._expected = TrailingEventWindow(params.window_s)
        self._spells = 0
        self._memo: tuple[tuple, FillRateReading] | None = None  # the last reading and what it was made of

    def on_curve(self, ts_ns: int, a_bid_per_s: float, kappa_bid: float, a_ask_per_s: float, kappa_ask: float) -> None:
        for value in (a_bid_per_s, kappa_bid, a_ask_per_s, kappa_ask):
            if not 0.0 < value < math.inf:
                raise ValueError(f"FillRateModel.on_curve: A and κ must be > 0 and finite, got {value!r}")
        self._curves = [(a_bid_per_s, kappa_bid), (a_ask_per_s, kappa_ask)]

    def on_spell(self, ts_ns: int, side: int, exposure: Sequence[tuple[float, float]], filled: bool) -> None:
        """One resting spell on `side` (BID/ASK): (depth_frac, seconds) segments, ended by a fill or not."""
        if side not in (BID, ASK):
            raise ValueError(f"FillRateModel.on_spell: side must be BID (0) or ASK (1), got {side!r}")
        for depth, seconds in exposure:
            if not (math.isfinite(depth) and 0.0 <= seconds < math.inf):
                raise ValueError(f"FillRateModel.on_spell: bad exposure segment {(depth, seconds)!r}")
        self._expected.add(ts_ns, expected_fills(*self._curves[side], exposure))
        if filled:
            self._observed.add(ts_ns)
        else:
            self._observed.advance(ts_ns)
        self._spells += 1

    def estimate(self, ts_ns: int) -> FillRateReading:
        """The previous reading itself when none of its inputs changed (a full window between spells and curves):
        nothing to rebuild, and the actor skips comparing it again."""
        self._observed.advance(ts_ns)
        self._expected.advance(ts_ns)
        key = (self._expected.span_s, self._observed.count, self._expected.total, self._curves, self._spells)
        if self._memo is not None and self._memo[0] == key:
            return self._memo[1]
        reading = self._reading()
        self._memo = (key, reading)
        return reading

    def _reading(self) -> FillRateReading:
        span_s = self._expected.span_s
        per_hour = 3600.0 / span_s if span_s > 0.0 else 0.0
        (a_bid, k_bid), (a_ask, k_ask) = self._curves
        return FillRateReading(  # positional, in field order (estimated at every publication)
            self._observed.count * per_hour,  # observed_fills_per_hour
            self._expected.total * per_hour,  # expected_fills_per_hour
            0.5 * (a_bid + a_ask),  # lambda0_per_s
            _BPS / (0.5 * (k_bid + k_ask)),  # delta_char_bps
            self._spells,  # spells
            self._spells >= self.params.warmup_spells,  # is_warm
        )

    def to_state(self) -> dict:
        """Nothing learned to keep: the windows are diagnostics, the curve comes back with the next estimate."""
        return {"version": STATE_VERSION}

    @classmethod
    def restore(cls, params: FillRateParams, priors: InstrumentPriors, state: dict) -> FillRateModel:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"FillRateModel.restore: unsupported state version {state.get('version')!r}")
        return cls(params, priors)
