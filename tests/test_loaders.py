"""Loaders on the real bundled Hyperliquid data: S3 archive hour, hftbacktest WS recording, SDK meta cassette.

Expected values come from DESIGN §9 or from reading the raw files here, independently of the loader's own reader
(lz4/gzip + json + pandas for the ISO receive times).
"""

from __future__ import annotations

import gzip
import json
import shutil
from decimal import Decimal
from itertools import groupby
from pathlib import Path

import lz4.frame
import pandas as pd
import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from adapters.catalog import write_catalog
from adapters.hyperliquid import catalog_cli
from adapters.hyperliquid import loaders
from adapters.hyperliquid.book_diff import SnapshotDiffer
from adapters.hyperliquid.cassettes import cassette_response_bodies
from adapters.hyperliquid.meta import default_instrument
from adapters.hyperliquid.meta import instrument_for
from adapters.hyperliquid.meta import MetaError
from adapters.hyperliquid.meta import load_meta
from adapters.hyperliquid.recordings import RecordingError
from tests.conftest import RESEARCH_DATA
from tests.conftest import _require

BTC_PERP = InstrumentId.from_str("BTC-USD-PERP.HYPERLIQUID")


# --- raw readers, independent of the loader ---------------------------------------------------------------------


def raw_archive_lines(path: Path) -> list[str]:
    return lz4.frame.decompress(path.read_bytes()).decode().splitlines()


def raw_archive_snapshots(path: Path) -> list[dict]:
    """Each snapshot as {ts_init, ts_event, bids, asks} with levels as (price, size) floats, best first."""
    snapshots = []
    for line in raw_archive_lines(path):
        record = json.loads(line)
        data = record["raw"]["data"]
        snapshots.append(_snapshot(pd.Timestamp(record["time"], tz="UTC").value, data))
    return snapshots


def raw_ws_messages(path: Path) -> list[tuple[int, dict]]:
    messages = []
    for line in gzip.open(path, "rt"):
        stamp, body = line.split(" ", 1)
        messages.append((int(stamp), json.loads(body)))
    return messages


def raw_ws_snapshots(path: Path) -> list[dict]:
    return [_snapshot(ns, m["data"]) for ns, m in raw_ws_messages(path) if m["channel"] == "l2Book"]


def _snapshot(ts_init_ns: int, data: dict) -> dict:
    bids, asks = ([(float(lv["px"]), float(lv["sz"])) for lv in side] for side in data["levels"])
    return {"ts_init": ts_init_ns, "ts_event": data["time"] * 1_000_000, "bids": bids, "asks": asks}


# --- fixtures ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def instrument():
    return default_instrument()


@pytest.fixture(scope="session")
def archive_result(archive_btc_hour, instrument):
    return loaders.parse_file(archive_btc_hour, instrument)


@pytest.fixture(scope="session")
def archive_snapshots(archive_btc_hour):
    return raw_archive_snapshots(archive_btc_hour)


@pytest.fixture(scope="session")
def ws_result(ws_recording_btc, instrument):
    return loaders.parse_file(ws_recording_btc, instrument)


# --- archive hour: counts from DESIGN §9 -------------------------------------------------------------------------


def test_archive_counts_match_design(archive_result):
    assert archive_result.snapshots == 5_587
    assert archive_result.batches == 5_051
    assert archive_result.repeated_snapshots == 536
    assert len(archive_result.deltas) == 32_588
    assert archive_result.action_counts() == {"CLEAR": 1, "ADD": 12_919, "UPDATE": 6_789, "DELETE": 12_879}
    assert archive_result.trades == []
    assert archive_result.crossed_snapshots == 0
    assert archive_result.stale_snapshots == 0
    assert archive_result.other_channels == {}


