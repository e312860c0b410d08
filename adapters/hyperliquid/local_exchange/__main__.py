"""Run the local exchange as its own process.

    python -m adapters.hyperliquid.local_exchange --data PATH [--data PATH2] --port 8787 [--speed 1.0]
        [--account 0xADDR=100000] [--agent 0xAGENT=0xMASTER] [--fund-test-account]

Prints the base URL and the WS URL, then serves until interrupted. Faults are armed at run time with
``POST /_admin/faults`` (see ``faults.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from decimal import Decimal
from decimal import InvalidOperation
from pathlib import Path

from adapters.hyperliquid.local_exchange.config import DEFAULT_ARCHIVE
from adapters.hyperliquid.local_exchange.config import DEFAULT_META
from adapters.hyperliquid.local_exchange.config import AccountConfig
from adapters.hyperliquid.local_exchange.config import LocalExchangeConfig
from adapters.hyperliquid.local_exchange.config import test_account_address
from adapters.hyperliquid.local_exchange.server import LocalExchange


def _pair(text: str) -> tuple[str, str]:
    left, sep, right = text.partition("=")
    if not sep or not left.startswith("0x") or len(left) != 42:
        raise argparse.ArgumentTypeError(f"expected 0xADDRESS=VALUE, got {text!r}")
    return left.lower(), right


def _account(text: str) -> AccountConfig:
    address, amount = _pair(text)
    try:
        return AccountConfig(address, Decimal(amount))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a USDC amount: {amount!r}") from None


def parse_args(argv: list[str] | None = None) -> LocalExchangeConfig:
    parser = argparse.ArgumentParser(
        prog="python -m adapters.hyperliquid.local_exchange", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--data", type=Path, action="append", help=f"recording to replay, repeatable (default {DEFAULT_ARCHIVE.name})"
    )
    parser.add_argument("--meta", type=Path, default=DEFAULT_META, help="meta JSON or SDK cassette")
    parser.add_argument("--port", type=int, default=8787, help="0 picks a free port")
    parser.add_argument("--speed", type=float, default=1.0, help="replay speed factor")
    parser.add_argument("--no-loop", action="store_true", help="stop the market at the end of the recording")
    parser.add_argument("--account", type=_account, action="append", default=[], help="0xADDR=USDC, repeatable")
    parser.add_argument("--agent", type=_pair, action="append", default=[], help="0xAGENT=0xMASTER, repeatable")
    parser.add_argument("--fund-test-account", action="store_true", help="fund the built-in throwaway test account")
    parser.add_argument("--mainnet", action="store_true", help="verify signatures with source 'a' (mainnet)")
    parser.add_argument("--idle-timeout", type=float, default=60.0, help="WS idle close, seconds")
    parser.add_argument("--no-ip-limit", action="store_true", help="disable the 1200 weight/min IP limit")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return LocalExchangeConfig(
        data=tuple(args.data or (DEFAULT_ARCHIVE,)),
        meta=args.meta,
        port=args.port,
        speed=args.speed,
        loop=not args.no_loop,
        accounts=tuple(args.account),
        agents=tuple(args.agent),
        fund_test_account=args.fund_test_account,
        is_mainnet=args.mainnet,
        ws_idle_timeout_s=args.idle_timeout,
        ip_weight_per_min=None if args.no_ip_limit else 1200,
    )


async def serve(config: LocalExchangeConfig) -> None:
    exchange = LocalExchange(config)
    url = await exchange.start()
    print(url, flush=True)
    print(exchange.ws_url, flush=True)
    if config.fund_test_account:
        print(f"test account {test_account_address()} (key: adapters.hyperliquid.local_exchange.TEST_ACCOUNT_KEY)")
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    await exchange.stop()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
