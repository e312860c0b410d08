"""Binance USDⓈ-M futures as a venue of the shared node builders, through NautilusTrader's own Binance adapter.

Selected by a config's ``"venue": {"name": "binance", ...}`` through ``adapters/venues.py``. Live, the node runs
NautilusTrader's ``BinanceLiveDataClientFactory``/``BinanceLiveExecClientFactory`` with
``account_type=USDT_FUTURES``; ``venue.live`` is :class:`BinanceLive`. The testnet is the default: mainnet must
be asked for by name. Credentials never enter a config: NautilusTrader's clients read them from its standard
environment variables (``BINANCE_FUTURES_TESTNET_API_KEY``/``_API_SECRET`` on the testnet,
``BINANCE_API_KEY``/``BINANCE_API_SECRET`` on mainnet) when they are built.

Backtests need nothing from here but the catalog: ``adapters.binance.loaders`` writes the instrument as
NautilusTrader's Binance provider defines it, and the simulated venue follows from that instrument.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec
from nautilus_trader.adapters.binance.common.constants import BINANCE
from nautilus_trader.adapters.binance.common.constants import BINANCE_VENUE
from nautilus_trader.adapters.binance.common.enums import BinanceAccountType
from nautilus_trader.adapters.binance.common.enums import BinanceEnvironment
from nautilus_trader.adapters.binance.common.enums import BinanceKeyType
from nautilus_trader.adapters.binance.common.symbol import BinanceSymbol
from nautilus_trader.adapters.binance.config import BinanceDataClientConfig
from nautilus_trader.adapters.binance.config import BinanceExecClientConfig
from nautilus_trader.adapters.binance.config import BinanceInstrumentProviderConfig
from nautilus_trader.adapters.binance.factories import BinanceLiveDataClientFactory
from nautilus_trader.adapters.binance.factories import BinanceLiveExecClientFactory
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import InstrumentId

from adapters.binance import loaders
from mm_strategy.live import LiveClients
from mm_strategy.live import LiveOptions
from mm_strategy.node_config import VenueInstrumentConfig
from mm_strategy.node_config import venue_live_as

VENUE = BINANCE_VENUE
ENVIRONMENTS = {"testnet": BinanceEnvironment.TESTNET, "mainnet": BinanceEnvironment.LIVE}
BUNDLED_CATALOG = "data/catalog_binance_btcusdt"  # the bundled 5.7 minutes of BTCUSDT, built on first use


class BinanceLive(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``venue.live`` for Binance USDⓈ-M: the environment, the API key type and an optional leverage to set."""

    environment: str = "testnet"
    key_type: str = "HMAC"  # or "Ed25519" (NautilusTrader's execution client refuses RSA)
    leverage: int | None = None  # set for the instrument's symbol on connect; None keeps the account's setting

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise ValueError(f"environment: must be one of {', '.join(ENVIRONMENTS)}, got {self.environment!r}")
        if self.key_type not in ("HMAC", "Ed25519"):
            raise ValueError(f"key_type: must be HMAC or Ed25519, got {self.key_type!r}")
        if self.leverage is not None and self.leverage < 1:
            raise ValueError(f"leverage: must be >= 1, got {self.leverage}")


def live_settings(settings: VenueInstrumentConfig) -> BinanceLive:
    """``venue.live`` validated; errors name the field."""
    return venue_live_as(settings, BinanceLive)


def live_clients(settings: VenueInstrumentConfig, environment: str | None = None) -> LiveClients:
    """NautilusTrader's Binance USDⓈ-M clients for ``settings.instrument_id`` (the config's environment unless
    ``environment`` names another)."""
    own = live_settings(settings)
    environment = environment or own.environment
    if environment not in ENVIRONMENTS:
        raise ValueError(f"--environment: binance knows {', '.join(ENVIRONMENTS)}, got {environment!r}")
    instrument_id = InstrumentId.from_str(settings.instrument_id)
    provider = BinanceInstrumentProviderConfig(load_ids=frozenset([instrument_id]))
    common = {
        "account_type": BinanceAccountType.USDT_FUTURES,
        "environment": ENVIRONMENTS[environment],
        "key_type": BinanceKeyType(own.key_type),
        "instrument_provider": provider,
    }
    symbol = BinanceSymbol(instrument_id.symbol.value.removesuffix("-PERP"))
    leverages = {symbol: own.leverage} if own.leverage is not None else None
    return LiveClients(
        data_configs={BINANCE: BinanceDataClientConfig(**common)},
        exec_configs={BINANCE: BinanceExecClientConfig(**common, futures_leverages=leverages)},
        data_factories={BINANCE: BinanceLiveDataClientFactory},
        exec_factories={BINANCE: BinanceLiveExecClientFactory},
    )


def build_bundled_catalog(catalog_path: Path) -> None:
    """The bundled real recording (2024-08-08, 5.7 minutes of BTCUSDT) as a catalog."""
    result = loaders.load(loaders.BUNDLED_RECORDING, catalog_path)
    print(result.summary())


@dataclass
class BinanceSession:
    environment: str
    venue_url: str
    clients: LiveClients

    def diagnostics(self, node: TradingNode) -> dict[str, str]:
        return {"account_type": BinanceAccountType.USDT_FUTURES.value}

    def finish(self, node: TradingNode) -> list[str]:
        return []


@asynccontextmanager
async def open_session(settings: VenueInstrumentConfig, options: LiveOptions) -> AsyncIterator[BinanceSession]:
    """The session ``run_live.py`` runs: NautilusTrader's clients against the testnet or mainnet. Binance has
    no local exchange or recorder here, so the options that need one are refused by name."""
    for flag, given in (("--exchange-url", options.exchange_url), ("--record", options.record_path)):
        if given is not None:
            raise ValueError(f"{flag}: not available for binance (no local exchange or recorder for it)")
    environment = options.environment or live_settings(settings).environment
    yield BinanceSession(environment, f"binance usdt-m {environment}", live_clients(settings, environment))
