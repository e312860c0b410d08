"""Hyperliquid actions exactly as they are posted and hashed: canonical numbers, addresses, cloids, action builders.

Hyperliquid rejects a signature mismatch only indirectly (the signature recovers to an unknown address: ``User or
API Wallet 0x… does not exist``), so every byte that enters a hash is built here and nowhere else
(hyperliquid_protocol.md §4): the string that is posted is the string that is hashed, and the dict key order of
each builder is the venue's canonical order (msgpack hashes keys in insertion order). ``signing`` hashes and signs
what these builders return; the local exchange parses requests with the same canonical forms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from adapters.hyperliquid.hashing import keccak

# --------------------------------------------------------------------------------------------------------------
# Wire formatting of numbers: the string that is posted is the string that is hashed
# --------------------------------------------------------------------------------------------------------------

WIRE_MAX_DECIMALS = 8


def float_to_wire(x: float) -> str:
    """Format a float the way the official Python SDK does (``float_to_wire``), with ``-0`` mapped to ``0``.

    ``f"{x:.8f}"`` must represent ``x`` to within 1e-12, otherwise the SDK refuses to round silently and so do
    we; trailing zeros and a trailing ``.`` are dropped and there is never an exponent. The SDK itself would
    return ``"-0"`` for ``-0.0``; the Rust SDK and the venue's canonical form give ``"0"``, which is used here.
    """
    if not math.isfinite(x):
        raise ValueError(f"cannot put a non-finite number on the wire: {x!r}")
    rounded = f"{x:.{WIRE_MAX_DECIMALS}f}"
    if abs(float(rounded) - x) >= 1e-12:
        raise ValueError(f"float_to_wire would round {x!r} to {rounded}; round it to the venue's tick first")
    return _strip_fraction_zeros(rounded)


def decimal_to_wire(value: Decimal) -> str:
    """Canonical wire string for a ``Decimal`` price or size: plain notation, no trailing zeros, ``-0`` → ``0``.

    Works on the digits rather than ``Decimal.normalize()`` so no context precision can round the value, and
    ``Decimal("1E+2")`` prints as ``100``. More than 8 decimals cannot be carried and is rejected, as the SDK does.
    """
    if not value.is_finite():
        raise ValueError(f"cannot put a non-finite number on the wire: {value!r}")
    wire = _strip_fraction_zeros(format(value, "f"))
    point = wire.find(".")
    if point >= 0 and len(wire) - point - 1 > WIRE_MAX_DECIMALS:
        raise ValueError(f"{value} has more than {WIRE_MAX_DECIMALS} decimals; round it to the venue's tick first")
    return wire


def float_to_int_for_hashing(x: float) -> int:
    """``x * 1e8`` as an exact integer (Python SDK rule); it raises rather than round by 1e-3 or more."""
    scaled = x * 10**8
    nearest = round(scaled)
    if abs(nearest - scaled) >= 1e-3:
        raise ValueError(f"float_to_int_for_hashing would round {x!r}")
    return nearest


def _strip_fraction_zeros(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _wire_number(value: Decimal | float | int | str) -> str:
    """Route a price or size to its canonical string: floats by the SDK's float rule, everything else exactly."""
    if isinstance(value, float):
        return float_to_wire(value)
    if isinstance(value, bool):
        raise TypeError("a bool is not a price or size")
    if isinstance(value, Decimal):
        return decimal_to_wire(value)
    try:
        return decimal_to_wire(Decimal(str(value)))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


_ALL_HEX_DIGITS = re.compile("[0-9a-fA-F]+").fullmatch  # ASCII ranges only: \d would take any Unicode digit


def is_hex(text: str) -> bool:
    """Plain hex digits only: ``int(text, 16)`` would also accept signs, underscores and spaces. One regex match
    (~0.3 µs for a cloid) rather than a test per character (~4 µs): every order wire and modify checks its cloid."""
    return _ALL_HEX_DIGITS(text) is not None



# --------------------------------------------------------------------------------------------------------------
# Canonical action builders (hyperliquid_protocol.md §3.2-3.7, key orders in §4.3.1)
# --------------------------------------------------------------------------------------------------------------

TIFS = frozenset({"Alo", "Gtc", "Ioc"})
TPSL = frozenset({"tp", "sl"})
GROUPINGS = frozenset({"na", "normalTpsl", "positionTpsl"})


def lower_address(address: str) -> str:
    """Validate a ``0x`` + 40 hex address and lowercase it: the venue parses some address fields to bytes and
    hashes their lowercase form, so anything else risks a signature that recovers to a stranger."""
    well_formed = isinstance(address, str) and len(address) == 42 and address[:2] in ("0x", "0X")
    if not (well_formed and is_hex(address[2:])):
        raise ValueError(f"not a 0x-prefixed 20-byte address: {address!r}")
    return "0x" + address[2:].lower()


