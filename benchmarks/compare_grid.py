#!/usr/bin/env python
"""Strategy quality vs NautilusTrader's ``GridMarketMaker`` example on the same data, venue and fill model (DESIGN §8).

Both runs replay the same catalog through the same simulated HYPERLIQUID venue; the grid additionally gets the
catalog's quotes, which it trades on. Both are scored by the same report code (our fills → markouts, PnL split),
with the mids of the book both saw.

    python benchmarks/compare_grid.py [--catalog data/catalog] [--config configs/hyperliquid_btc.json]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import msgspec

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from nautilus_trader.model.enums import LiquiditySide  # noqa: E402
from nautilus_trader.model.enums import OrderSide  # noqa: E402
from nautilus_trader.model.events import OrderFilled  # noqa: E402
from nautilus_trader.trading.config import ImportableStrategyConfig  # noqa: E402

from mm_strategy.backtest import run_backtest  # noqa: E402
from mm_strategy.equity import equity_usdc  # noqa: E402
from mm_strategy.node_config import load_venue_config  # noqa: E402
from mm_strategy.reporting import compute_metrics  # noqa: E402
from mm_strategy.reporting.inputs import FillRecord  # noqa: E402
from run_backtest import DEFAULT_CATALOG  # noqa: E402
from run_backtest import DEFAULT_CONFIG  # noqa: E402
from run_backtest import ensure_catalog  # noqa: E402

GRID = {"num_levels": 3, "grid_step_bps": 2, "requote_threshold_bps": 5, "skew_factor": 0.0}


def engine_fills(engine) -> list[FillRecord]:
    """Fill records straight from the engine's order events, for a strategy without our recorder."""
    fills = []
    for order in engine.cache.orders():
        for event in order.events:
            if isinstance(event, OrderFilled):
                fills.append(
                    FillRecord(
                        ts_ns=event.ts_event,
                        side="BUY" if event.order_side == OrderSide.BUY else "SELL",
                        price=event.last_px.as_double(),
                        qty=event.last_qty.as_double(),
                        fee=event.commission.as_double(),
                        liquidity="MAKER" if event.liquidity_side == LiquiditySide.MAKER else "TAKER",
                        order_id=event.client_order_id.value,
                        level=-1,
                        placement_mid=math.nan,
                        placement_ts_ns=order.ts_init,
                    ),
                )
    return sorted(fills, key=lambda f: f.ts_ns)


def row(name: str, metrics: dict, wall_s: float, points: int) -> str:
    pnl, mo = metrics["pnl"], metrics["markouts"]["by_group"]["all"]["horizons"]["5s"]["markout_bps"]
    return (
        f"{name:<28}{metrics['fills']['count']:>6}{pnl['net']:>10.2f}{pnl['spread_capture']:>9.2f}{pnl['fees']:>8.2f}"
        f"{(mo if mo is not None else float('nan')):>9.2f}{100 * metrics['quoting']['two_sided_frac']:>9.2f}"
        f"{metrics['position']['max_abs']:>9.4f}{points / wall_s:>10,.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    args = parser.parse_args(argv)
    settings = load_venue_config(args.config)
    ensure_catalog(args.catalog)
    ours = run_backtest(settings, args.catalog)
    strategy = ours.engine.trader.strategies()[0]
    start = settings.backtest.starting_balance_usdc
    mid = strategy.recorder.mid[-1]
    our_inputs = strategy.recorder.to_report_inputs(start, equity_usdc(ours.engine.portfolio, ours.engine.cache, strategy.config.instrument_id, mid), {})
    our_metrics = compute_metrics(our_inputs)

    own = settings.strategy.config
    grid_config = {"instrument_id": own["instrument_id"], "max_position": str(own["risk"]["max_position"]), "trade_size": own["order_size"], **GRID}
    grid_strategy = ImportableStrategyConfig(
        strategy_path="nautilus_trader.examples.strategies.grid_market_maker:GridMarketMaker",
        config_path="nautilus_trader.examples.strategies.grid_market_maker:GridMarketMakerConfig",
        config=grid_config,
    )
    grid = run_backtest(msgspec.structs.replace(settings, strategy=grid_strategy, actors=[]), args.catalog, include_quotes=True)
    grid_inputs = our_inputs.__class__(
        instrument_id=our_inputs.instrument_id,
        mid_ts_ns=our_inputs.mid_ts_ns,
        mid=our_inputs.mid,
        quote_ts_ns=our_inputs.quote_ts_ns[:0],
        quote_bid=our_inputs.quote_bid[:0],
        quote_ask=our_inputs.quote_ask[:0],
        fills=engine_fills(grid.engine),
        starting_equity=start,
        final_equity=equity_usdc(grid.engine.portfolio, grid.engine.cache, strategy.config.instrument_id, mid),
    )
    grid_metrics = compute_metrics(grid_inputs)
    print(f"{'strategy':<28}{'fills':>6}{'net':>10}{'spread':>9}{'fees':>8}{'mo5s bp':>9}{'2-sided%':>9}{'max|q|':>9}{'pts/s':>10}")
    print(row("GLFTMarketMaker (ours)", our_metrics, ours.wall_s, ours.result.iterations))
    print(row(f"GridMarketMaker {GRID['num_levels']}x{GRID['grid_step_bps']}bp", grid_metrics, grid.wall_s, grid.result.iterations))
    print(f"reconciliation error: ours {our_metrics['pnl']['reconciliation_error']:+.2e}, grid {grid_metrics['pnl']['reconciliation_error']:+.2e}")
    print("(grid two-sided % is not measured: it has no quote recorder)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
