"""Hyperliquid price and size rules, the single source of truth for quoting, loaders and the local exchange.

A perp price is valid iff it is an integer, or it has at most 5 significant figures and at most
``6 - szDecimals`` decimals (8 for spot). The tick therefore depends on the price level: BTC
(szDecimals 5) trades in whole dollars above $10,000 although its nominal tick is 0.1. Rounding
follows the level being quoted, never a fixed precision, and is done in ``Decimal`` because the
venue rejects what float noise produces (``Order has invalid price.``).
"""

from __future__ import annotations

from decimal import ROUND_CEILING
from decimal import ROUND_DOWN
from decimal import ROUND_FLOOR
from decimal import ROUND_HALF_EVEN
from decimal import Decimal
from decimal import InvalidOperation
from enum import Enum

MAX_DECIMALS_PERP = 6
MAX_DECIMALS_SPOT = 8
MAX_SIG_FIGS = 5
MIN_NOTIONAL_USD = Decimal(10)


class Rounding(Enum):
    """Which way to round a price: bids DOWN and asks UP stay passive."""

    DOWN = ROUND_FLOOR
    UP = ROUND_CEILING
    NEAREST = ROUND_HALF_EVEN


def max_price_decimals(sz_decimals: int, spot: bool = False) -> int:
    return (MAX_DECIMALS_SPOT if spot else MAX_DECIMALS_PERP) - sz_decimals


def _as_decimal(value: Decimal | float | str | int) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def tick_at(price: Decimal | float | str, sz_decimals: int, spot: bool = False) -> Decimal:
    """The smallest valid price step at ``price``: 5 significant figures, the decimals cap, and never above 1
    because integers are always valid."""
    px = _as_decimal(price)
    if px <= 0:
        raise ValueError(f"price must be positive, got {price}")
    exponent = px.adjusted() - (MAX_SIG_FIGS - 1)
    exponent = max(exponent, -max_price_decimals(sz_decimals, spot))
    return Decimal(1).scaleb(min(exponent, 0))


def is_valid_price(price: Decimal | str, sz_decimals: int, spot: bool = False) -> bool:
    """Total over every ``Decimal``: a price with more digits than decimal arithmetic carries (28) cannot be a
    multiple of its tick, so it is invalid rather than an exception (a venue must answer it per order)."""
    px = _as_decimal(price)
    if not px.is_finite() or px <= 0:
        return False
    if px == px.to_integral_value():
        return True
    try:
        return px % tick_at(px, sz_decimals, spot) == 0
    except InvalidOperation:
        return False


def round_price(
    price: Decimal | float | str,
    sz_decimals: int,
    rounding: Rounding = Rounding.NEAREST,
    spot: bool = False,
) -> Decimal:
    """Round to a valid price. Rounding up across a decade (9999.95 → 10000) re-checks the coarser tick."""
    px = _as_decimal(price)
    tick = tick_at(px, sz_decimals, spot)
    rounded = (px / tick).to_integral_value(rounding=rounding.value) * tick
    if rounded <= 0:
        raise ValueError(f"{price} rounds {rounding.name} to no valid price: it is below the smallest tick {tick}")
    coarser = tick_at(rounded, sz_decimals, spot)
    if coarser != tick:
        rounded = (rounded / coarser).to_integral_value(rounding=rounding.value) * coarser
    return rounded.normalize() if rounded != rounded.to_integral_value() else rounded.quantize(Decimal(1))


def is_valid_size(size: Decimal | str, sz_decimals: int) -> bool:
    """Total over every ``Decimal``, like ``is_valid_price``: a size too long to quantize is invalid."""
    sz = _as_decimal(size)
    if not sz.is_finite() or sz <= 0:
        return False
    try:
        return sz == sz.quantize(Decimal(1).scaleb(-sz_decimals), rounding=ROUND_DOWN)
    except InvalidOperation:
        return False


def round_size_down(size: Decimal | float | str, sz_decimals: int) -> Decimal:
    """Sizes are truncated, never rounded up: an order must not exceed what the caller could afford."""
    return _as_decimal(size).quantize(Decimal(1).scaleb(-sz_decimals), rounding=ROUND_DOWN)


def meets_min_notional(price: Decimal, size: Decimal, minimum: Decimal = MIN_NOTIONAL_USD) -> bool:
    return price * size >= minimum
