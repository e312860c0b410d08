"""The market-making charts, registered in NautilusTrader's tearsheet chart registry (``register_chart``).

Each chart is ``chart(analysis, metrics, theme) -> go.Figure`` and draws only what :mod:`metrics` computed, so
the page and ``report.json`` never disagree. ``theme`` is a NautilusTrader tearsheet theme (``get_theme``), so
our figures match the standard NT sections on the same page. Long series are thinned to at most
``MAX_POINTS_PER_TRACE`` points per trace, keeping each bucket's extremes and gaps (a spike or a quoting gap
survives downsampling; a stride would drop it).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from nautilus_trader.analysis import register_chart
from plotly.subplots import make_subplots

from mm_strategy.reporting.metrics import Analysis
from mm_strategy.reporting.summary import fmt_number
from mm_strategy.reporting.summary import summary_rows

MAX_POINTS_PER_TRACE = 20_000
FIGURE_HEIGHT_PX = 480
ESTIMATOR_ROW_HEIGHT_PX = 170
TABLE_MARKOUT_AS_HORIZONS = ("5s", "60s")

CHART_TITLES = {
    "mm_summary": "Market-making summary",
    "mm_quotes_fills": "Mid, our best bid and ask, and our fills",
    "mm_inventory": "Inventory (base units)",
    "mm_pnl_split": "PnL split over time (quote currency)",
    "mm_markout_curve": "Markout curve by side (bps, notional-weighted)",
    "mm_markout_table": "Markouts and adverse selection by side and ladder level (bps)",
    "mm_estimators": "Estimator series",
    "mm_kill_events": "Kill-switch events",
}


def minmax_indices(values: np.ndarray, max_points: int = MAX_POINTS_PER_TRACE) -> np.ndarray:
    """Sorted indices of at most ``max_points`` samples: the ends plus, per bucket, the min, the max and the
    first nan (a gap in a step series, e.g. no quote resting)."""
    n = values.size
    if n <= max_points:
        return np.arange(n)
    buckets = (max_points - 2) // 3
    size = -(-n // buckets)
    padded = np.full(buckets * size, values[-1], dtype=np.float64)
    padded[:n] = values
    rows = padded.reshape(buckets, size)
    gaps = np.isnan(rows)
    offsets = np.arange(buckets) * size
    picks = [
        offsets + np.where(gaps, np.inf, rows).argmin(axis=1),
        offsets + np.where(gaps, -np.inf, rows).argmax(axis=1),
        (offsets + gaps.argmax(axis=1))[gaps.any(axis=1)],
    ]
    return np.unique(np.clip(np.concatenate([[0, n - 1], *picks]), 0, n - 1))


def _times(ts_ns: np.ndarray) -> np.ndarray:
    return ts_ns.astype("datetime64[ns]")


def _line(ts_ns: np.ndarray, values: np.ndarray, name: str, color: str, **style) -> go.Scatter:
    keep = minmax_indices(values)
    return go.Scatter(
        x=_times(ts_ns[keep]),
        y=values[keep],
        mode="lines",
        name=name,
        line={"color": color, "width": 1, **style.pop("line", {})},
        **style,
    )


def _layout(fig: go.Figure, name: str, theme: dict, height: int = FIGURE_HEIGHT_PX, **layout) -> go.Figure:
    fig.update_layout(
        title=CHART_TITLES[name],
        template=theme["template"],
        height=height,
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.15},
        margin={"t": 60, "b": 40, "l": 60, "r": 30},
        **layout,
    )
    return fig


def _table(header: list[str], columns: list[list], theme: dict) -> go.Table:
    colors = theme["colors"]
    rows = len(columns[0]) if columns else 0
    stripes = [colors["table_row_odd"] if i % 2 else colors["table_row_even"] for i in range(rows)]
    return go.Table(
        header={"values": [f"<b>{h}</b>" for h in header], "fill_color": colors["primary"], "font": {"color": "white"}},
        cells={"values": columns, "fill_color": [stripes], "align": "left", "font": {"color": colors["table_text"]}},
    )


def summary_chart(analysis: Analysis, metrics: dict, theme: dict) -> go.Figure:
    """Run information (mode, data range, config, wall time ...) and the key figures of :func:`summary_rows`."""
    rows = [("instrument", analysis.inputs.instrument_id), *analysis.inputs.run_info.items(), *summary_rows(metrics)]
    table = _table(["Item", "Value"], [[label for label, _ in rows], [value for _, value in rows]], theme)
    return _layout(go.Figure(table), "mm_summary", theme, height=60 + 24 * len(rows))


def quotes_and_fills_chart(analysis: Analysis, metrics: dict, theme: dict) -> go.Figure:
    inputs, fills, colors = analysis.inputs, analysis.fills, theme["colors"]
    fig = go.Figure()
    fig.add_trace(_line(inputs.mid_ts_ns, inputs.mid, "mid", colors["neutral"]))
    # The last quote state holds until the session end: extend the steps to it.
    quote_ts_ns = np.append(inputs.quote_ts_ns, analysis.end_ns)
    for name, prices, color in (
        ("our bid", inputs.quote_bid, colors["positive"]),
        ("our ask", inputs.quote_ask, colors["negative"]),
    ):
        last = prices[-1] if prices.size else np.nan
        fig.add_trace(_line(quote_ts_ns, np.append(prices, last), name, color, line_shape="hv"))
    for name, mask, symbol, color in (
        ("buys", fills.sign > 0, "triangle-up", colors["positive"]),
        ("sells", fills.sign < 0, "triangle-down", colors["negative"]),
    ):
        keep = np.flatnonzero(mask)[minmax_indices(fills.price[mask])]
        fig.add_trace(
            go.Scatter(
                x=_times(fills.ts_ns[keep]),
                y=fills.price[keep],
                mode="markers",
                name=name,
                marker={"symbol": symbol, "size": 9, "color": color, "line": {"width": 1, "color": "black"}},
                customdata=np.column_stack([fills.qty[keep], fills.level[keep], fills.fee[keep]]),
                hovertemplate="%{y} qty %{customdata[0]} level %{customdata[1]} fee %{customdata[2]}",
            ),
        )
    return _layout(fig, "mm_quotes_fills", theme, height=560, yaxis_title="price")


def inventory_chart(analysis: Analysis, metrics: dict, theme: dict) -> go.Figure:
    line = analysis.timeline
    fig = go.Figure(_line(line.ts_ns, line.position, "position", theme["colors"]["primary"], line_shape="hv"))
    return _layout(fig, "mm_inventory", theme, yaxis_title="position (base)")


def pnl_split_chart(analysis: Analysis, metrics: dict, theme: dict) -> go.Figure:
    """Cumulative spread capture, inventory, −fees and funding; they sum to the net line at every time."""
    line, colors = analysis.timeline, theme["colors"]
    fig = go.Figure()
    for name, values, color in (
        ("spread capture", line.spread_capture, colors["positive"]),
        ("inventory", line.inventory, colors["negative"]),
        ("-fees", -line.fees, colors["neutral"]),
        ("funding", line.funding, "#9467bd"),
        ("net", line.net, colors["primary"]),
    ):
        fig.add_trace(_line(line.ts_ns, values, name, color, line={"width": 2 if name == "net" else 1}))
    return _layout(fig, "mm_pnl_split", theme, yaxis_title="quote currency")


def markout_curve_chart(analysis: Analysis, metrics: dict, theme: dict) -> go.Figure:
    """Notional-weighted markout vs horizon, starting from the edge at h = 0; dashed: from the placement mid."""
    colors = theme["colors"]
    markouts = metrics["markouts"]
    labels = ["0 (edge)", *(f"{h:g}" for h in markouts["horizons_s"])]
    fig = go.Figure()
    for group, color in (("all", colors["primary"]), ("BUY", colors["positive"]), ("SELL", colors["negative"])):
        stats = markouts["by_group"][group]
        curve = [stats["edge_bps"], *(h["markout_bps"] for h in stats["horizons"].values())]
        placement = [None, *(h["placement_markout_bps"] for h in stats["horizons"].values())]
        for anchor, values, dash in (("fill", curve, "solid"), ("placement mid", placement, "dash")):
            fig.add_trace(
                go.Scatter(
                    x=labels,
                    y=values,
                    mode="lines+markers",
                    name=f"{group} from {anchor}",
                    line={"color": color, "dash": dash},
                ),
            )
    fig.add_hline(y=0, line={"color": colors["neutral"], "width": 1})
    return _layout(fig, "mm_markout_curve", theme, xaxis_title="horizon (s)", yaxis_title="bps (+ = good for us)")


def markout_table_chart(analysis: Analysis, metrics: dict, theme: dict) -> go.Figure:
    markouts = metrics["markouts"]
    keys = list(next(iter(markouts["by_group"].values()))["horizons"])
    header = ["group", "fills", "fills/h", "edge", *(f"MO {k} ± se (fills; clusters)" for k in keys)]
    header += [f"AS {k}" for k in TABLE_MARKOUT_AS_HORIZONS]
    rows = []
    for group, stats in markouts["by_group"].items():
        horizons = stats["horizons"]
        rows.append(
            [
                group,
                stats["fills"],
                fmt_number(stats["fills_per_hour"], ".1f"),
                fmt_number(stats["edge_bps"], "+.2f"),
                *(
                    f"{fmt_number(horizons[k]['markout_bps'], '+.2f')} ± {fmt_number(horizons[k]['markout_se_bps'], '.2f')}"
                    f" ({horizons[k]['fills']}; {horizons[k]['markout_se_clusters']} cl)"
                    for k in keys
                ),
                *(fmt_number(horizons[k]["adverse_selection_bps"], "+.2f") for k in TABLE_MARKOUT_AS_HORIZONS),
            ],
        )
    fig = go.Figure(_table(header, [list(col) for col in zip(*rows)], theme))
    return _layout(fig, "mm_markout_table", theme, height=90 + 26 * len(rows))


def estimators_chart(analysis: Analysis, metrics: dict, theme: dict) -> go.Figure:
    series = analysis.inputs.estimator_series
    if not series:
        fig = go.Figure()
        fig.add_annotation(text="no estimator series recorded", showarrow=False)
        return _layout(fig, "mm_estimators", theme, height=200)
    fig = make_subplots(rows=len(series), cols=1, shared_xaxes=True, subplot_titles=list(series))
    for row, (name, (ts_ns, values)) in enumerate(series.items(), start=1):
        fig.add_trace(_line(ts_ns, values, name, theme["colors"]["primary"]), row=row, col=1)
    height = 100 + ESTIMATOR_ROW_HEIGHT_PX * len(series)
    return _layout(fig, "mm_estimators", theme, height=height, showlegend=False)


def kill_events_chart(analysis: Analysis, metrics: dict, theme: dict) -> go.Figure:
    events = metrics["kill_events"] or [
        {"time_utc": "-", "trigger": "no kill-switch events", "from_state": "", "to_state": "", "detail": ""},
    ]
    fields = ("time_utc", "trigger", "from_state", "to_state", "detail")
    columns = [[e[f] for e in events] for f in fields]
    fig = go.Figure(_table(["time (UTC)", "trigger", "from", "to", "detail"], columns, theme))
    return _layout(fig, "mm_kill_events", theme, height=110 + 26 * len(events))


MM_CHARTS = {
    "mm_summary": summary_chart,
    "mm_quotes_fills": quotes_and_fills_chart,
    "mm_inventory": inventory_chart,
    "mm_pnl_split": pnl_split_chart,
    "mm_markout_curve": markout_curve_chart,
    "mm_markout_table": markout_table_chart,
    "mm_estimators": estimators_chart,
    "mm_kill_events": kill_events_chart,
}

for _name, _chart in MM_CHARTS.items():
    register_chart(_name, _chart)