def test_archive_first_and_last_snapshot_match_raw_file(archive_result, archive_snapshots, instrument):
    first, last = archive_snapshots[0], archive_snapshots[-1]
    # pinned from the raw file (first line of BTC.lz4)
    assert first["bids"][0] == (42727.0, 0.02265) and first["asks"][0] == (42729.0, 3.83257)
    assert first["ts_event"] == 1_704_110_399_915_000_000

    quote = archive_result.quotes[0]
    assert (quote.bid_price.as_double(), quote.bid_size.as_double()) == first["bids"][0]
    assert (quote.ask_price.as_double(), quote.ask_size.as_double()) == first["asks"][0]
    assert (quote.ts_event, quote.ts_init) == (first["ts_event"], first["ts_init"])
    assert archive_result.deltas[0].ts_init == first["ts_init"]

    book = OrderBook(instrument.id, BookType.L2_MBP)
    for delta in archive_result.deltas:
        book.apply_delta(delta)
    assert (book.best_bid_price().as_double(), book.best_bid_size().as_double()) == last["bids"][0]
    assert (book.best_ask_price().as_double(), book.best_ask_size().as_double()) == last["asks"][0]
    last_delta = archive_result.deltas[-1]
    assert (last_delta.ts_event, last_delta.ts_init) == (last["ts_event"], last["ts_init"])


def test_archive_quotes_are_the_top_of_book_changes(archive_result, archive_snapshots):
    tops = [(s["bids"][0], s["asks"][0], s["ts_init"]) for s in archive_snapshots]
    changed = [top for previous, top in zip([None, *tops], tops) if previous is None or previous[:2] != top[:2]]
    assert len(archive_result.quotes) == len(changed) == 2_866
    for quote, (bid, ask, ts_init) in zip(archive_result.quotes, changed):
        assert quote.ts_init == ts_init
        assert quote.bid_price.as_double() == bid[0] and quote.ask_price.as_double() == ask[0]


def assert_book_replays_snapshots(result, snapshots, instrument):
    """Apply each batch to a Nautilus L2_MBP book: after every snapshot the book is exactly its levels, and no
    single delta ever leaves it crossed (deletes come before adds)."""
    batches = {ts_init: list(group) for ts_init, group in groupby(result.deltas, key=lambda d: d.ts_init)}
    assert len(batches) == result.batches
    book = OrderBook(instrument.id, BookType.L2_MBP)
    for snapshot in snapshots:
        batch = batches.pop(snapshot["ts_init"], [])
        for index, delta in enumerate(batch):
            assert bool(delta.flags & RecordFlag.F_LAST) == (index == len(batch) - 1)
            book.apply_delta(delta)
            best_bid, best_ask = book.best_bid_price(), book.best_ask_price()
            assert best_bid is None or best_ask is None or best_bid < best_ask
        assert _levels(book.bids(), instrument) == snapshot["bids"]
        assert _levels(book.asks(), instrument) == snapshot["asks"]
    assert not batches


def _levels(book_levels, instrument) -> list[tuple[float, float]]:
    return [(level.price.as_double(), round(level.size(), instrument.size_precision)) for level in book_levels]


def test_archive_book_rebuilt_from_deltas_equals_every_snapshot(archive_result, archive_snapshots, instrument):
    assert_book_replays_snapshots(archive_result, archive_snapshots, instrument)


def test_ws_book_rebuilt_from_deltas_equals_every_snapshot(ws_result, ws_recording_btc, instrument):
    assert_book_replays_snapshots(ws_result, raw_ws_snapshots(ws_recording_btc), instrument)


def test_delta_rows_are_well_formed(archive_result):
    deltas = archive_result.deltas
    snapshot = deltas[:41]
    assert snapshot[0].action == BookAction.CLEAR
    assert all(d.flags & RecordFlag.F_SNAPSHOT for d in snapshot)
    assert [d.flags & RecordFlag.F_LAST for d in snapshot].count(RecordFlag.F_LAST) == 1
    assert snapshot[-1].flags & RecordFlag.F_LAST
    assert not any(d.flags & RecordFlag.F_SNAPSHOT for d in deltas[41:])
    assert all(d.order.order_id == 0 for d in deltas)
    assert all(d.order.size.as_double() == 0 for d in deltas if d.action == BookAction.DELETE)
    sequences = [d.sequence for d in deltas]
    assert sequences == list(range(1, len(deltas) + 1))
    ts_event = [d.ts_event for d in deltas]
    ts_init = [d.ts_init for d in deltas]
    assert ts_event == sorted(ts_event) and ts_init == sorted(ts_init)
    assert all(e <= i for e, i in zip(ts_event, ts_init))


