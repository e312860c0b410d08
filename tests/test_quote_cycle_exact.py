"""The quote cycle's cheaper formulations (issue 13) decide exactly what the plain ones decide, on real data.

* ``band_imbalance`` capped at the live depth reads only the band's levels (``get_all_crossed_levels``) instead of
  copying the whole book: the same float, bit for bit, on every book of the Hyperliquid captures.
* ``diff_quotes`` compares per side instead of through a ``sign ·`` factor: the same keep/amend/place/cancel
  decisions as the signed formulation (kept here as the reference) for ladders and resting orders drawn from the
  captures' real price levels.
* the add-ons are capped without building dicts: the same float as ``combine_addons_bps``.
* the requote tolerance converts its config numbers once, keeping ``1`` and ``1.0`` apart as ``repr`` does.
"""

from __future__ import annotations

import math
from decimal import Decimal
from functools import lru_cache

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.enums import OrderSide

from adapters.hyperliquid import loaders
from adapters.hyperliquid.meta import instrument_for
from mm_strategy.calibrate import two_sided_books
from mm_strategy.models.risk import combine_addons_bps
from mm_strategy.quoting import DepthRules
from mm_strategy.quoting import QuoteLevel
from mm_strategy.quoting import RequoteTolerance
from mm_strategy.quoting import RestingOrder
from mm_strategy.quoting import _addon_bps
from mm_strategy.quoting import diff_quotes
from mm_strategy.quoting import requote_tolerance
from mm_strategy.strategy import band_imbalance
from tests.conftest import HL_CAPTURES
from tests.conftest import SHARED

_MIN_BOOKS = 400  # the 9-minute captures hold ~445 book batches each: every one is checked


def _reference_band_imbalance(book: OrderBook, mid: float, band_bps: float, max_levels: int) -> float:
    """The capped band imbalance as it was computed before issue 13: from every level of the book."""
    floor, ceiling = mid * (1.0 - band_bps / 1e4), mid * (1.0 + band_bps / 1e4)
    bids = sum(lv.size() for lv in book.bids()[:max_levels] if lv.price.as_double() >= floor)
    asks = sum(lv.size() for lv in book.asks()[:max_levels] if lv.price.as_double() <= ceiling)
    total = bids + asks
    return (bids - asks) / total if total > 0 else 0.0


@pytest.mark.parametrize("coin", ["BTC", "ETH", "SOL"])
def test_capped_band_imbalance_is_bit_identical_on_every_real_book(hl_captures, coin):
    instrument = instrument_for(coin)
    result = loaders.parse_file(hl_captures / f"hl_{coin}_20250903.gz", instrument)
    checked = 0
    for _, book in two_sided_books(instrument, result.deltas):
        mid = (book.best_bid_price().as_double() + book.best_ask_price().as_double()) / 2.0
        for band_bps, levels in ((5.0, 5), (0.5, 5), (5.0, 20), (0.2, 3)):
            fast = band_imbalance(book, mid, band_bps, instrument.price_precision, levels)
            assert fast == _reference_band_imbalance(book, mid, band_bps, levels), (checked, band_bps, levels)
        checked += 1
    assert checked >= _MIN_BOOKS


# -- diff_quotes ---------------------------------------------------------------------------------------------


def _reference_diff(desired, resting, tolerances, reduce_only):
    """``diff_quotes`` in its signed formulation (before issue 13), as (kept ids, amended (id, level), placed
    levels, cancelled ids)."""
    by_level = {}
    for order in resting:
        if order.level is not None:
            by_level.setdefault((order.side, order.level), []).append(order)
    desired_px = {(level.side, level.level): level.price for level in desired}
    kept, amend, place = [], [], []
    for level in desired:
        side, tolerance = level.side, tolerances[level.side]
        sign = 1 if side == OrderSide.BUY else -1
        inner_px = desired_px.get((side, level.level - 1))
        outer_px = desired_px.get((side, level.level + 1))
        own = by_level.get((side, level.level), ())
        nearest, nearest_px = None, Decimal(0)
        for order in own:
            towards_centre_px = sign * (order.price - level.price)
            distance_px = abs(towards_centre_px)
            if distance_px > (tolerance.deeper_px if towards_centre_px < 0 else tolerance.inside_px):
                continue
            if (inner_px is not None and sign * order.price >= sign * inner_px) or (
                outer_px is not None and sign * order.price <= sign * outer_px
            ):
                continue
            if (nearest is None or distance_px < nearest_px) and 0 < order.leaves_qty <= level.size:
                nearest, nearest_px = order, distance_px
        if nearest is not None:
            kept.append(nearest)
            continue
        amendable = [o for o in own if o.amendable and o.reduce_only == reduce_only]
        if amendable:
            amend.append((min(amendable, key=lambda o: abs(o.price - level.price)), level))
        else:
            place.append(level)
    used = {o.order_id for o in kept} | {o.order_id for o, _ in amend}
    cancel = [o.order_id for o in resting if o.order_id not in used]
    return [o.order_id for o in kept], [(o.order_id, lv) for o, lv in amend], place, cancel


