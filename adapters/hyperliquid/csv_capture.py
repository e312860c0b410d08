"""Read the Hyperliquid data collector's CSV capture as the WS frames it was recorded from.

The collector (``djienne/Hyperliquid_data_collector``, SOURCES.md §6) writes one pair of files per coin:
``orderbooks_<COIN>.csv`` (``timestamp`` = local receive time in epoch seconds, ``sequence``, ``exchange_timestamp``
= venue ms, then ``bid_price_i, bid_size_i, ask_price_i, ask_size_i`` for i = 0..19) and ``trades_<COIN>.csv``
(``timestamp``, ``price``, ``size``, ``side`` buy|sell for the aggressor, ``trade_id`` = the venue's tid,
``exchange_timestamp``). Rather than a second parser with its own book and trade rules, each row becomes the
``l2Book`` or ``trades`` frame the venue sent, and ``recordings.iter_ws_messages`` hands those to the same loader,
differ and local-exchange replay as any recording: a CSV capture and its conversion to the WS-recording format
(``hl_csv_to_recording.py`` beside the data) load into the same catalog.

What the CSV does not hold is not invented: no order count per level (``n`` 1), no hash, no users. Trades that share
one receive stamp arrived in one frame and stay in one. Receive stamps are decimal text, converted to ns exactly.
Books and trades are merged by receive time, the book first at equal stamps.

Ordinary variations of the files read the same: CRLF (the collector's own ``csv.writer``) or LF endings, a UTF-8 byte
order mark, gzip-compressed pairs (``orderbooks_<COIN>.csv.gz``, recognised by content like every recording). The
collector appends to the same pair across restarts and days, so a file may hold rows torn by a kill (see
``recordings.iter_ws_messages``): restarted, it appends its next row to the cut one. A cut after the first field
leaves a row with too many fields; a cut inside it (the receive ``timestamp``) leaves the right count and a stamp of
the previous row's first digits followed by the next row's whole stamp (``175691756904551.7549212``, or two dots),
which no collector writes, so such a row is torn too (see ``_torn``).
"""

from __future__ import annotations

import csv
import heapq
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adapters.hyperliquid.recordings import RecordingError
from adapters.hyperliquid.recordings import TornLine
from adapters.hyperliquid.recordings import open_text

BOOK_FILE = re.compile(r"^orderbooks_(?P<coin>[A-Za-z0-9]+)\.csv(?P<gz>\.gz)?$")
BOOK_LEVELS = 20
_BOOK_COLUMNS = ("timestamp", "exchange_timestamp")
_TRADE_COLUMNS = ("timestamp", "price", "size", "side", "trade_id", "exchange_timestamp")
_AGGRESSOR = {"buy": "B", "sell": "A"}
_NO_HASH = "0x" + "0" * 64
# ``str(time.time())``: 10 whole digits (years 2001-2286) and the float's 1-7 decimals; up to 9 read as ns
_COLLECTOR_STAMP = re.compile(r"\d{10}\.\d{1,9}")
_CUT_STAMP = re.compile(r"[\d.]+")  # the heads of two collector stamps joined: digits and dots only
# receive minus venue time on the bundled captures: books 0.3-1.7 s, trades 0.25-26 s; an hour is no clock's error
_MAX_CLOCK_GAP_NS = 3_600 * 1_000_000_000
_NS_PER_MS = 1_000_000


def is_csv_capture(path: Path) -> bool:
    return BOOK_FILE.match(path.name) is not None


def capture_coin(book_path: Path) -> str:
    """``orderbooks_BTC.csv`` → ``BTC``: the collector writes one coin per file and names it."""
    return BOOK_FILE.match(book_path.name)["coin"]


def trades_path(book_path: Path) -> Path:
    """``orderbooks_BTC.csv`` → its sibling ``trades_BTC.csv`` (absent for a capture without trades); beside a
    compressed book file, ``trades_BTC.csv.gz`` when that one exists."""
    plain = book_path.with_name(f"trades_{capture_coin(book_path)}.csv")
    compressed = plain.with_name(plain.name + ".gz")
    return compressed if BOOK_FILE.match(book_path.name)["gz"] and compressed.exists() else plain


def receive_ns(text: str) -> int:
    """``1756904112.5455544`` (epoch s as the collector writes it) → ns, digit for digit (a float would round the
    ns)."""
    if not _COLLECTOR_STAMP.fullmatch(text := text.strip()):
        raise ValueError(f"receive timestamp {text!r} is not epoch seconds (10 digits, a dot, 1 to 9 digits)")
    whole, _, frac = text.partition(".")
    return int(whole) * 1_000_000_000 + int(frac.ljust(9, "0"))


def iter_csv_capture(book_path: Path, on_torn: TornLine | None = None) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """``(line_no, recv_ns, ws message)`` for every book row and trade frame, in receive order; ``line_no`` is the
    row's line in its own file. A row it cannot read raises ``RecordingError`` naming that file and line; a torn row
    goes to ``on_torn`` when given (``recordings.iter_ws_messages``)."""
    coin = capture_coin(book_path)
    streams = [_book_frames(book_path, coin, on_torn)]
    if (trades := trades_path(book_path)).exists():
        streams.append(_trade_frames(trades, coin, on_torn))
    # key: receive time, then the stream's rank (books first at one stamp); merge keeps each stream's own order
    merged = heapq.merge(*(_ranked(stream, rank) for rank, stream in enumerate(streams)), key=lambda item: item[0])
    for _, line_no, recv_ns, message in merged:
        yield line_no, recv_ns, message