# --- SnapshotDiffer on real snapshots ----------------------------------------------------------------------------


def test_differ_repeats_reset_and_batches(archive_snapshots, instrument):
    first, second = archive_snapshots[0], archive_snapshots[1]
    differ = SnapshotDiffer.for_instrument(instrument)
    snapshot = differ.diff(first["bids"], first["asks"], first["ts_event"], first["ts_init"])
    assert len(snapshot) == 41 and differ.sequence == 41
    assert differ.diff(first["bids"], first["asks"], first["ts_event"], first["ts_init"]) == []
    assert differ.diff_batch(first["bids"], first["asks"], first["ts_event"], first["ts_init"]) is None

    batch = differ.diff_batch(second["bids"], second["asks"], second["ts_event"], second["ts_init"])
    assert isinstance(batch, OrderBookDeltas) and batch.instrument_id == instrument.id
    actions = [d.action for d in batch.deltas]
    assert actions == sorted(actions, key=[BookAction.DELETE, BookAction.UPDATE, BookAction.ADD].index)
    departed = {p for p, _ in first["bids"]} - {p for p, _ in second["bids"]}
    deleted_bids = {d.order.price.as_double() for d in batch.deltas if d.action == BookAction.DELETE and d.order.side == OrderSide.BUY}
    assert deleted_bids == departed

    differ.reset()
    again = differ.diff(first["bids"], first["asks"], first["ts_event"], first["ts_init"])
    assert again[0].action == BookAction.CLEAR and again[0].sequence == differ.sequence - 40


def test_level_leaving_the_window_is_a_delete(archive_snapshots, instrument):
    """Find a real consecutive pair where a bid level still inside the old range drops out of the 20-level window
    because better levels arrived, and check it is deleted with size 0."""
    for previous, current in zip(archive_snapshots, archive_snapshots[1:]):
        worst_new_bid = current["bids"][-1][0]
        left = [p for p, _ in previous["bids"] if p < worst_new_bid]
        if left:
            break
    else:
        pytest.fail("no window exit in the hour")
    differ = SnapshotDiffer.for_instrument(instrument)
    differ.diff(previous["bids"], previous["asks"], previous["ts_event"], previous["ts_init"])
    deltas = differ.diff(current["bids"], current["asks"], current["ts_event"], current["ts_init"])
    deleted = {d.order.price.as_double(): d.order.size.as_double() for d in deltas if d.action == BookAction.DELETE}
    assert all(deleted.get(price) == 0.0 for price in left)


# --- WS recording -------------------------------------------------------------------------------------------------


def test_trades_delivered_after_an_outage_are_not_replayed_half_a_minute_late(hl_captures):
    """Reviewer finding: after ETH's 250 s recorder outage the resubscription delivered 49 trades 7-26 s after they
    happened; replayed at their receive stamps they met books half a minute newer and could fill orders placed after
    them. Dropped and counted; every trade kept arrived within the live stream's lag."""
    result = loaders.parse_file(hl_captures / "hl_ETH_20250903.gz", instrument_for("ETH"))
    assert result.late_trades == 49
    assert max(t.ts_init - t.ts_event for t in result.trades) <= loaders.MAX_TRADE_LAG_S * 1e9
    assert "trades received over 10 s late dropped 49" in result.summary()
    btc = loaders.parse_file(hl_captures / "hl_BTC_20250903.gz", instrument_for("BTC"))
    assert btc.late_trades == 0 and len(btc.trades) == 1_436  # BTC's stream stayed within 3.8 s


