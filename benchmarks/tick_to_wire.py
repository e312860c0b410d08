#!/usr/bin/env python
"""Tick-to-wire latency of the live node against the local exchange, and the signing cost alone, in one run.

    python benchmarks/tick_to_wire.py [--frames 1500] [--log-level WARNING] [--transport both|ws|rest] [--loop-trace]
                                      [--pin-cpus]

The node is the one ``run_live.py`` builds (our clients, the config's ``GLFTMarketMaker``). The local exchange runs
in its own process, as a venue does (in the node's event loop its own request handling, signature recovery and
matching would be counted as the node's latency), with a manual clock: the benchmark steps it one recorded book
frame at a time over its admin endpoint, so every order request can be attributed to the frame that caused it.
By default the node runs twice, actions by REST then as WS posts (``HyperliquidExecClientConfig.ws_post``).

Probes (``time.perf_counter_ns``, in the node's process) are stamped along the whole path, each the first time it
is reached after a frame (``STAGES``): the data client receives the ``l2Book`` frame (before decoding) and hands
its deltas to the data engine; the data engine's queue task handles them; the strategy's handler starts (the
actors ran before it), sends its modifies, the batch cancel and the order list, and returns; the risk engine's
and the execution engine's queue tasks run each command; our client starts each (the modifies of one pass as one
``batchModify``, once the engine's pass is over); the request is *on the wire*: for REST when aiohttp writes the
body to the socket, for a WS post when its frame is written. The report gives each point's time since the frame
and the hops of the first order, the first cancel and the first modify; a strategy that sends no modify in the
run is reported as such (count 0).

Only the first request after each frame is a sample (later ones queue behind it). The IP weight budget is
lifted for the run: it is venue policy, and waiting for it would measure the budget, not the code path. The
strategy runs with the config as shipped.
The manual venue clock runs ahead of the wall clock (each frame is ~0.6 s of market), so the venue refuses the
node's dead-man deadline as too early: those warnings are expected here.

``--loop-trace`` says what the event loop ran inside each hop. A queue hop on an idle loop costs tens of µs; the
rest of a hop is other ready callbacks the loop runs first (its ready queue is FIFO). The node then runs on
asyncio's own loop instead of uvloop (uvloop's callbacks are compiled and cannot be wrapped; the order of work
is the same, each callback a little slower), with ``Handle._run`` timed: per hop, the time each kind of callback
(a task by its coroutine, a socket read by its connection, a plain callback by its name) spent inside the hop,
averaged over the frames that went the whole way, and the time in no callback (the loop's own work: polling,
moving timers). Its latency figures are not comparable with a run without it.

``--pin-cpus`` runs the node on the first CPU and the local exchange on the last, as a remote venue would be: on
a shared core the exchange's request handling (signature recovery, matching) evicts the node's caches between
frames, and the node's per-frame code runs cache-cold (signing one action: ~60 µs hot, ~220 µs after a cache
sweep). Off by default, so figures stay comparable with earlier runs.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import functools
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import msgspec
from aiohttp import http_writer
from nautilus_trader.execution.messages import BatchCancelOrders
from nautilus_trader.execution.messages import CancelOrder
from nautilus_trader.execution.messages import ModifyOrder
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.execution.messages import SubmitOrderList
from nautilus_trader.model.data import OrderBookDeltas

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from adapters.hyperliquid import actions  # noqa: E402
from adapters.hyperliquid import credentials  # noqa: E402
from adapters.hyperliquid import factories  # noqa: E402
from adapters.hyperliquid.constants import HYPERLIQUID  # noqa: E402
from adapters.hyperliquid.http.exchange import HyperliquidExchangeEndpoints  # noqa: E402
from adapters.hyperliquid.http.ratelimit import WeightLimiter  # noqa: E402
from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY  # noqa: E402
from adapters.hyperliquid.local_exchange import LocalExchange  # noqa: E402
from adapters.hyperliquid.local_exchange import LocalExchangeConfig  # noqa: E402
from adapters.hyperliquid.nonces import NonceManager  # noqa: E402
from adapters.hyperliquid.node import VenueTarget  # noqa: E402
from adapters.hyperliquid.node import build_node  # noqa: E402
from adapters.hyperliquid.node import hyperliquid_clients  # noqa: E402
from adapters.hyperliquid.node import node_config  # noqa: E402
from mm_strategy.live import wait_until_running  # noqa: E402
from mm_strategy.node_config import load_venue_config  # noqa: E402
from mm_strategy.node_config import replace_venue_live  # noqa: E402

KEY_ENV = "HYPERLIQUID_BENCH_PK"
GOAL_P50_US = 300
GOAL_P99_US = 2_000
FRAME_GAP_S = 0.02
SIGNING_ROUNDS = 3000
LOOP_TRACE_ROWS = 10


# Probe points, in path order: (key, what happened). Each is stamped the first time it happens after a frame.
STAGES = (
    ("frame", "book frame received (before decoding)"),
    ("deltas", "deltas handed to the data engine (decoded, diffed)"),
    ("data_engine", "data engine handles them"),
    ("strategy", "strategy on_order_book_deltas starts (actors done)"),
    ("modify_sent", "strategy sends its first modify"),
    ("cancel_sent", "strategy sends the batch cancel"),
    ("submit_sent", "strategy sends the order list"),
    ("strategy_done", "strategy on_order_book_deltas returns"),
    ("data_engine_done", "data engine done with the deltas"),
    ("exec_cancel", "exec engine runs the cancel"),
    ("client_cancel", "exec client cancel starts"),
    ("wire_cancel", "cancel on the wire"),
    ("exec_modify", "exec engine runs a modify"),
    ("client_modify", "exec client starts the batchModify"),
    ("wire_modify", "batchModify on the wire"),
    ("risk", "risk engine runs the order list"),
    ("risk_done", "risk engine done with it"),
    ("exec_enqueued", "order list enqueued for the exec engine"),
    ("exec_submit", "exec engine runs the order list"),
    ("client_submit", "exec client submit starts"),
    ("wire_order", "order on the wire"),
)
# The hops of each reaction, as consecutive probe points.
ORDER_PATH = ("frame", "deltas", "data_engine", "strategy", "submit_sent", "risk", "exec_submit", "client_submit", "wire_order")
CANCEL_PATH = ("frame", "deltas", "data_engine", "strategy", "cancel_sent", "exec_cancel", "client_cancel", "wire_cancel")
MODIFY_PATH = ("frame", "deltas", "data_engine", "strategy", "modify_sent", "exec_modify", "client_modify", "wire_modify")
WIRE_STAGES = ("wire_order", "wire_cancel", "wire_modify")
_CANCELS = (CancelOrder, BatchCancelOrders)
_SUBMITS = (SubmitOrder, SubmitOrderList)


class Probes:
    """Per book frame, when each probe point was first reached (``time.perf_counter_ns``, in the node)."""

    def __init__(self) -> None:
        self.frames: list[dict[str, int]] = []
        self._current: dict[str, int] | None = None

    def on_frame(self) -> None:
        self._current = {"frame": time.perf_counter_ns()}
        self.frames.append(self._current)

    def mark(self, stage: str) -> None:
        current = self._current
        if current is not None and stage not in current:
            current[stage] = time.perf_counter_ns()

    def on_wire(self, body: bytes) -> None:
        """A REST body or a WS post frame; only orders, cancels and modifies count (the dead-man switch refresh is
        not a reaction to the book)."""
        start = body.find(b'"action":{"type":"')
        if start < 0:
            return
        start += len(b'"action":{"type":"')
        if body.startswith(b'order"', start):
            self.mark("wire_order")
        elif body.startswith(b'cancelByCloid"', start):
            self.mark("wire_cancel")
        elif body.startswith(b'batchModify"', start):
            self.mark("wire_modify")

    def since_frame(self, stage: str) -> list[int]:
        return [f[stage] - f["frame"] for f in self.frames if stage in f]

    def first_any(self) -> list[int]:
        return [
            min(f[s] for s in WIRE_STAGES if s in f) - f["frame"] for f in self.frames if any(s in f for s in WIRE_STAGES)
        ]

    def hops(self, path: tuple[str, ...]) -> list[tuple[str, list[int]]]:
        """Each hop of ``path`` over the frames that went all the way along it."""
        complete = [f for f in self.frames if all(stage in f for stage in path)]
        return [(f"{a} -> {b}", [f[b] - f[a] for f in complete]) for a, b in zip(path, path[1:])]


def install_probes(node, probes: Probes) -> None:
    """Wrap the methods each probe point runs in (instance attributes shadow the class's; NautilusTrader's
    Cython ``cpdef`` dispatch and its live engines' Python queue loops both look them up on the instance)."""
    data_client, exec_client = hyperliquid_clients(node)
    on_frame = data_client._on_frame

    def frame_probe(text: str) -> None:
        if text.startswith('{"channel":"l2Book"'):
            probes.on_frame()
        on_frame(text)

    data_client._on_frame = frame_probe
    data_client.ws._handler = frame_probe
    wrap(data_client, "_handle_data", lambda data: probes.mark("deltas") if isinstance(data, OrderBookDeltas) else None)
    engine = node.kernel.data_engine
    handle_data = engine._handle_data

    def data_engine_probe(data, *args) -> None:
        is_book = isinstance(data, OrderBookDeltas)
        if is_book:
            probes.mark("data_engine")
        handle_data(data, *args)
        if is_book:
            probes.mark("data_engine_done")

    engine._handle_data = data_engine_probe
    strategy = node.trader.strategies()[0]
    on_deltas = strategy.on_order_book_deltas

    def strategy_probe(deltas) -> None:
        probes.mark("strategy")
        on_deltas(deltas)
        probes.mark("strategy_done")

    strategy.on_order_book_deltas = strategy_probe
    wrap(strategy, "cancel_orders", lambda *args, **kwargs: probes.mark("cancel_sent"))
    wrap(strategy, "submit_order_list", lambda *args, **kwargs: probes.mark("submit_sent"))
    wrap(strategy, "submit_order", lambda *args, **kwargs: probes.mark("submit_sent"))
    wrap(strategy, "modify_order", lambda *args, **kwargs: probes.mark("modify_sent"))
    risk = node.kernel.risk_engine
    risk_execute = risk._execute_command

    def risk_probe(command) -> None:
        is_submit = isinstance(command, _SUBMITS)  # the modifies before it go this way too
        if is_submit:
            probes.mark("risk")
        risk_execute(command)
        if is_submit:
            probes.mark("risk_done")

    risk._execute_command = risk_probe
    wrap(
        node.kernel.exec_engine._cmd_enqueuer,
        "enqueue",
        lambda command: probes.mark("exec_enqueued") if isinstance(command, _SUBMITS) else None,
    )

    def exec_probe(command) -> None:
        if isinstance(command, _CANCELS):
            probes.mark("exec_cancel")
        elif isinstance(command, _SUBMITS):
            probes.mark("exec_submit")
        elif isinstance(command, ModifyOrder):
            probes.mark("exec_modify")

    wrap(node.kernel.exec_engine, "_execute_command", exec_probe)
    wrap(exec_client, "_submit", lambda orders: probes.mark("client_submit"))
    wrap(exec_client, "_cancel", lambda states: probes.mark("client_cancel"))
    wrap(exec_client, "_modify", lambda commands: probes.mark("client_modify"))
    install_socket_probe(probes)
    poster = exec_client._poster
    if poster is not None:
        post_send = poster._send

        async def post_probe(frame: bytes) -> None:
            probes.on_wire(frame)
            await post_send(frame)

        poster._send = post_probe


def install_socket_probe(probes: Probes) -> None:
    """REST: the moment aiohttp hands the request's bytes to the transport (it builds the request first, which is
    part of the REST path's cost). The node runs on uvloop (NautilusTrader installs its policy), whose transports
    are compiled, so the probe sits in aiohttp's writer, the last Python code before the socket."""
    writer = http_writer.StreamWriter
    write, writelines = writer._write, writer._writelines

    def write_probe(self, chunk) -> None:
        probes.on_wire(bytes(chunk))
        write(self, chunk)

    def writelines_probe(self, chunks) -> None:
        chunks = list(chunks)
        for chunk in chunks:
            probes.on_wire(bytes(chunk))
        writelines(self, chunks)

    writer._write, writer._writelines = write_probe, writelines_probe


def wrap(owner, name: str, before: Callable[..., None]) -> None:
    """``owner.name`` calls ``before`` with its arguments first (async methods too)."""
    method = getattr(owner, name)
    if asyncio.iscoroutinefunction(method):

        async def probe(*args, **kwargs):
            before(*args, **kwargs)
            return await method(*args, **kwargs)

    else:

        def probe(*args, **kwargs):
            before(*args, **kwargs)
            return method(*args, **kwargs)

    setattr(owner, name, probe)


class LoopTrace:
    """Every callback the loop runs while installed: (start ns, end ns, callback), on asyncio's own loop."""

    def __init__(self) -> None:
        self.runs: list[tuple[int, int, object]] = []
        self.transport_names: dict[int, str] = {}  # id(transport) -> which connection
        self._original = asyncio.events.Handle._run

    def install(self) -> None:
        original, runs, now_ns = self._original, self.runs, time.perf_counter_ns

        def timed_run(handle: asyncio.Handle) -> None:
            started = now_ns()
            original(handle)
            runs.append((started, now_ns(), handle._callback))

        asyncio.events.Handle._run = timed_run

    def uninstall(self) -> None:
        asyncio.events.Handle._run = self._original

    def name_connections(self, node, admin_session: aiohttp.ClientSession) -> None:
        """Which connection each socket transport is (done while all of them are still open)."""
        data_client, exec_client = hyperliquid_clients(node)
        for name, ws in (("data WS", data_client.ws._ws), ("exec WS", exec_client.ws._ws)):
            if ws is not None and ws._conn is not None:
                self.transport_names[id(ws._conn.transport)] = name
        sessions = (("exec REST", exec_client._http._session), ("benchmark admin", admin_session))
        for name, session in sessions:
            if session is None or session.connector is None:
                continue
            for connections in session.connector._conns.values():
                for protocol, *_ in connections:
                    self.transport_names[id(protocol.transport)] = name

    def label(self, callback) -> str:
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.Task):
            coro = owner.get_coro()
            return f"task {getattr(coro, '__qualname__', type(coro).__name__)}"
        if isinstance(callback, functools.partial):
            return f"partial {self.label(callback.func)}"
        if owner is not None and hasattr(owner, "get_extra_info"):
            return f"{callback.__qualname__} ({self.transport_names.get(id(owner), 'other socket')})"
        return getattr(callback, "__qualname__", type(callback).__name__)

    def hop_breakdown(self, probes: Probes, a: str, b: str) -> tuple[int, list[tuple[str, float, float]]]:
        """Over the frames that reached both ``a`` and ``b``: how many, and per kind of callback its mean µs inside
        the hop and the share of those frames it ran in; ``(no callback)`` is the loop's own time."""
        windows = sorted((f[a], f[b]) for f in probes.frames if a in f and b in f and f[b] >= f[a])
        if not windows:
            return 0, []
        runs = sorted(self.runs, key=lambda run: run[0])
        starts = [run[0] for run in runs]
        total_us: dict[str, float] = {}
        frames_with: dict[str, int] = {}
        for begin, end in windows:
            seen: set[str] = set()
            busy_ns = 0
            index = max(0, bisect.bisect_right(starts, begin) - 1)
            while index < len(runs) and runs[index][0] < end:
                started, ended, callback = runs[index]
                index += 1
                inside_ns = min(ended, end) - max(started, begin)
                if inside_ns <= 0:
                    continue
                name = self.label(callback)
                total_us[name] = total_us.get(name, 0.0) + inside_ns / 1e3
                busy_ns += inside_ns
                seen.add(name)
            idle = "(no callback)"
            total_us[idle] = total_us.get(idle, 0.0) + (end - begin - busy_ns) / 1e3
            seen.add(idle)
            for name in seen:
                frames_with[name] = frames_with.get(name, 0) + 1
        n = len(windows)
        rows = [(name, us / n, frames_with[name] / n) for name, us in total_us.items()]
        return n, sorted(rows, key=lambda row: -row[1])


