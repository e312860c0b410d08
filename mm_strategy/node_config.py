"""The per venue+instrument JSON (``configs/<venue>_<instrument>.json``) that both entry points read.

One file holds the strategy and actor ``Importable*Config``s, used unchanged by the backtest and the live node
(lesson E14: paper ≡ live), plus the settings only one of the nodes needs. Loading validates the whole file,
including each component's own config class, so a typo fails before any data is loaded, with the field named.

The instrument id and the instrument's priors (κ, A, σ) are written once, at the top of the file, and injected
into every component whose config has an ``instrument_id`` / ``priors`` field: a second copy that could drift
(the κ prior once lived in two places under two names) is refused with the path named.

Everything venue-specific sits in the ``venue`` section: its ``name`` picks the venue's node module (the entry
points resolve it through ``adapters/venues.py``; this package imports no venue code), ``rules`` the venue's
price/size rules (injected into the strategy's ``venue_rules``), ``live`` the venue's own client settings
(environment, credentials source; validated by the venue's node module). The strategy and actor sections are
then the same for every venue: only the instrument, the venue section, the sizes and the priors differ.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any
from typing import TypeVar

import msgspec
from nautilus_trader.common.config import ImportableActorConfig
from nautilus_trader.common.config import resolve_config_path
from nautilus_trader.portfolio.config import PortfolioConfig
from nautilus_trader.trading.config import ImportableStrategyConfig

from mm_strategy.models.priors import InstrumentPriors
from mm_strategy.queue_model import FillModelSettings

# Component config field ← where it is written once in the file; injected into each component that declares it.
INJECTED_FIELDS = {"instrument_id": ("instrument_id",), "priors": ("priors",), "venue_rules": ("venue", "rules")}


LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "OFF")


def check_log_level(owner: str, value: str) -> None:
    """NautilusTrader's Rust logger aborts the whole process on a level it does not know: refuse it here instead."""
    if value.upper() not in LOG_LEVELS:
        raise ValueError(f"{owner}.log_level: must be one of {', '.join(LOG_LEVELS)}, got {value!r}")


def logs_info(log_level: str) -> bool:
    """Whether a node's log level keeps INFO messages."""
    return LOG_LEVELS.index(log_level.upper()) <= LOG_LEVELS.index("INFO")


# NautilusTrader logs every account state at INFO (one per order event on a margin account, the string built
# before the level filter drops it); above INFO the portfolio is told to log one a day at most.
QUIET_ACCOUNT_LOG_INTERVAL_MS = 86_400_000


def without_event_logs(component):
    """``component`` (an importable strategy or actor config) with NautilusTrader's per-event and per-command INFO
    logs off: a strategy formats every order event and every command it sends (an order list's string holds each
    order's) before the level filter sees it; when INFO is dropped that work is all the logs did."""
    return msgspec.structs.replace(component, config={**component.config, "log_events": False, "log_commands": False})


def quiet_above_info(log_level: str, strategies: list, actors: list) -> tuple[list, list, PortfolioConfig | None]:
    """The node's strategies, actors and portfolio config for ``log_level``: above INFO nothing formats what the
    level would drop (per-event logs off, account states logged once a day), in a backtest and on a live quote's
    path to the wire alike (``benchmarks/tick_to_wire.py``). Warnings (denied, rejected orders) are logged regardless."""
    if logs_info(log_level):
        return strategies, actors, None
    return (
        [without_event_logs(strategy) for strategy in strategies],
        [without_event_logs(actor) for actor in actors],
        PortfolioConfig(min_account_state_logging_interval_ms=QUIET_ACCOUNT_LOG_INTERVAL_MS),
    )


class BacktestSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Simulated venue: a margin account in the instrument's settlement currency (a USD stablecoin: USDC on
    Hyperliquid, USDT on Binance USDⓈ-M), the instrument's maker/taker fees, and an order latency.

    The latency an order or cancel takes to reach the simulated venue is ``latency_ms`` (host → venue, one way)
    plus ``feed_lag_ms``, how far the recorded book's receive stamps run behind the venue's own time. The backtest
    replays every event at its receive stamp, the matching engine included, so without the lag it would match our
    order against the very book the strategy priced it on; live, by the time the order arrives the venue's book is
    that lag plus the trip newer (median 448–517 ms on the bundled Hyperliquid data). ``feed_lag_ms`` None
    measures it: the median over the run's book batches (``backtest.feed_lag_ms``); 0 where the loader capped
    venue times at receive times (the Binance recording), which then leaves only ``latency_ms`` (the run info says
    so). NautilusTrader runs a command when the first data point at or after its due time arrives, after that
    point is applied: the exchange takes a book batch one delta at a time (``buffer_deltas`` batches only what the
    data engine hands the strategy), so a command can be released after a batch's first delta, and its order meets
    the rest of that batch (as venue time orders them: no bias). The effective latency is rounded up to the next
    delta or trade: ~610 ms median on the Hyperliquid captures for a 498 ms setting (~300 ms for the old 50 ms, which
    mostly met the priced book)."""

    starting_balance_usd: float = 10_000.0
    default_leverage: float = 10.0
    latency_ms: float = 50.0
    feed_lag_ms: float | None = None
    queue_position: bool = True
    liquidity_consumption: bool = True
    prob_fill_on_limit: float = 1.0
    random_seed: int = 42
    log_level: str = "ERROR"
    fill_model: FillModelSettings = FillModelSettings()  # "trades" (default) or a book-only queue model

    def __post_init__(self) -> None:
        if self.starting_balance_usd <= 0:
            raise ValueError(f"BacktestSettings.starting_balance_usd: must be > 0, got {self.starting_balance_usd}")
        if self.latency_ms < 0:
            raise ValueError(f"BacktestSettings.latency_ms: must be >= 0, got {self.latency_ms}")
        if self.feed_lag_ms is not None and not 0 <= self.feed_lag_ms < float("inf"):
            raise ValueError(f"BacktestSettings.feed_lag_ms: must be >= 0 and finite (or null: measured), got {self.feed_lag_ms}")
        if not 0.0 <= self.prob_fill_on_limit <= 1.0:
            raise ValueError(f"BacktestSettings.prob_fill_on_limit: must be in [0, 1], got {self.prob_fill_on_limit}")
        check_log_level("BacktestSettings", self.log_level)


class LiveSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Live node settings that are neither strategy parameters nor venue-specific (those are ``venue.live``)."""

    # Where a live node keeps the actors' learned state and the kill switch between restarts. Live only: a
    # backtest must not inherit the last run's state, or runs stop being reproducible.
    state_dir: str | None = None
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        check_log_level("LiveSettings", self.log_level)


class VenueSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The venue section: ``name`` selects the venue's node module, ``rules`` its ``VenueRules`` import path
    (``"module:Class"``; None = the instrument's fixed increments), ``live`` its client settings (a mapping its
    node module validates, e.g. the environment and where credentials come from)."""

    name: str
    rules: str | None = None
    live: dict[str, Any] = {}


class VenueInstrumentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    instrument_id: str
    coin: str
    venue: VenueSettings
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


def _written_once(raw: dict, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in the document, or None when absent."""
    value: Any = raw
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _inject_shared_fields(raw: dict) -> None:
    """Copy the fields written once (instrument id, priors, venue rules) into each component config that declares
    them; a component repeating one is refused, even when the file leaves the field unset."""
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
        for name, path in INJECTED_FIELDS.items():
            if name not in declared:
                continue
            if name in config:
                raise ValueError(f"$.{where}.config.{name}: written once, as $.{'.'.join(path)}; remove it here")
            value = _written_once(raw, path)
            if value is not None:
                config[name] = value


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


# Component fields through which a node restores and writes learned state: the live node sets them from
# ``live.state_dir`` (``mm_strategy.live``). In a backtest or a sweep they would make runs depend on each other.
STATE_FIELDS = ("state_path", "state_dir")


def refuse_state_fields(settings: VenueInstrumentConfig) -> None:
    """A backtest must neither restore a live node's learned state nor overwrite it, and one run must not feed the
    next: its results would depend on what ran before (the research review found sweep runs sharing a kill-switch
    file and κ state). ValueError naming every such field, as a document path."""
    components = [("$.strategy", settings.strategy)] + [(f"$.actors[{i}]", a) for i, a in enumerate(settings.actors)]
    found = [
        f"{where}.config.{name}"
        for where, component in components
        for name in STATE_FIELDS
        if component.config.get(name) is not None
    ]
    if found:
        raise ValueError(
            f"{', '.join(found)}: live only (set $.live.state_dir for the live node); a backtest would restore and "
            "overwrite that state and depend on the runs before it"
        )


_LiveT = TypeVar("_LiveT")


def venue_live_as(settings: VenueInstrumentConfig, live_type: type[_LiveT]) -> _LiveT:
    """``venue.live`` decoded as the venue's own settings struct (each node module's ``live_settings``); a bad
    field is a ``ValueError`` naming it under ``$.venue.live``."""
    try:
        return msgspec.convert(settings.venue.live, live_type)
    except (msgspec.ValidationError, ValueError) as exc:
        raise ValueError(f"$.venue.live: {exc}") from None


def replace_venue_live(settings: VenueInstrumentConfig, **changes: Any) -> VenueInstrumentConfig:
    """``settings`` with ``venue.live`` fields changed (tests and benchmarks point a node at their own key or
    account); the venue's node module validates the result when it builds its clients."""
    venue = msgspec.structs.replace(settings.venue, live={**settings.venue.live, **changes})
    return msgspec.structs.replace(settings, venue=venue)


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
