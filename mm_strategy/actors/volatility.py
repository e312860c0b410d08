"""``VolatilityActor``: the book mid every batch → ``VolatilityEstimate`` (bipower σ, jump ratio, regime)."""

from __future__ import annotations

from typing import Any

from nautilus_trader.model.book import OrderBook

from mm_strategy.actors.base import EstimatorActor
from mm_strategy.actors.base import EstimatorActorConfig
from mm_strategy.messages import VolatilityEstimate
from mm_strategy.models.volatility import VolatilityModel
from mm_strategy.models.volatility import VolatilityParams
from mm_strategy.models.volatility import VolatilityReading


class VolatilityActorConfig(EstimatorActorConfig, frozen=True):
    params: VolatilityParams = VolatilityParams()


class VolatilityActor(EstimatorActor):
    model_cls = VolatilityModel
    message_cls = VolatilityEstimate

    def feed_book(self, ts_ns: int, book: OrderBook, mid: float) -> None:
        self.model.on_mid(ts_ns, mid)

    def payload(self, reading: VolatilityReading) -> dict[str, Any]:
        return {
            "sigma_frac_per_sqrt_s": reading.sigma_frac_per_sqrt_s,
            "jump_ratio": reading.jump_ratio,
            "regime": reading.regime,
            "sigma_total_frac_per_sqrt_s": reading.sigma_total_frac_per_sqrt_s,
            "n_returns": reading.n_returns,
        }
