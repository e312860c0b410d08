"""Vectorised building blocks: fills as arrays, as-of look-ups, step-function durations and the PnL timeline.

Both the metrics and the charts read from these, so a number in ``report.json`` and the curve that shows it come
from the same arrays. All look-ups are ``np.searchsorted`` on sorted timestamps (O(log n) per query, no Python
loop per fill or per mid).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mm_strategy.reporting.inputs import FillRecord
from mm_strategy.reporting.inputs import ReportInputs

NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class FillArrays:
    """Our fills as column arrays sorted by time; ``sign`` is +1 for a buy and −1 for a sell."""

    ts_ns: np.ndarray
    sign: np.ndarray
    price: np.ndarray
    qty: np.ndarray
    fee: np.ndarray
    is_maker: np.ndarray
    level: np.ndarray
    placement_mid: np.ndarray

    @property
    def notional(self) -> np.ndarray:
        """|q|·p per fill, the weight of every volume-weighted aggregate (mm_anchors §5)."""
        return self.qty * self.price

    @property
    def position_after(self) -> np.ndarray:
        """Signed position (base units) right after each fill, starting flat."""
        return np.cumsum(self.sign * self.qty)


def fill_arrays(fills: Sequence[FillRecord]) -> FillArrays:
    order = np.argsort(np.array([f.ts_ns for f in fills], dtype=np.int64), kind="stable")
    ordered = [fills[i] for i in order]

    def column(getter, dtype) -> np.ndarray:
        return np.array([getter(f) for f in ordered], dtype=dtype)

    return FillArrays(
        ts_ns=column(lambda f: f.ts_ns, np.int64),
        sign=column(lambda f: 1.0 if f.side == "BUY" else -1.0, np.float64),
        price=column(lambda f: f.price, np.float64),
        qty=column(lambda f: f.qty, np.float64),
        fee=column(lambda f: f.fee, np.float64),
        is_maker=column(lambda f: f.liquidity == "MAKER", bool),
        level=column(lambda f: f.level, np.int64),
        placement_mid=column(lambda f: f.placement_mid, np.float64),
    )


def asof_index(event_ts_ns: np.ndarray, query_ts_ns: np.ndarray) -> np.ndarray:
    """Index of the last event at or before each query time; −1 where the query precedes every event."""
    return np.searchsorted(event_ts_ns, query_ts_ns, side="right") - 1


def mid_asof(mid_ts_ns: np.ndarray, mid: np.ndarray, query_ts_ns: np.ndarray) -> np.ndarray:
    """The last mid at or before each query time; a query before the first mid gets the first mid."""
    return mid[np.maximum(asof_index(mid_ts_ns, query_ts_ns), 0)]


def mid_before(mid_ts_ns: np.ndarray, mid: np.ndarray, query_ts_ns: np.ndarray) -> np.ndarray:
    """The mid in force just before each query time (the last mid strictly before it; the first mid for a query at
    or before it). A fill's reference mid: a fill from a book crossing is stamped with the very book update that
    crossed our order, and that update's mid is already past our price (edge ≤ 0 by construction)."""
    return mid[np.maximum(np.searchsorted(mid_ts_ns, query_ts_ns, side="left") - 1, 0)]


def cumulative_asof(event_ts_ns: np.ndarray, amounts: np.ndarray, query_ts_ns: np.ndarray) -> np.ndarray:
    """Σ of the amounts of all events at or before each query time (0 before the first event)."""
    running = np.concatenate(([0.0], np.cumsum(amounts)))
    return running[asof_index(event_ts_ns, query_ts_ns) + 1]


def step_durations_ns(change_ts_ns: np.ndarray, start_ns: int, end_ns: int) -> np.ndarray:
    """Time each value of a step function holds inside [start, end].

    Value k holds from ``change_ts_ns[k]`` until the next change (the last one until ``end_ns``); every boundary
    is clipped to the window, so time outside it counts zero.
    """
    bounds = np.clip(np.append(change_ts_ns, end_ns), start_ns, end_ns)
    return np.diff(bounds)


@dataclass(frozen=True, slots=True)
class PnlTimeline:
    """Cumulative PnL components on one time grid (every mid, fill and funding time), quote currency.

    At each grid time t, with fills and funding up to and including t and m(t) the as-of mid:
    ``gross = cash + position·m(t)`` where cash = Σ −s·p·q; ``spread_capture`` = Σ s·(m_fill − p)·q;
    ``inventory = gross − spread_capture``; ``net = gross − fees + funding``; ``equity = starting + net``.
    """

    ts_ns: np.ndarray
    mid: np.ndarray
    position: np.ndarray
    spread_capture: np.ndarray
    inventory: np.ndarray
    fees: np.ndarray
    funding: np.ndarray
    net: np.ndarray
    equity: np.ndarray


def pnl_timeline(inputs: ReportInputs, fills: FillArrays, mid_at_fill: np.ndarray) -> PnlTimeline:
    funding_ts_ns, funding_amount = funding_arrays(inputs.funding)
    grid_ns = np.union1d(np.union1d(inputs.mid_ts_ns, fills.ts_ns), funding_ts_ns)
    mid = mid_asof(inputs.mid_ts_ns, inputs.mid, grid_ns)
    position = cumulative_asof(fills.ts_ns, fills.sign * fills.qty, grid_ns)
    cash = cumulative_asof(fills.ts_ns, -fills.sign * fills.price * fills.qty, grid_ns)
    spread = cumulative_asof(fills.ts_ns, fills.sign * (mid_at_fill - fills.price) * fills.qty, grid_ns)
    fees = cumulative_asof(fills.ts_ns, fills.fee, grid_ns)
    funding = cumulative_asof(funding_ts_ns, funding_amount, grid_ns)
    gross = cash + position * mid
    net = gross - fees + funding
    return PnlTimeline(
        ts_ns=grid_ns,
        mid=mid,
        position=position,
        spread_capture=spread,
        inventory=gross - spread,
        fees=fees,
        funding=funding,
        net=net,
        equity=inputs.starting_equity + net,
    )


def funding_arrays(funding: Sequence[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Funding payments as time-sorted (ts_ns, amount) arrays; amount received (+) or paid (−)."""
    ts_ns = np.array([ts for ts, _ in funding], dtype=np.int64)
    amount = np.array([a for _, a in funding], dtype=np.float64)
    order = np.argsort(ts_ns, kind="stable")
    return ts_ns[order], amount[order]
