"""Hyperliquid price/size rules on real examples, and the ladder/diff logic of quoting.py."""

import json
import re
from pathlib import Path
from types import SimpleNamespace
from decimal import Decimal

import msgspec
import pytest
from nautilus_trader.model.enums import OrderSide

from adapters.hyperliquid.rules import Rounding
from adapters.hyperliquid.rules import is_valid_price
from adapters.hyperliquid.rules import is_valid_size
from adapters.hyperliquid.rules import round_price
from adapters.hyperliquid.rules import round_size_down
from adapters.hyperliquid.rules import tick_at
from adapters.hyperliquid.venue_rules import HyperliquidRules
from mm_strategy.quoting import LadderSpec
from mm_strategy.quoting import RequoteTolerance
from mm_strategy.quoting import RestingOrder
from mm_strategy.quoting import build_ladder
from mm_strategy.quoting import diff_quotes
from mm_strategy.quoting import requote_tolerance
from mm_strategy.quoting import level_offsets_bps
from mm_strategy.venue_rules import Passive
from mm_strategy.venue_rules import venue_rules_for
from tests.strategy_documents import parse_strategy_config
from tests.strategy_documents import strategy_document

BTC_SZ = 5


def test_published_price_and_size_rule_vectors(signing_vectors):
    cases = json.loads(signing_vectors.read_text())["price_and_size_rule_vectors"]["cases"]
    checked = 0
    for case in cases:
        sz = case["szDecimals"] if case["szDecimals"] is not None else 0
        if "price" in case:
            assert is_valid_price(case["price"], sz, spot=case["market"] == "spot") == case["valid"], case
        else:
            assert is_valid_size(case["size"], sz) == case["valid"], case
        checked += 1
    assert checked == len(cases) == 13


def test_ccxt_client_rounding_examples(signing_vectors):
    # ccxt rounds to 5 significant figures then to the decimals cap; the wire strings are the venue's.
    sz_decimals = {"BTC/USDC:USDC": 5, "ETH/USDC:USDC": 4, "MEME/USDC:USDC": 0, "SOL/USDC:USDC": 2}
    cases = json.loads(signing_vectors.read_text())["client_rounding_examples_ccxt"]["cases"]
    for case in cases:
        sz = sz_decimals[case["symbol"]]
        assert str(round_price(case["input_price"], sz)) == case["wire_p"], case
        assert is_valid_price(case["wire_p"], sz)


@pytest.mark.parametrize(
    ("price", "valid"),
    [
        ("42651", True),  # every level of the real 2024-01-01 hour is a whole dollar
        ("42651.5", False),  # 6 significant figures although BTC allows 1 decimal
        ("42651.0", True),
        ("105055", True),  # integers are always valid, even with 6 significant figures
        ("9999.5", True),  # below $10k BTC gets a 0.1 tick
        ("9999.55", False),
    ],
)
def test_btc_prices_valid_and_invalid(price, valid):
    assert is_valid_price(price, BTC_SZ) is valid


def test_btc_tick_depends_on_price_level():
    assert tick_at(Decimal("42651"), BTC_SZ) == Decimal(1)
    assert tick_at(Decimal("105055"), BTC_SZ) == Decimal(1)
    assert tick_at(Decimal("9999.5"), BTC_SZ) == Decimal("0.1")


def test_rounding_directions_stay_passive():
    assert round_price(42651.7, BTC_SZ, Rounding.DOWN) == Decimal(42651)
    assert round_price(42651.2, BTC_SZ, Rounding.UP) == Decimal(42652)
    assert round_price(9999.95, BTC_SZ, Rounding.UP) == Decimal(10000)  # crosses into the coarser tick
    assert round_size_down("0.0014646", BTC_SZ) == Decimal("0.00146")


# the rules read only the instrument's size precision (szDecimals)
HL_BTC_RULES = HyperliquidRules(SimpleNamespace(size_precision=BTC_SZ))
SPEC = LadderSpec(num_levels=3, level_spacing_bps=2.0, level_spacing_ratio=1.5, rules=HL_BTC_RULES)
# real top of book from the 2024-01-01 hour: 42651 / 42652
REAL_TOP = {"centre": 42651.5, "best_bid": Decimal(42651), "best_ask": Decimal(42652)}


def _ladder(bid_depth_bps=5.0, ask_depth_bps=5.0, bid_size="0.005", bid_budget="0.05"):
    return build_ladder(
        **REAL_TOP,
        bid_depth_bps=bid_depth_bps,
        ask_depth_bps=ask_depth_bps,
        bid_size=Decimal(bid_size),
        ask_size=Decimal("0.005"),
        bid_budget=Decimal(bid_budget),
        ask_budget=Decimal("0.05"),
        spec=SPEC,
    )


