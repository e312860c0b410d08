"""NautilusTrader's ``GridMarketMaker`` example with its prices rounded to Hyperliquid's rules.

The example rounds to the instrument's fixed ``price_increment``; Hyperliquid's valid prices depend on the level
(5 significant figures, at most ``6 − szDecimals`` decimals), so at BTC ≈ 111,000 it quoted 0.1 USD steps the venue
would reject (issue 10, defect 10). This subclass changes nothing but the rounding: bids down, asks up, so no
price gets more aggressive than the grid asked for. Everything else (levels, step, requote rule, exposure cap) is
the example's own, which keeps it the neutral baseline DESIGN §8 compares against.
"""

from __future__ import annotations

from nautilus_trader.examples.strategies.grid_market_maker import GridMarketMaker
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.objects import Price

from adapters.hyperliquid.rules import Rounding
from adapters.hyperliquid.rules import round_price


class HyperliquidGridMarketMaker(GridMarketMaker):
    def _grid_orders(self, mid, net_position, worst_long, worst_short):
        sz_decimals = self._instrument.size_precision
        precision = self._instrument.price_precision
        valid = []
        for side, price in super()._grid_orders(mid, net_position, worst_long, worst_short):
            rounding = Rounding.DOWN if side == OrderSide.BUY else Rounding.UP
            valid.append((side, Price.from_str(f"{round_price(price.as_decimal(), sz_decimals, rounding):.{precision}f}")))
        return valid
