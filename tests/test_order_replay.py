"""The order-flow floor (``benchmarks/order_replay.py``) replays a full run's orders to the same ends.

The floor bounds the full stack's throughput only if the engine does the same order work: every replayed order must
end as the full run's did (status, filled quantity). On the 9-minute BTC capture a cancel sent by the strategy's risk
timer just before a 45 s gap in the feed reached the venue a second later in the full run (the engine hands the venue
its pending commands at timer ticks) but only at the next data point in a replay without the strategy's timers,
where a trade filled the order first: 6 fills instead of 3.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import msgspec
import pytest

from benchmarks.order_replay import commands_from_orders
from benchmarks.order_replay import replay_strategy
from mm_strategy.backtest import run_backtest
from mm_strategy.node_config import load_venue_config

REPO_ROOT = Path(__file__).resolve().parents[1]


def _ends(orders) -> dict:
    return {(o.ts_init, o.side, str(o.price)): (o.status, str(o.filled_qty)) for o in orders}


def test_replayed_orders_end_as_the_full_runs(hl_btc_catalog, tmp_path) -> None:
    settings = load_venue_config(REPO_ROOT / "configs" / "hyperliquid_btc.json")
    full = run_backtest(settings, hl_btc_catalog)
    orders = list(full.engine.cache.orders())
    full.node.dispose()
    commands_path = tmp_path / "commands.pkl"
    commands_path.write_bytes(pickle.dumps(commands_from_orders(orders)))
    replay = msgspec.structs.replace(
        settings, actors=[], strategy=replay_strategy(settings.strategy, settings.instrument_id, commands_path)
    )
    replayed = run_backtest(replay, hl_btc_catalog)
    assert _ends(replayed.engine.cache.orders()) == _ends(orders)
    assert sum(o.filled_qty > 0 for o in orders) > 0  # the comparison covers fills
    replayed.node.dispose()
