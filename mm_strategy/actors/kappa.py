"""``KappaActor``: best prices of every book batch, public trades and our resting spells → ``KappaEstimate``, the
one intensity curve per side (κ and A) the strategy quotes from."""

from __future__ import annotations

from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide

from mm_strategy.actors.base import EstimatorActor
from mm_strategy.actors.base import EstimatorActorConfig
from mm_strategy.actors.order_events import BUY
from mm_strategy.actors.order_events import RestingSpell
from mm_strategy.actors.order_events import UnusableEvent
from mm_strategy.messages import KappaEstimate
from mm_strategy.models.kappa import ASK
from mm_strategy.models.kappa import BID
from mm_strategy.models.kappa import KappaModel
from mm_strategy.models.kappa import KappaParams

_BPS = 1e4


class KappaActorConfig(EstimatorActorConfig, frozen=True):
    params: KappaParams = KappaParams()


class KappaActor(EstimatorActor):
    model_cls = KappaModel
    message_cls = KappaEstimate
    renamed = {
        "a_per_s_bid": "a_bid_per_s",
        "a_per_s_ask": "a_ask_per_s",
        "book_reason": "book_reason.value",
        "bid_at_band_edge": "bid.at_band_edge",
        "ask_at_band_edge": "ask.at_band_edge",
    }
    uses_trades = True
    uses_spells = True

    def feed_book(self, ts_ns: int, book: OrderBook, mid: float) -> None:
        self.model.on_book(ts_ns, book.best_bid_price().as_double(), book.best_ask_price().as_double())

    def feed_trade(self, ts_ns: int, trade: TradeTick, mid: float | None) -> None:
        if trade.aggressor_side == AggressorSide.NO_AGGRESSOR:
            raise UnusableEvent("trade without an aggressor side: the book side it hit is unknown")
        if mid is None:
            raise UnusableEvent("trade before the first book: no mid to measure its depth from")
        # prints of one taker order share its venue time: ts_event groups them into one arrival
        self.model.on_trade(
            ts_ns, trade.price.as_double(), mid, trade.aggressor_side == AggressorSide.BUYER, trade.ts_event
        )

    def feed_spell(self, spell: RestingSpell) -> None:
        fill_depth = spell.end_depth_bps / _BPS if spell.filled else None
        self.model.on_spell(spell.ts_ns, BID if spell.side == BUY else ASK, spell.exposure_frac(), fill_depth)
