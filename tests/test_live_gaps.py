"""Live-path gaps a review found: nonces shared per signer, the key's variable consumed, the fast book on the
real venue and a lagging venue clock counted.

1. Two execution clients in one process on one key each had their own nonce counter: within one millisecond
   both handed out the same ``max(now_ms, last + 1)`` and the venue refused the second ``Invalid nonce: duplicate``.
2. The private key's environment variable stayed set after loading.
3. The live node subscribed the slow 20-level book on the real venue; a lagging venue clock went unnoticed.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import msgspec
import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.data.messages import SubscribeOrderBook
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.identifiers import TraderId

from adapters.hyperliquid import actions
from adapters.hyperliquid.config import HyperliquidDataClientConfig
from adapters.hyperliquid.config import HyperliquidExecClientConfig
from adapters.hyperliquid.constants import HYPERLIQUID
from adapters.hyperliquid.credentials import HyperliquidSigner
from adapters.hyperliquid.credentials import PrivateKeyError
from adapters.hyperliquid.factories import HyperliquidLiveDataClientFactory
from adapters.hyperliquid.factories import HyperliquidLiveExecClientFactory
from adapters.hyperliquid.factories import load_signer
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.http.exchange import HyperliquidExchangeEndpoints
from adapters.hyperliquid.http.ratelimit import WeightLimiter
from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY
from adapters.hyperliquid.node import VenueTarget
from adapters.hyperliquid.node import live_clients
from mm_strategy.node_config import load_venue_config
from tests.test_adapter_data import harness_factory  # noqa: F401  (fixture)
from tests.test_live_support import CONFIG_PATH
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for

REPO = Path(__file__).resolve().parents[1]
FROZEN_NS = time.time_ns()  # one wall-clock instant, so every nonce is taken "in the same millisecond"
FROZEN_MS = FROZEN_NS // 1_000_000
# Keys no other test signs with: the counters live as long as the process, and these end ahead of the clock.
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


# 2. The key's variable stayed in ``os.environ`` after loading: inherited by every child process and readable in
#    ``/proc/<pid>/environ`` while the node ran.

_CHILD = """
import os, subprocess, sys
from adapters.hyperliquid.config import HyperliquidExecClientConfig
from adapters.hyperliquid.factories import load_signer
config = HyperliquidExecClientConfig(environment="testnet", private_key_env="HL_GAPS_CHILD_PK")
first, again = load_signer(config), load_signer(config)
secret = sys.argv[1].encode()
with open("/proc/self/environ", "rb") as block:
    in_proc = secret in block.read()
grandchild = subprocess.run([sys.executable, "-c", "import os; print('HL_GAPS_CHILD_PK' in os.environ)"],
                            capture_output=True, text=True, check=True).stdout.strip()
print(first.address, again is first, "HL_GAPS_CHILD_PK" in os.environ, in_proc, grandchild)
"""


def test_a_key_read_from_the_environment_is_removed_from_it(monkeypatch):
    monkeypatch.setenv("HL_GAPS_PK", TEST_ACCOUNT_KEY)
    config = HyperliquidExecClientConfig(environment="testnet", private_key_env="HL_GAPS_PK")
    signer = load_signer(config)
    assert signer.address == HyperliquidSigner.from_key(TEST_ACCOUNT_KEY).address
    assert not _still_set("HL_GAPS_PK")
    assert not _in_c_environment("HL_GAPS_PK"), "gone from the C environment a child process is started with"
    assert load_signer(config) is signer, "a second node in this process signs with the key read once"
    monkeypatch.setenv("HL_GAPS_PK", OTHER_KEY)
    assert load_signer(config).address == HyperliquidSigner.from_key(OTHER_KEY).address, "a new value replaces it"
    assert not _still_set("HL_GAPS_PK")
    monkeypatch.setenv("HL_GAPS_PK", "0x" + "zz" * 32)
    with pytest.raises(PrivateKeyError, match="HL_GAPS_PK"):
        load_signer(config)
    assert not _still_set("HL_GAPS_PK"), "removed even when it held no valid key"
    with pytest.raises(PrivateKeyError, match="HL_GAPS_PK"):
        load_signer(config)  # and the key it replaced is not used instead


def test_the_key_is_not_in_proc_environ_nor_inherited():
    """A process started with the key in its environment (as ``run_live.py`` is): after loading, neither
    ``/proc/self/environ`` nor a child process shows it. Only booleans and the address are printed."""
    secret = TEST_ACCOUNT_KEY[2:]
    env = {**os.environ, "HL_GAPS_CHILD_PK": TEST_ACCOUNT_KEY}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, secret], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert secret not in child.stdout + child.stderr
    address = HyperliquidSigner.from_key(TEST_ACCOUNT_KEY).address
    assert child.stdout.split() == [address, "True", "False", "False", "False"]


_CHILD_LOCAL_SESSION = """
import asyncio, sys
from adapters.hyperliquid.factories import load_signer
from adapters.hyperliquid.node import open_session
from mm_strategy.live import LiveOptions
from mm_strategy.node_config import load_venue_config
from mm_strategy.node_config import replace_venue_live

