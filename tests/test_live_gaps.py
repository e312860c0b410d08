"""Live-path gaps a review found: nonces shared per signer, the key's variable consumed,.

1. Two execution clients in one process on one key each had their own nonce counter: within one millisecond
   both handed out the same ``max(now_ms, last + 1)`` and the venue refused the second ``Invalid nonce: duplicate``.
2. The private key's environment variable stayed set after loading.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.model.identifiers import TraderId

from adapters.hyperliquid import actions
from adapters.hyperliquid.config import HyperliquidExecClientConfig
from adapters.hyperliquid.credentials import HyperliquidSigner
from adapters.hyperliquid.credentials import PrivateKeyError
from adapters.hyperliquid.factories import HyperliquidLiveExecClientFactory
from adapters.hyperliquid.factories import load_signer
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.http.exchange import HyperliquidExchangeEndpoints
from adapters.hyperliquid.http.ratelimit import WeightLimiter
from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)

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


def _still_set(var: str) -> bool:
    """A bool, so a failing assert cannot print the environment (and the key in it)."""
    return var in os.environ


def _in_c_environment(var: str) -> bool:
    getenv = ctypes.CDLL(None).getenv
    getenv.restype = ctypes.c_void_p  # an address, never the value
    return getenv(os.fsencode(var)) is not None
