"""The per venue+instrument JSON (``configs/<venue>_<instrument>.json``) that both entry points read.

One file holds the strategy and actor ``Importable*Config``s, used unchanged by the backtest and the live node
(lesson E14: paper ≡ live), plus the settings only one of the nodes needs. Loading validates the whole file,
including each component's own config class, so a typo fails before any data is loaded, with the field named.

The instrument id and the instrument's priors (κ, A, σ) are written once, at the top of the file, and injected
into every component whose config has an ``instrument_id`` / ``priors`` field: a second copy that could drift
(the κ prior once lived in two places under two names) is refused with the path named.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import msgspec
from nautilus_trader.common.config import ImportableActorConfig
from nautilus_trader.common.config import resolve_config_path
from nautilus_trader.trading.config import ImportableStrategyConfig

from mm_strategy.models.priors import InstrumentPriors
from mm_strategy.queue_model import FillModelSettings

# Top-level fields injected into each component config that declares them (written once per file).
INJECTED_FIELDS = ("instrument_id", "priors")


class BacktestSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Simulated venue: a USDC margin account, real HL fees from the instrument, a fixed order latency."""

    starting_balance_usdc: float = 10_000.0
    default_leverage: float = 10.0
    latency_ms: float = 50.0
    queue_position: bool = True
    liquidity_consumption: bool = True
    prob_fill_on_limit: float = 1.0
    random_seed: int = 42
    log_level: str = "ERROR"
    fill_model: FillModelSettings = FillModelSettings()  # "trades" (default) or a book-only queue model

    def __post_init__(self) -> None:
        if self.starting_balance_usdc <= 0:
            raise ValueError(f"BacktestSettings.starting_balance_usdc: must be > 0, got {self.starting_balance_usdc}")
        if self.latency_ms < 0:
            raise ValueError(f"BacktestSettings.latency_ms: must be >= 0, got {self.latency_ms}")
        if not 0.0 <= self.prob_fill_on_limit <= 1.0:
            raise ValueError(f"BacktestSettings.prob_fill_on_limit: must be in [0, 1], got {self.prob_fill_on_limit}")


class LiveSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Live node settings that are not strategy parameters (venue endpoints, credentials source)."""

    environment: str = "local"
    private_key_env: str = "HYPERLIQUID_PK"
    private_key_file: str | None = None  # when set, the key is read from this file instead of private_key_env
    account_address: str | None = None
    leverage: int | None = None  # cross leverage set on connect; None keeps the account's setting
    # Where a live node keeps the actors' learned state and the kill switch between restarts. Live only: a
    # backtest must not inherit the last run's state, or runs stop being reproducible.
    state_dir: str | None = None
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if self.environment not in ("local", "testnet", "mainnet"):
            raise ValueError(f"LiveSettings.environment: must be local, testnet or mainnet, got {self.environment!r}")


class VenueInstrumentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    instrument_id: str
    coin: str
    priors: InstrumentPriors
    strategy: ImportableStrategyConfig
    actors: list[ImportableActorConfig] = []
    backtest: BacktestSettings = BacktestSettings()
    live: LiveSettings = LiveSettings()


def _unknown_dataclass_keys(raw: dict, parsed: object, path: str) -> list[str]:
    """Keys of ``raw`` that a nested dataclass field of ``parsed`` does not have.

    msgspec forbids unknown fields in Structs but silently drops them in dataclasses (the framework-free model
    params such as ``RiskConfig``), where a misspelt key would quietly leave the default in force.
    """
    unknown = []
    for key, value in raw.items():
        child = getattr(parsed, key, None)
        if not isinstance(value, dict) or child is None:
            continue
        if dataclasses.is_dataclass(child):
            names = {f.name for f in dataclasses.fields(child)}
            unknown += [f"{path}.{key}.{name}" for name in value if name not in names]
        unknown += _unknown_dataclass_keys(value, child, f"{path}.{key}")
    return unknown


def _validate_component(kind: str, config_path: str, config: dict) -> None:
    """Parse a component's config with its own class now, so errors surface at load time with the path."""
    config_cls = resolve_config_path(config_path)
    try:
        parsed = config_cls.parse(json.dumps(config))
    except (msgspec.ValidationError, ValueError, TypeError) as exc:
        raise ValueError(f"{kind} config ({config_path}): {exc}") from None
    unknown = _unknown_dataclass_keys(config, parsed, "$")
    if unknown:
        raise ValueError(f"{kind} config ({config_path}): unknown field(s) {', '.join(unknown)}")


def _inject_shared_fields(raw: dict) -> None:
    """Copy the top-level instrument id and priors into each component config that declares those fields."""
    components = [("strategy", raw.get("strategy"))]
    components += [(f"actors[{i}]", actor) for i, actor in enumerate(raw.get("actors") or [])]
    for where, component in components:
        if not isinstance(component, dict) or not isinstance(component.get("config"), dict):
            continue  # the typed decode below reports the missing or malformed section
        config = component["config"]
        try:
            declared = {f.encode_name for f in msgspec.structs.fields(resolve_config_path(component["config_path"]))}
        except (KeyError, ImportError, AttributeError, TypeError, ValueError) as exc:
            raise ValueError(f"$.{where}.config_path: cannot import ({exc})") from None
        for name in INJECTED_FIELDS:
            if name not in declared or name not in raw:
                continue
            if name in config:
                raise ValueError(f"$.{where}.config.{name}: written once at the top level of the file; remove it here")
            config[name] = raw[name]


def load_venue_config_dict(raw: dict, source: str) -> VenueInstrumentConfig:
    """Validate an already-parsed config document (``source`` names it in errors); ``raw`` is not modified.

    Sweeps apply their parameter overrides to the document and come through here, so an override is checked by
    exactly the rules a hand-edited file is.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: a config file holds a JSON object, got {type(raw).__name__}")
    raw = json.loads(json.dumps(raw))  # a private copy: injection must not leak into the caller's document
    try:
        _inject_shared_fields(raw)
        settings = msgspec.convert(raw, type=VenueInstrumentConfig)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{source}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None
    unknown = _unknown_dataclass_keys({"priors": raw.get("priors")}, settings, "$")
    if unknown:
        raise ValueError(f"{source}: unknown field(s) {', '.join(unknown)}")
    try:
        _validate_component("strategy", settings.strategy.config_path, settings.strategy.config)
        for actor in settings.actors:
            _validate_component("actor", actor.config_path, actor.config)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None
    return settings


def load_venue_config(path: Path | str) -> VenueInstrumentConfig:
    """Read and fully validate a venue+instrument config file; errors name the file and the field."""
    path = Path(path)
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ValueError(f"{path}: config file not found") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    return load_venue_config_dict(raw, str(path))
