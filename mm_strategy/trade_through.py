"""A trade that prints strictly through a resting order's price fills the whole order then, whatever the engine counts.

Price-time priority: a taker who sells at P below our bid B consumed every bid at B first, ours included. NautilusTrader
1.231's trade-driven matching with queue position records the size ahead of an order when it is accepted and lowers it
only by prints at the order's own price (``OrderMatchingEngine._decrement_queue_on_trade``) or a DELETE of the level;
a level that shrinks by updates leaves the count as it was, and a print through the price fills nothing while size is
still counted ahead, or only what the print's own size leaves after the levels above. The book that shows a sweep
arrives after its prints, so a sweep, the most adverse flow a maker meets, left orders unfilled or filled print by
print: on the Binance recording's first sweep (30 bp in 9 ms, through all three of our bid levels) the engine filled
the middle level 9 ms after the sweep had passed below it; on SOL an ask with 1,613.88 counted ahead at a level of 0.1
was never filled by the prints through it.

``TradeThroughModule`` (a venue ``SimulationModule``) sees each trade before the matching engine does. For every open
limit order of ours the trade prints through, best price first, it hands the matching engine a print at the order's
own price by the same aggressor, larger than any queue the engine can count (``_UNBLOCKABLE_SIZE``): the engine's own
logic then finds the queue cleared and fills the whole order at its price, as the sweep did (``prob_fill_on_limit``
below 1 would roll for these fills too; the configs leave it at 1).
Prints at an order's price are left to the engine (queue position decides). The strategy never sees these prints;
they exist only inside the matching engine. ``venue_config`` in ``mm_strategy.backtest`` adds the module whenever
fills come from trades with queue position.
"""

from __future__ import annotations

from nautilus_trader.backtest.config import SimulationModuleConfig
from nautilus_trader.backtest.modules import SimulationModule
from nautilus_trader.core.data import Data
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity


# The print's size: larger than any queue count the engine can hold. The engine records the size ahead of an order
# at acceptance and never lowers it when the level shrinks by an update (SOL: 1,613.88 counted ahead of an order at a
# level of 0.1), so a print sized to the visible book could still fill nothing. Size never decides which orders
# match (the transient price does: ours at the print's price or better, all swept anyway), only how much: at most
# each order's remainder.
_UNBLOCKABLE_SIZE = 1e9


class TradeThroughModuleConfig(SimulationModuleConfig, frozen=True):
    """No settings: the rule is the venue's price-time priority."""


class TradeThroughModule(SimulationModule):
    """Fills our resting orders that a trade prints strictly through (module docstring)."""

    def __init__(self, config: TradeThroughModuleConfig | None = None) -> None:
        super().__init__(config or TradeThroughModuleConfig())
        self.forced_fills = 0  # orders a through-print filled that the engine's queue would have left resting
        self._prints = 0

    def pre_process(self, data: Data) -> None:
        if type(data) is not TradeTick:
            return
        aggressor = data.aggressor_side
        if aggressor == AggressorSide.SELLER:
            side, price_raw = OrderSide.BUY, data.price.raw
            swept = [o for o in self._resting(data, side) if o.price.raw > price_raw]
            swept.sort(key=lambda o: -o.price.raw)  # the sweep meets the best bid first
        elif aggressor == AggressorSide.BUYER:
            side, price_raw = OrderSide.SELL, data.price.raw
            swept = [o for o in self._resting(data, side) if o.price.raw < price_raw]
            swept.sort(key=lambda o: o.price.raw)
        else:
            return  # no aggressor: which side was swept is unknown
        if not swept:
            return
        engine = self.exchange.get_matching_engine(data.instrument_id)
        for order in swept:
            if order.is_closed:
                continue
            # in the instrument's precisions, as the engine requires of a trade (an order may carry others)
            size = Quantity(_UNBLOCKABLE_SIZE, data.size.precision)
            print_at_order = TradeTick(
                data.instrument_id,
                Price.from_raw(order.price.raw, data.price.precision),
                size,
                aggressor,
                TradeId(f"through-{self._prints}"),  # ids are at most 36 characters; the engine only carries it
                data.ts_event,
                data.ts_init,
            )
            self._prints += 1
            filled_before = order.filled_qty.raw
            engine.process_trade_tick(print_at_order)
            if order.filled_qty.raw > filled_before:
                self.forced_fills += 1

    def process(self, ts_now: int) -> None:
        """Nothing to do between data points: every decision is made on a trade (``pre_process``)."""

    def reset(self) -> None:
        self.forced_fills = 0
        self._prints = 0

    def log_diagnostics(self, logger) -> None:
        logger.info(f"TradeThroughModule: {self.forced_fills} orders filled by prints through their price")

    def _resting(self, trade: TradeTick, side: OrderSide) -> list:
        return [
            o
            for o in self.exchange.get_open_orders(trade.instrument_id)
            if o.side == side and o.order_type == OrderType.LIMIT
        ]
