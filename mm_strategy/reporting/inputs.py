"""The plain-data contract between a finished session (backtest engine or live node) and the report.

Everything here is numbers, strings and numpy arrays, so the report's maths runs the same on a backtest and on a
live session and can be tested without an engine. Validation happens at construction: a malformed record fails
where it is built (in the recorder, during the run), not at the end of a long backtest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field

import numpy as np

SIDES = ("BUY", "SELL")
LIQUIDITY_SIDES = ("MAKER", "TAKER")


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One fill of ours. ``fee`` is in quote currency: positive = paid, negative = rebate received.

    ``level`` is the ladder level the order was placed at (0 = closest to the mid, negative = unknown);
    ``placement_mid`` is the mid when the order was placed (nan if unknown).
    """

    ts_ns: int
    side: str
    price: float
    qty: float
    fee: float
    liquidity: str
    order_id: str
    level: int
    placement_mid: float
    placement_ts_ns: int

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"fill side must be one of {SIDES}, was {self.side!r}")
        if self.liquidity not in LIQUIDITY_SIDES:
            raise ValueError(f"fill liquidity must be one of {LIQUIDITY_SIDES}, was {self.liquidity!r}")
        if not (math.isfinite(self.price) and self.price > 0 and math.isfinite(self.qty) and self.qty > 0):
            raise ValueError(f"fill price and qty must be positive and finite, were {self.price}, {self.qty}")
        if not math.isfinite(self.fee):
            raise ValueError(f"fill fee must be finite, was {self.fee}")


@dataclass(frozen=True, slots=True)
class KillEventRecord:
    """One kill-switch state transition (e.g. ACTIVE → REDUCING) and what triggered it."""

    ts_ns: int
    trigger: str
    from_state: str
    to_state: str
    detail: str
    cleared: bool = False  # a trigger clearing (pause ended, book fresh again), not a trip


@dataclass
class ReportInputs:
    """Everything the market-making report needs, in quote currency and nanosecond UNIX timestamps.

    - ``mid_ts_ns``/``mid``: the mid after every book update (non-decreasing timestamps).
    - ``quote_ts_ns``/``quote_bid``/``quote_ask``: our best resting bid/ask after each change; nan = none resting.
    - ``starting_equity``: account equity at the start (> 0); ``final_equity``: from the account at the end, with
      the open position marked at the last mid (None if unknown). Used only to reconcile the PnL split.
    - ``funding``: (ts_ns, amount) with amount received (+) or paid (−).
    - ``estimator_series``: name → (ts_ns, values), plotted and summarised, never used in the PnL maths.
    - ``fill_rate_model``: optional model prediction, e.g. ``{"predicted_fills_per_hour": 42.0}``.
    - ``orders_sent``/``cancels_sent``/``modifies_sent``: the order, cancel and modify requests the strategy sent,
      each order, cancel or modify of a batch once (as Hyperliquid's address budget counts them: 1 request per USDC
      traded, after 10,000).
    - ``taker_fee_frac``/``final_spread``: the instrument's taker fee (fraction of notional) and the market's best
      ask − best bid at the end (quote currency): what flattening the final position would cost
      (``pnl.net_after_exit``). None when unknown (:func:`mm_strategy.reporting.exit_cost.exit_terms` reads both
      from the engine).
    """

    instrument_id: str
    mid_ts_ns: np.ndarray
    mid: np.ndarray
    quote_ts_ns: np.ndarray
    quote_bid: np.ndarray
    quote_ask: np.ndarray
    fills: list[FillRecord]
    starting_equity: float
    final_equity: float | None
    funding: list[tuple[int, float]] = field(default_factory=list)
    kill_events: list[KillEventRecord] = field(default_factory=list)
    estimator_series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    fill_rate_model: dict | None = None
    run_info: dict[str, str] = field(default_factory=dict)
    orders_sent: int = 0
    cancels_sent: int = 0
    modifies_sent: int = 0
    taker_fee_frac: float | None = None
    final_spread: float | None = None

    def __post_init__(self) -> None:
        self.mid_ts_ns = np.asarray(self.mid_ts_ns, dtype=np.int64)
        self.mid = np.asarray(self.mid, dtype=np.float64)
        self.quote_ts_ns = np.asarray(self.quote_ts_ns, dtype=np.int64)
        self.quote_bid = np.asarray(self.quote_bid, dtype=np.float64)
        self.quote_ask = np.asarray(self.quote_ask, dtype=np.float64)
        self.estimator_series = {
            name: (np.asarray(ts, dtype=np.int64), np.asarray(values, dtype=np.float64))
            for name, (ts, values) in self.estimator_series.items()
        }
        _require_series("mid", self.mid_ts_ns, self.mid)
        _require_series("quote_bid", self.quote_ts_ns, self.quote_bid)
        _require_series("quote_ask", self.quote_ts_ns, self.quote_ask)
        for name, (ts, values) in self.estimator_series.items():
            _require_series(f"estimator {name!r}", ts, values)
        if not np.all(np.isfinite(self.mid) & (self.mid > 0)):
            raise ValueError("mids must be positive and finite")
        if not (math.isfinite(self.starting_equity) and self.starting_equity > 0):
            raise ValueError(f"starting_equity must be positive and finite, was {self.starting_equity}")
        if self.taker_fee_frac is not None and not math.isfinite(self.taker_fee_frac):
            raise ValueError(f"taker_fee_frac must be finite, was {self.taker_fee_frac}")
        if self.final_spread is not None and not (math.isfinite(self.final_spread) and self.final_spread >= 0):
            raise ValueError(f"final_spread must be finite and >= 0, was {self.final_spread}")


def _require_series(name: str, ts_ns: np.ndarray, values: np.ndarray) -> None:
    """A time series must be 1-D, aligned, and sorted by time (the as-of look-ups use binary search)."""
    if ts_ns.ndim != 1 or ts_ns.shape != values.shape:
        raise ValueError(f"{name}: timestamps {ts_ns.shape} and values {values.shape} must be 1-D and aligned")
    if ts_ns.size > 1 and np.any(np.diff(ts_ns) < 0):
        raise ValueError(f"{name}: timestamps must be non-decreasing")
