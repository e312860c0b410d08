"""Build and run a ``TradingNode`` from the shared venue+instrument config, with whichever venue's clients it names.

The live twin of ``mm_strategy/backtest.py``: the strategy and actor ``Importable*Config``s come unchanged from
``configs/<venue>_<instrument>.json`` (lesson E14: paper ≡ live); only the node and its clients differ. The
clients are the venue's: its node module (``adapters/<venue>/node.py``, picked by the config's ``venue.name``
through ``adapters/venues.py``) hands this module a :class:`LiveClients` — client configs and the factories that
build them — and nothing here knows which venue that is.

``run_live.py``, the end-to-end tests and the live benchmarks all go through :func:`node_config`,
:func:`build_node` and :func:`run_node`, so what is tested and measured is what a trader runs.
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import msgspec
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import LiveDataClientConfig
from nautilus_trader.config import LiveExecClientConfig
from nautilus_trader.config import LiveExecEngineConfig
from nautilus_trader.config import LiveRiskEngineConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.live.factories import LiveExecClientFactory
from nautilus_trader.live.node import TradingNode

from mm_strategy.backtest import MAX_ORDER_RATE
from mm_strategy.backtest import purge_settings
from mm_strategy.equity import equity_usd
from mm_strategy.node_config import VenueInstrumentConfig
from mm_strategy.node_config import quiet_above_info
from mm_strategy.strategy import control_topic


@dataclass(frozen=True)
class LiveClients:
    """One venue's clients for a node: their configs and the factories that build them, keyed by client name.

    Factories are registered in code (``build_node``): NautilusTrader 1.231 crashes on a JSON ``factory`` entry
    for exec clients, so a node config names only the config classes.
    """

    data_configs: dict[str, LiveDataClientConfig]
    exec_configs: dict[str, LiveExecClientConfig]
    data_factories: dict[str, type[LiveDataClientFactory]]
    exec_factories: dict[str, type[LiveExecClientFactory]]


@dataclass(frozen=True)
class LiveOptions:
    """What the operator asked for on the command line, beyond the config.

    ``environment`` None keeps the config's ``venue.live`` environment. ``exchange_url``, ``replay_speed`` and
    ``record_path`` exist only for venues that have a local exchange or a recorder; another venue refuses them.
    """

    environment: str | None = None
    exchange_url: str | None = None
    replay_speed: float = 1.0
    record_path: Path | None = None


class LiveSession(Protocol):
    """A venue's running session: its clients, where they point, its diagnostics for the report."""

    environment: str
    venue_url: str
    clients: LiveClients

    def diagnostics(self, node: TradingNode) -> dict[str, str]:
        """Run-time facts for the report (reconnects, resyncs, malformed frames...)."""

    def finish(self, node: TradingNode) -> list[str]:
        """Work after the node stopped (e.g. turning a recording into a catalog); lines for the operator."""


class LiveVenue(Protocol):
    """A venue's node module (``adapters/<venue>/node.py``) as ``run_live.py`` uses it."""

    def open_session(self, settings: VenueInstrumentConfig, options: LiveOptions) -> AbstractAsyncContextManager[LiveSession]:
        """Prepare the venue (e.g. start an in-process local exchange), yield the session, tear it down."""


def node_config(settings: VenueInstrumentConfig, clients: LiveClients, trader_id: str = "MM-001") -> TradingNodeConfig:
    """The node: the venue's clients, the config's strategy and actors (with ``live.state_dir`` when set)."""
    live = settings.live
    actors = [_with_config(a, state_dir=live.state_dir) for a in settings.actors] if live.state_dir else list(settings.actors)
    strategies = [_with_state_path(settings.strategy, live.state_dir)] if live.state_dir else [settings.strategy]
    strategies, actors, portfolio = quiet_above_info(live.log_level, strategies, actors)
    return TradingNodeConfig(
        trader_id=trader_id,
        logging=LoggingConfig(log_level=live.log_level),
        # The execution clients resync after reconnects themselves; the engine's own open-order check would infer
        # fills that race the real ones, so it stays off (its in-flight check stays on).
        exec_engine=LiveExecEngineConfig(
            reconciliation=True,
            reconciliation_lookback_mins=1440,
            **purge_settings(),  # a node quoting for days: closed orders and old account states leave the cache
        ),
        risk_engine=LiveRiskEngineConfig(max_order_submit_rate=MAX_ORDER_RATE, max_order_modify_rate=MAX_ORDER_RATE),
        data_clients=dict(clients.data_configs),
        exec_clients=dict(clients.exec_configs),
        portfolio=portfolio,
        actors=actors,
        strategies=strategies,
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


def build_node(config: TradingNodeConfig, clients: LiveClients, loop: asyncio.AbstractEventLoop | None = None) -> TradingNode:
    """A built node with the venue's factories registered in code."""
    node = TradingNode(config=config, loop=loop)
    for name, factory in clients.data_factories.items():
        node.add_data_client_factory(name, factory)
    for name, factory in clients.exec_factories.items():
        node.add_exec_client_factory(name, factory)
    node.build()
    return node


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
    return equity_usd(node.portfolio, node.cache, instrument_id, mid)
