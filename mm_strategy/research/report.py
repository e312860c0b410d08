"""The sweep's HTML page, in the house style of the backtest report (NautilusTrader's tearsheet theme, plotly).

One self-contained file: plotly.js is inlined once, at the first figure, so the page opens offline. Sections:
summary, leaderboard, the score against each parameter (every run, feasible runs coloured), a heatmap of the mean
score over every pair of parameters, in-sample against out-of-sample score per walk-forward window, failed runs.
"""

from __future__ import annotations

import html
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from nautilus_trader.analysis import get_theme
from plotly.subplots import make_subplots

from mm_strategy.reporting.charts import _table
from mm_strategy.reporting.html import THEME
from mm_strategy.research.runner import PARAM_PREFIX
from mm_strategy.research.scoring import BOARD_METRICS

LEADERBOARD_ROWS = 25
FAILURE_ROWS = 20
MAX_HEATMAP_PAIRS = 6
MAX_AXIS_VALUES = 8  # a sampled parameter has a value per run: bin it for the heatmap
TABLE_ROW_PX = 24
FIGURE_HEIGHT_PX = 420


def write_sweep_report(
    path: Path,
    title: str,
    run_info: list[tuple[str, str]],
    scored: pd.DataFrame,
    board: pd.DataFrame,
    walk: pd.DataFrame | None,
) -> Path:
    theme = get_theme(THEME)
    params = [c for c in scored.columns if c.startswith(PARAM_PREFIX)]
    figures = [summary_figure(run_info, theme), leaderboard_figure(board, params, theme)]
    ok = scored[scored["ok"]] if not scored.empty else scored
    if params and not ok.empty:
        figures.append(parameter_figure(ok, params, theme))
        figures += [heatmap_figure(ok, x, y, theme) for x, y in itertools.islice(itertools.combinations(params, 2), MAX_HEATMAP_PAIRS)]
    if walk is not None and not walk.empty:
        figures += [walk_forward_figure(walk, theme), walk_forward_table_figure(walk, theme)]
    failures = scored[~scored["ok"]] if not scored.empty else scored
    if not failures.empty:
        figures.append(failures_figure(failures, theme))
    divs = [fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figures)]
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title></head>\n<body style=\"font-family: sans-serif\">"
        f"<h2>{html.escape(title)}</h2>\n" + "\n".join(divs) + "\n</body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def summary_figure(run_info: list[tuple[str, str]], theme: dict) -> go.Figure:
    table = _table(["Item", "Value"], [[k for k, _ in run_info], [v for _, v in run_info]], theme)
    return _layout(go.Figure(table), "Sweep summary", theme, height=80 + TABLE_ROW_PX * len(run_info))


def leaderboard_figure(board: pd.DataFrame, params: list[str], theme: dict) -> go.Figure:
    top = board.head(LEADERBOARD_ROWS)
    header = ["rank", "feasible", "objective", "tied", "score mean", "score SE", "score min",
              *(p.removeprefix(PARAM_PREFIX) for p in params)]
    header += [*BOARD_METRICS, "runs", "failed"]
    columns = [
        top["rank"].tolist(),
        ["yes" if f else "no" for f in top["feasible"]],
        [_fmt(v) for v in top["objective"]],
        [f"tie of {n}" if n > 1 else "" for n in top["tied"]],
        [_fmt(v) for v in top["score_mean"]],
        [_fmt(v) for v in top["score_se"]],
        [_fmt(v) for v in top["score_min"]],
        *([_fmt(v) for v in top[p]] if p in top else [] for p in params),
        *([_fmt(v) for v in top[m]] for m in BOARD_METRICS),
        top["runs"].tolist(),
        top["failed"].tolist(),
    ]
    title = (f"Leaderboard: objective = mean score − k × its standard error over all runs "
             f"(top {len(top)} of {len(board)} candidates)")
    return _layout(go.Figure(_table(header, columns, theme)), title, theme, height=100 + TABLE_ROW_PX * len(top))


def parameter_figure(ok: pd.DataFrame, params: list[str], theme: dict) -> go.Figure:
    cols = 2 if len(params) > 1 else 1
    rows = math.ceil(len(params) / cols)
    names = [p.removeprefix(PARAM_PREFIX) for p in params]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names)
    colors = theme["colors"]
    for i, param in enumerate(params):
        row, col = i // cols + 1, i % cols + 1
        for feasible, color, label in ((True, colors["positive"], "feasible run"), (False, colors["neutral"], "infeasible run")):
            runs = ok[ok["feasible"] == feasible]
            fig.add_trace(
                go.Scatter(
                    x=runs[param],
                    y=runs["score"],
                    mode="markers",
                    name=label,
                    legendgroup=label,
                    showlegend=i == 0,
                    marker={"color": color, "size": 7, "opacity": 0.7},
                    text=runs["dataset"] + " w" + runs["window"].astype(str),
                    hovertemplate="%{x}: score %{y:.4g} (%{text})<extra></extra>",
                ),
                row=row,
                col=col,
            )
        means = ok.groupby(param)["score"].mean()
        fig.add_trace(
            go.Scatter(x=means.index, y=means.values, mode="lines+markers", name="mean score", legendgroup="mean",
                       showlegend=i == 0, line={"color": colors["primary"]}),
            row=row,
            col=col,
        )
    return _layout(fig, "Score against each parameter (every successful run)", theme, height=FIGURE_HEIGHT_PX * rows)