def report_loop_trace(trace: LoopTrace, probes: Probes) -> None:
    hops = list(zip(ORDER_PATH, ORDER_PATH[1:])) + [("strategy", "cancel_sent"), ("cancel_sent", "exec_cancel"),
                                                      ("exec_cancel", "client_cancel"), ("client_cancel", "wire_cancel"),
                                                      ("exec_modify", "client_modify"), ("client_modify", "wire_modify")]
    print()
    print(f"what the loop ran inside each hop ({len(trace.runs)} callbacks traced)")
    for a, b in hops:
        n, rows = trace.hop_breakdown(probes, a, b)
        print(f"  {a} -> {b} ({n} frames): mean µs per frame, share of frames")
        for name, mean_us, share in rows[:LOOP_TRACE_ROWS]:
            print(f"    {mean_us:>9.1f} {share:>5.0%}  {name}")


async def measure_tick_to_wire(
    frames: int, log_level: str, transport: str, trace: LoopTrace | None, pin_cpus: bool
) -> Probes:
    os.environ[KEY_ENV] = TEST_ACCOUNT_KEY
    exchange = await ExchangeProcess.start()
    if pin_cpus:
        exchange.pin_apart()
    unlimited = WeightLimiter(per_minute=10**9)
    factories.get_weight_limiter = lambda url: unlimited
    settings = load_venue_config(REPO_ROOT / "configs" / "hyperliquid_btc.json")
    settings = msgspec.structs.replace(settings, live=msgspec.structs.replace(settings.live, log_level=log_level))
    settings = replace_venue_live(settings, private_key_env=KEY_ENV)
    config = node_config(settings, VenueTarget.local(exchange.url))
    config.exec_clients[HYPERLIQUID] = msgspec.structs.replace(
        config.exec_clients[HYPERLIQUID], ws_post=transport == "ws"
    )
    node = build_node(config, loop=asyncio.get_running_loop())
    run_task = asyncio.ensure_future(node.run_async())
    probes = Probes()
    try:
        await wait_until_running(node, 30.0)
        install_probes(node, probes)
        await asyncio.sleep(1.0)  # first quotes out, account refreshed
        if trace is not None:
            trace.install()
        for _ in range(frames):
            await exchange.step()
            await asyncio.sleep(FRAME_GAP_S)
        if trace is not None:
            trace.uninstall()
            trace.name_connections(node, exchange._session)
    finally:
        await node.stop_async()
        await asyncio.wait({run_task}, timeout=10)
        await exchange.stop()
    return probes


