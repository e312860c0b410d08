"""Shared helpers of the live tests: a local exchange per test and a ``TradingNode`` wired to it through
``mm_strategy.live`` with Hyperliquid's clients (the same builder ``run_live.py`` uses), plus a polling helper.

The node runs on the test's own event loop next to the in-process exchange. Tests poll for conditions with a
timeout instead of sleeping, so they are as fast as the venue allows and fail with a message when it does not.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import msgspec
import pytest
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.config import ImportableStrategyConfig

from adapters.hyperliquid.data import HyperliquidDataClient
from adapters.hyperliquid.execution import HyperliquidExecutionClient
from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY
from adapters.hyperliquid.local_exchange import LocalExchange
from adapters.hyperliquid.local_exchange import LocalExchangeConfig
from adapters.hyperliquid.local_exchange import test_account_address as funded_account_address
from adapters.hyperliquid.node import VenueTarget
from adapters.hyperliquid.node import build_node
from adapters.hyperliquid.node import hyperliquid_clients
from adapters.hyperliquid.node import node_config
from mm_strategy.live import wait_until_running
from mm_strategy.node_config import VenueInstrumentConfig
from mm_strategy.node_config import load_venue_config
from mm_strategy.node_config import replace_venue_live
from tests.conftest import REPO_ROOT

BTC_ID = InstrumentId.from_str("BTC-USD-PERP.HYPERLIQUID")
KEY_ENV = "HYPERLIQUID_TEST_PK"
CONFIG_PATH = REPO_ROOT / "configs" / "hyperliquid_btc.json"


async def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str, period_s: float = 0.05) -> None:
    """Poll ``predicate`` until it holds; fail the test naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(period_s)


def live_settings(strategy: ImportableStrategyConfig | None = None, **strategy_overrides: Any) -> VenueInstrumentConfig:
    """The shared config, quieter logs, the test key variable; optionally another strategy or overridden fields."""
    settings = load_venue_config(CONFIG_PATH)
    if strategy is None:
        strategy = ImportableStrategyConfig(
            strategy_path=settings.strategy.strategy_path,
            config_path=settings.strategy.config_path,
            config=_merged(settings.strategy.config, strategy_overrides),
        )
    live = msgspec.structs.replace(settings.live, log_level="WARNING")
    return replace_venue_live(msgspec.structs.replace(settings, strategy=strategy, live=live), private_key_env=KEY_ENV)


def _merged(base: dict, overrides: dict) -> dict:
    merged = json.loads(json.dumps(base))
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


@dataclass
class LiveNode:
    node: TradingNode
    run_task: asyncio.Task
    exchange: LocalExchange
    emitted_fill_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Record every fill the execution client emits: the engine drops duplicate trade ids silently, so only
        the client's own output shows whether it ever emitted one twice."""
        client = self.exec_client
        emit = client.generate_order_filled

        def recording(**event: Any) -> None:
            self.emitted_fill_ids.append(event["trade_id"].value)
            emit(**event)

        client.generate_order_filled = recording

    @property
    def data_client(self) -> HyperliquidDataClient:
        return hyperliquid_clients(self.node)[0]

    @property
    def exec_client(self) -> HyperliquidExecutionClient:
        return hyperliquid_clients(self.node)[1]

    @property
    def strategy(self):
        return self.node.trader.strategies()[0]

    @property
    def account(self):
        """The venue's own record of the funded test account."""
        return self.exchange.venue.accounts[funded_account_address()]

    def venue_open_orders(self) -> list:
        return self.exchange.venue.user_open_orders(funded_account_address())

    async def clearinghouse_position(self, coin: str = "BTC") -> Decimal:
        """``szi`` as the venue's ``clearinghouseState`` endpoint reports it."""
        body = {"type": "clearinghouseState", "user": funded_account_address()}
        async with aiohttp.ClientSession() as session, session.post(f"{self.exchange.url}/info", json=body) as answer:
            state = await answer.json()
        positions = {entry["position"]["coin"]: Decimal(entry["position"]["szi"]) for entry in state["assetPositions"]}
        return positions.get(coin, Decimal(0))

    def node_position(self) -> Decimal:
        return Decimal(str(self.node.portfolio.net_position(BTC_ID)))

    async def stop(self) -> None:
        if self.node.is_running():
            await self.node.stop_async()
        await asyncio.wait({self.run_task}, timeout=10.0)


@pytest.fixture
async def exchange_factory(archive_btc_hour) -> AsyncIterator[Callable[..., Any]]:
    """Start local exchanges on the bundled hour (real-time clock unless overridden), funded test account."""
    started: list[LocalExchange] = []

    async def make(**overrides: Any) -> LocalExchange:
        config = replace(LocalExchangeConfig(data=(archive_btc_hour,), fund_test_account=True), **overrides)
        exchange = LocalExchange(config)
        await exchange.start()
        started.append(exchange)
        return exchange

    yield make
    for exchange in started:
        await exchange.stop()


@pytest.fixture
async def node_factory(monkeypatch) -> AsyncIterator[Callable[..., Any]]:
    """Start ``TradingNode``s against a local exchange with the test key in ``KEY_ENV``; stopped at teardown."""
    monkeypatch.setenv(KEY_ENV, TEST_ACCOUNT_KEY)
    nodes: list[LiveNode] = []

    async def make(exchange: LocalExchange, settings: VenueInstrumentConfig, **config_overrides: Any) -> LiveNode:
        config = node_config(settings, VenueTarget.local(exchange.url), **config_overrides)
        node = build_node(config, loop=asyncio.get_running_loop())
        live = LiveNode(node, asyncio.ensure_future(node.run_async()), exchange)
        nodes.append(live)
        await wait_until_running(node, 30.0)
        return live

    yield make
    for live in nodes:
        await live.stop()