@lru_cache(maxsize=1)
def _real_prices() -> tuple[Decimal, ...]:
    """Distinct bid and ask level prices of the first books of the BTC capture, ascending (real tick grid)."""
    if not SHARED.exists():
        pytest.skip("../shared is absent: real Hyperliquid data unavailable")
    path = HL_CAPTURES / "hl_BTC_20250903.gz"
    assert path.exists(), f"expected real data file missing: {path}"
    result = loaders.parse_file(path, instrument_for("BTC"))
    return tuple(sorted({delta.order.price.as_decimal() for delta in result.deltas[:4000] if delta.order.price.raw}))


_SIZES = [Decimal("0.01"), Decimal("0.005"), Decimal("0.02"), Decimal(0)]


@st.composite
def _cycle(draw):
    prices = _real_prices()
    mid_index = draw(st.integers(8, len(prices) - 9))
    levels = draw(st.integers(1, 3))
    desired = []
    for side, step in ((OrderSide.BUY, -1), (OrderSide.SELL, 1)):
        index = mid_index + (0 if side == OrderSide.BUY else 1)
        for level in range(levels):
            desired.append(QuoteLevel(side, prices[index], Decimal("0.01"), level))
            index += step * draw(st.integers(1, 3))
    resting = []
    for n in range(draw(st.integers(0, 8))):
        side = draw(st.sampled_from([OrderSide.BUY, OrderSide.SELL]))
        resting.append(
            RestingOrder(
                f"O-{n}",
                side,
                prices[mid_index + draw(st.integers(-8, 8))],
                draw(st.sampled_from(_SIZES)),
                draw(st.sampled_from([None, 0, 1, 2, 3])),
                amendable=draw(st.booleans()),
                reduce_only=draw(st.booleans()),
            )
        )
    tick = Decimal(1)
    inside = tick * draw(st.sampled_from([Decimal(0), Decimal(1), Decimal("1.5"), Decimal(3)]))
    tolerance = RequoteTolerance(inside, inside * draw(st.sampled_from([Decimal(1), Decimal(2)])))
    tolerances = {OrderSide.BUY: tolerance, OrderSide.SELL: draw(st.sampled_from([tolerance, tolerance.symmetric()]))}
    return desired, resting, tolerances, draw(st.booleans())


@settings(max_examples=400, deadline=None)
@given(_cycle())
def test_diff_decides_as_the_signed_formulation_on_real_price_levels(cycle):
    desired, resting, tolerances, reduce_only = cycle
    diff = diff_quotes(desired, resting, tolerances, reduce_only)
    kept, amended, placed, cancelled = _reference_diff(desired, resting, tolerances, reduce_only)
    assert [o.order_id for o in diff.keep] == kept
    assert [(a.order.order_id, a.level) for a in diff.amend] == amended
    assert list(diff.place) == placed
    assert [o.order_id for o in diff.cancel] == cancelled


# -- add-ons and tolerance ---------------------------------------------------------------------------------------

_RULES = DepthRules(1.0, 1.0, 1.5, 1.5, as_addon_cap_bps=3.0, informed_addon_cap_bps=2.0)
_ADDON = st.floats(min_value=-50.0, max_value=50.0, allow_nan=False) | st.sampled_from([0.0, -0.0, 3.0, -2.0])


@given(_ADDON, _ADDON)
def test_addons_sum_as_combine_addons_bps(as_bps, informed_bps):
    expected = combine_addons_bps(
        {"adverse_selection": as_bps, "informed_flow": informed_bps},
        {"adverse_selection": _RULES.as_addon_cap_bps, "informed_flow": _RULES.informed_addon_cap_bps},
    )
    got = _addon_bps(as_bps, informed_bps, _RULES)
    assert got == expected and math.copysign(1.0, got) == math.copysign(1.0, expected)


def test_addon_errors_are_those_of_combine_addons_bps():
    with pytest.raises(ValueError, match="spread add-on 'adverse_selection': must be finite"):
        _addon_bps(math.nan, 0.0, _RULES)
    bad_cap = DepthRules(1.0, 1.0, 1.5, 1.5, as_addon_cap_bps=3.0, informed_addon_cap_bps=-1.0)
    with pytest.raises(ValueError, match="spread add-on cap 'informed_flow'"):
        _addon_bps(0.0, 0.0, bad_cap)


def test_tolerance_config_numbers_convert_as_repr_does():
    """A config ``1`` and ``1.0`` are the Decimals "1" and "1.0" (a cache keyed by value alone would mix them)."""
    as_float = requote_tolerance(Decimal(1), 0.0, 1.0, 0.25, 2.0)
    as_int = requote_tolerance(Decimal(1), 0.0, 1, 0.25, 2)
    assert (str(as_float.inside_px), str(as_float.deeper_px)) == ("1.0", "2.00")
    assert (str(as_int.inside_px), str(as_int.deeper_px)) == ("1", "2")
