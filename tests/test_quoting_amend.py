"""The diff's amendments: an order not kept for its level is moved to that level with one modify when it can be, and
cancelled otherwise; one with a modify in flight is judged where the modify puts it (``quoting.diff_quotes``)."""

from decimal import Decimal

from nautilus_trader.model.enums import OrderSide

from mm_strategy.quoting import Amendment
from mm_strategy.quoting import RestingOrder
from mm_strategy.quoting import diff_quotes
from tests.test_rules_and_quoting import _ladder
from tests.test_rules_and_quoting import _symmetric

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _order(order_id, side, price, level, size="0.005", amendable=True, reduce_only=False):
    return RestingOrder(order_id, side, Decimal(price), Decimal(size), level, amendable=amendable, reduce_only=reduce_only)


def test_each_order_not_kept_is_amended_to_its_own_level_only():
    bids, asks = _ladder()  # bids 42630 / 42621 / 42608, asks 42673 / 42682 / 42695 (0.005 each)
    resting = [
        _order("keep-bid", BUY, 42630, 0),  # at its level: kept, as before (queue place)
        _order("stale-bid", BUY, 42500, 1),  # its level moved 30 bps: amended there
        _order("big-ask", SELL, 42673, 0, size="0.008"),  # at its price but larger than the level: amended (size)
        _order("sent-ask", SELL, 42600, 1, amendable=False),  # not modifiable (e.g. not yet accepted): cancel + place
        _order("deep-ask", SELL, 42800, 2, reduce_only=True),  # reduce-only, the cycle's orders are not: cancel + place
        _order("gone-bid", BUY, 42000, 3),  # its level is not wanted any more: cancelled, never moved to another
        _order("foreign", SELL, 42695, None),  # not placed by this ladder
    ]
    diff = diff_quotes(bids + asks, resting, _symmetric(Decimal(1)))
    by_id = {o.order_id: o for o in resting}
    assert [o.order_id for o in diff.keep] == ["keep-bid"]
    assert diff.amend == (Amendment(by_id["stale-bid"], bids[1]), Amendment(by_id["big-ask"], asks[0]))
    assert {o.order_id for o in diff.cancel} == {"sent-ask", "deep-ask", "gone-bid", "foreign"}
    assert [(q.side, q.level) for q in diff.place] == [(BUY, 2), (SELL, 1), (SELL, 2)]
    # the same reduce-only order is amended when the cycle's orders are reduce-only too (a modify keeps the flag)
    reducing = diff_quotes(bids + asks, resting, _symmetric(Decimal(1)), reduce_only=True)
    assert Amendment(by_id["deep-ask"], asks[2]) in reducing.amend
    assert {a.order.order_id for a in reducing.amend} == {"deep-ask"}  # the others carry the other flag


def test_the_keep_rules_come_first_and_of_several_stale_orders_the_nearest_is_amended():
    bids, _ = _ladder()
    resting = [
        _order("far", BUY, 42500, 0),
        _order("near", BUY, 42600, 0),
        _order("near-too", BUY, 42660, 0),  # as near, above: the first of equally near ones wins
        _order("kept", BUY, 42621, 1),
        _order("twin", BUY, 42560, 1),  # its level has an order to keep: cancelled, not amended
    ]
    diff = diff_quotes(bids, resting, _symmetric(Decimal(1)))
    assert [o.order_id for o in diff.keep] == ["kept"]
    assert [(a.order.order_id, a.level.level) for a in diff.amend] == [("near", 0)]
    assert {o.order_id for o in diff.cancel} == {"far", "near-too", "twin"}
    assert [q.level for q in diff.place] == [2]


def test_an_order_with_a_modify_in_flight_is_judged_where_the_modify_puts_it():
    """The strategy describes it at its new price and size, never amendable: kept while that still fits its level
    (no second modify racing the first, its level not placed twice), cancelled and its level placed anew once the
    ladder moved on, as an order on its way to the venue is."""
    bids, asks = _ladder()  # bids 42630 / 42621 / 42608
    resting = [
        _order("moving-to-bid-0", BUY, 42630, 0, amendable=False),  # its modify puts it at level 0's price
        _order("moving-to-stale-bid-1", BUY, 42600, 1, amendable=False),  # 21 below level 1 since the modify left
    ]
    diff = diff_quotes(bids + asks, resting, _symmetric(Decimal(1)))
    assert [o.order_id for o in diff.keep] == ["moving-to-bid-0"] and diff.amend == ()
    assert [o.order_id for o in diff.cancel] == ["moving-to-stale-bid-1"]
    assert [(q.side, q.level) for q in diff.place if q.side == BUY] == [(BUY, 1), (BUY, 2)]
