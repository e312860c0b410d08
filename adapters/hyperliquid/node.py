"""Hyperliquid as a venue of the shared node builders: live clients, their settings, the bundled backtest data.

Selected by a config's ``"venue": {"name": "hyperliquid", ...}`` through ``adapters/venues.py``. ``venue.live``
holds :class:`HyperliquidLive` (environment, where the private key comes from, the master account for an agent
wallet, leverage). ``mm_strategy.live`` builds and runs the node from the :class:`~mm_strategy.live.LiveClients`
given here; ``run_live.py`` goes through :func:`open_session`, which also starts the in-process local exchange
when the environment is ``local`` and no ``--exchange-url`` is given.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone
from pathlib import Path

import msgspec
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from adapters.catalog import write_catalog
from adapters.hyperliquid import catalog_cli
from adapters.hyperliquid import loaders
from adapters.hyperliquid.config import HyperliquidDataClientConfig
from adapters.hyperliquid.config import HyperliquidExecClientConfig
from adapters.hyperliquid.constants import HYPERLIQUID
from adapters.hyperliquid.constants import HYPERLIQUID_CLIENT_ID
from adapters.hyperliquid.credentials import remove_from_environment
from adapters.hyperliquid.data import HyperliquidDataClient
from adapters.hyperliquid.execution import HyperliquidExecutionClient
from adapters.hyperliquid.factories import HyperliquidLiveDataClientFactory
from adapters.hyperliquid.factories import HyperliquidLiveExecClientFactory
from adapters.hyperliquid.instruments import HYPERLIQUID_VENUE
from mm_strategy import live
from mm_strategy.live import LiveClients
from mm_strategy.live import LiveOptions
from mm_strategy.node_config import VenueInstrumentConfig
from mm_strategy.node_config import venue_live_as

VENUE = HYPERLIQUID_VENUE
ENVIRONMENTS = ("local", "testnet", "mainnet")
BUNDLED_CATALOG = "data/catalog"  # the S3-archive hour of BTC books, built on first use (relative to the repo)


class HyperliquidLive(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``venue.live`` for Hyperliquid: the environment and the key's source (never the key itself)."""

    environment: str = "local"
    private_key_env: str = "HYPERLIQUID_PK"
    private_key_file: str | None = None  # when set, the key is read from this file instead of private_key_env
    account_address: str | None = None  # the master account when the key is an agent wallet's
    leverage: int | None = None  # cross leverage set on connect; None keeps the account's setting
    cancel_unknown_orders_on_connect: bool = True  # False keeps open orders this node does not know (exec config)

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise ValueError(f"environment: must be one of {', '.join(ENVIRONMENTS)}, got {self.environment!r}")


def live_settings(settings: VenueInstrumentConfig) -> HyperliquidLive:
    """``venue.live`` validated; errors name the field."""
    return venue_live_as(settings, HyperliquidLive)


@dataclass(frozen=True, slots=True)
class VenueTarget:
    """Where the clients connect: an environment and, for the local exchange, its URLs."""

    environment: str
    base_url_http: str | None = None
    base_url_ws: str | None = None

    @classmethod
    def local(cls, base_url_http: str) -> VenueTarget:
        """A local exchange at ``http://host:port`` (its WebSocket is ``ws://host:port/ws``)."""
        base = base_url_http.rstrip("/")
        return cls("local", base, "ws" + base.removeprefix("http") + "/ws")


def live_clients(settings: VenueInstrumentConfig, target: VenueTarget, record_path: Path | None = None) -> LiveClients:
    """Our data and execution clients for ``settings.instrument_id`` at ``target``.

    On the real venue (testnet, mainnet) the book is the ``fast`` l2Book: 5 levels every 0.5 s. The 20-level
    one is pushed every 2-5 s there (protocol §5.4, §9.10), right at the strategy's ``stale_pull_s`` (5 s):
    quotes would be pulled and restored with the feed's rhythm and priced off books seconds old in between.
    The price is depth: the book and a recording (``--record``) hold 5 levels a side, so the fair-value band
    imbalance sees at most those, in backtests too (``HyperliquidRules.live_book_levels``). The local exchange pushes the 20-level book at the recording's own pace
    (0.6 s median), so there the live book stays the one the backtest catalogs hold."""
    provider = InstrumentProviderConfig(load_ids=frozenset([InstrumentId.from_str(settings.instrument_id)]))
    own = live_settings(settings)
    endpoints = {"environment": target.environment, "base_url_http": target.base_url_http, "base_url_ws": target.base_url_ws}
    key_source = (
        {"private_key_file": own.private_key_file, "private_key_env": None}
        if own.private_key_file is not None
        else {"private_key_env": own.private_key_env}
    )
    data = HyperliquidDataClientConfig(
        instrument_provider=provider,
        book_fast=target.environment != "local",
        record_path=str(record_path) if record_path is not None else None,
        **endpoints,
    )
    execution = HyperliquidExecClientConfig(
        instrument_provider=provider,
        account_address=own.account_address,
        leverage=own.leverage,
        cancel_unknown_orders_on_connect=own.cancel_unknown_orders_on_connect,
        nonce_state_dir=str(Path(settings.live.state_dir) / "nonces") if settings.live.state_dir else None,
        **key_source,
        **endpoints,
    )
    return LiveClients(
        data_configs={HYPERLIQUID: data},
        exec_configs={HYPERLIQUID: execution},
        data_factories={HYPERLIQUID: HyperliquidLiveDataClientFactory},
        exec_factories={HYPERLIQUID: HyperliquidLiveExecClientFactory},
    )


