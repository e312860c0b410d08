"""Report metrics as flat results-table columns, the short names a spec ranks by, and the per-minute PnL Sharpe.

Every run stores every metric of the session report (``mm_strategy.reporting``), flattened to dotted columns
(``pnl.net``, ``markouts.by_group.all.horizons.5s.markout_bps``, ``quoting.two_sided_frac``), so a sweep can be
re-ranked by any of them later without re-running. The aliases are the quantities a quant usually ranks by.
"""

from __future__ import annotations

import math

import numpy as np

from mm_strategy.reporting.metrics import Analysis
from mm_strategy.reporting.metrics import metrics_from_analysis
from mm_strategy.reporting.timeline import NS_PER_S
from mm_strategy.reporting.timeline import asof_index

SHARPE_COLUMN = "pnl_per_min_sharpe"
KILL_EVENTS_COLUMN = "kill_events.count"
MINUTE_NS = 60 * NS_PER_S

METRIC_ALIASES = {
    "net_pnl": "pnl.net",
    "net_after_exit": "pnl.net_after_exit",  # net less flattening the final position (taker fee + half spread)
    "spread_capture": "pnl.spread_capture",
    "markout_5s_bps": "markouts.by_group.all.horizons.5s.markout_bps",
    # its error, fills with overlapping 5 s windows one cluster; NaN below 5 clusters
    "markout_5s_se_bps": "markouts.by_group.all.horizons.5s.markout_se_bps",
    "fills_per_hour": "fills.fills_per_hour",
    "fill_events": "fills.fill_events",  # independent fill events: a same-side burst (fills ≤ 20 ms apart) is one
    "sharpe_per_min": SHARPE_COLUMN,
    "two_sided_frac": "quoting.two_sided_frac",
    "max_drawdown": "drawdown.max_abs",
    "kill_events": KILL_EVENTS_COLUMN,
}
# Top-level sections of the report's metrics: any dotted path under one of these is a results column.
METRIC_SECTIONS = (
    "session", "pnl", "fills", "markouts", "quoting", "requests", "position", "drawdown", "kill_events", "estimators"
)


def resolve_metric(name: str, field: str) -> str:
    """The results column of an alias or a report path; ``field`` names where the spec used it, for the error."""
    if name in METRIC_ALIASES:
        return METRIC_ALIASES[name]
    if name == SHARPE_COLUMN or (name.split(".", 1)[0] in METRIC_SECTIONS and "." in name):
        return name
    raise ValueError(
        f"{field}: unknown metric {name!r}; use one of {', '.join(METRIC_ALIASES)} "
        f"or a report path under {', '.join(METRIC_SECTIONS)} (e.g. pnl.net)"
    )


def run_metrics(analysis: Analysis) -> dict[str, float | str]:
    """All report metrics of one run as flat columns, plus the per-minute PnL Sharpe."""
    flat = flatten_metrics(metrics_from_analysis(analysis))
    sharpe = pnl_per_minute_sharpe(analysis)
    flat[SHARPE_COLUMN] = math.nan if sharpe is None else sharpe
    return flat


def flatten_metrics(metrics: dict, prefix: str = "") -> dict[str, float | str]:
    """Nested report metrics → ``{"a.b.c": value}``; numbers become floats and unmeasurable values NaN (one column
    type across runs), the kill-event list becomes its count, other lists (the markout horizons, which are also
    keys) are left out."""
    flat: dict[str, float | str] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_metrics(value, f"{name}."))
        elif name == "kill_events":
            flat[KILL_EVENTS_COLUMN] = float(len(value))
        elif isinstance(value, bool | int | float):
            flat[name] = float(value)
        elif value is None:
            flat[name] = math.nan  # unmeasurable (e.g. a markout without fills): a float column all the same
        elif isinstance(value, str):
            flat[name] = value
    return flat


def pnl_per_minute_sharpe(analysis: Analysis) -> float | None:
    """mean / standard deviation of the net PnL earned in each whole minute of the session (not annualised).

    None with fewer than two whole minutes or no variation (a run without fills): a Sharpe of nothing ranks
    below every measured one rather than pretending to be 0.
    """
    line = analysis.timeline
    edges_ns = np.arange(analysis.start_ns, analysis.end_ns + 1, MINUTE_NS, dtype=np.int64)
    if edges_ns.size < 3:
        return None
    net_at_edges = line.net[np.maximum(asof_index(line.ts_ns, edges_ns), 0)]
    per_minute = np.diff(net_at_edges)
    std = float(per_minute.std(ddof=1))
    return float(per_minute.mean()) / std if std > 0 else None
