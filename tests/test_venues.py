"""The venue is picked by the config, not by code: one strategy and actor section for every venue, the venue
section checked against the instrument before anything loads, and the same node builders for every venue."""

from __future__ import annotations

import json

import msgspec
import pytest

import run_backtest
import run_live
from adapters.hyperliquid.node import VenueTarget
from adapters.hyperliquid.node import live_clients
from adapters.venues import KNOWN_VENUES
from adapters.venues import venue_module
from mm_strategy.live import node_config
from mm_strategy.node_config import load_venue_config
from mm_strategy.node_config import load_venue_config_dict
from tests.conftest import REPO_ROOT

CONFIGS = REPO_ROOT / "configs"
HYPERLIQUID_BTC = CONFIGS / "hyperliquid_btc.json"
BINANCE_BTCUSDT = CONFIGS / "binance_btcusdt.json"
WRITTEN_ONCE = ("instrument_id", "priors", "venue_rules")  # injected from the top of the file and the venue section


def _document(path) -> dict:
    return json.loads(path.read_text())


def _without_sizes(strategy_config: dict) -> list:
    config = dict(strategy_config)
    risk = dict(config.pop("risk"))
    config.pop("order_size"), risk.pop("max_position")
    return [config, risk]


def test_both_venues_share_the_strategy_and_actor_sections_apart_from_sizes():
    hyperliquid, binance = _document(HYPERLIQUID_BTC), _document(BINANCE_BTCUSDT)
    assert binance["actors"] == hyperliquid["actors"]
    assert binance["strategy"]["strategy_path"] == hyperliquid["strategy"]["strategy_path"]
    assert _without_sizes(binance["strategy"]["config"]) == _without_sizes(hyperliquid["strategy"]["config"])
    # what differs is the instrument, the venue section, the priors (and, on other coins, the sizes)
    differing = {key for key in hyperliquid.keys() | binance.keys() if hyperliquid.get(key) != binance.get(key)}
    assert differing == {"instrument_id", "venue", "priors"}


def test_loaded_components_differ_only_in_what_the_file_writes_once():
    hyperliquid, binance = load_venue_config(HYPERLIQUID_BTC), load_venue_config(BINANCE_BTCUSDT)
    assert hyperliquid.strategy.config["venue_rules"] == "adapters.hyperliquid.venue_rules:HyperliquidRules"
    assert "venue_rules" not in binance.strategy.config  # None: the instrument's own fixed tick and step

    def shape(component) -> dict:
        fields = msgspec.structs.asdict(component)
        fields["config"] = {k: v for k, v in component.config.items() if k not in WRITTEN_ONCE}
        return fields

    assert [shape(c) for c in [hyperliquid.strategy, *hyperliquid.actors]] == [shape(c) for c in [binance.strategy, *binance.actors]]


def test_an_unknown_venue_is_refused_naming_the_field_and_the_known_ones(tmp_path, capsys):
    raw = _document(BINANCE_BTCUSDT)
    raw["venue"]["name"] = "bybit"
    settings = load_venue_config_dict(raw, "doc")
    with pytest.raises(ValueError, match=r"\$\.venue\.name: unknown venue 'bybit' \(known: binance, hyperliquid\)"):
        venue_module(settings)
    path = tmp_path / "bybit.json"
    path.write_text(json.dumps(raw))
    missing = tmp_path / "never_built"
    assert run_backtest.main(["--config", str(path), "--catalog", str(missing)]) == 2
    assert "unknown venue 'bybit'" in capsys.readouterr().err
    assert not missing.exists()  # refused before any data was built or loaded
    assert run_live.main(["--config", str(path)]) == 2
    assert "unknown venue 'bybit'" in capsys.readouterr().err
    assert sorted(KNOWN_VENUES) == ["binance", "hyperliquid"]


def test_a_venue_section_for_another_venues_instrument_is_refused():
    raw = _document(BINANCE_BTCUSDT)
    raw["venue"] = _document(HYPERLIQUID_BTC)["venue"]
    with pytest.raises(ValueError, match=r"\$\.instrument_id: BTCUSDT-PERP\.BINANCE trades on BINANCE, but \$\.venue\.name 'hyperliquid' is HYPERLIQUID"):
        venue_module(load_venue_config_dict(raw, "doc"))


@pytest.mark.parametrize(
    ("path", "live", "message"),
    [
        (BINANCE_BTCUSDT, {"environment": "local"}, r"\$\.venue\.live: environment: must be one of testnet, mainnet, got 'local'"),
        (BINANCE_BTCUSDT, {"private_key_env": "X"}, r"\$\.venue\.live: Object contains unknown field `private_key_env`"),
        (HYPERLIQUID_BTC, {"environment": "demo"}, r"\$\.venue\.live: environment: must be one of local, testnet, mainnet"),
        (HYPERLIQUID_BTC, {"leverage": "ten"}, r"\$\.venue\.live: Expected `int \| null`, got `str` - at `\$\.leverage`"),
    ],
)
def test_venue_live_settings_are_checked_by_the_venues_module(path, live, message):
    raw = _document(path)
    raw["venue"]["live"] = live
    with pytest.raises(ValueError, match=message):
        venue_module(load_venue_config_dict(raw, "doc"))


def test_venue_rules_are_written_once_in_the_venue_section():
    raw = _document(HYPERLIQUID_BTC)
    raw["strategy"]["config"]["venue_rules"] = raw["venue"]["rules"]
    with pytest.raises(ValueError, match=r"\$\.strategy\.config\.venue_rules: written once, as \$\.venue\.rules"):
        load_venue_config_dict(raw, "doc")
    raw = _document(BINANCE_BTCUSDT)  # no rules in the venue section: still not the strategy's to set
    raw["strategy"]["config"]["venue_rules"] = "adapters.hyperliquid.venue_rules:HyperliquidRules"
    with pytest.raises(ValueError, match=r"written once, as \$\.venue\.rules"):
        load_venue_config_dict(raw, "doc")


def test_one_node_builder_for_both_venues_with_the_configs_strategy_and_actors():
    hyperliquid = load_venue_config(HYPERLIQUID_BTC)
    config = node_config(hyperliquid, live_clients(hyperliquid, VenueTarget.local("http://127.0.0.1:1")))
    assert config.strategies == [hyperliquid.strategy] and config.actors == hyperliquid.actors
    assert list(config.data_clients) == list(config.exec_clients) == ["HYPERLIQUID"]
    key_env = msgspec.structs.asdict(config.exec_clients["HYPERLIQUID"])["private_key_env"]
    assert key_env == hyperliquid.venue.live["private_key_env"]  # the variable's name, never a key
