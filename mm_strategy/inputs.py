"""Resolve one quote cycle's GLFT inputs from the estimator actors' latest messages, or their fallbacks.

A fresh estimate is used as it is. A missing one falls back to the instrument's prior. A *stale* one falls back
to whichever of the prior and its last value quotes more conservatively, input by input (DESIGN §5: a stale
estimate never makes quotes less conservative): the half-spread falls with κ and A, the skew falls with A and
rises with σ, so the fallback takes the smaller κ and A, the larger σ, keeps the last add-ons, and drops any
calibration tightening. Falling back from a learned A of 0.04/s to a 0.8/s prior would shrink the skew 4×
exactly when the feed of our own fills has stopped.

Framework-free apart from reading message fields, so each rule is tested without an engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mm_strategy.messages import AdverseSelectionEstimate
from mm_strategy.messages import CalibrationState
from mm_strategy.messages import InformedFlowEstimate
from mm_strategy.messages import KappaEstimate
from mm_strategy.messages import VolatilityEstimate
from mm_strategy.messages import WarmupState
from mm_strategy.models.priors import InstrumentPriors
from mm_strategy.models.risk import RiskConfig
from mm_strategy.models.risk import gamma_for
from mm_strategy.models.risk import combined_half_spread_mult
from mm_strategy.quoting import ModelInputs


@dataclass(frozen=True, slots=True)
class EstimateView:
    """What the resolver may ask of the estimates: the fresh one of a type (or None) and the last one ever seen."""

    fresh: Callable[[type], object | None]
    last: Callable[[type], object | None]


def _positive(value: float) -> float | None:
    return value if value > 0 else None


def _pick(fresh: float | None, last: float | None, prior: float, conservative: Callable[[float, float], float]) -> float:
    if fresh is not None:
        return fresh
    return prior if last is None else conservative(prior, last)


def _field(estimate: object | None, name: str) -> float | None:
    return None if estimate is None else _positive(getattr(estimate, name))


def informed_addon_bps(estimate: InformedFlowEstimate | None, cap_bps: float) -> tuple[float, float]:
    """(bid, ask) widening for informed flow: informed *buying* endangers our asks, informed selling our bids.

    ``cap_bps · P(informed on that side) · confidence``; zero without trades (the model then says so and stays
    neutral, DESIGN §5 informed_flow).
    """
    if estimate is None or not estimate.has_trades:
        return 0.0, 0.0
    scale = cap_bps * min(max(estimate.confidence, 0.0), 1.0)
    return scale * estimate.p_informed_sell, scale * estimate.p_informed_buy


def resolve_inputs(
    view: EstimateView,
    priors: InstrumentPriors,
    risk: RiskConfig,
    position: float,
    informed_addon_cap_bps: float,
) -> ModelInputs:
    fresh_kappa, last_kappa = view.fresh(KappaEstimate), view.last(KappaEstimate)
    fresh_vol, last_vol = view.fresh(VolatilityEstimate), view.last(VolatilityEstimate)
    sigma = _pick(
        _field(fresh_vol, "sigma_frac_per_sqrt_s"), _field(last_vol, "sigma_frac_per_sqrt_s"), priors.sigma_frac_per_sqrt_s, max
    )

    def curve(name: str, prior: float) -> float:
        return _pick(_field(fresh_kappa, name), _field(last_kappa, name), prior, min)

    adverse = view.fresh(AdverseSelectionEstimate) or view.last(AdverseSelectionEstimate)
    informed = view.fresh(InformedFlowEstimate) or view.last(InformedFlowEstimate)
    informed_bid, informed_ask = informed_addon_bps(informed, informed_addon_cap_bps)
    calibration = view.fresh(CalibrationState)  # stale: no tightening
    warmup = view.fresh(WarmupState) or view.last(WarmupState)
    return ModelInputs(
        kappa_bid_per_frac=curve("kappa_bid", priors.kappa_per_frac),
        kappa_ask_per_frac=curve("kappa_ask", priors.kappa_per_frac),
        a_bid_per_s=curve("a_per_s_bid", priors.a_per_s),
        a_ask_per_s=curve("a_per_s_ask", priors.a_per_s),
        sigma_frac_per_sqrt_s=sigma,
        gamma_per_usd=gamma_for(
            risk, sigma_frac_per_sqrt_s=sigma, sigma_baseline_frac_per_sqrt_s=priors.sigma_frac_per_sqrt_s, position=position
        ),
        half_spread_mult=combined_half_spread_mult(
            calibration.half_spread_mult if calibration is not None else 1.0,
            # the uplift decays with warmup progress and lasts past a forced start (models/warmup.py)
            warmup.uplift if warmup is not None else 1.0,
        ),
        as_addon_bid_bps=adverse.spread_addon_bps_bid if adverse is not None else 0.0,
        as_addon_ask_bps=adverse.spread_addon_bps_ask if adverse is not None else 0.0,
        informed_addon_bid_bps=informed_bid,
        informed_addon_ask_bps=informed_ask,
    )
