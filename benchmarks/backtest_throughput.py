#!/usr/bin/env python
"""Bare engine replay vs the full market-making stack on the same catalogs, in one run (DESIGN §8, issue 13).

For each catalog (default: the archive hour, book only, and the 9-minute BTC capture with trades) three variants
replay the same data, best of ``--repeats`` each:

- bare: no strategy, no actors (the engine's data path alone);
- full: the config's strategy, seven estimator actors and risk;
- order-flow floor: the full run's own order commands replayed by a strategy that computes nothing
  (``order_replay.py``): what the engine spends on those orders alone. No strategy sending these orders can run
  faster than this, so ``floor/bare`` bounds ``full/bare`` from above and ``full/floor`` is our components' share.

"Data points" are the engine's iterations (one per book delta or trade); the goal is full ≥ 0.5× bare.

    python benchmarks/backtest_throughput.py [--catalog data/catalog --catalog data/catalog_hl_btc] [--repeats 3]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import msgspec  # noqa: E402

from benchmarks.order_replay import commands_from_orders  # noqa: E402
from benchmarks.order_replay import replay_strategy  # noqa: E402
from mm_strategy.backtest import run_backtest  # noqa: E402
from mm_strategy.node_config import load_venue_config  # noqa: E402
from run_backtest import DEFAULT_CATALOG  # noqa: E402
from run_backtest import DEFAULT_CONFIG  # noqa: E402
from run_backtest import catalog_problem  # noqa: E402

GOAL_RATIO = 0.5
DEFAULT_CATALOGS = (DEFAULT_CATALOG, REPO_ROOT / "data" / "catalog_hl_btc")


class Sample(msgspec.Struct):
    points: int
    wall_s: float
    filled_orders: int = 0
    orders: list | None = None  # the strategy's orders (full runs), for the floor's commands
    published: int = 0
    reads: int = 0

    @property
    def rate(self) -> float:
        return self.points / self.wall_s


def measure(settings, catalog: Path, with_components: bool, repeats: int) -> Sample:
    """The fastest of ``repeats`` runs."""
    best: Sample | None = None
    for _ in range(repeats):
        # every order stays in the cache: the floor replays them all (on a catalog over an hour the engine would
        # otherwise purge the closed ones, backtest.purge_settings)
        outcome = run_backtest(settings, catalog, with_components=with_components, purge_closed_orders=False)
        engine = outcome.engine
        sample = Sample(outcome.result.iterations, outcome.wall_s)
        if with_components:
            orders = list(engine.cache.orders())
            sample.filled_orders = sum(1 for o in orders if o.filled_qty > 0)
            sample.orders = orders
            actors = engine.trader.actors()
            sample.published = sum(getattr(a, "published", 0) for a in actors)
            sample.reads = sum(getattr(a, "reads", 0) for a in actors)
        outcome.node.dispose()
        if best is None or sample.wall_s < best.wall_s:
            best = sample
    return best


def catalog_arguments(description: str, repeats: int, repeats_help: str) -> argparse.ArgumentParser:
    """The command line the backtest benchmarks share: catalogs (repeatable), the config, repeats per measurement."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, action="append", help="repeatable (default: archive hour, hl BTC)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--repeats", type=int, default=repeats, help=repeats_help)
    return parser


def ready_catalog(catalog: Path) -> Path:
    """The bundled archive-hour catalog (``DEFAULT_CATALOG``) is built on first use; any other must already hold
    book data, as ``run_backtest.py`` requires (``run_backtest.catalog_problem``). Exits with the way to build it."""
    if (problem := catalog_problem(catalog, DEFAULT_CATALOG)) is not None:
        raise SystemExit(f"catalog error: {problem}")
    return catalog


def bench_catalog(settings, catalog: Path, repeats: int) -> float:
    """Print the three variants for one catalog (ready: ``ready_catalog``); returns full/bare."""
    bare = measure(settings, catalog, with_components=False, repeats=repeats)
    full = measure(settings, catalog, with_components=True, repeats=repeats)
    with tempfile.TemporaryDirectory() as tmp:
        commands_path = Path(tmp) / "commands.pkl"
        commands_path.write_bytes(pickle.dumps(commands_from_orders(full.orders)))
        strategy = replay_strategy(settings.strategy, settings.instrument_id, commands_path)
        replay = msgspec.structs.replace(settings, actors=[], strategy=strategy)
        floor = measure(replay, catalog, with_components=True, repeats=repeats)
    print(f"\n{catalog} ({bare.points:,} data points, best of {repeats})")
    print(f"{'variant':<34}{'wall s':>9}{'points/s':>12}{'vs bare':>9}")
    for label, sample in (
        ("bare engine replay", bare),
        ("full stack (strategy + actors)", full),
        ("order-flow floor (replayed orders)", floor),
    ):
        print(f"{label:<34}{sample.wall_s:>9.2f}{sample.rate:>12,.0f}{sample.rate / bare.rate:>9.3f}")
    ratio = full.rate / bare.rate
    verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
    print(
        f"orders {len(full.orders):,} (with fills: {full.filled_orders}; replayed: {floor.filled_orders}), "
        f"estimates published {full.published:,} of {full.reads:,} read"
    )
    print(
        f"ratio full/bare {ratio:.3f} (goal >= {GOAL_RATIO}: {verdict}); floor/bare {floor.rate / bare.rate:.3f} "
        f"bounds it (full/floor {full.rate / floor.rate:.3f}: our components' cost on top of the orders' own)"
    )
    return ratio


def main(argv: list[str] | None = None) -> int:
    args = catalog_arguments(__doc__, 3, "runs per variant; the fastest is kept").parse_args(argv)
    settings = load_venue_config(args.config)
    catalogs = [ready_catalog(catalog) for catalog in args.catalog or DEFAULT_CATALOGS]  # all, before measuring
    for catalog in catalogs:
        bench_catalog(settings, catalog, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
