"""Hyperliquid signing against every published vector, plus recovery, builders, key hygiene, nonces and cloids.

The vectors (shared/hl_signing_vectors.json) are the only outside truth: recovering our own signature proves
nothing by itself (protocol §4.3.7), so every hash and signature is first compared with a published value.
"""

from __future__ import annotations

import copy
import json
import pickle
import re
import traceback
from collections import Counter
from decimal import Decimal
from typing import Any

import msgpack
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak
from nautilus_trader.core import nautilus_pyo3

from adapters.hyperliquid import credentials
from adapters.hyperliquid.actions import approve_agent_action
from adapters.hyperliquid.actions import approve_builder_fee_action
from adapters.hyperliquid.actions import batch_modify_action
from adapters.hyperliquid.actions import cancel_action
from adapters.hyperliquid.actions import cancel_by_cloid_action
from adapters.hyperliquid.actions import cloid_from_client_order_id
from adapters.hyperliquid.actions import decimal_to_wire
from adapters.hyperliquid.actions import exchange_payload
from adapters.hyperliquid.actions import float_to_int_for_hashing
from adapters.hyperliquid.actions import float_to_wire
from adapters.hyperliquid.actions import is_hex
from adapters.hyperliquid.actions import limit_order_wire
from adapters.hyperliquid.actions import modify_action
from adapters.hyperliquid.actions import noop_action
from adapters.hyperliquid.actions import order_action
from adapters.hyperliquid.actions import schedule_cancel_action
from adapters.hyperliquid.actions import trigger_order_wire
from adapters.hyperliquid.actions import update_leverage_action
from adapters.hyperliquid.actions import usd_send_action
from adapters.hyperliquid.actions import withdraw_action
from adapters.hyperliquid.credentials import HyperliquidSigner
from adapters.hyperliquid.credentials import PrivateKeyError
from adapters.hyperliquid.nonces import NonceManager
from adapters.hyperliquid.signing import EXCHANGE_DOMAIN_SEPARATOR
from adapters.hyperliquid.signing import USER_SIGNED_TYPES
from adapters.hyperliquid.signing import InvalidSignatureError
from adapters.hyperliquid.signing import action_hash
from adapters.hyperliquid.signing import action_msgpack
from adapters.hyperliquid.signing import l1_signing_digest
from adapters.hyperliquid.signing import l1_typed_data
from adapters.hyperliquid.signing import phantom_agent_hash
from adapters.hyperliquid.signing import recover_l1_signer
from adapters.hyperliquid.signing import recover_user_signed_signer
from adapters.hyperliquid.signing import user_signed_digest

# A throwaway test key (not one of the vectors' keys); never funded anywhere.
TEST_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
TEST_KEY_DIGITS = TEST_KEY[2:]


