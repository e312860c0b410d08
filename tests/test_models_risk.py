"""RiskConfig, effective γ per USD, capped add-ons, the skew guard and the inventory zones (BTC-shaped numbers).

BTC ≈ 42,700 USD, sizes 0.001–0.05 BTC, max_position 0.05 BTC, equity ≈ 10,000 USD.
"""

from __future__ import annotations

import math

import msgspec
import pytest

from mm_strategy.models.inventory import InventoryZone
from mm_strategy.models.inventory import zone_limits
from mm_strategy.models.risk import RiskConfig
from mm_strategy.models.risk import check_skew
from mm_strategy.models.risk import combine_addons_bps
from mm_strategy.models.risk import combined_half_spread_mult
from mm_strategy.models.risk import gamma_effective
from mm_strategy.models.risk import gamma_for
from mm_strategy.models.risk import inventory_factor
from mm_strategy.models.risk import volatility_scalar

MAX_POS = 0.05
CONFIG = RiskConfig(max_position=MAX_POS, capital_usd=10_000.0)


# -- config ------------------------------------------------------------------------------------------------


def test_defaults():
    assert (CONFIG.gamma_per_usd, CONFIG.gamma_min_per_usd, CONFIG.gamma_max_per_usd) == (0.1, 0.01, 1.0)
    assert (CONFIG.min_spread_floor_bps, CONFIG.inventory_threshold) == (1.5, 0.5)
    assert (CONFIG.max_volatility_multiplier, CONFIG.volatility_weight) == (2.0, 0.5)
    assert (CONFIG.stale_pull_s, CONFIG.stale_halt_s, CONFIG.burst_events, CONFIG.burst_window_s) == (5.0, 30.0, 4, 2.0)
    assert CONFIG.side_pause_s == 20.0  # continuation after bursts peaks at 10–30 s on the bundled data


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"gamma_min_per_usd": 0.0}, "RiskConfig.gamma_min_per_usd: must be > 0, got 0.0"),
        (
            {"gamma_per_usd": 60.0},
            "RiskConfig.gamma_per_usd: must be within [gamma_min_per_usd, gamma_max_per_usd], got 60.0",
        ),
        ({"min_spread_floor_bps": 0.0}, "RiskConfig.min_spread_floor_bps: must be > 0, got 0.0"),
        ({"stale_halt_s": 4.0}, "RiskConfig.stale_halt_s: must be > stale_pull_s (5.0), got 4.0"),
        ({"red_zone_frac": 0.4}, "RiskConfig.red_zone_frac: must be in (inventory_threshold, 1], got 0.4"),
        ({"stuck_halt_s": 5.0}, "RiskConfig.stuck_halt_s: must be > stuck_warn_s (5.0), got 5.0"),
        ({"min_peak_usd": 20_000.0}, "RiskConfig.min_peak_usd: must be in (0, capital_usd], got 20000.0"),
        ({"max_daily_loss_pct": math.nan}, "RiskConfig.max_daily_loss_pct: must be finite, got nan"),
        ({"max_position": -0.05}, "RiskConfig.max_position: must be > 0, got -0.05"),
        ({"burst_same_event_s": 2.0}, "RiskConfig.burst_same_event_s: must be >= 0 and < burst_window_s (2.0), got 2.0"),
    ],
)
def test_config_validation_names_the_field(override, message):
    with pytest.raises(ValueError) as excinfo:
        RiskConfig(**{"max_position": MAX_POS, "capital_usd": 10_000.0, **override})
    assert str(excinfo.value) == message


def test_config_embeds_in_a_msgspec_struct_and_its_errors_name_the_field():
    class Holder(msgspec.Struct, frozen=True):
        risk: RiskConfig

    raw = b'{"risk": {"max_position": 0.05, "capital_usd": 10000, "gamma_per_usd": 0.2}}'
    holder = msgspec.json.decode(raw, type=Holder)
    assert holder.risk == RiskConfig(max_position=0.05, capital_usd=10_000.0, gamma_per_usd=0.2)
    assert msgspec.json.decode(msgspec.json.encode(holder), type=Holder) == holder
    with pytest.raises(msgspec.ValidationError, match=r"RiskConfig\.gamma_min_per_usd: must be > 0"):
        msgspec.json.decode(
            b'{"risk": {"max_position": 0.05, "capital_usd": 10000, "gamma_min_per_usd": -1}}', type=Holder
        )


# -- effective γ -------------------------------------------------------------------------------------------


def test_volatility_scalar_hand_worked():
    assert volatility_scalar(1e-4, 2e-4, 0.5, 2.0) == 1.0  # below baseline: no reduction
    assert volatility_scalar(3e-4, 2e-4, 0.5, 2.0) == pytest.approx(1.25)  # 1 + 0.5·(1.5 − 1)
    assert volatility_scalar(1e-3, 2e-4, 0.5, 2.0) == 2.0  # 1 + 0.5·4 = 3, capped at 2


def test_inventory_factor_hand_worked():
    assert inventory_factor(0.3, 0.5, 2.0) == 1.0
    assert inventory_factor(0.75, 0.5, 2.0) == pytest.approx(1.5)  # halfway from threshold to the cap
    assert inventory_factor(1.0, 0.5, 2.0) == pytest.approx(2.0)
    assert inventory_factor(3.0, 0.5, 2.0) == pytest.approx(2.0)  # capped beyond the hard limit


