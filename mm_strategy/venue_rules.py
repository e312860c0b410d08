"""How a venue wants prices and sizes: the only venue knowledge the quoting code needs, behind one interface.

The strategy knows no venue (DESIGN §1): it asks a :class:`VenueRules` for the tick at a price level, a passive
rounding of a price, the size step and the minimum notional. Two implementations exist:

* :class:`InstrumentRules` (the default), from the NautilusTrader instrument's fixed ``price_increment``,
  ``size_increment`` and ``min_notional`` — right for venues with fixed ticks (Binance futures, most others);
* a venue's own class named by the strategy config's ``venue_rules`` import path, e.g. Hyperliquid's
  level-dependent rules (``adapters.hyperliquid.venue_rules:HyperliquidRules``: 5 significant figures, at most
  ``6 − szDecimals`` decimals, integers always valid). It is built with the instrument, like the default.

Prices are ``Decimal``: float noise in a price is an invalid price on most venues.
"""

from __future__ import annotations

from decimal import ROUND_CEILING
from decimal import ROUND_DOWN
from decimal import ROUND_FLOOR
from decimal import Decimal
from enum import Enum
from typing import Protocol

from nautilus_trader.common.config import resolve_path
from nautilus_trader.model.instruments import Instrument


class Passive(Enum):
    """The passive direction of a quote's rounding: bids round DOWN, asks UP, so rounding never adds aggression."""

    DOWN = ROUND_FLOOR
    UP = ROUND_CEILING


class VenueRules(Protocol):
    min_notional: Decimal
    # Price levels a side the venue's live book feed shows the node; None: the whole book. Signals read from the book
    # (the fair value's imbalance) use no more than this in backtests too, so a backtest on a deeper recording
    # measures the signal the node will have live.
    live_book_levels: int | None

    def tick_at(self, price: Decimal) -> Decimal:
        """The smallest valid price step at this price level."""

    def round_price(self, price: Decimal | float, direction: Passive) -> Decimal:
        """A valid price at or passive of ``price``."""

    def round_size_down(self, size: Decimal) -> Decimal:
        """The largest valid size not above ``size`` (never rounded up)."""


def _decimal(value: Decimal | float) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(value))


class InstrumentRules:
    """Fixed tick and size step from the instrument; ``min_notional`` from the instrument (0 when it has none); the
    live feed is taken to show the whole book (Binance's depth stream does)."""

    live_book_levels: int | None = None

    def __init__(self, instrument: Instrument) -> None:
        self._tick = instrument.price_increment.as_decimal()
        self._size_step = instrument.size_increment.as_decimal()
        min_notional = instrument.min_notional
        self.min_notional = min_notional.as_decimal() if min_notional is not None else Decimal(0)

    def tick_at(self, price: Decimal) -> Decimal:
        return self._tick

    def round_price(self, price: Decimal | float, direction: Passive) -> Decimal:
        return (_decimal(price) / self._tick).to_integral_value(rounding=direction.value) * self._tick

    def round_size_down(self, size: Decimal) -> Decimal:
        return (size / self._size_step).to_integral_value(rounding=ROUND_DOWN) * self._size_step


def venue_rules_for(instrument: Instrument, rules_path: str | None) -> VenueRules:
    """The rules named by ``rules_path`` (``"package.module:Class"``, built with the instrument), else the
    instrument's own fixed increments."""
    if rules_path is None:
        return InstrumentRules(instrument)
    return resolve_path(rules_path)(instrument)
