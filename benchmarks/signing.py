#!/usr/bin/env python
"""Cost of signing and verifying Hyperliquid actions: our fast path vs the plain eth-account path.

Every quote update signs one L1 action (a batch of orders or cancels) and the local exchange recovers the signer
of every request, so both sit on the hot path. Three ways to sign an order action are timed, all starting from
the action dict (msgpack + keccak are included everywhere):

- fast: ``HyperliquidSigner.sign_l1_action``: EIP-712 digest hashed directly, libsecp256k1 via coincurve;
- eth-account, prehashed: the same digest signed by eth-account's ``unsafe_sign_hash`` (eth-keys backend);
- eth-account, plain: what the official Python SDK does: ``msgpack.packb``, ``encode_typed_data`` of the
  phantom agent, ``LocalAccount.sign_message``.

The floor is a bare coincurve sign of a keccak (the same C keccak, ``hashing.py``) of the same bytes (the msgpack +
nonce + vault bytes the action hash covers): one hash and one signature, against our three hashes (action, phantom
agent, EIP-712 digest) and one signature. Goal (issue 13): the fast path ≤ 2× that floor, measured in the same run.

Prints the median over several rounds, in µs per call. No assertions: numbers depend on the machine.

    python benchmarks/signing.py [--rounds 7] [--calls 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import coincurve  # noqa: E402
import eth_keys  # noqa: E402
import msgpack  # noqa: E402
from eth_account import Account  # noqa: E402
from eth_account.messages import encode_typed_data  # noqa: E402

from adapters.hyperliquid.actions import cloid_from_client_order_id  # noqa: E402
from adapters.hyperliquid.actions import limit_order_wire  # noqa: E402
from adapters.hyperliquid.actions import order_action  # noqa: E402
from adapters.hyperliquid.actions import usd_send_action  # noqa: E402
from adapters.hyperliquid.credentials import HyperliquidSigner  # noqa: E402
from adapters.hyperliquid.hashing import keccak  # noqa: E402
from adapters.hyperliquid.signing import USER_SIGNED_TYPES  # noqa: E402
from adapters.hyperliquid.signing import action_hash  # noqa: E402
from adapters.hyperliquid.signing import action_msgpack  # noqa: E402
from adapters.hyperliquid.signing import l1_signing_digest  # noqa: E402
from adapters.hyperliquid.signing import l1_typed_data  # noqa: E402
from adapters.hyperliquid.signing import recover_l1_signer  # noqa: E402
from adapters.hyperliquid.signing import recover_user_signed_signer  # noqa: E402

BENCH_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"  # throwaway, never funded
NONCE = 1_716_531_066_415


def order_batch(n_orders: int) -> dict:
    """A realistic ALO ladder on BTC: alternating sides, 5-significant-figure prices, cloids."""
    orders = [
        limit_order_wire(
            0,
            i % 2 == 0,
            Decimal(105_000 + (-1) ** i * (10 + 5 * i)),
            Decimal("0.00123"),
            False,
            "Alo",
            cloid_from_client_order_id(f"O-20260101-000000-001-001-{i}"),
        )
        for i in range(n_orders)
    ]
    return order_action(orders)


def time_us(fn: Callable[[], object], rounds: int, calls: int) -> float:
    """Median over ``rounds`` of the mean µs per call of ``calls`` back-to-back calls."""
    fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter_ns() - start) / calls / 1_000)
    return statistics.median(samples)


def plain_eth_account_sign(account, action: dict) -> object:
    """The official SDK's sequence (``sign_l1_action`` in hyperliquid/utils/signing.py)."""
    connection_id = keccak(msgpack.packb(action) + NONCE.to_bytes(8, "big") + b"\x00")
    return account.sign_message(encode_typed_data(full_message=l1_typed_data(connection_id, True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args(argv)

    signer = HyperliquidSigner.from_key(BENCH_KEY)
    account = Account.from_key(BENCH_KEY)
    bare_key = coincurve.PrivateKey(bytes.fromhex(BENCH_KEY[2:]))
    rows: list[tuple[str, str, float]] = []

    def measure(operation: str, method: str, fn: Callable[[], object], calls: int = args.calls) -> None:
        rows.append((operation, method, time_us(fn, args.rounds, calls)))

    for n_orders in (1, 10):
        action = order_batch(n_orders)
        label = f"sign order action, {n_orders} order{'s' if n_orders > 1 else ''}"
        measure(label, "fast (coincurve)", lambda a=action: signer.sign_l1_action(a, NONCE))
        hashed = action_msgpack(action) + NONCE.to_bytes(8, "big") + b"\x00"
        measure(label, "floor: keccak + sign, bare", lambda b=hashed: bare_key.sign_recoverable(keccak(b), hasher=None))
        measure(
            label,
            "eth-account, prehashed",
            lambda a=action: account.unsafe_sign_hash(l1_signing_digest(action_hash(a, NONCE), True)),
        )
        measure(label, "eth-account, plain (SDK)", lambda a=action: plain_eth_account_sign(account, a))

    action = order_batch(10)
    signature = signer.sign_l1_action(action, NONCE)
    signable = encode_typed_data(full_message=l1_typed_data(action_hash(action, NONCE), True))
    vrs = (signature["v"], int(signature["r"], 16), int(signature["s"], 16))
    recover = "recover L1 signer, 10 orders"
    measure(recover, "fast (coincurve)", lambda: recover_l1_signer(action, NONCE, None, None, signature, True))
    measure(recover, "eth-account, plain", lambda: Account.recover_message(signable, vrs=vrs))

    send = usd_send_action("0x" + "12" * 20, Decimal("25"), NONCE, True)
    primary_type, types = USER_SIGNED_TYPES["usdSend"]
    send_signature = signer.sign_user_signed_action(send, primary_type, types)
    user_calls = max(args.calls // 4, 1)
    measure(
        "sign usdSend (user-signed)",
        "eth-account encoder",
        lambda: signer.sign_user_signed_action(send, primary_type, types),
        user_calls,
    )
    measure(
        "recover usdSend signer",
        "eth-account encoder",
        lambda: recover_user_signed_signer(send, send_signature, primary_type, types),
        user_calls,
    )

    print(f"eth-keys backend: {type(eth_keys.backends.get_backend()).__name__}")
    print(f"median of {args.rounds} rounds, µs per call; 'relative' is against the first method of each operation\n")
    width = max(len(operation) for operation, _, _ in rows)
    print(f"{'operation':<{width}}  {'method':<26}  {'µs/call':>9}  {'relative':>8}")
    fastest: dict[str, float] = {}
    for operation, method, micros in rows:
        fastest.setdefault(operation, micros)
        print(f"{operation:<{width}}  {method:<26}  {micros:>9.1f}  {micros / fastest[operation]:>7.1f}x")
    timed = {(operation, method): micros for operation, method, micros in rows}
    for n_orders in (1, 10):
        label = f"sign order action, {n_orders} order{'s' if n_orders > 1 else ''}"
        ratio = timed[(label, "fast (coincurve)")] / timed[(label, "floor: keccak + sign, bare")]
        print(f"goal: {label}: fast / floor {ratio:.2f} (<= 2: {'met' if ratio <= 2 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