def _load(path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _hex_bytes(text: str) -> bytes:
    return bytes.fromhex(text[2:])


# --------------------------------------------------------------------------------------------------------------
# The whole vectors file
# --------------------------------------------------------------------------------------------------------------


class VectorWalk:
    """Runs every check an entry publishes and records mismatches instead of stopping at the first one.

    ``published`` counts what the file counts in ``n_signature_and_hash_checks``: one per expected signature,
    and one per ``expected_*`` field of the entries that carry no signature. ``extra`` counts the cross-checks
    we add on top (msgpack bytes and connection ids next to signatures, the key's address, recovery).
    """

    def __init__(self) -> None:
        self.entries = Counter()
        self.published = Counter()
        self.extra = Counter()
        self.failures: list[str] = []

    def check(self, vector: dict[str, Any], what: str, got: Any, want: Any, published: bool) -> None:
        (self.published if published else self.extra)[vector["scheme"]] += 1
        if got != want:
            self.failures.append(f"{vector['id']}: {what}: got {got!r}, want {want!r}")

    def walk(self, vector: dict[str, Any]) -> None:
        self.entries[vector["scheme"]] += 1
        handler = getattr(self, "_" + vector["scheme"], None)
        if handler is None:
            self.failures.append(f"{vector['id']}: unknown scheme {vector['scheme']!r}")
            return
        handler(vector)

    # --- L1 -------------------------------------------------------------------------------------------------

    def _l1_phantom_agent(self, v: dict[str, Any]) -> None:
        self.check(v, "msgpack", action_msgpack(v["action"]).hex(), v["msgpack_hex"], published=False)
        connection_id = "0x" + action_hash(v["action"], v["nonce"], v["vault_address"], v["expires_after"]).hex()
        self.check(v, "connection id", connection_id, v["connection_id"], published=False)
        signatures = v.get("expected", [])
        if "expected_connection_id" in v:
            self.check(v, "expected connection id", connection_id, v["expected_connection_id"], not signatures)
        if not signatures:
            return
        signer = self._signer(v)
        for expected in signatures:
            signature = signer.sign_l1_action(
                v["action"], v["nonce"], v["vault_address"], v["expires_after"], expected["is_mainnet"]
            )
            self._check_signature(v, expected, signature)
            recovered = recover_l1_signer(
                v["action"], v["nonce"], v["vault_address"], v["expires_after"], signature, expected["is_mainnet"]
            )
            self.check(v, "recovered signer", recovered, v["signer_address"].lower(), published=False)

    def _l1_phantom_agent_from_connection_id(self, v: dict[str, Any]) -> None:
        signer = self._signer(v)
        for expected in v["expected"]:
            signature = signer.sign_phantom_agent(_hex_bytes(v["connection_id"]), expected["is_mainnet"])
            self._check_signature(v, expected, signature)

    def _l1_phantom_agent_intermediates(self, v: dict[str, Any]) -> None:
        assert not v["is_mainnet"], "the published struct/signing hashes are the testnet ones"
        connection_id = action_hash(v["action"], v["nonce"], v["vault_address"], v["expires_after"])
        steps = {
            "expected_msgpack_hex": action_msgpack(v["action"]).hex(),
            "expected_connection_id": "0x" + connection_id.hex(),
            "expected_domain_separator": "0x" + EXCHANGE_DOMAIN_SEPARATOR.hex(),
            "expected_agent_struct_hash_testnet": "0x" + phantom_agent_hash(connection_id, False).hex(),
            "expected_eip712_signing_hash_testnet": "0x" + l1_signing_digest(connection_id, False).hex(),
        }
        for field in [key for key in v if key.startswith("expected_")]:
            self.check(v, field, steps.get(field), v[field], published=True)

    def _l1_connection_id_only(self, v: dict[str, Any]) -> None:
        connection_id = action_hash(v["action"], v["nonce"], v["vault_address"], v["expires_after"])
        self.check(v, "connection id", "0x" + connection_id.hex(), v["expected_connection_id"], published=True)

    def _msgpack_action_hash_only(self, v: dict[str, Any]) -> None:
        # rmp_serde packs the builder address as bin(20), not as a string (protocol §4.3.8).
        action = dict(v["action"], builder=_hex_bytes(v["action"]["builder"]))
        self.check(v, "msgpack", action_msgpack(action).hex(), v["msgpack_hex"], published=False)
        connection_id = action_hash(action, v["nonce"], v["vault_address"], v["expires_after"])
        self.check(v, "connection id", "0x" + connection_id.hex(), v["expected_connection_id"], published=True)

    # --- user-signed ----------------------------------------------------------------------------------------

    def _user_signed_eip712(self, v: dict[str, Any]) -> None:
        message = v["message"]
        assert v["domain"]["name"] == "HyperliquidSignTransaction"
        assert v["domain"]["chainId"] == int(message["signatureChainId"], 16)
        signer = self._signer(v)
        for expected in v["expected"]:
            assert message["hyperliquidChain"] == ("Mainnet" if expected["is_mainnet"] else "Testnet")
            signature = signer.sign_user_signed_action(message, v["primaryType"], v["types"])
            self._check_signature(v, expected, signature)
            recovered = recover_user_signed_signer(message, signature, v["primaryType"], v["types"])
            self.check(v, "recovered signer", recovered, v["signer_address"].lower(), published=False)

    # --- shared ---------------------------------------------------------------------------------------------

    def _signer(self, v: dict[str, Any]) -> HyperliquidSigner:
        signer = HyperliquidSigner.from_key(v["private_key"])
        self.check(v, "key address", signer.address, v["signer_address"].lower(), published=False)
        return signer

    def _check_signature(self, v: dict[str, Any], expected: dict[str, Any], got: dict[str, Any]) -> None:
        """r/s compared as integers: the Python SDK prints them without leading zeros."""
        if "signature_hex" in expected:
            raw = _hex_bytes(expected["signature_hex"])
            want = (int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64])
        else:
            want = (int(expected["r"], 16), int(expected["s"], 16), expected["v"])
        label = f"signature ({'mainnet' if expected['is_mainnet'] else 'testnet'})"
        self.check(v, label, (int(got["r"], 16), int(got["s"], 16), got["v"]), want, published=True)