class ExchangeProcess:
    """The local exchange (manual clock, funded test account, no IP budget) in a child process."""

    def __init__(self, process: asyncio.subprocess.Process, url: str, session: aiohttp.ClientSession) -> None:
        self._process, self.url, self._session = process, url, session

    @classmethod
    async def start(cls) -> ExchangeProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--exchange-child", stdout=asyncio.subprocess.PIPE
        )
        url = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip()
        return cls(process, url, aiohttp.ClientSession())

    def pin_apart(self) -> None:
        """The exchange on the last CPU, this process's thread on the first (threads it starts inherit that)."""
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) >= 2:
            os.sched_setaffinity(self._process.pid, {cpus[-1]})
            os.sched_setaffinity(0, {cpus[0]})

    async def step(self) -> None:
        async with self._session.post(f"{self.url}/_admin/clock", json={"step": 1}) as response:
            response.raise_for_status()

    async def stop(self) -> None:
        await self._session.close()
        self._process.terminate()
        await self._process.wait()


async def serve_exchange() -> None:
    config = LocalExchangeConfig(manual_clock=True, fund_test_account=True, ip_weight_per_min=None, port=0)
    exchange = LocalExchange(config)
    print(await exchange.start(), flush=True)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    await stopped.wait()
    await exchange.stop()


