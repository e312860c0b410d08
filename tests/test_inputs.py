"""The quote cycle's inputs: conservative fallback for stale estimates, calibration acting on the half-spread,
the informed-flow widening per side, and the depths they produce (issue 10 defects 6, 7 and 9)."""

from __future__ import annotations

import math
import random

import msgspec
import pytest
from nautilus_trader.model.identifiers import InstrumentId

from mm_strategy.estimates import LatestEstimates
from mm_strategy.inputs import InputResolver
from mm_strategy.inputs import informed_addon_bps
from mm_strategy.messages import AdverseSelectionEstimate
from mm_strategy.messages import CalibrationState
from mm_strategy.messages import InformedFlowEstimate
from mm_strategy.messages import KappaEstimate
from mm_strategy.messages import VolatilityEstimate
from mm_strategy.messages import WarmupState
from mm_strategy.models.glft import glft_terms
from mm_strategy.models.glft import to_tick_units
from mm_strategy.models.priors import InstrumentPriors
from mm_strategy.models.risk import RiskConfig
from mm_strategy.quoting import DepthRules
from mm_strategy.quoting import glft_depths_bps

IID = InstrumentId.from_str("BTC-USD-PERP.HYPERLIQUID")
S = 1_000_000_000
PRIORS = InstrumentPriors(kappa_per_frac=20_000.0, a_per_s=0.8, sigma_frac_per_sqrt_s=3.5e-5)
RISK = RiskConfig(max_position=0.1, capital_usd=10_000.0)
RULES = DepthRules(
    half_spread_mult=1.0,
    skew_mult=1.0,
    maker_fee_bps=0.0,
    min_half_spread_bps=0.0,
    as_addon_cap_bps=10.0,
    informed_addon_cap_bps=3.0,
)
MID, TICK, LOT = 111_000.0, 1.0, 0.01


def kappa_msg(ts_s: float, a_per_s: float, kappa: float = 25_000.0) -> KappaEstimate:
    return KappaEstimate(
        instrument_id=IID, kappa_bid=kappa, kappa_ask=kappa, a_per_s_bid=a_per_s, a_per_s_ask=a_per_s,
        source="trades", ts_event=round(ts_s * S), ts_init=round(ts_s * S),
    )


def resolver() -> InputResolver:
    return InputResolver(PRIORS, RISK, informed_addon_cap_bps=3.0, depth_rules=RULES, lot=LOT)


def resolve(estimates: LatestEstimates, now_s: float, position: float = 0.03):
    return resolver().resolve(estimates, round(now_s * S), position, MID)


def test_a_stale_curve_never_makes_quotes_less_conservative():
    # Issue 10 defect 9: the learned A was 0.04 /s; when the estimate went stale the strategy fell back to the
    # 0.8 /s prior and the skew dropped 4x. The fallback keeps the more conservative of prior and last curve, whole
    # (``test_inputs_stale_curve``): here the last one, whose A is 20x smaller.
    estimates = LatestEstimates(staleness_ns=10 * S, log=lambda _: None)
    estimates.update(kappa_msg(0.0, a_per_s=0.04))
    fresh = resolve(estimates, 5.0)
    stale = resolve(estimates, 60.0)
    assert (fresh.a_bid_per_s, stale.a_bid_per_s) == (0.04, 0.04)  # not the 0.8 prior
    assert stale.kappa_bid_per_frac == 25_000.0  # with its own κ, not the prior's 20,000
    fresh_depths = glft_depths_bps(fresh, MID, TICK, LOT, 3.0, RULES)
    stale_depths = glft_depths_bps(stale, MID, TICK, LOT, 3.0, RULES)
    assert stale_depths.skew_bps_per_lot >= fresh_depths.skew_bps_per_lot
    assert stale_depths.half_spread_bid_bps >= fresh_depths.half_spread_bid_bps
    assert estimates.prior_cycles["KappaEstimate"] == 1  # the fallback is counted for the report


