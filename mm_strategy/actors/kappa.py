"""``KappaActor``: book levels every batch, public trades and our fills (placement mid) → ``KappaEstimate``."""

from __future__ import annotations

from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide

from mm_strategy.actors.base import EstimatorActor
from mm_strategy.actors.base import EstimatorActorConfig
from mm_strategy.actors.order_events import OwnFill
from mm_strategy.actors.order_events import UnusableEvent
from mm_strategy.messages import KappaEstimate
from mm_strategy.models import kappa
from mm_strategy.models.kappa import KappaEstimator
from mm_strategy.models.kappa import KappaParams


class KappaActorConfig(EstimatorActorConfig, frozen=True):
    params: KappaParams = KappaParams()


def book_levels(levels: list, max_levels: int) -> list[tuple[float, float]]:
    """(price, size) floats of the first ``max_levels`` ``BookLevel``s, best first, as the model takes them."""
    return [(level.price.as_double(), level.size()) for level in levels[:max_levels]]


class KappaActor(EstimatorActor):
    model_cls = KappaEstimator
    message_cls = KappaEstimate
    uses_trades = True
    uses_fills = True

    def feed_book(self, ts_ns: int, book: OrderBook, mid: float) -> None:
        n = self.config.params.book_levels
        self.model.on_book(ts_ns, book_levels(book.bids(), n), book_levels(book.asks(), n), mid)

    def feed_trade(self, ts_ns: int, trade: TradeTick, mid: float | None) -> None:
        if trade.aggressor_side == AggressorSide.NO_AGGRESSOR:
            raise UnusableEvent("trade without an aggressor side: the book side it hit is unknown")
        if mid is None:
            raise UnusableEvent("trade before the first book: no mid to measure its depth from")
        self.model.on_trade(ts_ns, trade.price.as_double(), mid, trade.aggressor_side == AggressorSide.BUYER)

    def feed_fill(self, fill: OwnFill) -> None:
        self.model.on_own_fill(fill.ts_ns, fill.px, fill.require_placement_mid())

    def to_message(self, estimate: kappa.KappaEstimate, ts_event: int, ts_init: int) -> KappaEstimate:
        return KappaEstimate(
            instrument_id=self._instrument_id,
            kappa_bid=estimate.kappa_bid,
            kappa_ask=estimate.kappa_ask,
            kappa_book=estimate.kappa_book,
            kappa_own=estimate.kappa_own,
            book_reliable=estimate.book_reliable,
            book_reason=estimate.book_reason.value,
            own_fill_count=estimate.own_fill_count,
            blend_weight=estimate.blend_weight,
            own_confidence=estimate.own_confidence,
            fills_since_start=estimate.fills_since_start,
            ts_event=ts_event,
            ts_init=ts_init,
        )
