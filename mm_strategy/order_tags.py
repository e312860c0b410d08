"""Placement context carried on each order as NautilusTrader tags, so any component reads it from the cache.

Markouts and the fill-rate model measure from the mid *at placement* (DESIGN §5), and fill-rate needs the level's
depth and resting time. The strategy tags every order it submits; actors and the report read the tags back from
``cache.order(client_order_id)`` in backtest and live alike, without a side channel between components.
"""

from __future__ import annotations

from dataclasses import dataclass

_MID = "mm.mid="
_LEVEL = "mm.level="


@dataclass(frozen=True, slots=True)
class PlacementTag:
    mid: float
    level: int


def placement_tags(mid: float, level: int) -> list[str]:
    return [f"{_MID}{mid!r}", f"{_LEVEL}{level}"]


def read_placement(tags: list[str] | None) -> PlacementTag | None:
    """The placement context of an order's tags, or None for orders this strategy did not place."""
    mid = level = None
    for tag in tags or ():
        if tag.startswith(_MID):
            mid = float(tag[len(_MID):])
        elif tag.startswith(_LEVEL):
            level = int(tag[len(_LEVEL):])
    if mid is None or level is None:
        return None
    return PlacementTag(mid, level)
