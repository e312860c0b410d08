"""Hyperliquid signatures: both schemes, digests, and recovery of the signer from a posted request.

Hyperliquid has two signature schemes (hyperliquid_protocol.md §4); the actions themselves come from ``actions``:

- **L1 actions** (order, cancel, modify, scheduleCancel, updateLeverage, noop, …): the action is msgpack-encoded
  with the venue's canonical key order, followed by the nonce, the vault block and an optional ``expiresAfter``
  block. Its keccak256 is the ``connectionId`` of a *phantom agent* ``Agent{source, connectionId}`` that is
  EIP-712-signed in the fixed ``Exchange`` domain (chainId 1337). ``source`` is ``"a"`` on mainnet and ``"b"``
  elsewhere (testnet and our local exchange, unless configured otherwise).
- **User-signed actions** (usdSend, withdraw3, approveAgent, approveBuilderFee): the action itself is the
  EIP-712 message in the ``HyperliquidSignTransaction`` domain whose chainId is ``signatureChainId``.

The L1 path is on the quoting hot path, so it hashes the EIP-712 structure directly (domain separator and type
hashes precomputed); it is checked against eth-account's ``encode_typed_data`` in the tests and is several times
faster (``benchmarks/signing.py``). User-signed actions are rare, so they go through eth-account's generic
encoder. Keys and the act of signing live in ``credentials``; recovery (what the venue does) lives here, so the
local exchange verifies requests with exactly the hashing the client signs.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

import coincurve
import msgspec
from eth_abi.exceptions import EncodingError
from eth_account.messages import encode_typed_data

from adapters.hyperliquid.actions import lower_address
from adapters.hyperliquid.hashing import keccak


class InvalidSignatureError(ValueError):
    """A signature (or the action it covers) is malformed, so no signer can be recovered from it."""



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
    with the ``actions`` builders (insertion order = venue order) and never sort them."""
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

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


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
    return address_of(public_key)


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
    if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        raise InvalidSignatureError("signature r/s out of range")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((v - 27,))


def address_of(public_key: coincurve.PublicKey) -> str:
    return "0x" + keccak(public_key.format(compressed=False)[1:])[-20:].hex()

