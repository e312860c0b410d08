"""Factories that build the Hyperliquid clients for a ``TradingNode``.

Register them in code: ``node.add_data_client_factory("HYPERLIQUID", HyperliquidLiveDataClientFactory)`` and
``node.add_exec_client_factory("HYPERLIQUID", HyperliquidLiveExecClientFactory)``. NautilusTrader 1.231 crashes
on a JSON ``factory`` entry for exec clients (nautilus_conventions §3.4), so configs name only the config class.

Both clients of one venue URL share one :class:`WeightLimiter`, because the venue counts the IP's REST weight
across every request, whichever client sends it. The private key is loaded here, from the environment variable
or file the config names, and lives only inside the signer; a variable is read once and removed from the
environment (``load_signer``).
"""

from __future__ import annotations

import asyncio
import os
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
        provider = HyperliquidInstrumentProvider(HyperliquidInfoEndpoints(http), config.instrument_provider)
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
        exchange = HyperliquidExchangeEndpoints(http, load_signer(config), config.endpoints().is_mainnet)
        provider = HyperliquidInstrumentProvider(info, config.instrument_provider)
        return HyperliquidExecutionClient(loop, http, info, exchange, msgbus, cache, clock, provider, config, name=name)
