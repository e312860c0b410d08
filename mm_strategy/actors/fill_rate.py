"""``FillRateActor``: the resting spell of each of our orders, filled or not (``order_events.py``), against the
kappa model's published curve → ``FillRateEstimate`` (observed vs curve-expected fills per hour)."""

from __future__ import annotations

from mm_strategy.actors.base import EstimatorActor
from mm_strategy.actors.base import EstimatorActorConfig
from mm_strategy.actors.order_events import BUY
from mm_strategy.actors.order_events import RestingSpell
from mm_strategy.messages import FillRateEstimate
from mm_strategy.messages import KappaEstimate
from mm_strategy.models.fill_rate import FillRateModel
from mm_strategy.models.fill_rate import FillRateParams
from mm_strategy.models.kappa import ASK
from mm_strategy.models.kappa import BID


class FillRateActorConfig(EstimatorActorConfig, frozen=True):
    params: FillRateParams = FillRateParams()


class FillRateActor(EstimatorActor):
    model_cls = FillRateModel
    message_cls = FillRateEstimate
    renamed = {"observations": "spells"}
    uses_spells = True
    estimate_inputs = (KappaEstimate,)

    def feed_estimate(self, ts_ns: int, estimate: KappaEstimate) -> None:
        self.model.on_curve(ts_ns, estimate.a_per_s_bid, estimate.kappa_bid, estimate.a_per_s_ask, estimate.kappa_ask)

    def feed_spell(self, spell: RestingSpell) -> None:
        self.model.on_spell(spell.ts_ns, BID if spell.side == BUY else ASK, spell.exposure_frac(), spell.filled)