def _ranked(stream: Iterator[tuple[int, int, dict[str, Any]]], rank: int):
    for line_no, recv_ns, message in stream:
        yield (recv_ns, rank), line_no, recv_ns, message


def _rows(
    path: Path, required: tuple[str, ...], on_torn: TornLine | None, late_ok: bool
) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line_no, row)`` for every row not torn (``_torn``). A line repeating the header (captures joined with
    ``cat``) is no row."""
    with open_text(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(_whole_lines(fh, path, on_torn))
        header = next(reader, [])
        missing = [name for name in required if name not in header]
        if missing:
            raise RecordingError(path, 1, f"CSV header lacks {', '.join(missing)}")
        for fields in reader:
            if not fields or fields == header:  # files joined with ``cat`` repeat the header
                continue
            row = dict(zip(header, fields))
            if (reason := _torn(row, len(fields), len(header), late_ok)) is None:
                yield reader.line_num, row
            elif on_torn is None:
                raise RecordingError(path, reader.line_num, f"torn row: {reason}")
            else:
                on_torn(path, reader.line_num)


def _torn(row: dict[str, str], n_fields: int, n_header: int, late_ok: bool) -> str | None:
    """Why a row is a cut row joined to the next, or None. Its field count is off (cut after the first field); or
    its receive stamp is digits and dots but not the collector's (cut inside it); or the stamp lies over an hour
    before the row's venue time, or over an hour after it unless ``late_ok`` (a corrupt stamp or venue time, which
    would carry the coin's receive clock away: every later message a regression or a late trade). Trades are
    ``late_ok``: the subscription's first frame replays the venue's recent trades, hours old on a quiet coin. A
    stamp with other characters is no cut: the row is malformed, reported by its reader."""
    if n_fields != n_header:
        return f"{n_fields} fields, the header has {n_header}"
    stamp = row["timestamp"].strip()
    if not _COLLECTOR_STAMP.fullmatch(stamp):
        return f"receive timestamp {stamp!r} is no collector stamp" if _CUT_STAMP.fullmatch(stamp) else None
    try:
        gap_ns = receive_ns(stamp) - int(row["exchange_timestamp"]) * _NS_PER_MS
    except ValueError:  # a malformed venue time, reported by the row's reader
        return None
    if gap_ns < -_MAX_CLOCK_GAP_NS or (gap_ns > _MAX_CLOCK_GAP_NS and not late_ok):
        venue_ms = row["exchange_timestamp"]
        return f"receive timestamp {stamp} is {gap_ns / 3.6e12:+,.1f} h from exchange_timestamp {venue_ms}"
    return None


def _whole_lines(fh: Iterator[str], path: Path, on_torn: TornLine | None) -> Iterator[str]:
    """The file's lines; with ``on_torn``, an unterminated last line (a write cut short: every row the collector
    completes ends in a newline) is reported and withheld, since a cut inside its last field still parses."""
    for line_no, line in enumerate(fh, start=1):
        if on_torn is not None and not line.endswith(("\n", "\r")):
            on_torn(path, line_no)
            return
        yield line


def _book_frames(path: Path, coin: str, on_torn: TornLine | None) -> Iterator[tuple[int, int, dict[str, Any]]]:
    for line_no, row in _rows(path, _BOOK_COLUMNS + ("bid_price_0", "ask_price_0"), on_torn, late_ok=False):
        try:
            levels = [_side_levels(row, side) for side in ("bid", "ask")]
            data = {"coin": coin, "time": int(row["exchange_timestamp"]), "levels": levels}
            yield line_no, receive_ns(row["timestamp"]), {"channel": "l2Book", "data": data}
        except (TypeError, ValueError) as exc:
            raise RecordingError(path, line_no, f"malformed book row: {exc}") from None


def _side_levels(row: dict[str, str], side: str) -> list[dict[str, Any]]:
    levels = []
    for i in range(BOOK_LEVELS):
        px, sz = row.get(f"{side}_price_{i}"), row.get(f"{side}_size_{i}")
        if px and sz:  # a book thinner than 20 levels leaves the rest empty
            levels.append({"px": px, "sz": sz, "n": 1})
    return levels


def _trade_frames(path: Path, coin: str, on_torn: TornLine | None) -> Iterator[tuple[int, int, dict[str, Any]]]:
    frame: list[dict[str, Any]] = []
    first_line, stamp, stamp_ns = 0, "", 0
    for line_no, row in _rows(path, _TRADE_COLUMNS, on_torn, late_ok=True):
        if frame and row["timestamp"] != stamp:
            yield first_line, stamp_ns, {"channel": "trades", "data": frame}
            frame = []
        try:
            if not frame:
                first_line, stamp, stamp_ns = line_no, row["timestamp"], receive_ns(row["timestamp"])
            frame.append(_trade(row, coin))
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordingError(path, line_no, f"malformed trade row: {exc}") from None
    if frame:
        yield first_line, stamp_ns, {"channel": "trades", "data": frame}


def _trade(row: dict[str, str], coin: str) -> dict[str, Any]:
    side = row["side"].strip().lower()
    if side not in _AGGRESSOR:
        raise ValueError(f"side {row['side']!r} is neither buy nor sell")
    return {
        "coin": coin,
        "side": _AGGRESSOR[side],
        "px": row["price"],
        "sz": row["size"],
        "time": int(row["exchange_timestamp"]),
        "hash": _NO_HASH,
        "tid": int(row["trade_id"]),
        "users": [],
    }