def test_ws_recording_trades(ws_result, ws_recording_btc):
    messages = raw_ws_messages(ws_recording_btc)
    raw_trades = [(ns, t) for ns, m in messages if m["channel"] == "trades" for t in m["data"]]
    first_recv_ns = messages[0][0]
    live = [(ns, t) for ns, t in raw_trades if t["time"] * 1_000_000 >= first_recv_ns]
    assert len(raw_trades) == 64
    assert ws_result.pre_recording_trades == 30  # the subscription's replay of recent trades, 4-49 s old
    assert len(ws_result.trades) == len(live) == 34
    assert ws_result.duplicate_trades == 0

    first = ws_result.trades[0]
    assert first.trade_id.value == "917211710228416"
    assert first.price.as_double() == 105056.0 and first.size.as_double() == 0.02222
    assert first.aggressor_side == AggressorSide.BUYER
    assert first.ts_event == 1_737_918_847_000_000_000 and first.ts_init == 1_737_918_847_319_919_000

    by_tid = {str(t["tid"]): (ns, t) for ns, t in live}
    expected_side = {"B": AggressorSide.BUYER, "A": AggressorSide.SELLER}
    for tick in ws_result.trades:
        recv_ns, raw = by_tid[tick.trade_id.value]
        assert tick.aggressor_side == expected_side[raw["side"]]
        assert tick.price.as_double() == float(raw["px"]) and tick.size.as_double() == float(raw["sz"])
        assert (tick.ts_event, tick.ts_init) == (raw["time"] * 1_000_000, recv_ns)
    sides = [t.aggressor_side for t in ws_result.trades]
    assert [raw["side"] for _, raw in live].count("B") == sides.count(AggressorSide.BUYER) == 4
    assert [raw["side"] for _, raw in live].count("A") == sides.count(AggressorSide.SELLER) == 30


def test_ws_recording_book_counts(ws_result):
    assert ws_result.snapshots == 46
    assert ws_result.repeated_snapshots == 1  # the subscription snapshot and the first push are the same block
    assert ws_result.batches == 45
    assert ws_result.crossed_snapshots == 0


# --- formats and timestamp policy --------------------------------------------------------------------------------


def test_plain_and_gzip_archive_lines_parse_like_lz4(archive_btc_hour, archive_result, instrument, tmp_path):
    lines = raw_archive_lines(archive_btc_hour)[:300]
    plain = tmp_path / "BTC.ndjson"
    plain.write_text("\n".join(lines) + "\n")
    packed = tmp_path / "BTC.ndjson.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, packed):
        result = loaders.parse_file(path, instrument)
        assert result.snapshots == 300
        count = len(result.deltas)
        assert [str(d) for d in result.deltas] == [str(d) for d in archive_result.deltas[:count]]


def test_other_channels_are_counted_and_skipped(ws_recording_btc, instrument, tmp_path):
    """hftbacktest recordings can carry ``subscriptionResponse`` acks (its converter's docstring shows one)."""
    lines = gzip.open(ws_recording_btc, "rt").read().splitlines()
    stamp = lines[0].split(" ", 1)[0]
    ack = {"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": {"type": "l2Book"}}}
    path = tmp_path / "with_ack.txt"
    path.write_text("\n".join([f"{stamp} {json.dumps(ack)}", *lines]) + "\n")
    result = loaders.parse_file(path, instrument)
    assert result.other_channels == {"subscriptionResponse": 1}
    assert result.snapshots == 46 and len(result.trades) == 34


def test_timestamp_guards_on_reordered_real_lines(ws_recording_btc, instrument, tmp_path):
    """Real frames, timestamps perturbed: a receive time going back is held, an older book block is dropped, and
    a venue time after the receive time is capped at it."""
    books = [line for line in gzip.open(ws_recording_btc, "rt") if '"l2Book"' in line][2:6]
    stamps = [int(line.split(" ", 1)[0]) for line in books]
    b0, b1, b2, b3 = (line.split(" ", 1)[1] for line in books)
    future = json.loads(b3)
    future["data"]["time"] = stamps[3] // 1_000_000 + 5_000  # 5 s ahead of the receiver clock
    path = tmp_path / "perturbed.txt"
    path.write_text(
        f"{stamps[0]} {b0}{stamps[2]} {b2}{stamps[1]} {b1}{stamps[3]} {json.dumps(future)}\n",
    )
    result = loaders.parse_file(path, instrument)
    assert result.recv_time_regressions == 1  # b1's receive time is before b2's
    assert result.stale_snapshots == 1  # and its block is older than b2's
    assert result.ts_event_capped == 1
    assert result.snapshots == 4 and {d.ts_init for d in result.deltas} <= {stamps[0], stamps[2], stamps[3]}
    assert result.deltas[-1].ts_event == result.deltas[-1].ts_init == stamps[3]


