"""Resolve one quote cycle's GLFT inputs from the estimator actors' latest messages, or their fallbacks.

A fresh estimate is used as it is. A missing one falls back to the instrument's prior. A *stale* one falls back
to whichever of the prior and its last value quotes more conservatively (DESIGN §5: a stale estimate never makes
quotes less conservative): σ the larger (the skew rises with it), the last add-ons kept, calibration's tightening
dropped. Falling back from a learned A of 0.04/s to a 0.8/s prior would shrink the skew 4× exactly when the feed of
our own fills has stopped.

The intensity curve falls back whole, per side: the prior's (κ, A) or the last estimate's, never κ of one with A of
the other (a curve no model fitted). Which one is priced, not read off the fields: with the maker fee in the model
(A' = A·e^(−κf), ``quoting.glft_depths_bps``) the half-spread is U-shaped in κ, its bottom at 1.2–1.5× the shipped
priors' κ (BTC: 23.5k at the prior's A and σ), and past the bottom the smaller κ is the *tighter* quote. A BTC
estimate at the band's edge (κ 47.7k, A 0.066/s) quoted 3.85 bp and a 4.28 bp/lot skew; stale, the old
field-by-field minimum (15.9k, 0.066) quoted 2.47 bp and 0.68 bp/lot. (The minimum is never tighter than *both*
curves: the half-spread falls with A at any κ, so the minimum is at least as wide as the curve holding the smaller
κ. It is tighter than the wider one whenever the larger κ is past the bottom of the U.)

"More conservative" per side, from the closed form: a side's depth is H + k·q, H = max(f + m·(c1 + ½·c2·σ), floor)
and k the per-lot skew c2·σ averaged over the two sides' curves (Δ = 1, ``models/glft.py``), so a side's own curve
sets D(q) = H + ½·k_own·|q| when that side adds to an inventory of |q| lots. The fallback takes the curve with the
larger D at the cycle's σ, γ, mid, position and multipliers (ties: the larger skew, then the last curve). H and the
skew often disagree (online readings of the 2025-09-03 captures against the shipped priors: 189 of 198 BTC
side-readings, 14 of 198 ETH, 81 of 198 SOL): the wider-H curve then has the smaller κ (larger c1 ≈ 1/κ) and the
smaller skew. Flat, D is H and the wider half-spread wins; from |q| = 2·(H₁ − H₂)/(k₂ − k₁) lots on (BTC 0.4–2.6
lots p10–p90, ETH and SOL under 1) the larger-skew curve quotes the side that adds inventory deeper and pulls the
side that sheds it in faster: more conservative on both sides. Neither term alone would do: by the half-spread
a BTC reading (30.1k, 0.128) loses to the prior by 0.009 bp and the skew falls from 1.04 to 0.46 bp/lot; by the
skew the reading (12.6k, 0.177) loses and the flat half-spread falls by 0.12 bp.

A *fresh* side at the reliability band's edge (``KappaEstimate.*_at_band_edge``: a good market fit that left the 3×
band around the prior, published at the band's edge with the likelihood's A at that κ, ``models/kappa.py``) is
contested the same way: the edge is the plausible κ nearest the fit, but whether it quotes wider than the prior
depends on where the prior sits on the U. With the priors calibrated from the 2025-09-03 captures, a fit 3.5×
steeper than the prior quotes wider at the edge than the prior for BTC, tighter for ETH and SOL, whose priors
(13.9k, 8.1k) lie well left of the bottom (``test_models_kappa``: a fit outside the band). Priced against each
other, an out-of-band fit is never quoted tighter than the prior: an unreliable curve is no reason to tighten.

The choice depends on σ, γ (with the position) and the mid, so a contested side (stale, its last curve not the
prior's) is priced again when they or the multiplier change; a fresh or settled side never is, and fresh cycles
cost what they did. Pricing a curve needs the quote's scale (``DepthRules``: fee, floor, multipliers; the order
size; the mid): γ is per USD, so c1 and c2 depend on γ·lot·mid.

Framework-free apart from reading message fields, so each rule is tested without an engine.
"""

from __future__ import annotations

import math
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
from mm_strategy.quoting import DepthRules
from mm_strategy.quoting import ModelInputs
from mm_strategy.quoting import glft_depths_bps

