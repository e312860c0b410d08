#!/usr/bin/env python
"""Strategy quality vs NautilusTrader's ``GridMarketMaker`` example on the same data, venue and fill model (DESIGN §8).

For each dataset (a venue+instrument config and a catalog) both strategies replay the same catalog through the same
simulated venue (the instrument's: HYPERLIQUID or BINANCE); the grid additionally gets the catalog's quotes, which it
trades on. The grid runs at the anchor's shape (3 levels, 2 bps, requote at 5 bps) with our order size (0.01 BTC on
BTC) and prices rounded by the config's venue rules, as ours are (``grid_baseline.py``: Hyperliquid's level rules,
the instrument's tick on Binance). Both are scored by the same report code (fills → markouts, PnL split, time
two-sided from the orders' own accept/close events), with the mids of the book both saw.

    python benchmarks/compare_grid.py                       # every bundled dataset whose catalog exists
    python benchmarks/compare_grid.py --dataset configs/hyperliquid_eth.json:data/catalog_hl_eth
    python benchmarks/compare_grid.py --dataset configs/binance_btcusdt.json:data/catalog_binance_btcusdt

``make catalogs`` builds the catalogs of the bundled real data (archive hour, 9-minute BTC/ETH/SOL with trades,
26 s WS recording, 5.7 minutes of Binance USD-M BTCUSDT).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from nautilus_trader.model.data import OrderBookDelta  # noqa: E402
from nautilus_trader.model.enums import LiquiditySide  # noqa: E402
from nautilus_trader.model.enums import OrderSide  # noqa: E402
from nautilus_trader.model.events import OrderAccepted  # noqa: E402
from nautilus_trader.model.events import OrderFilled  # noqa: E402
from nautilus_trader.model.events import OrderPendingCancel  # noqa: E402
from nautilus_trader.model.events import OrderSubmitted  # noqa: E402
from nautilus_trader.model.identifiers import InstrumentId  # noqa: E402
from nautilus_trader.persistence.catalog import ParquetDataCatalog  # noqa: E402
from nautilus_trader.trading.config import ImportableStrategyConfig  # noqa: E402

from mm_strategy.backtest import catalog_instrument  # noqa: E402
from mm_strategy.backtest import run_backtest  # noqa: E402
from mm_strategy.equity import equity_usd  # noqa: E402
from mm_strategy.node_config import VenueInstrumentConfig  # noqa: E402
from mm_strategy.node_config import load_venue_config  # noqa: E402
from mm_strategy.reporting import compute_metrics  # noqa: E402
from mm_strategy.reporting.exit_cost import exit_terms  # noqa: E402
from mm_strategy.reporting.metrics import FEED_DOWN_TRIGGER  # noqa: E402
from mm_strategy.reporting.inputs import FillRecord  # noqa: E402
from mm_strategy.session_report import requests_of  # noqa: E402
from run_backtest import has_book_data  # noqa: E402
from run_backtest import no_book_data  # noqa: E402

GRID = {"num_levels": 3, "grid_step_bps": 2, "requote_threshold_bps": 5, "skew_factor": 0.0}
DEFAULT_DATASETS = (
    ("hl 9 min BTC (trades)", "configs/hyperliquid_btc.json", "data/catalog_hl_btc"),
    ("hl 9 min ETH (trades)", "configs/hyperliquid_eth.json", "data/catalog_hl_eth"),
    ("hl 9 min SOL (trades)", "configs/hyperliquid_sol.json", "data/catalog_hl_sol"),
    ("ws 26 s BTC (trades)", "configs/hyperliquid_btc.json", "data/catalog_ws26"),
    ("archive 1 h BTC (book only)", "configs/hyperliquid_btc.json", "data/catalog"),
    ("binance 5.7 min BTCUSDT", "configs/binance_btcusdt.json", "data/catalog_binance_btcusdt"),
)
COLUMNS = (
    ("fills", 6, "d"), ("events", 7, "d"), ("fills/h", 8, ".0f"), ("live", 6, ".0f"), ("net", 9, ".3f"),
    ("net_exit", 9, ".3f"), ("spread", 8, ".3f"), ("fees", 7, ".3f"), ("mo5s bp", 8, ".2f"), ("±se", 6, ".2f"),
    ("cl", 4, "d"), ("2-sided%", 9, ".1f"), ("max|q|", 9, ".4g"), ("kills", 6, "d"), ("req/h", 7, ",.0f"),
    ("$/req", 7, ".2f"),
)


@dataclass(frozen=True)
class Score:
    fills: int
    fill_events: int
    fills_per_hour: float
    fills_per_hour_live_feed: float
    net: float
    net_after_exit: float
    spread: float
    fees: float
    markout_5s_bps: float
    markout_5s_se_bps: float
    markout_5s_se_clusters: int
    two_sided_pct: float
    max_abs_q: float
    kills: int
    requests_per_hour: float
    notional_per_request: float

    @classmethod
    def of(cls, metrics: dict) -> Score:
        pnl = metrics["pnl"]
        at_5s = metrics["markouts"]["by_group"]["all"]["horizons"]["5s"]
        return cls(
            fills=metrics["fills"]["count"],
            fill_events=metrics["fills"]["fill_events"],
            fills_per_hour=metrics["fills"]["fills_per_hour"] or 0.0,
            fills_per_hour_live_feed=metrics["fills"]["fills_per_hour_live_feed"] or 0.0,
            net=pnl["net"],
            net_after_exit=_or_nan(pnl["net_after_exit"]),
            spread=pnl["spread_capture"],
            fees=pnl["fees"],
            markout_5s_bps=_or_nan(at_5s["markout_bps"]),
            markout_5s_se_bps=_or_nan(at_5s["markout_se_bps"]),
            markout_5s_se_clusters=at_5s["markout_se_clusters"],
            two_sided_pct=100 * metrics["quoting"]["two_sided_frac_live_feed"],
            max_abs_q=metrics["position"]["max_abs"],
            # trips other than the stale-book pull and halt, which fire on the capture's real recorder outages
            kills=sum(not e["cleared"] and not e["trigger"].startswith("stale_book") for e in metrics["kill_events"]),
            requests_per_hour=metrics["requests"]["per_hour"] or 0.0,
            notional_per_request=_or_nan(metrics["requests"]["notional_per_request"]),
        )


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


def _is_nan(value: float | int) -> bool:
    return isinstance(value, float) and math.isnan(value)


def requests_sent(cache, strategy_id) -> tuple[int, int]:
    """(orders, cancels) a strategy without our request counters sent, from the cache: every order it submitted,
    and every cancel request (each leaves an ``OrderPendingCancel`` on its order)."""
    orders = cache.orders(strategy_id=strategy_id)
    submitted = sum(1 for order in orders if any(type(e) is OrderSubmitted for e in order.events))
    cancels = sum(1 for order in orders for e in order.events if type(e) is OrderPendingCancel)
    return submitted, cancels


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


def quotes_from_orders(engine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ts, best bid, best ask) of our resting orders, from each order's accept and close events."""
    changes = []  # (ts, +1 open / -1 close, side, price)
    for order in engine.cache.orders():
        accepted = next((e.ts_event for e in order.events if isinstance(e, OrderAccepted)), None)
        if accepted is None:
            continue
        px = order.price.as_double()
        changes.append((accepted, 1, order.side, px))
        if order.is_closed:
            changes.append((order.ts_last, -1, order.side, px))
    changes.sort(key=lambda c: (c[0], -c[1]))  # an order accepted and closed in one instant opens first
    open_px: dict[OrderSide, list[float]] = {OrderSide.BUY: [], OrderSide.SELL: []}
    ts, bids, asks = [], [], []
    for when, step, side, px in changes:
        if step > 0:
            open_px[side].append(px)
        else:
            open_px[side].remove(px)
        ts.append(when)
        bids.append(max(open_px[OrderSide.BUY], default=math.nan))
        asks.append(min(open_px[OrderSide.SELL], default=math.nan))
    return np.array(ts, dtype=np.int64), np.array(bids), np.array(asks)


