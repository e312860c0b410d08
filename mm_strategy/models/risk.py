"""Risk settings and the risk-aversion maths: ``RiskConfig``, effective γ, capped spread add-ons, the skew guard.

Framework-free (stdlib only) so every rule is unit-tested with plain numbers. The inventory zones live in
``inventory.py`` and the kill switch state machine in ``kill_switch.py``; both read their settings from the one
``RiskConfig`` here, so a risk parameter has one home.

γ units (DESIGN §4): γ is a CARA risk aversion per USD of PnL (``gamma_per_usd``): utility −exp(−γ·W) with W in
USD. It means the same on every instrument, tick and order size; ``quoting.py`` converts it to the GLFT's tick ×
lot units (γ_model = γ_per_usd · tick_usd · lot). Effective γ (lesson E5):
``γ_eff = γ_per_usd · vol · inventory · warmup``, each factor bounded by its own producer, summed in log space and
clamped to ``[gamma_min_per_usd, gamma_max_per_usd]``. Calibration does not act through γ: the GLFT half-spread is
not monotone in γ, so "lower γ to get fills" can widen quotes; it scales the half-spread instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import fields


# -- configuration ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskConfig:
    """Risk settings for one instrument and account; validated on construction (and so on msgspec decode).

    ``max_position`` (base units, e.g. BTC) and ``capital_usd`` have no defaults: a wrong silent default would
    scale every limit wrongly (lesson E8). Loss limits are percentages of capital so they scale with it.
    Only plain field types: the class is embedded in a msgspec NautilusTrader config. Note that msgspec ignores
    unknown keys of a dataclass, so a misspelt key in JSON falls back to the default.
    """

    max_position: float
    capital_usd: float
    # effective γ (DESIGN §4, §5): CARA risk aversion per USD of PnL, the same on every instrument
    gamma_per_usd: float = 0.1
    gamma_min_per_usd: float = 0.01
    gamma_max_per_usd: float = 1.0
    volatility_weight: float = 0.5
    max_volatility_multiplier: float = 2.0
    inventory_threshold: float = 0.5
    max_inventory_multiplier: float = 2.0
    # spread
    min_spread_floor_bps: float = 1.5
    # inventory zones (§A.9.3); YELLOW starts at inventory_threshold, HARD at max_position
    red_zone_frac: float = 0.8
    yellow_min_size_mult: float = 0.5
    reducing_tighten_bps: float = 2.0
    # kill switch (§A.9.1)
    max_daily_loss_pct: float = 3.0
    max_drawdown_pct: float = 2.0
    min_peak_usd: float = 100.0
    max_position_kill_mult: float = 2.0
    position_jump_frac: float = 0.2
    liquidation_fill_grace_s: float = 5.0
    stale_pull_s: float = 5.0
    stale_halt_s: float = 30.0
    max_rate_limit_errors: int = 3
    rate_limit_window_s: float = 60.0
    max_rejects: int = 20
    reject_window_s: float = 60.0
    burst_events: int = 4
    burst_window_s: float = 2.0
    # prints of one taker order stamped apart (per print on receipt: Binance's sweeps arrive 2 µs–1.2 ms apart)
    burst_same_event_s: float = 0.01
    side_pause_s: float = 20.0  # the mid keeps moving with a burst for 10–30 s on the bundled data, then reverts
    stuck_min_position_frac: float = 0.1
    stuck_warn_s: float = 5.0
    stuck_halt_s: float = 15.0  # the original's 30 cycles at about one book update every 0.5 s

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"RiskConfig.{field.name}: must be finite, got {value!r}")
        for name, ok, rule in _config_rules(self):
            if not ok:
                raise ValueError(f"RiskConfig.{name}: {rule}, got {getattr(self, name)!r}")


def _config_rules(c: RiskConfig) -> Iterator[tuple[str, bool, str]]:
    """(field, holds, rule) for every range check, in field order; the first failing one is reported."""
    yield "max_position", c.max_position > 0, "must be > 0"
    yield "capital_usd", c.capital_usd > 0, "must be > 0"
    yield "gamma_min_per_usd", c.gamma_min_per_usd > 0, "must be > 0"
    yield "gamma_max_per_usd", c.gamma_max_per_usd > c.gamma_min_per_usd, f"must be > gamma_min_per_usd ({c.gamma_min_per_usd})"
    yield (
        "gamma_per_usd",
        c.gamma_min_per_usd <= c.gamma_per_usd <= c.gamma_max_per_usd,
        "must be within [gamma_min_per_usd, gamma_max_per_usd]",
    )
    yield "volatility_weight", c.volatility_weight >= 0, "must be >= 0"
    yield "max_volatility_multiplier", c.max_volatility_multiplier >= 1, "must be >= 1"
    yield "inventory_threshold", 0 < c.inventory_threshold < 1, "must be in (0, 1)"
    yield "max_inventory_multiplier", c.max_inventory_multiplier >= 1, "must be >= 1"
    yield "min_spread_floor_bps", c.min_spread_floor_bps > 0, "must be > 0"
    yield "red_zone_frac", c.inventory_threshold < c.red_zone_frac <= 1, "must be in (inventory_threshold, 1]"
    yield "yellow_min_size_mult", 0 < c.yellow_min_size_mult <= 1, "must be in (0, 1]"
    yield "reducing_tighten_bps", c.reducing_tighten_bps >= 0, "must be >= 0"
    yield "max_daily_loss_pct", 0 < c.max_daily_loss_pct <= 100, "must be in (0, 100]"
    yield "max_drawdown_pct", 0 < c.max_drawdown_pct <= 100, "must be in (0, 100]"
    yield "min_peak_usd", 0 < c.min_peak_usd <= c.capital_usd, "must be in (0, capital_usd]"
    yield "max_position_kill_mult", c.max_position_kill_mult > 1, "must be > 1"
    yield "position_jump_frac", c.position_jump_frac > 0, "must be > 0"
    yield "liquidation_fill_grace_s", c.liquidation_fill_grace_s >= 0, "must be >= 0"
    yield "stale_pull_s", c.stale_pull_s > 0, "must be > 0"
    yield "stale_halt_s", c.stale_halt_s > c.stale_pull_s, f"must be > stale_pull_s ({c.stale_pull_s})"
    yield "max_rate_limit_errors", c.max_rate_limit_errors >= 0, "must be >= 0"
    yield "rate_limit_window_s", c.rate_limit_window_s > 0, "must be > 0"
    yield "max_rejects", c.max_rejects >= 0, "must be >= 0"
    yield "reject_window_s", c.reject_window_s > 0, "must be > 0"
    yield "burst_events", c.burst_events >= 2, "must be >= 2"
    yield "burst_window_s", c.burst_window_s > 0, "must be > 0"
    yield (
        "burst_same_event_s",
        0 <= c.burst_same_event_s < c.burst_window_s,
        f"must be >= 0 and < burst_window_s ({c.burst_window_s})",
    )
    yield "side_pause_s", c.side_pause_s > 0, "must be > 0"
    yield "stuck_min_position_frac", 0 <= c.stuck_min_position_frac <= 1, "must be in [0, 1]"
    yield "stuck_warn_s", c.stuck_warn_s > 0, "must be > 0"
    yield "stuck_halt_s", c.stuck_halt_s > c.stuck_warn_s, f"must be > stuck_warn_s ({c.stuck_warn_s})"


# -- effective γ ---------------------------------------------------------------------------------------


def volatility_scalar(
    sigma_frac_per_sqrt_s: float, sigma_baseline_frac_per_sqrt_s: float, weight: float, max_multiplier: float
) -> float:
    """``min(1 + w·max(0, σ/σ_b − 1), max_mult)``: γ rises only above the baseline σ, by a capped amount (E5)."""
    excess = max(0.0, sigma_frac_per_sqrt_s / sigma_baseline_frac_per_sqrt_s - 1.0)
    return min(1.0 + weight * excess, max_multiplier)


def utilisation(position: float, max_position: float) -> float:
    """``|q| / max_position``: 1.0 means the hard cap is reached."""
    if not max_position > 0:
        raise ValueError(f"max_position must be > 0, got {max_position!r}")
    return abs(position) / max_position


def inventory_factor(utilisation_frac: float, threshold: float, max_multiplier: float) -> float:
    """γ factor for inventory: 1 up to ``threshold``, rising linearly to ``max_multiplier`` at full utilisation.

    ``1 + (max − 1)·clamp((u − thr)/(1 − thr), 0, 1)``. Linear and capped rather than the original's
    ``1 + 7u²`` (8× at the cap): beyond ``u = 1`` the zones already stop new exposure, and the cap keeps this
    factor from compounding with the others (lesson E5).
    """
    ramp = min(max((utilisation_frac - threshold) / (1.0 - threshold), 0.0), 1.0)
    return 1.0 + (max_multiplier - 1.0) * ramp


def gamma_effective(
    gamma_per_usd: float,
    vol_scalar: float,
    inventory_factor: float,
    gamma_min_per_usd: float,
    gamma_max_per_usd: float,
) -> float:
    """``clamp(γ · vol · inventory, γ_min, γ_max)`` per USD, summed as logs (lesson E5).

    Each factor is bounded by its producer; the final clamp bounds their combination, so no chain of
    multipliers can run away (the original's 1.5³ = 3.4× and worst-case 112× compounding).
    """
    factors = {"gamma_per_usd": gamma_per_usd, "vol_scalar": vol_scalar, "inventory_factor": inventory_factor}
    log_gamma = 0.0
    for name, value in factors.items():
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"gamma_effective {name}: must be finite and > 0, got {value!r}")
        log_gamma += math.log(value)
    return math.exp(min(max(log_gamma, math.log(gamma_min_per_usd)), math.log(gamma_max_per_usd)))


def gamma_for(
    config: RiskConfig,
    *,
    sigma_frac_per_sqrt_s: float,
    sigma_baseline_frac_per_sqrt_s: float,
    position: float,
) -> float:
    """Effective γ per USD from the config, the current σ against the instrument's baseline σ, and the position."""
    vol = volatility_scalar(
        sigma_frac_per_sqrt_s,
        sigma_baseline_frac_per_sqrt_s,
        config.volatility_weight,
        config.max_volatility_multiplier,
    )
    inventory = inventory_factor(
        utilisation(position, config.max_position), config.inventory_threshold, config.max_inventory_multiplier
    )
    return gamma_effective(config.gamma_per_usd, vol, inventory, config.gamma_min_per_usd, config.gamma_max_per_usd)


def combined_half_spread_mult(calibration_mult: float, warmup_uplift: float) -> float:
    """Scale of the GLFT half-spread from calibration (≤ 1: tighter to attract fills) and warmup (≥ 1: wider).

    Both act on the half-spread itself, which is monotone in fill probability; acting through γ would not be
    (DESIGN §5, calibration). Each factor is bounded by its producer; the product is what is applied.
    """
    for name, value in (("calibration_mult", calibration_mult), ("warmup_uplift", warmup_uplift)):
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"combined_half_spread_mult {name}: must be finite and > 0, got {value!r}")
    return calibration_mult * warmup_uplift