def test_every_signing_vector(signing_vectors):
    data = _load(signing_vectors)
    walk = VectorWalk()
    for vector in data["vectors"]:
        walk.walk(vector)

    assert not walk.failures, "\n".join(walk.failures)
    assert sum(walk.entries.values()) == len(data["vectors"]) == data["n_vector_entries"] == 32
    assert sum(walk.published.values()) == data["n_signature_and_hash_checks"] == 56
    assert walk.entries == {
        "l1_phantom_agent": 21,
        "user_signed_eip712": 7,
        "msgpack_action_hash_only": 1,
        "l1_phantom_agent_from_connection_id": 1,
        "l1_phantom_agent_intermediates": 1,
        "l1_connection_id_only": 1,
    }
    assert walk.published == {
        "l1_phantom_agent": 40,
        "user_signed_eip712": 7,
        "msgpack_action_hash_only": 1,
        "l1_phantom_agent_from_connection_id": 2,
        "l1_phantom_agent_intermediates": 5,
        "l1_connection_id_only": 1,
    }
    assert sum(walk.extra.values()) > 0


class WireWalk:
    """Runs every case of ``wire_formatting_vectors``; an expected string starting with ``ValueError`` means
    the formatter must refuse the input."""

    def __init__(self) -> None:
        self.count = 0
        self.failures: list[str] = []

    def expect(self, group: str, fn, arg: Any, want: Any) -> None:
        self.count += 1
        try:
            got = fn(arg)
        except ValueError:
            got = "ValueError"
        ok = got == "ValueError" if str(want).startswith("ValueError") else got == want
        if not ok:
            self.failures.append(f"{group}: {fn.__name__}({arg!r}) = {got!r}, want {want!r}")


def _rule_examples(rule: str) -> list[tuple[str, str]]:
    """The worked examples in the prose rule, e.g. ``1670.1 -> '1670.1'``."""
    return re.findall(r"([\d.]+) -> '([^']*)'", rule)


def test_every_wire_formatting_vector(signing_vectors):
    wire = _load(signing_vectors)["wire_formatting_vectors"]
    walk = WireWalk()
    for x, want in wire["python_float_to_int_for_hashing"]["cases"]:
        walk.expect("python_float_to_int_for_hashing", float_to_int_for_hashing, x, want)
    for literal, want in wire["rust_float_to_string_for_hashing"]["cases"]:
        walk.expect("rust_float_to_string_for_hashing", float_to_wire, float(literal), want)
    for literal, want in wire["nautilus_decimal_normalize"]["cases"]:
        walk.expect("nautilus_decimal_normalize", decimal_to_wire, Decimal(literal), want)
    examples = _rule_examples(wire["python_float_to_wire_rule"])
    for literal, want in examples:
        walk.expect("python_float_to_wire_rule", float_to_wire, float(literal), want)

    assert not walk.failures, "\n".join(walk.failures)
    groups = ("python_float_to_int_for_hashing", "rust_float_to_string_for_hashing", "nautilus_decimal_normalize")
    assert len(examples) == 4
    assert walk.count == sum(len(wire[group]["cases"]) for group in groups) + len(examples) == 26


# --------------------------------------------------------------------------------------------------------------
# Fast path == eth-account's generic EIP-712 path
# --------------------------------------------------------------------------------------------------------------


def _eip191_digest(signable) -> bytes:
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


@pytest.mark.parametrize("is_mainnet", [True, False])
def test_fast_l1_digest_and_signature_match_eth_account(is_mainnet):
    action = order_action([limit_order_wire(3, False, Decimal("2501.5"), Decimal("0.25"), True, "Alo")])
    vault = "0x1719884eb866cb12b2287399b15f7db5e7d775ea"
    connection_id = action_hash(action, 1_716_531_066_415, vault, 1_716_531_070_000)
    signable = encode_typed_data(full_message=l1_typed_data(connection_id, is_mainnet))
    assert l1_signing_digest(connection_id, is_mainnet) == _eip191_digest(signable)

    signed = Account.sign_message(signable, TEST_KEY)
    ours = HyperliquidSigner.from_key(TEST_KEY).sign_phantom_agent(connection_id, is_mainnet)
    assert (int(ours["r"], 16), int(ours["s"], 16), ours["v"]) == (signed.r, signed.s, signed.v)


def test_signature_shape_is_the_venue_shape():
    signature = HyperliquidSigner.from_key(TEST_KEY).sign_l1_action(noop_action(), 1)
    assert set(signature) == {"r", "s", "v"}
    assert re.fullmatch(r"0x[0-9a-f]{64}", signature["r"]) and re.fullmatch(r"0x[0-9a-f]{64}", signature["s"])
    assert signature["v"] in (27, 28)


# --------------------------------------------------------------------------------------------------------------
# Recovery (the local exchange's side)
# --------------------------------------------------------------------------------------------------------------

