"""Load recorded Hyperliquid market data into a NautilusTrader ``ParquetDataCatalog``: the command line.

    python -m adapters.hyperliquid.catalog_cli SRC [SRC ...] --catalog DIR [--meta PATH] [--coin COIN]
        [--checkpoint-s N] [--no-heartbeat]

Every coin found in the sources is loaded, one instrument per coin (built from a real ``meta``, ``meta.py``);
``--coin`` restricts the load to one. Each source is parsed by ``loaders.parse_file`` and written by
``adapters.catalog.write_catalog``. Input errors are reported without a traceback (exit status 2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from adapters.catalog import CatalogSourceError
from adapters.catalog import write_catalog
from adapters.hyperliquid.cassettes import CassetteError
from adapters.hyperliquid.loaders import DEFAULT_CHECKPOINT_S
from adapters.hyperliquid.loaders import parse_file
from adapters.hyperliquid.loaders import read_messages
from adapters.hyperliquid.meta import DEFAULT_META
from adapters.hyperliquid.meta import MetaError
from adapters.hyperliquid.meta import instrument_for
from adapters.hyperliquid.recordings import RecordingError

EXIT_INPUT_ERROR = 2


class LoaderError(ValueError):
    """Sources the command cannot load (no book or trade at all); reported without a traceback."""


_INPUT_ERRORS = (
    LoaderError, RecordingError, MetaError, CassetteError, CatalogSourceError,
    FileNotFoundError, IsADirectoryError, PermissionError,
)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m adapters.hyperliquid.catalog_cli",
        description="Load recorded Hyperliquid l2Book/trades data into a NautilusTrader ParquetDataCatalog.",
    )
    parser.add_argument("sources", nargs="+", type=Path, metavar="SRC", help="S3 archive (.lz4), WS recording (.gz) or collector CSV capture (orderbooks_<COIN>.csv, its trades_<COIN>.csv read beside it)")
    parser.add_argument("--catalog", type=Path, required=True, help="ParquetDataCatalog directory (created if absent)")
    parser.add_argument("--meta", type=Path, default=DEFAULT_META, help="meta JSON or SDK cassette (default: bundled)")
    parser.add_argument("--coin", default=None, help="load only this coin (default: every coin in the sources)")
    parser.add_argument(
        "--checkpoint-s",
        type=float,
        default=DEFAULT_CHECKPOINT_S,
        help=f"full-book snapshot every N seconds so backtests can start mid-file (default {DEFAULT_CHECKPOINT_S:g}, "
        "0 = off)",
    )
    parser.add_argument(
        "--no-heartbeat",
        dest="heartbeat",
        action="store_false",
        help="drop repeated snapshots instead of writing a no-op UPDATE for each (default: write them)",
    )
    return parser.parse_args(argv)


def coins_in(paths: Iterable[Path | str]) -> list[str]:
    """Every coin with a book or a trade in the sources, in order of first appearance."""
    coins: dict[str, None] = {}
    for path in paths:
        for _, _, message in read_messages(Path(path)):
            data = message.get("data")
            if message.get("channel") == "l2Book" and isinstance(data, dict):
                coins.setdefault(str(data.get("coin")), None)
            elif message.get("channel") == "trades" and isinstance(data, list):
                coins.update((str(trade.get("coin")), None) for trade in data if isinstance(trade, dict))
    return list(coins)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        if args.coin is not None:
            sources_of = {args.coin: list(args.sources)}
        else:  # each source is parsed for the coins it holds
            sources_of = {}
            for source in args.sources:
                for coin in coins_in([source]):
                    sources_of.setdefault(coin, []).append(source)
            if not sources_of:
                raise LoaderError("no l2Book or trades message in the sources: nothing to load")
        instruments = [instrument_for(coin, args.meta) for coin in sources_of]
        for instrument in instruments:
            results = []
            for source in sources_of[instrument.raw_symbol.value]:
                result = parse_file(
                    source, instrument, progress=True, checkpoint_s=args.checkpoint_s, heartbeat=args.heartbeat
                )
                print(result.summary())
                results.append(result)
            write_catalog(results, instrument, args.catalog)
    except _INPUT_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    loaded = ", ".join(str(instrument.id) for instrument in instruments)
    print(f"catalog {args.catalog}: {loaded} from {len(args.sources)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
