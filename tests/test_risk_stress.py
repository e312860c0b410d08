"""The risk layer on stressed replays of the real hour (issue: kill switch, zones, reducing side).

Each scenario rewrites the real archive (a feed outage, a sustained adverse price gap), loads it through the
real loader into a catalog and runs the real backtest path, then reads what the strategy and its report saw.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from adapters.hyperliquid import catalog_cli
from adapters.hyperliquid.recordings import iter_ws_messages
from mm_strategy.backtest import DataRange
from mm_strategy.backtest import run_backtest
from mm_strategy.node_config import load_venue_config
from run_backtest import DEFAULT_CONFIG

GAP_AT_NS = 1_704_110_400_000_000_000 + 600 * 1_000_000_000  # 12:10:00 UTC (receive time)


def _rewrite(source: Path, target: Path, transform) -> Path:
    """Write ``<recv_ns> <ws json>`` lines (the collector format) after applying ``transform`` to each message."""
    with target.open("w") as out:
        for _, recv_ns, message in iter_ws_messages(source):
            kept = transform(recv_ns, message)
            if kept is not None:
                out.write(f"{recv_ns} {json.dumps(kept)}\n")
    return target


def _catalog(tmp_path: Path, recording: Path) -> Path:
    catalog = tmp_path / "catalog"
    assert catalog_cli.main([str(recording), "--catalog", str(catalog)]) == 0
    return catalog


def _settings(**risk_overrides):
    """The shipped config with risk overrides; the simulated account holds exactly ``capital_usd``."""
    settings = load_venue_config(DEFAULT_CONFIG)
    config = json.loads(json.dumps(settings.strategy.config))
    config["risk"].update(risk_overrides)
    strategy = msgspec.structs.replace(settings.strategy, config=config)
    backtest = msgspec.structs.replace(settings.backtest, starting_balance_usd=config["risk"]["capital_usd"])
    return msgspec.structs.replace(settings, strategy=strategy, backtest=backtest, actors=[])


def _run(settings, catalog: Path, end: str = "2024-01-01T12:30:00"):
    import pandas as pd

    outcome = run_backtest(settings, catalog, DataRange(end=pd.Timestamp(end, tz="UTC")))
    return outcome.engine.trader.strategies()[0], outcome


def test_feed_outage_pulls_then_halts_then_recovers(archive_btc_hour, tmp_path):
    # 40 s without any message from 12:10:00: pull at 5 s, halt at 30 s, both clear when data returns
    def outage(recv_ns, message):
        return None if GAP_AT_NS <= recv_ns < GAP_AT_NS + 40 * 1_000_000_000 else message

    catalog = _catalog(tmp_path, _rewrite(archive_btc_hour, tmp_path / "outage.txt", outage))
    strategy, outcome = _run(_settings(), catalog)
    triggers = [(e.trigger, e.to_state) for e in strategy.recorder.kill_events]
    assert ("stale_book", "ACTIVE") in triggers  # quotes pulled, state unchanged
    assert ("stale_book_halt", "HALTED") in triggers
    assert strategy.kill_switch.state == "ACTIVE"  # transient: cleared by the first book after the outage
    # no order of ours rested through the halt: every order open at the halt was cancelled before data resumed
    halt_ns = next(e.ts_ns for e in strategy.recorder.kill_events if e.trigger == "stale_book_halt")
    resumed_ns = GAP_AT_NS + 40 * 1_000_000_000
    for order in outcome.engine.cache.orders():
        if order.ts_init < halt_ns and (order.is_open or order.ts_last > resumed_ns):
            assert not order.is_open or order.ts_last <= resumed_ns
    quotes_during = [
        (ts, bid, ask)
        for ts, bid, ask in zip(strategy.recorder.quote_ts_ns, strategy.recorder.quote_bid, strategy.recorder.quote_ask)
        if halt_ns + 1_000_000_000 < ts < resumed_ns
    ]
    assert all(bid != bid and ask != ask for _, bid, ask in quotes_during)  # nan: nothing resting
    outcome.node.dispose()


def test_adverse_gap_trips_drawdown_and_the_position_is_reduced(archive_btc_hour, tmp_path):
    # From 12:10:00 every price is 1 % lower: our resting bids are run over and we are long into a loss.
    def gap(recv_ns, message):
        if recv_ns < GAP_AT_NS or message.get("channel") != "l2Book":
            return message
        for side in message["data"]["levels"]:
            for level in side:
                level["px"] = str(round(float(level["px"]) * 0.99))
        return message

    catalog = _catalog(tmp_path, _rewrite(archive_btc_hour, tmp_path / "gap.txt", gap))
    # a small account, so the gap is a real drawdown: 1 % of 300 USDC = 3 USDC
    settings = _settings(capital_usd=300.0, max_drawdown_pct=1.0, min_peak_usd=100.0, max_daily_loss_pct=50.0)
    strategy, outcome = _run(settings, catalog, end="2024-01-01T12:59:00")
    events = strategy.recorder.kill_events
    drawdown = next(e for e in events if e.trigger == "drawdown")
    assert drawdown.to_state == "REDUCING" and "%" in drawdown.detail
    fills = strategy.recorder.fills
    position_at_trip = sum((f.qty if f.side == "BUY" else -f.qty) for f in fills if f.ts_ns <= drawdown.ts_ns)
    assert position_at_trip > 0  # long after the gap down
    # while REDUCING only reduce-only sells were placed, and they reduced the position
    orders_after = [o for o in outcome.engine.cache.orders() if o.ts_init > drawdown.ts_ns]
    assert orders_after and all(o.side_string() == "SELL" and o.is_reduce_only for o in orders_after)
    position_end = sum((f.qty if f.side == "BUY" else -f.qty) for f in fills)
    assert 0 <= position_end < position_at_trip
    outcome.node.dispose()
