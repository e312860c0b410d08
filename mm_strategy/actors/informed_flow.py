"""``InformedFlowActor``: public trades and book mids → ``InformedFlowEstimate`` (per-side P(informed)).

Market data only, so the model runs on venue ``ts_event`` (base.py): the trades of one taker order share it, which
is how the model groups them into one order. A trade without an aggressor side is passed as 0: it shows the tape is
alive (``has_trades``) but is not classified (the impact needs the direction).
"""

from __future__ import annotations

from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide

from mm_strategy.actors.base import EstimatorActor
from mm_strategy.actors.base import EstimatorActorConfig
from mm_strategy.messages import InformedFlowEstimate
from mm_strategy.models.informed_flow import InformedFlowModel
from mm_strategy.models.informed_flow import InformedFlowParams

_AGGRESSOR_SIGN = {AggressorSide.BUYER: 1, AggressorSide.SELLER: -1}


class InformedFlowActorConfig(EstimatorActorConfig, frozen=True):
    params: InformedFlowParams = InformedFlowParams()


class InformedFlowActor(EstimatorActor):
    model_cls = InformedFlowModel
    message_cls = InformedFlowEstimate
    uses_trades = True

    def feed_book(self, ts_ns: int, book: OrderBook, mid: float) -> None:
        self.model.on_mid(ts_ns, mid)

    def feed_trade(self, ts_ns: int, trade: TradeTick, mid: float | None) -> None:
        sign = _AGGRESSOR_SIGN.get(trade.aggressor_side, 0)
        self.model.on_trade(ts_ns, trade.price.as_double(), trade.size.as_double(), sign)
