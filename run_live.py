#!/usr/bin/env python
"""Run the GLFT market maker live on the config's venue and write the same report as a backtest.

    python run_live.py                                     # Hyperliquid: local exchange in-process on the bundled hour
    python run_live.py --duration 120 --speed 20           # two minutes of a 20x replay, then report
    python run_live.py --record data/live_catalog          # also record the feed into a catalog, then
    python run_backtest.py --catalog data/live_catalog     #   backtest exactly what was traded live
    python run_live.py --exchange-url http://127.0.0.1:8787   # a local exchange started on its own with
                                                           #   python -m adapters.hyperliquid.local_exchange \\
                                                           #     --fund-test-account
    python run_live.py --environment testnet               # the real testnet; key from $HYPERLIQUID_PK (venue.live)
    python run_live.py --environment mainnet --duration 3600
    python run_live.py --config configs/binance_btcusdt.json   # Binance USD-M testnet, NautilusTrader's own clients;
                                                           #   keys from $BINANCE_FUTURES_TESTNET_API_KEY/_SECRET

The venue is the config's ``venue.name``; its node module (``adapters/<venue>/node.py``, found through
``adapters/venues.py``) supplies the clients. Hyperliquid's default, ``local``, runs the local exchange in this
process, replaying the bundled real hour, with a funded test account whose key reaches the node exactly as a real
key does: through the environment variable the config names (set here, for this default only). Every other
target takes the key from that variable (or ``venue.live.private_key_file``) and the account from
``venue.live.account_address`` (the master, when the key is an agent wallet's). Binance defaults to its testnet.

The strategy and actors are the config's, unchanged from the backtest. Stop with Ctrl-C or ``--duration``; the
shutdown cancels every open order (and clears Hyperliquid's dead-man switch) before the report is written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from datetime import timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = REPO_ROOT / "configs" / "hyperliquid_btc.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="venue+instrument config JSON")
    parser.add_argument(
        "--environment",
        default=None,
        help="local, testnet or mainnet, as the venue offers (default: the config's venue.live.environment)",
    )
    parser.add_argument("--exchange-url", default=None, help="an external local exchange, e.g. http://127.0.0.1:8787")
    parser.add_argument("--speed", type=float, default=1.0, help="replay speed of the in-process local exchange")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: Ctrl-C)")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default reports/live-<utc time>)")
    parser.add_argument("--record", type=Path, default=None, help="record the feed into this ParquetDataCatalog")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from adapters.venues import venue_module
    from mm_strategy.live import LiveOptions
    from mm_strategy.node_config import load_venue_config

    try:
        settings = load_venue_config(args.config)
        venue = venue_module(settings)
    except ValueError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    options = LiveOptions(
        environment=args.environment,
        exchange_url=args.exchange_url,
        replay_speed=args.speed,
        record_path=args.record,
    )
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        code, node = loop.run_until_complete(_session(venue, settings, options, args))
    except ValueError as exc:  # an option the venue refuses, or missing credentials, named by the venue's module
        print(f"error: {exc}", file=sys.stderr)
        return 2
    node.dispose()  # outside the loop's run: disposing stops the loop
    return code


async def _session(venue, settings, options, args: argparse.Namespace):
    """Run the node through the venue's session and write the report; (exit code, node to dispose)."""
    from mm_strategy.live import build_node
    from mm_strategy.live import node_config
    from mm_strategy.live import run_node
    from mm_strategy.session_report import write_session_report

    started = datetime.now(timezone.utc)
    async with venue.open_session(settings, options) as session:
        node = build_node(node_config(settings, session.clients), session.clients, loop=asyncio.get_running_loop())
        stop = asyncio.Event()
        if args.duration is not None:
            asyncio.get_running_loop().call_later(args.duration, stop.set)
        starting_equity = await run_node(node, stop)
        if starting_equity is None:
            print("the node did not start trading (see the log above)", file=sys.stderr)
            return 1, node
        run_info = {
            "mode": "live",
            "venue": settings.venue.name,
            "environment": session.environment,
            "venue_url": session.venue_url,
            "config": str(args.config),
            "replay_speed": f"{args.speed:g}" if session.environment == "local" and args.exchange_url is None else "",
            "started_utc": started.isoformat(),
            "wall_time_s": f"{(datetime.now(timezone.utc) - started).total_seconds():.1f}",
            **session.diagnostics(node),
        }
        out_dir = args.out or REPO_ROOT / "reports" / f"live-{started:%Y%m%dT%H%M%SZ}"
        report = write_session_report(
            strategy=node.trader.strategies()[0],
            portfolio=node.portfolio,
            cache=node.cache,
            starting_equity=starting_equity,
            out_dir=out_dir,
            title=f"GLFT market maker live ({settings.venue.name} {session.environment}): {settings.instrument_id}",
            run_info=run_info,
            engine=None,
        )
        print(report.summary)
        print(f"report: {report.paths.html}")
        print(f"        {report.paths.json}")
        for line in session.finish(node):
            print(line)
    return 0, node


if __name__ == "__main__":
    sys.exit(main())