# --- meta and instrument -----------------------------------------------------------------------------------------


def test_default_instrument_from_real_meta(instrument):
    assert instrument.id == BTC_PERP
    assert instrument.raw_symbol.value == "BTC"
    assert instrument.price_precision == 1 and instrument.size_precision == 5
    assert instrument.price_increment.as_decimal() == Decimal("0.1")
    assert instrument.size_increment.as_decimal() == Decimal("0.00001")
    assert instrument.maker_fee == Decimal("0.00015") and instrument.taker_fee == Decimal("0.00045")
    assert instrument.min_notional.as_decimal() == Decimal(10)


def test_load_meta_from_cassette_and_plain_json(sdk_cassettes, tmp_path):
    meta = load_meta(sdk_cassettes / "test_get_info.yaml")
    assert len(meta["universe"]) == 28
    assert meta["universe"][0] == {"maxLeverage": 50, "name": "BTC", "szDecimals": 5}
    # a cassette whose first interaction is the meta request and whose second is something else
    assert load_meta(sdk_cassettes / "test_get_l2_snapshot.yaml") == meta
    plain = tmp_path / "meta.json"
    plain.write_text(json.dumps(meta))
    assert load_meta(plain) == meta
    meta_and_ctxs = tmp_path / "metaAndAssetCtxs.json"
    meta_and_ctxs.write_text(json.dumps([meta, []]))
    assert load_meta(meta_and_ctxs) == meta
    with pytest.raises(MetaError, match="no perp meta"):
        load_meta(sdk_cassettes / "test_get_all_mids.yaml")


def test_cassette_bodies_unfold_yaml_lines(sdk_cassettes):
    """vcrpy folds long bodies across lines; YAML reads each fold back as one space."""
    (body,) = cassette_response_bodies(sdk_cassettes / "test_get_frontend_open_orders.yaml")
    orders = json.loads(body)
    assert [o["orderType"] for o in orders][:2] == ["Take Profit Market", "Stop Market"]
    assert orders[0]["triggerCondition"] == "Price above 10.004"


def test_cassette_single_quote_escape(tmp_path):
    cassette = tmp_path / "quoted.yaml"
    cassette.write_text("interactions:\n- response:\n    body:\n      string: '{\"note\": \"it''s\"}'\n")
    assert cassette_response_bodies(cassette) == ['{"note": "it\'s"}']


# --- catalog and CLI ---------------------------------------------------------------------------------------------


def _catalog_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))


def test_catalog_round_trip(archive_result, ws_result, instrument, tmp_path):
    catalog = write_catalog([archive_result, ws_result], instrument, tmp_path / "catalog")
    deltas = catalog.order_book_deltas(instrument_ids=[BTC_PERP.value])
    assert len(deltas) == len(archive_result.deltas) + len(ws_result.deltas) == 32_588 + 340
    written = archive_result.deltas + ws_result.deltas
    # a CLEAR has no order: it reads back with the column precisions (price 0.0) rather than 0, so compare fields
    assert [(d.action, d.flags, d.sequence, d.ts_event, d.ts_init) for d in deltas] == [
        (d.action, d.flags, d.sequence, d.ts_event, d.ts_init) for d in written
    ]
    assert [str(d) for d in deltas if d.action != BookAction.CLEAR] == [
        str(d) for d in written if d.action != BookAction.CLEAR
    ]
    assert len(catalog.trade_ticks(instrument_ids=[BTC_PERP.value])) == 34
    assert len(catalog.quote_ticks(instrument_ids=[BTC_PERP.value])) == len(archive_result.quotes) + len(ws_result.quotes)
    (stored,) = catalog.instruments()
    assert stored.id == BTC_PERP and stored.size_precision == 5 and stored.maker_fee == Decimal("0.00015")


