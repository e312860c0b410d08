"""The account's fee rates (``userFees``) end up in the instrument the strategy prices its quotes with.

The schema reads the documented answer and refuses rates that are not rates; the local exchange answers in that
shape with each account's configured rates; the data and execution clients of a node share one provider, so the
data engine's last instrument carries the account's rates whichever client sends first; a live node quotes with
them, and one whose ``userFees`` cannot be read still starts, on the base tier.
"""

from __future__ import annotations

import asyncio
import copy
from decimal import Decimal
from typing import Any

import aiohttp
import msgspec
import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.model.instruments import Instrument

from adapters.hyperliquid.config import HyperliquidDataClientConfig
from adapters.hyperliquid.config import HyperliquidExecClientConfig
from adapters.hyperliquid.factories import HyperliquidLiveDataClientFactory
from adapters.hyperliquid.factories import HyperliquidLiveExecClientFactory
from adapters.hyperliquid.factories import shared_provider
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.http.ratelimit import WeightLimiter
from adapters.hyperliquid.instruments import BASE_MAKER_FEE
from adapters.hyperliquid.instruments import BASE_TAKER_FEE
from adapters.hyperliquid.local_exchange import AccountConfig
from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY
from adapters.hyperliquid.local_exchange import test_account_address as funded_account_address
from adapters.hyperliquid.local_exchange.config import TEST_ACCOUNT_USDC
from adapters.hyperliquid.local_exchange.errors import BadRequest
from adapters.hyperliquid.schemas.user import UserFees
from tests.test_live_support import BTC_ID
from tests.test_live_support import KEY_ENV
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import live_settings
from tests.test_live_support import node_factory  # noqa: F401  (fixture)
from tests.test_local_exchange_info import NOBODY
from tests.test_local_exchange_info import assert_same_shape

# The answer documented on the gitbook "Info endpoint" page (query a user's fees), one item per list.
DOCUMENTED = {
    "dailyUserVlm": [{"date": "2025-05-23", "userCross": "0.0", "userAdd": "0.0", "exchange": "2852367.0770729999"}],
    "feeSchedule": {
        "cross": "0.00045",
        "add": "0.00015",
        "spotCross": "0.0007",
        "spotAdd": "0.0004",
        "tiers": {
            "vip": [
                {
                    "ntlCutoff": "5000000.0",
                    "cross": "0.0004",
                    "add": "0.00012",
                    "spotCross": "0.0006",
                    "spotAdd": "0.0003",
                }
            ],
            "mm": [{"makerFractionCutoff": "0.005", "add": "-0.00001"}],
        },
        "referralDiscount": "0.04",
        "stakingDiscountTiers": [{"bpsOfMaxSupply": "0.0", "discount": "0.0"}],
    },
    "userCrossRate": "0.000315",
    "userAddRate": "0.000105",
    "userSpotCrossRate": "0.00049",
    "userSpotAddRate": "0.00028",
    "activeReferralDiscount": "0.0",
    "trial": None,
    "feeTrialReward": "0.0",
    "nextTrialAvailableTimestamp": None,
    "stakingLink": {"type": "tradingUser", "stakingUser": "0x54c049d9c7d3c92c2462bf3d28e083f3d6805061"},
    "activeStakingDiscount": {"bpsOfMaxSupply": "4.7577998927", "discount": "0.3"},
}
REBATE_MAKER = Decimal("-0.00001")  # the first maker-rebate tier
VIP_TAKER = Decimal("0.0004")
_decode = msgspec.json.Decoder(UserFees).decode


def with_rates(**rates: Any) -> bytes:
    answer = copy.deepcopy(DOCUMENTED)
    answer.update(rates)
    return msgspec.json.encode(answer)


def rebate_account() -> AccountConfig:
    """The node's test account on a maker-rebate tier."""
    return AccountConfig(funded_account_address(), TEST_ACCOUNT_USDC, maker_fee=REBATE_MAKER, taker_fee=VIP_TAKER)


# -- schema ----------------------------------------------------------------------------------------------------------


def test_the_documented_answer_gives_the_account_rates():
    fees = _decode(msgspec.json.encode(DOCUMENTED))
    assert (fees.userAddRate, fees.userCrossRate) == (Decimal("0.000105"), Decimal("0.000315"))
    assert _decode(with_rates(userAddRate="-0.00001")).userAddRate == REBATE_MAKER


@pytest.mark.parametrize(
    ("rates", "error"),
    [
        ({"userAddRate": "cheap"}, "Invalid decimal"),
        ({"userCrossRate": "NaN"}, "userCrossRate NaN is not a fee rate"),
        ({"userAddRate": "Infinity"}, "userAddRate Infinity is not a fee rate"),
        ({"userCrossRate": "0.045"}, "userCrossRate 0.045 is not a fee rate"),  # a percentage read as a fraction
        ({"userAddRate": None}, "Expected `decimal`, got `null`"),
    ],
)
def test_a_malformed_rate_is_refused_naming_it(rates, error):
    with pytest.raises(msgspec.ValidationError, match=error):
        _decode(with_rates(**rates))


def test_an_answer_without_the_rates_is_refused():
    answer = {key: value for key, value in DOCUMENTED.items() if key != "userAddRate"}
    with pytest.raises(msgspec.ValidationError, match="missing required field `userAddRate`"):
        _decode(msgspec.json.encode(answer))


# -- local exchange --------------------------------------------------------------------------------------------------