def grid_settings(settings: VenueInstrumentConfig) -> VenueInstrumentConfig:
    own = settings.strategy.config
    grid_config = {
        "instrument_id": own["instrument_id"],
        "max_position": str(own["risk"]["max_position"]),
        "trade_size": own["order_size"],
        "venue_rules": settings.venue.rules,
        **GRID,
    }
    grid_strategy = ImportableStrategyConfig(
        strategy_path="benchmarks.grid_baseline:VenueRulesGridMarketMaker",
        config_path="benchmarks.grid_baseline:VenueRulesGridMarketMakerConfig",
        config=grid_config,
    )
    return msgspec.structs.replace(settings, strategy=grid_strategy, actors=[])


def compare(config: Path, catalog: Path) -> tuple[Score, Score]:
    settings = load_venue_config(config)
    ours = run_backtest(settings, catalog)
    strategy = ours.engine.trader.strategies()[0]
    start = settings.backtest.starting_balance_usd
    mid = strategy.recorder.mid[-1]
    final = equity_usd(ours.engine.portfolio, ours.engine.cache, strategy.config.instrument_id, mid)
    # both strategies would flatten into the same final book at the same taker fee
    exit_fields = exit_terms(ours.engine.cache, strategy.config.instrument_id)
    our_inputs = replace(strategy.recorder.to_report_inputs(start, final, {}), **requests_of(strategy), **exit_fields)
    ours_score = Score.of(compute_metrics(our_inputs))
    ours.node.dispose()

    # the grid is scored from the engine's cache (fills, quotes, requests): it must keep every closed order
    grid = run_backtest(grid_settings(settings), catalog, include_quotes=True, purge_closed_orders=False)
    quote_ts, quote_bid, quote_ask = quotes_from_orders(grid.engine)
    grid_orders, grid_cancels = requests_sent(grid.engine.cache, grid.engine.trader.strategies()[0].id)
    grid_inputs = our_inputs.__class__(
        instrument_id=our_inputs.instrument_id,
        mid_ts_ns=our_inputs.mid_ts_ns,
        mid=our_inputs.mid,
        quote_ts_ns=quote_ts,
        quote_bid=quote_bid,
        quote_ask=quote_ask,
        fills=engine_fills(grid.engine),
        starting_equity=start,
        final_equity=equity_usd(grid.engine.portfolio, grid.engine.cache, strategy.config.instrument_id, mid),
        # the feed's outages are the data's, not the strategy's: both are judged on the same live-feed time
        kill_events=[e for e in our_inputs.kill_events if e.trigger == FEED_DOWN_TRIGGER],
        orders_sent=grid_orders,
        cancels_sent=grid_cancels,
        **exit_fields,
    )
    grid_score = Score.of(compute_metrics(grid_inputs))
    grid.node.dispose()
    return ours_score, grid_score


