"""Live-path gaps a review found: nonces shared per signer, the key's variable consumed, the fast book on the
real venue and a lagging venue clock counted.

1. Two execution clients in one process on one key each had their own nonce counter: within one millisecond
   both handed out the same ``max(now_ms, last + 1)`` and the venue refused the second ``Invalid nonce: duplicate``.
"""

from __future__ import annotations

import asyncio
import time

import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.model.identifiers import TraderId

from adapters.hyperliquid import actions
from adapters.hyperliquid.config import HyperliquidExecClientConfig
from adapters.hyperliquid.credentials import HyperliquidSigner
from adapters.hyperliquid.factories import HyperliquidLiveExecClientFactory
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.http.exchange import HyperliquidExchangeEndpoints
from adapters.hyperliquid.http.ratelimit import WeightLimiter
from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)

FROZEN_NS = time.time_ns()  # one wall-clock instant, so every nonce is taken "in the same millisecond"
FROZEN_MS = FROZEN_NS // 1_000_000
# Keys no other test signs with: the counters live as long as the process, and these end a few ms ahead.
SHARED_KEY, OTHER_KEY = "0x" + "22" * 32, "0x" + "11" * 32


def _nonce(body: bytes) -> int:
    return msgspec.json.decode(body)["nonce"]


def _endpoints(key: str) -> HyperliquidExchangeEndpoints:
    client = HyperliquidHttpClient("http://127.0.0.1:1", WeightLimiter(), timeout_secs=1, max_retries=0)
    return HyperliquidExchangeEndpoints(client, HyperliquidSigner.from_key(key), is_mainnet=False)


def test_two_clients_on_one_signer_never_sign_the_same_nonce(monkeypatch):
    monkeypatch.setattr(time, "time_ns", lambda: FROZEN_NS)
    first, second, other = _endpoints(SHARED_KEY), _endpoints(SHARED_KEY), _endpoints(OTHER_KEY)
    noop = actions.noop_action()
    one_signer = [_nonce(endpoints.signed_body(noop)) for endpoints in (first, second, first, second)]
    assert one_signer == [FROZEN_MS, FROZEN_MS + 1, FROZEN_MS + 2, FROZEN_MS + 3], "one counter per signing address"
    # Another signer has its own nonce set at the venue: its counter starts at the clock, not after ours.
    assert [_nonce(other.signed_body(noop)) for _ in range(2)] == [FROZEN_MS, FROZEN_MS + 1]


async def test_two_exec_clients_on_one_key_are_both_accepted_by_the_venue(exchange_factory, monkeypatch):
    """What the venue sees: two clients built by the factory, posting at once, none refused for its nonce."""
    exchange = await exchange_factory(manual_clock=True, ip_weight_per_min=None)
    monkeypatch.setenv("HL_GAPS_PK", TEST_ACCOUNT_KEY)
    config = HyperliquidExecClientConfig(
        environment="local", base_url_http=exchange.url, base_url_ws=exchange.ws_url, private_key_env="HL_GAPS_PK"
    )
    loop = asyncio.get_running_loop()
    clients = [HyperliquidLiveExecClientFactory.create(loop, "HYPERLIQUID", config, *_engine_parts()) for _ in range(2)]
    endpoints = [client._exchange for client in clients]
    try:
        answers = await asyncio.gather(*(endpoints[i % 2].post(actions.noop_action()) for i in range(40)))
    finally:
        for client in clients:
            await client._http.close()
    assert [a.error for a in answers if a.error is not None] == []
    assert [a.status for a in answers] == ["ok"] * 40


def _engine_parts() -> tuple[MessageBus, Cache, LiveClock]:
    clock = LiveClock()
    return MessageBus(TraderId("TESTER-001"), clock), Cache(), clock
