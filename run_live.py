#!/usr/bin/env python
"""Run the GLFT market maker live on Hyperliquid and write the same report as a backtest.

    python run_live.py                                     # local exchange in-process on the bundled BTC hour
    python run_live.py --duration 120 --speed 20           # two minutes of a 20x replay, then report
    python run_live.py --record data/live_catalog          # also record the feed into a catalog, then
    python run_backtest.py --catalog data/live_catalog     #   backtest exactly what was traded live
    python run_live.py --exchange-url http://127.0.0.1:8787   # a local exchange started on its own with
                                                           #   python -m adapters.hyperliquid.local_exchange \
                                                           #     --fund-test-account
    python run_live.py --environment testnet               # the real testnet; key from $HYPERLIQUID_PK (config: live)
    python run_live.py --environment mainnet --duration 3600

With no arguments the local exchange runs in this process, replaying the bundled real hour, with a funded test
account whose key reaches the node exactly as a real key does: through the environment variable the config names
(set here, for this default only). Every other target takes the key from that variable (or ``live.private_key_file``)
and the account from ``live.account_address`` (the master, when the key is an agent wallet's).

The strategy and actors are the config's, unchanged from the backtest. Stop with Ctrl-C or ``--duration``; the
shutdown cancels every open order and clears the dead-man switch before the report is written.
"""

from __future__ import annotations

import argparse
import asyncio
import os
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
        choices=("local", "testnet", "mainnet"),
        default=None,
        help="venue (default: the config's live.environment)",
    )
    parser.add_argument("--exchange-url", default=None, help="an external local exchange, e.g. http://127.0.0.1:8787")
    parser.add_argument("--speed", type=float, default=1.0, help="replay speed of the in-process local exchange")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: Ctrl-C)")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default reports/live-<utc time>)")
    parser.add_argument("--record", type=Path, default=None, help="record the feed into this ParquetDataCatalog")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from nautilus_trader.model.identifiers import InstrumentId

    from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY
    from adapters.hyperliquid.local_exchange import LocalExchange
    from adapters.hyperliquid.local_exchange import LocalExchangeConfig
    from mm_strategy.live import VenueTarget
    from mm_strategy.live import build_node
    from mm_strategy.live import hyperliquid_clients
    from mm_strategy.live import node_config
    from mm_strategy.live import record_to_catalog
    from mm_strategy.live import run_node
    from mm_strategy.node_config import load_venue_config
    from mm_strategy.session_report import write_session_report

    try:
        settings = load_venue_config(args.config)
    except ValueError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    environment = args.environment or settings.live.environment
    if args.exchange_url is not None and environment != "local":
        print("--exchange-url points at a local exchange; it cannot be combined with testnet/mainnet", file=sys.stderr)
        return 2

    started = datetime.now(timezone.utc)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    exchange = None
    if environment == "local" and args.exchange_url is None:
        exchange = LocalExchange(LocalExchangeConfig(speed=args.speed, fund_test_account=True))
        target = VenueTarget.local(loop.run_until_complete(exchange.start()))
        # The throwaway test key reaches the node like a real one: through the configured variable.
        os.environ[settings.live.private_key_env] = TEST_ACCOUNT_KEY
        settings = _without_key_file(settings)
    elif environment == "local":
        target = VenueTarget.local(args.exchange_url)
    else:
        target = VenueTarget(environment)

    stamp = f"{started:%Y%m%dT%H%M%SZ}"
    raw_recording = args.record / "raw" / f"hyperliquid-{stamp}.gz" if args.record is not None else None
    node = build_node(node_config(settings, target, raw_recording), loop=loop)
    stop = asyncio.Event()
    if args.duration is not None:
        loop.call_later(args.duration, stop.set)
    starting_equity = loop.run_until_complete(run_node(node, stop))
    if exchange is not None:
        loop.run_until_complete(exchange.stop())

    code = 0
    if starting_equity is None:
        print("the node did not start trading (see the log above)", file=sys.stderr)
        code = 1
    else:
        data_client, exec_client = hyperliquid_clients(node)
        strategy = node.trader.strategies()[0]
        run_info = {
            "mode": "live",
            "environment": environment,
            "venue_url": target.base_url_http or environment,
            "config": str(args.config),
            "replay_speed": f"{args.speed:g}" if exchange is not None else "",
            "started_utc": started.isoformat(),
            "wall_time_s": f"{(datetime.now(timezone.utc) - started).total_seconds():.1f}",
            "ws_reconnects": str(data_client.ws.reconnects + exec_client.ws.reconnects),
            "resyncs": ", ".join(f"{reason} {n}" for reason, n in sorted(exec_client.resyncs.items())) or "none",
            "malformed_frames": str(data_client.malformed_frames + exec_client.malformed_frames),
        }
        out_dir = args.out or REPO_ROOT / "reports" / f"live-{stamp}"
        report = write_session_report(
            strategy=strategy,
            portfolio=node.portfolio,
            cache=node.cache,
            starting_equity=starting_equity,
            out_dir=out_dir,
            title=f"GLFT market maker live ({environment}): {settings.instrument_id}",
            run_info=run_info,
            engine=None,
        )
        print(report.summary)
        print(f"report: {report.paths.html}")
        print(f"        {report.paths.json}")
        if raw_recording is not None and raw_recording.exists():
            instrument = node.cache.instrument(InstrumentId.from_str(settings.instrument_id))
            result = record_to_catalog(raw_recording, instrument, args.record)
            print(f"recorded {result.summary()}")
            print(f"catalog {args.record}: python run_backtest.py --catalog {args.record}")
    node.dispose()
    return code


def _without_key_file(settings):
    """The local default always uses the test key from the environment, even if the config names a key file."""
    import msgspec

    return msgspec.structs.replace(settings, live=msgspec.structs.replace(settings.live, private_key_file=None))


if __name__ == "__main__":
    sys.exit(main())
