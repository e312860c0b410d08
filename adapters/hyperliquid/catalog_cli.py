"""Load recorded Hyperliquid market data into a NautilusTrader ``ParquetDataCatalog``: the command line.

    python -m adapters.hyperliquid.catalog_cli SRC [SRC ...] --catalog DIR [--meta PATH] [--coin COIN]
        [--checkpoint-s N] [--no-heartbeat]

A SRC that is a directory stands for every capture and recording under it (``orderbooks_<COIN>.csv[.gz]``,
``*.gz``, ``*.lz4``; sub-directories too, e.g. one per day), so a folder of held-out days is one command. Every coin
found in the sources is loaded, one instrument per coin (built from a real ``meta``, ``meta.py``); ``--coin``
restricts the load to one. Each source is parsed by ``loaders.parse_file`` and written by
``adapters.catalog.write_catalog``, an hour of it at a time (``loaders.parse_pieces``), so a file of days loads in
the memory of an hour. Input errors are reported without a traceback (exit status 2); the pieces written before the
error stay in the catalog.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from adapters.catalog import CatalogSourceError
from adapters.catalog import DisjointSources
from adapters.catalog import write_catalog
from adapters.hyperliquid import csv_capture
from adapters.hyperliquid.cassettes import CassetteError
from adapters.hyperliquid.loaders import DEFAULT_CHECKPOINT_S
from adapters.hyperliquid.loaders import PIECE_S
from adapters.hyperliquid.loaders import parse_pieces
from adapters.hyperliquid.loaders import read_messages
from adapters.hyperliquid.meta import DEFAULT_META
from adapters.hyperliquid.meta import MetaError
from adapters.hyperliquid.meta import instrument_for
from adapters.hyperliquid.meta import load_meta
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
    parser.add_argument(
        "sources",
        nargs="+",
        type=Path,
        metavar="SRC",
        help="S3 archive (.lz4), WS recording (.gz), collector CSV capture (orderbooks_<COIN>.csv[.gz], its "
        "trades_<COIN>.csv[.gz] read beside it), or a directory of those (searched recursively)",
    )
    parser.add_argument("--catalog", type=Path, required=True, help="ParquetDataCatalog directory (created if absent)")
    parser.add_argument("--meta", type=Path, default=DEFAULT_META, help="meta JSON or SDK cassette (default: bundled)")
    parser.add_argument(
        "--coin", default=None, help="load only this coin, in any case (default: every coin in the sources)"
    )
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


RECORDING_SUFFIXES = (".gz", ".lz4")


def expand_sources(paths: Iterable[Path]) -> list[Path]:
    """The files named, with each directory replaced by the captures and recordings under it, sorted by path."""
    sources = []
    for path in paths:
        if not path.is_dir():
            sources.append(path)
            continue
        found = sorted(p for p in path.rglob("*") if p.is_file() and _is_source(p))
        if not found:
            raise LoaderError(f"{path}: no orderbooks_<COIN>.csv[.gz], .gz or .lz4 file under this directory")
        sources.extend(found)
    return sources


def _is_source(path: Path) -> bool:
    """A capture's book file or a recording. A compressed CSV that is not a book file (the capture's trades, read
    beside its book; the collector's ``prices_<COIN>.csv``) is no source of its own."""
    if csv_capture.is_csv_capture(path):
        return True
    return path.suffix in RECORDING_SUFFIXES and not path.name.endswith(".csv.gz")


def coins_in(paths: Iterable[Path | str]) -> list[str]:
    """Every coin with a book or a trade in the sources, in order of first appearance (a CSV capture's from its name:
    the collector writes one coin per file)."""
    coins: dict[str, None] = {}
    for path in map(Path, paths):
        if csv_capture.is_csv_capture(path):
            coins.setdefault(csv_capture.capture_coin(path), None)
            continue
        for _, _, message in read_messages(path, on_torn=_counted_by_the_load):
            data = message.get("data")
            if message.get("channel") == "l2Book" and isinstance(data, dict):
                coins.setdefault(str(data.get("coin")), None)
            elif message.get("channel") == "trades" and isinstance(data, list):
                coins.update((str(trade.get("coin")), None) for trade in data if isinstance(trade, dict))
    return list(coins)


def meta_spelling(coin: str, meta_path: Path | str) -> str:
    """``eth`` → ``ETH``: the meta's own spelling of a coin given in any case (not simply upper case: the venue lists
    ``kPEPE``); a coin the meta lacks is returned as given, for ``instrument_for`` to report."""
    names = (asset.get("name") for asset in load_meta(meta_path)["universe"] if isinstance(asset, dict))
    return next((name for name in names if isinstance(name, str) and name.lower() == coin.lower()), coin)


def _may_hold(source: Path, coin: str) -> bool:
    return not csv_capture.is_csv_capture(source) or csv_capture.capture_coin(source) == coin


def _read(source: Path) -> list[Path]:
    """The files a source is read from: itself and, for a CSV capture, the trades file beside it."""
    if csv_capture.is_csv_capture(source) and (trades := csv_capture.trades_path(source)).exists():
        return [source, trades]
    return [source]


def _counted_by_the_load(path: Path, line_no: int) -> None:
    """Torn lines are skipped while looking for coins; ``parse_file`` counts them in its summary."""


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        sources = expand_sources(args.sources)
        if args.coin is not None:  # a CSV capture of another coin holds nothing of this one
            coin = meta_spelling(args.coin, args.meta)
            sources_of = {coin: [s for s in sources if _may_hold(s, coin)]}
            if not sources_of[coin]:
                raise LoaderError(f"no source for {coin}: the CSV captures given are of other coins")
        else:  # each source is parsed for the coins it holds
            sources_of = {}
            for source in sources:
                for coin in coins_in([source]):
                    sources_of.setdefault(coin, []).append(source)
            if not sources_of:
                raise LoaderError("no l2Book or trades message in the sources: nothing to load")
        instruments = [instrument_for(coin, args.meta) for coin in sources_of]
        for instrument in instruments:
            coin_sources = sources_of[instrument.raw_symbol.value]
            written = DisjointSources()  # every stream written for this coin: sources must not overlap
            for source in coin_sources:
                pieces = parse_pieces(
                    source, instrument, PIECE_S, progress=True, checkpoint_s=args.checkpoint_s, heartbeat=args.heartbeat
                )
                for piece in pieces:
                    print(piece.summary())
                    if piece.streams():
                        written.add(piece)
                        write_catalog([piece], instrument, args.catalog)
            if not written:  # a catalog with the instrument and no data would pass for a load
                names = ", ".join(map(str, coin_sources))
                raise LoaderError(f"no {instrument.raw_symbol} book or trade in {names}: nothing to load")
    except _INPUT_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    loaded = ", ".join(str(instrument.id) for instrument in instruments)
    files_read = {file for coin_sources in sources_of.values() for source in coin_sources for file in _read(source)}
    print(f"catalog {args.catalog}: {loaded} from {len(files_read)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