def test_cli_is_idempotent(archive_btc_hour, ws_recording_btc, tmp_path, capsys):
    catalog = tmp_path / "catalog"
    argv = [str(archive_btc_hour), str(ws_recording_btc), "--catalog", str(catalog), "--checkpoint-s", "0", "--no-heartbeat"]
    assert catalog_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "BTC.lz4: 5,587 snapshots (536 repeats), 5,051 batches (0 checkpoints, 0 heartbeats), 32,588 deltas" in out
    files = _catalog_files(catalog)
    assert len(files) == 6  # instrument, deltas x2, quotes x2, trades (the archive has none)
    assert catalog_cli.main(argv) == 0
    assert _catalog_files(catalog) == files
    reread = ParquetDataCatalog(str(catalog))
    assert len(reread.order_book_deltas(instrument_ids=[BTC_PERP.value])) == 32_588 + 340


def test_cli_malformed_line_names_file_and_line(archive_btc_hour, tmp_path, capsys):
    lines = raw_archive_lines(archive_btc_hour)[:17]
    broken = json.loads(lines[16])
    del broken["raw"]["data"]["levels"]
    lines[16] = json.dumps(broken)
    bad = tmp_path / "BAD.ndjson"
    bad.write_text("\n".join(lines) + "\n")
    assert catalog_cli.main([str(bad), "--catalog", str(tmp_path / "catalog")]) == 2
    err = capsys.readouterr().err
    assert "BAD.ndjson line 17: malformed l2Book message: Object missing required field `levels`" in err
    assert "Traceback" not in err
    assert not (tmp_path / "catalog").exists()


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda line: line.replace('"side":"B"', '"side":"X"', 1), "trade side 'X' is neither 'B' nor 'A'"),
        (lambda line: line.replace('"sz":"', '"sz":"-', 1), "non-positive"),
        (lambda line: line[: len(line) // 2], "line 3"),
    ],
)
def test_bad_ws_lines_raise_with_line_number(ws_recording_btc, instrument, tmp_path, mutate, reason):
    lines = gzip.open(ws_recording_btc, "rt").read().splitlines()
    assert '"trades"' in lines[2]
    lines[2] = mutate(lines[2])
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    with pytest.raises(RecordingError, match="bad.gz line 3") as info:
        loaders.parse_file(path, instrument)
    assert reason in str(info.value)


def test_cli_truncated_archive_and_missing_inputs(archive_btc_hour, tmp_path, capsys):
    truncated = tmp_path / "BTC.lz4"
    truncated.write_bytes(archive_btc_hour.read_bytes()[:50_000])
    assert catalog_cli.main([str(truncated), "--catalog", str(tmp_path / "c")]) == 2
    assert "BTC.lz4 line" in capsys.readouterr().err
    assert catalog_cli.main([str(tmp_path / "absent.lz4"), "--catalog", str(tmp_path / "c")]) == 2
    assert "absent.lz4" in capsys.readouterr().err
    assert catalog_cli.main([str(archive_btc_hour), "--catalog", str(tmp_path / "c"), "--coin", "NOPE"]) == 2
    assert "NOPE" in capsys.readouterr().err


def test_overlapping_sources_are_refused(ws_recording_btc, tmp_path, capsys):
    copy = tmp_path / "copy.gz"
    shutil.copy(ws_recording_btc, copy)
    assert catalog_cli.main([str(ws_recording_btc), str(copy), "--catalog", str(tmp_path / "c")]) == 2
    assert "overlap" in capsys.readouterr().err


