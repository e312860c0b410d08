"""A live node persists learned state and the kill switch only when ``live.state_dir`` is set."""

import msgspec

from adapters.hyperliquid.node import VenueTarget
from adapters.hyperliquid.node import node_config
from mm_strategy.node_config import load_venue_config
from run_backtest import DEFAULT_CONFIG


def _node_config(state_dir):
    settings = load_venue_config(DEFAULT_CONFIG)
    settings = msgspec.structs.replace(settings, live=msgspec.structs.replace(settings.live, state_dir=state_dir))
    return node_config(settings, VenueTarget.local("http://127.0.0.1:1"))


def test_state_dir_reaches_every_actor_and_the_strategy(tmp_path):
    config = _node_config(str(tmp_path))
    assert len(config.actors) == 7
    assert all(actor.config["state_dir"] == str(tmp_path) for actor in config.actors)
    assert config.strategies[0].config["state_path"] == str(tmp_path / "kill_switch-001.json")


def test_without_state_dir_nothing_persists():
    config = _node_config(None)
    assert all("state_dir" not in actor.config for actor in config.actors)
    assert "state_path" not in config.strategies[0].config
