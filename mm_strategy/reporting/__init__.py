"""The market-making report written after every backtest and every live session (DESIGN §7).

The maths is pure numpy on :class:`ReportInputs` (no engine needed); the HTML is NautilusTrader's tearsheet
plus our charts registered with ``register_chart``. Metric definitions and sign conventions live in
:mod:`.metrics` and :mod:`.markouts`.
"""

from mm_strategy.reporting.inputs import FillRecord
from mm_strategy.reporting.inputs import KillEventRecord
from mm_strategy.reporting.inputs import ReportInputs
from mm_strategy.reporting.markouts import MARKOUT_HORIZONS_S
from mm_strategy.reporting.metrics import compute_metrics
from mm_strategy.reporting.report import ReportPaths
from mm_strategy.reporting.report import write_report
from mm_strategy.reporting.summary import summary_table

__all__ = [
    "MARKOUT_HORIZONS_S",
    "FillRecord",
    "KillEventRecord",
    "ReportInputs",
    "ReportPaths",
    "compute_metrics",
    "summary_table",
    "write_report",
]
