"""The data collector's CSV capture loads as the WS frames it was recorded from (``adapters/hyperliquid/csv_capture``):
the same catalog data as its conversion to the WS-recording format, and a row it cannot read named by file and
line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adapters.hyperliquid import csv_capture
from adapters.hyperliquid import loaders
from adapters.hyperliquid.meta import instrument_for
from adapters.hyperliquid.recordings import RecordingError
from adapters.hyperliquid.recordings import iter_ws_messages

COINS = ("BTC", "ETH", "SOL")


@pytest.fixture(scope="module")
def csv_dir(hl_captures) -> Path:
    return hl_captures.parent / "HL_data"


def _delta_rows(result) -> list[tuple]:
    return [
        (d.action, d.order.side, d.order.price, d.order.size, d.flags, d.ts_event, d.ts_init) for d in result.deltas
    ]


def _trade_rows(result) -> list[tuple]:
    return [(t.price, t.size, t.aggressor_side, t.trade_id, t.ts_event, t.ts_init) for t in result.trades]


@pytest.mark.parametrize("coin", COINS)
def test_a_csv_capture_loads_as_its_ws_recording(coin, csv_dir, hl_captures):
    instrument = instrument_for(coin)
    from_csv = loaders.parse_file(csv_dir / f"orderbooks_{coin}.csv", instrument, checkpoint_s=300, heartbeat=True)
    from_ws = loaders.parse_file(hl_captures / f"hl_{coin}_20250903.gz", instrument, checkpoint_s=300, heartbeat=True)
    assert from_csv.snapshots == from_ws.snapshots == 446  # SOURCES.md §6
    assert _delta_rows(from_csv) == _delta_rows(from_ws) and len(from_csv.deltas) > 10_000
    assert _trade_rows(from_csv) == _trade_rows(from_ws) and len(from_csv.trades) > 700


def test_trades_sharing_a_receive_stamp_are_one_frame_after_the_book_of_that_stamp(csv_dir):
    frames = list(iter_ws_messages(csv_dir / "orderbooks_BTC.csv"))
    trade_frames = [m for _, _, m in frames if m["channel"] == "trades"]
    assert sum(len(m["data"]) for m in trade_frames) == 1497  # every row of trades_BTC.csv
    first = trade_frames[0]["data"]
    # the first rows of trades_BTC.csv share the receive stamp 1756904112.5455544 (the venue's replay on subscribe)
    assert (first[0]["px"], first[0]["side"], first[0]["tid"], first[1]["side"]) == ("111039.0", "B", 1062032029372010, "A")
    # merged by receive time: that replay frame (…112.5455544 s) comes before the first book (…112.5465927 s)
    assert [(ns, m["channel"]) for _, ns, m in frames[:2]] == [
        (1_756_904_112_545_554_400, "trades"), (1_756_904_112_546_592_700, "l2Book"),
    ]
    assert [ns for _, ns, _ in frames] == sorted(ns for _, ns, _ in frames) and len(frames) == 727


def _copy_capture(csv_dir: Path, tmp_path: Path, coin: str = "ETH") -> tuple[Path, Path]:
    book, trades = tmp_path / f"orderbooks_{coin}.csv", tmp_path / f"trades_{coin}.csv"
    shutil.copy(csv_dir / book.name, book)
    shutil.copy(csv_dir / trades.name, trades)
    return book, trades


def _corrupt_line(path: Path, line_no: int, old: str, new: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    assert old in lines[line_no - 1]
    lines[line_no - 1] = lines[line_no - 1].replace(old, new, 1)
    path.write_text("".join(lines))


def test_an_unreadable_row_is_named_by_file_and_line(csv_dir, tmp_path):
    instrument = instrument_for("ETH")
    book, trades = _copy_capture(csv_dir, tmp_path)
    _corrupt_line(trades, 7, ",sell,", ",hold,")
    with pytest.raises(RecordingError, match=r"trades_ETH\.csv line 7: malformed trade row: side 'hold'"):
        loaders.parse_file(book, instrument)
    _copy_capture(csv_dir, tmp_path)
    stamp = book.read_text().splitlines()[9].split(",")[0]
    _corrupt_line(book, 10, stamp, "17569O4112.1")
    with pytest.raises(RecordingError, match=r"orderbooks_ETH\.csv line 10: malformed book row: receive timestamp"):
        loaders.parse_file(book, instrument)


def test_a_header_without_a_needed_column_fails_at_line_1(csv_dir, tmp_path):
    book, trades = _copy_capture(csv_dir, tmp_path)
    _corrupt_line(trades, 1, "trade_id", "tradeid")
    with pytest.raises(RecordingError, match=r"trades_ETH\.csv line 1: CSV header lacks trade_id"):
        list(iter_ws_messages(book))


def test_a_capture_without_its_trades_file_loads_the_book_alone(csv_dir, tmp_path):
    book, trades = _copy_capture(csv_dir, tmp_path, "SOL")
    trades.unlink()
    result = loaders.parse_file(book, instrument_for("SOL"))
    assert (result.snapshots, len(result.trades)) == (446, 0) and len(result.deltas) > 10_000
    assert not csv_capture.is_csv_capture(tmp_path / "trades_SOL.csv")