def test_gamma_effective_combines_in_log_space_and_clamps():
    # 1.0 · 1.25 · 1.5 = 1.875 per USD
    gamma = gamma_effective(1.0, 1.25, 1.5, gamma_min_per_usd=0.1, gamma_max_per_usd=10.0)
    assert gamma == pytest.approx(1.875, rel=1e-12)
    assert math.log(gamma) == pytest.approx(math.log(1.25) + math.log(1.5), rel=1e-12)
    # 1 · 2 · 2 = 4 → clamped to a 3 ceiling; 0.05 · 1 · 1 → floored at 0.1
    assert gamma_effective(1.0, 2.0, 2.0, gamma_min_per_usd=0.1, gamma_max_per_usd=3.0) == pytest.approx(3.0)
    assert gamma_effective(0.05, 1.0, 1.0, gamma_min_per_usd=0.1, gamma_max_per_usd=10.0) == pytest.approx(0.1)
    # factors whose plain product overflows a float still land on the clamp
    assert gamma_effective(1.0, 1e200, 1e200, gamma_min_per_usd=0.1, gamma_max_per_usd=10.0) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="inventory_factor"):
        gamma_effective(1.0, 1.0, 0.0, gamma_min_per_usd=0.1, gamma_max_per_usd=10.0)


def test_gamma_for_reads_the_config_and_the_instruments_baseline_sigma():
    # σ 3e-4 against a 2e-4 baseline → vol 1.25; 0.0375 BTC of 0.05 → u 0.75 → inventory 1.5
    gamma = gamma_for(CONFIG, sigma_frac_per_sqrt_s=3e-4, sigma_baseline_frac_per_sqrt_s=2e-4, position=-0.0375)
    assert gamma == pytest.approx(1.875 * CONFIG.gamma_per_usd, rel=1e-12)
    calm = gamma_for(CONFIG, sigma_frac_per_sqrt_s=2e-4, sigma_baseline_frac_per_sqrt_s=2e-4, position=0.0)
    assert calm == pytest.approx(CONFIG.gamma_per_usd, rel=1e-12)
    # the same σ is calm on a coin whose baseline is higher: the baseline is the instrument's prior, not BTC's
    higher_baseline = gamma_for(CONFIG, sigma_frac_per_sqrt_s=3e-4, sigma_baseline_frac_per_sqrt_s=4e-4, position=0.0)
    assert higher_baseline == pytest.approx(CONFIG.gamma_per_usd, rel=1e-12)


def test_calibration_and_warmup_scale_the_half_spread_not_gamma():
    assert combined_half_spread_mult(0.6, 1.1) == pytest.approx(0.66)
    with pytest.raises(ValueError, match="warmup_uplift"):
        combined_half_spread_mult(0.6, 0.0)


# -- add-ons and skew guard ----------------------------------------------------------------------------------


def test_addons_are_capped_individually_then_summed():
    addons = {"adverse_selection": 60.0, "drift": -3.0, "funding_carry": 0.4}
    caps = {"adverse_selection": 50.0, "drift": 2.0, "funding_carry": 5.0}
    assert combine_addons_bps(addons, caps) == pytest.approx(50.0 - 2.0 + 0.4)
    with pytest.raises(ValueError, match="'quota' has no cap"):
        combine_addons_bps({"quota": 1.0}, caps)
    with pytest.raises(ValueError, match="'drift': must be finite"):
        combine_addons_bps({"drift": math.nan}, caps)


def test_skew_guard_flags_zero_skew_with_inventory():
    warning = check_skew(0.02, 0.0)
    assert warning is not None and "q=0.02" in warning and "E3" in warning
    assert check_skew(-0.02, -0.3) is not None  # leans the wrong way
    assert check_skew(0.02, 0.35) is None
    assert check_skew(0.0, 0.0) is None


# -- inventory zones -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "zone", "bid_mult", "ask_mult", "reduce_only"),
    [
        (0.0, InventoryZone.GREEN, 1.0, 1.0, False),
        (0.02, InventoryZone.GREEN, 1.0, 1.0, False),  # u 0.40
        (0.0325, InventoryZone.YELLOW, 0.75, 1.0, False),  # u 0.65: 1 − 0.5·(0.15/0.30)
        (-0.0325, InventoryZone.YELLOW, 1.0, 0.75, False),
        (0.045, InventoryZone.RED, 0.0, 1.0, True),  # u 0.90
        (-0.045, InventoryZone.RED, 1.0, 0.0, True),
        (0.05, InventoryZone.HARD, 0.0, 1.0, True),
        (-0.15, InventoryZone.HARD, 1.0, 0.0, True),
    ],
)
def test_zone_limits(position, zone, bid_mult, ask_mult, reduce_only):
    decision = zone_limits(position, MAX_POS, CONFIG)
    assert (decision.zone, decision.reduce_only) == (zone, reduce_only)
    assert (decision.bid_size_mult, decision.ask_size_mult) == (pytest.approx(bid_mult), pytest.approx(ask_mult))


