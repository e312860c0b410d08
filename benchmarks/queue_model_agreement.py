#!/usr/bin/env python
"""Book-only queue model vs trade-driven fills on the real data with trades, per coin (issue 10, fill fidelity).

For each coin and each order stream (our ``GLFTMarketMaker`` from the coin's config, and ``TouchProbe``, which
rests one order per side at the best price where queue position matters), two runs on the same catalog:
- trades: fills from trades through our price with NautilusTrader's queue position, plus the queue model in
  shadow (``drive_fills`` off) inferring fills for the very same orders from the book alone;
- queue: the queue model fills, the catalog's trades are not loaded at all.
Printed per row: same orders (orders trades filled, orders inferred, agreed = both with first fills within the
window, recall, precision, median inferred − trade time, and "on trade": trade-filled orders whose first fill came
on a trade rather than on a book crossing, with how many of those agreed) and two runs (order fills trades/queue,
buys of each, one-to-one matches on side within the time and price windows, recall, precision, median |Δt|, median
|Δprice| in bps).
See ``mm_strategy/queue_agreement.py`` for what each comparison means.

    python benchmarks/queue_model_agreement.py [--coins btc eth sol] [--kind queue_power] [--exponent 2]
        [--window-s 5] [--price-window-bps 1] [--catalog-template data/catalog_hl_{coin}] [--config-template configs/hyperliquid_{coin}.json]

A coin without its config file gets a temporary copy of the BTC config (ids replaced, ETH 0.1/1.0 and SOL 0.5/5.0
order size / max position), written under the system temp folder and named in the output.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import msgspec

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from nautilus_trader.backtest.node import BacktestNode  # noqa: E402
from nautilus_trader.model.enums import OrderSide  # noqa: E402
from nautilus_trader.model.events import OrderFilled  # noqa: E402
from nautilus_trader.model.identifiers import InstrumentId  # noqa: E402
from nautilus_trader.persistence.catalog import ParquetDataCatalog  # noqa: E402
from nautilus_trader.trading.config import ImportableStrategyConfig  # noqa: E402

from mm_strategy.backtest import queue_feed_module  # noqa: E402
from mm_strategy.backtest import run_config  # noqa: E402
from mm_strategy.node_config import VenueInstrumentConfig  # noqa: E402
from mm_strategy.node_config import load_venue_config  # noqa: E402
from mm_strategy.queue_agreement import OrderFill  # noqa: E402
from mm_strategy.queue_agreement import cross_run_agreement  # noqa: E402
from mm_strategy.queue_agreement import median_or_nan  # noqa: E402
from mm_strategy.queue_agreement import order_fills  # noqa: E402
from mm_strategy.queue_agreement import same_order_agreement  # noqa: E402
from mm_strategy.queue_fill_model import INFERRED_FILL_TOPIC  # noqa: E402
from mm_strategy.queue_model import FillModelSettings  # noqa: E402

FALLBACK_SIZES = {"eth": ("0.1", 1.0), "sol": ("0.5", 5.0)}  # order size, max position when a config is missing


def config_for(coin: str, template: str) -> tuple[Path, bool]:
    """The coin's config path, or a temporary one derived from BTC's (True when temporary)."""
    path = Path(template.format(coin=coin))
    if path.exists():
        return path, False
    size, max_position = FALLBACK_SIZES[coin]
    raw = json.loads(Path(template.format(coin="btc")).read_text().replace("BTC-USD-PERP", f"{coin.upper()}-USD-PERP"))
    raw["coin"] = coin.upper()
    strategy = raw["strategy"]["config"]
    strategy["order_size"] = size
    strategy.get("risk", {})["max_position"] = max_position
    temp = Path(tempfile.gettempdir()) / f"queue_agreement_hyperliquid_{coin}.json"
    temp.write_text(json.dumps(raw, indent=2))
    return temp, True


def probe_settings(settings: VenueInstrumentConfig) -> VenueInstrumentConfig:
    probe = ImportableStrategyConfig(
        strategy_path="mm_strategy.touch_probe:TouchProbe",
        config_path="mm_strategy.touch_probe:TouchProbeConfig",
        config={"instrument_id": settings.instrument_id, "order_size": settings.strategy.config["order_size"]},
    )
    return msgspec.structs.replace(settings, strategy=probe, actors=[])


def _run(config) -> tuple[object, list]:
    node = BacktestNode(configs=[config])
    node.build()  # subscribe before running, as NautilusTrader documents for collecting from the bus
    engine = node.get_engine(config.id)
    inferred = []
    engine.kernel.msgbus.subscribe(INFERRED_FILL_TOPIC, inferred.append)
    node.run()
    return engine, inferred


def _engine_fills(engine) -> list[OrderFill]:
    pieces = []
    for order in engine.cache.orders():
        for event in order.events:
            if isinstance(event, OrderFilled):
                side = "BUY" if event.order_side == OrderSide.BUY else "SELL"
                pieces.append((event.ts_event, event.client_order_id.value, side, event.last_px.as_double(), event.last_qty.as_double()))
    return order_fills(pieces)


def compare(
    settings: VenueInstrumentConfig,
    catalog: Path,
    fill_model: FillModelSettings,
    window_ns: int,
    price_window_bps: float,
) -> dict:
    """Trade-driven run with the queue model in shadow, then the queue-model run without trades. Both keep every
    order in the cache (no purge): the fills are read from it after the run."""
    trades_config = run_config(settings, catalog, purge_closed_orders=False)
    shadow_venue = msgspec.structs.replace(trades_config.venues[0], modules=[queue_feed_module(fill_model, drive_fills=False)])
    trades_engine, shadow = _run(msgspec.structs.replace(trades_config, venues=[shadow_venue]))
    queue_settings = msgspec.structs.replace(settings, backtest=msgspec.structs.replace(settings.backtest, fill_model=fill_model))
    queue_engine, _ = _run(run_config(queue_settings, catalog, include_trades=False, purge_closed_orders=False))
    trade_fills = _engine_fills(trades_engine)
    inferred = order_fills((f.ts_ns, f.client_order_id, f.side, f.price, f.qty) for f in shadow)
    instrument_id = InstrumentId.from_str(settings.instrument_id)
    return {
        "same": same_order_agreement(trade_fills, inferred, window_ns, trade_only_times(catalog, instrument_id)),
        "runs": cross_run_agreement(trade_fills, _engine_fills(queue_engine), window_ns, price_window_bps),
    }


def trade_only_times(catalog: Path, instrument_id: InstrumentId) -> frozenset[int]:
    """Receive times that carry trades and no book update: a fill at one of them was driven by a trade."""
    data = ParquetDataCatalog(str(catalog))
    trades = {t.ts_init for t in data.trade_ticks(instrument_ids=[instrument_id.value])}
    return frozenset(trades - {d.ts_init for d in data.order_book_deltas(instrument_ids=[instrument_id.value])})


HEADER = (
    f"{'coin':<5}{'stream':<7}| {'same orders: trd':>16}{'inf':>5}{'agree':>6}{'recall':>7}{'prec':>6}{'med dt s':>9}"
    f"{'on trade':>10} "
    f"| {'two runs: trd':>13}{'que':>5}{'buys t/q':>9}{'match':>6}{'recall':>7}{'prec':>6}{'|dt| s':>7}{'|dpx| bp':>9}"
)


def row(coin: str, stream: str, result: dict) -> str:
    same, runs = result["same"], result["runs"]
    return (
        f"{coin:<5}{stream:<7}| {same.trade_filled:>16}{same.inferred:>5}{same.agreed:>6}{_pct(same.recall):>7}"
        f"{_pct(same.precision):>6}{median_or_nan(same.dt_s):>9.2f}{f'{same.by_trade_agreed}/{same.by_trade}':>10} "
        f"| {runs.trade_fills:>13}{runs.queue_fills:>5}{f'{runs.trade_buys}/{runs.queue_buys}':>9}{runs.matched:>6}"
        f"{_pct(runs.recall):>7}{_pct(runs.precision):>6}{median_or_nan(runs.abs_dt_s):>7.2f}"
        f"{median_or_nan(runs.abs_dprice_bps):>9.2f}"
    )


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.0f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coins", nargs="+", default=["btc", "eth", "sol"], choices=["btc", "eth", "sol"])
    parser.add_argument("--kind", default="queue_power", choices=["queue_power", "queue_log"])
    parser.add_argument("--exponent", type=float, default=FillModelSettings().exponent)
    parser.add_argument("--window-s", type=float, default=5.0, help="first fills this close agree (book every ~1.2 s)")
    parser.add_argument("--price-window-bps", type=float, default=1.0, help="two runs: fills this close in price match")
    parser.add_argument("--catalog-template", default=str(REPO_ROOT / "data" / "catalog_hl_{coin}"))
    parser.add_argument("--config-template", default=str(REPO_ROOT / "configs" / "hyperliquid_{coin}.json"))
    args = parser.parse_args(argv)
    fill_model = FillModelSettings(kind=args.kind, exponent=args.exponent)
    window_ns = int(args.window_s * 1e9)
    lines = []
    for coin in args.coins:
        catalog = Path(args.catalog_template.format(coin=coin))
        if not catalog.exists():
            print(f"catalog {catalog} not found (build it with make catalogs)", file=sys.stderr)
            return 2
        config_path, temporary = config_for(coin, args.config_template)
        if temporary:
            print(f"{coin}: no config at {args.config_template.format(coin=coin)}; using temporary {config_path}")
        settings = load_venue_config(config_path)
        for stream, stream_settings in (("glft", settings), ("probe", probe_settings(settings))):
            lines.append(row(coin, stream, compare(stream_settings, catalog, fill_model, window_ns, args.price_window_bps)))
    exponent = f", exponent {fill_model.exponent:g}" if fill_model.kind == "queue_power" else ""
    print(f"queue model {fill_model.kind}{exponent}; windows {args.window_s:g} s, {args.price_window_bps:g} bp; fills per order")
    print(HEADER)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
