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
from typing import Protocol

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


class Estimates(Protocol):
    """What the resolver may ask of the estimates (``estimates.LatestEstimates``): the fresh one of a type at a time
    (or None) and the last one ever seen."""

    def fresh(self, cls: type, now_ns: int) -> object | None: ...

    def last(self, cls: type) -> object | None: ...


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


_UNSEEN = object()  # no estimate resolved yet: unlike None (none received), never the same as what arrives


class InputResolver:
    """One quote cycle's :class:`ModelInputs` from the estimates, by the rules in the module docstring.

    Cycles follow the book, several a second, while each estimate type arrives less often, so each share of the
    inputs is kept with the estimate objects it came from (the fresh one or None, and the last one) and computed
    again only when one of them changes: a new message, or the estimate turning stale. A published message is never
    changed (every publish builds a new one), so the same objects give the same share. γ is kept with the σ and the
    position it came from. The estimates are asked every cycle as before, so what they count and log is unchanged.
    """

    def __init__(self, priors: InstrumentPriors, risk: RiskConfig, informed_addon_cap_bps: float) -> None:
        self._priors = priors
        self._risk = risk
        self._informed_addon_cap_bps = informed_addon_cap_bps
        self._curve_from: tuple[object, object] = (_UNSEEN, _UNSEEN)
        self._curve = (0.0, 0.0, 0.0, 0.0)  # κ bid, κ ask, A bid, A ask
        self._sigma_from: tuple[object, object] = (_UNSEEN, _UNSEEN)
        self._sigma = 0.0
        self._gamma_from: tuple[float, float] | None = None  # (σ, position)
        self._gamma = 0.0
        self._half_spread_from: tuple[object, object] = (_UNSEEN, _UNSEEN)  # (fresh calibration, warmup)
        self._half_spread_mult = 1.0
        self._informed_from: object = _UNSEEN
        self._informed = (0.0, 0.0)

    def resolve(self, estimates: Estimates, now_ns: int, position: float) -> ModelInputs:
        fresh, last = estimates.fresh, estimates.last
        priors = self._priors
        fresh_kappa, last_kappa = fresh(KappaEstimate, now_ns), last(KappaEstimate)
        if fresh_kappa is not self._curve_from[0] or last_kappa is not self._curve_from[1]:
            self._curve = tuple(
                _pick(_field(fresh_kappa, name), _field(last_kappa, name), prior, min)
                for name, prior in (
                    ("kappa_bid", priors.kappa_per_frac),
                    ("kappa_ask", priors.kappa_per_frac),
                    ("a_per_s_bid", priors.a_per_s),
                    ("a_per_s_ask", priors.a_per_s),
                )
            )
            self._curve_from = (fresh_kappa, last_kappa)  # after the share: an input that raises is met again
        fresh_vol, last_vol = fresh(VolatilityEstimate, now_ns), last(VolatilityEstimate)
        if fresh_vol is not self._sigma_from[0] or last_vol is not self._sigma_from[1]:
            self._sigma = _pick(
                _field(fresh_vol, "sigma_frac_per_sqrt_s"),
                _field(last_vol, "sigma_frac_per_sqrt_s"),
                priors.sigma_frac_per_sqrt_s,
                max,
            )
            self._sigma_from = (fresh_vol, last_vol)
        sigma = self._sigma
        if self._gamma_from != (sigma, position):
            self._gamma = gamma_for(
                self._risk,
                sigma_frac_per_sqrt_s=sigma,
                sigma_baseline_frac_per_sqrt_s=priors.sigma_frac_per_sqrt_s,
                position=position,
            )
            self._gamma_from = (sigma, position)
        adverse = fresh(AdverseSelectionEstimate, now_ns) or last(AdverseSelectionEstimate)
        informed = fresh(InformedFlowEstimate, now_ns) or last(InformedFlowEstimate)
        if informed is not self._informed_from:
            self._informed = informed_addon_bps(informed, self._informed_addon_cap_bps)
            self._informed_from = informed
        calibration = fresh(CalibrationState, now_ns)  # stale: no tightening
        warmup = fresh(WarmupState, now_ns) or last(WarmupState)
        if calibration is not self._half_spread_from[0] or warmup is not self._half_spread_from[1]:
            self._half_spread_mult = combined_half_spread_mult(
                calibration.half_spread_mult if calibration is not None else 1.0,
                # the uplift decays with warmup progress and lasts past a forced start (models/warmup.py)
                warmup.uplift if warmup is not None else 1.0,
            )
            self._half_spread_from = (calibration, warmup)
        kappa_bid, kappa_ask, a_bid, a_ask = self._curve
        informed_bid, informed_ask = self._informed
        return ModelInputs(
            kappa_bid_per_frac=kappa_bid,
            kappa_ask_per_frac=kappa_ask,
            a_bid_per_s=a_bid,
            a_ask_per_s=a_ask,
            sigma_frac_per_sqrt_s=sigma,
            gamma_per_usd=self._gamma,
            half_spread_mult=self._half_spread_mult,
            as_addon_bid_bps=adverse.spread_addon_bps_bid if adverse is not None else 0.0,
            as_addon_ask_bps=adverse.spread_addon_bps_ask if adverse is not None else 0.0,
            informed_addon_bid_bps=informed_bid,
            informed_addon_ask_bps=informed_ask,
        )
