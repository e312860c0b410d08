#!/usr/bin/env python
"""Cost of the online estimators: µs per book event of each model, and the actors' cost inside the engine.

Part 1, models without the engine: the real hour's book batches (the deltas the catalog holds, applied to a
NautilusTrader ``OrderBook``, one event per batch as the actors receive them) are turned into (ts, best bid, best
ask, mid) once, then replayed through each model's per-book-event input. Two columns: the feed alone, and the feed
plus an ``estimate`` on every event (what ``publish_interval_ms = 0`` costs; the default 250 ms publishes on ~1 event in
1.5). Fill-driven work (fills, resting spells) happens per own order event, not per book event, and is not in
these rows; fill_rate and calibration have no per-book input, so their rows are ``estimate`` alone. One more row
times the KappaActor's read of the best bid and ask from the ``OrderBook``, wiring the model rows do not include.

Part 2, the engine: the same catalog replayed by ``run_backtest`` bare (no components) and with the seven actors
(the strategy a no-op ``Strategy``, so the ratio is the actors' cost alone), and, when the shared config loads, with
its strategy plus the seven actors (the full stack). Best of ``--repeats`` runs each, in one process.

    python benchmarks/estimators.py [--catalog data/catalog] [--config configs/hyperliquid_btc.json] [--repeats 2]

Numbers depend on the machine; nothing here is asserted anywhere.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import msgspec  # noqa: E402
from nautilus_trader.common.config import ImportableActorConfig  # noqa: E402
from nautilus_trader.model.book import OrderBook  # noqa: E402
from nautilus_trader.model.enums import BookType  # noqa: E402
from nautilus_trader.model.enums import RecordFlag  # noqa: E402
from nautilus_trader.trading.config import ImportableStrategyConfig  # noqa: E402

from adapters.hyperliquid import loaders  # noqa: E402
from mm_strategy.backtest import run_backtest  # noqa: E402
from mm_strategy.models.adverse_selection import AdverseSelectionModel  # noqa: E402
from mm_strategy.models.calibration import CalibrationController  # noqa: E402
from mm_strategy.models.fill_rate import FillRateModel  # noqa: E402
from mm_strategy.models.informed_flow import InformedFlowModel  # noqa: E402
from mm_strategy.models.kappa import KappaModel  # noqa: E402
from mm_strategy.models.volatility import VolatilityModel  # noqa: E402
from mm_strategy.models.warmup import WarmupTracker  # noqa: E402
from mm_strategy.node_config import BacktestSettings  # noqa: E402
from mm_strategy.node_config import VenueInstrumentConfig  # noqa: E402
from mm_strategy.node_config import load_venue_config  # noqa: E402
from run_backtest import DEFAULT_CATALOG  # noqa: E402
from run_backtest import DEFAULT_CONFIG  # noqa: E402
from run_backtest import ensure_catalog  # noqa: E402

ACTOR_NAMES = ("Kappa", "Volatility", "FillRate", "AdverseSelection", "Calibration", "InformedFlow", "Warmup")
NO_OP_STRATEGY = ImportableStrategyConfig(
    strategy_path="nautilus_trader.trading.strategy:Strategy",
    config_path="nautilus_trader.trading.config:StrategyConfig",
    config={},
)

BookEvent = tuple[int, float, float, float]  # (ts, best bid, best ask, mid)
# (model factory, feed of one book event, or None when the model has no per-book input)
ModelBench = tuple[Callable[[], object], Callable[[object, BookEvent], None] | None]

MODELS: dict[str, ModelBench] = {
    "kappa": (KappaModel, lambda m, e: m.on_book(e[0], e[1], e[2])),
    "volatility": (VolatilityModel, lambda m, e: m.on_mid(e[0], e[3])),
    "fill_rate": (FillRateModel, None),
    "adverse_selection": (AdverseSelectionModel, lambda m, e: m.on_mid(e[0], e[3])),
    "calibration": (CalibrationController, None),
    "informed_flow": (InformedFlowModel, lambda m, e: m.on_mid(e[0], e[3])),
    "warmup": (WarmupTracker, lambda m, e: m.on_market_data(e[0])),
}


def book_batches(archive: Path) -> tuple[list[BookEvent], list]:
    """Each batch of the hour as model inputs (extracted once, outside any timing), and the hour's deltas, which
    ``time_extraction`` replays to time the extraction on a live book."""
    instrument = loaders.default_instrument()
    result = loaders.parse_file(archive, instrument, checkpoint_s=loaders.DEFAULT_CHECKPOINT_S, heartbeat=True)
    book = OrderBook(instrument.id, BookType.L2_MBP)
    events: list[BookEvent] = []
    for delta in result.deltas:
        book.apply_delta(delta)
        if delta.flags & RecordFlag.F_LAST:
            mid = book.midpoint()
            if mid is not None:
                events.append(
                    (delta.ts_event, book.best_bid_price().as_double(), book.best_ask_price().as_double(), mid)
                )
    return events, result.deltas


def time_extraction(deltas: list) -> float:
    """µs per batch to read the best bid and ask of the live ``OrderBook`` (KappaActor's wiring)."""
    book = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    spent, batches = 0.0, 0
    for delta in deltas:
        book.apply_delta(delta)
        if delta.flags & RecordFlag.F_LAST:
            started = time.perf_counter()
            book.best_bid_price().as_double()
            book.best_ask_price().as_double()
            spent += time.perf_counter() - started
            batches += 1
    return spent / batches * 1e6


def time_models(events: list[BookEvent], names: list[str], with_estimate: bool) -> float:
    """µs per book event for the named models fed together (fresh models each call)."""
    benches = [(MODELS[name][0](), MODELS[name][1]) for name in names]
    started = time.perf_counter()
    for event in events:
        for model, feed in benches:
            if feed is not None:
                feed(model, event)
            if with_estimate:
                model.estimate(event[0])
    return (time.perf_counter() - started) / len(events) * 1e6


def best_of(repeats: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(repeats))


def estimator_actors(instrument_id: str) -> list[ImportableActorConfig]:
    return [
        ImportableActorConfig(
            actor_path=f"mm_strategy.actors:{name}Actor",
            config_path=f"mm_strategy.actors:{name}ActorConfig",
            config={"instrument_id": instrument_id},
        )
        for name in ACTOR_NAMES
    ]


def engine_rate(
    settings: VenueInstrumentConfig, catalog: Path, with_components: bool, repeats: int
) -> tuple[int, float]:
    """Best of ``repeats``: (data points, wall seconds)."""
    best: tuple[int, float] | None = None
    for _ in range(repeats):
        outcome = run_backtest(settings, catalog, with_components=with_components)
        sample = (outcome.result.iterations, outcome.wall_s)
        outcome.node.dispose()
        if best is None or sample[1] < best[1]:
            best = sample
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", type=Path, default=loaders.DEFAULT_ARCHIVE)
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the fastest is kept")
    args = parser.parse_args(argv)

    events, deltas = book_batches(args.archive)
    print(f"models alone: {len(events):,} book events of the real hour, µs per event (best of {args.repeats})")
    print(f"{'model':<34}{'feed':>10}{'feed+estimate':>16}")
    for name, (_, feed) in MODELS.items():
        feed_text = f"{best_of(args.repeats, lambda: time_models(events, [name], False)):.2f}" if feed else "-"
        both_us = best_of(args.repeats, lambda: time_models(events, [name], True))
        print(f"{name:<34}{feed_text:>10}{both_us:>16.2f}")
    all_feed = best_of(args.repeats, lambda: time_models(events, list(MODELS), False))
    all_both = best_of(args.repeats, lambda: time_models(events, list(MODELS), True))
    print(f"{'all seven together':<34}{all_feed:>10.2f}{all_both:>16.2f}")
    extraction_us = best_of(args.repeats, lambda: time_extraction(deltas))
    print(f"{'KappaActor: best prices from book':<34}{extraction_us:>10.2f}")

    ensure_catalog(args.catalog)
    instrument_id = loaders.default_instrument().id.value
    actors = estimator_actors(instrument_id)
    actors_only = VenueInstrumentConfig(
        instrument_id=instrument_id, coin="BTC", strategy=NO_OP_STRATEGY, actors=actors, backtest=BacktestSettings()
    )
    variants = [("bare engine replay", actors_only, False), ("seven actors (no-op strategy)", actors_only, True)]
    try:
        shared = load_venue_config(args.config)
        variants.append(("full stack (strategy + seven actors)", msgspec.structs.replace(shared, actors=actors), True))
    except ValueError as exc:
        print(f"\nfull stack skipped: {exc}")
    print(f"\nengine on the same catalog ({args.catalog}), best of {args.repeats}")
    print(f"{'variant':<38}{'data points':>12}{'wall s':>9}{'points/s':>12}{'vs bare':>9}")
    bare_rate = None
    for label, settings, with_components in variants:
        points, wall_s = engine_rate(settings, args.catalog, with_components, args.repeats)
        rate = points / wall_s
        bare_rate = bare_rate or rate
        print(f"{label:<38}{points:>12,}{wall_s:>9.2f}{rate:>12,.0f}{rate / bare_rate:>9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
