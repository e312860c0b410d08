"""Capture what the market-making report needs while the strategy runs, identically in backtest and live.

The report (``mm_strategy.reporting``) is pure maths on plain arrays; this recorder is the only place that turns
engine events into those arrays. Appends are O(1) on Python lists: the hot path (one mid per book batch) costs
a list append, and arrays are built once at the end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field

import numpy as np

from mm_strategy.order_tags import PlacementTag
from mm_strategy.reporting.inputs import FillRecord
from mm_strategy.reporting.inputs import KillEventRecord
from mm_strategy.reporting.inputs import ReportInputs


@dataclass
class SessionRecorder:
    instrument_id: str
    mid_ts_ns: list[int] = field(default_factory=list)
    mid: list[float] = field(default_factory=list)
    quote_ts_ns: list[int] = field(default_factory=list)
    quote_bid: list[float] = field(default_factory=list)
    quote_ask: list[float] = field(default_factory=list)
    fills: list[FillRecord] = field(default_factory=list)
    kill_events: list[KillEventRecord] = field(default_factory=list)
    funding: list[tuple[int, float]] = field(default_factory=list)
    series: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)

    def on_mid(self, ts_ns: int, mid: float) -> None:
        self.mid_ts_ns.append(ts_ns)
        self.mid.append(mid)

    def on_quotes(self, ts_ns: int, best_bid: float | None, best_ask: float | None) -> None:
        """Record our best resting bid/ask when either changes (nan = none resting)."""
        bid = math.nan if best_bid is None else best_bid
        ask = math.nan if best_ask is None else best_ask
        if self.quote_ts_ns and _same(self.quote_bid[-1], bid) and _same(self.quote_ask[-1], ask):
            return
        self.quote_ts_ns.append(ts_ns)
        self.quote_bid.append(bid)
        self.quote_ask.append(ask)

    def on_fill(
        self,
        placement: PlacementTag | None,
        placement_ts_ns: int,
        order_id: str,
        ts_ns: int,
        side: str,
        price: float,
        qty: float,
        fee: float,
        liquidity: str,
    ) -> FillRecord:
        record = FillRecord(
            ts_ns=ts_ns,
            side=side,
            price=price,
            qty=qty,
            fee=fee,
            liquidity=liquidity,
            order_id=order_id,
            level=placement.level if placement else -1,
            placement_mid=placement.mid if placement else math.nan,
            placement_ts_ns=placement_ts_ns,
        )
        self.fills.append(record)
        return record

    def on_kill_event(
        self, ts_ns: int, trigger: str, from_state: str, to_state: str, detail: str, cleared: bool = False
    ) -> None:
        self.kill_events.append(KillEventRecord(ts_ns, trigger, from_state, to_state, detail, cleared))

    def on_value(self, name: str, ts_ns: int, value: float) -> None:
        """Append one point of a named time series (estimates, γ_eff, ...) for the report's plots."""
        self.on_values(ts_ns, ((name, value),))

    def on_values(self, ts_ns: int, named_values: Iterable[tuple[str, float]]) -> None:
        """Append one point at ``ts_ns`` to each named series: the quote cycle records 14 at a time, in one call."""
        series = self.series
        for name, value in named_values:
            points = series.get(name)
            if points is None:  # once a series (setdefault would build two lists and a tuple every call)
                points = series[name] = ([], [])
            points[0].append(ts_ns)
            points[1].append(float(value))

    def to_report_inputs(
        self,
        starting_equity: float,
        final_equity: float | None,
        run_info: dict[str, str],
        fill_rate_model: dict | None = None,
    ) -> ReportInputs:
        return ReportInputs(
            instrument_id=self.instrument_id,
            mid_ts_ns=np.asarray(self.mid_ts_ns, dtype=np.int64),
            mid=np.asarray(self.mid, dtype=np.float64),
            quote_ts_ns=np.asarray(self.quote_ts_ns, dtype=np.int64),
            quote_bid=np.asarray(self.quote_bid, dtype=np.float64),
            quote_ask=np.asarray(self.quote_ask, dtype=np.float64),
            fills=list(self.fills),
            starting_equity=starting_equity,
            final_equity=final_equity,
            funding=list(self.funding),
            kill_events=list(self.kill_events),
            estimator_series={
                name: (np.asarray(ts, dtype=np.int64), np.asarray(vals, dtype=np.float64))
                for name, (ts, vals) in self.series.items()
            },
            fill_rate_model=fill_rate_model,
            run_info=dict(run_info),
        )


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))
