"""Guéant–Lehalle–Fernandez-Tapia optimal quotes, asymptotic closed form (Guéant 2017, eqs. 4.6–4.7).

The formula works in ticks and order-size lots, as hftbacktest's GLFT tutorial does: κ in 1/tick, σ in
ticks/√s, A in fills/s, γ per (tick·lot) of PnL, Δ = 1 lot, q = position / order size. Nobody configures those
units: :func:`to_tick_units` converts from the instrument-independent units the estimators and configs use
(γ per USD of PnL, κ per price fraction, σ as a fraction per √s), so γ means the same risk aversion on every
instrument, tick and order size (DESIGN §4):

    one tick·lot of PnL = tick (USD per unit) × lot (units) USD  ⇒  γ_tick·lot = γ_per_usd · tick · lot
    κ_tick = κ_frac · tick/mid            σ_tick = σ_frac · mid/tick

In those units γΔ/κ = γ_per_usd·lot·mid/κ_frac and every depth × tick is free of the tick, so a tick change
moves no quote; a larger lot is a larger risk per fill and quotes wider, as the model says it should.

    c1 = 1/(γΔ) · ln(1 + γΔ/κ)
    c2 = sqrt( γ/(2AΔκ) · (1 + γΔ/κ)^(κ/(γΔ) + 1) )
    half_spread = c1 + Δ/2 · c2 · σ          skew = c2 · σ
    bid depth = half_spread + skew·q          ask depth = half_spread − skew·q

``half_spread_mult`` and ``skew_mult`` scale the two terms separately (hftbacktest's adj1/adj2) and ship at 1.0:
with γ in stable units one risk aversion drives both terms.
"""

from __future__ import annotations

import math

import msgspec


class GlftTerms(msgspec.Struct, frozen=True):
    """The two GLFT terms in ticks: depth of each side is ``half_spread_ticks ± skew_ticks_per_lot · q``."""

    half_spread_ticks: float
    skew_ticks_per_lot: float


class TickUnits(msgspec.Struct, frozen=True):
    """GLFT inputs expressed in ticks and lots (see module docstring)."""

    gamma_per_tick_lot: float
    kappa_per_tick: float
    sigma_ticks_per_sqrt_s: float


def to_tick_units(
    gamma_per_usd: float,
    kappa_per_frac: float,
    sigma_frac_per_sqrt_s: float,
    mid: float,
    tick: float,
    lot: float,
) -> TickUnits:
    """Convert γ (1/USD), κ (1/price fraction) and σ (fraction/√s) to tick·lot units at this mid.

    ``tick`` is the price increment in quote currency (USD-like) per unit, ``lot`` the order size in units.
    """
    if not (0.0 < mid < math.inf and 0.0 < tick < math.inf and 0.0 < lot < math.inf):  # one test on the hot path
        for name, value in (("mid", mid), ("tick", tick), ("lot", lot)):
            if not (value > 0.0 and math.isfinite(value)):
                raise ValueError(f"to_tick_units {name}: must be finite and > 0, got {value!r}")
    tick_frac = tick / mid
    return TickUnits(
        gamma_per_tick_lot=gamma_per_usd * tick * lot,
        kappa_per_tick=kappa_per_frac * tick_frac,
        sigma_ticks_per_sqrt_s=sigma_frac_per_sqrt_s / tick_frac,
    )


def glft_coefficients(gamma: float, kappa: float, a_per_s: float, delta: float = 1.0) -> tuple[float, float]:
    """Return (c1, c2). All inputs must be positive; ``ValueError`` names the first one that is not."""
    if not (0.0 < gamma < math.inf and 0.0 < kappa < math.inf and 0.0 < a_per_s < math.inf and 0.0 < delta < math.inf):
        for name, value in (("gamma", gamma), ("kappa", kappa), ("a_per_s", a_per_s), ("delta", delta)):
            if not value > 0.0 or not math.isfinite(value):
                raise ValueError(f"GLFT {name} must be finite and > 0, got {value}")
    ratio = gamma * delta / kappa
    c1 = math.log1p(ratio) / (gamma * delta)
    # (1 + r)^(1/r + 1) computed in log space: it overflows a float for small γΔ/κ otherwise.
    log_power = (1.0 / ratio + 1.0) * math.log1p(ratio)
    c2 = math.sqrt(gamma / (2.0 * a_per_s * delta * kappa) * math.exp(log_power))
    return c1, c2


def glft_terms(
    gamma: float,
    kappa_per_tick: float,
    a_per_s: float,
    sigma_ticks_per_sqrt_s: float,
    delta: float = 1.0,
    half_spread_mult: float = 1.0,
    skew_mult: float = 1.0,
) -> GlftTerms:
    """Half-spread and per-lot skew in ticks, each scaled by its own multiplier."""
    c1, c2 = glft_coefficients(gamma, kappa_per_tick, a_per_s, delta)
    skew = c2 * sigma_ticks_per_sqrt_s
    half_spread = c1 + 0.5 * delta * skew
    return GlftTerms(half_spread_ticks=half_spread * half_spread_mult, skew_ticks_per_lot=skew * skew_mult)


def side_depths_ticks(terms: GlftTerms, q_lots: float) -> tuple[float, float]:
    """(bid depth, ask depth) from the mid in ticks for inventory ``q_lots``: long inventory lowers both quotes."""
    shift = terms.skew_ticks_per_lot * q_lots
    return terms.half_spread_ticks + shift, terms.half_spread_ticks - shift
