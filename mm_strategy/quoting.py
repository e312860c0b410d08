"""Turn GLFT depths into a ladder of valid Hyperliquid orders, and diff it against what already rests.

Kept free of the engine (plain Decimals and floats) so every rule is unit-tested directly:

* prices rounded by the venue's rules (``venue_rules.py``: Hyperliquid's depend on the level) at the quoted level,
  bids down and asks up so rounding never makes a quote more aggressive;
* post-only safety: a bid never reaches the best ask and an ask never reaches the best bid, and the ladder's
  best bid stays strictly below its best ask;
* sizes truncated to the venue's size step, levels under its minimum notional dropped;
* a pending-aware budget per side (the strategy computes the worst-case position including in-flight orders);
* requote by diff, level by level: a resting order is kept only for its own level and only while its price is
  within the tolerance of that level's price (about a tick, or a fraction of the half-spread; looser for an order
  deeper than its level than for one inside it), so it keeps its queue position without ever standing in for
  another level; one that is not kept is amended to its level's price and size (one modify request instead of a
  cancel and a new order) when the venue can take a modify for it, else cancelled and its level placed anew.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

import msgspec
from nautilus_trader.model.enums import OrderSide

from mm_strategy.models.glft import glft_terms
from mm_strategy.models.glft import to_tick_units
from mm_strategy.models.risk import capped_addon_bps
from mm_strategy.venue_rules import Passive
from mm_strategy.venue_rules import VenueRules

ZERO = Decimal(0)  # compared with Decimals: an int operand is converted on every comparison (quoting and budgets)


class ModelInputs(msgspec.Struct, frozen=True):
    """Everything the GLFT depths depend on this cycle, already resolved from estimates or priors (``inputs.py``).

    κ and A per side come from one intensity curve λ(δ) = A·e^(−κδ) (DESIGN §5): a κ from one model with an A
    from another would not be a GLFT input. ``half_spread_mult`` is calibration × warmup (≤ 1 tightens).
    """

    kappa_bid_per_frac: float
    kappa_ask_per_frac: float
    a_bid_per_s: float
    a_ask_per_s: float
    sigma_frac_per_sqrt_s: float
    gamma_per_usd: float
    half_spread_mult: float = 1.0
    as_addon_bid_bps: float = 0.0
    as_addon_ask_bps: float = 0.0
    informed_addon_bid_bps: float = 0.0
    informed_addon_ask_bps: float = 0.0


@dataclass(frozen=True, slots=True)
class DepthRules:
    half_spread_mult: float
    skew_mult: float
    maker_fee_bps: float
    min_half_spread_bps: float
    as_addon_cap_bps: float
    informed_addon_cap_bps: float


class Depths(msgspec.Struct, frozen=True):
    bid_bps: float
    ask_bps: float
    half_spread_bid_bps: float
    half_spread_ask_bps: float
    skew_bps_per_lot: float


def _addon_bps(as_bps: float, informed_bps: float, rules: DepthRules) -> float:
    """``combine_addons_bps`` of the two add-ons with their caps, summed in the same order from 0.0."""
    return (
        0.0
        + capped_addon_bps("adverse_selection", as_bps, rules.as_addon_cap_bps)
        + capped_addon_bps("informed_flow", informed_bps, rules.informed_addon_cap_bps)
    )


def glft_depths_bps(inputs: ModelInputs, mid: float, tick: float, lot: float, q_lots: float, rules: DepthRules) -> Depths:
    """Per-side GLFT depths in bps of mid (DESIGN §4).

    Each side uses its own κ and A (one curve per side) and the same γ for the half-spread and the skew.

    The maker fee f enters the model, not only the result: a fill at depth δ earns δ − f and arrives at
    A·e^(−κδ) = (A·e^(−κf))·e^(−κ(δ − f)), so the fee-paying problem is the fee-free GLFT in δ' = δ − f with
    A' = A·e^(−κf). The optimal depth is therefore f + GLFT(A'): c1 does not depend on A, but c2 ∝ A^(−½) grows
    by e^(κf/2) (3.2–3.6× for 1.5 bp on the shipped priors), so both the σ term of the half-spread and the skew
    are larger than "fee-free depth + fee" would make them. A rebate (f < 0) makes them smaller.

    The half-spread is scaled (config × calibration × warmup), the fee added and the result floored (the floor
    binds when a rebate would take the depth below it); each add-on is capped on its own and added (lesson E5);
    the inventory skew shifts both sides and is never floored away, so the reducing side may come inside the
    floor (lessons E3/E4). Long inventory (q > 0) widens the bid and tightens the ask.
    """
    ticks_to_bps = tick / mid * 1e4
    fee_frac = rules.maker_fee_bps * 1e-4
    sides = []
    for kappa, a_per_s in ((inputs.kappa_bid_per_frac, inputs.a_bid_per_s), (inputs.kappa_ask_per_frac, inputs.a_ask_per_s)):
        units = to_tick_units(inputs.gamma_per_usd, kappa, inputs.sigma_frac_per_sqrt_s, mid, tick, lot)
        sides.append(
            glft_terms(
                gamma=units.gamma_per_tick_lot,
                kappa_per_tick=units.kappa_per_tick,
                a_per_s=a_per_s * math.exp(-kappa * fee_frac),  # A' of the fee-net problem (docstring)
                sigma_ticks_per_sqrt_s=units.sigma_ticks_per_sqrt_s,
                half_spread_mult=rules.half_spread_mult * inputs.half_spread_mult,
                skew_mult=rules.skew_mult,
            ),
        )
    bid_terms, ask_terms = sides
    half_bid = max(bid_terms.half_spread_ticks * ticks_to_bps + rules.maker_fee_bps, rules.min_half_spread_bps)
    half_ask = max(ask_terms.half_spread_ticks * ticks_to_bps + rules.maker_fee_bps, rules.min_half_spread_bps)
    skew_bps = 0.5 * (bid_terms.skew_ticks_per_lot + ask_terms.skew_ticks_per_lot) * ticks_to_bps
    addon_bid = _addon_bps(inputs.as_addon_bid_bps, inputs.informed_addon_bid_bps, rules)
    addon_ask = _addon_bps(inputs.as_addon_ask_bps, inputs.informed_addon_ask_bps, rules)
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
    rules: VenueRules
    offsets_bps: tuple[float, ...] = field(init=False, repr=False, compare=False)  # level_offsets_bps, built once

    def __post_init__(self) -> None:
        object.__setattr__(self, "offsets_bps", tuple(level_offsets_bps(self)))


class QuoteLevel(msgspec.Struct, frozen=True):
    side: OrderSide
    price: Decimal
    size: Decimal
    level: int


class RestingOrder(msgspec.Struct, frozen=True):
    """What the diff needs to know about an order already working at the venue.

    An order with a modify in flight is described where the modify puts it (its new price and size), not amendable:
    the diff judges it as it judges an order on its way to the venue (the strategy's ``_as_resting``).
    ``amendable``: the venue can take a modify for it now (``strategy._amendable``); ``reduce_only``: its flag,
    which a modify cannot change."""

    order_id: str
    side: OrderSide
    price: Decimal
    leaves_qty: Decimal
    level: int | None  # the ladder level it was placed for (None: not placed by this strategy)
    amendable: bool = False
    reduce_only: bool = False


class Amendment(msgspec.Struct, frozen=True):
    """Move ``order`` to ``level``'s price and size with one modify."""

    order: RestingOrder
    level: QuoteLevel


class QuoteDiff(msgspec.Struct, frozen=True):
    keep: tuple[RestingOrder, ...]
    cancel: tuple[RestingOrder, ...]
    place: tuple[QuoteLevel, ...]
    amend: tuple[Amendment, ...] = ()


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
    centre: float,
    depth0_bps: float,
    offsets_bps: Sequence[float],
    limit_px: Decimal,
    rules: VenueRules,
) -> list[Decimal]:
    """Rounded, post-only-safe, strictly monotone prices for one side (best first): each price stays strictly
    passive of its bound, the other side's touch for the first level and the level before for the others."""
    buy = side == OrderSide.BUY
    sign = -1.0 if buy else 1.0
    direction = Passive.DOWN if buy else Passive.UP
    round_price = rules.round_price
    prices: list[Decimal] = []
    bound = limit_px
    for offset in offsets_bps:
        px = round_price(centre * (1.0 + sign * (depth0_bps + offset) * 1e-4), direction)
        if buy:
            if px >= bound:
                px = round_price(bound - rules.tick_at(bound), Passive.DOWN)
        elif px <= bound:
            px = round_price(bound + rules.tick_at(bound), Passive.UP)
        prices.append(px)
        bound = px
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
    round_size_down, min_notional = spec.rules.round_size_down, spec.rules.min_notional
    full_size = round_size_down(order_size)  # every level's size while the budget holds a whole order
    for index, px in enumerate(prices):
        size = full_size if order_size <= remaining else round_size_down(remaining)
        if size <= ZERO or px * size < min_notional:
            break
        levels.append(QuoteLevel(side, px, size, index))
        remaining -= size
    return levels