def node_config(
    settings: VenueInstrumentConfig,
    target: VenueTarget,
    record_path: Path | None = None,
    trader_id: str = "MM-001",
) -> TradingNodeConfig:
    """``mm_strategy.live.node_config`` with our clients at ``target`` (what the live tests and benchmarks use)."""
    return live.node_config(settings, live_clients(settings, target, record_path), trader_id)


def build_node(config: TradingNodeConfig, loop: asyncio.AbstractEventLoop | None = None) -> TradingNode:
    """``mm_strategy.live.build_node`` with our factories, for a config from :func:`node_config`."""
    factories = LiveClients({}, {}, {HYPERLIQUID: HyperliquidLiveDataClientFactory}, {HYPERLIQUID: HyperliquidLiveExecClientFactory})
    return live.build_node(config, factories, loop)


def hyperliquid_clients(node: TradingNode) -> tuple[HyperliquidDataClient, HyperliquidExecutionClient]:
    """The node's two clients, for tests, benchmarks and run-time diagnostics (reconnects, malformed frames)."""
    data_client = node.kernel.data_engine._clients[HYPERLIQUID_CLIENT_ID]
    exec_client = node.kernel.exec_engine._clients[HYPERLIQUID_CLIENT_ID]
    return data_client, exec_client


def record_to_catalog(raw_path: Path, instrument: Instrument, catalog_path: Path) -> loaders.LoadResult:
    """Turn a raw frame recording into a catalog through the loaders, exactly as any recording is loaded, so
    ``run_backtest.py --catalog`` replays the same delta, trade and quote streams a loaded archive gives."""
    result = loaders.parse_file(raw_path, instrument, checkpoint_s=loaders.DEFAULT_CHECKPOINT_S, heartbeat=True)
    write_catalog([result], instrument, catalog_path)
    return result


def build_bundled_catalog(catalog_path: Path) -> None:
    """The bundled real hour of BTC books (S3 archive) as a catalog."""
    code = catalog_cli.main([str(loaders.DEFAULT_ARCHIVE), "--catalog", str(catalog_path)])
    if code != 0:
        raise ValueError(f"could not build {catalog_path} from {loaders.DEFAULT_ARCHIVE}")


@dataclass
class HyperliquidSession:
    settings: VenueInstrumentConfig
    environment: str
    venue_url: str
    clients: LiveClients
    raw_recording: Path | None
    catalog_path: Path | None

    def diagnostics(self, node: TradingNode) -> dict[str, str]:
        data_client, exec_client = hyperliquid_clients(node)
        return {
            "ws_reconnects": str(data_client.ws.reconnects + exec_client.ws.reconnects),
            "resyncs": ", ".join(f"{reason} {n}" for reason, n in sorted(exec_client.resyncs.items())) or "none",
            "malformed_frames": str(data_client.malformed_frames + exec_client.malformed_frames),
            "lagging_books": str(data_client.lagging_books),
        }

    def finish(self, node: TradingNode) -> list[str]:
        """The raw recording (``--record``) becomes a catalog the backtest replays."""
        if self.raw_recording is None or not self.raw_recording.exists():
            return []
        instrument = node.cache.instrument(InstrumentId.from_str(self.settings.instrument_id))
        result = record_to_catalog(self.raw_recording, instrument, self.catalog_path)
        return [f"recorded {result.summary()}", f"catalog {self.catalog_path}: python run_backtest.py --catalog {self.catalog_path}"]


@asynccontextmanager
async def open_session(settings: VenueInstrumentConfig, options: LiveOptions) -> AsyncIterator[HyperliquidSession]:
    """The session ``run_live.py`` runs: ``local`` without ``exchange_url`` starts the local exchange in this
    process, replaying the bundled real hour, with a funded test account whose throwaway key reaches the node
    exactly as a real key does, through the configured variable (set here, for this default only)."""
    from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY
    from adapters.hyperliquid.local_exchange import LocalExchange
    from adapters.hyperliquid.local_exchange import LocalExchangeConfig

    own = live_settings(settings)
    environment = options.environment or own.environment
    if environment not in ENVIRONMENTS:
        raise ValueError(f"--environment: hyperliquid knows {', '.join(ENVIRONMENTS)}, got {environment!r}")
    if options.exchange_url is not None and environment != "local":
        raise ValueError("--exchange-url points at a local exchange; it cannot be combined with testnet/mainnet")
    exchange = None
    if environment == "local" and options.exchange_url is None:
        exchange = LocalExchange(LocalExchangeConfig(speed=options.replay_speed, fund_test_account=True))
        target = VenueTarget.local(await exchange.start())
        remove_from_environment(own.private_key_env)  # a real key there must be wiped, not only replaced
        os.environ[own.private_key_env] = TEST_ACCOUNT_KEY
        live_part = msgspec.structs.replace(own, private_key_file=None)  # the test key, even if a file is named
        settings = msgspec.structs.replace(
            settings, venue=msgspec.structs.replace(settings.venue, live=msgspec.to_builtins(live_part))
        )
    elif environment == "local":
        target = VenueTarget.local(options.exchange_url)
    else:
        target = VenueTarget(environment)
    raw_recording = None
    if options.record_path is not None:
        stamp = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"
        raw_recording = options.record_path / "raw" / f"hyperliquid-{stamp}.gz"
    session = HyperliquidSession(
        settings=settings,
        environment=environment,
        venue_url=target.base_url_http or environment,
        clients=live_clients(settings, target, raw_recording),
        raw_recording=raw_recording,
        catalog_path=options.record_path,
    )
    try:
        yield session
    finally:
        if exchange is not None:
            await exchange.stop()
