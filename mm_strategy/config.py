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


def require(condition: bool, owner: str, field: str, rule: str, value: object) -> None:
    """Raise ``ValueError("<Owner>.<field>: <rule>, got <value>")`` when ``condition`` is false."""
    if not condition:
        raise ValueError(f"{owner}.{field}: {rule}, got {value!r}")


class GlftPriors(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Model inputs used until (or whenever) an online estimate is missing or stale.

    Units: κ per price fraction (2500 → intensity falls by e every 4 bps), A fills/s at zero depth, σ price
    fraction per √s, γ risk aversion per (tick·lot) as in hftbacktest's GLFT.
    """

    kappa_per_frac: float = 2500.0
    a_per_s: float = 0.8
    sigma_frac_per_sqrt_s: float = 2e-4
    gamma: float = 0.15

    def __post_init__(self) -> None:
        for name in ("kappa_per_frac", "a_per_s", "sigma_frac_per_sqrt_s", "gamma"):
            value = getattr(self, name)
            require(value > 0, "GlftPriors", name, "must be > 0", value)


class GLFTMarketMakerConfig(StrategyConfig, frozen=True):
    """Configuration of ``GLFTMarketMaker`` (DESIGN §4).

    Sizes are in base units (BTC). ``max_position`` caps the worst-case position, counting every working
    order as filled. Spreads are in bps of mid; ``min_half_spread_bps`` floors the half-spread and must cover
    the maker fee.
    """

    instrument_id: InstrumentId
    order_size: Decimal
    max_position: Decimal
    num_levels: int = 3
    level_spacing_bps: float = 2.0
    level_spacing_ratio: float = 1.5
    requote_threshold_bps: float = 1.0
    half_spread_mult: float = 1.0
    skew_mult: float = 0.1
    min_half_spread_bps: float = 5.0
    maker_fee_bps: float = 1.5
    priors: GlftPriors = GlftPriors()
    close_position_on_stop: bool = False

    def __post_init__(self) -> None:
        owner = "GLFTMarketMakerConfig"
        require(self.order_size > 0, owner, "order_size", "must be > 0", self.order_size)
        require(self.max_position >= self.order_size, owner, "max_position", "must be >= order_size", self.max_position)
        require(1 <= self.num_levels <= 20, owner, "num_levels", "must be in [1, 20]", self.num_levels)
        require(self.level_spacing_bps > 0, owner, "level_spacing_bps", "must be > 0", self.level_spacing_bps)
        require(self.level_spacing_ratio >= 1, owner, "level_spacing_ratio", "must be >= 1", self.level_spacing_ratio)
        require(self.requote_threshold_bps >= 0, owner, "requote_threshold_bps", "must be >= 0", self.requote_threshold_bps)
        require(self.half_spread_mult > 0, owner, "half_spread_mult", "must be > 0", self.half_spread_mult)
        require(self.skew_mult > 0, owner, "skew_mult", "must be > 0 (inventory skew is never zero, lesson E3)", self.skew_mult)
        require(
            self.min_half_spread_bps >= self.maker_fee_bps,
            owner,
            "min_half_spread_bps",
            f"must be >= maker_fee_bps ({self.maker_fee_bps})",
            self.min_half_spread_bps,
        )
