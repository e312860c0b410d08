#!/usr/bin/env python
"""Fingerprint of everything a backtest decides, per dataset: did a change made for speed keep results identical?

Issue 13's rule: a speed change keeps results identical on the bundled data (same fills, same PnL), or says exactly
what changed. Fills and PnL alone miss most of what a quote cycle decides (a backtest of the archive hour fills 9
orders but sends ~2,300 requests), so the fingerprint covers, for the config's strategy on each dataset:

- every command it sent: each submit (time, side, price, size, post-only, reduce-only, placement tags), each modify
  (time, new price and size) and each cancel, read back from the run's orders (``order_replay.commands_from_orders``,
  with the engine purging nothing);
- every fill (time, price, size, liquidity side) and the final position and PnL;
- what the strategy recorded for the report: mids, quotes, fills, kill events, every estimator and model series;
  and its counters (quote cycles, orders, cancels, modifies sent).

Each part is hashed (floats by ``repr``: bit for bit), so two trees compare in seconds once each has run:

    python benchmarks/fingerprint.py --save before.json        # on the tree before the change
    python benchmarks/fingerprint.py --compare before.json     # on the tree after it: IDENTICAL or what differs
    python benchmarks/fingerprint.py --dataset configs/hyperliquid_eth.json:data/catalog_hl_eth

Datasets default to ``compare_grid.py``'s (those whose catalog is built). Exit status 1 when ``--compare`` finds a
difference, 2 on a bad dataset.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from nautilus_trader.model.events import OrderFilled  # noqa: E402

from benchmarks.compare_grid import DEFAULT_DATASETS  # noqa: E402
from benchmarks.compare_grid import dataset_problem  # noqa: E402
from benchmarks.compare_grid import parse_dataset  # noqa: E402
from benchmarks.order_replay import commands_from_orders  # noqa: E402
from mm_strategy.backtest import run_backtest  # noqa: E402
from mm_strategy.node_config import load_venue_config  # noqa: E402

PARTS = ("commands", "fills", "recorded")


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, default=repr).encode()).hexdigest()[:16]


def fingerprint(config: Path, catalog: Path) -> dict[str, object]:
    """Counts and hashes of one backtest's commands, fills and recorded series (module docstring)."""
    outcome = run_backtest(load_venue_config(config), catalog, purge_closed_orders=False)
    try:
        strategy = outcome.engine.trader.strategies()[0]
        orders = [o for o in outcome.engine.cache.orders() if o.strategy_id == strategy.id]
        commands = [[repr(field) for field in command] for command in commands_from_orders(orders)]
        fills = [
            [e.ts_event, e.client_order_id.value, repr(e.last_px), repr(e.last_qty), e.liquidity_side.name]
            for order in orders
            for e in order.events
            if isinstance(e, OrderFilled)
        ]
        fills.sort()
        positions = [[repr(p), repr(p.realized_pnl)] for p in outcome.engine.cache.positions()]
        recorder = strategy.recorder
        recorded = [
            [repr(x) for x in recorder.mid], recorder.mid_ts_ns, recorder.quote_ts_ns,
            [repr(x) for x in recorder.quote_bid], [repr(x) for x in recorder.quote_ask],
            [repr(f) for f in recorder.fills], [repr(k) for k in recorder.kill_events], repr(recorder.funding),
            {name: [series[0], [repr(x) for x in series[1]]] for name, series in sorted(recorder.series.items())},
            [strategy.quote_cycles, strategy.orders_sent, strategy.cancels_sent, strategy.modifies_sent],
        ]
        return {
            "commands": [len(commands), _digest(commands)],
            "fills": [len(fills), _digest([fills, positions])],
            "recorded": [strategy.quote_cycles, _digest(recorded)],
        }
    finally:
        outcome.node.dispose()


def differences(saved: dict, measured: dict) -> list[str]:
    """What differs between two fingerprint files' datasets present in both; a dataset in one only is named too."""
    found = [f"{name}: not in both" for name in sorted(set(saved) ^ set(measured))]
    for name in sorted(set(saved) & set(measured)):
        found += [
            f"{name}: {part} {saved[name][part]} -> {measured[name][part]}"
            for part in PARTS
            if saved[name][part] != measured[name][part]
        ]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=parse_dataset, action="append", help="CONFIG:CATALOG (repeatable)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--save", type=Path, help="write the fingerprints to this JSON file")
    action.add_argument("--compare", type=Path, help="compare with a file --save wrote")
    args = parser.parse_args(argv)
    datasets = args.dataset or [d for d in DEFAULT_DATASETS if (REPO_ROOT / d[2]).exists()]
    for _, config, catalog in datasets:
        if (problem := dataset_problem(REPO_ROOT / config, REPO_ROOT / catalog)) is not None:
            print(f"dataset error: {problem}", file=sys.stderr)
            return 2
    measured = {}
    for _, config, catalog in datasets:
        name = f"{Path(config).name}:{Path(catalog).name}"
        measured[name] = fingerprint(REPO_ROOT / config, REPO_ROOT / catalog)
        print(name, " ".join(f"{part} {measured[name][part][0]} {measured[name][part][1]}" for part in PARTS))
    if args.save is not None:
        args.save.write_text(json.dumps(measured, indent=1))
        print(f"saved to {args.save}")
    if args.compare is not None:
        found = differences(json.loads(args.compare.read_text()), measured)
        print("IDENTICAL" if not found else "DIFFERENT:\n  " + "\n  ".join(found))
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
