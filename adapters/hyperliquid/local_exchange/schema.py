"""Request validation and canonicalisation, in the way the venue's typed deserialiser behaves.

The venue decodes every body into typed structs, so a missing field, a number where a string belongs or an
unknown ``type`` is an HTTP 422 before any business logic (reference §3.8.3). It then hashes the action it
decoded, not the bytes it received: keys come out in its struct order and numbers in their canonical form.
The canonical action built here is therefore what the signature is checked against, and a client that
hashed keys in another order or a price like ``"42651.0"`` recovers to a stranger's address and gets
``User or API Wallet … does not exist`` — the venue's most common signing failure (reference §9.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from adapters.hyperliquid.actions import WIRE_MAX_DECIMALS
from adapters.hyperliquid.actions import canonical_cloid
from adapters.hyperliquid.actions import decimal_to_wire
from adapters.hyperliquid.actions import lower_address
from adapters.hyperliquid.local_exchange.candles import INTERVAL_MS
from adapters.hyperliquid.local_exchange.errors import deserialize_error

TIFS = ("Alo", "Ioc", "Gtc", "FrontendMarket")
GROUPINGS = ("na", "normalTpsl", "positionTpsl")
L1_ACTIONS = (
    "order",
    "cancel",
    "cancelByCloid",
    "modify",
    "batchModify",
    "scheduleCancel",
    "updateLeverage",
    "noop",
)
USER_SIGNED_ACTIONS = ("approveAgent",)
# Bounds on a price or size, checked before it is expanded: far beyond any real value (the largest price on the
# venue has 6 integer digits), yet short enough that writing one out costs nothing. Absurd values inside the
# bounds (a size of 1e30) are left to the per-order checks, which reject them in their own status slot.
MAX_NUMBER_CHARS = 64
MAX_INTEGER_DIGITS = 40


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded ``/exchange`` body; ``action`` is canonical (struct key order, canonical numbers)."""

    action: dict[str, Any]
    nonce: int
    signature: dict[str, Any]
    vault_address: str | None
    expires_after: int | None

    @property
    def action_type(self) -> str:
        return self.action["type"]

    @property
    def batch_length(self) -> int:
        """What the rate limits count: orders or cancels in a batch, 1 for anything else."""
        for key in ("orders", "cancels", "modifies"):
            if key in self.action:
                return len(self.action[key])
        return 1


def parse_envelope(body: Any) -> Envelope:
    obj = _object(body, "body")
    action = parse_action(_get(obj, "action", dict, "body"))
    signature = _get(obj, "signature", dict, "body")
    for key in ("r", "s"):
        _get(signature, key, str, "signature")
    if "v" not in signature or type(signature["v"]) is not int or not 0 <= signature["v"] < 256:
        raise deserialize_error("signature.v: invalid type, expected u8")
    vault = _optional(obj, "vaultAddress", str, "body")
    return Envelope(
        action=action,
        nonce=_get(obj, "nonce", int, "body"),
        signature=signature,
        vault_address=None if vault is None else _address(vault, "vaultAddress"),
        expires_after=_optional(obj, "expiresAfter", int, "body"),
    )


def parse_action(raw: dict[str, Any]) -> dict[str, Any]:
    kind = _get(raw, "type", str, "action")
    parser = _ACTION_PARSERS.get(kind)
    if parser is None:
        expected = ", ".join(f"`{name}`" for name in (*L1_ACTIONS, *USER_SIGNED_ACTIONS))
        raise deserialize_error(f"action: unknown variant `{kind}`, expected one of {expected}")
    return parser(raw)


def _order_action(raw: dict[str, Any]) -> dict[str, Any]:
    orders = [_order_wire(o, f"orders[{i}]") for i, o in enumerate(_get(raw, "orders", list, "action"))]
    grouping = _get(raw, "grouping", str, "action")
    if grouping not in GROUPINGS:
        raise deserialize_error(f"grouping: unknown variant `{grouping}`")
    action: dict[str, Any] = {"type": "order", "orders": orders, "grouping": grouping}
    builder = _optional(raw, "builder", dict, "action")
    if builder is not None:
        action["builder"] = {
            "b": _address(_get(builder, "b", str, "builder"), "builder.b"),
            "f": _get(builder, "f", int, "builder"),
        }
    return action


def _order_wire(raw: Any, path: str) -> dict[str, Any]:
    obj = _object(raw, path)
    wire: dict[str, Any] = {
        "a": _get(obj, "a", int, path),
        "b": _get(obj, "b", bool, path),
        "p": _number(_get(obj, "p", str, path), f"{path}.p"),
        "s": _number(_get(obj, "s", str, path), f"{path}.s"),
        "r": _get(obj, "r", bool, path),
        "t": _order_type(_get(obj, "t", dict, path), f"{path}.t"),
    }
    cloid = _optional(obj, "c", str, path)
    if cloid is not None:
        wire["c"] = _cloid(cloid, f"{path}.c")
    return wire