def canonical_cloid(cloid: str) -> str:
    """A cloid is a msgpack *string* ``0x`` + 32 lowercase hex chars (protocol §4.3.6)."""
    if not (isinstance(cloid, str) and len(cloid) == 34 and cloid[:2] == "0x" and is_hex(cloid[2:])):
        raise ValueError(f"cloid must be '0x' + 32 hex chars, got {cloid!r}")
    return cloid.lower()


def cloid_from_client_order_id(client_order_id: str) -> str:
    """Deterministic cloid ``0x`` + keccak256(utf8(coid))[:16]: the scheme of NautilusTrader's built-in adapter
    (nautilus_conventions.md §4.4), so the venue's ``cloid`` maps back to our ``ClientOrderId`` after a restart
    without any stored table, and orders placed by either adapter stay recognisable."""
    return "0x" + keccak(client_order_id.encode("utf-8"))[:16].hex()


def limit_order_wire(
    asset: int,
    is_buy: bool,
    price: Decimal | float | int | str,
    size: Decimal | float | int | str,
    reduce_only: bool,
    tif: str,
    cloid: str | None = None,
) -> dict[str, Any]:
    """Order wire ``{a, b, p, s, r, t: {limit: {tif}}, c?}``; ``c`` is omitted (not null) without a cloid."""
    if tif not in TIFS:
        raise ValueError(f"tif must be one of {sorted(TIFS)}, got {tif!r}")
    return _order_wire(asset, is_buy, price, size, reduce_only, {"limit": {"tif": tif}}, cloid)


def trigger_order_wire(
    asset: int,
    is_buy: bool,
    price: Decimal | float | int | str,
    size: Decimal | float | int | str,
    reduce_only: bool,
    trigger_price: Decimal | float | int | str,
    is_market: bool,
    tpsl: str,
    cloid: str | None = None,
) -> dict[str, Any]:
    """Trigger order wire; ``t.trigger`` keys go ``isMarket, triggerPx, tpsl`` (the SDK's wire order, not the
    order of its user-facing TypedDict). ``price`` is still required: it is the limit price after triggering."""
    if tpsl not in TPSL:
        raise ValueError(f"tpsl must be 'tp' or 'sl', got {tpsl!r}")
    order_type = {"trigger": {"isMarket": is_market, "triggerPx": _wire_number(trigger_price), "tpsl": tpsl}}
    return _order_wire(asset, is_buy, price, size, reduce_only, order_type, cloid)


def _order_wire(
    asset: int,
    is_buy: bool,
    price: Decimal | float | int | str,
    size: Decimal | float | int | str,
    reduce_only: bool,
    order_type: dict[str, Any],
    cloid: str | None,
) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "a": asset,
        "b": is_buy,
        "p": _wire_number(price),
        "s": _wire_number(size),
        "r": reduce_only,
        "t": order_type,
    }
    if cloid is not None:
        wire["c"] = canonical_cloid(cloid)
    return wire


