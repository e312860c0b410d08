"""Hyperliquid request signing: canonical action builders, both signature schemes, signer recovery, keys, nonces.

Hyperliquid has two signature schemes and the venue rejects a mismatch only indirectly (the signature recovers
to an unknown address: ``User or API Wallet 0x… does not exist``), so every byte that enters a hash is built
here and nowhere else (hyperliquid_protocol.md §4):

- **L1 actions** (order, cancel, modify, scheduleCancel, updateLeverage, noop, …): the action is msgpack-encoded
  with the venue's canonical key order, followed by the nonce, the vault block and an optional ``expiresAfter``
  block. Its keccak256 is the ``connectionId`` of a *phantom agent* ``Agent{source, connectionId}`` that is
  EIP-712-signed in the fixed ``Exchange`` domain (chainId 1337). ``source`` is ``"a"`` on mainnet and ``"b"``
  elsewhere (testnet and our local exchange, unless configured otherwise).
- **User-signed actions** (usdSend, withdraw3, approveAgent, approveBuilderFee): the action itself is the
  EIP-712 message in the ``HyperliquidSignTransaction`` domain whose chainId is ``signatureChainId``.

The L1 path is on the quoting hot path, so it hashes the EIP-712 structure directly (domain separator and type
hashes precomputed) and signs with libsecp256k1 through coincurve; it is checked against eth-account's
``encode_typed_data`` in the tests and is several times faster (``benchmarks/signing.py``). User-signed actions
are rare, so they go through eth-account's generic encoder.

The private key lives only inside :class:`HyperliquidSigner` as a coincurve key object; it is never formatted
into a repr, message or exception and the signer refuses to be pickled or copied.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from decimal import Decimal
from decimal import InvalidOperation
from pathlib import Path
from typing import Any

import coincurve
import msgspec
from eth_abi.exceptions import EncodingError
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak

# --------------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------------


class PrivateKeyError(ValueError):
    """A private key could not be loaded. The message names the source (variable or file), never the value."""


class InvalidSignatureError(ValueError):
    """A signature (or the action it covers) is malformed, so no signer can be recovered from it."""


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


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _is_hex(text: str) -> bool:
    """Plain hex digits only: ``int(text, 16)`` would also accept signs, underscores and spaces."""
    return bool(text) and all(c in _HEX_DIGITS for c in text)


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
    if not (well_formed and _is_hex(address[2:])):
        raise ValueError(f"not a 0x-prefixed 20-byte address: {address!r}")
    return "0x" + address[2:].lower()


def canonical_cloid(cloid: str) -> str:
    """A cloid is a msgpack *string* ``0x`` + 32 lowercase hex chars (protocol §4.3.6)."""
    if not (isinstance(cloid, str) and len(cloid) == 34 and cloid[:2] == "0x" and _is_hex(cloid[2:])):
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
# L1 actions: action hash → phantom agent → EIP-712 digest
# --------------------------------------------------------------------------------------------------------------

# msgspec produces the same shortest-form msgpack as ``msgpack.packb`` (checked on every vector) about 3x faster.
_MSGPACK = msgspec.msgpack.Encoder()
_U64_LIMIT = 1 << 64

EIP712_DOMAIN_FIELDS = (
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
)
AGENT_FIELDS = (
    {"name": "source", "type": "string"},
    {"name": "connectionId", "type": "bytes32"},
)
EXCHANGE_DOMAIN = {
    "name": "Exchange",
    "version": "1",
    "chainId": 1337,
    "verifyingContract": "0x0000000000000000000000000000000000000000",
}

_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_AGENT_TYPEHASH = keccak(b"Agent(string source,bytes32 connectionId)")
EXCHANGE_DOMAIN_SEPARATOR = keccak(
    _DOMAIN_TYPEHASH + keccak(b"Exchange") + keccak(b"1") + (1337).to_bytes(32, "big") + bytes(32)
)
_AGENT_PREFIX = {
    True: _AGENT_TYPEHASH + keccak(b"a"),
    False: _AGENT_TYPEHASH + keccak(b"b"),
}
_EIP712_PREFIX = b"\x19\x01" + EXCHANGE_DOMAIN_SEPARATOR


def action_msgpack(action: Mapping[str, Any]) -> bytes:
    """Shortest-form msgpack in the dict's own key order. Key order is part of the hash, so build actions
    with the builders above (insertion order = venue order) and never sort them."""
    return _MSGPACK.encode(action)


def action_hash(
    action: Mapping[str, Any],
    nonce: int,
    vault_address: str | None = None,
    expires_after: int | None = None,
) -> bytes:
    """The phantom agent's ``connectionId``: keccak256(msgpack(action) ‖ nonce u64 BE ‖ vault block ‖ expiry
    block), with vault block ``00`` or ``01`` + 20 raw address bytes and expiry block ``00`` + u64 BE or absent."""
    data = action_msgpack(action) + _u64(nonce, "nonce")
    data += b"\x00" if vault_address is None else b"\x01" + _address_bytes(vault_address)
    if expires_after is not None:
        data += b"\x00" + _u64(expires_after, "expires_after")
    return keccak(data)


def phantom_agent_hash(connection_id: bytes, is_mainnet: bool) -> bytes:
    """EIP-712 struct hash of ``Agent{source, connectionId}``; ``source`` is 'a' on mainnet, 'b' otherwise."""
    return keccak(_AGENT_PREFIX[bool(is_mainnet)] + _bytes32(connection_id))


def l1_signing_digest(connection_id: bytes, is_mainnet: bool) -> bytes:
    """The 32-byte EIP-712 digest that is actually signed for an L1 action."""
    return keccak(_EIP712_PREFIX + phantom_agent_hash(connection_id, is_mainnet))


def l1_typed_data(connection_id: bytes, is_mainnet: bool) -> dict[str, Any]:
    """The phantom agent as an EIP-712 ``full_message`` for eth-account: the reference form the fast digest is
    tested against, and what a wallet-based signer would be given."""
    return {
        "types": {"EIP712Domain": list(EIP712_DOMAIN_FIELDS), "Agent": list(AGENT_FIELDS)},
        "primaryType": "Agent",
        "domain": EXCHANGE_DOMAIN,
        "message": {"source": "a" if is_mainnet else "b", "connectionId": _bytes32(connection_id)},
    }


def _u64(value: int, name: str) -> bytes:
    if type(value) is not int or not 0 <= value < _U64_LIMIT:
        raise ValueError(f"{name} must be an unsigned 64-bit int, got {value!r}")
    return value.to_bytes(8, "big")


def _address_bytes(address: str) -> bytes:
    return bytes.fromhex(lower_address(address)[2:])


def _bytes32(value: bytes) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValueError("connection id must be 32 bytes")
    return value


# --------------------------------------------------------------------------------------------------------------
# User-signed actions: the action is the EIP-712 message
# --------------------------------------------------------------------------------------------------------------

DEFAULT_SIGNATURE_CHAIN_ID = "0x66eee"  # Arbitrum Sepolia, what the official Python SDK uses on both networks

USD_SEND_TYPES = (
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "destination", "type": "string"},
    {"name": "amount", "type": "string"},
    {"name": "time", "type": "uint64"},
)
WITHDRAW_TYPES = USD_SEND_TYPES
APPROVE_AGENT_TYPES = (
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
)
APPROVE_BUILDER_FEE_TYPES = (
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "maxFeeRate", "type": "string"},
    {"name": "builder", "type": "address"},
    {"name": "nonce", "type": "uint64"},
)
# action["type"] → (EIP-712 primaryType, its fields): what the exchange side needs to verify a posted action.
USER_SIGNED_TYPES: dict[str, tuple[str, tuple[dict[str, str], ...]]] = {
    "usdSend": ("HyperliquidTransaction:UsdSend", USD_SEND_TYPES),
    "withdraw3": ("HyperliquidTransaction:Withdraw", WITHDRAW_TYPES),
    "approveAgent": ("HyperliquidTransaction:ApproveAgent", APPROVE_AGENT_TYPES),
    "approveBuilderFee": ("HyperliquidTransaction:ApproveBuilderFee", APPROVE_BUILDER_FEE_TYPES),
}
# The SDK signs an unnamed agent with agentName "" and then drops the key from the posted action.
_USER_SIGNED_DEFAULTS = {"agentName": ""}


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


def user_signed_digest(
    action: Mapping[str, Any],
    primary_type: str,
    types: Iterable[Mapping[str, str]],
) -> bytes:
    """EIP-712 digest of a user-signed action. Only the fields listed in ``types`` are signed; the domain's
    chainId is ``int(action["signatureChainId"], 16)``. ``hyperliquidChain`` inside the message is what stops
    a testnet signature from being replayed on mainnet."""
    fields = [dict(field) for field in types]
    try:
        chain_id = int(action["signatureChainId"], 16)
        message = {field["name"]: _user_signed_field(action, field["name"]) for field in fields}
        signable = encode_typed_data(
            full_message={
                "types": {"EIP712Domain": list(EIP712_DOMAIN_FIELDS), primary_type: fields},
                "primaryType": primary_type,
                "domain": {
                    "name": "HyperliquidSignTransaction",
                    "version": "1",
                    "chainId": chain_id,
                    "verifyingContract": "0x0000000000000000000000000000000000000000",
                },
                "message": message,
            }
        )
    except (KeyError, TypeError, ValueError, EncodingError) as error:
        raise ValueError(f"user-signed action does not fit {primary_type}: {error}") from None
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def _user_signed_field(action: Mapping[str, Any], name: str) -> Any:
    if name in action:
        return action[name]
    if name in _USER_SIGNED_DEFAULTS:
        return _USER_SIGNED_DEFAULTS[name]
    raise KeyError(f"missing field {name!r}")


# --------------------------------------------------------------------------------------------------------------
# Signatures and recovery
# --------------------------------------------------------------------------------------------------------------

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def signature_to_venue(signature65: bytes) -> dict[str, Any]:
    """coincurve's ``r ‖ s ‖ recid`` as the venue's ``{r, s, v}`` (32-byte padded hex, v = 27 + recid)."""
    return {"r": "0x" + signature65[:32].hex(), "s": "0x" + signature65[32:64].hex(), "v": 27 + signature65[64]}


def recover_l1_signer(
    action: Mapping[str, Any],
    nonce: int,
    vault_address: str | None,
    expires_after: int | None,
    signature: Mapping[str, Any],
    is_mainnet: bool,
) -> str:
    """Lowercase address whose key produced ``signature`` over this L1 action. A different action, nonce,
    vault, expiry or network does not fail: it recovers to another address, exactly as on the venue."""
    try:
        connection_id = action_hash(action, nonce, vault_address, expires_after)
    except (TypeError, ValueError, msgspec.EncodeError) as error:
        raise InvalidSignatureError(f"cannot hash the action: {error}") from None
    return _recover(l1_signing_digest(connection_id, is_mainnet), signature)


def recover_user_signed_signer(
    action: Mapping[str, Any],
    signature: Mapping[str, Any],
    primary_type: str,
    types: Iterable[Mapping[str, str]],
) -> str:
    """Lowercase address whose key produced ``signature`` over this user-signed action."""
    try:
        digest = user_signed_digest(action, primary_type, types)
    except (TypeError, ValueError) as error:
        raise InvalidSignatureError(f"cannot hash the action: {error}") from None
    return _recover(digest, signature)


def _recover(digest: bytes, signature: Mapping[str, Any]) -> str:
    signature65 = _signature_bytes(signature)
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(signature65, digest, hasher=None)
    except Exception:  # libsecp256k1 rejects points off the curve with assorted exception types
        raise InvalidSignatureError("signature does not correspond to any public key") from None
    return _address_of(public_key)


def _signature_bytes(signature: Mapping[str, Any]) -> bytes:
    """Parse the venue's ``{r, s, v}`` (r/s hex with or without zero padding, v 27|28) to ``r ‖ s ‖ recid``."""
    try:
        r = int(signature["r"], 16)
        s = int(signature["s"], 16)
        v = signature["v"]
    except (KeyError, TypeError, ValueError):
        raise InvalidSignatureError("signature must be {r: hex, s: hex, v: 27|28}") from None
    if type(v) is not int or v not in (27, 28):
        raise InvalidSignatureError(f"signature v must be 27 or 28, got {v!r}")
    if not (0 < r < _SECP256K1_N and 0 < s < _SECP256K1_N):
        raise InvalidSignatureError("signature r/s out of range")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((v - 27,))