def test_level_offsets_are_geometric():
    assert level_offsets_bps(SPEC) == [0.0, 2.0, 5.0]  # gaps 2, 3
    assert SPEC.offsets_bps == (0.0, 2.0, 5.0)  # what build_ladder uses, built once with the spec


def test_ladder_prices_valid_monotone_and_not_crossed():
    bids, asks = _ladder()
    # bid 0: 42651.5·(1 − 5e-4) = 42630.17 → 42630 (down); ask 0: 42651.5·(1 + 5e-4) = 42672.83 → 42673 (up)
    assert [b.price for b in bids] == [Decimal(42630), Decimal(42621), Decimal(42608)]
    assert [a.price for a in asks] == [Decimal(42673), Decimal(42682), Decimal(42695)]
    assert all(is_valid_price(q.price, BTC_SZ) for q in bids + asks)
    assert bids[0].price < asks[0].price


def test_skewed_reducing_side_lands_at_touch_never_crosses():
    # short inventory: the bid depth is negative (the GLFT bid sits above the mid); post-only keeps it below the ask
    bids, asks = _ladder(bid_depth_bps=-3.0, ask_depth_bps=13.0)
    assert bids[0].price == Decimal(42651)  # best ask − 1 tick
    assert bids[1].price == Decimal(42650)  # strictly below the level above it
    assert bids[0].price < asks[0].price


def test_budget_and_min_notional_limit_levels():
    bids, _ = _ladder(bid_budget="0.0072")
    # 0.005 then the remaining 0.0022 (= $93.8 ≥ $10); nothing left for level 2
    assert [b.size for b in bids] == [Decimal("0.005"), Decimal("0.0022")]
    tiny, _ = _ladder(bid_size="0.0002")
    assert tiny == []  # 0.0002 BTC ≈ $8.5 < $10 minimum notional
    exact, _ = _ladder(bid_budget="0.01")  # exactly two whole orders, then nothing left
    assert [b.size for b in exact] == [Decimal("0.005"), Decimal("0.005")]
    rounded, _ = _ladder(bid_size="0.0050009", bid_budget="0.0100017")  # each size truncated to the 5-decimal step
    assert [b.size for b in rounded] == [Decimal("0.00500"), Decimal("0.00500")]


def _resting(order_id, side, price, size="0.005", level=0):
    return RestingOrder(order_id, side, Decimal(price), Decimal(size), level)


def test_diff_keeps_an_order_only_for_its_own_level_within_the_tolerance():
    bids, asks = _ladder()  # bids 42630 / 42621 / 42608, asks 42673 / 42682 / 42695
    resting = [
        _resting("keep-bid", OrderSide.BUY, 42630, level=0),  # exact
        _resting("near-ask", OrderSide.SELL, 42674, level=0),  # 1 tick off: within tolerance
        _resting("far-bid", OrderSide.BUY, 42500, level=1),  # its level moved by 30 bps
        _resting("partial", OrderSide.SELL, 42682, size="0.002", level=1),  # partly filled: keeps its queue place
        _resting("foreign", OrderSide.SELL, 42695, level=None),  # not placed by this ladder
    ]
    diff = diff_quotes(bids + asks, resting, tolerances=_symmetric(Decimal(1)))
    assert {o.order_id for o in diff.keep} == {"keep-bid", "near-ask", "partial"}
    assert {o.order_id for o in diff.cancel} == {"far-bid", "foreign"}
    assert [(q.side, q.level) for q in diff.place] == [(OrderSide.BUY, 1), (OrderSide.BUY, 2), (OrderSide.SELL, 2)]
    strict = diff_quotes(bids + asks, resting, tolerances=_symmetric(Decimal(0)))
    assert {o.order_id for o in strict.keep} == {"keep-bid", "partial"}