def test_a_missing_estimate_uses_the_prior_and_a_stale_sigma_keeps_the_larger_value():
    estimates = LatestEstimates(staleness_ns=10 * S, log=lambda _: None)
    assert resolve(estimates, 1.0).a_bid_per_s == 0.8 and resolve(estimates, 1.0).sigma_frac_per_sqrt_s == 3.5e-5
    estimates.update(VolatilityEstimate(instrument_id=IID, sigma_frac_per_sqrt_s=2e-5, ts_event=0, ts_init=0))
    assert resolve(estimates, 60.0).sigma_frac_per_sqrt_s == 3.5e-5  # stale and calmer than the prior: prior
    estimates.update(VolatilityEstimate(instrument_id=IID, sigma_frac_per_sqrt_s=9e-5, ts_event=0, ts_init=0))
    assert resolve(estimates, 60.0).sigma_frac_per_sqrt_s == 9e-5  # stale but wilder: keep it


def test_calibration_tightens_the_half_spread_whatever_gamma_does():
    # Issue 10 defect 7: the GLFT half-spread is not monotone in γ (c1 = ln(1 + γΔ/κ)/(γΔ) falls with γ), so the
    # seed's "γ·0.6 to attract fills" widened the quotes here. Calibration now scales the half-spread itself.
    units = to_tick_units(50.0, 20_000.0, 3.5e-5, MID, TICK, LOT)
    lower = to_tick_units(30.0, 20_000.0, 3.5e-5, MID, TICK, LOT)
    calm = dict(a_per_s=5.0, sigma_ticks_per_sqrt_s=units.sigma_ticks_per_sqrt_s * 0.01)
    half_at = {g.gamma_per_tick_lot: glft_terms(g.gamma_per_tick_lot, g.kappa_per_tick, **calm).half_spread_ticks for g in (units, lower)}
    assert half_at[lower.gamma_per_tick_lot] > half_at[units.gamma_per_tick_lot]  # lower γ, WIDER: the seed's trap
    estimates = LatestEstimates(staleness_ns=10 * S, log=lambda _: None)
    full = glft_depths_bps(resolve(estimates, 1.0, position=0.0), MID, TICK, LOT, 0.0, RULES)
    estimates.update(CalibrationState(instrument_id=IID, half_spread_mult=0.6, ts_event=S, ts_init=S))
    hungry_inputs = resolve(estimates, 2.0, position=0.0)
    hungry = glft_depths_bps(hungry_inputs, MID, TICK, LOT, 0.0, RULES)
    assert hungry_inputs.gamma_per_usd == pytest.approx(RISK.gamma_per_usd)  # γ untouched
    assert hungry.half_spread_bid_bps == pytest.approx(0.6 * full.half_spread_bid_bps)
    assert resolve(estimates, 60.0, position=0.0).half_spread_mult == 1.0  # stale calibration: no tightening


def test_informed_buying_widens_the_ask_and_no_trades_stays_neutral():
    # Issue 10 defect 6: P(informed) was published and never used.
    buying = InformedFlowEstimate(
        instrument_id=IID, p_informed_buy=0.8, p_informed_sell=0.1, has_trades=True, confidence=0.5, ts_event=0, ts_init=0
    )
    bid_bps, ask_bps = informed_addon_bps(buying, cap_bps=3.0)
    assert (bid_bps, ask_bps) == (pytest.approx(0.15), pytest.approx(1.2))
    silent = InformedFlowEstimate(instrument_id=IID, p_informed=0.1, has_trades=False, confidence=1.0, ts_event=0, ts_init=0)
    assert informed_addon_bps(silent, cap_bps=3.0) == (0.0, 0.0)
    estimates = LatestEstimates(staleness_ns=10 * S, log=lambda _: None)
    base = glft_depths_bps(resolve(estimates, 1.0, position=0.0), MID, TICK, LOT, 0.0, RULES)
    estimates.update(buying)
    widened = glft_depths_bps(resolve(estimates, 1.0, position=0.0), MID, TICK, LOT, 0.0, RULES)
    assert widened.ask_bps == pytest.approx(base.ask_bps + 1.2) and widened.bid_bps == pytest.approx(base.bid_bps + 0.15)