def format_row(dataset: str, name: str, score: Score) -> str:
    cells = "".join(
        f"{'n/a':>{w}}" if _is_nan(getattr(score, f)) else f"{getattr(score, f):>{w}{fmt}}"
        for f, (_, w, fmt) in zip(Score.__dataclass_fields__, COLUMNS)
    )
    return f"{dataset:<30}{name:<10}{cells}"


def parse_dataset(text: str) -> tuple[str, str, str]:
    config, sep, catalog = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"--dataset wants CONFIG:CATALOG, got {text!r}")
    return (Path(catalog).name, config, catalog)


def dataset_problem(config: Path, catalog: Path) -> str | None:
    """Why a dataset cannot run (a bad config, a catalog without book data or without the config's instrument),
    checked for every dataset before the first backtest starts."""
    try:
        settings = load_venue_config(config)
    except ValueError as exc:
        return str(exc)  # names the file and the field
    if not has_book_data(catalog):
        return no_book_data(catalog)
    try:
        catalog_instrument(catalog, InstrumentId.from_str(settings.instrument_id))
    except ValueError as exc:
        return f"{config} on {catalog}: {exc}"
    return None


def priors_in_sample(config: Path, catalog: Path) -> bool:
    """Whether the config's priors were fitted on data of this catalog's stretch (their ``priors.fitted_on`` stamp):
    its figures then come from a strategy that has seen this very data through κ, A and σ. The bundled captures are
    the shipped configs' own calibration data, so ``make compare`` is in-sample for the priors; a held-out file
    (``make heldout``) must not be."""
    settings = load_venue_config(config)
    fitted_on = settings.priors.fitted_on
    if fitted_on is None:
        return False
    data = ParquetDataCatalog(str(catalog))
    first = data.query_first_timestamp(OrderBookDelta, settings.instrument_id)
    last = data.query_last_timestamp(OrderBookDelta, settings.instrument_id)
    if first is None or last is None:
        return False
    return first <= pd.Timestamp(fitted_on.end) and last >= pd.Timestamp(fitted_on.start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=parse_dataset, action="append", help="CONFIG:CATALOG (repeatable)")
    args = parser.parse_args(argv)
    datasets = args.dataset or [d for d in DEFAULT_DATASETS if (REPO_ROOT / d[2]).exists()]
    if not datasets:
        print("no catalog found: run `make catalogs` first", file=sys.stderr)
        return 2
    for _, config, catalog in datasets:
        problem = dataset_problem(REPO_ROOT / config, REPO_ROOT / catalog)
        if problem is not None:
            print(f"dataset error: {problem}", file=sys.stderr)
            return 2
    header = "".join(f"{name:>{w}}" for name, w, _ in COLUMNS)
    print(f"{'dataset':<30}{'strategy':<10}{header}")
    totals = {"ours": 0.0, "grid": 0.0}
    with_trades = {"ours": 0.0, "grid": 0.0}
    for label, config, catalog in datasets:
        ours, grid = compare(REPO_ROOT / config, REPO_ROOT / catalog)
        in_sample = priors_in_sample(REPO_ROOT / config, REPO_ROOT / catalog)
        print(format_row(f"{label} *" if in_sample else label, "GLFT", ours))
        print(format_row("", "grid", grid))
        traded = "trade_tick" in ParquetDataCatalog(str(REPO_ROOT / catalog)).list_data_types()
        for name, score in (("ours", ours), ("grid", grid)):
            totals[name] += score.net
            with_trades[name] += score.net if traded else 0.0
    print(f"total net: GLFT {totals['ours']:+.3f}, grid {totals['grid']:+.3f} (quote currency: USDC, USDT); on data "
          f"with trades: GLFT {with_trades['ours']:+.3f}, grid {with_trades['grid']:+.3f}")
    print("*: in-sample for the priors: the config's κ, A and σ were fitted on this data (priors.fitted_on)")
    print(
        "events: independent fill events, a same-side burst (fills <= 20 ms apart, one taker sweep) counted once;"
        " fills counts the backtest's one per trade print. live: fills/h and 2-sided% over the time the feed was live"
        " (the data's outages, the same for both); kills leave out stale-book trips on feed outages. net_exit: net"
        " less flattening the final position (taker fee + half the final spread). ±se: the 5 s markout's standard"
        " error, fills whose 5 s windows overlap one cluster (n/a below 5 clusters); cl: those clusters. req/h:"
        " order + cancel + modify requests an hour; $/req: fill notional traded per request (Hyperliquid grants 1"
        " request per USDC traded after 10,000)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
