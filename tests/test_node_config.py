"""The venue+instrument config file: the instrument id and the priors are written once and reach every component."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mm_strategy.node_config import load_venue_config
from mm_strategy.node_config import load_venue_config_dict

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _document(coin: str = "btc") -> dict:
    return json.loads((CONFIGS / f"hyperliquid_{coin}.json").read_text())


@pytest.mark.parametrize("coin", ["btc", "eth", "sol"])
def test_each_shipped_config_injects_its_instrument_and_priors_into_every_component(coin):
    settings = load_venue_config(CONFIGS / f"hyperliquid_{coin}.json")
    raw = _document(coin)
    assert settings.instrument_id == f"{coin.upper()}-USD-PERP.HYPERLIQUID"
    for component in [settings.strategy, *settings.actors]:
        assert component.config["instrument_id"] == settings.instrument_id
        assert component.config["priors"] == raw["priors"]
    assert len(settings.actors) == 7
    # written once in the file: no component repeats the id or the priors
    text = (CONFIGS / f"hyperliquid_{coin}.json").read_text()
    assert text.count(settings.instrument_id) == 1 and text.count('"kappa_per_frac"') == 1


def test_the_three_coins_share_strategy_and_actor_sections_apart_from_sizes():
    docs = {coin: _document(coin) for coin in ("btc", "eth", "sol")}
    actor_sections = {json.dumps(doc["actors"], sort_keys=True) for doc in docs.values()}
    assert len(actor_sections) == 1
    shapes = set()
    for doc in docs.values():
        config = dict(doc["strategy"]["config"])
        risk = dict(config.pop("risk"))
        config.pop("order_size"), risk.pop("max_position")
        shapes.add(json.dumps([config, risk], sort_keys=True))
    assert len(shapes) == 1


@pytest.mark.parametrize("where", ["strategy", "actor"])
@pytest.mark.parametrize("field", ["instrument_id", "priors"])
def test_a_second_copy_of_a_written_once_field_is_refused_with_its_path(where, field):
    raw = _document()
    component = raw["strategy"] if where == "strategy" else raw["actors"][2]
    component["config"][field] = raw[field]
    path = "strategy" if where == "strategy" else r"actors\[2\]"
    with pytest.raises(ValueError, match=rf"\$\.{path}\.config\.{field}: written once"):
        load_venue_config_dict(raw, "doc")


def test_priors_are_required_validated_and_checked_for_unknown_keys():
    raw = _document()
    del raw["priors"]
    with pytest.raises(ValueError, match=r"doc: Object missing required field `priors`"):
        load_venue_config_dict(raw, "doc")
    raw = _document()
    raw["priors"]["a_per_s"] = -1.0
    with pytest.raises(ValueError, match=r"InstrumentPriors.a_per_s: must be finite and > 0, got -1.0"):
        load_venue_config_dict(raw, "doc")
    raw = _document()
    raw["priors"]["kapa_per_frac"] = 1.0
    with pytest.raises(ValueError, match=r"unknown field\(s\) \$\.priors\.kapa_per_frac"):
        load_venue_config_dict(raw, "doc")


def test_loading_a_document_does_not_modify_it():
    raw = _document()
    before = json.dumps(raw, sort_keys=True)
    load_venue_config_dict(raw, "doc")
    assert json.dumps(raw, sort_keys=True) == before


@pytest.mark.parametrize("section", ["backtest", "live"])
def test_an_unknown_log_level_is_refused_before_the_rust_logger_aborts_the_process(section):
    raw = _document()
    raw.setdefault(section, {})["log_level"] = "NOPE"
    owner = "BacktestSettings" if section == "backtest" else "LiveSettings"
    with pytest.raises(ValueError, match=rf"{owner}.log_level: must be one of TRACE, DEBUG, INFO, WARNING, ERROR, OFF"):
        load_venue_config_dict(raw, "doc")


@pytest.mark.parametrize("lag", [-1.0, float("inf"), float("nan")])
def test_a_bad_feed_lag_names_the_field(lag):
    raw = _document()
    raw.setdefault("backtest", {})["feed_lag_ms"] = lag
    with pytest.raises(ValueError, match="BacktestSettings.feed_lag_ms: must be >= 0 and finite"):
        load_venue_config_dict(raw, "doc")


@pytest.mark.parametrize("log_level", ["WARNING", "INFO"])
def test_a_live_node_above_info_formats_no_event_logs_like_a_backtest(log_level):
    """The live node gets the backtest's rule: above INFO, per-event and per-command logs (formatted before the
    level filter drops them) are off and account states are logged once a day; at INFO they stay."""
    from mm_strategy.live import LiveClients
    from mm_strategy.live import node_config

    raw = _document()
    raw.setdefault("live", {})["log_level"] = log_level
    config = node_config(load_venue_config_dict(raw, "doc"), LiveClients({}, {}, {}, {}))
    quiet = log_level == "WARNING"
    for component in (*config.strategies, *config.actors):
        assert component.config.get("log_events", True) is not quiet
        assert component.config.get("log_commands", True) is not quiet
    assert (config.portfolio is not None and config.portfolio.min_account_state_logging_interval_ms == 86_400_000) is quiet
