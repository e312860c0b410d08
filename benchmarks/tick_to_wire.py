#!/usr/bin/env python
"""Tick-to-wire latency of the live node against the local exchange, and the signing cost alone, in one run.

    python benchmarks/tick_to_wire.py [--frames 1500] [--log-level WARNING]

The node is the one ``run_live.py`` builds (our clients, the config's ``GLFTMarketMaker``). The local exchange runs
in its own process, as a venue does (in the node's event loop its own request handling, signature recovery and
matching would be counted as the node's latency), with a manual clock: the benchmark steps it one recorded book
frame at a time over its admin endpoint, so every order request can be attributed to the frame that caused it.
Probes (``time.perf_counter_ns``, in the node's process):

- *frame*: the data client receives the ``l2Book`` frame (before decoding);
- *submit*: the execution client starts handling the order (after data engine, strategy, risk and execution
  engine queues);
- *wire*: the signed request is handed to the HTTP connection (signature, JSON body and weight check done).

Only the first request after each frame is a sample (later ones queue behind it). The IP weight budget is
lifted for the run: it is venue policy, and waiting for it would measure the budget, not the code path. The
strategy runs with the config as shipped.
The manual venue clock runs ahead of the wall clock (each frame is ~0.6 s of market), so the venue refuses the
node's dead-man deadline as too early: those warnings are expected here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import msgspec

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from adapters.hyperliquid import actions  # noqa: E402
from adapters.hyperliquid import credentials  # noqa: E402
from adapters.hyperliquid import factories  # noqa: E402
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
FRAME_GAP_S = 0.02
SIGNING_ROUNDS = 3000


class Probes:
    """Timestamps of the three probe points, and the samples they make."""

    def __init__(self) -> None:
        self.frame_ns: int | None = None
        self.submit_ns: int | None = None
        self.first_any: list[int] = []
        self.first_order: list[int] = []
        self.first_cancel: list[int] = []
        self.frame_to_submit: list[int] = []
        self.submit_to_wire: list[int] = []
        self._seen_any = self._seen_order = self._seen_cancel = self._seen_submit = True

    def on_frame(self) -> None:
        self.frame_ns = time.perf_counter_ns()
        self._seen_any = self._seen_order = self._seen_cancel = self._seen_submit = False

    def on_submit(self) -> None:
        now = time.perf_counter_ns()
        self.submit_ns = now
        if not self._seen_submit and self.frame_ns is not None:
            self._seen_submit = True
            self.frame_to_submit.append(now - self.frame_ns)

    def on_wire(self, body: bytes) -> None:
        now = time.perf_counter_ns()
        if self.frame_ns is None:
            return
        is_order = body.startswith(b'{"action":{"type":"order"')
        is_cancel = body.startswith(b'{"action":{"type":"cancelByCloid"')
        if not (is_order or is_cancel):
            return  # the dead-man switch refresh is not a reaction to the book
        if not self._seen_any:
            self._seen_any = True
            self.first_any.append(now - self.frame_ns)
        if is_cancel and not self._seen_cancel:
            self._seen_cancel = True
            self.first_cancel.append(now - self.frame_ns)
        if is_order and not self._seen_order:
            self._seen_order = True
            self.first_order.append(now - self.frame_ns)
            if self.submit_ns is not None and self.submit_ns >= self.frame_ns:
                self.submit_to_wire.append(now - self.submit_ns)


def install_probes(node, probes: Probes) -> None:
    data_client, exec_client = hyperliquid_clients(node)
    on_frame = data_client._on_frame

    def frame_probe(text: str) -> None:
        if text.startswith('{"channel":"l2Book"'):
            probes.on_frame()
        on_frame(text)

    data_client._on_frame = frame_probe
    data_client.ws._handler = frame_probe
    submit = exec_client._submit

    async def submit_probe(orders):
        probes.on_submit()
        await submit(orders)

    exec_client._submit = submit_probe
    http = exec_client._http
    send = http._send

    async def wire_probe(path: str, body: bytes) -> bytes:
        if path == "/exchange":
            probes.on_wire(body)
        return await send(path, body)

    http._send = wire_probe


async def measure_tick_to_wire(frames: int, log_level: str) -> Probes:
    os.environ[KEY_ENV] = TEST_ACCOUNT_KEY
    exchange = await ExchangeProcess.start()
    unlimited = WeightLimiter(per_minute=10**9)
    factories.get_weight_limiter = lambda url: unlimited
    settings = load_venue_config(REPO_ROOT / "configs" / "hyperliquid_btc.json")
    settings = msgspec.structs.replace(settings, live=msgspec.structs.replace(settings.live, log_level=log_level))
    settings = replace_venue_live(settings, private_key_env=KEY_ENV)
    node = build_node(node_config(settings, VenueTarget.local(exchange.url)), loop=asyncio.get_running_loop())
    run_task = asyncio.ensure_future(node.run_async())
    probes = Probes()
    try:
        await wait_until_running(node, 30.0)
        install_probes(node, probes)
        await asyncio.sleep(1.0)  # first quotes out, account refreshed
        for _ in range(frames):
            await exchange.step()
            await asyncio.sleep(FRAME_GAP_S)
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
        return f"{name:<44} {'0':>6} {'-':>9} {'-':>9} {'-':>9}"
    ordered = sorted(samples_ns)
    p50 = ordered[len(ordered) // 2] / 1e3
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e3
    mean = statistics.fmean(ordered) / 1e3
    return f"{name:<44} {len(ordered):>6} {p50:>9.1f} {p99:>9.1f} {mean:>9.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1500, help="book frames to push")
    parser.add_argument("--log-level", default="WARNING", help="node log level (INFO logs every order event)")
    parser.add_argument("--exchange-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.exchange_child:
        asyncio.run(serve_exchange())
        return 0
    probes = asyncio.run(measure_tick_to_wire(args.frames, args.log_level))
    sign_ns, body_ns = measure_signing()
    print()
    print(f"tick-to-wire against the local exchange ({args.frames} frames, log level {args.log_level})")
    print(f"{'stage':<44} {'n':>6} {'p50 µs':>9} {'p99 µs':>9} {'mean µs':>9}")
    print(row("book frame -> first order/cancel on the wire", probes.first_any))
    print(row("book frame -> first order request on the wire", probes.first_order))
    print(row("book frame -> first cancel request on the wire", probes.first_cancel))
    print(row("  book frame -> exec client submit", probes.frame_to_submit))
    print(row("  exec client submit -> order on the wire", probes.submit_to_wire))
    print(row("signing alone (sign_l1_action, 1 order)", sign_ns))
    print(row("signed body (nonce + sign + JSON)", body_ns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