def heatmap_figure(ok: pd.DataFrame, x: str, y: str, theme: dict) -> go.Figure:
    frame = pd.DataFrame({"x": _axis(ok[x]), "y": _axis(ok[y]), "score": ok["score"]})
    grid = frame.pivot_table(index="y", columns="x", values="score", aggfunc="mean", observed=True)
    fig = go.Figure(
        go.Heatmap(
            z=grid.values,
            x=[str(v) for v in grid.columns],
            y=[str(v) for v in grid.index],
            colorscale="RdYlGn",
            colorbar={"title": "mean score"},
            hovertemplate="%{x}, %{y}: %{z:.4g}<extra></extra>",
        )
    )
    xn, yn = x.removeprefix(PARAM_PREFIX), y.removeprefix(PARAM_PREFIX)
    return _layout(fig, f"Mean score over {xn} × {yn}", theme, xaxis_title=xn, yaxis_title=yn, xaxis_type="category", yaxis_type="category")


def walk_forward_figure(walk: pd.DataFrame, theme: dict) -> go.Figure:
    labels = walk["dataset"] + ": w" + walk["in_sample_window"].astype(str) + "→w" + walk["out_of_sample_window"].astype(str)
    colors = theme["colors"]
    fig = go.Figure(
        [
            go.Bar(x=labels, y=walk["in_sample_score"], name="in-sample score (chosen on k)", marker_color=colors["primary"]),
            go.Bar(x=labels, y=walk["out_of_sample_score"], name="out-of-sample score (same choice on k+1)", marker_color=colors["positive"]),
            go.Scatter(x=labels, y=walk["oos_best_score"], mode="markers", name="best on k+1 in hindsight",
                       marker={"symbol": "diamond", "size": 10, "color": colors["negative"]}),
        ]
    )
    return _layout(fig, "Walk-forward: in-sample vs out-of-sample score per window", theme, barmode="group", yaxis_title="score")


def walk_forward_table_figure(walk: pd.DataFrame, theme: dict) -> go.Figure:
    header = ["dataset", "in-sample window", "out-of-sample window", "chosen parameters", "IS score", "tied for best",
              "OOS score", "OOS rank", "best OOS", "IS net PnL", "OOS net PnL", "OOS feasible", "left out of summary"]
    columns = [
        walk["dataset"].tolist(),
        [f"w{k} {s}" for k, s in zip(walk["in_sample_window"], walk["in_sample_start"], strict=True)],
        [f"w{k} {s}" for k, s in zip(walk["out_of_sample_window"], walk["out_of_sample_start"], strict=True)],
        [p if isinstance(p, str) else "none feasible" for p in walk["params_json"]],
        [_fmt(v) for v in walk["in_sample_score"]],
        [f"{t} of {n}" for t, n in zip(walk["in_sample_tied"], walk["in_sample_candidates"], strict=True)],
        [_fmt(v) for v in walk["out_of_sample_score"]],
        [f"{_fmt(r)} / {n}" for r, n in zip(walk["oos_rank"], walk["oos_candidates"], strict=True)],
        [_fmt(v) for v in walk["oos_best_score"]],
        [_fmt(v) for v in walk["in_sample_net_pnl"]],
        [_fmt(v) for v in walk["out_of_sample_net_pnl"]],
        ["yes" if f else "no" for f in walk["out_of_sample_feasible"]],
        walk["left_out"].tolist(),
    ]
    return _layout(go.Figure(_table(header, columns, theme)), "Walk-forward table", theme, height=120 + 2 * TABLE_ROW_PX * len(walk))


def failures_figure(failures: pd.DataFrame, theme: dict) -> go.Figure:
    top = failures.head(FAILURE_ROWS)
    columns = [top["run_id"].tolist(), top["dataset"].tolist(), top["window"].tolist(), top["params_json"].tolist(),
               top["error"].fillna("").tolist()]
    title = f"Failed runs ({len(failures)}; errors and engine log excerpts are in the results table)"
    return _layout(go.Figure(_table(["run", "dataset", "window", "parameters", "error"], columns, theme)), title, theme,
                   height=100 + 2 * TABLE_ROW_PX * len(top))


def _axis(values: pd.Series) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all() and numeric.nunique() > MAX_AXIS_VALUES:
        bins = pd.cut(numeric, MAX_AXIS_VALUES)  # ordered categories keep the axis in numeric order
        labels = [f"{b.left:.4g}–{b.right:.4g}" for b in bins.cat.categories]
        return bins.cat.rename_categories(labels)
    return values


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)


def _layout(fig: go.Figure, title: str, theme: dict, height: int = FIGURE_HEIGHT_PX, **layout) -> go.Figure:
    fig.update_layout(
        title=title,
        template=theme["template"],
        height=height,
        legend={"orientation": "h", "y": -0.15},
        margin={"t": 60, "b": 40, "l": 60, "r": 30},
        **layout,
    )
    return fig