def test_the_maker_fee_enters_the_model_as_the_fee_net_problem():
    # Review finding: the fee was added to the fee-free GLFT depth. A fill at depth δ earns δ − f and arrives at
    # A·e^(−κδ) = A·e^(−κf)·e^(−κ(δ − f)): the fee-paying problem is the fee-free one in δ − f with A' = A·e^(−κf),
    # so c2 ∝ A^(−1/2) (the skew and the σ part of the half-spread) grows by e^(κf/2): 2.1× here, 3.2–3.6× on the
    # shipped priors. The old sum left them at the fee-free size.
    estimates = LatestEstimates(staleness_ns=10 * S, log=lambda _: None)
    inputs = resolve(estimates, 1.0, position=0.0)
    fee_bps = 1.5
    with_fee = glft_depths_bps(inputs, MID, TICK, LOT, 2.0, DepthRules(**{**_rules_dict(), "maker_fee_bps": fee_bps}))
    discount = math.exp(-inputs.kappa_bid_per_frac * fee_bps * 1e-4)
    fee_net = msgspec.structs.replace(inputs, a_bid_per_s=inputs.a_bid_per_s * discount, a_ask_per_s=inputs.a_ask_per_s * discount)
    expected = glft_depths_bps(fee_net, MID, TICK, LOT, 2.0, RULES)
    assert with_fee.half_spread_bid_bps == pytest.approx(expected.half_spread_bid_bps + fee_bps)
    assert (with_fee.bid_bps, with_fee.ask_bps) == (pytest.approx(expected.bid_bps + fee_bps), pytest.approx(expected.ask_bps + fee_bps))
    free = glft_depths_bps(inputs, MID, TICK, LOT, 2.0, RULES)
    assert with_fee.skew_bps_per_lot / free.skew_bps_per_lot == pytest.approx(math.exp(0.5 * inputs.kappa_bid_per_frac * fee_bps * 1e-4))
    # c1 is the same: the half-spread exceeds "fee-free + fee" by half the skew's growth (Δ/2·c2·σ)
    grown_bps = 0.5 * (with_fee.skew_bps_per_lot - free.skew_bps_per_lot)
    assert with_fee.half_spread_bid_bps - fee_bps - free.half_spread_bid_bps == pytest.approx(grown_bps) and grown_bps > 0.05


def test_a_maker_rebate_tightens_and_the_floor_then_binds():
    estimates = LatestEstimates(staleness_ns=10 * S, log=lambda _: None)
    inputs = resolve(estimates, 1.0, position=0.0)
    free = glft_depths_bps(inputs, MID, TICK, LOT, 0.0, RULES)
    rebate = glft_depths_bps(inputs, MID, TICK, LOT, 0.0, DepthRules(**{**_rules_dict(), "maker_fee_bps": -0.3}))
    assert rebate.half_spread_bid_bps < free.half_spread_bid_bps - 0.3
    floored = DepthRules(**{**_rules_dict(), "maker_fee_bps": -0.3, "min_half_spread_bps": 9.0})
    assert glft_depths_bps(inputs, MID, TICK, LOT, 0.0, floored).half_spread_ask_bps == 9.0


def _rules_dict() -> dict:
    return {name: getattr(RULES, name) for name in RULES.__slots__}