def build_ladder(
    centre: float,
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
    """Desired (bids, asks), best first, each side's depth measured from ``centre`` (the mid, or the fair value
    the strategy centres on: ``models/fair_value.py``).

    A bid may sit anywhere strictly below the best ask (inside the spread is still maker), an ask anywhere
    strictly above the best bid; a negative depth (a strongly skewed reducing side) therefore lands at the
    touch rather than crossing. ``*_budget`` is how much more the side may add without breaching the
    position cap in the worst case (every working order filling).
    """
    return LadderBuilder(spec).build(
        centre, best_bid, best_ask, bid_depth_bps, ask_depth_bps, bid_size, ask_size, bid_budget, ask_budget
    )


class LadderBuilder:
    """``build_ladder`` for a strategy's successive quote cycles: when both sides round to the prices of the last
    call, with the same sizes and budgets, the last ladder is the answer and is not sized again (on the archive hour
    about half the cycles: the mid moves by less than the rounding). The sizing reads prices, sizes and budgets by
    value only, so equal arguments give the same levels."""

    def __init__(self, spec: LadderSpec) -> None:
        self.spec = spec
        self._sized_from: tuple | None = None
        self._ladder: tuple[list[QuoteLevel], list[QuoteLevel]] = ([], [])

    def build(
        self,
        centre: float,
        best_bid: Decimal,
        best_ask: Decimal,
        bid_depth_bps: float,
        ask_depth_bps: float,
        bid_size: Decimal,
        ask_size: Decimal,
        bid_budget: Decimal,
        ask_budget: Decimal,
    ) -> tuple[list[QuoteLevel], list[QuoteLevel]]:
        """``build_ladder`` with this builder's spec (its docstring); the lists returned are not to be changed."""
        spec = self.spec
        offsets = spec.offsets_bps
        bid_prices = _side_prices(OrderSide.BUY, centre, bid_depth_bps, offsets, best_ask, spec.rules)
        ask_prices = _side_prices(OrderSide.SELL, centre, ask_depth_bps, offsets, best_bid, spec.rules)
        sized_from = (bid_prices, ask_prices, bid_size, ask_size, bid_budget, ask_budget)
        if sized_from != self._sized_from:
            bids = _sized_levels(OrderSide.BUY, bid_prices, bid_size, bid_budget, spec)
            asks = _sized_levels(OrderSide.SELL, ask_prices, ask_size, ask_budget, spec)
            if bids and asks and bids[0].price >= asks[0].price:
                raise AssertionError(f"ladder crossed itself: bid {bids[0].price} >= ask {asks[0].price}")
            self._ladder = bids, asks
            self._sized_from = sized_from
        return self._ladder


class RequoteTolerance(msgspec.Struct, frozen=True):
    """How far (price units) a resting order may sit from its level's price and still be kept, by direction.

    ``inside_px`` applies to an order nearer the centre than its level wants (more aggressive: a stale quote there
    is what gets picked off when the price moves), ``deeper_px`` to one further out (it only costs some fill
    probability, and cancelling it would also give up its queue place)."""

    inside_px: Decimal
    deeper_px: Decimal

    def symmetric(self) -> RequoteTolerance:
        """The inside bound on both sides: no hysteresis (the inventory-reducing side)."""
        return RequoteTolerance(self.inside_px, self.inside_px)


def requote_tolerance(
    tick: Decimal, half_spread_px: float, tolerance_ticks: float, half_spread_frac: float, deeper_mult: float
) -> RequoteTolerance:
    """The larger of ``tolerance_ticks`` ticks and ``half_spread_frac`` of the half-spread (in price units) for an
    order inside its level's price, ``deeper_mult`` times that for an order deeper than it.

    Keeping an order keeps its queue place; a tolerance of a fraction of the half-spread bounds how stale a kept
    quote can be relative to what the model asks for, whatever the instrument's tick. The looser bound on the deep
    side is hysteresis: the desired price jitters with the mid and the fair-value shift, and a symmetric band
    cancels and replaces on every swing both ways (on the bundled data, 2x, with the reducing side left symmetric
    by the strategy, cuts orders plus cancels by 9-22 % with the same fills and markouts).
    """
    inside_px = max(tick * _config_decimal(tolerance_ticks), Decimal(repr(half_spread_px * half_spread_frac)))
    return RequoteTolerance(inside_px, inside_px * _config_decimal(deeper_mult))


@functools.lru_cache(maxsize=16, typed=True)  # typed: 1 and 1.0 are different Decimals ("1", "1.0")
def _config_decimal(value: float) -> Decimal:
    """``Decimal(repr(value))`` of a config number, converted once: the tolerance asks for the same two every cycle."""
    return Decimal(repr(value))


def diff_quotes(
    desired: Sequence[QuoteLevel],
    resting: Sequence[RestingOrder],
    tolerances: Mapping[OrderSide, RequoteTolerance],
    reduce_only: bool = False,
) -> QuoteDiff:
    """Match desired levels to resting orders level by level; keep matches, amend or cancel the rest, place what is
    missing. ``reduce_only``: the flag the cycle's orders carry.

    A resting order can only be kept for the level it was placed for, on its side, while its price is within its
    side's tolerance of that level's price (``inside_px`` when it is nearer the centre than the level, ``deeper_px``
    when further out), strictly between the desired prices of the levels either side of its own (a kept order never
    reaches the next level's price: the ladder keeps its order and its best price), and its remaining size is
    positive and no larger than the level's. Orders never migrate across levels: after a move, the old deepest
    order is not promoted to level 0 (that would keep a stale quote and make the fill-rate model record the wrong
    depth). Of several orders for one level the nearest in price is kept (the first of equally near ones).

    A level with no order to keep gets, of its own orders that the venue can modify (``amendable``) and whose
    ``reduce_only`` flag is the cycle's (a modify cannot change it), the nearest in price (the first of equally near
    ones) amended to its price and size: at the venue a cancel-replace (new price, back of the queue) in one request
    instead of two. A level with neither gets a new order (``place``). Every other resting order is cancelled.

    An order with a modify in flight comes described at its new price and size and never amendable: it is kept when
    that is still within the tolerance of its level, so a second modify never races the first and its level is not
    placed twice; and cancelled, its level placed anew, when the ladder moved on meanwhile, as an order on its way to
    the venue is (holding it until the venue answered left a stale quote up for one more latency: on the SOL capture
    an ask 6 ticks inside the model's price for 1 s, filled there).
    """
    by_level: dict[tuple[OrderSide, int], list[RestingOrder]] = {}
    for order in resting:
        if order.level is not None:
            by_level.setdefault((order.side, order.level), []).append(order)
    desired_px = {(level.side, level.level): level.price for level in desired}
    kept: list[RestingOrder] = []
    amend: list[Amendment] = []
    place: list[QuoteLevel] = []
    for level in desired:
        side, price, index = level.side, level.price, level.level
        own = by_level.get((side, index))
        if own is None:
            place.append(level)
            continue
        nearest = _nearest_keepable(
            own, level, tolerances[side], desired_px.get((side, index - 1)), desired_px.get((side, index + 1))
        )
        if nearest is not None:
            kept.append(nearest)
            continue
        amendable = [o for o in own if o.amendable and o.reduce_only == reduce_only]
        if amendable:
            order = min(amendable, key=lambda o: abs(o.price - price))  # min keeps the first of equals
            amend.append(Amendment(order, level))
        else:
            place.append(level)
    if len(kept) == len(resting):  # every order kept (each for its own level, which the ladder holds once): most cycles
        cancel: tuple[RestingOrder, ...] = ()
    else:
        used_ids = {order.order_id for order in kept} | {a.order.order_id for a in amend}
        cancel = tuple(order for order in resting if order.order_id not in used_ids)
    return QuoteDiff(keep=tuple(kept), cancel=cancel, place=tuple(place), amend=tuple(amend))


def _nearest_keepable(
    own: Sequence[RestingOrder],
    level: QuoteLevel,
    tolerance: RequoteTolerance,
    inner_px: Decimal | None,
    outer_px: Decimal | None,
) -> RestingOrder | None:
    """Of the level's own orders, the nearest in price (the first of equally near ones) that ``diff_quotes`` may
    keep for it, or None.

    Written per side rather than with a sign factor: ``sign · price`` converted the int to a ``Decimal`` and built
    a new one on every comparison (a fifth of the diff's time); mirrored comparisons of the same values decide the
    same."""
    price, size = level.price, level.size
    buy = level.side == OrderSide.BUY
    nearest, nearest_px = None, ZERO
    for order in own:
        order_px = order.price
        towards_centre_px = order_px - price if buy else price - order_px  # < 0: deeper than the level
        if towards_centre_px < ZERO:
            distance_px = -towards_centre_px
            if distance_px > tolerance.deeper_px:
                continue
        else:
            distance_px = towards_centre_px
            if distance_px > tolerance.inside_px:
                continue
        if buy:
            past_neighbour = (inner_px is not None and order_px >= inner_px) or (
                outer_px is not None and order_px <= outer_px
            )
        else:
            past_neighbour = (inner_px is not None and order_px <= inner_px) or (
                outer_px is not None and order_px >= outer_px
            )
        if past_neighbour:
            continue  # at or past a neighbouring level's price
        if (nearest is None or distance_px < nearest_px) and ZERO < order.leaves_qty <= size:
            nearest, nearest_px = order, distance_px
    return nearest