# -- spread add-ons and the skew guard ---------------------------------------------------------------------------


def combine_addons_bps(addons: Mapping[str, float], caps: Mapping[str, float]) -> float:
    """Sum of add-ons (bps), each clamped to ``±cap`` first: additive with individual caps, never chained (E5).

    Every add-on must have a cap; a missing cap or a non-finite add-on is a wiring error and raises.
    """
    total = 0.0
    for name, value in addons.items():
        if name not in caps:
            raise ValueError(f"spread add-on {name!r} has no cap (lesson E5: every add-on is capped)")
        total += capped_addon_bps(name, value, caps[name])
    return total


def capped_addon_bps(name: str, value: float, cap: float) -> float:
    """One add-on clamped to ``±cap`` (``combine_addons_bps``), its cap and value checked the same way: the quote
    cycle sums its two add-ons with this directly, without building two dicts per side and cycle."""
    if not (cap >= 0 and math.isfinite(cap)):
        raise ValueError(f"spread add-on cap {name!r}: must be finite and >= 0, got {cap!r}")
    if not math.isfinite(value):
        raise ValueError(f"spread add-on {name!r}: must be finite, got {value!r}")
    return min(max(value, -cap), cap)


def check_skew(q: float, skew: float) -> str | None:
    """Warning text when inventory is held but the per-lot skew would not lean against it (lesson E3), else None.

    ``skew`` is the per-lot skew magnitude (``GlftTerms.skew_ticks_per_lot`` or its bps equivalent): with
    ``q ≠ 0`` it must be > 0; zero (the Feb 24 incident), negative (wrong direction) and NaN are all flagged.
    """
    if q != 0.0 and not skew > 0.0:
        return f"inventory skew is {skew!r} with q={q:.6g}: quotes do not lean against the position (lesson E3)"
    return None
