"""Build and run a ``TradingNode`` with our Hyperliquid clients from the shared venue+instrument config.

The live twin of ``mm_strategy/backtest.py``: the strategy and actor ``Importable*Config``s come unchanged from
``configs/<venue>_<instrument>.json`` (lesson E14: paper ≡ live); only the node and its clients differ.
``run_live.py``, the end-to-end tests and ``benchmarks/tick_to_wire.py`` all go through :func:`build_node` and
:func:`run_node`, so what is tested and measured is what a trader runs.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from pathlib import Path

import msgspec
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LiveExecEngineConfig
from nautilus_trader.config import LiveRiskEngineConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from adapters.hyperliquid import loaders
from adapters.hyperliquid.config import HyperliquidDataClientConfig
from adapters.hyperliquid.config import HyperliquidExecClientConfig
from adapters.hyperliquid.constants import HYPERLIQUID
from adapters.hyperliquid.constants import HYPERLIQUID_CLIENT_ID
from adapters.hyperliquid.data import HyperliquidDataClient
from adapters.hyperliquid.execution import HyperliquidExecutionClient
from adapters.hyperliquid.factories import HyperliquidLiveDataClientFactory
from adapters.hyperliquid.factories import HyperliquidLiveExecClientFactory
from mm_strategy.backtest import MAX_ORDER_RATE
from mm_strategy.node_config import VenueInstrumentConfig
from mm_strategy.equity import equity_usdc
from mm_strategy.strategy import control_topic


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


def node_config(
    settings: VenueInstrumentConfig,
    target: VenueTarget,
    record_path: Path | None = None,
    trader_id: str = "MM-001",
) -> TradingNodeConfig:
    """The node: our data and exec clients for ``settings.instrument_id``, the config's strategy and actors."""
    instrument_id = InstrumentId.from_str(settings.instrument_id)
    provider = InstrumentProviderConfig(load_ids=frozenset([instrument_id]))
    live = settings.live
    endpoints = {
        "environment": target.environment,
        "base_url_http": target.base_url_http,
        "base_url_ws": target.base_url_ws,
    }
    key_source = (
        {"private_key_file": live.private_key_file, "private_key_env": None}
        if live.private_key_file is not None
        else {"private_key_env": live.private_key_env}
    )
    return TradingNodeConfig(
        trader_id=trader_id,
        logging=LoggingConfig(log_level=live.log_level),
        # The execution client resyncs after every reconnect and periodically; the engine's own open-order
        # check would infer fills that race the real ones, so it stays off (its in-flight check stays on).
        exec_engine=LiveExecEngineConfig(reconciliation=True, reconciliation_lookback_mins=1440),
        risk_engine=LiveRiskEngineConfig(max_order_submit_rate=MAX_ORDER_RATE, max_order_modify_rate=MAX_ORDER_RATE),
        data_clients={
            HYPERLIQUID: HyperliquidDataClientConfig(
                instrument_provider=provider,
                record_path=str(record_path) if record_path is not None else None,
                **endpoints,
            ),
        },
        exec_clients={
            HYPERLIQUID: HyperliquidExecClientConfig(
                instrument_provider=provider,
                account_address=live.account_address,
                leverage=live.leverage,
                **key_source,
                **endpoints,
            ),
        },
        actors=[_with_config(a, state_dir=live.state_dir) for a in settings.actors] if live.state_dir else list(settings.actors),
        strategies=[_with_state_path(settings.strategy, live.state_dir)] if live.state_dir else [settings.strategy],
        timeout_connection=30.0,
        timeout_reconciliation=10.0,
        timeout_portfolio=10.0,
        timeout_disconnection=10.0,
        # Time for the strategy's cancel-all on stop to be answered before the clients disconnect.
        timeout_post_stop=2.0,
    )


def _with_config(component, **changes):
    return msgspec.structs.replace(component, config={**component.config, **changes})


def _with_state_path(strategy, state_dir: str):
    """The strategy's kill switch persists next to the actors' state (latched halts survive a restart)."""
    tag = strategy.config.get("order_id_tag", "000")
    return _with_config(strategy, state_path=str(Path(state_dir) / f"kill_switch-{tag}.json"))


