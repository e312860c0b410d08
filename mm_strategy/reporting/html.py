"""Assemble the report page on NautilusTrader's tearsheet: the standard NT section first, our charts below.

- With a ``BacktestEngine`` (or ``BacktestResult``): ``create_tearsheet(engine, ...)`` renders NT's own run
  information, performance statistics, equity and drawdown from the engine's account, an independent view to
  compare with our PnL split.
- Without one (live sessions, tests): ``create_tearsheet_from_stats`` renders NT's equity and drawdown charts from
  our mark-to-market equity curve (handed over as the returns series NT expects).

Both return NT's page as a complete HTML document with plotly.js inlined (``fig.to_html()`` defaults to
``include_plotlyjs=True``), so the page opens offline. Our figures come from the chart registry
(``get_chart``) and go in as ``<div>``s that reuse that one inlined plotly.js. Why separate figures rather than
``TearsheetCustomChart`` cells in NT's grid: in 1.231 ``register_chart`` only fills the standalone registry
(the grid renders the private ``_TEARSHEET_CHART_SPECS``), and the grid hides every legend, which our
bid/ask/buys/sells charts need.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from nautilus_trader.analysis import TearsheetConfig
from nautilus_trader.analysis import TearsheetDrawdownChart
from nautilus_trader.analysis import TearsheetEquityChart
from nautilus_trader.analysis import TearsheetRunInfoChart
from nautilus_trader.analysis import TearsheetStatsTableChart
from nautilus_trader.analysis import create_tearsheet
from nautilus_trader.analysis import create_tearsheet_from_stats
from nautilus_trader.analysis import get_chart
from nautilus_trader.analysis import get_theme

from mm_strategy.reporting.charts import MM_CHARTS
from mm_strategy.reporting.charts import minmax_indices
from mm_strategy.reporting.metrics import Analysis

THEME = "plotly_white"
ENGINE_SECTION_HEIGHT_PX = 1100
EQUITY_SECTION_HEIGHT_PX = 450
OUR_EQUITY_TITLE = "Equity (mark-to-market, relative to starting equity)"


def report_html(analysis: Analysis, metrics: dict, title: str, engine=None) -> str:
    page = nt_section_html(analysis, title, engine)
    theme = get_theme(THEME)
    divs = "\n".join(
        get_chart(name)(analysis, metrics, theme).to_html(full_html=False, include_plotlyjs=False)
        for name in MM_CHARTS
    )
    before_head, head_tag, after_head = _split_at(page, "<head>", last=False)
    page = f"{before_head}{head_tag}<title>{html.escape(title)}</title>{after_head}"
    before_end, end_tag, after_end = _split_at(page, "</body>", last=True)
    return f"{before_end}{divs}\n{end_tag}{after_end}"


def nt_section_html(analysis: Analysis, title: str, engine=None) -> str:
    if engine is not None:
        config = TearsheetConfig(
            charts=[
                TearsheetRunInfoChart(),
                TearsheetStatsTableChart(),
                TearsheetEquityChart(),
                TearsheetDrawdownChart(),
            ],
            theme=THEME,
            height=ENGINE_SECTION_HEIGHT_PX,
        )
        return create_tearsheet(engine, output_path=None, title=title, config=config)
    config = TearsheetConfig(
        charts=[TearsheetEquityChart(title=OUR_EQUITY_TITLE), TearsheetDrawdownChart()],
        theme=THEME,
        height=EQUITY_SECTION_HEIGHT_PX,
    )
    return create_tearsheet_from_stats(
        stats_pnls={},
        stats_returns={},
        stats_general={},
        returns=equity_returns(analysis),
        output_path=None,
        title=title,
        config=config,
    )


def equity_returns(analysis: Analysis) -> pd.Series:
    """Period returns of our equity curve, E_k / E_{k−1} − 1 with E_{−1} = starting equity, on a thinned grid.

    NT's equity chart rebuilds the curve as Π(1 + r) = E_k / starting equity and its drawdown chart measures
    from the running peak, so these reproduce our curve exactly at the kept points.
    """
    line = analysis.timeline
    keep = minmax_indices(line.equity)
    equity = line.equity[keep]
    previous = np.concatenate(([analysis.inputs.starting_equity], equity[:-1]))
    return pd.Series(equity / previous - 1.0, index=pd.to_datetime(line.ts_ns[keep], unit="ns", utc=True))


def _split_at(page: str, marker: str, last: bool) -> tuple[str, str, str]:
    """Split NT's HTML document at its ``<head>`` (first) or ``</body>`` (last) tag; the inlined plotly.js sits
    between them, so the first and last occurrences are the document's own. Fails loudly if the shape changed."""
    parts = page.rpartition(marker) if last else page.partition(marker)
    if not parts[1]:
        raise ValueError(f"unexpected tearsheet HTML: no {marker!r}")
    return parts
