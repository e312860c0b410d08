"""Factories that build the Hyperliquid clients for a ``TradingNode``.

Register them in code: ``node.add_data_client_factory("HYPERLIQUID", HyperliquidLiveDataClientFactory)`` and
``node.add_exec_client_factory("HYPERLIQUID", HyperliquidLiveExecClientFactory)``. NautilusTrader 1.231 crashes
on a JSON ``factory`` entry for exec clients (nautilus_conventions §3.4), so configs name only the config class.

Both clients of one venue URL share one :class:`WeightLimiter`, because the venue counts the IP's REST weight
across every request, whichever client sends it. The data and execution clients of one node share one instrument
provider (``shared_provider``): the execution client sets the account's fee rates on it at connect and sends the
rebuilt instruments to the data engine, the data client sends the provider's instruments at its own connect, so the
cache ends with the account's rates whichever of the two connects first.

The private key is loaded here, from the environment variable or file the config names, and lives only inside the
signer; a variable is read once and removed from the environment (``load_signer``).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from functools import lru_cache

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.live.factories import LiveExecClientFactory

from adapters.hyperliquid.config import HyperliquidDataClientConfig
from adapters.hyperliquid.config import HyperliquidExecClientConfig
from adapters.hyperliquid.credentials import HyperliquidSigner
from adapters.hyperliquid.credentials import remove_from_environment
from adapters.hyperliquid.data import HyperliquidDataClient
from adapters.hyperliquid.execution import HyperliquidExecutionClient
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.http.exchange import HyperliquidExchangeEndpoints
from adapters.hyperliquid.http.info import HyperliquidInfoEndpoints
from adapters.hyperliquid.http.ratelimit import WeightLimiter
from adapters.hyperliquid.providers import HyperliquidInstrumentProvider


@lru_cache(maxsize=None)
def get_weight_limiter(http_url: str) -> WeightLimiter:
    """The process-wide IP weight budget for one venue URL."""
    return WeightLimiter()


# Signers read from each environment variable: the variable is gone after the first read, and a node built
# again in this process (a test's second node, a benchmark's rerun) signs with the key it held.
_signers_from_env: dict[str, HyperliquidSigner] = {}


def load_signer(config: HyperliquidExecClientConfig) -> HyperliquidSigner:
    """The signer from the config's key source; errors name the source, never the key.

    A variable is read and then removed from the environment, whether or not it held a valid key (a child
    process must not inherit it either way); while it stays unset, later calls get the signer it held. Setting
    it again replaces that signer."""
    if config.private_key_file is not None:
        return HyperliquidSigner.from_file(config.private_key_file)
    var = config.private_key_env
    if var in os.environ or var not in _signers_from_env:
        _signers_from_env.pop(var, None)  # a new value that fails to load must not leave the old key in use
        try:
            signer = HyperliquidSigner.from_env(var)
        finally:
            remove_from_environment(var)
        _signers_from_env[var] = signer
    return _signers_from_env[var]


def _http_client(config: HyperliquidDataClientConfig | HyperliquidExecClientConfig) -> HyperliquidHttpClient:
    url = config.endpoints().http_url
    return HyperliquidHttpClient(url, get_weight_limiter(url), config.http_timeout_secs, config.max_retries)


# The provider of each (venue URL, node), the node being its message bus (the one object NautilusTrader hands both
# factories). Weak values: an entry lives as long as a client holds its provider, and a client holds the bus, so
# the bus's id in the key cannot be reused while the entry exists; a later node never inherits a provider.
_providers: weakref.WeakValueDictionary[tuple[str, int], HyperliquidInstrumentProvider] = weakref.WeakValueDictionary()


def shared_provider(
    config: HyperliquidDataClientConfig | HyperliquidExecClientConfig,
    http: HyperliquidHttpClient,
    msgbus: MessageBus,
) -> HyperliquidInstrumentProvider:
    """The node's provider for the config's venue URL, made by whichever client is built first (``http`` reads its
    ``meta``). Both clients must load the same instruments: a second config that asks for others is refused
    (``ValueError``), since the provider would silently load only the first's."""
    key = (config.endpoints().http_url, id(msgbus))
    provider = _providers.get(key)
    if provider is None:
        provider = HyperliquidInstrumentProvider(HyperliquidInfoEndpoints(http), config.instrument_provider)
        _providers[key] = provider
    elif provider.config != config.instrument_provider:
        raise ValueError(
            f"the data and execution clients of {key[0]} must load the same instruments: instrument_provider "
            f"{config.instrument_provider} differs from {provider.config}"
        )
    return provider


class HyperliquidLiveDataClientFactory(LiveDataClientFactory):
    @staticmethod
    def create(
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: HyperliquidDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> HyperliquidDataClient:
        http = _http_client(config)
        provider = shared_provider(config, http, msgbus)
        return HyperliquidDataClient(loop, http, msgbus, cache, clock, provider, config, name=name)


class HyperliquidLiveExecClientFactory(LiveExecClientFactory):
    @staticmethod
    def create(
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: HyperliquidExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> HyperliquidExecutionClient:
        http = _http_client(config)
        info = HyperliquidInfoEndpoints(http)
        exchange = HyperliquidExchangeEndpoints(
            http, load_signer(config), config.endpoints().is_mainnet, nonce_state_dir=config.nonce_state_dir
        )
        provider = shared_provider(config, http, msgbus)
        return HyperliquidExecutionClient(loop, http, info, exchange, msgbus, cache, clock, provider, config, name=name)
