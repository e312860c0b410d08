"""Property-based tests (hypothesis) of the wire parsers, the price/size rules and the local exchange's request
validation (issue 12).

Inputs are real frames and responses from the bundled captures with one value replaced by an arbitrary JSON value
or a nasty number string, or requests built from arbitrary fields. The properties are the contracts callers rely
on: a parser either returns or raises its documented error types (never ``OverflowError``, ``InvalidOperation``,
``RecursionError``…); the rules are total and their rounding lands on valid prices and sizes; the local exchange
refuses bad requests with the venue's 4xx texts and answers every order of a batch in its own status slot.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from adapters.hyperliquid import actions
from adapters.hyperliquid import rules
from adapters.hyperliquid import signing
from adapters.hyperliquid.cassettes import cassette_response_bodies
from adapters.hyperliquid.credentials import HyperliquidSigner
from adapters.hyperliquid.instruments import perpetual_from_meta
from adapters.hyperliquid.local_exchange import AccountConfig
from adapters.hyperliquid.local_exchange import LocalExchange
from adapters.hyperliquid.local_exchange import LocalExchangeConfig
from adapters.hyperliquid.local_exchange.errors import BadRequest
from adapters.hyperliquid.local_exchange.schema import parse_envelope
from adapters.hyperliquid.local_exchange.ws import decode_client_message
from adapters.hyperliquid.local_exchange.ws import parse_subscription
from adapters.hyperliquid.meta import DEFAULT_META
from adapters.hyperliquid.meta import load_meta
from adapters.hyperliquid.nonces import NonceManager
from adapters.hyperliquid.recordings import iter_ws_messages
from adapters.hyperliquid.schemas.market import ActiveAssetCtx
from adapters.hyperliquid.schemas.market import Bbo
from adapters.hyperliquid.schemas.market import L2Book
from adapters.hyperliquid.schemas.market import Trade
from adapters.hyperliquid.schemas.user import ClearinghouseState
from adapters.hyperliquid.schemas.user import OpenOrder
from adapters.hyperliquid.schemas.user import OrderUpdate
from adapters.hyperliquid.schemas.user import UserFill
from tests.conftest import ARCHIVE_BTC_HOUR
from tests.conftest import NT_FIXTURES
from tests.conftest import RESEARCH_DATA
from tests.conftest import SDK_CASSETTES
from tests.conftest import _require
from tests.test_local_exchange_support import key_for

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
TS_INIT = 1_800_000_000_000_000_000  # a receive time after every capture (2027)
PARSE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, ValueError)
NASTY_NUMBERS = [
    "",
    " ",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "-1",
    "0",
    "-0",
    "1e400",
    "1e-400",
    "1e20",
    "1e400000000",
    "0x10",
    "1_000",
    "1,5",
    "١٢٣",
    "9" * 400,
    "0." + "0" * 60 + "1",
    "1e29",
    "42651.5",
]

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(NASTY_NUMBERS)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside ``value`` (containers included), for replacing one of them."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):  # the first few items of long lists are representative
            found += _paths(item, (*prefix, index))
    return found


def _replaced(document: Any, path: tuple, new: Any) -> Any:
    copied = copy.deepcopy(document)
    target = copied
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return copied


def _deleted(document: Any, path: tuple) -> Any:
    copied = copy.deepcopy(document)
    target = copied
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return copied


@st.composite
def mutations(draw: st.DrawFn, document: Any) -> bytes:
    """``document`` (real) with one value replaced by an arbitrary one, or one key or item removed."""
    path = draw(st.sampled_from(_paths(document)))
    if draw(st.booleans()):
        return json.dumps(_deleted(document, path)).encode()
    return json.dumps(_replaced(document, path, draw(json_values))).encode()


# -- real documents ----------------------------------------------------------------------------------------


def _cassette_json(name: str, index: int = -1) -> Any:
    return json.loads(cassette_response_bodies(_require(SDK_CASSETTES) / name)[index])


def _recording_frames(path: Path, channel: str, count: int) -> list[Any]:
    frames = []
    for _, _, message in iter_ws_messages(_require(path)):
        if message.get("channel") == channel:
            frames.append(message["data"])
            if len(frames) == count:
                break
    return frames


REAL_META = load_meta(DEFAULT_META) if RESEARCH_DATA.exists() else None
BTC = perpetual_from_meta(REAL_META, "BTC") if REAL_META is not None else None


def _book() -> dict:
    return _recording_frames(ARCHIVE_BTC_HOUR, "l2Book", 1)[0]


def _bbo() -> dict:
    book = _book()
    return {"coin": book["coin"], "time": book["time"], "bbo": [book["levels"][0][0], book["levels"][1][0]]}


def _trades() -> list:
    return _recording_frames(RESEARCH_DATA / "hl-collector-csv/recordings/hl_BTC_20250903.gz", "trades", 1)[0]


def _asset_ctx() -> dict:
    frame = json.loads((_require(NT_FIXTURES) / "ws_all_dexs_asset_ctxs.json").read_text())
    return {"coin": "BTC", "ctx": frame["data"]["ctxs"][0][1][0]}


# -- wire parsers ------------------------------------------------------------------------------------------


def _parse_market(kind: str, raw: bytes) -> None:
    if kind == "l2Book":
        msgspec.json.decode(raw, type=L2Book).parse_levels()
    elif kind == "bbo":
        msgspec.json.decode(raw, type=Bbo).parse_to_quote_tick(BTC, TS_INIT)
    elif kind == "trades":
        for trade in msgspec.json.decode(raw, type=list[Trade]):
            trade.parse_to_trade_tick(BTC, TS_INIT)
    else:
        ctx = msgspec.json.decode(raw, type=ActiveAssetCtx).ctx
        ctx.parse_to_mark_price(BTC, TS_INIT, TS_INIT)
        ctx.parse_to_funding_rate(BTC, TS_INIT, TS_INIT)


@pytest.mark.parametrize("kind", ["l2Book", "bbo", "trades", "activeAssetCtx"])
def test_market_parsers_raise_only_parse_errors(kind):
    document = {"l2Book": _book, "bbo": _bbo, "trades": _trades, "activeAssetCtx": _asset_ctx}[kind]()
    _parse_market(kind, json.dumps(document).encode())  # the real document parses

    @FUZZ
    @given(raw=mutations(document))
    def check(raw: bytes) -> None:
        try:
            _parse_market(kind, raw)
        except PARSE_ERRORS:
            pass

    check()


def _account_documents() -> dict[str, tuple[Any, Any]]:
    fills = _cassette_json("test_get_user_fills.yaml")[:3]
    return {
        "userFills": (fills, list[UserFill]),
        "liquidationFill": (
            [json.loads((_require(NT_FIXTURES) / "ws_user_fill_liquidation.json").read_text())["data"]["fills"][0]],
            list[UserFill],
        ),
        "frontendOpenOrders": (_cassette_json("test_get_frontend_open_orders.yaml"), list[OpenOrder]),
        "historicalOrders": (_cassette_json("test_historical_orders.yaml")[:3], list[OrderUpdate]),
        "clearinghouseState": (_cassette_json("test_get_user_state.yaml"), ClearinghouseState),
    }


def _parse_account(schema: Any, raw: bytes) -> None:
    from nautilus_trader.model.identifiers import AccountId

    account = AccountId("HYPERLIQUID-master")
    decoded = msgspec.json.decode(raw, type=schema)
    for item in decoded if isinstance(decoded, list) else [decoded]:
        if isinstance(item, UserFill):
            item.parse_to_fill_report(account, BTC, None, TS_INIT)
        elif isinstance(item, OpenOrder):
            item.parse_to_order_status_report(account, BTC, None, "open", TS_INIT, TS_INIT)
        elif isinstance(item, OrderUpdate):
            item.order.parse_to_order_status_report(account, BTC, None, item.status, TS_INIT, TS_INIT)
        else:
            item.parse_to_position_status_report(account, BTC, TS_INIT)
            item.cash()
            item.margin_used()


@pytest.mark.parametrize(
    "name", ["userFills", "liquidationFill", "frontendOpenOrders", "historicalOrders", "clearinghouseState"]
)
def test_account_parsers_raise_only_parse_errors(name):
    document, schema = _account_documents()[name]

    @FUZZ
    @given(raw=mutations(document))
    def check(raw: bytes) -> None:
        try:
            _parse_account(schema, raw)
        except PARSE_ERRORS:
            pass

    check()


# -- price and size rules ----------------------------------------------------------------------------------


def _nasty_decimals() -> list[Decimal]:
    parsed = []
    for text in NASTY_NUMBERS:
        try:
            parsed.append(Decimal(text))
        except ArithmeticError:
            continue
    return parsed


any_decimal = st.decimals(allow_nan=True, allow_infinity=True) | st.sampled_from(_nasty_decimals())
sz_decimals = st.integers(min_value=0, max_value=5)
real_prices = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1000000000"), allow_nan=False, places=8)


@FUZZ
@given(value=any_decimal, decimals=sz_decimals)
def test_validity_checks_are_total(value, decimals):
    assert isinstance(rules.is_valid_price(value, decimals), bool)
    assert isinstance(rules.is_valid_size(value, decimals), bool)


@FUZZ
@given(price=real_prices, decimals=sz_decimals, rounding=st.sampled_from(list(rules.Rounding)))
def test_rounding_lands_on_a_valid_price_on_the_right_side(price, decimals, rounding):
    if price < rules.tick_at(price, decimals):  # below the smallest tick: rounding down has nowhere to land
        with pytest.raises(ValueError, match="below the smallest tick"):
            rules.round_price(price, decimals, rules.Rounding.DOWN)
        return
    rounded = rules.round_price(price, decimals, rounding)
    assert rules.is_valid_price(rounded, decimals), (price, rounded)
    if rounding is rules.Rounding.DOWN:
        assert rounded <= price
    elif rounding is rules.Rounding.UP:
        assert rounded >= price
    assert abs(rounded - price) <= max(rules.tick_at(price, decimals), rules.tick_at(rounded, decimals))


@FUZZ
@given(
    size=st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("1000000"), allow_nan=False, places=10),
    decimals=sz_decimals,
)
def test_size_rounding_truncates_to_a_valid_size(size, decimals):
    rounded = rules.round_size_down(size, decimals)
    assert rounded <= size and size - rounded < Decimal(1).scaleb(-decimals)
    assert rounded == 0 or rules.is_valid_size(rounded, decimals)


# -- local exchange request validation ---------------------------------------------------------------------

_ORDER = {
    "a": 0,
    "b": True,
    "p": "42000",
    "s": "0.01",
    "r": False,
    "t": {"limit": {"tif": "Alo"}},
    "c": "0x" + "ab" * 16,
}
_ENVELOPE = {
    "action": {"type": "order", "orders": [_ORDER], "grouping": "na"},
    "nonce": 1_700_000_000_000,
    "signature": {"r": "0x" + "11" * 32, "s": "0x" + "22" * 32, "v": 27},
    "vaultAddress": None,
}


@FUZZ
@given(raw=mutations(_ENVELOPE) | json_values.map(lambda v: json.dumps(v).encode()))
def test_envelope_validation_refuses_with_422_only(raw):
    """What validation lets through can be hashed for signature recovery (an asset id of 2**64 once reached
    msgpack and gave HTTP 500)."""
    try:
        envelope = parse_envelope(msgspec.json.decode(raw))
    except BadRequest as refused:
        assert refused.status == 422 and refused.text.startswith("Failed to deserialize")
        return
    signing.action_hash(envelope.action, envelope.nonce, envelope.vault_address, envelope.expires_after)


_SUBSCRIPTIONS = [
    {"type": "l2Book", "coin": "BTC", "nSigFigs": 5, "mantissa": 2},
    {"type": "candle", "coin": "BTC", "interval": "1m"},
    {"type": "userFills", "user": "0x" + "ab" * 20},
]


@FUZZ
@given(raw=st.sampled_from(_SUBSCRIPTIONS).flatmap(mutations) | json_values.map(lambda v: json.dumps(v).encode()))
def test_ws_messages_and_subscriptions_refuse_with_value_errors(raw):
    try:
        decode_client_message(json.dumps({"method": "subscribe", "subscription": json.loads(raw)}))
        parse_subscription(json.loads(raw), {"BTC": None})
    except ValueError:
        pass


@pytest.fixture(scope="module")
def venue_and_trader() -> Any:
    signer = HyperliquidSigner.from_key(key_for("fuzz"))
    config = LocalExchangeConfig(
        data=(_require(ARCHIVE_BTC_HOUR),),
        manual_clock=True,
        accounts=(AccountConfig(signer.address, Decimal(100_000)),),
    )
    exchange = LocalExchange(config)
    exchange.step(1)
    return exchange, signer, NonceManager()


order_fields = st.fixed_dictionaries(
    {
        "is_buy": st.booleans(),
        "px": st.sampled_from(NASTY_NUMBERS[4:] + ["42000", "42650", "42700.5", "43000", "1"]),
        "sz": st.sampled_from(NASTY_NUMBERS[4:] + ["0.01", "0.00001", "1", "0.123456"]),
        "tif": st.sampled_from(["Alo", "Gtc", "Ioc"]),
        "reduce_only": st.booleans(),
    }
)


@FUZZ
@given(batch=st.lists(order_fields, min_size=1, max_size=5))
def test_every_order_of_a_signed_batch_gets_its_own_status(venue_and_trader, batch):
    """What parses is signed by a funded account and executed: the answer is 200-shaped with one status per
    order, or a whole-request refusal; never an exception (the HTTP 500 of defect 3)."""
    exchange, signer, nonces = venue_and_trader
    orders = [
        {
            **_ORDER,
            "b": o["is_buy"],
            "p": o["px"],
            "s": o["sz"],
            "r": o["reduce_only"],
            "t": {"limit": {"tif": o["tif"]}},
        }
        for o in batch
    ]
    for order in orders:
        order.pop("c")
    action = {"type": "order", "orders": orders, "grouping": "na"}
    try:
        envelope = parse_envelope({**_ENVELOPE, "action": action})
    except BadRequest:
        return  # refused before execution, as a 422
    nonce = nonces.next_nonce()
    signature = signer.sign_l1_action(envelope.action, nonce, is_mainnet=False)
    answer = exchange.actions.execute(parse_envelope(actions.exchange_payload(envelope.action, nonce, signature)))
    if answer["status"] == "ok":
        statuses = answer["response"]["data"]["statuses"]
        assert len(statuses) == len(orders)
        assert all(set(s) <= {"resting", "filled", "error"} for s in statuses)
    else:
        assert isinstance(answer["response"], str)
