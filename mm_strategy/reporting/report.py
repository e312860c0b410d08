"""Write the market-making report of one session: ``report.json`` for machines and ``report.html`` for people."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mm_strategy.reporting.html import report_html
from mm_strategy.reporting.inputs import ReportInputs
from mm_strategy.reporting.metrics import analyse
from mm_strategy.reporting.metrics import json_ready
from mm_strategy.reporting.metrics import metrics_from_analysis


@dataclass(frozen=True, slots=True)
class ReportPaths:
    json: Path
    html: Path
    metrics: dict


def write_report(inputs: ReportInputs, out_dir: Path, title: str, engine=None) -> ReportPaths:
    """Compute the metrics and write both files into ``out_dir`` (created if needed); the paths carry the metrics.

    ``engine`` (a finished ``BacktestEngine`` or ``BacktestResult``) adds NautilusTrader's standard tearsheet
    section built from the engine's account; without it (live, tests) that section shows our own equity curve.
    The JSON is written before the HTML is rendered, so the numbers survive a plotting failure.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    analysis = analyse(inputs)
    metrics = metrics_from_analysis(analysis)
    paths = ReportPaths(json=out_dir / "report.json", html=out_dir / "report.html", metrics=metrics)
    document = {
        "title": title,
        "instrument_id": inputs.instrument_id,
        "run_info": json_ready(dict(inputs.run_info)),
        "metrics": metrics,
    }
    paths.json.write_text(json.dumps(document, indent=2, allow_nan=False), encoding="utf-8")
    paths.html.write_text(report_html(analysis, metrics, title, engine), encoding="utf-8")
    return paths
