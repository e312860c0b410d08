"""Frozen, validated configs for the market maker; the same JSON builds backtest and live nodes.

NautilusTrader configs are msgspec Structs: unknown fields and wrong types already fail at parse time with the
JSON path named. ``__post_init__`` adds the range checks msgspec cannot express, naming the field too, so a
bad config stops the node before it can quote.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.common.config import resolve_path
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.identifiers import InstrumentId

from mm_strategy.models.fair_value import FairValueConfig
from mm_strategy.models.priors import InstrumentPriors
from mm_strategy.models.risk import RiskConfig


def require(condition: bool, owner: str, field: str, rule: str, value: object) -> None:
    """Raise ``ValueError("<Owner>.<field>: <rule>, got <value>")`` when ``condition`` is false."""
    if not condition:
        raise ValueError(f"{owner}.{field}: {rule}, got {value!r}")


class GLFTMarketMakerConfig(StrategyConfig, frozen=True):
    """Configuration of ``GLFTMarketMaker`` (DESIGN §4).

    ``order_size`` is in base units (BTC) and is the GLFT lot Δ. Risk settings (γ per USD, floors, caps,
    kill-switch triggers, the position limit ``risk.max_position`` counting every working order as filled) live
    in ``risk``; ``instrument_id`` and ``priors`` are written once at the top of the venue config and injected.
    Spreads are in bps of mid. Estimates older than ``estimate_staleness_s`` count as missing and fall back
    conservatively (``inputs.py``). A resting order is kept for its level while within the larger of
    ``requote_tolerance_ticks`` ticks and ``requote_tolerance_half_spread_frac`` of the half-spread when it sits
    nearer the centre than its level wants, ``requote_tolerance_deeper_mult`` times that when it sits deeper
    (``quoting.requote_tolerance``).
    The ladder is centred on the mid shifted by the size imbalance near it (``fair_value``,
    ``models/fair_value.py``; ``fair_value.beta`` 0 centres on the mid). ``state_path`` persists the kill switch
    across restarts without a Redis cache. ``venue_rules`` names the venue's price/size rules (``"module:Class"``,
    see ``venue_rules.py``); None uses the instrument's increments.
    """

    instrument_id: InstrumentId
    priors: InstrumentPriors
    order_size: Decimal
    risk: RiskConfig
    venue_rules: str | None = None
    num_levels: int = 3
    level_spacing_bps: float = 2.0
    level_spacing_ratio: float = 1.5
    requote_tolerance_ticks: float = 1.0
    requote_tolerance_half_spread_frac: float = 0.25
    requote_tolerance_deeper_mult: float = 2.0
    half_spread_mult: float = 1.0
    skew_mult: float = 1.0
    as_addon_cap_bps: float = 10.0
    informed_addon_cap_bps: float = 3.0
    fair_value: FairValueConfig = FairValueConfig()
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
        require(self.requote_tolerance_ticks >= 0, owner, "requote_tolerance_ticks", "must be >= 0", self.requote_tolerance_ticks)
        require(
            0 <= self.requote_tolerance_half_spread_frac <= 1,
            owner,
            "requote_tolerance_half_spread_frac",
            "must be in [0, 1]",
            self.requote_tolerance_half_spread_frac,
        )
        require(
            1 <= self.requote_tolerance_deeper_mult <= 4,
            owner,
            "requote_tolerance_deeper_mult",
            "must be in [1, 4] (a deeper order risks less than one inside its level; 4x a quarter half-spread is a "
            "whole half-spread)",
            self.requote_tolerance_deeper_mult,
        )
        require(self.half_spread_mult > 0, owner, "half_spread_mult", "must be > 0", self.half_spread_mult)
        require(self.skew_mult > 0, owner, "skew_mult", "must be > 0 (inventory skew is never zero, lesson E3)", self.skew_mult)
        require(self.as_addon_cap_bps >= 0, owner, "as_addon_cap_bps", "must be >= 0", self.as_addon_cap_bps)
        require(self.informed_addon_cap_bps >= 0, owner, "informed_addon_cap_bps", "must be >= 0", self.informed_addon_cap_bps)
        require(self.estimate_staleness_s > 0, owner, "estimate_staleness_s", "must be > 0", self.estimate_staleness_s)
        require(self.risk_check_interval_s > 0, owner, "risk_check_interval_s", "must be > 0", self.risk_check_interval_s)
        require(self.status_interval_s > 0, owner, "status_interval_s", "must be > 0", self.status_interval_s)
        if self.venue_rules is not None:
            try:
                resolve_path(self.venue_rules)
            except (ImportError, AttributeError, ValueError) as exc:
                require(False, owner, "venue_rules", f"must name an importable 'module:Class' ({exc})", self.venue_rules)