def test_a_resolver_kept_across_cycles_resolves_as_a_new_one_each_cycle():
    # The strategy keeps one resolver, which recomputes a share only when the estimates it came from change (a new
    # message, or fresh -> stale), and a contested curve only when what prices it changes. Over cycles at random
    # times, mids, positions and arrivals of every input type, with gaps past the staleness limit, messages already
    # stale on arrival and fields at 0 (no curve on that side), it must answer as a resolver built for the cycle,
    # and the estimates must count the same prior cycles.
    rng = random.Random(13)
    makers = [
        lambda t: kappa_msg(t, a_per_s=rng.choice([0.0, 0.04, 0.5, 2.0]), kappa=rng.choice([0.0, 15_000.0, 30_000.0])),
        lambda t: VolatilityEstimate(
            instrument_id=IID, sigma_frac_per_sqrt_s=rng.choice([0.0, 2e-5, 9e-5]), ts_event=round(t * S), ts_init=0
        ),
        lambda t: AdverseSelectionEstimate(
            instrument_id=IID, spread_addon_bps_bid=rng.random(), spread_addon_bps_ask=rng.random(),
            ts_event=round(t * S), ts_init=0,
        ),
        lambda t: InformedFlowEstimate(
            instrument_id=IID, p_informed_buy=rng.random(), p_informed_sell=rng.random(),
            has_trades=rng.random() < 0.7, confidence=rng.random(), ts_event=round(t * S), ts_init=0,
        ),
        lambda t: CalibrationState(
            instrument_id=IID, half_spread_mult=rng.choice([0.6, 1.0]), ts_event=round(t * S), ts_init=0
        ),
        lambda t: WarmupState(instrument_id=IID, uplift=rng.choice([1.0, 1.5]), ts_event=round(t * S), ts_init=0),
    ]
    kept_estimates = LatestEstimates(staleness_ns=10 * S, log=lambda _: None)
    new_estimates = LatestEstimates(staleness_ns=10 * S, log=lambda _: None)
    # with a fee the half-spread is U-shaped in κ, and mids 4x apart move γ·lot·mid: choices flip both ways
    scale = {"depth_rules": DepthRules(**{**_rules_dict(), "maker_fee_bps": 1.5}), "lot": LOT}
    kept = InputResolver(PRIORS, RISK, informed_addon_cap_bps=3.0, **scale)
    now_s, reused = 0.0, 0
    for _ in range(3_000):
        now_s += rng.choice([0.01, 0.3, 2.0, 12.0])
        for make in makers:
            if rng.random() < 0.15:
                message = make(now_s - rng.choice([0.0, 5.0, 15.0]))  # 15 s: stale on arrival
                kept_estimates.update(message)
                new_estimates.update(message)
        position = rng.choice([0.0, 0.0, 0.03, -0.08])
        mid = rng.choice([MID / 4, MID, MID, 4 * MID])
        before = kept._curve_from
        inputs = kept.resolve(kept_estimates, round(now_s * S), position, mid)
        reused += kept._curve_from is before
        assert inputs == InputResolver(PRIORS, RISK, informed_addon_cap_bps=3.0, **scale).resolve(
            new_estimates, round(now_s * S), position, mid
        )
    assert kept_estimates.prior_cycles == new_estimates.prior_cycles
    assert len(kept_estimates.prior_cycles) == 6 and 0.3 * 3_000 < reused < 3_000


def test_staleness_is_measured_on_the_engine_clock():
    # Review finding: age was now − ts_event, the venue time of the book batch the actor read at, which lags the
    # engine clock by 0.1–2.9 s live: the 10 s limit shrank by that lag. Age is now − ts_init (publication time).
    estimates = LatestEstimates(staleness_ns=10 * S, log=lambda _: None)
    lagged = KappaEstimate(instrument_id=IID, kappa_bid=25_000.0, kappa_ask=25_000.0, a_per_s_bid=0.04,
                           a_per_s_ask=0.04, source="trades", ts_event=89 * S, ts_init=92 * S)  # venue 3 s behind
    estimates.update(lagged)
    assert estimates.fresh(KappaEstimate, 101 * S) is lagged  # published 9 s ago, read at a book of 12 s ago
    assert estimates.fresh(KappaEstimate, 103 * S) is None