def _order_type(raw: dict[str, Any], path: str) -> dict[str, Any]:
    if "limit" in raw:
        tif = _get(_get(raw, "limit", dict, path), "tif", str, f"{path}.limit")
        if tif not in TIFS:
            raise deserialize_error(f"{path}.limit.tif: unknown variant `{tif}`")
        return {"limit": {"tif": tif}}
    if "trigger" in raw:
        trigger = _get(raw, "trigger", dict, path)
        tpsl = _get(trigger, "tpsl", str, f"{path}.trigger")
        if tpsl not in ("tp", "sl"):
            raise deserialize_error(f"{path}.trigger.tpsl: unknown variant `{tpsl}`")
        return {
            "trigger": {
                "isMarket": _get(trigger, "isMarket", bool, f"{path}.trigger"),
                "triggerPx": _number(_get(trigger, "triggerPx", str, f"{path}.trigger"), f"{path}.trigger.triggerPx"),
                "tpsl": tpsl,
            }
        }
    raise deserialize_error(f"{path}: expected `limit` or `trigger`")


def _cancel_action(raw: dict[str, Any]) -> dict[str, Any]:
    cancels = []
    for i, item in enumerate(_get(raw, "cancels", list, "action")):
        obj = _object(item, f"cancels[{i}]")
        cancels.append({"a": _get(obj, "a", int, f"cancels[{i}]"), "o": _get(obj, "o", int, f"cancels[{i}]")})
    return {"type": "cancel", "cancels": cancels}


def _cancel_by_cloid_action(raw: dict[str, Any]) -> dict[str, Any]:
    cancels = []
    for i, item in enumerate(_get(raw, "cancels", list, "action")):
        obj = _object(item, f"cancels[{i}]")
        cloid = _cloid(_get(obj, "cloid", str, f"cancels[{i}]"), f"cancels[{i}].cloid")
        cancels.append({"asset": _get(obj, "asset", int, f"cancels[{i}]"), "cloid": cloid})
    return {"type": "cancelByCloid", "cancels": cancels}


def _modify_target(raw: dict[str, Any], path: str) -> dict[str, Any]:
    oid = raw.get("oid")
    if isinstance(oid, str):
        oid = _cloid(oid, f"{path}.oid")
    elif type(oid) is not int or not 0 <= oid < _U64_LIMIT:
        raise deserialize_error(f"{path}.oid: expected an integer oid or a cloid string")
    return {"oid": oid, "order": _order_wire(_get(raw, "order", dict, path), f"{path}.order")}


def _modify_action(raw: dict[str, Any]) -> dict[str, Any]:
    return {"type": "modify", **_modify_target(raw, "action")}


def _batch_modify_action(raw: dict[str, Any]) -> dict[str, Any]:
    modifies = [
        _modify_target(_object(item, f"modifies[{i}]"), f"modifies[{i}]")
        for i, item in enumerate(_get(raw, "modifies", list, "action"))
    ]
    return {"type": "batchModify", "modifies": modifies}


def _schedule_cancel_action(raw: dict[str, Any]) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "scheduleCancel"}
    time_ms = _optional(raw, "time", int, "action")
    if time_ms is not None:
        action["time"] = time_ms
    return action


def _update_leverage_action(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "updateLeverage",
        "asset": _get(raw, "asset", int, "action"),
        "isCross": _get(raw, "isCross", bool, "action"),
        "leverage": _get(raw, "leverage", int, "action"),
    }


def _noop_action(raw: dict[str, Any]) -> dict[str, Any]:
    return {"type": "noop"}


def _approve_agent_action(raw: dict[str, Any]) -> dict[str, Any]:
    action = {
        "type": "approveAgent",
        "signatureChainId": _get(raw, "signatureChainId", str, "action"),
        "hyperliquidChain": _get(raw, "hyperliquidChain", str, "action"),
        "agentAddress": _address(_get(raw, "agentAddress", str, "action"), "agentAddress"),
    }
    name = _optional(raw, "agentName", str, "action")
    if name is not None:
        action["agentName"] = name
    action["nonce"] = _get(raw, "nonce", int, "action")
    return action


_ACTION_PARSERS = {
    "order": _order_action,
    "cancel": _cancel_action,
    "cancelByCloid": _cancel_by_cloid_action,
    "modify": _modify_action,
    "batchModify": _batch_modify_action,
    "scheduleCancel": _schedule_cancel_action,
    "updateLeverage": _update_leverage_action,
    "noop": _noop_action,
    "approveAgent": _approve_agent_action,
}


