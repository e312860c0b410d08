"""Frozen, validated configs for the market maker; the same JSON builds backtest and live nodes.

NautilusTrader configs are msgspec Structs: unknown fields and wrong types already fail at parse time with the
JSON path named. ``__post_init__`` adds the range checks msgspec cannot express, naming the field too, so a
bad config stops the node before it can quote.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.identifiers import InstrumentId

from mm_strategy.models.risk import RiskConfig


def require(condition: bool, owner: str, field: str, rule: str, value: object) -> None:
    """Raise ``ValueError("<Owner>.<field>: <rule>, got <value>")`` when ``condition`` is false."""
    if not condition:
        raise ValueError(f"{owner}.{field}: {rule}, got {value!r}")


class GlftPriors(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """GLFT inputs used whenever an online estimate is missing or stale (σ and γ come from ``RiskConfig``).

    Units: κ per price fraction (2500 → intensity falls by e every 4 bps), A fills/s at zero depth.
    """

    kappa_per_frac: float = 2500.0
    a_per_s: float = 0.8

    def __post_init__(self) -> None:
        for name in ("kappa_per_frac", "a_per_s"):
            value = getattr(self, name)
            require(value > 0, "GlftPriors", name, "must be > 0", value)


class GLFTMarketMakerConfig(StrategyConfig, frozen=True):
    """Configuration of ``GLFTMarketMaker`` (DESIGN §4).

    ``order_size`` is in base units (BTC). Risk settings (γ, floors, caps, kill-switch triggers, the position
    limit ``risk.max_position`` counting every working order as filled) live in ``risk``. Spreads are in bps
    of mid. Estimates older than ``estimate_staleness_s`` count as missing and fall back to the priors.
    ``state_path`` persists the kill switch across restarts without a Redis cache.
    """

    instrument_id: InstrumentId
    order_size: Decimal
    risk: RiskConfig
    num_levels: int = 3
    level_spacing_bps: float = 2.0
    level_spacing_ratio: float = 1.5
    requote_threshold_bps: float = 1.0
    half_spread_mult: float = 1.0
    skew_mult: float = 0.1
    as_addon_cap_bps: float = 50.0
    priors: GlftPriors = GlftPriors()
    estimate_staleness_s: float = 10.0
    risk_check_interval_s: float = 1.0
    status_interval_s: float = 60.0
    state_path: str | None = None
    close_position_on_stop: bool = False

    def __post_init__(self) -> None:
        owner = "GLFTMarketMakerConfig"
        require(self.order_size > 0, owner, "order_size", "must be > 0", self.order_size)
        require(
            float(self.order_size) <= self.risk.max_position,
            owner,
            "order_size",
            f"must be <= risk.max_position ({self.risk.max_position})",
            self.order_size,
        )
        require(1 <= self.num_levels <= 20, owner, "num_levels", "must be in [1, 20]", self.num_levels)
        require(self.level_spacing_bps > 0, owner, "level_spacing_bps", "must be > 0", self.level_spacing_bps)
        require(self.level_spacing_ratio >= 1, owner, "level_spacing_ratio", "must be >= 1", self.level_spacing_ratio)
        require(self.requote_threshold_bps >= 0, owner, "requote_threshold_bps", "must be >= 0", self.requote_threshold_bps)
        require(self.half_spread_mult > 0, owner, "half_spread_mult", "must be > 0", self.half_spread_mult)
        require(self.skew_mult > 0, owner, "skew_mult", "must be > 0 (inventory skew is never zero, lesson E3)", self.skew_mult)
        require(self.as_addon_cap_bps >= 0, owner, "as_addon_cap_bps", "must be >= 0", self.as_addon_cap_bps)
        require(self.estimate_staleness_s > 0, owner, "estimate_staleness_s", "must be > 0", self.estimate_staleness_s)
        require(self.risk_check_interval_s > 0, owner, "risk_check_interval_s", "must be > 0", self.risk_check_interval_s)
        require(self.status_interval_s > 0, owner, "status_interval_s", "must be > 0", self.status_interval_s)