def test_after_a_move_the_deepest_order_is_not_promoted_to_the_top_level():
    # Issue 10 defect 2: the mid fell 9 ticks; the old level-2 bid (42621) now sits within 5 bps of the new level-0
    # price (42621 after the move), and the old diff kept it as level 0 and cancelled the shallow ones. Level by
    # level, each resting order is compared with its own level only: all three are stale and replaced.
    bids, _ = _ladder()
    resting = [_resting(f"bid-{q.level}", OrderSide.BUY, q.price, level=q.level) for q in bids]
    moved = build_ladder(
        centre=42642.5,
        best_bid=Decimal(42642),
        best_ask=Decimal(42643),
        bid_depth_bps=5.0,
        ask_depth_bps=5.0,
        bid_size=Decimal("0.005"),
        ask_size=Decimal("0.005"),
        bid_budget=Decimal("0.05"),
        ask_budget=Decimal("0.05"),
        spec=SPEC,
    )[0]
    assert moved[0].price == Decimal(42621) == bids[1].price  # the old level 1 sits exactly at the new level 0
    diff = diff_quotes(moved, resting, tolerances=_symmetric(Decimal(1)))
    assert diff.keep == () and {o.order_id for o in diff.cancel} == {"bid-0", "bid-1", "bid-2"}
    assert [q.level for q in diff.place] == [0, 1, 2]


def test_duplicate_orders_for_one_level_keep_the_nearest():
    bids, _ = _ladder()
    resting = [_resting("a", OrderSide.BUY, 42631), _resting("b", OrderSide.BUY, 42630)]
    diff = diff_quotes(bids[:1], resting, tolerances=_symmetric(Decimal(1)))
    assert [o.order_id for o in diff.keep] == ["b"] and [o.order_id for o in diff.cancel] == ["a"]
    # equally near (one tick either side): the first one is kept; a nearer one out of size is passed over
    tied = [
        _resting("oversized", OrderSide.BUY, 42630, size="0.006"),
        _resting("above", OrderSide.BUY, 42631),
        _resting("below", OrderSide.BUY, 42629),
    ]
    diff = diff_quotes(bids[:1], tied, tolerances=_symmetric(Decimal(1)))
    assert [o.order_id for o in diff.keep] == ["above"] and [o.order_id for o in diff.cancel] == ["oversized", "below"]


def _symmetric(px: Decimal) -> dict[OrderSide, RequoteTolerance]:
    return _both(RequoteTolerance(inside_px=px, deeper_px=px))


def _both(tolerance: RequoteTolerance) -> dict[OrderSide, RequoteTolerance]:
    return {OrderSide.BUY: tolerance, OrderSide.SELL: tolerance}


def test_requote_tolerance_is_a_tick_or_a_fraction_of_the_half_spread():
    # BTC: tick 1 USD; half-spread 1.5 bps at 111,000 = 16.65 USD → a quarter is 4.16 USD, larger than a tick
    assert requote_tolerance(Decimal(1), 16.65, 1.0, 0.25, 2.0) == RequoteTolerance(Decimal("4.1625"), Decimal("8.3250"))
    # a tight half-spread of 0.3 USD: one tick wins
    assert requote_tolerance(Decimal(1), 0.3, 1.0, 0.25, 2.0) == RequoteTolerance(Decimal(1), Decimal(2))


def test_an_order_deeper_than_its_level_is_kept_longer_than_one_inside_it():
    # Hysteresis: bids 42630 / 42621 / 42608, asks 42673 / 42682 / 42695; inside 1 USD, deeper 2 USD. Each order is
    # 2 USD off its level: kept when it is further from the centre than the level (a lower bid, a higher ask),
    # cancelled and replaced when it is nearer (a stale inside quote is the one that gets picked off).
    bids, asks = _ladder()
    resting = [
        _resting("deep-bid", OrderSide.BUY, 42628, level=0),
        _resting("inside-bid", OrderSide.BUY, 42623, level=1),
        _resting("deep-ask", OrderSide.SELL, 42675, level=0),
        _resting("inside-ask", OrderSide.SELL, 42680, level=1),
        _resting("too-deep-bid", OrderSide.BUY, 42605, level=2),  # 3 USD deeper: beyond even the deeper bound
    ]
    diff = diff_quotes(bids + asks, resting, tolerances=_both(RequoteTolerance(inside_px=Decimal(1), deeper_px=Decimal(2))))
    assert {o.order_id for o in diff.keep} == {"deep-bid", "deep-ask"}
    assert {o.order_id for o in diff.cancel} == {"inside-bid", "inside-ask", "too-deep-bid"}
    assert [(q.side, q.level) for q in diff.place] == [(OrderSide.BUY, 1), (OrderSide.BUY, 2), (OrderSide.SELL, 1), (OrderSide.SELL, 2)]