# ------------------------------------------------------------------------------------------------ info bodies


@dataclass(frozen=True, slots=True)
class InfoRequest:
    type: str
    body: dict[str, Any]

    def user(self) -> str:
        return _address(_get(self.body, "user", str, "body"), "user")

    def coin(self) -> str:
        return _get(self.body, "coin", str, "body")

    def int_field(self, key: str) -> int:
        return _get(self.body, key, int, "body")

    def optional_int(self, key: str) -> int | None:
        return _optional(self.body, key, int, "body")

    def candle_request(self) -> tuple[str, str, int, int]:
        """``candleSnapshot``'s ``req``: (coin, interval, startTime, endTime)."""
        req = _get(self.body, "req", dict, "body")
        interval = _get(req, "interval", str, "body.req")
        if interval not in INTERVAL_MS:
            raise deserialize_error(f"body.req.interval: unknown variant `{interval}`")
        coin = _get(req, "coin", str, "body.req")
        return coin, interval, _get(req, "startTime", int, "body.req"), _get(req, "endTime", int, "body.req")

    def oid(self) -> int | str:
        oid = self.body.get("oid")
        if isinstance(oid, str):
            return _cloid(oid, "oid")
        if type(oid) is not int or not 0 <= oid < _U64_LIMIT:
            raise deserialize_error("oid: expected an integer oid or a cloid string")
        return oid


def parse_info(body: Any, known_types: tuple[str, ...]) -> InfoRequest:
    obj = _object(body, "body")
    kind = _get(obj, "type", str, "body")
    if kind not in known_types:
        expected = ", ".join(f"`{name}`" for name in known_types)
        raise deserialize_error(f"unknown variant `{kind}`, expected one of {expected}")
    return InfoRequest(kind, obj)


# ------------------------------------------------------------------------------------------------ primitives


_TYPE_NAMES = {int: "integer", bool: "boolean", str: "string", dict: "map", list: "sequence"}


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise deserialize_error(f"{path}: invalid type: expected a map")
    return value


def _get(obj: dict[str, Any], key: str, kind: type, path: str) -> Any:
    if key not in obj:
        raise deserialize_error(f"{path}: missing field `{key}`")
    return _typed(obj[key], kind, f"{path}.{key}")


def _optional(obj: dict[str, Any], key: str, kind: type, path: str) -> Any:
    value = obj.get(key)
    return None if value is None else _typed(value, kind, f"{path}.{key}")


_U64_LIMIT = 2**64


def _typed(value: Any, kind: type, path: str) -> Any:
    # bool is an int subclass in Python; the venue's deserialiser keeps them apart. Its integers are unsigned
    # 64-bit at most: anything larger must stop here, before msgpack is asked to hash it.
    ok = type(value) is kind if kind in (int, bool) else isinstance(value, kind)
    if kind is int and ok and not 0 <= value < _U64_LIMIT:
        ok = False
    if not ok:
        raise deserialize_error(f"{path}: invalid type: expected {_TYPE_NAMES[kind]}")
    return value


def _number(text: str, path: str) -> str:
    """A price or size string → its canonical wire form, bounded before anything is expanded: the text length
    first, then the digits the plain form would have (``"1e400000000"`` is 11 characters but 400 million digits
    written out, which is what the signature is computed over)."""
    if len(text) > MAX_NUMBER_CHARS:
        raise deserialize_error(f"{path}: invalid decimal (longer than {MAX_NUMBER_CHARS} characters)")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or not _fits_the_wire(value):
        raise deserialize_error(f"{path}: invalid decimal {text!r}")
    return decimal_to_wire(value) if value else "0"  # a zero may carry any exponent: never write it out


def _fits_the_wire(value: Decimal) -> bool:
    """At most ``MAX_INTEGER_DIGITS`` before the point and ``WIRE_MAX_DECIMALS`` after it (trailing zeros aside),
    judged from the digits and exponent alone."""
    _, digits, exponent = value.as_tuple()
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return True  # zero, whatever its exponent
    exponent += len(digits) - len(significant)
    return len(significant) + exponent <= MAX_INTEGER_DIGITS and -exponent <= WIRE_MAX_DECIMALS


def _cloid(text: str, path: str) -> str:
    try:
        return canonical_cloid(text)
    except ValueError:
        raise deserialize_error(f"{path}: invalid cloid {text!r}") from None


def _address(text: str, path: str) -> str:
    try:
        return lower_address(text)
    except ValueError:
        raise deserialize_error(f"{path}: invalid address {text!r}") from None