def order_action(
    orders: Iterable[dict[str, Any]],
    grouping: str = "na",
    builder: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """``{type: order, orders, grouping, builder?}``; ``builder`` is (address, fee in tenths of a bp)."""
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {sorted(GROUPINGS)}, got {grouping!r}")
    action: dict[str, Any] = {"type": "order", "orders": list(orders), "grouping": grouping}
    if builder is not None:
        address, fee_tenths_bp = builder
        action["builder"] = {"b": lower_address(address), "f": fee_tenths_bp}
    return action


def cancel_action(cancels: Iterable[tuple[int, int]]) -> dict[str, Any]:
    """``{type: cancel, cancels: [{a, o}]}`` from (asset, oid) pairs."""
    return {"type": "cancel", "cancels": [{"a": asset, "o": oid} for asset, oid in cancels]}


def cancel_by_cloid_action(cancels: Iterable[tuple[int, str]]) -> dict[str, Any]:
    """``{type: cancelByCloid, cancels: [{asset, cloid}]}`` from (asset, cloid) pairs; note the spelled-out keys,
    unlike ``cancel``'s ``a``/``o``."""
    return {
        "type": "cancelByCloid",
        "cancels": [{"asset": asset, "cloid": canonical_cloid(cloid)} for asset, cloid in cancels],
    }


def modify_action(oid: int | str, order: dict[str, Any]) -> dict[str, Any]:
    """``{type: modify, oid, order}``; ``oid`` is the venue oid or a cloid string."""
    return {"type": "modify", "oid": _modify_target(oid), "order": order}


def batch_modify_action(modifies: Iterable[tuple[int | str, dict[str, Any]]]) -> dict[str, Any]:
    """``{type: batchModify, modifies: [{oid, order}]}`` from (oid or cloid, order wire) pairs."""
    return {
        "type": "batchModify",
        "modifies": [{"oid": _modify_target(oid), "order": order} for oid, order in modifies],
    }


def _modify_target(oid: int | str) -> int | str:
    return canonical_cloid(oid) if isinstance(oid, str) else oid


def schedule_cancel_action(time_ms: int | None = None) -> dict[str, Any]:
    """Dead man's switch ``{type: scheduleCancel, time?}``. Without ``time`` the key is absent, which clears
    the schedule; ``time: null`` would hash differently."""
    action: dict[str, Any] = {"type": "scheduleCancel"}
    if time_ms is not None:
        action["time"] = time_ms
    return action


def update_leverage_action(asset: int, is_cross: bool, leverage: int) -> dict[str, Any]:
    """``{type: updateLeverage, asset, isCross, leverage}`` (not NautilusTrader's ``a``/``delta`` shape)."""
    return {"type": "updateLeverage", "asset": asset, "isCross": is_cross, "leverage": leverage}


def noop_action() -> dict[str, Any]:
    """``{type: noop}``: signed with a nonce to burn it (invalidates anything else signed with that nonce)."""
    return {"type": "noop"}


def exchange_payload(
    action: dict[str, Any],
    nonce: int,
    signature: dict[str, Any],
    vault_address: str | None = None,
    expires_after: int | None = None,
) -> dict[str, Any]:
    """The ``POST /exchange`` body (protocol §3.1). ``nonce``, ``vault_address`` and ``expires_after`` must be
    the values that were signed; the vault goes out lowercase (its hash form is raw bytes, case-free)."""
    return {
        "action": action,
        "nonce": nonce,
        "signature": signature,
        "vaultAddress": None if vault_address is None else lower_address(vault_address),
        "expiresAfter": expires_after,
    }



# --------------------------------------------------------------------------------------------------------------
# User-signed actions (their EIP-712 types are in ``signing``)
# --------------------------------------------------------------------------------------------------------------

DEFAULT_SIGNATURE_CHAIN_ID = "0x66eee"  # Arbitrum Sepolia, what the official Python SDK uses on both networks


def _transfer_action(
    action_type: str,
    destination: str,
    amount: Decimal | str,
    time_ms: int,
    is_mainnet: bool,
    signature_chain_id: str,
) -> dict[str, Any]:
    """The shared shape of USDC transfers: header, destination, amount, and ``time`` equal to the nonce."""
    return {
        **_user_signed_header(action_type, is_mainnet, signature_chain_id),
        "destination": lower_address(destination),
        "amount": _wire_number(amount),
        "time": time_ms,
    }


def usd_send_action(
    destination: str,
    amount: Decimal | str,
    time_ms: int,
    is_mainnet: bool,
    signature_chain_id: str = DEFAULT_SIGNATURE_CHAIN_ID,
) -> dict[str, Any]:
    """``usdSend`` (perp USDC to another address); ``time_ms`` must equal the request nonce."""
    return _transfer_action("usdSend", destination, amount, time_ms, is_mainnet, signature_chain_id)


def withdraw_action(
    destination: str,
    amount: Decimal | str,
    time_ms: int,
    is_mainnet: bool,
    signature_chain_id: str = DEFAULT_SIGNATURE_CHAIN_ID,
) -> dict[str, Any]:
    """``withdraw3`` (bridge withdrawal, primaryType ``Withdraw``); ``time_ms`` must equal the request nonce."""
    return _transfer_action("withdraw3", destination, amount, time_ms, is_mainnet, signature_chain_id)


def approve_agent_action(
    agent_address: str,
    agent_name: str | None,
    nonce: int,
    is_mainnet: bool,
    signature_chain_id: str = DEFAULT_SIGNATURE_CHAIN_ID,
) -> dict[str, Any]:
    """``approveAgent``; an unnamed agent has no ``agentName`` key (it is signed as "")."""
    action = {
        **_user_signed_header("approveAgent", is_mainnet, signature_chain_id),
        "agentAddress": lower_address(agent_address),
    }
    if agent_name is not None:
        action["agentName"] = agent_name
    action["nonce"] = nonce
    return action


def approve_builder_fee_action(
    builder: str,
    max_fee_rate: str,
    nonce: int,
    is_mainnet: bool,
    signature_chain_id: str = DEFAULT_SIGNATURE_CHAIN_ID,
) -> dict[str, Any]:
    """``approveBuilderFee``; ``max_fee_rate`` is a percent string such as ``"0.001%"``."""
    return {
        **_user_signed_header("approveBuilderFee", is_mainnet, signature_chain_id),
        "maxFeeRate": max_fee_rate,
        "builder": lower_address(builder),
        "nonce": nonce,
    }


def _user_signed_header(action_type: str, is_mainnet: bool, signature_chain_id: str) -> dict[str, Any]:
    return {
        "type": action_type,
        "signatureChainId": signature_chain_id,
        "hyperliquidChain": "Mainnet" if is_mainnet else "Testnet",
    }