def test_fixed_tick_venues_round_with_the_instruments_own_increments():
    # A Binance-style instrument: tick 0.1, size step 0.001, $5 minimum notional.
    instrument = SimpleNamespace(
        price_increment=SimpleNamespace(as_decimal=lambda: Decimal("0.1")),
        size_increment=SimpleNamespace(as_decimal=lambda: Decimal("0.001")),
        min_notional=SimpleNamespace(as_decimal=lambda: Decimal(5)),
    )
    rules = venue_rules_for(instrument, None)
    assert rules.tick_at(Decimal("111000.0")) == Decimal("0.1")  # no 5-significant-figure rule
    assert rules.round_price(111000.07, Passive.DOWN) == Decimal("111000.0")
    assert rules.round_price(111000.01, Passive.UP) == Decimal("111000.1")
    assert rules.round_size_down(Decimal("0.0129")) == Decimal("0.012") and rules.min_notional == Decimal(5)
    bids, asks = build_ladder(
        centre=111000.05, best_bid=Decimal("111000.0"), best_ask=Decimal("111000.1"), bid_depth_bps=1.0,
        ask_depth_bps=1.0, bid_size=Decimal("0.01"), ask_size=Decimal("0.01"), bid_budget=Decimal(1),
        ask_budget=Decimal(1), spec=LadderSpec(3, 1.0, 1.5, rules=rules),
    )
    assert [b.price for b in bids] == [Decimal("110988.9"), Decimal("110977.8"), Decimal("110961.1")]
    assert asks[0].price == Decimal("111011.2")


def test_the_strategy_side_of_the_code_imports_no_venue_adapter():
    # DESIGN §1: venue rules reach the strategy through an interface, and the node builders (backtest.py,
    # live.py) get the venue's clients from its node module (adapters/<venue>/node.py) at run time.
    root = Path(__file__).resolve().parents[1] / "mm_strategy"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if re.search(r"^\s*(from|import)\s+adapters\b", path.read_text(), re.M)
    ]
    assert offenders == []


def test_a_kept_order_never_reaches_a_neighbouring_levels_price():
    # Review: with a deeper bound wider than the level spacing, a level-0 bid kept 9 USD deep sat at the new level
    # 1's price and the ladder's best bid was not quoted. Bids 42630 / 42621 / 42608 with a 10 USD deeper bound:
    # level 0 at 42621 (level 1's price) and level 1 at 42608 (level 2's) are replaced; level 2 at 42600 has no
    # deeper neighbour and stays; a level-1 ask 10 USD inside (42672) passes level 0's price (42673) and goes.
    bids, asks = _ladder()
    resting = [
        _resting("bid-0-at-level-1", OrderSide.BUY, 42621, level=0),
        _resting("bid-1-at-level-2", OrderSide.BUY, 42608, level=1),
        _resting("bid-2-deep", OrderSide.BUY, 42600, level=2),
        _resting("ask-1-past-level-0", OrderSide.SELL, 42672, level=1),
    ]
    wide = _both(RequoteTolerance(inside_px=Decimal(10), deeper_px=Decimal(10)))
    diff = diff_quotes(bids + asks, resting, tolerances=wide)
    assert [o.order_id for o in diff.keep] == ["bid-2-deep"]
    assert [(q.side, q.level) for q in diff.place] == [(OrderSide.BUY, 0), (OrderSide.BUY, 1), *((OrderSide.SELL, k) for k in range(3))]


def test_each_side_has_its_own_tolerance():
    # The inventory-reducing side gets no hysteresis (the strategy passes it ``symmetric()``): an ask 2 USD deeper
    # than its level is replaced there while the bid 2 USD deeper is kept.
    bids, asks = _ladder()
    resting = [_resting("deep-bid", OrderSide.BUY, 42628, level=0), _resting("deep-ask", OrderSide.SELL, 42675, level=0)]
    hysteretic = RequoteTolerance(inside_px=Decimal(1), deeper_px=Decimal(2))
    diff = diff_quotes(bids + asks, resting, tolerances={OrderSide.BUY: hysteretic, OrderSide.SELL: hysteretic.symmetric()})
    assert [o.order_id for o in diff.keep] == ["deep-bid"] and [o.order_id for o in diff.cancel] == ["deep-ask"]


def test_a_deeper_tolerance_below_the_inside_one_fails_naming_the_field():
    for bad in (0.5, 5.0):
        with pytest.raises(msgspec.ValidationError, match=r"GLFTMarketMakerConfig.requote_tolerance_deeper_mult: must be in \[1, 4\]"):
            parse_strategy_config(strategy_document(requote_tolerance_deeper_mult=bad))
    assert parse_strategy_config(strategy_document(requote_tolerance_deeper_mult=1.0)).requote_tolerance_deeper_mult == 1.0
