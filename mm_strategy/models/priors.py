"""Per-instrument priors: the one home of κ, A and σ before (or instead of) online estimates.

Written once per venue+instrument config (top-level ``priors``) and handed by the config loader to the strategy
and to every estimator, so the κ the kappa model gates its fits against, the σ the volatility model starts from
and the values the strategy falls back to are the same numbers. ``python -m mm_strategy.calibrate`` fits them
from a catalog, so a new coin gets priors from its own data rather than from BTC's.

Units are instrument-independent (DESIGN §4): κ per price fraction, A fills/s at zero depth, σ as a price
fraction per √s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class PriorsFit:
    """Where priors were fitted (``python -m mm_strategy.calibrate`` writes it): the catalog and the first and last
    ``ts_init`` it read, UTC ISO. A backtest on that stretch with these priors has seen its own future, so a sweep
    refuses to score such windows out of sample (``mm_strategy.research``)."""

    catalog: str
    start: str
    end: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentPriors:
    """λ(δ) = A·e^(−κδ) with δ a price fraction from the mid, and σ of the mid per √s.

    No defaults: a silent BTC default on another coin would misprice every quote until the estimators take over.
    """

    kappa_per_frac: float
    a_per_s: float
    sigma_frac_per_sqrt_s: float
    fitted_on: PriorsFit | None = None  # None: set by hand, or fitted before the stamp existed

    def __post_init__(self) -> None:
        for name in ("kappa_per_frac", "a_per_s", "sigma_frac_per_sqrt_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"InstrumentPriors.{name}: must be finite and > 0, got {value!r}")
