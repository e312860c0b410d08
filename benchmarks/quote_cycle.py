#!/usr/bin/env python
"""The strategy's own time per quote cycle in a full-stack backtest, next to the run's wall time (issue 13).

``backtest_throughput.py`` compares whole runs, where the seven estimator actors and the engine's order work share
the time with the strategy. This one times the strategy alone: every handler the engine calls on
``GLFTMarketMaker`` (book batches with their quote cycles, estimate messages, order events, timers) is wrapped in a
``thread_time_ns`` pair (CPU time of the thread: on a shared machine, time spent preempted is not counted), outermost
call only (order events raised by the strategy's own submits and cancels run
inside its book handler and are counted there), so its total includes the NautilusTrader calls the strategy makes
(order factory, submits, cancels, cache queries) but not the actors or the matching of the data itself.

    python benchmarks/quote_cycle.py [--catalog data/catalog --catalog data/catalog_hl_btc] [--repeats 5]

The best of ``--repeats`` runs per catalog is printed: CPU µs of strategy time per quote cycle and per book batch,
its share of the run's wall time, and the run's data points per second. To compare two trees, run each tree's copy
in turn.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.backtest_throughput import DEFAULT_CATALOGS  # noqa: E402
from benchmarks.backtest_throughput import catalog_arguments  # noqa: E402
from benchmarks.backtest_throughput import ready_catalog  # noqa: E402
from mm_strategy.backtest import run_backtest  # noqa: E402
from mm_strategy.node_config import load_venue_config  # noqa: E402
from mm_strategy.strategy import GLFTMarketMaker  # noqa: E402


class HandlerClock:
    """Accumulates the time spent inside the wrapped handlers, counting nested calls once."""

    def __init__(self) -> None:
        self.total_ns = 0
        self.book_batches = 0
        self._depth = 0

    def wrap(self, function, is_book: bool = False):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            if self._depth:
                return function(*args, **kwargs)
            self._depth = 1
            started = time.thread_time_ns()
            try:
                return function(*args, **kwargs)
            finally:
                self.total_ns += time.thread_time_ns() - started
                self._depth = 0
                self.book_batches += is_book

        return timed


def _handler_names() -> list[str]:
    """Every engine-called handler the strategy defines (``on_*``) plus its timer callbacks."""
    names = [name for name in vars(GLFTMarketMaker) if name.startswith("on_") or name.endswith("_timer")]
    return [name for name in names if callable(vars(GLFTMarketMaker)[name])]


def measure(settings, catalog: Path, repeats: int) -> tuple[float, float, float, float, int]:
    """Best of ``repeats``: (strategy µs per quote cycle and per book batch, its share of wall, points/s, cycles)."""
    originals = {name: vars(GLFTMarketMaker)[name] for name in _handler_names()}
    best = None
    try:
        for _ in range(repeats):
            clock = HandlerClock()
            for name, function in originals.items():
                setattr(GLFTMarketMaker, name, clock.wrap(function, is_book=name == "on_order_book_deltas"))
            outcome = run_backtest(settings, catalog)
            strategy = outcome.engine.trader.strategies()[0]
            cycles, points, wall_s = strategy.quote_cycles, outcome.result.iterations, outcome.wall_s
            outcome.node.dispose()
            sample = (
                clock.total_ns / 1e3 / cycles,
                clock.total_ns / 1e3 / clock.book_batches,
                clock.total_ns / 1e9 / wall_s,
                points / wall_s,
                cycles,
            )
            if best is None or sample[0] < best[0]:
                best = sample
    finally:
        for name, function in originals.items():
            setattr(GLFTMarketMaker, name, function)
    return best


def main(argv: list[str] | None = None) -> int:
    args = catalog_arguments(__doc__, 5, "runs per catalog; the least strategy time is kept").parse_args(argv)
    settings = load_venue_config(args.config)
    catalogs = [ready_catalog(catalog) for catalog in args.catalog or DEFAULT_CATALOGS]  # all, before measuring
    print(f"{'catalog':<28}{'cycles':>8}{'µs/cycle':>10}{'µs/batch':>10}{'share':>8}{'points/s':>10}")
    for catalog in catalogs:
        per_cycle_us, per_batch_us, share, rate, cycles = measure(settings, catalog, args.repeats)
        print(f"{catalog.name:<28}{cycles:>8,}{per_cycle_us:>10.1f}{per_batch_us:>10.1f}{share:>8.1%}{rate:>10,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