def build_node(config: TradingNodeConfig, loop: asyncio.AbstractEventLoop | None = None) -> TradingNode:
    """A built node with our factories registered in code (JSON exec factories crash 1.231's builder)."""
    node = TradingNode(config=config, loop=loop)
    node.add_data_client_factory(HYPERLIQUID, HyperliquidLiveDataClientFactory)
    node.add_exec_client_factory(HYPERLIQUID, HyperliquidLiveExecClientFactory)
    node.build()
    return node


def hyperliquid_clients(node: TradingNode) -> tuple[HyperliquidDataClient, HyperliquidExecutionClient]:
    """The node's two clients, for tests, benchmarks and run-time diagnostics (reconnects, malformed frames)."""
    data_client = node.kernel.data_engine._clients[HYPERLIQUID_CLIENT_ID]
    exec_client = node.kernel.exec_engine._clients[HYPERLIQUID_CLIENT_ID]
    return data_client, exec_client


async def wait_until_running(node: TradingNode, timeout_s: float) -> None:
    """Until the trader runs (connected, reconciled, strategies started); raises ``TimeoutError``."""
    async with asyncio.timeout(timeout_s):
        while not (node.is_running() and node.trader.is_running):
            await asyncio.sleep(0.05)


async def run_node(node: TradingNode, stop: asyncio.Event, startup_timeout_s: float = 60.0) -> float | None:
    """Run ``node`` until ``stop`` is set (or the node stops itself), then stop it cleanly.

    Returns the account equity when trading started (balance plus open position at the first mid), the baseline
    of the session report, or None if the node never started.
    """
    run_task = asyncio.ensure_future(node.run_async())
    starting_equity = None
    try:
        await wait_until_running(node, startup_timeout_s)
        install_operator_signals(node)
        starting_equity = await _equity_once_quoted(node)
        stop_task = asyncio.ensure_future(stop.wait())
        await asyncio.wait({run_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        stop_task.cancel()
    finally:
        if node.is_running():
            await node.stop_async()
        await asyncio.wait({run_task}, timeout=10.0)
    return starting_equity


OPERATOR_SIGNALS = {signal.SIGUSR1: "halt:operator signal SIGUSR1", signal.SIGUSR2: "resume"}


def install_operator_signals(node: TradingNode) -> None:
    """``kill -USR1 <pid>`` halts every strategy (cancel all, no new orders), ``kill -USR2 <pid>`` resumes.

    The signal becomes the same bus command a test or another component can send (``strategy.control_topic``),
    so there is one control path; the strategy logs the kill-switch event and its status line.
    """
    loop = asyncio.get_running_loop()
    for signum, command in OPERATOR_SIGNALS.items():
        try:
            loop.add_signal_handler(signum, _publish_control, node, command)
        except (NotImplementedError, RuntimeError, ValueError):
            return  # not the main thread (embedded use, some tests): the bus command is still available


def _publish_control(node: TradingNode, command: str) -> None:
    for strategy in node.trader.strategies():
        node.kernel.msgbus.publish(control_topic(strategy.id.value), command)


async def _equity_once_quoted(node: TradingNode, timeout_s: float = 10.0) -> float | None:
    strategy = node.trader.strategies()[0]
    instrument_id = strategy.config.instrument_id
    mid = None
    try:
        async with asyncio.timeout(timeout_s):
            while mid is None:
                book = node.cache.order_book(instrument_id)
                mid = book.midpoint() if book is not None else None
                if mid is None:
                    await asyncio.sleep(0.05)
    except TimeoutError:
        pass
    return equity_usdc(node.portfolio, node.cache, instrument_id, mid)


def record_to_catalog(raw_path: Path, instrument: Instrument, catalog_path: Path) -> loaders.LoadResult:
    """Turn a raw frame recording into a catalog through the loaders, exactly as any recording is loaded, so
    ``run_backtest.py --catalog`` replays the same delta, trade and quote streams a loaded archive gives."""
    result = loaders.parse_file(raw_path, instrument, checkpoint_s=loaders.DEFAULT_CHECKPOINT_S)
    loaders.write_catalog([result], instrument, catalog_path)
    return result
