#!/usr/bin/env python
"""The live data client's per-frame book work, hot, on the real recorded ``l2Book`` frames: decode → deltas.

    python benchmarks/book_decode_diff.py [--rounds 5]

Each frame of the bundled archive hour (5,587 BTC snapshots, as the local exchange serves them) is decoded as
the data client decodes it, then turned into an ``OrderBookDeltas`` two ways: ``diff_raw_batch`` on the venue's
strings (the live path: only changed levels parsed) and ``diff_batch`` on every level parsed to floats (the loader's
path, and the live one before issue 13). Both must give the same deltas; the figures are µs per frame, best round
of ``--rounds``, with the decode alone and the deltas per frame. The live run (``tick_to_wire.py``) sees this
work cache-cold, several times slower.

Measured (issue 13, 2 shared cores): 5.8 deltas a frame (median 4; 536 of 5,587 frames change nothing); decode
11 µs, decode + strings 44 µs, decode + floats 67 µs a frame. In the live node (``tick_to_wire.py``) frame → deltas
went from p50 ~230 µs to ~185 µs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from adapters.hyperliquid.book_diff import SnapshotDiffer  # noqa: E402
from adapters.hyperliquid.local_exchange.config import DEFAULT_ARCHIVE  # noqa: E402
from adapters.hyperliquid.meta import default_instrument  # noqa: E402
from adapters.hyperliquid.recordings import iter_ws_messages  # noqa: E402
from adapters.hyperliquid.schemas.market import BOOK_FRAME_DECODER  # noqa: E402



def by_strings(differ: SnapshotDiffer, text: str) -> OrderBookDeltas | None:
    book = BOOK_FRAME_DECODER.decode(text).data
    return differ.diff_raw_batch(*book.levels, 0, 0)


def by_floats(differ: SnapshotDiffer, text: str) -> OrderBookDeltas | None:
    book = BOOK_FRAME_DECODER.decode(text).data
    return differ.diff_batch(*book.parse_levels(), 0, 0)


def decode_only(differ: SnapshotDiffer, text: str) -> None:
    BOOK_FRAME_DECODER.decode(text)


FramePath = Callable[[SnapshotDiffer, str], OrderBookDeltas | None]


def frame_us(paths: dict[str, FramePath], texts: list[str], rounds: int) -> dict[str, float]:
    """Best round of each path, the paths interleaved round by round (the machine is shared: load comes and goes)."""
    best_ns: dict[str, int] = {}
    for _ in range(rounds):
        for name, path in paths.items():
            differ = SnapshotDiffer.for_instrument(default_instrument())
            started = time.perf_counter_ns()
            for text in texts:
                path(differ, text)
            elapsed_ns = time.perf_counter_ns() - started
            best_ns[name] = min(best_ns.get(name, elapsed_ns), elapsed_ns)
    return {name: elapsed_ns / len(texts) / 1e3 for name, elapsed_ns in best_ns.items()}


def outputs(path: FramePath, texts: list[str]) -> list[list[dict]]:
    differ = SnapshotDiffer.for_instrument(default_instrument())
    batches = (path(differ, text) for text in texts)
    return [[] if batch is None else [OrderBookDelta.to_dict(d) for d in batch.deltas] for batch in batches]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    texts = [
        msgspec.json.encode(message).decode()
        for _, _, message in iter_ws_messages(DEFAULT_ARCHIVE)
        if message.get("channel") == "l2Book"
    ]
    expected = outputs(by_floats, texts)
    if outputs(by_strings, texts) != expected:
        print("the two paths gave different deltas")
        return 1
    counts = [len(batch) for batch in expected[1:]]
    print(f"{len(texts)} frames; deltas per frame after the first: mean {statistics.fmean(counts):.1f}, "
          f"median {statistics.median(counts):g}, max {max(counts)}, none {counts.count(0)}")
    paths = {
        "decode only": decode_only,
        "decode + diff_raw_batch (strings, live)": by_strings,
        "decode + parse + diff (floats)": by_floats,
    }
    for name, us in frame_us(paths, texts, args.rounds).items():
        print(f"{name:<40} {us:7.1f} µs/frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