def test_checkpoints_reemit_the_whole_book(archive_btc_hour):
    """Every 300 s of receive time the book is re-emitted whole (CLEAR + ADDs), so a replay can start there."""
    from nautilus_trader.model.enums import BookAction
    from nautilus_trader.model.enums import BookType
    from nautilus_trader.model.book import OrderBook

    instrument = default_instrument()
    result = loaders.parse_file(archive_btc_hour, instrument, checkpoint_s=300.0)
    clears = [i for i, d in enumerate(result.deltas) if d.action == BookAction.CLEAR]
    # the hour spans 3,598.7 s of receive time: the first snapshot plus one checkpoint per 300 s → 1 + 11
    assert result.checkpoints == 11 and len(clears) == 12
    gaps_s = [(result.deltas[b].ts_init - result.deltas[a].ts_init) / 1e9 for a, b in zip(clears, clears[1:])]
    assert all(300.0 <= gap < 303.0 for gap in gaps_s)
    # a book rebuilt from a checkpoint alone equals the book rebuilt from the start of the file
    end = next(i for i, d in enumerate(result.deltas[clears[5]:], clears[5]) if d.flags & 128)
    from_start, from_checkpoint = OrderBook(instrument.id, BookType.L2_MBP), OrderBook(instrument.id, BookType.L2_MBP)
    for delta in result.deltas[: end + 1]:
        from_start.apply_delta(delta)
    for delta in result.deltas[clears[5] : end + 1]:
        from_checkpoint.apply_delta(delta)
    assert from_checkpoint.bids() and [(lv.price, lv.size()) for lv in from_checkpoint.bids()] == [
        (lv.price, lv.size()) for lv in from_start.bids()
    ]
    assert [(lv.price, lv.size()) for lv in from_checkpoint.asks()] == [(lv.price, lv.size()) for lv in from_start.asks()]


def test_heartbeats_keep_the_feed_alive_without_changing_the_book(archive_btc_hour):
    """Each of the 536 repeated snapshots becomes one no-op UPDATE of the best bid; the book is unchanged."""
    from nautilus_trader.model.enums import BookAction

    instrument = default_instrument()
    plain = loaders.parse_file(archive_btc_hour, instrument)
    beating = loaders.parse_file(archive_btc_hour, instrument, heartbeat=True)
    assert beating.heartbeats == beating.repeated_snapshots == 536
    assert len(beating.deltas) == len(plain.deltas) + 536
    assert beating.action_counts()["UPDATE"] == plain.action_counts()["UPDATE"] + 536
    # the longest silence in receive time between batches drops to the real gap between snapshots (< 3 s)
    last_ts = [d.ts_init for d in beating.deltas if d.flags & 128]
    assert max(b - a for a, b in zip(last_ts, last_ts[1:])) < 3_000_000_000
    heartbeat = next(d for d in beating.deltas if d.action == BookAction.UPDATE and d.flags & 128 and d.sequence > 1000)
    assert heartbeat.order.size.as_double() > 0


def test_cli_loads_every_coin_found_unless_one_is_named(tmp_path, capsys):
    """Without ``--coin`` every coin of the sources gets its instrument and streams (non-BTC coins used to be
    skipped silently); ``--coin`` restricts the load to one."""
    recordings = RESEARCH_DATA / "hl-collector-csv" / "recordings"
    btc, eth = (_require(recordings / f"hl_{coin}_20250903.gz") for coin in ("BTC", "ETH"))
    both = tmp_path / "both"
    assert catalog_cli.main([str(btc), str(eth), "--catalog", str(both)]) == 0
    catalog = ParquetDataCatalog(str(both))
    assert sorted(i.id.value for i in catalog.instruments()) == ["BTC-USD-PERP.HYPERLIQUID", "ETH-USD-PERP.HYPERLIQUID"]
    for coin in ("BTC", "ETH"):
        alone = loaders.parse_file(
            recordings / f"hl_{coin}_20250903.gz",
            instrument_for(coin),
            checkpoint_s=loaders.DEFAULT_CHECKPOINT_S,
            heartbeat=True,
        )
        instrument_id = alone.instrument_id.value
        assert len(catalog.trade_ticks(instrument_ids=[instrument_id])) == len(alone.trades) > 0
        assert len(catalog.order_book_deltas(instrument_ids=[instrument_id])) == len(alone.deltas)
    assert "other coins skipped" not in capsys.readouterr().out
    only_eth = tmp_path / "eth"
    assert catalog_cli.main([str(btc), str(eth), "--coin", "ETH", "--catalog", str(only_eth)]) == 0
    assert [i.id.value for i in ParquetDataCatalog(str(only_eth)).instruments()] == ["ETH-USD-PERP.HYPERLIQUID"]