VAULT = "0xAbCdEf0123456789AbCdEf0123456789AbCdEf01"


def _signed_order() -> tuple[HyperliquidSigner, dict[str, Any], dict[str, Any]]:
    signer = HyperliquidSigner.from_key(TEST_KEY)
    action = order_action(
        [limit_order_wire(0, True, Decimal("50000"), Decimal("0.001"), False, "Alo", cloid_from_client_order_id("O-1"))]
    )
    return signer, action, signer.sign_l1_action(action, 1_700_000_000_000, VAULT, 1_700_000_060_000, False)


def test_l1_recovery_round_trip():
    signer, action, signature = _signed_order()
    args = (action, 1_700_000_000_000, VAULT, 1_700_000_060_000)
    assert recover_l1_signer(*args, signature, False) == signer.address
    # Vault case does not matter: it enters the hash as raw bytes.
    assert recover_l1_signer(action, args[1], VAULT.lower(), args[3], signature, False) == signer.address
    # Unpadded r/s (the Python SDK's to_hex form) recover the same signer.
    unpadded = {"r": hex(int(signature["r"], 16)), "s": hex(int(signature["s"], 16)), "v": signature["v"]}
    assert recover_l1_signer(*args, unpadded, False) == signer.address


@pytest.mark.parametrize(
    "tamper",
    ["price", "nonce", "vault", "no_vault", "expiry", "no_expiry", "network", "key_order"],
)
def test_tampered_l1_request_recovers_someone_else(tamper):
    signer, action, signature = _signed_order()
    nonce, vault, expires, mainnet = 1_700_000_000_000, VAULT, 1_700_000_060_000, False
    if tamper == "price":
        action = copy.deepcopy(action)
        action["orders"][0]["p"] = "50001"
    elif tamper == "nonce":
        nonce += 1
    elif tamper == "vault":
        vault = "0x" + "11" * 20
    elif tamper == "no_vault":
        vault = None
    elif tamper == "expiry":
        expires += 1
    elif tamper == "no_expiry":
        expires = None
    elif tamper == "network":
        mainnet = True
    elif tamper == "key_order":
        action = dict(reversed(list(action.items())))
    recovered = recover_l1_signer(action, nonce, vault, expires, signature, mainnet)
    assert re.fullmatch(r"0x[0-9a-f]{40}", recovered)
    assert recovered != signer.address


def test_user_signed_recovery_round_trip_and_tamper():
    signer = HyperliquidSigner.from_key(TEST_KEY)
    action = usd_send_action("0x5E9EE1089755C3435139848E47E6635505D5A13A", Decimal("12.50"), 1_700_000_000_000, True)
    primary_type, types = USER_SIGNED_TYPES[action["type"]]
    signature = signer.sign_user_signed_action(action, primary_type, types)
    assert recover_user_signed_signer(action, signature, primary_type, types) == signer.address

    for field, value in [("amount", "12.51"), ("hyperliquidChain", "Testnet"), ("signatureChainId", "0xa4b1")]:
        tampered = dict(action, **{field: value})
        assert recover_user_signed_signer(tampered, signature, primary_type, types) != signer.address
    # The same fields under another primary type (usdSend vs withdraw3) are another message.
    withdraw_type, withdraw_types = USER_SIGNED_TYPES["withdraw3"]
    assert recover_user_signed_signer(action, signature, withdraw_type, withdraw_types) != signer.address


def test_unnamed_agent_is_signed_with_an_empty_name():
    signer = HyperliquidSigner.from_key(TEST_KEY)
    unnamed = approve_agent_action("0x" + "ab" * 20, None, 1_700_000_000_000, False)
    named_empty = approve_agent_action("0x" + "ab" * 20, "", 1_700_000_000_000, False)
    assert "agentName" not in unnamed
    primary_type, types = USER_SIGNED_TYPES["approveAgent"]
    assert user_signed_digest(unnamed, primary_type, types) == user_signed_digest(named_empty, primary_type, types)
    signature = signer.sign_user_signed_action(unnamed, primary_type, types)
    assert recover_user_signed_signer(unnamed, signature, primary_type, types) == signer.address


@pytest.mark.parametrize(
    "signature",
    [
        {"r": "0x1", "s": "0x1", "v": 29},
        {"r": "0x1", "s": "0x1", "v": True},
        {"r": "0x1", "s": "0x1"},
        {"r": "zz", "s": "0x1", "v": 27},
        {"r": "0x0", "s": "0x1", "v": 27},
        {"r": "0x" + "ff" * 32, "s": "0x1", "v": 27},
        {"r": 5, "s": "0x1", "v": 27},
    ],
)
def test_malformed_signature_is_rejected(signature):
    with pytest.raises(InvalidSignatureError):
        recover_l1_signer(noop_action(), 1, None, None, signature, True)


