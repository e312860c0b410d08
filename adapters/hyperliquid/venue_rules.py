"""Hyperliquid's level-dependent price rules as the strategy's ``VenueRules`` (``mm_strategy/venue_rules.py``).

Selected by a strategy config's ``"venue_rules": "adapters.hyperliquid.venue_rules:HyperliquidRules"``; the maths
stays in ``rules.py``, the one source of truth shared with the loaders and the local exchange.

The quote cycle rounds six float prices per book event. ``round_price`` on a float therefore first tries the same
rounding in float arithmetic, where it is provably the ``Decimal`` result: the price divided by its tick is then
below 10^5 with an error under 1e-10, so its floor or ceiling is exact unless it lies within 1e-7 of an integer.
Near an integer, across a decade, at or below the smallest tick, or for anything but a float, it defers to
``rules.round_price``; either way the ``Decimal`` returned is the one ``rules.round_price`` returns, digit for digit
(``tests/test_rules_and_quoting.py`` checks both paths on the bundled data's prices).
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN
from decimal import Decimal

from nautilus_trader.model.instruments import Instrument

from adapters.hyperliquid.constants import FAST_BOOK_LEVELS
from adapters.hyperliquid.rules import MIN_NOTIONAL_USD
from adapters.hyperliquid.rules import MAX_SIG_FIGS
from adapters.hyperliquid.rules import Rounding
from adapters.hyperliquid.rules import max_price_decimals
from adapters.hyperliquid.rules import round_price
from adapters.hyperliquid.rules import tick_at
from mm_strategy.venue_rules import Passive

_ROUNDING = {Passive.DOWN: Rounding.DOWN, Passive.UP: Rounding.UP}
_EXACT_MARGIN = 1e-7  # far above the float error of price/tick (< 1e-10), far below one tick


class HyperliquidRules:
    """5 significant figures, at most ``6 − szDecimals`` decimals, integers always valid, $10 minimum notional.

    The live book has 5 levels a side: on the real venue the node subscribes the fast ``l2Book`` (5 levels every
    0.5 s; the 20-level book comes every 2–5 s, protocol notes §5.4), so no signal may count on more.
    """

    live_book_levels: int | None = FAST_BOOK_LEVELS

    def __init__(self, instrument: Instrument) -> None:
        self._sz_decimals = instrument.size_precision
        self._max_decimals = max_price_decimals(self._sz_decimals)
        self._size_quantum = Decimal(1).scaleb(-self._sz_decimals)
        self._band: tuple[float, float, int, int, int] = (0.0, 0.0, 0, 1, 0)  # the last decade rounded in
        self._tick_by_magnitude: dict[int, Decimal] = {}  # tick_at per Decimal.adjusted() of the price
        self.min_notional = MIN_NOTIONAL_USD

    def tick_at(self, price: Decimal) -> Decimal:
        """``rules.tick_at``, which depends on the price only through its order of magnitude: kept per magnitude
        (the quote cycle asks at the best bid on every book event)."""
        if type(price) is not Decimal or not price > 0:
            return tick_at(price, self._sz_decimals)  # converts, or raises for a price that is not positive
        magnitude = price.adjusted()
        tick = self._tick_by_magnitude.get(magnitude)
        if tick is None:
            tick = self._tick_by_magnitude[magnitude] = tick_at(price, self._sz_decimals)
        return tick

    def round_price(self, price: Decimal | float, direction: Passive) -> Decimal:
        if type(price) is float:
            rounded = self._round_float(price, direction is Passive.UP)
            if rounded is not None:
                return rounded
        return round_price(price, self._sz_decimals, _ROUNDING[direction])

    def round_size_down(self, size: Decimal) -> Decimal:
        """``rules.round_size_down`` with the step built once."""
        value = size if isinstance(size, Decimal) else Decimal(repr(size)) if isinstance(size, float) else Decimal(size)
        return value.quantize(self._size_quantum, rounding=ROUND_DOWN)

    def _round_float(self, price: float, up: bool) -> Decimal | None:
        """``rules.round_price(price)`` computed in floats when that is exact (module docstring), else None."""
        band = self._band
        if not band[0] <= price < band[1]:
            band = _decade(price, self._max_decimals)
            if band is None:
                return None
            self._band = band
        _, _, decimals, scale, next_decade_ticks = band
        ticks = price * scale
        whole = math.floor(ticks)
        fraction = ticks - whole
        # with a tick of 1 the float is the price itself: its floor and ceiling are exact however close it is
        if decimals and (fraction < _EXACT_MARGIN or fraction > 1.0 - _EXACT_MARGIN):
            return None
        n = whole + 1 if up and fraction else whole
        if n <= 0 or n >= next_decade_ticks:  # below the smallest tick, or up into the next decade
            return None
        units, remainder = divmod(n, scale)
        return Decimal(units) if not remainder else Decimal(n).scaleb(-decimals).normalize()


def _decade(price: float, max_decimals: int) -> tuple[float, float, int, int, int] | None:
    """(low, high, decimals, 10^decimals, the next power of ten in ticks) of the decade [low, high) holding
    ``price``, where the tick is 10^-decimals; None where floats cannot place it."""
    if not 0.0 < price < 1e15:
        return None
    magnitude = math.floor(math.log10(price))
    low, high = 10.0**magnitude, 10.0 ** (magnitude + 1)
    if not low <= price < high:  # log10 rounded across a power of ten
        return None
    decimals = min(max(MAX_SIG_FIGS - 1 - magnitude, 0), max_decimals)
    next_decade = magnitude + 1 + decimals
    if next_decade < 0:  # the whole decade is below the smallest tick
        return None
    return low, high, decimals, 10**decimals, 10**next_decade
