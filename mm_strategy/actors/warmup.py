"""``WarmupActor``: market-data time, our fills, and floor observations (the AS markouts measured since start,
from ``AdverseSelectionEstimate.fills_measured``) → ``WarmupState``.

The tracker's clock starts at the first book batch, so ``is_warm`` force-starts ``force_start_s`` of data later
even with no fill at all (lesson E1). Nothing is restored into it (lesson E2), whatever ``state_dir`` holds.
"""

from __future__ import annotations

from nautilus_trader.core.data import Data
from nautilus_trader.model.book import OrderBook

from mm_strategy.actors.base import EstimatorActor
from mm_strategy.actors.base import EstimatorActorConfig
from mm_strategy.actors.order_events import OwnFill
from mm_strategy.messages import AdverseSelectionEstimate
from mm_strategy.messages import WarmupState
from mm_strategy.models.warmup import WarmupParams
from mm_strategy.models.warmup import WarmupModel


class WarmupActorConfig(EstimatorActorConfig, frozen=True):
    params: WarmupParams = WarmupParams()


class WarmupActor(EstimatorActor):
    model_cls = WarmupModel
    message_cls = WarmupState
    uses_fills = True
    estimate_inputs = (AdverseSelectionEstimate,)

    def feed_book(self, ts_ns: int, book: OrderBook, mid: float) -> None:
        self.model.on_market_data(ts_ns)

    def feed_fill(self, fill: OwnFill) -> None:
        self.model.on_fill(fill.ts_ns)

    def feed_estimate(self, ts_ns: int, estimate: Data) -> None:
        self.model.on_floor_observations(ts_ns, estimate.fills_measured)
