"""How many signed ALO orders per second the local exchange sustains on this machine.

The exchange runs as its own process (the standalone command, loopback only, IP limit off) so the client's
work does not share its event loop; every payload is signed before the clock starts, so the figures are the
exchange's: HTTP parsing, signature recovery, nonce and budget checks, validation, matching, the response.
Four runs: single orders and batches of 10, over ``POST /exchange`` and over WS ``post``, each with a fixed
number of requests in flight. Orders rest far below the touch and are cancelled between runs (not timed).

    .venv/bin/python benchmarks/local_exchange_orders.py [--orders 1000] [--in-flight 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import aiohttp

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from adapters.hyperliquid import actions  # noqa: E402
from adapters.hyperliquid import credentials  # noqa: E402
from adapters.hyperliquid.nonces import NonceManager  # noqa: E402

BTC = 0
MAX_SECONDS_PER_RUN = 30.0
KEY = "0x" + "be" * 32  # throwaway benchmark key, funded only on the local exchange it starts


async def start_server() -> tuple[subprocess.Popen, str]:
    signer = credentials.HyperliquidSigner.from_key(KEY)
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.hyperliquid.local_exchange", "--port", "0", "--no-ip-limit",
         "--log-level", "WARNING", "--account", f"{signer.address}=10000000"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = await asyncio.to_thread(process.stdout.readline)
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        raise RuntimeError(f"local exchange did not start: {url!r}")
    return process, url.strip()


def signed_batches(signer: credentials.HyperliquidSigner, nonces: NonceManager, px: Decimal, n_requests: int,
                   batch: int) -> list[dict]:
    payloads = []
    for i in range(n_requests):
        orders = [
            actions.limit_order_wire(BTC, True, px - (i * batch + j) % 200, "0.001", False, "Alo") for j in range(batch)
        ]
        action = actions.order_action(orders)
        nonce = nonces.next_nonce()
        payloads.append(actions.exchange_payload(action, nonce, signer.sign_l1_action(action, nonce, is_mainnet=False)))
    return payloads


def check(answer: dict) -> None:
    assert answer["status"] == "ok" and "resting" in answer["response"]["data"]["statuses"][0], answer


async def run_http(session: aiohttp.ClientSession, url: str, payloads: list[dict], in_flight: int) -> list[float]:
    bodies = [json.dumps(payload).encode() for payload in reversed(payloads)]
    latencies: list[float] = []
    deadline = time.monotonic() + MAX_SECONDS_PER_RUN

    async def worker() -> None:
        while bodies and time.monotonic() < deadline:
            body = bodies.pop()
            started = time.perf_counter()
            async with session.post(url + "/exchange", data=body, headers={"Content-Type": "application/json"}) as r:
                check(await r.json())
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return latencies


async def run_ws(session: aiohttp.ClientSession, url: str, payloads: list[dict], in_flight: int) -> list[float]:
    """One coroutine keeps ``in_flight`` posts outstanding and reads answers until all sent ones are back."""
    frames = [
        json.dumps({"method": "post", "id": i, "request": {"type": "action", "payload": p}})
        for i, p in enumerate(payloads)
    ]
    sent_at: list[float] = []
    latencies: list[float] = []
    deadline = time.monotonic() + MAX_SECONDS_PER_RUN
    async with session.ws_connect(url.replace("http", "ws") + "/ws") as ws:
        while True:
            while (
                len(sent_at) < len(frames)
                and len(sent_at) - len(latencies) < in_flight
                and time.monotonic() < deadline
            ):
                sent_at.append(time.perf_counter())
                await ws.send_str(frames[len(sent_at) - 1])
            if len(latencies) == len(sent_at):
                return latencies
            message = json.loads((await ws.receive(timeout=10)).data)
            if message["channel"] == "post":
                latencies.append(time.perf_counter() - sent_at[message["data"]["id"]])
                check(message["data"]["response"]["payload"])


async def post_action(session: aiohttp.ClientSession, url: str, signer, nonces, action: dict) -> dict:
    nonce = nonces.next_nonce()
    payload = actions.exchange_payload(action, nonce, signer.sign_l1_action(action, nonce, is_mainnet=False))
    async with session.post(url + "/exchange", json=payload) as r:
        answer = await r.json()
    assert answer["status"] == "ok", answer
    return answer


async def earn_request_budget(session: aiohttp.ClientSession, url: str, signer, nonces, best_bid: Decimal) -> None:
    """The venue's own way to more requests: 1 per USDC traded. Buy and sell 1 BTC as taker (~85k USDC)."""
    for is_buy, px in ((True, best_bid + 200), (False, best_bid - 200)):
        order = actions.limit_order_wire(BTC, is_buy, px, "1", not is_buy, "Ioc")
        await post_action(session, url, signer, nonces, actions.order_action([order]))


async def cancel_all(session: aiohttp.ClientSession, url: str, signer, nonces) -> None:
    async with session.post(url + "/info", json={"type": "openOrders", "user": signer.address}) as r:
        oids = [o["oid"] for o in await r.json()]
    for start in range(0, len(oids), 40):
        cancels = actions.cancel_action([(BTC, oid) for oid in oids[start : start + 40]])
        await post_action(session, url, signer, nonces, cancels)


async def main(n_orders: int, in_flight: int) -> None:
    signer = credentials.HyperliquidSigner.from_key(KEY)
    nonces = NonceManager()
    process, url = await start_server()
    rows = []
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(url + "/info", json={"type": "l2Book", "coin": "BTC"}) as r:
                best_bid = Decimal((await r.json())["levels"][0][0]["px"])
            await earn_request_budget(session, url, signer, nonces, best_bid)
            far = best_bid - 300  # never crossed in the hour, so every order rests
            for transport, runner in (("HTTP /exchange", run_http), ("WS post", run_ws)):
                for batch in (1, 10):
                    payloads = signed_batches(signer, nonces, far, n_orders // batch, batch)
                    started = time.perf_counter()
                    latencies = await runner(session, url, payloads, in_flight)
                    elapsed = time.perf_counter() - started
                    rows.append((transport, batch, len(latencies), elapsed, latencies))
                    await cancel_all(session, url, signer, nonces)
    finally:
        process.terminate()
        process.wait(timeout=10)

    print(f"local exchange, signed ALO orders, {in_flight} requests in flight, loopback, {n_orders} orders per run")
    header = ("transport", "batch", "requests", "seconds", "req/s", "orders/s", "p50 ms", "p99 ms")
    print(f"{header[0]:<16}" + "".join(f"{h:>{w}}" for h, w in zip(header[1:], (6, 10, 9, 9, 10, 8, 8))))
    for transport, batch, n, elapsed, latencies in rows:
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        print(
            f"{transport:<16}{batch:>6}{n:>10}{elapsed:>9.2f}{n / elapsed:>9.0f}{n * batch / elapsed:>10.0f}"
            f"{statistics.median(latencies) * 1e3:>8.2f}{p99 * 1e3:>8.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=4000, help="orders per run (bounded; 4 runs)")
    parser.add_argument("--in-flight", type=int, default=16, help="concurrent requests (≤ 100, the venue's post cap)")
    args = parser.parse_args()
    asyncio.run(main(min(args.orders, 5000), min(args.in_flight, 100)))
