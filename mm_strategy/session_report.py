"""Write the market-making report from a finished session, backtest or live (DESIGN §7: one report for both).

The equity used to reconcile the report comes from the engine's own account and position objects, not from
the strategy's recorder, so the report's PnL split (built from our fills) is checked against an independent
source: ``reconciliation_error = net PnL − (final equity − starting equity)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path

from mm_strategy.equity import equity_usd
from mm_strategy.reporting import ReportInputs
from mm_strategy.reporting import ReportPaths
from mm_strategy.reporting import summary_table
from mm_strategy.reporting import write_report
from mm_strategy.reporting.exit_cost import exit_terms


@dataclass
class SessionReport:
    paths: ReportPaths
    metrics: dict
    summary: str


def session_inputs(strategy, portfolio, cache, starting_equity: float, run_info: dict[str, str]) -> ReportInputs:
    """The report's inputs from a finished session; sweeps compute the metrics from these without a page."""
    recorder = strategy.recorder
    final_mid = recorder.mid[-1] if recorder.mid else None
    equity = equity_usd(portfolio, cache, strategy.config.instrument_id, final_mid)
    on_prior = strategy.estimates_on_prior()
    sources = strategy.intensity_sources()
    run_info = {
        **run_info,
        "quote_cycles_on_prior": ", ".join(f"{k} {v}" for k, v in sorted(on_prior.items())) or "none",
        # which data the κ/A curve came from, as a share of its estimates (fit R² is plotted with the estimators)
        "intensity_curve_source": ", ".join(f"{k} {100 * v:.0f}%" for k, v in sources.items()) or "none received",
    }
    inputs = recorder.to_report_inputs(starting_equity=starting_equity, final_equity=equity, run_info=run_info)
    return replace(inputs, **requests_of(strategy), **exit_terms(cache, strategy.config.instrument_id))


def requests_of(strategy) -> dict[str, int]:
    """The strategy's request counters as ``ReportInputs`` fields: each new order, cancel and modify is one request."""
    return {
        "orders_sent": strategy.orders_sent,
        "cancels_sent": strategy.cancels_sent,
        "modifies_sent": strategy.modifies_sent,
    }


def write_session_report(
    strategy,
    portfolio,
    cache,
    starting_equity: float,
    out_dir: Path,
    title: str,
    run_info: dict[str, str],
    engine=None,
) -> SessionReport:
    inputs = session_inputs(strategy, portfolio, cache, starting_equity, run_info)
    paths = write_report(inputs, out_dir, title, engine=engine)
    return SessionReport(paths=paths, metrics=paths.metrics, summary=summary_table(paths.metrics))
