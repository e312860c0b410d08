"""How well fills inferred from the book alone agree with trade-driven fills (``benchmarks/queue_model_agreement.py``).

Two comparisons, because they answer different questions:
- same orders: the queue model runs in shadow beside a trade-driven run and infers fills for the very orders that
  trades filled or did not. Pure fill-inference agreement, order by order, with the first-fill time difference.
  A trade-driven run fills an order either on a trade (the queue ahead was traded away) or on a book update (the
  opposite best came to our price: a book crossing, which the queue model's depletion rule mirrors); the first
  kind is where queue position matters, so it is counted apart;
- two runs: the strategy with trade-driven fills vs the strategy with queue-model fills and no trades. What a user
  sees; once one fill differs the two paths diverge, so this mixes the fill model with its consequences. Fills are
  matched one to one on side, within a time window and a price window, nearest time first.

Fills are compared per order (first fill time, total quantity): trades fill an order in many small pieces while
the queue model fills it in whole lots, so piece counts are not comparable.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OrderFill:
    """An order's fills taken together: when it first filled and how much in all."""

    order_id: str
    side: str  # "BUY" | "SELL"
    price: float
    ts_ns: int  # first fill
    qty: float


def order_fills(pieces: Iterable[tuple[int, str, str, float, float]]) -> list[OrderFill]:
    """(ts_ns, order_id, side, price, qty) fill pieces → one ``OrderFill`` per order, by first fill time."""
    merged: dict[str, OrderFill] = {}
    for ts_ns, order_id, side, price, qty in sorted(pieces):
        seen = merged.get(order_id)
        if seen is None:
            merged[order_id] = OrderFill(order_id, side, price, ts_ns, qty)
        else:
            merged[order_id] = OrderFill(order_id, side, seen.price, seen.ts_ns, seen.qty + qty)
    return sorted(merged.values(), key=lambda f: (f.ts_ns, f.order_id))


@dataclass(frozen=True, slots=True)
class SameOrderAgreement:
    trade_filled: int  # orders trades filled
    inferred: int  # orders the queue model inferred filled
    agreed: int  # both, first fills within the window
    dt_s: tuple[float, ...]  # inferred − trade first-fill time of the agreed orders
    by_trade: int  # orders whose first trade-driven fill came on a trade, not on a book update
    by_trade_agreed: int

    @property
    def recall(self) -> float:
        return self.agreed / self.trade_filled if self.trade_filled else float("nan")

    @property
    def precision(self) -> float:
        return self.agreed / self.inferred if self.inferred else float("nan")


def same_order_agreement(
    trade: list[OrderFill],
    inferred: list[OrderFill],
    window_ns: int,
    trade_only_times_ns: frozenset[int] = frozenset(),
) -> SameOrderAgreement:
    """``trade_only_times_ns``: the data's timestamps that carry trades and no book update."""
    inferred_by_id = {f.order_id: f for f in inferred}
    dt_s = []
    by_trade = by_trade_agreed = 0
    for fill in trade:
        guess = inferred_by_id.get(fill.order_id)
        agreed = guess is not None and abs(guess.ts_ns - fill.ts_ns) <= window_ns
        if agreed:
            dt_s.append((guess.ts_ns - fill.ts_ns) / 1e9)
        if fill.ts_ns in trade_only_times_ns:
            by_trade += 1
            by_trade_agreed += agreed
    return SameOrderAgreement(len(trade), len(inferred), len(dt_s), tuple(dt_s), by_trade, by_trade_agreed)


@dataclass(frozen=True, slots=True)
class CrossRunAgreement:
    trade_fills: int
    queue_fills: int
    trade_buys: int
    queue_buys: int
    matched: int
    abs_dt_s: tuple[float, ...]  # of matched pairs
    abs_dprice_bps: tuple[float, ...]  # of matched pairs, relative to the trade-driven fill's price

    @property
    def recall(self) -> float:
        return self.matched / self.trade_fills if self.trade_fills else float("nan")

    @property
    def precision(self) -> float:
        return self.matched / self.queue_fills if self.queue_fills else float("nan")


def cross_run_agreement(
    trade: list[OrderFill],
    queue: list[OrderFill],
    window_ns: int,
    price_window_bps: float,
) -> CrossRunAgreement:
    """Match fills of two runs one to one: same side, first fills within ``window_ns`` and prices within
    ``price_window_bps`` of the trade-driven fill's, closest in time first."""
    candidates = sorted(
        (abs(q.ts_ns - t.ts_ns), abs(q.price - t.price), i, j)
        for i, t in enumerate(trade)
        for j, q in enumerate(queue)
        if t.side == q.side
        and abs(q.ts_ns - t.ts_ns) <= window_ns
        and abs(q.price - t.price) <= t.price * price_window_bps * 1e-4
    )
    used_trade, used_queue, dt_s, dprice = set(), set(), [], []
    for dt_ns, dpx, i, j in candidates:
        if i in used_trade or j in used_queue:
            continue
        used_trade.add(i)
        used_queue.add(j)
        dt_s.append(dt_ns / 1e9)
        dprice.append(1e4 * dpx / trade[i].price)
    return CrossRunAgreement(
        trade_fills=len(trade),
        queue_fills=len(queue),
        trade_buys=sum(f.side == "BUY" for f in trade),
        queue_buys=sum(f.side == "BUY" for f in queue),
        matched=len(dt_s),
        abs_dt_s=tuple(dt_s),
        abs_dprice_bps=tuple(dprice),
    )


def median_or_nan(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")
