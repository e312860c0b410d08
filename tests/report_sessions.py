"""Shared by the report tests on real data: one shipped config backtested on one bundled catalog, as report inputs.

The inputs are built the way a sweep, ``run_backtest.py`` and a live report build them (``session_inputs``: the
strategy's recorder, the engine's account, the exit terms: the instrument's taker fee and the final book's spread).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_strategy.backtest import run_backtest
from mm_strategy.node_config import load_venue_config
from mm_strategy.reporting import ReportInputs
from mm_strategy.session_report import session_inputs

REPO_ROOT = Path(__file__).resolve().parents[1]


def real_session_inputs(config_name: str, catalog_name: str) -> ReportInputs:
    """Backtest ``configs/<config_name>`` on ``data/<catalog_name>``; skips when that catalog is not built."""
    catalog = REPO_ROOT / "data" / catalog_name
    if not catalog.exists():
        pytest.skip(f"{catalog} is absent: run `make catalogs`")
    settings = load_venue_config(REPO_ROOT / "configs" / config_name)
    outcome = run_backtest(settings, catalog)
    try:
        engine = outcome.engine
        strategy = engine.trader.strategies()[0]
        return session_inputs(strategy, engine.portfolio, engine.cache, settings.backtest.starting_balance_usd, {})
    finally:
        outcome.node.dispose()
