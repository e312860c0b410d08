"""Binance USDⓈ-M as the second venue, on the bundled real recording (5.7 minutes of BTCUSDT, 2024-08-08).

The loader decodes every frame with NautilusTrader's own Binance schemas and writes the instrument as its Binance
provider builds it; the book it rebuilds from the diffs must equal Binance's own ``bookTicker`` wherever both name
the same update id. The backtest runs the shared strategy and actors through ``run_backtest.py`` exactly as a user
does, and the live node is built (not connected: the testnet is out of reach here) from NautilusTrader's Binance
factories with the same strategy and actor configs.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest
from nautilus_trader.adapters.binance.common.enums import BinanceAccountType
from nautilus_trader.adapters.binance.common.enums import BinanceEnvironment
from nautilus_trader.adapters.binance.futures.data import BinanceFuturesDataClient
from nautilus_trader.adapters.binance.futures.execution import BinanceFuturesExecutionClient
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag

import run_backtest
import run_live
from adapters.binance import loaders
from adapters.binance.instruments import BTCUSDT_PERP
from adapters.binance.instruments import usdm_perpetual
from adapters.venues import venue_module
from mm_strategy.live import LiveOptions
from mm_strategy.live import build_node
from mm_strategy.live import node_config
from mm_strategy.node_config import load_venue_config
from tests.conftest import REPO_ROOT
from tests.conftest import RESEARCH_DATA
from tests.conftest import _require

RECORDING = RESEARCH_DATA / "hftbacktest/examples/usdm/btcusdt_20240808.gz"
CONFIG = REPO_ROOT / "configs" / "binance_btcusdt.json"


@pytest.fixture(scope="module")
def recording() -> Path:
    return _require(RECORDING)


@pytest.fixture(scope="module")
def loaded(recording, tmp_path_factory) -> tuple[loaders.LoadResult, Path]:
    catalog = tmp_path_factory.mktemp("catalog_binance")
    return loaders.load(recording, catalog), catalog


@pytest.fixture(scope="module")
def report(loaded, tmp_path_factory) -> dict:
    _, catalog = loaded
    out = tmp_path_factory.mktemp("report_binance")
    args = ["--config", str(CONFIG), "--catalog", str(catalog), "--out", str(out)]  # all of it: fills start late
    assert run_backtest.main(args) == 0
    return json.loads((out / "report.json").read_text())


def _raw_frames(path: Path) -> list[tuple[int, dict]]:
    with gzip.open(path, "rt") as lines:
        return [(int(stamp), json.loads(raw)) for stamp, raw in (line.split(" ", 1) for line in lines)]


# -- instrument ----------------------------------------------------------------------------------------------


def test_the_instrument_is_nautilus_traders_binance_perpetual_with_the_venues_rules():
    instrument = usdm_perpetual(BTCUSDT_PERP, 1_723_161_255_319_702_566)
    assert instrument.id.value == "BTCUSDT-PERP.BINANCE" and instrument.raw_symbol.value == "BTCUSDT"
    assert instrument.price_increment.as_decimal() == Decimal("0.10")
    assert instrument.size_increment.as_decimal() == Decimal("0.001")
    assert instrument.min_notional.as_decimal() == Decimal(100) and instrument.min_notional.currency.code == "USDT"
    assert instrument.get_settlement_currency().code == "USDT" and instrument.quote_currency.code == "USDT"
    # fee tier 0 from NautilusTrader's own table (a node without credentials prices fees the same way)
    assert (instrument.maker_fee, instrument.taker_fee) == (Decimal("0.0002"), Decimal("0.0005"))
    assert instrument.ts_init == 1_723_161_255_319_702_566


def test_an_unknown_symbol_is_refused_naming_the_known_ones():
    with pytest.raises(KeyError, match="ETHUSDT-PERP.BINANCE is not a known Binance USDⓈ-M perpetual.*BTCUSDT"):
        usdm_perpetual(BTCUSDT_PERP.from_str("ETHUSDT-PERP.BINANCE"), 0)


# -- loader --------------------------------------------------------------------------------------------------


def test_the_recording_loads_whole_from_its_snapshot(loaded, recording):
    result, _ = loaded
    frames = _raw_frames(recording)
    streams = [frame.get("stream", "snapshot").rpartition("@")[2] for _, frame in frames]
    assert len(frames) == result.lines == 93_954
    assert (result.snapshots, result.diffs) == (1, streams.count("0ms"))  # depth@0ms
    # the snapshot arrived after 6 diffs: 4 end before its lastUpdateId, 2 continue it (applied at its arrival)
    assert result.diffs_before_snapshot_dropped == 4
    assert result.sequence_gaps == 0 and result.crossed_books == 0 and result.malformed == 0
    snapshot_recv = next(stamp for stamp, frame in frames if "lastUpdateId" in frame)
    before = [frame["stream"] for stamp, frame in frames if stamp < snapshot_recv and "stream" in frame]
    assert result.before_book == sum(not s.endswith("0ms") for s in before)
    assert len(result.trades) == streams.count("trade") - sum(s.endswith("trade") for s in before)
    assert len(result.quotes) == streams.count("bookTicker") - sum(s.endswith("bookTicker") for s in before)
    # the receive clock runs behind Binance's on this recording: every venue time is capped at the receive time
    assert result.ts_event_capped == result.lines - result.before_book - 4
    first = result.deltas[0]
    assert first.action == BookAction.CLEAR and first.ts_init == snapshot_recv
    assert all(s[0].ts_init >= snapshot_recv for s in result.streams())
    for stream in result.streams():
        assert all(a.ts_init <= b.ts_init for a, b in zip(stream, stream[1:]))
        assert all(item.ts_event <= item.ts_init for item in stream)


def test_the_book_from_the_diffs_equals_binances_book_ticker_at_every_shared_update_id(loaded, recording):
    result, _ = loaded
    book = OrderBook(BTCUSDT_PERP, BookType.L2_MBP)
    tops: dict[int, tuple[Decimal, Decimal]] = {}
    for delta in result.deltas:
        book.apply_delta(delta)
        if delta.flags & RecordFlag.F_LAST:
            tops[delta.sequence] = (book.best_bid_price().as_decimal(), book.best_ask_price().as_decimal())
    tickers = [frame["data"] for _, frame in _raw_frames(recording) if frame.get("stream", "").endswith("bookTicker")]
    shared = [t for t in tickers if t["u"] in tops]
    assert len(shared) == 629  # most tickers fall inside a diff's update-id range, where no book state exists
    assert all(tops[t["u"]] == (Decimal(t["b"]), Decimal(t["a"])) for t in shared)


def test_a_checkpoint_re_emits_the_whole_book(loaded):
    result, _ = loaded
    clears = [i for i, d in enumerate(result.deltas) if d.action == BookAction.CLEAR]
    assert len(clears) == 1 + result.checkpoints == 2  # the snapshot and the 300 s checkpoint
    batch = result.deltas[clears[1] : next(i for i in range(clears[1], len(result.deltas)) if result.deltas[i].flags & RecordFlag.F_LAST) + 1]
    assert all(d.flags & RecordFlag.F_SNAPSHOT for d in batch)
    assert len(batch) > 2_000  # the whole kept book, deeper than the 1,000 + 1,000 levels of the REST snapshot


def test_malformed_lines_and_a_lost_diff_are_counted_not_fatal(recording, tmp_path):
    real = gzip.open(recording, "rb").read().splitlines(keepends=True)[:400]
    diffs = [i for i, line in enumerate(real) if b"@depth@0ms" in line[:60]]
    lost = diffs[-3]  # a diff after the snapshot disappears: the next one does not continue the chain
    broken = [line for i, line in enumerate(real) if i != lost]
    broken += [b"not-a-timestamp {}\n", real[-1][:80] + b"\n", real[-1].replace(b'"p":"', b'"p":"x')]
    path = tmp_path / "broken.gz"
    path.write_bytes(gzip.compress(b"".join(broken)))
    result = loaders.parse_file(path, usdm_perpetual(BTCUSDT_PERP, 0))
    assert result.sequence_gaps == 1
    assert result.malformed == 2 + (b"@trade" in real[-1][:60])  # a bad price only breaks a trade line
    assert result.lines == len(broken)
    assert len(result.deltas) > 2_000


# -- backtest ------------------------------------------------------------------------------------------------


def test_the_backtest_report_has_fills_markouts_and_reconciles_in_usdt(report):
    metrics = report["metrics"]
    assert report["instrument_id"] == "BTCUSDT-PERP.BINANCE" and report["run_info"]["venue"] == "binance"
    fills = metrics["fills"]
    assert fills["count"] >= 5 and fills["maker"] == fills["count"]
    assert metrics["markouts"]["by_group"]["all"]["horizons"]["5s"]["markout_bps"] is not None
    pnl = metrics["pnl"]
    # maker fee 2 bp of the traded notional, charged by the simulated venue from the instrument
    assert pnl["fees"] == pytest.approx(0.0002 * fills["volume_notional"], rel=1e-6)
    # the account is in USDT: equity read in any other currency would be zero and the reconciliation off by 10,000
    assert pnl["final_equity"] == pytest.approx(pnl["starting_equity"] + pnl["net"], abs=1e-6)
    assert abs(pnl["reconciliation_error"]) < 1e-6
    assert metrics["quoting"]["two_sided_frac_live_feed"] > 0.8


def test_a_config_pointed_at_a_catalog_without_its_instrument_fails_before_loading(loaded, capsys):
    _, catalog = loaded
    hyperliquid = REPO_ROOT / "configs" / "hyperliquid_btc.json"
    assert run_backtest.main(["--config", str(hyperliquid), "--catalog", str(catalog)]) == 2
    error = capsys.readouterr().err
    assert "instrument_id: BTC-USD-PERP.HYPERLIQUID is not in the catalog" in error
    assert "(it holds: BTCUSDT-PERP.BINANCE)" in error


# -- live node -----------------------------------------------------------------------------------------------


def test_the_live_node_runs_nautilus_traders_binance_clients_with_the_shared_strategy(monkeypatch):
    settings = load_venue_config(CONFIG)
    venue = venue_module(settings)

    async def clients():
        async with venue.open_session(settings, LiveOptions()) as session:
            return session

    session = asyncio.run(clients())
    assert session.environment == "testnet"  # the default: mainnet must be named
    config = node_config(settings, session.clients)
    assert config.strategies == [settings.strategy] and config.actors == settings.actors
    [data] = config.data_clients.values()
    [execution] = config.exec_clients.values()
    for client in (data, execution):
        assert client.account_type == BinanceAccountType.USDT_FUTURES
        assert client.environment == BinanceEnvironment.TESTNET
        assert client.api_key is None and client.api_secret is None  # read from the environment when built

    # Built (not connected): NautilusTrader's factories read the testnet key variables at build time.
    monkeypatch.setenv("BINANCE_FUTURES_TESTNET_API_KEY", "test-placeholder")
    monkeypatch.setenv("BINANCE_FUTURES_TESTNET_API_SECRET", "test-placeholder")
    loop = asyncio.new_event_loop()
    node = build_node(config, session.clients, loop=loop)
    try:
        [data_client] = node.kernel.data_engine._clients.values()
        [exec_client] = node.kernel.exec_engine._clients.values()
        assert isinstance(data_client, BinanceFuturesDataClient)
        assert isinstance(exec_client, BinanceFuturesExecutionClient)
        assert [s.id.value for s in node.trader.strategies()] == ["GLFTMarketMaker-001"]
        assert len(node.trader.actors()) == len(settings.actors) == 7
    finally:
        node.dispose()
        loop.close()


def test_run_live_refuses_options_binance_has_no_use_for(capsys):
    assert run_live.main(["--config", str(CONFIG), "--exchange-url", "http://127.0.0.1:1"]) == 2
    assert "--exchange-url: not available for binance" in capsys.readouterr().err
    assert run_live.main(["--config", str(CONFIG), "--environment", "local"]) == 2
    assert "--environment: binance knows testnet, mainnet, got 'local'" in capsys.readouterr().err
