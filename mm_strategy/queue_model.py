"""Where our resting order stands in its price level's queue, inferred from L2 level sizes alone.

Why: with trades, the simulated venue moves our queue position on trades at our price and fills us from them.
The archive hour has no trades, so there every fill is a book crossing, which never lets a maker earn the spread
it quotes. This model infers our fills from the book alone, in the spirit of hftbacktest's probabilistic queue
models (ProbQueueModel with a power or log probability function).

A size decrease at our level is mostly cancellations (on the 9-minute Hyperliquid captures with trades, trade
volume at the best price is 4–8 % of the best level's size decreases), and a cancellation can come from anywhere
in the queue. So a decrease is split between the quantity ahead of us (front) and behind us (back):

    share taken ahead of us = f(front) / (f(front) + f(back))

with f(q) = q**exponent ("power") or ln(1 + q/order_qty) ("log"; measuring q in our own order size keeps it
free of the instrument's size units). The back can't lose more than it holds; what it can't take comes from the
front. A larger exponent says cancellations come mostly from the larger side of the queue.

Fill rules: the order fills when the queue ahead is consumed and the level keeps being consumed:
- overflow: a decrease assigns more to the front than the front holds; the excess went through our position.
  Only at the best price (or better): executions happen at the touch, a deep level only shrinks by cancellations;
- sweep: our side's best price moved past ours (a BUY was at or behind the best bid, and now the best bid is
  below its price): every quantity at our price and better is gone, consumed through us, so the rest of the order
  fills. This covers our level emptying at the touch and a sweep through a level that had emptied earlier (our
  order then sat alone at its price). An order placed better than the best does not fill until the market has
  come to it.
Increases never move us (new orders join behind). A level beyond the venue's visible depth window at placement
has an unknown queue: the order joins the back of the level when the level is first seen.

Quantities are in the instrument's units. Framework-free: NautilusTrader's fill model and simulation module in
``mm_strategy.queue_fill_model`` feed it level sizes and consume the inferred quantities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Literal

import msgspec

QueueFunctionKind = Literal["power", "log"]


@dataclass(frozen=True, slots=True)
class QueueFunction:
    """The weight f of a queue segment; the share of a decrease taken ahead of us is f(front)/(f(front)+f(back))."""

    kind: QueueFunctionKind = "power"
    exponent: float = 2.0  # power only

    def __post_init__(self) -> None:
        if self.kind not in ("power", "log"):
            raise ValueError(f"QueueFunction.kind: must be 'power' or 'log', got {self.kind!r}")
        if not (self.exponent > 0 and math.isfinite(self.exponent)):
            raise ValueError(f"QueueFunction.exponent: must be a finite number > 0, got {self.exponent}")

    def front_share(self, front: float, back: float, unit: float) -> float:
        """Fraction of a decrease that happened ahead of us; ``unit`` (our order size) scales the log function."""
        if front <= 0.0:
            return 0.0
        if back <= 0.0:
            return 1.0
        if self.kind == "power":
            # 1 / (1 + (back/front)^n) == f(front) / (f(front) + f(back)) without overflowing on large sizes.
            return 1.0 / (1.0 + (back / front) ** self.exponent)
        weight_front = math.log1p(front / unit)
        return weight_front / (weight_front + math.log1p(back / unit))


class Touch(Enum):
    """Our price against the best price on our side (for a BUY: below, at or above the best bid)."""

    BEHIND = "behind"
    AT = "at"
    BETTER = "better"  # better than the best, or no best at all: nothing visible at our price or ahead of it


@dataclass(slots=True)
class QueuePosition:
    """One resting order's place in its level: ``ahead`` is None until the level is first seen."""

    quantity: float  # the order's size
    ahead: float | None  # visible quantity ahead of us at our price
    level: float  # the level's visible size at the last update (our own order is never in the data)
    touch: Touch  # at the last update
    inferred: float = 0.0  # cumulative quantity inferred executed through our position

    @property
    def remaining(self) -> float:
        return max(self.quantity - self.inferred, 0.0)


def advance(position: QueuePosition, new_level: float, visible: bool, touch: Touch, function: QueueFunction) -> float:
    """Move ``position`` to the level's new size and touch; return the quantity newly inferred filled.

    ``visible``: our price is within the depth the data shows (an absent level there is genuinely empty).
    """
    swept = touch is Touch.BETTER and position.touch is not Touch.BETTER
    position.touch = touch
    if position.ahead is None:
        if not visible:
            return 0.0
        position.ahead = position.level = new_level  # join the back of the level, now that it is seen
    previous = position.level
    position.level = new_level
    filled = 0.0
    if new_level < previous:
        decrease = previous - new_level
        front = position.ahead
        back = max(previous - front, 0.0)
        from_back = min((1.0 - function.front_share(front, back, position.quantity)) * decrease, back)
        ahead = front - (decrease - from_back)
        if ahead < 0.0:
            if touch is not Touch.BEHIND:
                filled = -ahead
            ahead = 0.0
        position.ahead = ahead
    if swept:
        filled = position.remaining
    filled = min(filled, position.remaining)
    position.inferred += filled
    return filled


class FillModelSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the backtest venue fills our resting orders (the ``backtest.fill_model`` section of a venue config).

    - ``trades`` (default): fills come from trades through our price, with NautilusTrader's queue position
      (``queue_position``/``liquidity_consumption`` apply), plus book crossings. Needs data with trades.
    - ``queue_power`` / ``queue_log``: fills are inferred from the book alone by the queue model above, plus book
      crossings; trades in the data stay market data and never fill us (``queue_position`` does not apply).
    """

    kind: Literal["trades", "queue_power", "queue_log"] = "trades"
    exponent: float = 2.0  # queue_power: f(q) = q**exponent

    def __post_init__(self) -> None:
        if not (self.exponent > 0 and math.isfinite(self.exponent)):
            raise ValueError(f"BacktestSettings.fill_model.exponent: must be a finite number > 0, got {self.exponent}")

    @property
    def is_queue(self) -> bool:
        return self.kind != "trades"

    def queue_function(self) -> QueueFunction:
        if not self.is_queue:
            raise ValueError("BacktestSettings.fill_model.kind: 'trades' has no queue function")
        return QueueFunction("power" if self.kind == "queue_power" else "log", self.exponent)