@pytest.mark.parametrize(
    ("nonce", "vault", "expires"),
    [(-1, None, None), (1 << 64, None, None), ("1", None, None), (1, "0x12", None), (1, None, -5)],
)
def test_malformed_l1_request_is_rejected(nonce, vault, expires):
    signature = HyperliquidSigner.from_key(TEST_KEY).sign_l1_action(noop_action(), 1)
    with pytest.raises(InvalidSignatureError):
        recover_l1_signer(noop_action(), nonce, vault, expires, signature, True)


def test_user_signed_action_missing_a_field_is_rejected():
    signer = HyperliquidSigner.from_key(TEST_KEY)
    action = withdraw_action("0x" + "12" * 20, "5", 1_700_000_000_000, True)
    primary_type, types = USER_SIGNED_TYPES["withdraw3"]
    signature = signer.sign_user_signed_action(action, primary_type, types)
    incomplete = {key: value for key, value in action.items() if key != "destination"}
    with pytest.raises(InvalidSignatureError, match="destination"):
        recover_user_signed_signer(incomplete, signature, primary_type, types)


# --------------------------------------------------------------------------------------------------------------
# Builders: the exact bytes of the vectors, and the canonical key orders of protocol §4.3.1
# --------------------------------------------------------------------------------------------------------------


def _vector(signing_vectors, vector_id: str) -> dict[str, Any]:
    return next(v for v in _load(signing_vectors)["vectors"] if v["id"] == vector_id)


def test_builders_reproduce_vector_actions(signing_vectors):
    def msgpack_of(vector_id: str) -> str:
        return _vector(signing_vectors, vector_id)["msgpack_hex"]

    # The SDK's own inputs: floats through float_to_wire, ints, and Decimals must agree.
    eth_ioc = order_action([limit_order_wire(4, True, 1670.1, 0.0147, False, "Ioc")])
    assert action_msgpack(eth_ioc).hex() == msgpack_of("py_phantom_agent_connection_id")
    eth_ioc_decimal = order_action([limit_order_wire(4, True, Decimal("1670.10"), Decimal("0.01470"), False, "Ioc")])
    assert eth_ioc_decimal == eth_ioc

    gtc_cloid = order_action([limit_order_wire(1, True, 100, 100, False, "Gtc", "0x00000000000000000000000000000001")])
    assert action_msgpack(gtc_cloid).hex() == msgpack_of("py_l1_order_gtc_cloid")

    stop = order_action([trigger_order_wire(1, True, 100, 100, False, 103, True, "sl")])
    assert action_msgpack(stop).hex() == msgpack_of("py_l1_order_trigger_sl")

    nt_order = order_action([limit_order_wire(0, True, Decimal("50000.0"), Decimal("0.1"), False, "Gtc")])
    nt_vector = _vector(signing_vectors, "nt_intermediates_order_testnet")
    assert action_msgpack(nt_order).hex() == nt_vector["expected_msgpack_hex"]

    assert action_msgpack(cancel_action([(1, 82382)])).hex() == msgpack_of("rs_l1_cancel")
    assert action_msgpack(schedule_cancel_action()).hex() == msgpack_of("py_l1_schedule_cancel_unset")
    assert action_msgpack(schedule_cancel_action(123456789)).hex() == msgpack_of("py_l1_schedule_cancel_time")


def test_builders_canonicalise_the_rust_vectors_non_canonical_price(signing_vectors):
    # The Rust SDK test hashes the literal "2000.0"; our builders always send the canonical "2000".
    vector = _vector(signing_vectors, "rs_l1_order_ioc")
    built = order_action([limit_order_wire(1, True, "2000.0", "3.5", False, "Ioc")])
    assert built["orders"][0]["p"] == "2000"
    assert action_msgpack(built) != bytes.fromhex(vector["msgpack_hex"])


def test_order_wire_key_orders():
    cloid = "0x" + "AB" * 16
    order = limit_order_wire(5, False, Decimal("101.25"), Decimal("3"), True, "Alo", cloid)
    assert list(order) == ["a", "b", "p", "s", "r", "t", "c"]
    assert order["c"] == cloid.lower()
    assert order["t"] == {"limit": {"tif": "Alo"}}
    assert list(limit_order_wire(5, False, 1, 1, False, "Gtc")) == ["a", "b", "p", "s", "r", "t"]
    assert list(trigger_order_wire(5, False, 1, 1, True, 2, False, "tp")["t"]["trigger"]) == [
        "isMarket",
        "triggerPx",
        "tpsl",
    ]

    with_builder = order_action([order], builder=("0x" + "CD" * 20, 10))
    assert list(with_builder) == ["type", "orders", "grouping", "builder"]
    assert with_builder["builder"] == {"b": "0x" + "cd" * 20, "f": 10}
    assert list(order_action([order])) == ["type", "orders", "grouping"]


