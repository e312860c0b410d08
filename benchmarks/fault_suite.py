#!/usr/bin/env python
"""Fault suite: the live node against the local exchange while fills happen, under a seeded schedule of faults.

    .venv/bin/python benchmarks/fault_suite.py                    # 110 faults, seed 12 (make faults)
    .venv/bin/python benchmarks/fault_suite.py --faults 20 --seed 3 --speed 30

The node is the one ``run_live.py`` runs (``mm_strategy.live``: same builder, clients and strategy config), quoting
near the touch so the replay of the real BTC hour crosses its orders. Each fault is armed, left to act for a
second or two of trading, then healed; the node is then checked against the venue's own endpoints, polled until
they agree or ``--converge-timeout`` passes:

- position: the node's net position = ``clearinghouseState`` ``szi``;
- fills: the trade ids the node applied = ``userFills`` ``tid`` (a fill emitted twice is a duplicate, one the
  venue has and the node not is lost);
- open orders: the node's open orders = ``frontendOpenOrders`` by (cloid, oid, remaining size);
- the session report is written (the same ``write_session_report`` as ``run_live.py``).

The venue is read in-process through its ``/info`` handler, so each check sees one consistent instant of the
venue next to the node (both run on this event loop). "Time to resync" runs from the heal to agreement. Faults:
disconnects (abrupt and polite), restarts, dropped / delayed / reordered user-stream frames, dropped book frames,
lost order and cancel responses, 429 storms. ``tests/test_fault_suite.py`` runs a 10-fault schedule.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from nautilus_trader.model.events import OrderFilled  # noqa: E402
from nautilus_trader.trading.config import ImportableStrategyConfig  # noqa: E402

from adapters.hyperliquid.actions import cloid_from_client_order_id  # noqa: E402
from adapters.hyperliquid.execution import RESYNC_ON_RECONNECT  # noqa: E402
from adapters.hyperliquid.instruments import HYPERLIQUID_VENUE  # noqa: E402
from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY  # noqa: E402
from adapters.hyperliquid.local_exchange import LocalExchange  # noqa: E402
from adapters.hyperliquid.local_exchange import LocalExchangeConfig  # noqa: E402
from adapters.hyperliquid.local_exchange import test_account_address  # noqa: E402
from adapters.hyperliquid.node import VenueTarget  # noqa: E402
from adapters.hyperliquid.node import build_node  # noqa: E402
from adapters.hyperliquid.node import hyperliquid_clients  # noqa: E402
from adapters.hyperliquid.node import node_config  # noqa: E402
from mm_strategy.live import _equity_once_quoted  # noqa: E402
from mm_strategy.live import wait_until_running  # noqa: E402
from mm_strategy.node_config import load_venue_config  # noqa: E402
from mm_strategy.node_config import replace_venue_live  # noqa: E402
from mm_strategy.session_report import write_session_report  # noqa: E402

CONFIG_PATH = REPO_ROOT / "configs" / "hyperliquid_btc.json"
KEY_ENV = "HYPERLIQUID_FAULT_SUITE_PK"
COIN = "BTC"
USER_CHANNELS = ("orderUpdates", "userFills", "user")
# Quote close to the touch so the replay crosses the node's orders every few seconds; no same-side burst pause (at
# 20x replay a burst window of 2 s wall time spans 40 s of market) and no latched inventory-stuck halt (a 429 storm
# can hold the reducing side unquoted past the halt's 15 s, and the suite would stop trading for good).
FAST_FILLS = {
    "half_spread_mult": 0.2,
    "risk": {"min_spread_floor_bps": 1.5, "burst_events": 1000, "stuck_halt_s": 1_000_000.0},
}
POLL_S = 0.02


@dataclass(frozen=True, slots=True)
class SuiteConfig:
    faults: int = 110
    seed: int = 12
    replay_speed: float = 10.0
    window_s: tuple[float, float] = (1.0, 2.5)  # how long each fault acts while the node trades
    converge_timeout_s: float = 30.0
    final_settle_s: float = 3.0
    log_level: str = "ERROR"

    def __post_init__(self) -> None:
        if self.faults < 1:
            raise ValueError(f"faults must be >= 1, got {self.faults}")
        if not 0 < self.window_s[0] <= self.window_s[1]:
            raise ValueError(f"window_s must be 0 < low <= high, got {self.window_s}")
        if self.replay_speed <= 0 or self.converge_timeout_s <= 0:
            raise ValueError("replay_speed and converge_timeout_s must be > 0")


# -- faults ----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Session:
    exchange: LocalExchange
    node: Any
    user: str
    emitted_fill_ids: list[str] = field(default_factory=list)
    actions_executed: int = 0  # every /exchange action the venue executed (the node's use of the IP budget)


Inject = Callable[[Session, random.Random], Awaitable[str]]


async def _disconnect_abrupt(session: Session, rng: random.Random) -> str:
    return f"{await session.exchange.drop_ws_connections(abrupt=True)} sockets cut"


async def _disconnect_polite(session: Session, rng: random.Random) -> str:
    return f"{await session.exchange.drop_ws_connections(abrupt=False)} sockets closed"


async def _restart(session: Session, rng: random.Random) -> str:
    downtime_s = rng.uniform(0.2, 1.5)
    await session.exchange.restart(downtime_s=downtime_s)
    return f"down {downtime_s:.1f} s"


async def _drop_user_frames(session: Session, rng: random.Random) -> str:
    channels = rng.sample(USER_CHANNELS, rng.randint(1, len(USER_CHANNELS)))
    count = rng.randint(1, 6)
    for channel in channels:
        session.exchange.faults.drop(channel=channel, count=count)
    return f"next {count} of {'+'.join(channels)}"


async def _delay_user_frames(session: Session, rng: random.Random) -> str:
    channel, delay_s, count = rng.choice(USER_CHANNELS), rng.uniform(0.2, 2.0), rng.randint(1, 6)
    session.exchange.faults.delay(delay_s, channel=channel, count=count)
    return f"next {count} of {channel} by {delay_s:.1f} s"


async def _reorder_user_frames(session: Session, rng: random.Random) -> str:
    channel, count = rng.choice(USER_CHANNELS), rng.randint(1, 6)
    session.exchange.faults.reorder(channel=channel, count=count)
    return f"next {count} of {channel}"


async def _drop_book_frames(session: Session, rng: random.Random) -> str:
    count = rng.randint(5, 40)
    session.exchange.faults.drop(channel="l2Book", count=count)
    return f"next {count} l2Book"


async def _lost_order_response(session: Session, rng: random.Random) -> str:
    count = rng.randint(1, 2)
    session.exchange.faults.drop(action="order", phase="response", count=count)
    return f"next {count} order answers"


async def _lost_cancel_response(session: Session, rng: random.Random) -> str:
    count = rng.randint(1, 2)
    session.exchange.faults.drop(action="cancelByCloid", phase="response", count=count)
    return f"next {count} cancel answers"


async def _storm_429(session: Session, rng: random.Random) -> str:
    seconds = rng.uniform(0.5, 3.0)
    session.exchange.faults.http_429(seconds=seconds)
    return f"every request for {seconds:.1f} s"


@dataclass(frozen=True, slots=True)
class Fault:
    inject: Inject
    armed: bool = True  # a rule acting on what passes while the node trades (else a one-off event)
    reconnects: bool = False  # resynced means: both clients reconnected and the resync after it finished


# Time to resync runs from the end of the disturbance: right after a one-off event (the connections are cut, the
# venue is back up), after the window for an armed rule (then cleared).
FAULTS: dict[str, Fault] = {
    "disconnect (abrupt)": Fault(_disconnect_abrupt, armed=False, reconnects=True),
    "disconnect (polite)": Fault(_disconnect_polite, armed=False, reconnects=True),
    "venue restart": Fault(_restart, armed=False, reconnects=True),
    "user frames dropped": Fault(_drop_user_frames),
    "user frames delayed": Fault(_delay_user_frames),
    "user frames reordered": Fault(_reorder_user_frames),
    "book frames dropped": Fault(_drop_book_frames),
    "order answer lost": Fault(_lost_order_response),
    "cancel answer lost": Fault(_lost_cancel_response),
    "429 storm": Fault(_storm_429),
}


def _always() -> bool:
    return True


def schedule(n_faults: int, seed: int) -> list[str]:
    """``n_faults`` kinds, each kind as often as the others (±1), in a seeded order."""
    rng = random.Random(seed)
    kinds = list(FAULTS)
    rounds = [rng.sample(kinds, len(kinds)) for _ in range(-(-n_faults // len(kinds)))]
    return [kind for one_round in rounds for kind in one_round][:n_faults]


# -- checks ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Views:
    """The venue's and the node's answer to the same three questions, read at one instant."""

    venue_position: Decimal
    node_position: Decimal
    venue_fills: frozenset[str]
    node_fills: tuple[str, ...]  # every OrderFilled the node applied, duplicates kept
    venue_open: frozenset[tuple[str | None, int, Decimal]]
    node_open: frozenset[tuple[str, int | None, Decimal]]

    @property
    def position_ok(self) -> bool:
        return self.venue_position == self.node_position

    @property
    def fills_ok(self) -> bool:
        return len(self.node_fills) == len(set(self.node_fills)) and set(self.node_fills) == self.venue_fills

    @property
    def open_orders_ok(self) -> bool:
        return self.venue_open == self.node_open

    @property
    def agree(self) -> bool:
        return self.position_ok and self.fills_ok and self.open_orders_ok

    def differences(self) -> str:
        """What disagrees, briefly (the node's side first)."""
        parts = []
        if not self.position_ok:
            parts.append(f"position {self.node_position} vs {self.venue_position}")
        if not self.fills_ok:
            node = set(self.node_fills)
            parts.append(f"fills {len(node - self.venue_fills)} extra, {len(self.venue_fills - node)} missing")
        if not self.open_orders_ok:
            node_only, venue_only = sorted(self.node_open - self.venue_open), sorted(self.venue_open - self.node_open)
            parts.append(f"open orders {node_only} vs {venue_only}")
        return "; ".join(parts)


def read_views(session: Session) -> Views:
    info = session.exchange.info
    ask = lambda request_type: info.answer(info.parse({"type": request_type, "user": session.user}))  # noqa: E731
    asset_positions = ask("clearinghouseState")["assetPositions"]
    positions = {p["position"]["coin"]: Decimal(p["position"]["szi"]) for p in asset_positions}
    venue_open = frozenset((o.get("cloid"), o["oid"], Decimal(o["sz"])) for o in ask("frontendOpenOrders"))
    cache = session.node.cache
    node_open = frozenset(
        (
            cloid_from_client_order_id(o.client_order_id.value),
            int(o.venue_order_id.value) if o.venue_order_id is not None else None,
            o.leaves_qty.as_decimal(),
        )
        for o in cache.orders_open(venue=HYPERLIQUID_VENUE)
    )
    instrument_id = session.node.trader.strategies()[0].config.instrument_id
    return Views(
        venue_position=positions.get(COIN, Decimal(0)),
        node_position=Decimal(str(session.node.portfolio.net_position(instrument_id))),
        venue_fills=frozenset(str(f["tid"]) for f in ask("userFills")),
        node_fills=tuple(e.trade_id.value for o in cache.orders() for e in o.events if isinstance(e, OrderFilled)),
        venue_open=venue_open,
        node_open=node_open,
    )


def reconnect_marks(session: Session) -> tuple[int, int, int]:
    data_client, exec_client = hyperliquid_clients(session.node)
    return data_client.ws.reconnects, exec_client.ws.reconnects, exec_client.resyncs[RESYNC_ON_RECONNECT]


def reconnected_since(session: Session, before: tuple[int, int, int]) -> Callable[[], bool]:
    """Both clients reconnected since ``before`` and the execution client's resync after it has finished."""

    def done() -> bool:
        now = reconnect_marks(session)
        resyncing = hyperliquid_clients(session.node)[1].resyncing
        return all(n > b for n, b in zip(now, before)) and not resyncing

    return done


async def converge(session: Session, timeout_s: float, ready: Callable[[], bool]) -> tuple[float | None, Views]:
    """Seconds until the node is ``ready`` and agrees with the venue (None if not within ``timeout_s``)."""
    started_s = time.monotonic()
    while True:
        views = read_views(session)
        elapsed_s = time.monotonic() - started_s
        if views.agree and ready():
            return elapsed_s, views
        if elapsed_s > timeout_s:
            return None, views
        await asyncio.sleep(POLL_S)


@dataclass(slots=True)
class FaultResult:
    index: int
    kind: str
    detail: str
    resync_s: float | None
    position_ok: bool
    fills_ok: bool
    open_orders_ok: bool
    report_error: str | None
    fills_so_far: int
    differences: str


@dataclass(slots=True)
class SuiteResult:
    config: SuiteConfig
    results: list[FaultResult]
    final: FaultResult
    venue_fills: int
    lost_fills: list[str]
    duplicated_fills: list[str]
    resyncs: Counter
    ws_reconnects: int
    actions_per_s: float
    malformed_frames: int
    wall_s: float

    @property
    def checks(self) -> list[FaultResult]:
        return [*self.results, self.final]

    @property
    def position_mismatches(self) -> int:
        return sum(not r.position_ok for r in self.checks)

    @property
    def open_order_mismatches(self) -> int:
        return sum(not r.open_orders_ok for r in self.checks)

    @property
    def lost_reports(self) -> int:
        return sum(r.report_error is not None for r in self.checks)

    @property
    def unconverged(self) -> list[FaultResult]:
        return [r for r in self.results if r.resync_s is None]

    def table(self) -> str:
        lines = [
            f"fault suite: {len(self.results)} faults, seed {self.config.seed}, replay {self.config.replay_speed:g}x, "
            f"{self.wall_s:.0f} s wall",
            f"{'fault':<24} {'n':>4} {'agreed':>7} {'resync p50 s':>13} {'p99 s':>7} {'max s':>7}",
        ]
        by_kind: dict[str, list[FaultResult]] = {}
        for result in self.results:
            by_kind.setdefault(result.kind, []).append(result)
        for kind in FAULTS:
            if kind in by_kind:
                lines.append(_row(kind, by_kind[kind]))
        lines.append(_row("all faults", self.results))
        lines += [
            "",
            f"venue fills {self.venue_fills} | lost fills {len(self.lost_fills)} | duplicated fills "
            f"{len(self.duplicated_fills)} | position mismatches {self.position_mismatches} | open-order mismatches "
            f"{self.open_order_mismatches} | lost reports {self.lost_reports} (of {len(self.checks)} checks)",
            f"resyncs: {', '.join(f'{reason} {n}' for reason, n in sorted(self.resyncs.items())) or 'none'}; "
            f"ws reconnects {self.ws_reconnects}; malformed frames {self.malformed_frames}; node actions "
            f"{self.actions_per_s:.1f}/s (IP budget: 20 weight/s)",
        ]
        for result in self.unconverged:
            lines.append(f"  #{result.index} {result.kind} ({result.detail}) did not agree: {result.differences}")
        errors = Counter(r.report_error for r in self.checks if r.report_error is not None)
        lines += [f"  report not written ({n}x): {error}" for error, n in errors.items()]
        return "\n".join(lines)


def _row(name: str, results: list[FaultResult]) -> str:
    times = sorted(r.resync_s for r in results if r.resync_s is not None)
    agreed = f"{len(times)}/{len(results)}"
    if not times:
        return f"{name:<24} {len(results):>4} {agreed:>7} {'-':>13} {'-':>7} {'-':>7}"
    p50 = times[len(times) // 2]
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return f"{name:<24} {len(results):>4} {agreed:>7} {p50:>13.2f} {p99:>7.2f} {times[-1]:>7.2f}"


# -- the session -----------------------------------------------------------------------------------------------


def suite_settings(log_level: str):
    """The shared config with the fast-fill strategy overrides, this suite's key variable and log level."""
    settings = load_venue_config(CONFIG_PATH)
    strategy = settings.strategy
    config = json.loads(json.dumps(strategy.config))
    for key, value in FAST_FILLS.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    strategy = ImportableStrategyConfig(strategy.strategy_path, strategy.config_path, config)
    live = msgspec.structs.replace(settings.live, log_level=log_level, state_dir=None)
    return replace_venue_live(msgspec.structs.replace(settings, strategy=strategy, live=live), private_key_env=KEY_ENV)


def record_emitted_fills(session: Session) -> None:
    """Every fill the execution client emits: the engine drops a duplicate trade id silently, so only the client's
    own output shows whether it ever emitted one twice."""
    client = hyperliquid_clients(session.node)[1]
    emit = client.generate_order_filled

    def recording(**event: Any) -> None:
        session.emitted_fill_ids.append(event["trade_id"].value)
        emit(**event)

    client.generate_order_filled = recording


def count_executed_actions(session: Session) -> None:
    handler = session.exchange.actions
    execute = handler.execute

    def counting(envelope: Any) -> Any:
        session.actions_executed += 1
        return execute(envelope)

    handler.execute = counting


def write_report(session: Session, starting_equity: float | None, out_dir: Path) -> str | None:
    """Write the session report as ``run_live.py`` does; the error text if it could not be written."""
    if starting_equity is None:
        return "no starting equity (the node never quoted)"
    try:
        write_session_report(
            strategy=session.node.trader.strategies()[0],
            portfolio=session.node.portfolio,
            cache=session.node.cache,
            starting_equity=starting_equity,
            out_dir=out_dir,
            title="fault suite",
            run_info={"mode": "live", "environment": "local", "fault_suite": "yes"},
            engine=None,
        )
    except Exception as error:  # a lost report is what this check counts, whatever the cause
        return f"{type(error).__name__}: {error}".splitlines()[0][:160]
    return None if (out_dir / "report.json").exists() else "report.json missing"


async def check(
    session: Session,
    index: int,
    kind: str,
    detail: str,
    config: SuiteConfig,
    ready: Callable[[], bool],
    equity: float | None,
    out_dir: Path,
) -> FaultResult:
    resync_s, views = await converge(session, config.converge_timeout_s, ready)
    return FaultResult(
        index=index,
        kind=kind,
        detail=detail,
        resync_s=resync_s,
        position_ok=views.position_ok,
        fills_ok=views.fills_ok,
        open_orders_ok=views.open_orders_ok,
        report_error=write_report(session, equity, out_dir),
        fills_so_far=len(views.venue_fills),
        differences=views.differences(),
    )


async def run_fault_suite(
    config: SuiteConfig,
    out_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> SuiteResult:
    os.environ[KEY_ENV] = TEST_ACCOUNT_KEY
    started_s = time.monotonic()
    # an account past the venue's $1M volume gate for scheduleCancel: the faults also exercise the dead-man refresh
    exchange = LocalExchange(
        LocalExchangeConfig(speed=config.replay_speed, fund_test_account=True, schedule_cancel_min_volume_usd=Decimal(0))
    )
    await exchange.start()
    settings = suite_settings(config.log_level)
    node = build_node(node_config(settings, VenueTarget.local(exchange.url)), loop=asyncio.get_running_loop())
    run_task = asyncio.ensure_future(node.run_async())
    session = Session(exchange, node, test_account_address())
    rng = random.Random(config.seed)
    results: list[FaultResult] = []
    try:
        await wait_until_running(node, 60.0)
        record_emitted_fills(session)
        count_executed_actions(session)
        actions_from_s = time.monotonic()
        equity = await _equity_once_quoted(node)
        for index, kind in enumerate(schedule(config.faults, config.seed), start=1):
            fault = FAULTS[kind]
            window_s = rng.uniform(*config.window_s)
            if not fault.armed:
                await asyncio.sleep(window_s)  # trading between faults
            ready = reconnected_since(session, reconnect_marks(session)) if fault.reconnects else _always
            detail = await fault.inject(session, rng)
            if fault.armed:
                await asyncio.sleep(window_s)
                exchange.faults.clear()
            result = await check(session, index, kind, detail, config, ready, equity, out_dir)
            results.append(result)
            if progress is not None:
                resync = f"{result.resync_s:.2f} s" if result.resync_s is not None else "NO AGREEMENT"
                line = f"#{index:>3} {kind:<22} {detail:<34} resync {resync:<13} fills {result.fills_so_far}"
                progress(f"{line} {result.differences}".rstrip())
        await asyncio.sleep(config.final_settle_s)
        final_index = len(results) + 1
        final = await check(session, final_index, "final", "after the last fault", config, _always, equity, out_dir)
        views = read_views(session)
        data_client, exec_client = hyperliquid_clients(node)
        emitted = Counter(session.emitted_fill_ids)
        applied = Counter(views.node_fills)
        return SuiteResult(
            config=config,
            results=results,
            final=final,
            venue_fills=len(views.venue_fills),
            lost_fills=sorted(views.venue_fills - set(views.node_fills)),
            duplicated_fills=sorted({tid for counts in (emitted, applied) for tid, n in counts.items() if n > 1}),
            resyncs=Counter(exec_client.resyncs),
            ws_reconnects=data_client.ws.reconnects + exec_client.ws.reconnects,
            actions_per_s=session.actions_executed / (time.monotonic() - actions_from_s),
            malformed_frames=data_client.malformed_frames + exec_client.malformed_frames,
            wall_s=time.monotonic() - started_s,
        )
    finally:
        if node.is_running():
            await node.stop_async()
        await asyncio.wait({run_task}, timeout=10.0)
        await exchange.stop()


def main(argv: list[str] | None = None) -> int:
    defaults = SuiteConfig()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", type=int, default=defaults.faults)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--speed", type=float, default=defaults.replay_speed, help="replay speed of the venue")
    parser.add_argument("--converge-timeout", type=float, default=defaults.converge_timeout_s)
    parser.add_argument("--log-level", default=defaults.log_level, help="node log level")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default: a temporary one)")
    parser.add_argument("--quiet", action="store_true", help="no line per fault")
    args = parser.parse_args(argv)
    config = SuiteConfig(
        faults=args.faults,
        seed=args.seed,
        replay_speed=args.speed,
        converge_timeout_s=args.converge_timeout,
        log_level=args.log_level,
    )
    with tempfile.TemporaryDirectory() as scratch:
        out_dir = args.out or Path(scratch) / "report"
        try:
            result = asyncio.run(run_fault_suite(config, out_dir, None if args.quiet else print))
        except Exception:
            traceback.print_exc()
            return 2
    print()
    print(result.table())
    clean = not (result.lost_fills or result.duplicated_fills or result.position_mismatches or result.lost_reports)
    return 0 if clean and not result.unconverged else 1


if __name__ == "__main__":
    sys.exit(main())
