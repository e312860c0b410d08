"""Configs, key loading, rate limits, the HTTP error contract, the WebSocket heartbeat/reconnect and the recorder."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest
from nautilus_trader.common.component import Logger

from adapters.hyperliquid import actions
from adapters.hyperliquid import credentials
from adapters.hyperliquid import loaders
from adapters.hyperliquid.config import HyperliquidDataClientConfig
from adapters.hyperliquid.config import HyperliquidExecClientConfig
from adapters.hyperliquid.credentials import PrivateKeyError
from adapters.hyperliquid.factories import get_weight_limiter
from adapters.hyperliquid.factories import load_signer
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.http.error import HyperliquidHttpError
from adapters.hyperliquid.http.exchange import HyperliquidExchangeEndpoints
from adapters.hyperliquid.http.exchange import action_weight
from adapters.hyperliquid.http.ratelimit import AddressBudget
from adapters.hyperliquid.http.ratelimit import WeightLimiter
from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY
from adapters.hyperliquid.meta import default_instrument
from adapters.hyperliquid.recordings import iter_ws_messages
from adapters.hyperliquid.websocket.client import HyperliquidWebSocketClient
from adapters.hyperliquid.websocket.recorder import FrameRecorder
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for

LOCAL = {"environment": "local", "base_url_http": "http://127.0.0.1:1", "base_url_ws": "ws://127.0.0.1:1/ws"}


def test_endpoints_per_environment():
    mainnet = HyperliquidExecClientConfig(environment="mainnet").endpoints()
    assert (mainnet.http_url, mainnet.ws_url, mainnet.is_mainnet) == ("https://api.hyperliquid.xyz", "wss://api.hyperliquid.xyz/ws", True)
    testnet = HyperliquidDataClientConfig(environment="testnet").endpoints()
    assert (testnet.http_url, testnet.is_mainnet) == ("https://api.hyperliquid-testnet.xyz", False)
    local = HyperliquidDataClientConfig(**LOCAL).endpoints()
    assert (local.http_url, local.ws_url, local.is_mainnet) == ("http://127.0.0.1:1", "ws://127.0.0.1:1/ws", False)
    with pytest.raises(ValueError, match="needs base_url_http"):
        HyperliquidDataClientConfig(environment="local")
    with pytest.raises(ValueError, match="environment must be"):
        HyperliquidExecClientConfig(environment="devnet")


def test_exec_config_validation_and_no_key_material():
    with pytest.raises(ValueError, match="exactly one"):
        HyperliquidExecClientConfig(private_key_env="A", private_key_file="/k", **LOCAL)
    with pytest.raises(ValueError, match="exactly one"):
        HyperliquidExecClientConfig(private_key_env=None, **LOCAL)
    with pytest.raises(ValueError, match="not a 0x-prefixed"):
        HyperliquidExecClientConfig(account_address="0x123", **LOCAL)
    with pytest.raises(ValueError, match="venue minimum"):
        HyperliquidExecClientConfig(dead_man_switch_secs=2.0, **LOCAL)
    with pytest.raises(ValueError, match="heartbeat"):
        HyperliquidDataClientConfig(heartbeat_secs=60.0, **LOCAL)
    config = HyperliquidExecClientConfig(**LOCAL)
    assert "private_key" not in {k for k in msgspec.structs.asdict(config) if k not in ("private_key_env", "private_key_file")}
    assert HyperliquidExecClientConfig.parse(config.json()) == config


def test_key_comes_from_the_named_variable_or_file_and_never_shows(monkeypatch, tmp_path):
    monkeypatch.setenv("MY_HL_KEY", TEST_ACCOUNT_KEY)
    from_env = load_signer(HyperliquidExecClientConfig(private_key_env="MY_HL_KEY", **LOCAL))
    key_file = tmp_path / "key"
    key_file.write_text(TEST_ACCOUNT_KEY + "\n")
    key_file.chmod(0o600)  # from_file refuses a key file its group or others can read
    from_file = load_signer(HyperliquidExecClientConfig(private_key_env=None, private_key_file=str(key_file), **LOCAL))
    assert from_env.address == from_file.address
    secret = TEST_ACCOUNT_KEY[2:]
    assert secret not in repr(from_env) and secret not in str(HyperliquidExecClientConfig(**LOCAL))
    monkeypatch.setenv("MY_HL_KEY", "0x" + "zz" * 32)
    with pytest.raises(PrivateKeyError) as error:
        load_signer(HyperliquidExecClientConfig(private_key_env="MY_HL_KEY", **LOCAL))
    assert "MY_HL_KEY" in str(error.value) and "zz" not in str(error.value)


def test_one_ip_budget_per_venue_url():
    assert get_weight_limiter("http://a") is get_weight_limiter("http://a") is not get_weight_limiter("http://b")
    assert [action_weight(n) for n in (1, 39, 40, 79, 80)] == [1, 1, 2, 2, 3]


async def test_weight_limiter_waits_instead_of_earning_429s():
    limiter = WeightLimiter(per_minute=600)  # 10 weight per second
    started = time.monotonic()
    await limiter.acquire(600)
    assert time.monotonic() - started < 0.05, "a full bucket serves at once"
    await limiter.acquire(5)
    assert 0.4 < time.monotonic() - started < 1.0, "then it waits for the refill"
    limiter.pause(0.3)
    paused = time.monotonic()
    await limiter.acquire(1)
    assert time.monotonic() - paused >= 0.3, "a 429 pauses every request"
    limiter.charge(20)
    assert limiter.available < 0


def test_address_budget():
    budget = AddressBudget()
    assert budget.allows(10**9), "unknown budget: let the venue decide"
    budget.update(used=9_000, cap=10_000)
    assert not budget.is_low and budget.allows(1000) and not budget.allows(1001)
    budget.spend(200)
    assert budget.is_low and budget.remaining == 800


async def test_lost_action_answers_are_unknown_outcomes_and_not_resent(exchange_factory):
    exchange = await exchange_factory(manual_clock=True, schedule_cancel_min_volume_usd=0)  # its scheduleCancel needs $1M traded live
    client = HyperliquidHttpClient(exchange.url, WeightLimiter(), timeout_secs=5, max_retries=3)
    endpoints = HyperliquidExchangeEndpoints(client, credentials.HyperliquidSigner.from_key(TEST_ACCOUNT_KEY), is_mainnet=False)
    executed: list[str] = []
    execute = exchange.actions.execute
    exchange.actions.execute = lambda envelope: executed.append(envelope.action_type) or execute(envelope)
    exchange.faults.drop(action="scheduleCancel", phase="response", count=1)
    with pytest.raises(HyperliquidHttpError) as error:
        await endpoints.post(actions.schedule_cancel_action(None))
    assert error.value.outcome_unknown and executed == ["scheduleCancel"], "executed once, never resent"
    exchange.faults.http_429(count=2)
    response = await endpoints.post(actions.schedule_cancel_action(None))
    assert response.error is None and executed == ["scheduleCancel", "scheduleCancel"], "429s retried, then executed once"
    await client.close()


async def test_heartbeat_keeps_a_quiet_connection_and_a_lost_one_is_rebuilt(exchange_factory):
    exchange = await exchange_factory(manual_clock=True, ws_idle_timeout_s=0.6)
    frames: list[str] = []
    subscription = {"type": "bbo", "coin": "BTC"}

    async def open_client(heartbeat_secs: float) -> HyperliquidWebSocketClient:
        client = HyperliquidWebSocketClient(
            exchange.ws_url, frames.append, Logger("test"), heartbeat_secs=heartbeat_secs, reconnect_delay_initial_secs=0.05
        )
        await client.connect()
        await client.subscribe(subscription)
        return client

    pinging = await open_client(heartbeat_secs=0.2)
    await asyncio.sleep(1.5)
    assert pinging.reconnects == 0 and any('"pong"' in f for f in frames), "pings keep the venue from closing it"
    await pinging.disconnect()

    silent = await open_client(heartbeat_secs=30.0)
    frames.clear()
    await wait_for(lambda: silent.reconnects >= 1, 5, "the venue's idle close and the reconnect")
    await wait_for(lambda: any('"subscriptionResponse"' in f for f in frames), 5, "the subscription resent")
    await silent.disconnect()


def test_recorder_output_goes_through_the_loaders(tmp_path, ws_recording_btc):
    path = tmp_path / "raw" / "capture.gz"
    recorder = FrameRecorder(path)
    messages = list(iter_ws_messages(ws_recording_btc))
    for _, recv_ns, message in messages:
        recorder.write(recv_ns, msgspec.json.encode(message).decode())
    recorder.close()
    assert recorder.frames == len(messages)
    assert [m for _, _, m in iter_ws_messages(path)] == [m for _, _, m in messages]
    original = loaders.parse_file(ws_recording_btc, default_instrument())
    recorded = loaders.parse_file(path, default_instrument())
    assert recorded.deltas == original.deltas and recorded.trades == original.trades and recorded.quotes == original.quotes
