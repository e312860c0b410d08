"""Inventory zones: how much each side may quote for a given utilisation of the position limit.

Framework-free; settings from ``RiskConfig``.

Inventory zones by utilisation ``u = |q| / max_position`` (inventory §A.9.3):

======  ======================================  ===============================================================
zone    range                                   quotes
======  ======================================  ===============================================================
GREEN   u < inventory_threshold                 both sides, full size
YELLOW  inventory_threshold ≤ u < red_zone_frac increasing side shrinks linearly to ``yellow_min_size_mult``
RED     red_zone_frac ≤ u < 1                   reduce-only: increasing side not quoted
HARD    u ≥ 1 (max_position is the hard cap)    as RED; the label tells operators the cap itself is reached
======  ======================================  ===============================================================

The extra inventory risk premium in YELLOW goes through γ's inventory factor (wider, more skewed quotes), not a
second spread add-on: counting one risk twice is the E5 failure. Whenever quotes are reduce-only the reducing
side is tightened by ``reducing_tighten_bps``.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from mm_strategy.models.risk import RiskConfig
from mm_strategy.models.risk import utilisation


class Side(StrEnum):
    """Our quote side: BID is a buy order (a BID fill adds to the position), ASK a sell order."""

    BID = "BID"
    ASK = "ASK"


class InventoryZone(StrEnum):
    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"
    HARD = "HARD"


class ZoneDecision(msgspec.Struct, frozen=True):
    """Size multipliers per side for one utilisation; the reducing side's multiplier is always 1."""

    zone: InventoryZone
    bid_size_mult: float
    ask_size_mult: float
    reduce_only: bool


def reducing_side(position: float) -> Side | None:
    """The side whose fills shrink |position|: ASK when long, BID when short, none when flat."""
    if position > 0:
        return Side.ASK
    if position < 0:
        return Side.BID
    return None


def zone_limits(position: float, max_position: float, config: RiskConfig) -> ZoneDecision:
    """Inventory zone and per-side size multipliers (table in the module docstring, §A.9.3, lessons E4/E6)."""
    u = utilisation(position, max_position)
    if u < config.inventory_threshold:
        return ZoneDecision(InventoryZone.GREEN, 1.0, 1.0, reduce_only=False)
    if u < config.red_zone_frac:
        progress = (u - config.inventory_threshold) / (config.red_zone_frac - config.inventory_threshold)
        increasing_mult = 1.0 - (1.0 - config.yellow_min_size_mult) * progress
        zone, reduce_only = InventoryZone.YELLOW, False
    else:
        increasing_mult = 0.0
        zone, reduce_only = (InventoryZone.RED if u < 1.0 else InventoryZone.HARD), True
    if reducing_side(position) is Side.ASK:
        return ZoneDecision(zone, bid_size_mult=increasing_mult, ask_size_mult=1.0, reduce_only=reduce_only)
    return ZoneDecision(zone, bid_size_mult=1.0, ask_size_mult=increasing_mult, reduce_only=reduce_only)
