"""``CalibrationActor``: our fills and resting spells, plus the κ and AS estimates as progress inputs →
``CalibrationState``.

The spells give the seconds we quoted, per side, which the expected fill count accrues over (model docstring): a
feed gap, the time before the first quote and pulled quotes are no quoting time.

Progress uses ``KappaEstimate.fills_since_start`` and ``AdverseSelectionEstimate.fills_measured``: both count only
this process's real fills, so a restored κ or AS model cannot mark calibration done (lesson E2). Until the first of each
estimate arrives its input is 0 (nothing calibrated).
"""

from __future__ import annotations

from nautilus_trader.core.data import Data

from mm_strategy.actors.base import EstimatorActor
from mm_strategy.actors.base import EstimatorActorConfig
from mm_strategy.actors.order_events import BUY
from mm_strategy.actors.order_events import OwnFill
from mm_strategy.actors.order_events import RestingSpell
from mm_strategy.messages import AdverseSelectionEstimate
from mm_strategy.messages import CalibrationState
from mm_strategy.messages import KappaEstimate
from mm_strategy.models.calibration import CalibrationModel
from mm_strategy.models.calibration import CalibrationParams
from mm_strategy.models.kappa import ASK
from mm_strategy.models.kappa import BID


class CalibrationActorConfig(EstimatorActorConfig, frozen=True):
    params: CalibrationParams = CalibrationParams()


class CalibrationActor(EstimatorActor):
    model_cls = CalibrationModel
    message_cls = CalibrationState
    uses_fills = True
    uses_spells = True
    estimate_inputs = (KappaEstimate, AdverseSelectionEstimate)

    def __init__(self, config: CalibrationActorConfig) -> None:
        super().__init__(config)
        self._as_fills_measured = 0
        self._kappa_fills = 0

    def on_reset(self) -> None:
        super().on_reset()
        self._as_fills_measured = 0
        self._kappa_fills = 0

    def feed_fill(self, fill: OwnFill) -> None:
        self.model.on_fill(fill.ts_ns)

    def feed_spell(self, spell: RestingSpell) -> None:
        self.model.on_spell(spell.ts_ns, BID if spell.side == BUY else ASK, spell.rested_s)

    def feed_estimate(self, ts_ns: int, estimate: Data) -> None:
        if isinstance(estimate, KappaEstimate):
            self._kappa_fills = estimate.fills_since_start
        else:
            self._as_fills_measured = estimate.fills_measured
        self.model.on_progress_inputs(ts_ns, self._as_fills_measured, self._kappa_fills)