Curve = tuple[float, float]  # one side's (κ per price fraction, A fills/s)
_SIDES = (("kappa_bid", "a_per_s_bid"), ("kappa_ask", "a_per_s_ask"))
_BAND_EDGE = {"kappa_bid": "bid_at_band_edge", "kappa_ask": "ask_at_band_edge"}


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


def _side_curve(estimate: KappaEstimate | None, kappa_name: str, a_name: str) -> Curve | None:
    """The side's curve, or None when there is no estimate or either field is not positive (not a curve)."""
    if estimate is None:
        return None
    kappa, a_per_s = getattr(estimate, kappa_name), getattr(estimate, a_name)
    return (kappa, a_per_s) if kappa > 0 and a_per_s > 0 else None


def adding_side_depth_bps(
    curve: Curve,
    sigma_frac_per_sqrt_s: float,
    gamma_per_usd: float,
    half_spread_mult: float,
    mid: float,
    lot: float,
    q_lots: float,
    rules: DepthRules,
) -> tuple[float, float]:
    """(D, k): the depth in bps this curve gives its side when that side adds to an inventory of ``|q_lots|`` lots,
    D = half-spread (fee, multipliers and floor as quoted) + ½·k·|q|, and its own skew k in bps per lot.

    Priced by ``glft_depths_bps`` itself with the curve on both sides (so the averaged skew is this curve's) and a
    tick equal to the mid: depths in bps do not depend on the tick (``models/glft.py``).
    """
    kappa, a_per_s = curve
    inputs = ModelInputs(kappa, kappa, a_per_s, a_per_s, sigma_frac_per_sqrt_s, gamma_per_usd, half_spread_mult)
    depths = glft_depths_bps(inputs, mid, mid, lot, 0.0, rules)
    return depths.half_spread_bid_bps + 0.5 * depths.skew_bps_per_lot * abs(q_lots), depths.skew_bps_per_lot


def informed_addon_bps(estimate: InformedFlowEstimate | None, cap_bps: float) -> tuple[float, float]:
    """(bid, ask) widening for informed flow: informed *buying* endangers our asks, informed selling our bids.

    ``cap_bps · P(informed on that side) · confidence``; zero without trades (the model then says so and stays
    neutral, DESIGN §5 informed_flow).
    """
    if estimate is None or not estimate.has_trades:
        return 0.0, 0.0
    scale = cap_bps * min(max(estimate.confidence, 0.0), 1.0)
    return scale * estimate.p_informed_sell, scale * estimate.p_informed_buy


# A contested curve is priced at the mid to 0.1 % (steps of 1e-3 in ln mid), so a stale cycle prices again when the
# mid moves that far, not on every tick (a pricing is up to three ``glft_depths_bps``: 25 µs a cycle against 3-4 µs
# when every cycle prices). The mid enters through γ·lot·mid: ±0.05 % of it moves the σ term (∝ √(γ·lot·mid)) by
# ±0.025 %, under 1e-3 bp at the band's edge.
_MID_STEPS_PER_LOG = 1_000
_UNSEEN = object()  # no estimate resolved yet: unlike None (none received), never the same as what arrives


