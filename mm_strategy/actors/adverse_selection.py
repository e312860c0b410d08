"""``AdverseSelectionActor``: book mids and our fills (placement mid) → ``AdverseSelectionEstimate``."""

from __future__ import annotations

from nautilus_trader.model.book import OrderBook

from mm_strategy.actors.base import EstimatorActor
from mm_strategy.actors.base import EstimatorActorConfig
from mm_strategy.actors.order_events import OwnFill
from mm_strategy.messages import AdverseSelectionEstimate
from mm_strategy.models import adverse_selection
from mm_strategy.models.adverse_selection import AdverseSelectionModel
from mm_strategy.models.adverse_selection import AdverseSelectionParams


class AdverseSelectionActorConfig(EstimatorActorConfig, frozen=True):
    params: AdverseSelectionParams = AdverseSelectionParams()


class AdverseSelectionActor(EstimatorActor):
    model_cls = AdverseSelectionModel
    message_cls = AdverseSelectionEstimate
    uses_fills = True

    def feed_book(self, ts_ns: int, book: OrderBook, mid: float) -> None:
        self.model.on_mid(ts_ns, mid)

    def feed_fill(self, fill: OwnFill) -> None:
        self.model.on_fill(fill.ts_ns, fill.side, fill.px, fill.qty, fill.require_placement_mid())

    def to_message(
        self, estimate: adverse_selection.AdverseSelectionEstimate, ts_event: int, ts_init: int
    ) -> AdverseSelectionEstimate:
        return AdverseSelectionEstimate(
            instrument_id=self._instrument_id,
            as_bps_bid=estimate.as_bps_bid,
            as_bps_ask=estimate.as_bps_ask,
            as_bps_total=estimate.as_bps_total,
            fills_measured=estimate.fills_measured,
            spread_addon_bps_bid=estimate.spread_addon_bps_bid,
            spread_addon_bps_ask=estimate.spread_addon_bps_ask,
            confidence=estimate.confidence,
            ts_event=ts_event,
            ts_init=ts_init,
        )
