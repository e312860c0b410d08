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
from mm_strategy.models.glft import glft_terms
from mm_strategy.models.glft import to_tick_units
from mm_strategy.models.risk import combine_addons_bps


@dataclass(frozen=True, slots=True)
class ModelInputs:
    """Everything the GLFT depths depend on this cycle, already resolved from estimates or priors."""

    kappa_bid_per_frac: float
    kappa_ask_per_frac: float
    sigma_frac_per_sqrt_s: float
    a_per_s: float
    gamma: float
    addon_bid_bps: float = 0.0
    addon_ask_bps: float = 0.0


@dataclass(frozen=True, slots=True)
class DepthRules:
    half_spread_mult: float
    skew_mult: float
    min_half_spread_bps: float
    addon_cap_bps: float


@dataclass(frozen=True, slots=True)
class Depths:
    bid_bps: float
    ask_bps: float
    half_spread_bid_bps: float
    half_spread_ask_bps: float
    skew_bps_per_lot: float


def glft_depths_bps(inputs: ModelInputs, mid: float, tick: float, q_lots: float, rules: DepthRules) -> Depths:
    """Per-side GLFT depths in bps of mid (DESIGN §4).

    Each side uses its own κ. The half-spread is floored (the floor covers the maker fee), each side's add-on
    is capped on its own and added (lesson E5), and the inventory skew shifts both sides: it is never floored
    away, so the reducing side may come inside the floor (lessons E3/E4). Long inventory (q > 0) widens the bid
    and tightens the ask.
    """
    ticks_to_bps = tick / mid * 1e4
    sides = []
    for kappa in (inputs.kappa_bid_per_frac, inputs.kappa_ask_per_frac):
        units = to_tick_units(kappa, inputs.sigma_frac_per_sqrt_s, mid, tick)
        sides.append(
            glft_terms(
                gamma=inputs.gamma,
                kappa_per_tick=units.kappa_per_tick,
                a_per_s=inputs.a_per_s,
                sigma_ticks_per_sqrt_s=units.sigma_ticks_per_sqrt_s,
                half_spread_mult=rules.half_spread_mult,
                skew_mult=rules.skew_mult,
            ),
        )
    bid_terms, ask_terms = sides
    half_bid = max(bid_terms.half_spread_ticks * ticks_to_bps, rules.min_half_spread_bps)
    half_ask = max(ask_terms.half_spread_ticks * ticks_to_bps, rules.min_half_spread_bps)
    skew_bps = 0.5 * (bid_terms.skew_ticks_per_lot + ask_terms.skew_ticks_per_lot) * ticks_to_bps
    addon_bid = combine_addons_bps({"adverse_selection": inputs.addon_bid_bps}, {"adverse_selection": rules.addon_cap_bps})
    addon_ask = combine_addons_bps({"adverse_selection": inputs.addon_ask_bps}, {"adverse_selection": rules.addon_cap_bps})
    return Depths(
        bid_bps=half_bid + addon_bid + skew_bps * q_lots,
        ask_bps=half_ask + addon_ask - skew_bps * q_lots,
        half_spread_bid_bps=half_bid,
        half_spread_ask_bps=half_ask,
        skew_bps_per_lot=skew_bps,
    )


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
