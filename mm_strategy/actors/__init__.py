"""One NautilusTrader actor per estimator: subscribe, feed the model, publish its estimate (DESIGN §2, §3).

The shared wiring is in ``base.py``, the reduction of our own order events in ``order_events.py``; each other module
is one actor and its config. Config paths for ``ImportableActorConfig``: ``mm_strategy.actors:<Name>Actor`` and
``mm_strategy.actors:<Name>ActorConfig``.
"""

from mm_strategy.actors.adverse_selection import AdverseSelectionActor
from mm_strategy.actors.adverse_selection import AdverseSelectionActorConfig
from mm_strategy.actors.calibration import CalibrationActor
from mm_strategy.actors.calibration import CalibrationActorConfig
from mm_strategy.actors.fill_rate import FillRateActor
from mm_strategy.actors.fill_rate import FillRateActorConfig
from mm_strategy.actors.informed_flow import InformedFlowActor
from mm_strategy.actors.informed_flow import InformedFlowActorConfig
from mm_strategy.actors.kappa import KappaActor
from mm_strategy.actors.kappa import KappaActorConfig
from mm_strategy.actors.volatility import VolatilityActor
from mm_strategy.actors.volatility import VolatilityActorConfig
from mm_strategy.actors.warmup import WarmupActor
from mm_strategy.actors.warmup import WarmupActorConfig

__all__ = [
    "AdverseSelectionActor",
    "AdverseSelectionActorConfig",
    "CalibrationActor",
    "CalibrationActorConfig",
    "FillRateActor",
    "FillRateActorConfig",
    "InformedFlowActor",
    "InformedFlowActorConfig",
    "KappaActor",
    "KappaActorConfig",
    "VolatilityActor",
    "VolatilityActorConfig",
    "WarmupActor",
    "WarmupActorConfig",
]