def test_other_action_key_orders():
    order = limit_order_wire(0, True, 1, 1, False, "Gtc")
    cloid = cloid_from_client_order_id("O-7")
    assert cancel_action([(0, 7), (1, 8)]) == {"type": "cancel", "cancels": [{"a": 0, "o": 7}, {"a": 1, "o": 8}]}
    by_cloid = cancel_by_cloid_action([(2, cloid)])
    assert list(by_cloid) == ["type", "cancels"] and list(by_cloid["cancels"][0]) == ["asset", "cloid"]
    assert list(modify_action(77, order)) == ["type", "oid", "order"]
    assert modify_action(cloid.upper().replace("0X", "0x"), order)["oid"] == cloid
    batch = batch_modify_action([(77, order), (cloid, order)])
    assert list(batch) == ["type", "modifies"] and [list(m) for m in batch["modifies"]] == [["oid", "order"]] * 2
    assert list(update_leverage_action(0, True, 5)) == ["type", "asset", "isCross", "leverage"]
    assert noop_action() == {"type": "noop"}
    assert schedule_cancel_action() == {"type": "scheduleCancel"}


@pytest.mark.parametrize(
    "build",
    [
        lambda: limit_order_wire(0, True, 1, 1, False, "Fok"),
        lambda: limit_order_wire(0, True, 1, 1, False, "Gtc", "0x1234"),
        lambda: limit_order_wire(0, True, 1, 1, False, "Gtc", "0x" + "g" * 32),
        lambda: limit_order_wire(0, True, 1.123456789, 1, False, "Gtc"),
        lambda: limit_order_wire(0, True, Decimal("1.123456789"), 1, False, "Gtc"),
        lambda: limit_order_wire(0, True, "abc", 1, False, "Gtc"),
        lambda: trigger_order_wire(0, True, 1, 1, False, 1, True, "stop"),
        lambda: order_action([], grouping="other"),
        lambda: order_action([], builder=("0x12", 1)),
    ],
)
def test_builders_refuse_bad_input(build):
    with pytest.raises(ValueError):
        build()


def test_user_signed_builders_lowercase_addresses_and_set_the_chain():
    send = usd_send_action("0x0D1d9635D0640821d15e323ac8AdADfA9c111414", Decimal("1.0"), 5, False)
    assert send == {
        "type": "usdSend",
        "signatureChainId": "0x66eee",
        "hyperliquidChain": "Testnet",
        "destination": "0x0d1d9635d0640821d15e323ac8adadfa9c111414",
        "amount": "1",
        "time": 5,
    }
    assert withdraw_action("0x" + "AA" * 20, "2", 6, True)["type"] == "withdraw3"
    fee = approve_builder_fee_action("0x" + "BB" * 20, "0.001%", 7, True)
    assert fee["builder"] == "0x" + "bb" * 20 and fee["hyperliquidChain"] == "Mainnet"


def test_exchange_payload_lowercases_the_vault():
    signature = {"r": "0x1", "s": "0x2", "v": 27}
    payload = exchange_payload(noop_action(), 9, signature, VAULT, 10)
    assert payload == {
        "action": {"type": "noop"},
        "nonce": 9,
        "signature": signature,
        "vaultAddress": VAULT.lower(),
        "expiresAfter": 10,
    }
    assert exchange_payload(noop_action(), 9, signature)["vaultAddress"] is None


# --------------------------------------------------------------------------------------------------------------
# Wire formatting beyond the vectors
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (Decimal("100"), "100"),
        (Decimal("1E+2"), "100"),
        (Decimal("100.000"), "100"),
        (Decimal("-0"), "0"),
        (Decimal("-0.000"), "0"),
        (Decimal("0.00000001"), "0.00000001"),
        (Decimal("1900.50"), "1900.5"),
        (Decimal("-12.30"), "-12.3"),
        (Decimal("123456789012345678901234567890.5"), "123456789012345678901234567890.5"),
    ],
)
def test_decimal_to_wire(value, wire):
    assert decimal_to_wire(value) == wire


@pytest.mark.parametrize("value", [Decimal("0.000000001"), Decimal("NaN"), Decimal("Infinity")])
def test_decimal_to_wire_refuses(value):
    with pytest.raises(ValueError):
        decimal_to_wire(value)