def _address_of(public_key: coincurve.PublicKey) -> str:
    return "0x" + keccak(public_key.format(compressed=False)[1:])[-20:].hex()


# --------------------------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------------------------

_CONSTRUCT = object()


class HyperliquidSigner:
    """Holds one private key and signs with it; build it with :meth:`from_env`, :meth:`from_file` or
    :meth:`from_key`.

    The key is kept only as a coincurve key object. ``repr``/``str`` show the address, errors name the source
    and never the value, and pickling or copying is refused so the key cannot leak into a cache, a pickled
    config or a multiprocessing queue.
    """

    __slots__ = ("_key", "_address")

    def __init__(self, key: coincurve.PrivateKey, _token: object = None) -> None:
        if _token is not _CONSTRUCT:
            raise TypeError("build a HyperliquidSigner with from_env(), from_file() or from_key()")
        self._key = key
        self._address = _address_of(key.public_key)

    @classmethod
    def from_env(cls, var: str = "HYPERLIQUID_PK") -> HyperliquidSigner:
        """Load ``0x`` + 64 hex (the ``0x`` is optional) from the environment variable ``var``."""
        if not os.environ.get(var, "").strip():
            raise PrivateKeyError(f"environment variable {var} is not set or empty; it must hold the private key")
        return cls._from_parsed(_parse_private_key(os.environ[var]), f"environment variable {var}")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> HyperliquidSigner:
        """Load the key from a file holding only ``0x`` + 64 hex (surrounding whitespace allowed)."""
        source = f"private key file {os.fspath(path)}"
        try:
            key = _parse_private_key(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise PrivateKeyError(f"cannot read {source}: {reason}") from None
        return cls._from_parsed(key, source)

    @classmethod
    def from_key(cls, private_key: str) -> HyperliquidSigner:
        """From an explicit hex key: for tests and tooling; a live process should use env or file."""
        key = _parse_private_key(private_key)
        del private_key  # a traceback that captures locals must not find it in this frame
        return cls._from_parsed(key, "the given private key")

    @classmethod
    def _from_parsed(cls, key: coincurve.PrivateKey | None, source: str) -> HyperliquidSigner:
        if key is None:
            raise PrivateKeyError(f"{source} is not a valid secp256k1 private key (expected 0x + 64 hex chars)")
        return cls(key, _CONSTRUCT)

    @property
    def address(self) -> str:
        """Lowercase ``0x`` address of the key: the master account, or the agent (API wallet) address."""
        return self._address

    def sign_l1_action(
        self,
        action: Mapping[str, Any],
        nonce: int,
        vault_address: str | None = None,
        expires_after: int | None = None,
        is_mainnet: bool = True,
    ) -> dict[str, Any]:
        """Sign an L1 action; post the same action, nonce, vault and expiry (``exchange_payload``)."""
        return self.sign_phantom_agent(action_hash(action, nonce, vault_address, expires_after), is_mainnet)

    def sign_phantom_agent(self, connection_id: bytes, is_mainnet: bool) -> dict[str, Any]:
        """Sign ``Agent{source, connectionId}`` in the Exchange domain. Only this structure can be signed:
        the signer never signs an arbitrary digest, so it cannot be made to sign a chain transaction."""
        return self._sign_digest(l1_signing_digest(connection_id, is_mainnet))

    def sign_user_signed_action(
        self,
        action: Mapping[str, Any],
        primary_type: str,
        types: Iterable[Mapping[str, str]],
    ) -> dict[str, Any]:
        """Sign a user-signed action (see ``USER_SIGNED_TYPES``). These must be signed by the account itself,
        not by an agent wallet."""
        return self._sign_digest(user_signed_digest(action, primary_type, types))

    def _sign_digest(self, digest: bytes) -> dict[str, Any]:
        # RFC 6979 nonce and low-s, as eth-account: signatures are bit-identical to the SDKs' vectors.
        return signature_to_venue(self._key.sign_recoverable(digest, hasher=None))

    def __repr__(self) -> str:
        return f"HyperliquidSigner(address={self._address})"

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError("HyperliquidSigner holds a private key and cannot be pickled or copied")


def _parse_private_key(text: str) -> coincurve.PrivateKey | None:
    """Parse ``0x`` + 64 hex, or return None. It never raises, so its frame (which holds the text) never ends
    up in a traceback; callers raise only once no frame of theirs holds the value either."""
    digits = text.strip()
    if digits[:2] in ("0x", "0X"):
        digits = digits[2:]
    if len(digits) != 64 or not _is_hex(digits):
        return None
    secret = bytes.fromhex(digits)
    if not 0 < int.from_bytes(secret, "big") < _SECP256K1_N:
        return None
    return coincurve.PrivateKey(secret)


# --------------------------------------------------------------------------------------------------------------
# Nonces
# --------------------------------------------------------------------------------------------------------------


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class NonceManager:
    """Millisecond nonces for one signer, strictly increasing: ``max(now_ms, last + 1)``.

    The venue keeps a signer's 100 highest nonces, rejects duplicates and anything not above the smallest
    kept, and requires the nonce within (now - 2 days, now + 1 day) (protocol §4.4). Several actions in the
    same millisecond therefore take consecutive values; a clock that steps back never produces a repeat. Use
    one instance per signing address (an agent wallet signing for several accounts shares one). Single
    asyncio loop: no locking.
    """

    __slots__ = ("_clock_ms", "_last")

    def __init__(self, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._clock_ms = clock_ms
        self._last = 0

    def next_nonce(self) -> int:
        nonce = max(self._clock_ms(), self._last + 1)
        self._last = nonce
        return nonce

    @property
    def last(self) -> int:
        """The most recent nonce handed out (0 before the first)."""
        return self._last
