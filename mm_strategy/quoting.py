"""Turn GLFT depths into a ladder of valid Hyperliquid orders, and diff it against what already rests.

Kept free of the engine (plain Decimals and floats) so every rule is unit-tested directly:

* prices rounded to the venue rule at the quoted level (5 significant figures, ``6 − szDecimals`` decimals),
  bids down and asks up so rounding never makes a quote more aggressive;
* post-only safety: a bid never reaches the best ask and an ask never reaches the best bid, and the ladder's
  best bid stays strictly below its best ask;
* sizes truncated to ``szDecimals``, levels under the $10 minimum notional dropped;
* a pending-aware budget per side (the strategy computes the worst-case position including in-flight orders);
* requote by diff: a resting order whose price is within ``requote_threshold_bps`` of a desired level and whose
  size matches is kept, so it keeps its queue position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.model.enums import OrderSide

from adapters.hyperliquid.rules import MIN_NOTIONAL_USD
from adapters.hyperliquid.rules import Rounding
from adapters.hyperliquid.rules import round_price
from adapters.hyperliquid.rules import round_size_down
from adapters.hyperliquid.rules import tick_at


@dataclass(frozen=True, slots=True)
class LadderSpec:
    """Shape of the ladder: levels per side, the gap to the next level and how that gap grows."""

    num_levels: int
    level_spacing_bps: float
    level_spacing_ratio: float
    sz_decimals: int
    min_notional: Decimal = MIN_NOTIONAL_USD


@dataclass(frozen=True, slots=True)
class QuoteLevel:
    side: OrderSide
    price: Decimal
    size: Decimal
    level: int


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """What the diff needs to know about an order already working at the venue."""

    order_id: str
    side: OrderSide
    price: Decimal
    leaves_qty: Decimal


@dataclass(frozen=True, slots=True)
class QuoteDiff:
    keep: tuple[RestingOrder, ...]
    cancel: tuple[RestingOrder, ...]
    place: tuple[QuoteLevel, ...]


def level_offsets_bps(spec: LadderSpec) -> list[float]:
    """Extra depth of each level beyond level 0: gaps of ``spacing · ratio^k`` (a geometric ladder)."""
    offsets, total, gap = [0.0], 0.0, spec.level_spacing_bps
    for _ in range(1, spec.num_levels):
        total += gap
        offsets.append(total)
        gap *= spec.level_spacing_ratio
    return offsets


def _side_prices(
    side: OrderSide,
    mid: float,
    depth0_bps: float,
    offsets_bps: Sequence[float],
    limit_px: Decimal,
    sz_decimals: int,
) -> list[Decimal]:
    """Rounded, post-only-safe, strictly monotone prices for one side (best first)."""
    sign = -1.0 if side == OrderSide.BUY else 1.0
    rounding = Rounding.DOWN if side == OrderSide.BUY else Rounding.UP
    prices: list[Decimal] = []
    for offset in offsets_bps:
        raw = mid * (1.0 + sign * (depth0_bps + offset) * 1e-4)
        px = round_price(raw, sz_decimals, rounding)
        bound = limit_px if not prices else prices[-1]
        if side == OrderSide.BUY and px >= bound:
            px = round_price(bound - tick_at(bound, sz_decimals), sz_decimals, Rounding.DOWN)
        elif side == OrderSide.SELL and px <= bound:
            px = round_price(bound + tick_at(bound, sz_decimals), sz_decimals, Rounding.UP)
        prices.append(px)
    return prices


def _sized_levels(
    side: OrderSide,
    prices: Sequence[Decimal],
    order_size: Decimal,
    budget: Decimal,
    spec: LadderSpec,
) -> list[QuoteLevel]:
    """Fill levels best-first until the side's budget runs out; the last level may be smaller."""
    levels: list[QuoteLevel] = []
    remaining = budget
    for index, px in enumerate(prices):
        size = round_size_down(min(order_size, remaining), spec.sz_decimals)
        if size <= 0 or px * size < spec.min_notional:
            break
        levels.append(QuoteLevel(side, px, size, index))
        remaining -= size
    return levels


def build_ladder(
    mid: float,
    best_bid: Decimal,
    best_ask: Decimal,
    bid_depth_bps: float,
    ask_depth_bps: float,
    bid_size: Decimal,
    ask_size: Decimal,
    bid_budget: Decimal,
    ask_budget: Decimal,
    spec: LadderSpec,
) -> tuple[list[QuoteLevel], list[QuoteLevel]]:
    """Desired (bids, asks), best first.

    A bid may sit anywhere strictly below the best ask (inside the spread is still maker), an ask anywhere
    strictly above the best bid; a negative depth (a strongly skewed reducing side) therefore lands at the
    touch rather than crossing. ``*_budget`` is how much more the side may add without breaching the
    position cap in the worst case (every working order filling).
    """
    offsets = level_offsets_bps(spec)
    bid_prices = _side_prices(OrderSide.BUY, mid, bid_depth_bps, offsets, best_ask, spec.sz_decimals)
    ask_prices = _side_prices(OrderSide.SELL, mid, ask_depth_bps, offsets, best_bid, spec.sz_decimals)
    bids = _sized_levels(OrderSide.BUY, bid_prices, bid_size, bid_budget, spec)
    asks = _sized_levels(OrderSide.SELL, ask_prices, ask_size, ask_budget, spec)
    if bids and asks and bids[0].price >= asks[0].price:
        raise AssertionError(f"ladder crossed itself: bid {bids[0].price} >= ask {asks[0].price}")
    return bids, asks


def diff_quotes(
    desired: Sequence[QuoteLevel],
    resting: Sequence[RestingOrder],
    mid: float,
    requote_threshold_bps: float,
) -> QuoteDiff:
    """Match desired levels to resting orders; keep matches, cancel the rest, place what is missing.

    A resting order matches a desired level on the same side when its remaining size equals the desired size
    and its price is within the requote threshold (in bps of mid). Each resting order matches at most one
    level, nearest price first, so a ladder that shifted by one level reuses the orders it can.
    """
    tolerance = Decimal(repr(mid * requote_threshold_bps * 1e-4))
    unmatched = list(resting)
    keep: list[RestingOrder] = []
    place: list[QuoteLevel] = []
    for level in desired:
        best: RestingOrder | None = None
        for order in unmatched:
            if order.side != level.side or order.leaves_qty != level.size:
                continue
            gap = abs(order.price - level.price)
            if gap <= tolerance and (best is None or gap < abs(best.price - level.price)):
                best = order
        if best is None:
            place.append(level)
        else:
            unmatched.remove(best)
            keep.append(best)
    return QuoteDiff(keep=tuple(keep), cancel=tuple(unmatched), place=tuple(place))
