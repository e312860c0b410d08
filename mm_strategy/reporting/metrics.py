"""The market-making metrics of DESIGN §7 (definitions: mm_anchors §5), pure numpy on :class:`ReportInputs`.

Sign conventions used everywhere: s = +1 for our buy, −1 for our sell; money in quote currency; fees positive =
paid; funding positive = received; markouts positive = good for us; adverse selection positive = bad for us.

PnL split (quote currency), with m_T the last mid and m(t_i) the mid at or before fill i:

- cash flow           = Σ −s·p·q
- gross trading PnL   = cash flow + final position·m_T = Σ s·q·(m_T − p)
- spread capture      = Σ s·(m(t_i) − p)·q : the edge earned against the mid at the moment of the fill
- inventory PnL       = gross − spread capture = Σ s·q·(m_T − m(t_i)) : the mark-to-market of the inventory
  each fill left us with, from its fill mid to the end
- net                 = spread capture + inventory − fees + funding
- net_after_exit      = net − exit_cost, exit_cost = |q_T|·(m_T·taker_fee + spread_T/2): the cost to flatten the
  final position with a taker order (:mod:`.exit_cost`); None when the position is open and the costs unknown
- equity_change       = final_equity − starting_equity (from the account, when known)
- reconciliation_error = net − equity_change : ≈ 0 when our fills, fees and funding explain the account; a
  non-zero value means a missed fill, a fee booked differently, or an unrecorded cash flow.

Session: from the first to the last mid. Fill rates are per hour of session; time-weighted figures weight each
value by how long it held. See :mod:`mm_strategy.reporting.markouts` for edge, markout and adverse selection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mm_strategy.reporting.clusters import fill_event_count
from mm_strategy.reporting.exit_cost import exit_cost
from mm_strategy.reporting.inputs import ReportInputs
from mm_strategy.reporting.markouts import FillMarkouts
from mm_strategy.reporting.markouts import fill_markouts
from mm_strategy.reporting.markouts import markout_groups
from mm_strategy.reporting.timeline import NS_PER_S
from mm_strategy.reporting.timeline import FillArrays
from mm_strategy.reporting.timeline import PnlTimeline
from mm_strategy.reporting.timeline import asof_index
from mm_strategy.reporting.timeline import fill_arrays
from mm_strategy.reporting.timeline import mid_before
from mm_strategy.reporting.timeline import pnl_timeline
from mm_strategy.reporting.timeline import step_durations_ns

S_PER_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Analysis:
    """The per-fill and per-time arrays the metrics and the charts are both computed from."""

    inputs: ReportInputs
    fills: FillArrays
    mid_at_fill: np.ndarray
    markouts: FillMarkouts
    timeline: PnlTimeline

    @property
    def start_ns(self) -> int:
        return int(self.inputs.mid_ts_ns[0])

    @property
    def end_ns(self) -> int:
        return int(self.inputs.mid_ts_ns[-1])

    @property
    def session_hours(self) -> float:
        return (self.end_ns - self.start_ns) / NS_PER_S / S_PER_HOUR

    @property
    def feed_down_ns(self) -> list[tuple[int, int]]:
        """[start, end) of each period the market-data feed was down, within the session."""
        start_ns, end_ns = self.start_ns, self.end_ns
        return [
            (max(start, start_ns), min(end, end_ns))
            for start, end in feed_down_intervals(self.inputs.kill_events, end_ns)
            if end > start_ns and start < end_ns
        ]


def analyse(inputs: ReportInputs) -> Analysis:
    if inputs.mid.size == 0:
        raise ValueError("the report needs at least one mid")
    fills = fill_arrays(inputs.fills)
    mid_at_fill = mid_before(inputs.mid_ts_ns, inputs.mid, fills.ts_ns)
    return Analysis(
        inputs=inputs,
        fills=fills,
        mid_at_fill=mid_at_fill,
        markouts=fill_markouts(fills, inputs.mid_ts_ns, inputs.mid, mid_at_fill),
        timeline=pnl_timeline(inputs, fills, mid_at_fill),
    )


def compute_metrics(inputs: ReportInputs) -> dict:
    """All report metrics as a JSON-ready dict (plain floats/ints/strings; unmeasurable values are None).

    Sections (s = +1 buy / −1 sell; quote currency; fees + = paid; funding + = received):

    - ``pnl``: spread capture Σ s·(m(t_i⁻) − p)·q, inventory = gross − spread, fees, funding,
      net = spread + inventory − fees + funding, and ``reconciliation_error = net − (final − starting equity)``.
    - ``fills``: counts (side, maker/taker), volume (base and q·p notional), fills per session hour, and
      observed/predicted when ``fill_rate_model["predicted_fills_per_hour"]`` is given.
    - ``markouts.by_group`` (all, BUY, SELL, level_k): edge e = s·(m(t⁻) − p)/p with m(t⁻) the mid in force just
      before the fill (``timeline.mid_before``), markout MO(h) = s·(m(t+h) − p)/p
      (+ = good), adverse selection AS(h) = −s·(m(t+h) − m(t))/p (+ = adverse), MO = e − AS, all in bps and
      notional-weighted; the same from the placement mid; fills with t + h past the last mid are excluded and
      counted. Realized half-spread = MO (round-trip RS = 2·MO).
    - ``requests``: order, cancel and modify requests sent, per session hour, and the fill notional traded per request.
    - ``quoting``: time-weighted two-sided / one-sided / none fractions over the quoting period.
    - ``position``: max |position|, time-weighted mean |position|, final position (base units).
    - ``drawdown``: max peak-to-trough of starting equity + net PnL, absolute and % of starting equity.
    - ``kill_events`` listed; ``estimators`` summarised (first/last/min/max).
    """
    return metrics_from_analysis(analyse(inputs))


def metrics_from_analysis(analysis: Analysis) -> dict:
    return json_ready(
        {
            "session": session_metrics(analysis),
            "pnl": pnl_metrics(analysis),
            "fills": fill_metrics(analysis),
            "markouts": {
                "horizons_s": list(analysis.markouts.horizons_s),
                "by_group": markout_groups(analysis.markouts, analysis.fills, analysis.session_hours),
            },
            "requests": request_metrics(analysis),
            "quoting": quoting_metrics(analysis),
            "position": position_metrics(analysis),
            "drawdown": drawdown_metrics(analysis),
            "kill_events": [kill_event_dict(e) for e in analysis.inputs.kill_events],
            "estimators": {
                name: series_summary(ts, values) for name, (ts, values) in analysis.inputs.estimator_series.items()
            },
        },
    )


def session_metrics(analysis: Analysis) -> dict:
    mid = analysis.inputs.mid
    return {
        "start_ts_ns": analysis.start_ns,
        "end_ts_ns": analysis.end_ns,
        "start_utc": utc_iso(analysis.start_ns),
        "end_utc": utc_iso(analysis.end_ns),
        "duration_s": (analysis.end_ns - analysis.start_ns) / NS_PER_S,
        "mid_updates": int(mid.size),
        "first_mid": float(mid[0]),
        "last_mid": float(mid[-1]),
        "min_mid": float(mid.min()),
        "max_mid": float(mid.max()),
    }


def pnl_metrics(analysis: Analysis) -> dict:
    """The PnL split at the end of the session (definitions in the module docstring)."""
    final = analysis.timeline
    spread, inventory = float(final.spread_capture[-1]), float(final.inventory[-1])
    fees, funding, net = float(final.fees[-1]), float(final.funding[-1]), float(final.net[-1])
    notional = float(analysis.fills.notional.sum())
    fill_count = analysis.fills.ts_ns.size
    inputs = analysis.inputs
    equity_change = None if inputs.final_equity is None else inputs.final_equity - inputs.starting_equity
    to_exit = exit_cost(float(final.position[-1]), float(inputs.mid[-1]), inputs.taker_fee_frac, inputs.final_spread)
    return {
        "spread_capture": spread,
        "inventory": inventory,
        "fees": fees,
        "funding": funding,
        "gross_trading": spread + inventory,
        "net": net,
        "exit_cost": to_exit,
        "net_after_exit": None if to_exit is None else net - to_exit,
        "net_per_fill": net / fill_count if fill_count else None,
        "net_per_notional_bps": net / notional * 1e4 if notional > 0 else None,
        "starting_equity": inputs.starting_equity,
        "final_equity": inputs.final_equity,
        "equity_change": equity_change,
        "reconciliation_error": None if equity_change is None else net - equity_change,
    }


def fill_metrics(analysis: Analysis) -> dict:
    """Counts, volume and fill rate; the rate is compared with the model's prediction when one is given.

    ``fills_per_hour`` is over the whole session; ``fills_per_hour_live_feed`` leaves out the time the market-data
    feed was down (as ``quoting_metrics``' ``*_live_feed`` fractions do): a recorder outage holds no trades, so
    nothing can fill then, and half the bundled 9-minute capture is outage.

    ``count`` counts fill records. A backtest fills one resting order once per trade print at or through its price,
    and one taker sweeps several of our levels, so one taker decision can read as 7 fills; ``fill_events`` counts
    the independent events a sweep's ``min_fill_events`` gates on: one per same-side burst (:mod:`.clusters`, fills
    ≤ 20 ms apart; the Binance capture's 16 fills are 5 bursts). ``orders_filled`` counts the orders.
    """
    fills = analysis.fills
    count = int(fills.ts_ns.size)
    events = fill_event_count(fills.ts_ns, fills.sign)
    hours = analysis.session_hours
    fills_per_hour = count / hours if hours > 0 else None
    down_ns = sum(end - start for start, end in analysis.feed_down_ns)
    live_hours = hours - down_ns / NS_PER_S / S_PER_HOUR
    model = analysis.inputs.fill_rate_model or {}
    predicted = model.get("predicted_fills_per_hour")
    return {
        "count": count,
        "buy": int((fills.sign > 0).sum()),
        "sell": int((fills.sign < 0).sum()),
        "maker": int(fills.is_maker.sum()),
        "taker": int((~fills.is_maker).sum()),
        "volume_base": float(fills.qty.sum()),
        "volume_notional": float(fills.notional.sum()),
        "avg_fill_size_base": float(fills.qty.mean()) if count else None,
        "before_first_mid": int((asof_index(analysis.inputs.mid_ts_ns, fills.ts_ns) < 0).sum()),
        "fills_per_hour": fills_per_hour,
        "fills_per_hour_live_feed": count / live_hours if live_hours > 0 else None,
        "fill_events": events,
        "fill_events_per_hour_live_feed": events / live_hours if live_hours > 0 else None,
        "orders_filled": len({f.order_id for f in analysis.inputs.fills}),
        "buy_fills_per_hour": (fills.sign > 0).sum() / hours if hours > 0 else None,
        "sell_fills_per_hour": (fills.sign < 0).sum() / hours if hours > 0 else None,
        "model": dict(model),
        "observed_over_predicted": fills_per_hour / predicted if fills_per_hour is not None and predicted else None,
    }


def request_metrics(analysis: Analysis) -> dict:
    """How many requests the quoting cost, against what it traded.

    A venue may ration requests by volume: Hyperliquid grants an address 1 request per USDC traded after an initial
    10,000, so a ``notional_per_request`` below 1 USDC runs that buffer down at ``(1 − it)·requests`` an hour and
    then throttles the node to its volume. ``None`` where nothing was sent."""
    inputs = analysis.inputs
    requests = inputs.orders_sent + inputs.cancels_sent + inputs.modifies_sent
    hours = analysis.session_hours
    return {
        "orders": inputs.orders_sent,
        "cancels": inputs.cancels_sent,
        "modifies": inputs.modifies_sent,
        "per_hour": requests / hours if hours > 0 else None,
        "notional_per_request": float(analysis.fills.notional.sum()) / requests if requests else None,
    }


FEED_DOWN_TRIGGER = "stale_book"  # the kill switch's "no valid book" pull: nobody can quote a dead feed


def feed_down_intervals(kill_events, end_ns: int) -> list[tuple[int, int]]:
    """[start, end) of each period the market-data feed was down, from the stale-book pull's trips and clears."""
    intervals, start = [], None
    for event in sorted(kill_events, key=lambda e: e.ts_ns):
        if event.trigger != FEED_DOWN_TRIGGER:
            continue
        if not event.cleared and start is None:
            start = event.ts_ns
        elif event.cleared and start is not None:
            intervals.append((start, event.ts_ns))
            start = None
    if start is not None:
        intervals.append((start, end_ns))
    return intervals


def quoting_metrics(analysis: Analysis) -> dict:
    """Time-weighted quoting states over the quoting period: from our first quote (or the session start if we
    never quoted) to the session end. Two-sided = a bid and an ask both resting. ``start_delay_s`` is the time
    before the first quote (warm-up), which the fractions deliberately leave out.

    ``*_live_feed`` fractions also leave out the time the market-data feed was down (the kill switch's stale-book
    pull, e.g. the recorder outages of 250 s and 51 s in the bundled 9-minute capture): quoting then is impossible
    by design, so uptime is judged on the time there was a market to quote.
    """
    inputs = analysis.inputs
    ts_ns, bid, ask = inputs.quote_ts_ns, inputs.quote_bid, inputs.quote_ask
    if ts_ns.size == 0:
        ts_ns, bid, ask = np.array([analysis.start_ns]), np.array([np.nan]), np.array([np.nan])
    period_start = max(int(ts_ns[0]), analysis.start_ns)
    down = analysis.feed_down_ns
    # one grid of every quote change and feed boundary, so each step has one quote state and one feed state
    bounds = np.array([t for interval in down for t in interval], dtype=np.int64)
    grid = np.unique(np.concatenate([ts_ns, bounds, [period_start]]))
    grid = grid[(grid >= period_start) & (grid < analysis.end_ns)]
    state = np.maximum(asof_index(ts_ns, grid), 0)
    bid, ask = bid[state], ask[state]
    durations = step_durations_ns(grid, period_start, analysis.end_ns).astype(np.float64)
    feed_live = np.ones(grid.size, dtype=bool)
    for start, end in down:
        feed_live &= ~((grid >= start) & (grid < end))
    total, live_total = durations.sum(), durations[feed_live].sum()
    has_bid, has_ask = np.isfinite(bid), np.isfinite(ask)
    quoted_spread_bps = (ask - bid) / ((ask + bid) / 2) * 1e4

    def frac(mask: np.ndarray) -> float:
        return float(durations[mask].sum() / total) if total > 0 else float("nan")

    def live_frac(mask: np.ndarray) -> float:
        return float(durations[mask & feed_live].sum() / live_total) if live_total > 0 else float("nan")

    two_sided = has_bid & has_ask
    return {
        "period_s": total / NS_PER_S,
        "start_delay_s": (period_start - analysis.start_ns) / NS_PER_S,
        "quote_changes": int(inputs.quote_ts_ns.size),
        "feed_down_s": (total - live_total) / NS_PER_S,
        "two_sided_frac": frac(two_sided),
        "two_sided_frac_live_feed": live_frac(two_sided),
        "none_frac_live_feed": live_frac(~has_bid & ~has_ask),
        "one_sided_frac": frac(has_bid ^ has_ask),
        "bid_only_frac": frac(has_bid & ~has_ask),
        "ask_only_frac": frac(has_ask & ~has_bid),
        "none_frac": frac(~has_bid & ~has_ask),
        "mean_quoted_spread_bps": time_weighted_mean(quoted_spread_bps[two_sided], durations[two_sided]),
    }


def position_metrics(analysis: Analysis) -> dict:
    """Position in base units (signed, + = long); the mean is time-weighted over the session."""
    line = analysis.timeline
    durations = step_durations_ns(line.ts_ns, analysis.start_ns, analysis.end_ns).astype(np.float64)
    after_fill = analysis.fills.position_after
    return {
        "max_abs": float(np.abs(after_fill).max(initial=0.0)),
        "mean_abs_time_weighted": time_weighted_mean(np.abs(line.position), durations),
        "final": float(line.position[-1]),
        "max_abs_notional": float(np.abs(line.position * line.mid).max()),
    }


def drawdown_metrics(analysis: Analysis) -> dict:
    """Max drawdown of the mark-to-market equity curve (starting equity + net PnL at every grid time):
    max_t (max_{u≤t} E_u − E_t), in quote currency and as % of the starting equity."""
    starting = analysis.inputs.starting_equity
    equity = np.concatenate(([starting], analysis.timeline.equity))
    ts_ns = np.concatenate(([analysis.timeline.ts_ns[0]], analysis.timeline.ts_ns))
    peak = np.maximum.accumulate(equity)
    trough = int(np.argmax(peak - equity))
    max_dd = float(peak[trough] - equity[trough])
    peak_at = int(np.argmax(equity[: trough + 1]))
    return {
        "max_abs": max_dd,
        "max_pct_of_starting_equity": max_dd / starting * 100.0,
        "peak_ts_ns": int(ts_ns[peak_at]) if max_dd > 0 else None,
        "trough_ts_ns": int(ts_ns[trough]) if max_dd > 0 else None,
        "min_equity": float(equity.min()),
        "max_equity": float(equity.max()),
    }


def kill_event_dict(event) -> dict:
    return {
        "ts_ns": event.ts_ns,
        "time_utc": utc_iso(event.ts_ns),
        "trigger": event.trigger,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "detail": event.detail,
        "cleared": event.cleared,
    }


def series_summary(ts_ns: np.ndarray, values: np.ndarray) -> dict:
    """First/last value and the finite min/max of one estimator series."""
    finite = values[np.isfinite(values)]
    return {
        "points": int(values.size),
        "finite_points": int(finite.size),
        "first_ts_ns": int(ts_ns[0]) if ts_ns.size else None,
        "last_ts_ns": int(ts_ns[-1]) if ts_ns.size else None,
        "first": float(values[0]) if values.size else None,
        "last": float(values[-1]) if values.size else None,
        "min": float(finite.min()) if finite.size else None,
        "max": float(finite.max()) if finite.size else None,
    }


def time_weighted_mean(values: np.ndarray, durations: np.ndarray) -> float:
    total = durations.sum()
    return float((values * durations).sum() / total) if total > 0 else float("nan")


def utc_iso(ts_ns: int) -> str:
    return pd.Timestamp(int(ts_ns), unit="ns", tz="UTC").isoformat()


def json_ready(value):
    """Plain Python scalars only (numpy scalars unwrapped, nan/inf → None): ``json.dumps(allow_nan=False)`` works."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value