@pytest.mark.parametrize(
    ("value", "wire"), [(-0.0, "0"), (-1e-13, "0"), (0.1 + 0.2, "0.3"), (1900.50, "1900.5"), (100, "100")]
)
def test_float_to_wire(value, wire):
    assert float_to_wire(value) == wire


@pytest.mark.parametrize("value", [1.000000001, float("nan"), float("inf")])
def test_float_to_wire_refuses(value):
    with pytest.raises(ValueError):
        float_to_wire(value)


def test_msgpack_matches_the_reference_encoder():
    action = order_action(
        [limit_order_wire(i, i % 2 == 0, Decimal("0.00012"), Decimal(10**i), i % 3 == 0, "Ioc") for i in range(20)],
        builder=("0x" + "01" * 20, 25),
    )
    assert action_msgpack(action) == msgpack.packb(action)
    for value in [dict(noop_action(), n=n) for n in (0, 127, 128, 2**16, 2**32, 2**63, 2**64 - 1, -1, -33, -(2**63))]:
        assert action_msgpack(value) == msgpack.packb(value)


# --------------------------------------------------------------------------------------------------------------
# Key hygiene
# --------------------------------------------------------------------------------------------------------------


def _leaks(text: str) -> bool:
    return TEST_KEY_DIGITS.lower() in text.lower()


def test_signer_repr_and_str_show_only_the_address():
    signer = HyperliquidSigner.from_key(TEST_KEY)
    assert signer.address == Account.from_key(TEST_KEY).address.lower()
    for text in (repr(signer), str(signer), f"{signer}", f"{signer!r}"):
        assert signer.address in text and not _leaks(text)


def test_signer_refuses_pickling_and_copying():
    signer = HyperliquidSigner.from_key(TEST_KEY)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="private key") as raised:
            pickle.dumps(signer, protocol=protocol)
        assert not _leaks(str(raised.value))
    with pytest.raises(TypeError):
        copy.copy(signer)
    with pytest.raises(TypeError):
        copy.deepcopy(signer)


def test_signer_cannot_be_built_directly():
    with pytest.raises(TypeError, match="from_env"):
        HyperliquidSigner(object())


def _raised_by(build) -> BaseException:
    try:
        build()
    except PrivateKeyError as error:
        return error
    raise AssertionError("expected PrivateKeyError")


def _traceback_with_locals(error: BaseException) -> str:
    """The traceback from the first frame inside the credentials module down, with every local variable and any
    chained exception: what a crash reporter that captures locals would record. (The test's own frames hold
    the key by construction, so they are left out.)"""
    frames = error.__traceback__
    while frames is not None and frames.tb_frame.f_code.co_filename != credentials.__file__:
        frames = frames.tb_next
    assert frames is not None, "the error was not raised from the credentials module"
    exception = traceback.TracebackException(type(error), error, frames, capture_locals=True)
    return "".join(exception.format(chain=True))


@pytest.mark.parametrize(
    "bad_key",
    [
        TEST_KEY[:-1],  # too short
        TEST_KEY + "0",  # too long
        TEST_KEY[:-1] + "z",  # not hex
        "0x" + "0" * 64,  # zero is not a key
        "0x" + "f" * 64,  # above the curve order
    ],
)
def test_bad_key_error_does_not_leak_it(bad_key):
    error = _raised_by(lambda: HyperliquidSigner.from_key(bad_key))
    digits = bad_key[2:].lower()
    for text in (str(error), repr(error), _traceback_with_locals(error)):
        assert digits[:40] not in text.lower()
    assert error.__context__ is None and error.__cause__ is None


def test_from_env(monkeypatch):
    monkeypatch.setenv("HL_TEST_PK", f"  {TEST_KEY_DIGITS}\n")
    assert HyperliquidSigner.from_env("HL_TEST_PK").address == Account.from_key(TEST_KEY).address.lower()

    monkeypatch.delenv("HL_TEST_PK")
    with pytest.raises(PrivateKeyError, match="HL_TEST_PK"):
        HyperliquidSigner.from_env("HL_TEST_PK")

    monkeypatch.setenv("HL_TEST_PK", TEST_KEY[:-2] + "zz")
    error = _raised_by(lambda: HyperliquidSigner.from_env("HL_TEST_PK"))
    assert "HL_TEST_PK" in str(error)
    assert not _leaks(str(error)) and TEST_KEY_DIGITS[:40] not in _traceback_with_locals(error)


def test_from_env_default_variable(monkeypatch):
    monkeypatch.delenv("HYPERLIQUID_PK", raising=False)
    with pytest.raises(PrivateKeyError, match="HYPERLIQUID_PK"):
        HyperliquidSigner.from_env()


