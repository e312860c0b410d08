"""Held-out data that differs from the bundled capture in ordinary ways loads as the capture does.

Each case transforms the real 9-minute capture (SOURCES.md §6) in ``tmp_path``: rows cut by a killed collector,
compression, a byte order mark, LF endings, coins concatenated one after another, several days in a folder. The
expected result is always the loader's own output on the untouched (or plainly trimmed) real files.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from adapters.hyperliquid import catalog_cli
from adapters.hyperliquid import loaders
from adapters.hyperliquid.meta import instrument_for
from adapters.hyperliquid.recordings import RecordingError
from adapters.hyperliquid.recordings import iter_ws_messages

SECONDS_PER_DAY = 86_400


@pytest.fixture(scope="module")
def csv_dir(hl_captures) -> Path:
    return hl_captures.parent / "HL_data"


def _rows(result) -> tuple[list[tuple], list[tuple]]:
    deltas = [
        (d.action, d.order.side, d.order.price, d.order.size, d.flags, d.ts_event, d.ts_init) for d in result.deltas
    ]
    trades = [(t.price, t.size, t.aggressor_side, t.trade_id, t.ts_event, t.ts_init) for t in result.trades]
    return deltas, trades


def _lines(path: Path) -> list[str]:
    with path.open(newline="") as fh:  # keep the collector's CRLF
        return fh.readlines()


def _write_capture(folder: Path, coin: str, book: list[str], trades: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"trades_{coin}.csv").write_text("".join(trades), newline="")
    book_path = folder / f"orderbooks_{coin}.csv"
    book_path.write_text("".join(book), newline="")
    return book_path


def _load(book_path: Path, coin: str = "BTC"):
    return loaders.parse_file(book_path, instrument_for(coin), checkpoint_s=300, heartbeat=True)


def _shifted(lines: list[str], seconds: int) -> list[str]:
    """Rows with receive and venue time moved by whole seconds (header kept), prices untouched."""
    header = lines[0].rstrip("\r\n").split(",")
    recv, venue = header.index("timestamp"), header.index("exchange_timestamp")
    out = [lines[0]]
    for line in lines[1:]:
        fields = line.rstrip("\r\n").split(",")
        whole, _, frac = fields[recv].partition(".")
        fields[recv] = f"{int(whole) + seconds}.{frac}"
        fields[venue] = str(int(fields[venue]) + seconds * 1000)
        out.append(",".join(fields) + "\r\n")
    return out


def test_rows_torn_by_a_killed_collector_are_skipped_and_counted(csv_dir, tmp_path):
    """Killed mid-write, the collector leaves its last row cut short; restarted, it appends the next row to the cut
    one. Each such line is skipped and counted; every other row loads as before (a cut trade row used to crash with
    AttributeError, a cut book row silently lost levels or kept a shortened size)."""
    book, trades = _lines(csv_dir / "orderbooks_BTC.csv"), _lines(csv_dir / "trades_BTC.csv")
    trimmed = _write_capture(tmp_path / "trimmed", "BTC", book[:200] + book[202:-1], trades[:500] + trades[502:-1])
    expected = _load(trimmed)

    cut_book = book[:200] + [book[200][: len(book[200]) // 3] + book[201]] + book[202:-1] + [book[-1][:-4]]
    cut_trades = trades[:500] + [trades[500][:25] + trades[501]] + trades[502:-1] + [trades[-1][:20]]
    result = _load(_write_capture(tmp_path / "torn", "BTC", cut_book, cut_trades))

    assert result.torn_lines == 4
    assert _rows(result) == _rows(expected) and len(result.trades) > 1_400
    assert "torn lines skipped (a write cut short) 4" in result.summary()


def test_a_torn_row_without_a_torn_line_handler_names_file_and_line(csv_dir, tmp_path):
    """Row 11 cut after 2 fields and joined to row 12 (a restart's append) has 7 fields under a header of 6."""
    trades = _lines(csv_dir / "trades_BTC.csv")
    torn = trades[:10] + [trades[10][:25]] + trades[11:]
    book_path = _write_capture(tmp_path, "BTC", _lines(csv_dir / "orderbooks_BTC.csv"), torn)
    with pytest.raises(RecordingError, match=r"trades_BTC\.csv line 11: torn row: 7 fields, the header has 6"):
        list(iter_ws_messages(book_path))


def test_a_recording_whose_last_line_was_cut_loads_the_rest(hl_captures, tmp_path):
    with gzip.open(hl_captures / "hl_BTC_20250903.gz", "rt") as fh:
        lines = fh.readlines()
    whole, cut = tmp_path / "whole.gz", tmp_path / "cut.gz"
    whole.write_bytes(gzip.compress("".join(lines[:-1]).encode()))
    cut.write_bytes(gzip.compress(("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2]).encode()))
    result = _load(cut)
    assert result.torn_lines == 1 and _rows(result) == _rows(_load(whole)) and len(result.deltas) > 10_000


def test_compressed_bom_and_lf_captures_load_as_the_original(csv_dir, tmp_path):
    """The collector writes CRLF; a copy re-saved with LF endings and a byte order mark, or gzipped as a pair, is the
    same data (a BOM used to hide the ``timestamp`` column, a ``.csv.gz`` was read as a WS recording)."""
    book, trades = _lines(csv_dir / "orderbooks_SOL.csv"), _lines(csv_dir / "trades_SOL.csv")
    expected = _rows(_load(csv_dir / "orderbooks_SOL.csv", "SOL"))
    lf = [line.replace("\r\n", "\n") for line in book]
    lf_bom = _write_capture(tmp_path / "lf", "SOL", ["\ufeff" + lf[0]] + lf[1:], ["\ufeff" + trades[0]] + trades[1:])
    assert _rows(_load(lf_bom, "SOL")) == expected
    gz = tmp_path / "gz"
    gz.mkdir()
    for kind, lines in (("orderbooks", book), ("trades", trades)):
        (gz / f"{kind}_SOL.csv.gz").write_bytes(gzip.compress("".join(lines).encode()))
    assert _rows(_load(gz / "orderbooks_SOL.csv.gz", "SOL")) == expected and len(expected[1]) > 900


def test_coins_recorded_one_after_another_load_as_each_alone(hl_captures, tmp_path):
    """Recordings of BTC then ETH in one file: the ETH lines all come after BTC's last receive time. Each coin's
    receive clock is its own (ETH used to be held at BTC's last stamp: its 542 s collapsed into 0.1 s and 704 of
    its trades were dropped as late)."""
    both = tmp_path / "hl_BTC_then_ETH.gz"
    recordings = (gzip.open(hl_captures / f"hl_{coin}_20250903.gz").read() for coin in ("BTC", "ETH"))
    both.write_bytes(gzip.compress(b"".join(recordings)))
    for coin in ("BTC", "ETH"):
        alone = _load(hl_captures / f"hl_{coin}_20250903.gz", coin)
        together = _load(both, coin)
        assert together.recv_time_regressions == 0
        assert _rows(together) == _rows(alone) and len(alone.trades) > 700


def test_a_folder_of_days_is_one_command(csv_dir, tmp_path, capsys):
    """``catalog_cli DIR`` loads every capture under it (one sub-folder per day here, all three coins in each), and
    ``--coin`` takes only that coin's CSV files; a directory used to fail with IsADirectoryError."""
    days = tmp_path / "days"
    for day in range(2):
        for coin in ("BTC", "SOL"):
            book, trades = (_lines(csv_dir / f"{kind}_{coin}.csv") for kind in ("orderbooks", "trades"))
            shift_s = day * SECONDS_PER_DAY
            _write_capture(days / f"day{day}", coin, _shifted(book, shift_s), _shifted(trades, shift_s))
    one_day = {coin: _load(csv_dir / f"orderbooks_{coin}.csv", coin) for coin in ("BTC", "SOL")}

    assert catalog_cli.main([str(days), "--catalog", str(tmp_path / "all")]) == 0
    catalog = ParquetDataCatalog(str(tmp_path / "all"))
    for coin, result in one_day.items():
        instrument_id = result.instrument_id.value
        assert len(catalog.order_book_deltas(instrument_ids=[instrument_id])) == 2 * len(result.deltas)
        assert len(catalog.trade_ticks(instrument_ids=[instrument_id])) == 2 * len(result.trades) > 1_800

    capsys.readouterr()
    assert catalog_cli.main([str(days), "--coin", "SOL", "--catalog", str(tmp_path / "sol")]) == 0
    out = capsys.readouterr().out
    assert "orderbooks_BTC" not in out and str(days / "day1" / "orderbooks_SOL.csv") in out
    assert [i.id.value for i in ParquetDataCatalog(str(tmp_path / "sol")).instruments()] == ["SOL-USD-PERP.HYPERLIQUID"]


def test_two_captures_joined_with_cat_load_as_one(csv_dir, tmp_path):
    """``cat`` of two captures (the second 544 s later, as one long recording) repeats the header mid-file; that line
    is no row (it used to fail the load: receive timestamp 'timestamp' is not epoch seconds)."""
    book, trades = _lines(csv_dir / "orderbooks_ETH.csv"), _lines(csv_dir / "trades_ETH.csv")
    later_book, later_trades = _shifted(book, 544), _shifted(trades, 544)
    joined = _write_capture(tmp_path / "cat", "ETH", book + later_book, trades + later_trades)
    expected = _load(_write_capture(tmp_path / "one", "ETH", book + later_book[1:], trades + later_trades[1:]), "ETH")
    result = _load(joined, "ETH")
    assert _rows(result) == _rows(expected) and result.snapshots == 2 * 446


def test_a_long_capture_is_written_a_piece_at_a_time(csv_dir, tmp_path, monkeypatch):
    """The collector appends to one pair of files for days; held whole, 6 hours of BTC took 785 MB, so the command
    writes each file an hour at a time (here 240 s, on the capture joined to itself: 18 minutes). The catalog is the
    one the whole file gives, and no write holds more than one piece."""
    book, trades = _lines(csv_dir / "orderbooks_BTC.csv"), _lines(csv_dir / "trades_BTC.csv")
    long_capture = _write_capture(tmp_path, "BTC", book + _shifted(book, 544)[1:], trades + _shifted(trades, 544)[1:])
    whole = _load(long_capture)
    writes = []
    write_catalog = catalog_cli.write_catalog
    monkeypatch.setattr(catalog_cli, "PIECE_S", 240.0)

    def recorded_write(results, *args):
        writes.append(results)
        return write_catalog(results, *args)

    monkeypatch.setattr(catalog_cli, "write_catalog", recorded_write)

    assert catalog_cli.main([str(long_capture), "--catalog", str(tmp_path / "c"), "--checkpoint-s", "300"]) == 0
    pieces = [piece for results in writes for piece in results]
    # 1,088 s of receive time, two 250 s outages among them: a piece ends at the first message 240 s after it began
    assert len(pieces) == len(writes) == 4
    spans_s = [(p.ts_init_span_ns()[1] - p.ts_init_span_ns()[0]) / 1e9 for p in pieces]
    assert max(spans_s) < 240
    for earlier, later in zip(pieces, pieces[1:]):
        assert earlier.ts_init_span_ns()[1] < later.ts_init_span_ns()[0]
    assert [d for p in pieces for d in p.deltas] == whole.deltas
    assert [t for p in pieces for t in p.trades] == whole.trades
    catalog = ParquetDataCatalog(str(tmp_path / "c"))
    assert len(catalog.order_book_deltas()) == len(whole.deltas) > 24_000
    assert len(catalog.trade_ticks()) == len(whole.trades)


def test_sources_without_the_coin_are_refused_not_written_empty(csv_dir, hl_captures, tmp_path, capsys):
    """Header-only files (a collector stopped before its first row), or ``--coin`` naming a coin the recording does
    not hold: the command fails naming the files and writes no catalog (it wrote the instrument alone, exit 0, and
    ``run_backtest.py`` then builds its bundled data into a catalog without book data)."""
    recording = hl_captures / "hl_BTC_20250903.gz"
    assert catalog_cli.main([str(recording), "--coin", "ETH", "--catalog", str(tmp_path / "eth")]) == 2
    assert f"no ETH book or trade in {recording}: nothing to load" in capsys.readouterr().err
    assert not (tmp_path / "eth").exists()
    book, trades = _lines(csv_dir / "orderbooks_BTC.csv"), _lines(csv_dir / "trades_BTC.csv")
    empty = _write_capture(tmp_path / "empty", "BTC", book[:1], trades[:1])
    assert catalog_cli.main([str(empty), "--catalog", str(tmp_path / "c")]) == 2
    assert f"no BTC book or trade in {empty}: nothing to load" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def _cut_into_next(lines: list[str], row: int, keep_chars: int) -> list[str]:
    """Row ``row`` cut after ``keep_chars`` characters by a kill, the restarted collector's next row appended to it."""
    return lines[:row] + [lines[row][:keep_chars] + lines[row + 1]] + lines[row + 2 :]


@pytest.mark.parametrize(
    ("kind", "row", "keep_chars"),
    [("orderbooks", 200, 1), ("orderbooks", 200, 4), ("orderbooks", 200, 13), ("trades", 500, 5), ("trades", 500, 13)],
    ids=["book-1-digit", "book-whole-s", "book-fraction", "trades-whole-s", "trades-fraction"],
)
def test_a_row_cut_inside_its_receive_stamp_is_torn(csv_dir, tmp_path, kind, row, keep_chars):
    """A cut inside the first field leaves the header's field count and a stamp no collector writes: more than 10
    whole digits (``175691756904551.7549212``) or two dots. Such a row is torn like any other. It used to load: a
    cut in the trades' whole seconds dropped 968 of 1,436 trades as late (126 receive-time regressions, exit 0); one
    in a fraction failed the file; one in a book's whole seconds raised OverflowError, or with 1 digit kept put every
    later book in year 2342."""
    files = {k: _lines(csv_dir / f"{k}_BTC.csv") for k in ("orderbooks", "trades")}
    stamp = files[kind][row].split(",")[0]
    assert ("." in stamp[:keep_chars]) == (keep_chars > 10)  # the cut falls where the id says
    trimmed = dict(files, **{kind: files[kind][:row] + files[kind][row + 2 :]})
    cut = dict(files, **{kind: _cut_into_next(files[kind], row, keep_chars)})
    expected = _load(_write_capture(tmp_path / "trimmed", "BTC", trimmed["orderbooks"], trimmed["trades"]))
    result = _load(_write_capture(tmp_path / "cut", "BTC", cut["orderbooks"], cut["trades"]))
    assert (result.torn_lines, result.recv_time_regressions, result.late_trades) == (1, 0, 0)
    assert _rows(result) == _rows(expected) and len(result.trades) > 1_400 and len(result.deltas) > 12_000


def test_a_stamp_cut_without_a_torn_line_handler_names_file_and_line(csv_dir, tmp_path):
    trades = _cut_into_next(_lines(csv_dir / "trades_BTC.csv"), 500, 13)
    book_path = _write_capture(tmp_path, "BTC", _lines(csv_dir / "orderbooks_BTC.csv"), trades)
    torn = r"trades_BTC\.csv line 501: torn row: receive timestamp '1756904551\.751756904551\.7549212' is no collector"
    with pytest.raises(RecordingError, match=torn):
        list(iter_ws_messages(book_path))


def _digit_raised(line: str, column: int, digit: int) -> str:
    """``line`` with one digit of one field raised by one (a corrupt, still well-formed number)."""
    fields = line.split(",")
    text = fields[column]
    fields[column] = text[:digit] + str((int(text[digit]) + 1) % 10) + text[digit + 1 :]
    return ",".join(fields)


@pytest.mark.parametrize(("kind", "row", "column"), [("orderbooks", 200, 0), ("trades", 500, 5)])
def test_a_receive_stamp_hours_from_the_venue_time_is_torn(csv_dir, tmp_path, kind, row, column):
    """A book received 11.6 days after its venue time (the receive stamp's 4th digit raised: 1756... → 1757...), or a
    trade received 11.6 days before its own (the same in its exchange_timestamp): no clock is that far off. Torn, it
    costs its row alone (the book used to hold every later message at its stamp, 246 receive-time regressions; the
    trade loaded with its time capped)."""
    files = {k: _lines(csv_dir / f"{k}_BTC.csv") for k in ("orderbooks", "trades")}
    trimmed = dict(files, **{kind: files[kind][:row] + files[kind][row + 1 :]})
    corrupt_row = _digit_raised(files[kind][row], column, 3)
    corrupt = dict(files, **{kind: files[kind][:row] + [corrupt_row] + files[kind][row + 1 :]})
    expected = _load(_write_capture(tmp_path / "trimmed", "BTC", trimmed["orderbooks"], trimmed["trades"]))
    result = _load(_write_capture(tmp_path / "corrupt", "BTC", corrupt["orderbooks"], corrupt["trades"]))
    assert (result.torn_lines, result.recv_time_regressions) == (1, 0)
    assert _rows(result) == _rows(expected) and len(result.deltas) > 12_000


@pytest.mark.parametrize("keep_chars", [1, 4])
def test_a_recording_line_whose_receive_stamp_was_cut_fails_naming_the_line(hl_captures, tmp_path, capsys, keep_chars):
    """The WS recording's ``<recv_ns> <json>`` line 301 cut inside its stamp and joined to line 302: a receive time
    past 2262 is refused by file and line (it raised OverflowError, or with 1 digit kept wrote 1,146 of 1,436 trades
    away as late and crashed writing year 2342 to the catalog)."""
    with gzip.open(hl_captures / "hl_BTC_20250903.gz", "rt") as fh:
        lines = fh.readlines()
    cut = tmp_path / "hl_BTC_cut.gz"
    cut.write_bytes(gzip.compress("".join(_cut_into_next(lines, 300, keep_chars)).encode()))
    assert catalog_cli.main([str(cut), "--catalog", str(tmp_path / "c")]) == 2
    assert "hl_BTC_cut.gz line 301: receive time 1" in capsys.readouterr().err


def test_coin_in_any_case_and_the_files_read_counted(csv_dir, tmp_path, capsys):
    """``--coin eth`` is ETH (it failed: "the CSV captures given are of other coins"); the summary counts the files
    read, ETH's book and trades, not the directory's 6 (it said 3: every book file); ``kpepe`` takes the meta's own
    spelling, ``kPEPE``, which upper case would miss."""
    assert catalog_cli.main([str(csv_dir), "--coin", "eth", "--catalog", str(tmp_path / "eth")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == f"catalog {tmp_path / 'eth'}: ETH-USD-PERP.HYPERLIQUID from 2 file(s)"
    catalog = ParquetDataCatalog(str(tmp_path / "eth"))
    assert len(catalog.order_book_deltas()) == len(_load(csv_dir / "orderbooks_ETH.csv", "ETH").deltas) > 10_000
    assert catalog_cli.main([str(csv_dir), "--coin", "kpepe", "--catalog", str(tmp_path / "k")]) == 2
    assert "no source for kPEPE: the CSV captures given are of other coins" in capsys.readouterr().err