def measure_signing() -> tuple[list[int], list[int]]:
    signer = credentials.HyperliquidSigner.from_key(TEST_ACCOUNT_KEY)
    endpoints = HyperliquidExchangeEndpoints(client=None, signer=signer, is_mainnet=False)  # signing only
    wire = actions.limit_order_wire(0, True, "42727", "0.005", False, "Alo", actions.cloid_from_client_order_id("O-1"))
    action = actions.order_action([wire])
    nonces = NonceManager()
    sign_ns, body_ns = [], []
    for _ in range(SIGNING_ROUNDS):
        started = time.perf_counter_ns()
        signer.sign_l1_action(action, nonces.next_nonce(), is_mainnet=False)
        sign_ns.append(time.perf_counter_ns() - started)
        started = time.perf_counter_ns()
        endpoints.signed_body(action)
        body_ns.append(time.perf_counter_ns() - started)
    return sign_ns, body_ns


def row(name: str, samples_ns: list[int]) -> str:
    if not samples_ns:
        return f"{name:<56} {'0':>6} {'-':>9} {'-':>9} {'-':>9}"
    ordered = sorted(samples_ns)
    p50 = ordered[len(ordered) // 2] / 1e3
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e3
    mean = statistics.fmean(ordered) / 1e3
    return f"{name:<56} {len(ordered):>6} {p50:>9.1f} {p99:>9.1f} {mean:>9.1f}"


def report(probes: Probes, title: str) -> None:
    print()
    print(title)
    print(f"{'stage':<56} {'n':>6} {'p50 µs':>9} {'p99 µs':>9} {'mean µs':>9}")
    print(row("book frame -> first order/cancel/modify on the wire", probes.first_any()))
    print(row("book frame -> first order request on the wire", probes.since_frame("wire_order")))
    print(row("book frame -> first cancel request on the wire", probes.since_frame("wire_cancel")))
    print(row("book frame -> first modify (batchModify) on the wire", probes.since_frame("wire_modify")))
    if not probes.since_frame("modify_sent"):
        print("  (no modify in this run: the strategy sent none)")
    print("since the frame (every frame that reached the point)")
    for stage, label in STAGES[1:]:
        print(row(f"  {label}", probes.since_frame(stage)))
    for name, path in (("order", ORDER_PATH), ("cancel", CANCEL_PATH), ("modify", MODIFY_PATH)):
        print(f"hops of the first {name} (frames that went the whole way)")
        for hop, samples in probes.hops(path):
            print(row(f"  {hop}", samples))


def quantile_us(samples_ns: list[int], q: float) -> float:
    ordered = sorted(samples_ns)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] / 1e3 if ordered else float("nan")


