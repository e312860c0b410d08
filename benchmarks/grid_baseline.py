"""NautilusTrader's ``GridMarketMaker`` example with its prices rounded by the venue's rules, as ours are.

The example rounds to the instrument's fixed ``price_increment``, which is right on a fixed-tick venue (Binance
USDⓈ-M) but not on Hyperliquid, whose valid prices depend on the level (5 significant figures, at most
``6 − szDecimals`` decimals): at BTC ≈ 111,000 it quoted 0.1 USD steps the venue would reject (issue 10, defect
10). This subclass changes nothing but the rounding, through the same ``VenueRules`` the config gives our
strategy (``venue.rules``; None = the instrument's increments, where it changes nothing): bids down, asks up, so
no price gets more aggressive than the grid asked for. Everything else (levels, step, requote rule, exposure cap)
is the example's own, which keeps it the neutral baseline DESIGN §8 compares against.
"""

from __future__ import annotations

from nautilus_trader.examples.strategies.grid_market_maker import GridMarketMaker
from nautilus_trader.examples.strategies.grid_market_maker import GridMarketMakerConfig
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.objects import Price

from mm_strategy.venue_rules import Passive
from mm_strategy.venue_rules import venue_rules_for


class VenueRulesGridMarketMakerConfig(GridMarketMakerConfig, frozen=True):
    venue_rules: str | None = None  # "module:Class" of the venue's VenueRules, as in the venue config


class VenueRulesGridMarketMaker(GridMarketMaker):
    def __init__(self, config: VenueRulesGridMarketMakerConfig) -> None:
        super().__init__(config)
        self._rules = None

    def _grid_orders(self, mid, net_position, worst_long, worst_short):
        if self._rules is None:
            self._rules = venue_rules_for(self._instrument, self.config.venue_rules)
        precision = self._instrument.price_precision
        valid = []
        for side, price in super()._grid_orders(mid, net_position, worst_long, worst_short):
            direction = Passive.DOWN if side == OrderSide.BUY else Passive.UP
            valid.append((side, Price.from_str(f"{self._rules.round_price(price.as_decimal(), direction):.{precision}f}")))
        return valid
