"""The client and the local exchange agree on the venue's tables (issue 12).

Weights are one table (``weights.py``) both sides import; the venue texts the clients match live in
``constants.py`` and the texts the local exchange answers in ``local_exchange/errors.py``, and this proves they
agree. ``fundingHistory`` is the weight they used to disagree on: the exchange charged it per item, the client
did not.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.hyperliquid import constants
from adapters.hyperliquid import parsing
from adapters.hyperliquid import weights
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.http.info import HyperliquidInfoEndpoints
from adapters.hyperliquid.http.ratelimit import WeightLimiter
from adapters.hyperliquid.local_exchange import errors
from adapters.hyperliquid.local_exchange import info as local_info
from tests.test_local_exchange_support import capture
from tests.test_local_exchange_support import exchange  # noqa: F401  (fixture)
from tests.test_local_exchange_support import venue_factory  # noqa: F401  (fixture)


def test_weights_follow_the_documented_table():
    assert [weights.action_weight(n) for n in (1, 39, 40, 79, 80)] == [1, 1, 2, 2, 3]
    assert [weights.info_weight(t) for t in ("l2Book", "orderStatus", "userRole", "meta", "fundingHistory")] == [
        2,
        2,
        60,
        20,
        20,
    ]
    assert weights.info_items_weight("fundingHistory", 45) == weights.info_items_weight("userFills", 45) == 2
    assert weights.info_items_weight("candleSnapshot", 119) == 1 and weights.info_items_weight("meta", 500) == 0


async def test_the_client_charges_a_funding_history_answer_per_item(exchange, sdk_cassettes):
    real_rates = capture(sdk_cassettes, "test_get_funding_history[None].yaml")
    assert len(real_rates) >= 40
    exchange.venue.funding_history.extend(real_rates)
    limiter = WeightLimiter(clock=lambda: 0.0)  # never refills: what it lacks is exactly what it was charged
    client = HyperliquidHttpClient(exchange.url, limiter)
    answer = await HyperliquidInfoEndpoints(client)._query(
        {"type": "fundingHistory", "coin": "BTC", "startTime": 0}, list
    )
    await client.close()
    served = [rate for rate in real_rates if rate["coin"] == "BTC"][: local_info.MAX_FUNDING]
    assert answer == served
    charged = weights.IP_WEIGHT_PER_MIN - limiter.available
    assert (
        charged
        == 20 + len(served) // 20
        == weights.info_weight("fundingHistory") + weights.info_items_weight("fundingHistory", len(served))
    )


def test_the_texts_the_client_matches_are_the_texts_the_exchange_answers():
    bad_alo = errors.BAD_ALO_PX.format(bid="42650", ask="42651")
    assert parsing.is_post_only_reject(bad_alo)
    assert constants.MISSING_ORDER_ERROR == errors.MISSING_ORDER
    address_limit = errors.ADDRESS_RATE_LIMIT.format(used=10_001, cap=10_000, volume=Decimal("0.00"))
    assert address_limit.startswith(constants.ADDRESS_LIMIT_PREFIX)
    assert constants.MAX_FILLS_PER_RESPONSE == local_info.MAX_FILLS


def test_the_client_reads_the_venue_texts_with_their_asset_suffix():
    """Live, every per-order and per-cancel error ends in `` asset=N`` (captures: "Order was never placed, already
    canceled, or filled. asset=4"); the client must still recognise them."""
    assert parsing.is_missing_order("Order was never placed, already canceled, or filled. asset=4")
    assert parsing.is_missing_order(errors.MISSING_ORDER) and not parsing.is_missing_order(None)
    assert not parsing.is_missing_order("Order was never placed, already canceled, or filled. asset=4 (retry)")
    assert parsing.venue_error_text(f"{errors.REDUCE_ONLY} asset=3") == errors.REDUCE_ONLY
    assert parsing.is_post_only_reject("Post only order would have immediately matched, bbo was 64143@64144. asset=0")
    refused_modify = errors.MODIFY_NEW_ORDER_FAILED.format(reason=errors.BAD_ALO_PX.format(bid="2440.1", ask="2440.2"))
    assert refused_modify.startswith(constants.MODIFY_NEW_ORDER_FAILED_PREFIX)
    assert parsing.modify_canceled_old_order(refused_modify)
    assert not parsing.modify_canceled_old_order(errors.MODIFY_DEAD_ORDER)
    assert errors.OVER_WEIGHT_LIMIT.format(limit=weights.MAX_ACTION_ITEMS) == "Signed action over weight limit of 200."