def test_from_file(tmp_path):
    key_file = tmp_path / "agent.key"
    key_file.write_text(TEST_KEY + "\n")
    key_file.chmod(0o600)  # from_file refuses a key file its group or others can read
    assert HyperliquidSigner.from_file(key_file).address == Account.from_key(TEST_KEY).address.lower()

    missing = tmp_path / "missing.key"
    with pytest.raises(PrivateKeyError, match="missing.key"):
        HyperliquidSigner.from_file(missing)

    key_file.write_text(f"PK={TEST_KEY}\n")
    error = _raised_by(lambda: HyperliquidSigner.from_file(key_file))
    assert "agent.key" in str(error)
    assert not _leaks(str(error)) and TEST_KEY_DIGITS[:40] not in _traceback_with_locals(error)


def test_signing_errors_do_not_leak_the_key():
    signer = HyperliquidSigner.from_key(TEST_KEY)
    with pytest.raises(ValueError) as raised:
        signer.sign_l1_action(noop_action(), -1)
    assert not _leaks(_traceback_with_locals(raised.value))


# --------------------------------------------------------------------------------------------------------------
# Nonces and cloids
# --------------------------------------------------------------------------------------------------------------


def test_nonces_strictly_increase_in_a_tight_loop():
    manager = NonceManager()
    nonces = [manager.next_nonce() for _ in range(10_000)]
    assert all(later > earlier for earlier, later in zip(nonces, nonces[1:]))
    assert manager.last == nonces[-1]


def test_nonces_within_one_millisecond_and_across_a_clock_step_back():
    now = [1_700_000_000_000]
    manager = NonceManager(clock_ms=lambda: now[0])
    assert [manager.next_nonce() for _ in range(3)] == [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002]
    now[0] -= 5_000  # NTP step back
    assert manager.next_nonce() == 1_700_000_000_003
    now[0] += 60_000
    assert manager.next_nonce() == now[0]


def test_nonces_follow_the_wall_clock():
    from adapters.hyperliquid.nonces import wall_clock_ms

    before = wall_clock_ms()
    nonce = NonceManager().next_nonce()
    assert before <= nonce <= wall_clock_ms() + 1


@pytest.mark.parametrize("client_order_id", ["O-1", "O-20240101-000000-001-001-1", "ünïcode-ß", ""])
def test_cloid_is_nautilus_scheme_and_deterministic(client_order_id):
    cloid = cloid_from_client_order_id(client_order_id)
    assert re.fullmatch(r"0x[0-9a-f]{32}", cloid)
    assert cloid == cloid_from_client_order_id(client_order_id)
    assert cloid == "0x" + keccak(client_order_id.encode())[:16].hex()
    if client_order_id.isascii() and client_order_id:  # ClientOrderId takes non-empty ASCII only
        builtin = nautilus_pyo3.hyperliquid_cloid_from_client_order_id(nautilus_pyo3.ClientOrderId(client_order_id))
        assert cloid == builtin


def test_is_hex_takes_exactly_the_ascii_hex_digits():
    """Every code point alone, and the strings ``int(text, 16)`` or a lax regex would take (sign, space, newline,
    underscore, ``0x``, Unicode digits): hex means non-empty and nothing but ``0-9a-fA-F``."""
    hex_digits = set("0123456789abcdefABCDEF")
    assert [c for c in map(chr, range(0x110000)) if is_hex(c)] == sorted(hex_digits)
    for text in ("", "+ab", " ab", "ab ", "ab\n", "a_b", "0x1f", "٣٤", "ｆｆ", "1f" * 16 + "g"):
        assert not is_hex(text), repr(text)
    assert is_hex("0123456789abcdefABCDEF" * 3)


def test_cloids_differ_between_ids():
    cloids = {cloid_from_client_order_id(f"O-{i}") for i in range(1_000)}
    assert len(cloids) == 1_000


def test_keccak_is_the_pre_standard_keccak256_not_sha3():
    """The C backend (``hashing.py``) hashes with Keccak's original padding, as Ethereum and the venue do (SHA3-256
    of the same bytes differs), and agrees with pycryptodome's, which it replaces."""
    import hashlib

    from adapters.hyperliquid.hashing import keccak

    empty = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
    assert keccak(b"") == empty and keccak(b"") != hashlib.sha3_256(b"").digest()
    from Crypto.Hash import keccak as pycryptodome_keccak  # the backend eth-hash would pick by itself

    typehash = b"Agent(string source,bytes32 connectionId)"
    assert keccak(typehash) == pycryptodome_keccak.new(digest_bits=256, data=typehash).digest()
