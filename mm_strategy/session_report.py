"""Write the market-making report from a finished session, backtest or live (DESIGN §7: one report for both).

The equity used to reconcile the report comes from the engine's own account and position objects, not from
the strategy's recorder, so the report's PnL split (built from our fills) is checked against an independent
source: ``reconciliation_error = net PnL − (final equity − starting equity)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Price

from mm_strategy.reporting import ReportPaths
from mm_strategy.reporting import compute_metrics
from mm_strategy.reporting import summary_table
from mm_strategy.reporting import write_report


@dataclass
class SessionReport:
    paths: ReportPaths
    metrics: dict
    summary: str


def final_equity_usdc(portfolio, cache, venue: Venue, instrument_id: InstrumentId, final_mid: float | None) -> float | None:
    """Account balance (realised PnL and fees already booked) plus the open position marked at the last mid."""
    account = portfolio.account(venue)
    if account is None:
        return None
    equity = account.balance_total(USDC).as_double()
    instrument = cache.instrument(instrument_id)
    if final_mid is None or instrument is None:
        return equity
    mark = Price(final_mid, instrument.price_precision)
    for position in cache.positions_open(instrument_id=instrument_id):
        equity += position.unrealized_pnl(mark).as_double()
    return equity


def write_session_report(
    strategy,
    portfolio,
    cache,
    venue: Venue,
    starting_equity: float,
    out_dir: Path,
    title: str,
    run_info: dict[str, str],
    engine=None,
) -> SessionReport:
    recorder = strategy.recorder
    final_mid = recorder.mid[-1] if recorder.mid else None
    equity = final_equity_usdc(portfolio, cache, venue, strategy.config.instrument_id, final_mid)
    inputs = recorder.to_report_inputs(starting_equity=starting_equity, final_equity=equity, run_info=run_info)
    paths = write_report(inputs, out_dir, title, engine=engine)
    metrics = compute_metrics(inputs)
    return SessionReport(paths=paths, metrics=metrics, summary=summary_table(metrics))
