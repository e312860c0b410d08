"""End to end, as a user runs it: catalog from the real archive, ``run_backtest.py`` on a slice, the report.

The report's PnL is built from the strategy's own fill records; the engine's account is an independent source.
The test checks they agree, and that fees are the real Hyperliquid maker fee on every fill.
"""

from __future__ import annotations

import json

import msgspec
import pandas as pd
import pytest
from nautilus_trader.model.events import OrderAccepted
from nautilus_trader.model.events import OrderModifyRejected
from nautilus_trader.model.events import OrderPendingUpdate
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.model.events import OrderSubmitted
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.identifiers import InstrumentId

import run_backtest
from mm_strategy.backtest import DataRange
from mm_strategy.backtest import feed_lag_ms
from mm_strategy.backtest import run_backtest as run_backtest_run
from mm_strategy.backtest import run_config
from mm_strategy.node_config import load_venue_config

SLICE_END = "2024-01-01T12:30:00"


@pytest.fixture(scope="module")
def report(archive_catalog, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert run_backtest.main(["--catalog", str(archive_catalog), "--end", SLICE_END, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def trades_report(hl_btc_catalog, tmp_path_factory):
    """The 9-minute BTC capture with trades (the data strategy quality is judged on), as a user runs it."""
    out = tmp_path_factory.mktemp("report_hl_btc")
    assert run_backtest.main(["--catalog", str(hl_btc_catalog), "--out", str(out)]) == 0
    return out


def test_backtest_writes_report(report):
    document = json.loads((report / "report.json").read_text())
    metrics = document["metrics"]
    assert metrics["session"]["mid_updates"] > 2000  # ~half of the hour's 5,051 book batches
    assert metrics["quoting"]["two_sided_frac"] > 0.99
    assert metrics["fills"]["maker"] == metrics["fills"]["count"]  # post-only: every fill is a maker fill
    # every order the strategy sent is a request, and so is each cancel (all but the filled ones were cancelled) and
    # each modify; 39 orders + 882 modifies on this half hour since the strategy amends its orders (911 orders before,
    # 1,251 before the requote hysteresis of ``quoting.requote_tolerance``)
    requests = metrics["requests"]
    assert requests["orders"] + requests["modifies"] > 500
    assert requests["orders"] - requests["cancels"] <= metrics["fills"]["count"] + 6
    assert (report / "report.html").stat().st_size > 100_000
    html = (report / "report.html").read_text()
    assert "Markout" in html and "Inventory" in html


def test_trade_driven_backtest_fills_and_reconciles(trades_report):
    # Fills come from real trades through our price with queue position, quoted two-sided whenever the feed was
    # live (its recorder outages of 250 s and 51 s are pulls, not quoting gaps). Centred on the mid the shipped
    # config got 18 partial fills (0.03 BTC); centred on the fair value (models/fair_value.py) 2 whole ones (0.02)
    # while it read all 20 recorded levels, 1 (0.01) since it reads the 5 the node sees live.
    metrics = json.loads((trades_report / "report.json").read_text())["metrics"]
    assert metrics["fills"]["count"] >= 1 and metrics["fills"]["maker"] == metrics["fills"]["count"]
    assert metrics["fills"]["volume_base"] >= 0.01
    assert metrics["quoting"]["two_sided_frac_live_feed"] > 0.95
    assert metrics["quoting"]["feed_down_s"] == pytest.approx(290, abs=10)
    assert abs(metrics["pnl"]["reconciliation_error"]) < 1e-6
    assert metrics["pnl"]["fees"] == pytest.approx(metrics["fills"]["volume_notional"] * 0.00015, rel=1e-6)
    trips = [e for e in metrics["kill_events"] if not e["cleared"]]
    assert {e["trigger"] for e in trips} == {"stale_book", "stale_book_halt"}  # only the two real feed outages


def test_orders_reach_the_venue_after_the_recorded_feed_lag(report, hl_btc_catalog):
    """The recorded books are stamped on receipt, ~0.45 s after the venue's own time: an order priced on one must
    reach the simulated venue that much later than the configured host → venue latency, as live it meets a book
    that much newer. Measured on the run's data, reported with the run, and overridable."""
    settings = load_venue_config(run_backtest.DEFAULT_CONFIG)
    instrument_id = InstrumentId.from_str(settings.instrument_id)
    lag_ms = feed_lag_ms(hl_btc_catalog, instrument_id)
    assert 440 < lag_ms < 460  # median receive − venue time of the capture's books (p10 351, p90 653 ms)
    venue = run_config(settings, hl_btc_catalog).venues[0]
    assert venue.latency_model.config["base_latency_nanos"] == int((settings.backtest.latency_ms + lag_ms) * 1e6)
    fixed = msgspec.structs.replace(settings, backtest=msgspec.structs.replace(settings.backtest, feed_lag_ms=0.0))
    assert run_config(fixed, hl_btc_catalog).venues[0].latency_model.config["base_latency_nanos"] == 50_000_000
    run_info = json.loads((report / "report.json").read_text())["run_info"]
    assert run_info["order_latency_ms"].startswith("50 + feed lag 51")  # the archive hour's median: 517 ms
    assert run_info["funding"].startswith("not simulated")  # said where the PnL split shows funding 0


FIRST_MINUTES = DataRange(end=pd.Timestamp("2025-09-03T12:57:00", tz="UTC"))


def _ack_delays_ms(settings, catalog) -> list[float]:
    """How long after it was sent the simulated venue acknowledged each order (accepted or rejected) and each modify
    (updated or refused)."""
    outcome = run_backtest_run(settings, catalog, FIRST_MINUTES)
    delays = []
    for order in outcome.engine.cache.orders():
        sent = None
        for e in order.events:
            if isinstance(e, (OrderSubmitted, OrderPendingUpdate)):
                sent = e.ts_event
            elif sent is not None and isinstance(e, (OrderAccepted, OrderRejected, OrderUpdated, OrderModifyRejected)):
                delays.append((e.ts_event - sent) / 1e6)
                sent = None
    outcome.node.dispose()
    return delays


def test_the_simulated_venue_sees_orders_only_after_the_latency_and_the_feed_lag(hl_btc_catalog):
    """Behaviour, not wiring: on the real capture no order is acknowledged sooner than latency_ms + the measured lag
    after it was sent (the engine runs it at the next event after that), and with the lag set to 0 some are."""
    settings = load_venue_config(run_backtest.DEFAULT_CONFIG)
    lag_ms = feed_lag_ms(hl_btc_catalog, InstrumentId.from_str(settings.instrument_id), FIRST_MINUTES)
    assert 400 < lag_ms < 500  # the run's own books: measured on its range
    delays = _ack_delays_ms(settings, hl_btc_catalog)
    assert len(delays) > 50 and min(delays) >= settings.backtest.latency_ms + lag_ms - 1e-6
    no_lag = msgspec.structs.replace(settings, backtest=msgspec.structs.replace(settings.backtest, feed_lag_ms=0.0))
    fast = _ack_delays_ms(no_lag, hl_btc_catalog)
    assert 50.0 <= min(fast) < lag_ms  # without it, orders reach the venue sooner than the data's own lag


def test_pnl_reconciles_with_account_and_fees(report):
    metrics = json.loads((report / "report.json").read_text())["metrics"]
    pnl = metrics["pnl"]
    # the split adds up: net = spread capture + inventory − fees + funding
    assert pnl["net"] == pytest.approx(pnl["spread_capture"] + pnl["inventory"] - pnl["fees"] + pnl["funding"], abs=1e-9)
    # and agrees with the engine's own account (balance + open position marked at the last mid)
    assert abs(pnl["reconciliation_error"]) < 1e-6
    assert pnl["equity_change"] == pytest.approx(pnl["net"], abs=1e-6)
    # fees are Hyperliquid's base maker fee, 1.5 bps of notional, on every fill
    assert pnl["fees"] == pytest.approx(metrics["fills"]["volume_notional"] * 0.00015, rel=1e-6)


def test_no_kill_switch_false_trips_on_real_data(report):
    metrics = json.loads((report / "report.json").read_text())["metrics"]
    assert metrics["kill_events"] == []


def test_bad_config_fails_fast_naming_the_field(tmp_path, archive_catalog, capsys):
    config = json.loads(run_backtest.DEFAULT_CONFIG.read_text())
    config["strategy"]["config"]["risk"]["gamma_min_per_usd"] = -1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(config))
    assert run_backtest.main(["--config", str(bad), "--catalog", str(archive_catalog)]) == 2
    assert "RiskConfig.gamma_min_per_usd" in capsys.readouterr().err


def test_a_state_file_in_a_backtest_config_is_refused_naming_the_field(tmp_path, archive_catalog, capsys):
    """A backtest restoring (and overwriting) a live node's learned state would depend on whatever ran before it."""
    config = json.loads(run_backtest.DEFAULT_CONFIG.read_text())
    config["strategy"]["config"]["state_path"] = str(tmp_path / "kill_switch.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(config))
    assert run_backtest.main(["--config", str(bad), "--catalog", str(archive_catalog)]) == 2
    assert "$.strategy.config.state_path: live only (set $.live.state_dir" in capsys.readouterr().err
    assert not (tmp_path / "kill_switch.json").exists()


def test_misspelt_nested_risk_field_is_rejected(tmp_path, archive_catalog, capsys):
    config = json.loads(run_backtest.DEFAULT_CONFIG.read_text())
    config["strategy"]["config"]["risk"]["max_drawdwn_pct"] = 1.0  # typo: would silently keep the default
    bad = tmp_path / "typo.json"
    bad.write_text(json.dumps(config))
    assert run_backtest.main(["--config", str(bad), "--catalog", str(archive_catalog)]) == 2
    assert "$.risk.max_drawdwn_pct" in capsys.readouterr().err


@pytest.mark.parametrize("log_level, event_logs", [("ERROR", False), ("WARNING", False), ("INFO", True)])
def test_event_logs_are_formatted_only_when_their_level_is_kept(archive_catalog, log_level, event_logs):
    """NautilusTrader formats each order event, each command and each account state before its level filter drops
    them, and computes post-run statistics only to log them: a backtest whose level drops INFO turns those off (the
    components' logs, the portfolio's, the analysis); at INFO, a user reading a run's log, they stay."""
    settings = load_venue_config(run_backtest.DEFAULT_CONFIG)
    settings = msgspec.structs.replace(settings, backtest=msgspec.structs.replace(settings.backtest, log_level=log_level))
    engine = run_config(settings, archive_catalog).engine
    for component in engine.strategies + engine.actors:
        assert component.config.get("log_events", True) is event_logs
        assert component.config.get("log_commands", True) is event_logs
    assert (engine.portfolio is None) is event_logs
    assert engine.run_analysis is event_logs


def test_a_mistyped_catalog_is_an_error_not_a_run_on_the_bundled_data(tmp_path, capsys):
    # held-out review: a --catalog that did not exist was filled with the bundled archive hour and run (exit 0)
    missing = tmp_path / "heldout_typo"
    assert run_backtest.main(["--catalog", str(missing), "--out", str(tmp_path / "out")]) == 2
    assert f"catalog error: {missing} holds no book data" in capsys.readouterr().err
    assert not missing.exists() and not (tmp_path / "out").exists()