async def test_the_local_exchange_answers_the_documented_shape_with_the_account_rates(exchange_factory, http_post):
    exchange = await exchange_factory(fund_test_account=False, accounts=(rebate_account(),))
    ours = await http_post(exchange, {"type": "userFees", "user": funded_account_address()})
    assert_same_shape(ours, DOCUMENTED, nullable=frozenset({"stakingLink"}))
    assert (ours["userAddRate"], ours["userCrossRate"]) == ("-0.00001", "0.0004")
    nobody = await http_post(exchange, {"type": "userFees", "user": NOBODY})
    assert (nobody["userAddRate"], nobody["userCrossRate"]) == ("0.00015", "0.00045"), "a new user is on the base tier"


@pytest.fixture
async def http_post():
    async with aiohttp.ClientSession() as session:

        async def post(exchange, body: dict) -> Any:
            async with session.post(f"{exchange.url}/info", json=body) as answer:
                assert answer.status == 200, await answer.text()
                return await answer.json()

        yield post


# -- the two clients of a node, in either connect order --------------------------------------------------------------


def test_one_provider_per_node_and_venue_url():
    """The node is its message bus: clients built for one bus share the provider, another node gets its own, and
    clients asking for different instruments are refused rather than one of them silently getting the other's."""
    clock = LiveClock()
    node_bus, other_bus = MessageBus(TraderId("TESTER-001"), clock), MessageBus(TraderId("TESTER-001"), clock)
    btc = InstrumentProviderConfig(load_ids=frozenset([BTC_ID]))
    config = HyperliquidDataClientConfig(environment="testnet", instrument_provider=btc)
    http = HyperliquidHttpClient(config.endpoints().http_url, WeightLimiter())  # never used: nothing is loaded
    provider = shared_provider(config, http, node_bus)
    assert shared_provider(config, http, node_bus) is provider
    assert shared_provider(config, http, other_bus) is not provider
    every_coin = msgspec.structs.replace(config, instrument_provider=InstrumentProviderConfig(load_all=True))
    with pytest.raises(ValueError, match="must load the same instruments"):
        shared_provider(every_coin, http, node_bus)


@pytest.mark.parametrize("exec_first", [False, True], ids=["data-then-exec", "exec-then-data"])
async def test_the_data_engine_ends_with_the_account_rates_whichever_client_connects_first(
    exchange_factory, monkeypatch, exec_first
):
    exchange = await exchange_factory(fund_test_account=False, accounts=(rebate_account(),))
    monkeypatch.setenv(KEY_ENV, TEST_ACCOUNT_KEY)
    clock = LiveClock()
    msgbus = MessageBus(TraderId("TESTER-001"), clock)
    sent: list[Any] = []
    msgbus.register("DataEngine.process", sent.append)
    endpoints = {"environment": "local", "base_url_http": exchange.url, "base_url_ws": exchange.ws_url}
    provider = InstrumentProviderConfig(load_ids=frozenset([BTC_ID]))
    loop, cache = asyncio.get_running_loop(), Cache()
    data_config = HyperliquidDataClientConfig(instrument_provider=provider, **endpoints)
    data = HyperliquidLiveDataClientFactory.create(loop, "HYPERLIQUID", data_config, msgbus, cache, clock)
    execution = HyperliquidLiveExecClientFactory.create(
        loop,
        "HYPERLIQUID",
        HyperliquidExecClientConfig(instrument_provider=provider, private_key_env=KEY_ENV, **endpoints),
        msgbus,
        cache,
        clock,
    )

    async def exec_connect_step() -> None:
        """What the execution client's connect does with instruments (the rest needs a running node)."""
        await execution._provider.initialize()
        await execution._apply_account_fees()

    try:
        if exec_first:
            await exec_connect_step()
            await data._connect()
        else:
            await data._connect()
            await exec_connect_step()
    finally:
        await data._disconnect()
        await execution._http.close()

    instruments = [item for item in sent if isinstance(item, Instrument) and item.id == BTC_ID]
    assert len(instruments) == 2, "each client sent the instrument once"
    assert (instruments[-1].maker_fee, instruments[-1].taker_fee) == (REBATE_MAKER, VIP_TAKER)
    assert data._provider is execution._provider, "one provider per node"


# -- a live node -----------------------------------------------------------------------------------------------------


async def test_a_live_node_quotes_with_the_account_maker_fee(exchange_factory, node_factory):
    exchange = await exchange_factory(fund_test_account=False, accounts=(rebate_account(),))
    live = await node_factory(exchange, live_settings())
    instrument = live.node.cache.instrument(BTC_ID)
    assert (instrument.maker_fee, instrument.taker_fee) == (REBATE_MAKER, VIP_TAKER)
    assert live.strategy._rules.maker_fee_bps == pytest.approx(-0.1), "the GLFT depths price in the account's rebate"


def _malformed(_request) -> dict:
    return {**DOCUMENTED, "userAddRate": "cheap"}


def _refused(_request) -> dict:
    raise BadRequest(422, "Failed to deserialize the JSON body into the target type")


@pytest.mark.parametrize("answer", [_malformed, _refused], ids=["malformed", "http-error"])
async def test_a_node_whose_fees_cannot_be_read_starts_on_the_base_tier(
    exchange_factory, node_factory, monkeypatch, answer
):
    exchange = await exchange_factory(fund_test_account=False, accounts=(rebate_account(),))
    monkeypatch.setitem(exchange.info._handlers, "userFees", answer)
    live = await node_factory(exchange, live_settings())
    assert live.node.trader.is_running and live.exec_client.is_connected
    instrument = live.node.cache.instrument(BTC_ID)
    assert (instrument.maker_fee, instrument.taker_fee) == (BASE_MAKER_FEE, BASE_TAKER_FEE)
    assert live.strategy._rules.maker_fee_bps == pytest.approx(1.5)

