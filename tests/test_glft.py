"""GLFT closed form against values worked by hand."""

import math

import pytest

from mm_strategy.models.glft import glft_coefficients
from mm_strategy.models.glft import glft_terms
from mm_strategy.models.glft import side_depths_ticks
from mm_strategy.models.glft import to_tick_units


def test_coefficients_match_hand_worked_values():
    # γ = 0.1, κ = 0.05 /tick, A = 1 /s, Δ = 1 → γΔ/κ = 2
    # c1 = ln(1 + 2) / 0.1 = 1.0986123 / 0.1 = 10.986123
    # c2 = sqrt(0.1 / (2·1·1·0.05) · 3^(0.05/0.1 + 1)) = sqrt(1 · 3^1.5) = sqrt(5.1961524) = 2.2795071
    c1, c2 = glft_coefficients(gamma=0.1, kappa=0.05, a_per_s=1.0)
    assert c1 == pytest.approx(10.986123, rel=1e-7)
    assert c2 == pytest.approx(2.2795071, rel=1e-7)


def test_terms_half_spread_and_skew():
    # σ = 4 ticks/√s: skew = c2·σ = 9.1180282; half_spread = c1 + Δ/2·skew = 10.986123 + 4.5590141 = 15.545137
    terms = glft_terms(gamma=0.1, kappa_per_tick=0.05, a_per_s=1.0, sigma_ticks_per_sqrt_s=4.0)
    assert terms.skew_ticks_per_lot == pytest.approx(9.1180282, rel=1e-7)
    assert terms.half_spread_ticks == pytest.approx(15.545137, rel=1e-7)


def test_multipliers_scale_each_term_separately():
    base = glft_terms(0.1, 0.05, 1.0, 4.0)
    scaled = glft_terms(0.1, 0.05, 1.0, 4.0, half_spread_mult=2.0, skew_mult=0.1)
    assert scaled.half_spread_ticks == pytest.approx(2.0 * base.half_spread_ticks)
    assert scaled.skew_ticks_per_lot == pytest.approx(0.1 * base.skew_ticks_per_lot)


def test_skew_nonzero_when_inventory_and_bid_below_ask():
    terms = glft_terms(0.1, 0.05, 1.0, 4.0)
    for q in (-5.0, -1.0, 1.0, 5.0):
        bid_depth, ask_depth = side_depths_ticks(terms, q)
        assert bid_depth != ask_depth
        # long inventory (q > 0) quotes further away on the bid and closer on the ask
        assert (bid_depth > ask_depth) == (q > 0)
        # bid = mid − bid_depth < ask = mid + ask_depth  ⇔  bid_depth + ask_depth = 2·half_spread > 0
        assert bid_depth + ask_depth == pytest.approx(2 * terms.half_spread_ticks)
    assert side_depths_ticks(terms, 0.0) == (terms.half_spread_ticks, terms.half_spread_ticks)


def test_depth_widens_with_gamma_in_the_btc_regime():
    # BTC at 42,700 with the priors: κ = 0.058548 /tick, σ = 8.54 ticks/√s, A = 0.8 /s. There the σ term
    # (∝ √γ) dominates, so both the half-spread and the inventory-loaded side widen with γ.
    gammas = (0.05, 0.1, 0.15, 0.3, 0.6, 1.0)
    terms = [glft_terms(g, 0.058548, 0.8, 8.54) for g in gammas]
    half_spreads = [t.half_spread_ticks for t in terms]
    loaded_bids = [side_depths_ticks(t, 2.0)[0] for t in terms]
    assert half_spreads == sorted(half_spreads) and half_spreads[-1] > 1.5 * half_spreads[0]
    assert loaded_bids == sorted(loaded_bids)


def test_c1_alone_shrinks_with_gamma_towards_one_over_kappa():
    # With ξ = γ, c1 = ln(1 + γ/κ)/γ falls from 1/κ (γ → 0) as γ grows: the widening comes from the σ term.
    c1s = [glft_coefficients(g, 0.05, 1.0)[0] for g in (1e-6, 0.01, 0.1, 1.0)]
    assert c1s[0] == pytest.approx(20.0, rel=1e-4)
    assert c1s == sorted(c1s, reverse=True)


