"""``FillRateActor``: the resting spell of each of our orders, filled or not (``order_events.py``) →
``FillRateEstimate`` (λ₀, δ_char, our observed fill rate)."""

from __future__ import annotations

from mm_strategy.actors.base import EstimatorActor
from mm_strategy.actors.base import EstimatorActorConfig
from mm_strategy.actors.order_events import RestingSpell
from mm_strategy.messages import FillRateEstimate
from mm_strategy.models import fill_rate
from mm_strategy.models.fill_rate import FillRateModel
from mm_strategy.models.fill_rate import FillRateParams


class FillRateActorConfig(EstimatorActorConfig, frozen=True):
    params: FillRateParams = FillRateParams()


class FillRateActor(EstimatorActor):
    model_cls = FillRateModel
    message_cls = FillRateEstimate
    uses_spells = True

    def feed_spell(self, spell: RestingSpell) -> None:
        self.model.on_order_outcome(spell.ts_ns, spell.depth_bps, spell.rested_s, spell.filled)

    def to_message(self, estimate: fill_rate.FillRateEstimate, ts_event: int, ts_init: int) -> FillRateEstimate:
        return FillRateEstimate(
            instrument_id=self._instrument_id,
            lambda0_per_s=estimate.lambda0_per_s,
            delta_char_bps=estimate.delta_char_bps,
            observed_fills_per_hour=estimate.observed_fills_per_hour,
            observations=estimate.observations,
            effective_fills=estimate.effective_fills,
            is_warm=estimate.is_warm,
            ts_event=ts_event,
            ts_init=ts_init,
        )