class InputResolver:
    """One quote cycle's :class:`ModelInputs` from the estimates, by the rules in the module docstring.

    Cycles follow the book, several a second, while each estimate type arrives less often, so each share of the
    inputs is kept with the estimate objects it came from (the fresh one or None, and the last one) and computed
    again only when one of them changes: a new message, or the estimate turning stale. A published message is never
    changed (every publish builds a new one), so the same objects give the same share. γ is kept with the σ and the
    position it came from. A contested curve side (stale, its last curve not the prior's) is chosen again only when
    what prices it changes (σ, γ, the half-spread multiplier, the mid, |position|); every other cycle reuses it. The
    estimates are asked every cycle as before, so what they count and log is unchanged.

    ``depth_rules`` and ``lot`` (the order size, base units) are the quote's scale, with the mid passed to
    ``resolve``.
    """

    def __init__(
        self,
        priors: InstrumentPriors,
        risk: RiskConfig,
        informed_addon_cap_bps: float,
        depth_rules: DepthRules,
        lot: float,
    ) -> None:
        if not lot > 0:
            raise ValueError(f"InputResolver.lot: must be > 0, got {lot!r}")
        self._priors = priors
        self._risk = risk
        self._informed_addon_cap_bps = informed_addon_cap_bps
        self._depth_rules = depth_rules
        self._lot = lot
        self._prior_curve: Curve = (priors.kappa_per_frac, priors.a_per_s)
        self._curve_from: tuple[object, object] = (_UNSEEN, _UNSEEN)
        # per side (bid, ask): the settled curve and None, or (prior, last curve) while the side is contested
        self._sides: tuple[tuple[Curve, Curve | None], ...] = ()
        self._contested = False
        self._choice_from: tuple | None = None  # what the contested sides were priced at (None: choose again)
        self._curve = (0.0, 0.0, 0.0, 0.0)  # κ bid, κ ask, A bid, A ask
        self._sigma_from: tuple[object, object] = (_UNSEEN, _UNSEEN)
        self._sigma = 0.0
        self._gamma_from: tuple[float, float] | None = None  # (σ, position)
        self._gamma = 0.0
        self._half_spread_from: tuple[object, object] = (_UNSEEN, _UNSEEN)  # (fresh calibration, warmup)
        self._half_spread_mult = 1.0
        self._informed_from: object = _UNSEEN
        self._informed = (0.0, 0.0)

    def resolve(self, estimates: Estimates, now_ns: int, position: float, mid: float) -> ModelInputs:
        fresh, last = estimates.fresh, estimates.last
        priors = self._priors
        fresh_kappa, last_kappa = fresh(KappaEstimate, now_ns), last(KappaEstimate)
        if fresh_kappa is not self._curve_from[0] or last_kappa is not self._curve_from[1]:
            self._sides = tuple(self._side_share(fresh_kappa, last_kappa, *names) for names in _SIDES)
            self._contested = any(last is not None for _, last in self._sides)
            self._choice_from = None
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
        if self._choice_from is None or self._contested:
            mid_step = round(math.log(mid) * _MID_STEPS_PER_LOG)
            priced_at = (sigma, self._gamma, self._half_spread_mult, mid_step, abs(position))
            if priced_at != self._choice_from:
                self._curve = self._choose(math.exp(mid_step / _MID_STEPS_PER_LOG), abs(position))
                self._choice_from = priced_at
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

    def _side_share(
        self, fresh: KappaEstimate | None, last: KappaEstimate | None, kappa_name: str, a_name: str
    ) -> tuple[Curve, Curve | None]:
        """(curve, None) when the side is settled: its fresh curve, or the prior when there is no other; (prior,
        curve) when the fresh one sits at the band's edge, or the last one is stale, and differs from the prior, to be
        priced each time it matters."""
        fresh_curve = _side_curve(fresh, kappa_name, a_name)
        if fresh_curve is not None:
            if getattr(fresh, _BAND_EDGE[kappa_name]) and fresh_curve != self._prior_curve:
                return self._prior_curve, fresh_curve  # an out-of-band fit: priced against the prior like a stale one
            return fresh_curve, None
        last_curve = _side_curve(last, kappa_name, a_name)
        return self._prior_curve, None if last_curve is None or last_curve == self._prior_curve else last_curve

    def _choose(self, mid: float, q_units: float) -> tuple[float, float, float, float]:
        """(κ bid, κ ask, A bid, A ask): each contested side's more conservative whole curve (module docstring)."""
        rules, lot = self._depth_rules, self._lot
        priced: dict[Curve, tuple[float, float]] = {}  # the prior is priced once for both sides

        def price(curve: Curve) -> tuple[float, float]:
            if curve not in priced:
                priced[curve] = adding_side_depth_bps(
                    curve, self._sigma, self._gamma, self._half_spread_mult, mid, lot, q_units / lot, rules
                )
            return priced[curve]

        chosen = []
        for settled, last in self._sides:
            if last is None:
                chosen.append(settled)
            else:
                chosen.append(settled if price(settled) > price(last) else last)  # ties: the curve last quoted
        (kappa_bid, a_bid), (kappa_ask, a_ask) = chosen
        return kappa_bid, kappa_ask, a_bid, a_ask