def goal_line(probes: Probes, stage: str) -> str:
    samples = probes.since_frame(stage)
    if not samples:
        return f"{stage}: no sample (0 frames reached it)"
    p50, p99 = quantile_us(samples, 0.5), quantile_us(samples, 0.99)
    verdict = "met" if p50 <= GOAL_P50_US and p99 <= GOAL_P99_US else "NOT met"
    return f"{stage}: p50 {p50:,.0f} µs, p99 {p99:,.0f} µs (goal p50 <= {GOAL_P50_US} µs, p99 <= {GOAL_P99_US:,} µs: {verdict})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1500, help="book frames to push")
    parser.add_argument("--log-level", default="WARNING", help="node log level (INFO logs every order event)")
    parser.add_argument(
        "--transport", choices=("ws", "rest", "both"), default="both", help="actions as WS posts, by REST, or both runs"
    )
    parser.add_argument("--loop-trace", action="store_true", help="say what the loop ran inside each hop (asyncio loop)")
    parser.add_argument("--pin-cpus", action="store_true", help="node and local exchange on different CPUs")
    parser.add_argument("--exchange-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.exchange_child:
        asyncio.run(serve_exchange())
        return 0
    transports = ("rest", "ws") if args.transport == "both" else (args.transport,)
    traces = {transport: LoopTrace() if args.loop_trace else None for transport in transports}
    if args.loop_trace:
        asyncio.set_event_loop_policy(None)  # asyncio's own loop: NautilusTrader's import installed uvloop's
    runs = {
        transport: asyncio.run(
            measure_tick_to_wire(args.frames, args.log_level, transport, traces[transport], args.pin_cpus)
        )
        for transport in transports
    }
    sign_ns, body_ns = measure_signing()
    for transport, probes in runs.items():
        report(probes, f"tick-to-wire, actions by {transport}, against the local exchange ({args.frames} frames, log level {args.log_level})")
        if traces[transport] is not None:
            report_loop_trace(traces[transport], probes)
    print()
    print(row("signing alone (sign_l1_action, 1 order)", sign_ns))
    print(row("signed body (nonce + sign + JSON)", body_ns))
    print()
    for transport, probes in runs.items():
        for stage in WIRE_STAGES:
            print(f"{transport}: {goal_line(probes, stage)}")
    if len(runs) == 2:
        for stage in WIRE_STAGES:
            rest, ws = runs["rest"].since_frame(stage), runs["ws"].since_frame(stage)
            if not (rest and ws):
                continue
            print(
                f"{stage} rest/ws: p50 {quantile_us(rest, 0.5) / quantile_us(ws, 0.5):.2f}x, "
                f"p99 {quantile_us(rest, 0.99) / quantile_us(ws, 0.99):.2f}x"
            )
        for hop in ("client_submit -> wire_order", "client_cancel -> wire_cancel"):
            rest = dict(runs["rest"].hops(ORDER_PATH) + runs["rest"].hops(CANCEL_PATH))[hop]
            ws = dict(runs["ws"].hops(ORDER_PATH) + runs["ws"].hops(CANCEL_PATH))[hop]
            print(f"{hop} rest/ws: p50 {quantile_us(rest, 0.5) / quantile_us(ws, 0.5):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
