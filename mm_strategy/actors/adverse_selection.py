"""``AdverseSelectionActor``: book mids and our fills → ``AdverseSelectionEstimate``.

The model measures each fill's adverse move from its fill price (models/adverse_selection.py says why not from a
mid); this actor feeds it every book mid, which resolves the markouts. The fill's placement mid goes along for the
report's placement markout only: the tags' (``OwnFill.placement_mid``), or for an order the strategy amended the
book mid in force at its last amendment (``OwnFill.amended_ns``), which this actor keeps its own ``MidHistory`` for
(an amendment is a new placement at a new price; tags cannot change). Fills of untagged orders are still measured.
A fill delivered late (live, recovered by a resync up to a minute after it happened) is skipped: the mids at its
horizons went by before it arrived, and measured from the mids after its arrival the move would be a minute's drift,
not the fill's adverse selection.
"""

from __future__ import annotations

from nautilus_trader.model.book import OrderBook

from mm_strategy.actors.base import EstimatorActor
from mm_strategy.actors.base import EstimatorActorConfig
from mm_strategy.actors.order_events import MidHistory
from mm_strategy.actors.order_events import OwnFill
from mm_strategy.actors.order_events import UnusableEvent
from mm_strategy.messages import AdverseSelectionEstimate
from mm_strategy.models.adverse_selection import AdverseSelectionModel
from mm_strategy.models.adverse_selection import AdverseSelectionParams


class AdverseSelectionActorConfig(EstimatorActorConfig, frozen=True):
    params: AdverseSelectionParams = AdverseSelectionParams()


class AdverseSelectionActor(EstimatorActor):
    model_cls = AdverseSelectionModel
    message_cls = AdverseSelectionEstimate
    uses_fills = True

    def __init__(self, config: AdverseSelectionActorConfig) -> None:
        super().__init__(config)
        self._placement_mids = MidHistory()  # the mid at each amendment (module docstring)

    def on_reset(self) -> None:
        super().on_reset()
        self._placement_mids = MidHistory()

    def feed_book(self, ts_ns: int, book: OrderBook, mid: float) -> None:
        self.model.on_mid(ts_ns, mid)
        self._placement_mids.add(ts_ns, mid)

    def feed_fill(self, fill: OwnFill) -> None:
        if fill.delivered_late:
            raise UnusableEvent("fill delivered late (a resync recovered it): its horizons' mids went by")
        placement_mid = fill.placement_mid
        if fill.amended_ns is not None and placement_mid is not None:
            placement_mid = self._placement_mids.mid_at(fill.amended_ns)
        self.model.on_fill(fill.ts_ns, fill.side, fill.px, fill.qty, placement_mid)
