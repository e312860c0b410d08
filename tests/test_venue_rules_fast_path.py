"""``HyperliquidRules.round_price`` rounds a float in float arithmetic where that is provably exact: every result
must be the ``Decimal`` that ``rules.round_price`` (the one source of truth) gives, digit for digit; its ``tick_at``,
kept per order of magnitude, must be ``rules.tick_at``'s.

Prices: every book level of the real archive hour (BTC) and of the 9-minute ETH and SOL captures, moved by the
depths a ladder quotes at (fractions of a bp to tens of bps) both ways, rounded both ways; plus the decade edges and
prices below the smallest tick, where the fast path must hand over to ``rules.round_price`` (or its error).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.hyperliquid import loaders
from adapters.hyperliquid.meta import default_instrument
from adapters.hyperliquid.meta import instrument_for
from adapters.hyperliquid.rules import Rounding
from adapters.hyperliquid.rules import round_price
from adapters.hyperliquid.rules import tick_at
from adapters.hyperliquid.venue_rules import HyperliquidRules
from mm_strategy.venue_rules import Passive

DEPTHS_BPS = (0.0, 0.013, 0.5, 1.0, 1.37, 2.5, 4.04, 10.0, 33.3)
DIRECTIONS = ((Passive.DOWN, Rounding.DOWN), (Passive.UP, Rounding.UP))


def _expected(price: float, sz_decimals: int, rounding: Rounding):
    try:
        return round_price(price, sz_decimals, rounding).as_tuple()
    except ValueError:
        return "error"


def _fast(rules: HyperliquidRules, price: float, direction: Passive):
    try:
        return rules.round_price(price, direction).as_tuple()
    except ValueError:
        return "error"


def _book_prices(path, coin: str | None) -> tuple[set[float], int]:
    instrument = default_instrument() if coin is None else instrument_for(coin)
    result = loaders.parse_file(path, instrument)
    prices = {d.order.price.as_double() for d in result.deltas if d.order.price.as_double() > 0}
    return prices, instrument.size_precision


@pytest.mark.parametrize("coin", [None, "ETH", "SOL"])
def test_every_real_book_price_rounds_as_rules_round_price(coin, archive_btc_hour, hl_captures) -> None:
    path = archive_btc_hour if coin is None else hl_captures / f"hl_{coin}_20250903.gz"
    prices, sz_decimals = _book_prices(path, coin)
    rules = HyperliquidRules(type("Instrument", (), {"size_precision": sz_decimals})())
    assert len(prices) > 100
    checked = fast = 0
    for level in sorted(prices):
        for depth_bps in DEPTHS_BPS:
            for price in (level * (1.0 - depth_bps * 1e-4), level * (1.0 + depth_bps * 1e-4)):
                for direction, rounding in DIRECTIONS:
                    assert _fast(rules, price, direction) == _expected(price, sz_decimals, rounding), (price, direction)
                    fast += rules._round_float(price, direction is Passive.UP) is not None
                    checked += 1
    assert fast > 0.5 * checked  # the float path does most of the work on real prices


@pytest.mark.parametrize("coin", [None, "ETH", "SOL"])
def test_the_tick_kept_per_magnitude_is_rules_tick_at(coin, archive_btc_hour, hl_captures) -> None:
    path = archive_btc_hour if coin is None else hl_captures / f"hl_{coin}_20250903.gz"
    prices, sz_decimals = _book_prices(path, coin)
    rules = HyperliquidRules(type("Instrument", (), {"size_precision": sz_decimals})())
    extremes = [Decimal("0.000012345"), Decimal("9.9999"), Decimal("10"), Decimal("99999"), Decimal("100000")]
    for price in [Decimal(repr(p)) for p in sorted(prices)] + extremes:
        assert rules.tick_at(price) == tick_at(price, sz_decimals), price
        assert rules.tick_at(price).as_tuple() == tick_at(price, sz_decimals).as_tuple()
    for invalid in (Decimal(0), Decimal("-1")):
        with pytest.raises(ValueError):
            rules.tick_at(invalid)


@pytest.mark.parametrize("sz_decimals", [0, 2, 4, 5])
def test_decade_edges_and_sub_tick_prices_hand_over_to_the_decimal_rules(sz_decimals) -> None:
    rules = HyperliquidRules(type("Instrument", (), {"size_precision": sz_decimals})())
    edges = [9999.95, 9999.999999, 99999.5, 100000.0, 0.999999, 1.0, 1e-9, 1e-4, 0.00012345, 123456789.123]
    for price in edges + [x * (1 + s) for x in edges for s in (1e-15, -1e-15, 1e-12)]:
        for direction, rounding in DIRECTIONS:
            assert _fast(rules, price, direction) == _expected(price, sz_decimals, rounding), (price, direction)
