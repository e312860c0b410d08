"""``VolatilityActor``: the book mid every batch → ``VolatilityEstimate`` (bipower σ, jump ratio, regime)."""

from __future__ import annotations

from nautilus_trader.model.book import OrderBook

from mm_strategy.actors.base import EstimatorActor
from mm_strategy.actors.base import EstimatorActorConfig
from mm_strategy.messages import VolatilityEstimate
from mm_strategy.models.volatility import VolatilityModel
from mm_strategy.models.volatility import VolatilityParams


class VolatilityActorConfig(EstimatorActorConfig, frozen=True):
    params: VolatilityParams = VolatilityParams()


class VolatilityActor(EstimatorActor):
    model_cls = VolatilityModel
    message_cls = VolatilityEstimate

    def feed_book(self, ts_ns: int, book: OrderBook, mid: float) -> None:
        self.model.on_mid(ts_ns, mid)