async def main():
    settings = replace_venue_live(load_venue_config(sys.argv[2]), private_key_env="HL_GAPS_CHILD_PK")
    async with open_session(settings, LiveOptions(environment="local")) as session:
        signer = load_signer(session.clients.exec_configs["HYPERLIQUID"])
    with open("/proc/self/environ", "rb") as block:
        print(signer.address, sys.argv[1].encode() in block.read())

asyncio.run(main())
"""


def test_a_real_key_in_the_environment_of_a_local_session_is_wiped_too():
    """``run_live.py`` on the local exchange puts the test key into the configured variable. Overwriting a real key
    that the process started with left the real one in ``/proc/<pid>/environ`` (setenv only moves the pointer)."""
    real_key = "0x" + "33" * 32
    env = {**os.environ, "HL_GAPS_CHILD_PK": real_key}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD_LOCAL_SESSION, real_key[2:], str(CONFIG_PATH)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split() == [HyperliquidSigner.from_key(TEST_ACCOUNT_KEY).address, "False"]


def _still_set(var: str) -> bool:
    """A bool, so a failing assert cannot print the environment (and the key in it)."""
    return var in os.environ


def _in_c_environment(var: str) -> bool:
    getenv = ctypes.CDLL(None).getenv
    getenv.restype = ctypes.c_void_p  # an address, never the value
    return getenv(os.fsencode(var)) is not None


# 3. The live node never subscribed the fast book: on the real venue the 20-level book comes every 2-5 s, at the
#    strategy's 5 s stale pull. And a venue that lags (books old on arrival) went unnoticed.


@pytest.mark.parametrize(
    ("target", "fast"),
    [(VenueTarget("mainnet"), True), (VenueTarget("testnet"), True), (VenueTarget.local("http://127.0.0.1:1"), False)],
)
def test_the_live_node_subscribes_the_fast_book_on_the_real_venue(target, fast):
    data_config = live_clients(load_venue_config(CONFIG_PATH), target).data_configs[HYPERLIQUID]
    assert (data_config.environment, data_config.book_fast) == (target.environment, fast)


async def test_the_fast_book_is_five_levels_a_side(harness_factory):
    harness = await harness_factory(config_overrides={"book_fast": True})
    await harness.subscribe(SubscribeOrderBook)
    await wait_for(lambda: len(harness.book_batches()) == 1, 5, "the first snapshot")
    adds = [d for d in harness.book_batches()[0].deltas if d.action == BookAction.ADD]
    assert sorted(Counter(d.order.side for d in adds).values()) == [5, 5]


async def test_books_that_arrive_late_are_counted_as_a_lagging_venue(harness_factory):
    """Real-time replay at 2x; then every l2Book frame sent in a 4 s window reaches the client 3 s late.

    The replay keeps the recording's own venue-to-receipt lag (real hour: median 0.52 s, max 2.9 s; halved at
    2x), under the default ``book_lag_secs`` of 2 s; the held frames arrive 3 s later than that."""
    # a real-time replay: a manual venue clock's time is not the wall clock a lag is measured against
    harness = await harness_factory(manual_clock=False, speed=2.0)
    exchange, client = harness.exchange, harness.client
    await harness.subscribe(SubscribeOrderBook)
    await wait_for(lambda: len(harness.book_batches()) >= 3, 10, "books on time")
    assert client.lagging_books == 0
    on_time = len(harness.book_batches())
    exchange.faults.delay(3.0, channel="l2Book", count=None, seconds=4.0)
    await wait_for(lambda: client.lagging_books >= 1, 10, "a late book")
    await wait_for(lambda: not client._books["BTC"].lagging, 10, "caught up")
    lagging = client.lagging_books
    late_s = [(b.ts_init - b.ts_event) / 1e9 for b in harness.book_batches()[on_time:]]
    assert 1 <= sum(lag > 2.0 for lag in late_s) <= lagging
    assert all(lag < 2.0 or 3.0 <= lag < 4.5 for lag in late_s), f"on time, or the 3 s the venue held it: {late_s}"
    count = len(harness.book_batches())
    await wait_for(lambda: len(harness.book_batches()) >= count + 3, 10, "books on time again")
    assert client.lagging_books == lagging

