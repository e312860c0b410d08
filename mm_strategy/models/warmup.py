"""Warmup: how much of the cold start is behind us, and the half-spread uplift while we quote from priors.

Nothing here blocks quoting: the strategy quotes from the priors from the first valid book, with the GLFT
half-spread multiplied by `uplift`. `is_warm` is for any gate that still wants to wait (full size, optional features); it can never wait on
fills it can only get by quoting, because it turns on by itself `force_start_s` after the first market data
(lesson E1: the original's deadlocks and warmup death spiral; 30 s is the original's `max_warmup_secs`, §B7).

Thresholds (seed session log, inventory §B2 "Session-log (Jan) rule"):
- fill rate = own fills since start / seconds since the first market data; liquid when ≥ 0.005 fills/s (18/h);
- liquid: 20 floor observations and 10 κ fills; illiquid: 10 and 5. A floor observation is one adverse-selection
  markout (the original's learned spread floor learned one step per resolved fill, §B2): pass
  `AdverseSelectionEstimate.fills_measured`. κ fills are our own fills, counted here.
- progress = ½·min(floor_obs/floor_needed, 1) + ½·min(κ_fills/κ_needed, 1) under the current regime, kept as a
  running maximum: a regime flip to liquid raises the thresholds but warmup never moves backwards (a γ that widens
  again mid-session for no new risk is noise). Reaching both thresholds graduates permanently (E11).
- uplift = 1 + (max_uplift − 1)·(1 − progress): 1.1 at start, 1 when graduated. 1.1 is the original's
  warmup γ scaling (§B3 `enable_warmup_gamma_scaling`), applied to the half-spread instead of γ (the half-spread is
  monotone in it, γ's effect is not); it is bounded here and multiplies only the calibration factor, so it cannot
  compound uncapped (E5), and the calibration model's fill hunger (×0.6 at worst) dominates it. It does not decay
  with `forced`: force-starting releases gates, it does not make the priors any better.
- forced = the timer released `is_warm` before the thresholds did.

Lesson E2: only this process's real counts gate anything. Nothing is restored — a restored model starts cold, even
from the state of a fully warm one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec

from mm_strategy.models.priors import InstrumentPriors

_NS_PER_S = 1_000_000_000
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class WarmupParams:
    """Defaults from the seed session log (0.005 fills/s; 20/10 and 10/5), lesson E1 (30 s) and §B3 (1.1)."""

    liquid_fill_rate_per_s: float = 0.005
    liquid_floor_obs: int = 20
    liquid_kappa_fills: int = 10
    illiquid_floor_obs: int = 10
    illiquid_kappa_fills: int = 5
    force_start_s: float = 30.0
    max_uplift: float = 1.1

    def __post_init__(self) -> None:
        checks = (
            ("liquid_fill_rate_per_s", 0 < self.liquid_fill_rate_per_s < math.inf, "> 0 and finite"),
            ("liquid_floor_obs", self.liquid_floor_obs >= 1, ">= 1"),
            ("liquid_kappa_fills", self.liquid_kappa_fills >= 1, ">= 1"),
            ("illiquid_floor_obs", self.illiquid_floor_obs >= 1, ">= 1"),
            ("illiquid_kappa_fills", self.illiquid_kappa_fills >= 1, ">= 1"),
            ("force_start_s", 0 <= self.force_start_s < math.inf, ">= 0 and finite"),
            ("max_uplift", 1 <= self.max_uplift < math.inf, ">= 1 and finite"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"WarmupParams.{name}: must be {rule}, got {getattr(self, name)!r}")


class WarmupReading(msgspec.Struct, frozen=True):
    """DESIGN §3 WarmupState (progress, is_warm, liquid_regime, forced, uplift) and the counts behind it."""

    progress: float
    is_warm: bool
    liquid_regime: bool
    forced: bool
    uplift: float
    fill_rate_per_s: float
    floor_observations: int
    kappa_fills: int
    floor_needed: int
    kappa_fills_needed: int
    data_s: float


def warmup_progress(floor_obs: int, floor_needed: int, kappa_fills: int, kappa_needed: int) -> float:
    """Mean of the two capped fractions, in [0, 1]; 1 exactly when both thresholds are met."""
    return 0.5 * (min(floor_obs / floor_needed, 1.0) + min(kappa_fills / kappa_needed, 1.0))


def warmup_uplift(progress: float, max_uplift: float) -> float:
    """Linear from max_uplift at progress 0 to 1 at progress 1."""
    return 1.0 + (max_uplift - 1.0) * (1.0 - progress)


class WarmupModel:
    """Feed `on_market_data` (any book/quote event; only the first one matters), `on_fill` (every own fill, once)
    and `on_floor_observations` (the AS model's since-start markout count); read `estimate(ts_ns)`."""

    __slots__ = ("params", "_first_data_ns", "_fills", "_floor_obs", "_progress", "_graduated")

    def __init__(self, params: WarmupParams, priors: InstrumentPriors | None = None) -> None:
        self.params = params
        self._first_data_ns: int | None = None
        self._fills = 0
        self._floor_obs = 0
        self._progress = 0.0
        self._graduated = False

    def on_market_data(self, ts_ns: int) -> None:
        if self._first_data_ns is None:
            self._first_data_ns = ts_ns

    def on_fill(self, ts_ns: int) -> None:
        self.on_market_data(ts_ns)  # a fill is market data too: the clock cannot start after it
        self._fills += 1

    def on_floor_observations(self, ts_ns: int, count: int) -> None:
        """The AS model's `fills_measured` (a since-start count); counts only grow, so an older message is ignored."""
        self.on_market_data(ts_ns)
        self._floor_obs = max(self._floor_obs, count)

    def estimate(self, ts_ns: int) -> WarmupReading:
        """Evaluates the regime at `ts_ns` (the fill rate moves with time alone) and latches progress/graduation."""
        p = self.params
        data_s = 0.0 if self._first_data_ns is None else max(ts_ns - self._first_data_ns, 0) / _NS_PER_S
        rate = self._fills / data_s if data_s > 0.0 else 0.0
        liquid = rate >= p.liquid_fill_rate_per_s
        floor_needed = p.liquid_floor_obs if liquid else p.illiquid_floor_obs
        kappa_needed = p.liquid_kappa_fills if liquid else p.illiquid_kappa_fills
        progress = warmup_progress(self._floor_obs, floor_needed, self._fills, kappa_needed)
        self._graduated = self._graduated or progress >= 1.0
        self._progress = 1.0 if self._graduated else max(self._progress, progress)
        forced = not self._graduated and self._first_data_ns is not None and data_s >= p.force_start_s
        return WarmupReading(  # positional, in field order (estimated at every publication)
            self._progress,  # progress
            self._graduated or forced,  # is_warm
            liquid,  # liquid_regime
            forced,  # forced
            warmup_uplift(self._progress, p.max_uplift),  # uplift
            rate,  # fill_rate_per_s
            self._floor_obs,  # floor_observations
            self._fills,  # kappa_fills
            floor_needed,  # floor_needed
            kappa_needed,  # kappa_fills_needed
            data_s,  # data_s
        )

    def to_state(self) -> dict:
        return {"version": STATE_VERSION}

    @classmethod
    def restore(cls, params: WarmupParams, priors: InstrumentPriors | None, state: dict) -> WarmupModel:
        """A cold model whatever the saved state said (lesson E2, module docstring)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"WarmupModel.restore: unsupported state version {state.get('version')!r}")
        return cls(params, priors)