def test_tick_unit_conversion_at_btc_prices():
    # mid 42,700, tick 1 → one tick = 1/42700 of the price. κ 2500 /frac → 2500/42700 = 0.0585480 /tick;
    # σ 2e-4 /√s → 2e-4·42700 = 8.54 ticks/√s; γ 2 /USD with a 0.005 BTC lot: one tick·lot is 0.005 USD → 0.01
    units = to_tick_units(
        gamma_per_usd=2.0, kappa_per_frac=2500.0, sigma_frac_per_sqrt_s=2e-4, mid=42_700.0, tick=1.0, lot=0.005
    )
    assert units.kappa_per_tick == pytest.approx(0.0585480, rel=1e-5)
    assert units.sigma_ticks_per_sqrt_s == pytest.approx(8.54)
    assert units.gamma_per_tick_lot == pytest.approx(0.01)


def _depths_usd(gamma_per_usd, tick, lot, q_lots=2.0, mid=111_000.0):
    units = to_tick_units(gamma_per_usd, 20_000.0, 3.5e-5, mid, tick, lot)
    terms = glft_terms(units.gamma_per_tick_lot, units.kappa_per_tick, 0.03, units.sigma_ticks_per_sqrt_s)
    return [depth * tick for depth in side_depths_ticks(terms, q_lots)]


def test_gamma_per_usd_gives_the_same_quotes_whatever_the_tick():
    # Issue 10 defect 1: γ was per (tick × lot), so one configured value meant a different risk aversion on every
    # tick. Per USD, the quoted depths in price units do not depend on the tick at all.
    coarse, fine = _depths_usd(1.0, tick=1.0, lot=0.01), _depths_usd(1.0, tick=0.1, lot=0.01)
    assert fine == pytest.approx(coarse, rel=1e-9)
    assert coarse[0] > coarse[1]  # long two lots: the bid is deeper than the ask


def test_gamma_per_usd_prices_the_risk_of_each_fill():
    # The same 0.02 BTC position held as 2 lots of 0.01 or 4 lots of 0.005 carries the same USD risk. GLFT prices
    # the risk of a fill of one lot Δ: with γ per USD, c2² ∝ γΔ, so the skew per lot grows as √lot and the skew per
    # BTC of position as 1/√lot (√2 apart here), and a larger lot (a riskier fill) quotes a wider half-spread.
    big = _depths_usd(1.0, tick=1.0, lot=0.01, q_lots=2.0)
    small = _depths_usd(1.0, tick=1.0, lot=0.005, q_lots=4.0)
    skew_big, skew_small = (big[0] - big[1]) / 2, (small[0] - small[1]) / 2
    assert skew_small / skew_big == pytest.approx(2**0.5, rel=0.01)
    assert (big[0] + big[1]) > (small[0] + small[1])


def test_small_gamma_over_kappa_does_not_overflow():
    c1, c2 = glft_coefficients(gamma=1e-6, kappa=10.0, a_per_s=1.0)
    # γΔ/κ → 0: c1 → 1/κ and (1 + r)^(1/r) → e
    assert c1 == pytest.approx(0.1, rel=1e-5)
    assert math.isfinite(c2)


@pytest.mark.parametrize("field", ["gamma", "kappa", "a_per_s"])
def test_invalid_inputs_name_the_parameter(field):
    kwargs = {"gamma": 0.1, "kappa": 0.05, "a_per_s": 1.0, field: 0.0}
    with pytest.raises(ValueError, match=field):
        glft_coefficients(**kwargs)


@pytest.mark.parametrize("bad", [0.0, -0.0, -1e-300, math.inf, -math.inf, math.nan])
def test_every_input_that_is_not_finite_and_positive_is_refused_by_name(bad):
    # both functions check all their inputs in one comparison before naming the culprit: none may slip through
    for field in ("gamma", "kappa", "a_per_s", "delta"):
        kwargs = {"gamma": 0.1, "kappa": 0.05, "a_per_s": 1.0, "delta": 1.0, field: bad}
        with pytest.raises(ValueError, match=f"GLFT {field} "):
            glft_coefficients(**kwargs)
    for field in ("mid", "tick", "lot"):
        kwargs = {"mid": 42_000.0, "tick": 1.0, "lot": 0.01, field: bad}
        with pytest.raises(ValueError, match=f"to_tick_units {field}:"):
            to_tick_units(1.0, 20_000.0, 3.5e-5, **kwargs)
