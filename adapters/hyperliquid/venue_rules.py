"""Hyperliquid's level-dependent price rules as the strategy's ``VenueRules`` (``mm_strategy/venue_rules.py``).

Selected by a strategy config's ``"venue_rules": "adapters.hyperliquid.venue_rules:HyperliquidRules"``; the maths
stays in ``rules.py``, the one source of truth shared with the loaders and the local exchange.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.instruments import Instrument

from adapters.hyperliquid.rules import MIN_NOTIONAL_USD
from adapters.hyperliquid.rules import Rounding
from adapters.hyperliquid.rules import round_price
from adapters.hyperliquid.rules import round_size_down
from adapters.hyperliquid.rules import tick_at
from mm_strategy.venue_rules import Passive

_ROUNDING = {Passive.DOWN: Rounding.DOWN, Passive.UP: Rounding.UP}


class HyperliquidRules:
    """5 significant figures, at most ``6 − szDecimals`` decimals, integers always valid, $10 minimum notional."""

    def __init__(self, instrument: Instrument) -> None:
        self._sz_decimals = instrument.size_precision
        self.min_notional = MIN_NOTIONAL_USD

    def tick_at(self, price: Decimal) -> Decimal:
        return tick_at(price, self._sz_decimals)

    def round_price(self, price: Decimal | float, direction: Passive) -> Decimal:
        return round_price(price, self._sz_decimals, _ROUNDING[direction])

    def round_size_down(self, size: Decimal) -> Decimal:
        return round_size_down(size, self._sz_decimals)
