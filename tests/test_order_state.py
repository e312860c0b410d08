"""The execution client's order-state rules, one arrival order at a time (``adapters/hyperliquid/order_state.py``).

Each test feeds venue news in the order the venue's channels can deliver it and checks the events emitted; the
races are those NautilusTrader's own Hyperliquid adapter got wrong: a modify's two legs reported in either order
(#3827), a fill on the new leg before anything else (#3972, #4270), a fill on the old leg while the modify is in
flight (#4154), plus fills and cancels that overtake the REST answer, and lost answers settled by a look-up.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.hyperliquid.order_state import Accepted
from adapters.hyperliquid.order_state import Canceled
from adapters.hyperliquid.order_state import Filled
from adapters.hyperliquid.order_state import FillNews
from adapters.hyperliquid.order_state import ModifyRejected
from adapters.hyperliquid.order_state import NewsKind
from adapters.hyperliquid.order_state import OrderNews
from adapters.hyperliquid.order_state import OrderState
from adapters.hyperliquid.order_state import Rejected
from adapters.hyperliquid.order_state import Updated

OID, NEW_OID = 1001, 1002
TS = 1_700_000_000_000_000_000
TIMEOUT_S = 5.0
D = Decimal


def order(quantity: str = "1", accepted: bool = False) -> OrderState:
    state = OrderState("O-1", "S-1", "BTC-USD-PERP.HYPERLIQUID", "0x" + "ab" * 16, D(quantity))
    if accepted:
        assert state.on_place_answer(OID, None, TS) == [Accepted(OID, TS)]
    return state


def news(kind: NewsKind, oid: int = OID, leg_filled: str = "0", status: str = "") -> OrderNews:
    return OrderNews(oid, kind, D(leg_filled), TS, status or kind.value)


def fill(qty: str, tid: str, oid: int = OID) -> FillNews:
    return FillNews(oid, tid, D(qty), TS)


# -- placing ----------------------------------------------------------------------------------------------------


def test_fill_before_the_rest_answer_accepts_then_fills_once():
    state = order()
    first = fill("0.4", "t1")
    assert state.on_fill(first) == [Accepted(OID, TS), Filled(first)]
    assert state.on_place_answer(OID, None, TS) == [], "the REST answer finds the order accepted"
    assert state.on_fill(first) == [], "the same trade id from the other stream or a resync"
    assert state.filled_qty == D("0.4") and not state.terminal


def test_cancel_before_the_rest_answer_accepts_then_cancels():
    state = order()
    assert state.on_news(news(NewsKind.CANCELED), now_s=0.0) == [Accepted(OID, TS), Canceled(TS)]
    assert state.on_place_answer(OID, None, TS) == []
    assert state.on_news(news(NewsKind.CANCELED), now_s=0.0) == [], "CANCELED at most once"


def test_stream_rejection_waits_for_the_rest_answers_full_text():
    state = order()
    state.submit_in_flight = True
    assert state.on_news(news(NewsKind.REJECTED, status="badAloPxRejected"), now_s=0.0) == []
    state.submit_in_flight = False
    text = "Post only order would have immediately matched, bbo was 42726@42727."
    assert state.on_place_answer(None, text, TS) == [Rejected(text, TS)]
    assert state.on_not_placed("not placed", TS) == [], "REJECTED at most once"


def test_open_status_overtaking_the_rest_answer_accepts_once():
    state = order()
    assert state.on_news(news(NewsKind.OPEN), now_s=0.0) == [Accepted(OID, TS)]
    assert state.on_place_answer(OID, None, TS) == []


# -- a cancel and its fills -------------------------------------------------------------------------------------


def test_a_cancel_overtaking_its_fills_is_held_until_they_arrive():
    state = order(accepted=True)
    assert state.on_news(news(NewsKind.CANCELED, leg_filled="0.5"), now_s=0.0) == [], "held: 0.5 filled, 0 seen"
    part = fill("0.2", "t1")
    assert state.on_fill(part) == [Filled(part)]
    rest = fill("0.3", "t2")
    assert state.on_fill(rest) == [Filled(rest), Canceled(TS)], "CANCELED right after the last fill"
    assert state.closed and not state.awaited


def test_a_cancel_whose_fills_never_come_closes_after_the_resync_gives_up():
    state = order(accepted=True)
    assert state.on_news(news(NewsKind.CANCELED, leg_filled="0.5"), now_s=100.0) == []
    assert not state.fills_overdue(104.0, TIMEOUT_S) and state.give_up_overdue_fills(104.0, TIMEOUT_S) == []
    assert state.fills_overdue(106.0, TIMEOUT_S), "overdue: the client resyncs"
    assert state.missing_fills_qty() == D("0.5")
    assert state.give_up_overdue_fills(106.0, TIMEOUT_S) == [Canceled(TS)]


def test_a_filled_status_without_its_fills_is_overdue_until_they_arrive():
    state = order(accepted=True)
    assert state.on_news(news(NewsKind.FILLED, leg_filled="1"), now_s=100.0) == []
    assert state.fills_overdue(106.0, TIMEOUT_S)
    whole = fill("1", "t1")
    assert state.on_fill(whole) == [Filled(whole)]
    assert not state.awaited and state.terminal
    assert state.on_news(news(NewsKind.CANCELED, leg_filled="1"), now_s=107.0) == [], "no CANCELED once filled"


def test_fills_an_order_held_before_a_restart_are_not_emitted_again():
    state = order(accepted=True)
    state.seed_fill(OID, "t1", D("0.4"))
    assert state.on_fill(fill("0.4", "t1")) == []
    assert state.on_news(news(NewsKind.CANCELED, leg_filled="0.4"), now_s=0.0) == [Canceled(TS)]


# -- a lost answer, then a look-up or a resync ------------------------------------------------------------------


def test_a_lost_place_answer_then_a_look_up_that_finds_fills_the_stream_lost():
    state = order()
    state.submit_in_flight = False  # the answer was lost: nothing emitted yet
    assert state.on_news(news(NewsKind.OPEN, leg_filled="0.3"), now_s=100.0) == [Accepted(OID, TS)]
    assert state.fills_overdue(106.0, TIMEOUT_S), "the look-up showed 0.3 filled that no stream delivered"
    recovered = fill("0.3", "t1")
    assert state.on_fill(recovered) == [Filled(recovered)], "the resync's userFillsByTime brings it"
    assert not state.awaited


def test_a_lost_place_answer_and_no_record_at_the_venue_rejects():
    state = order()
    assert state.on_not_placed("not placed: connection lost", TS) == [Rejected("not placed: connection lost", TS)]
    assert state.on_fill(fill("0.1", "t1")) == [Filled(fill("0.1", "t1"))], "fills still count (venue truth)"


# -- modify (cancel-replace) ------------------------------------------------------------------------------------


def modifying(quantity: str = "1", to_quantity: str = "1") -> OrderState:
    state = order(quantity, accepted=True)
    assert state.modify_refusal() is None
    state.begin_modify("modify-command", "42700", D(to_quantity))
    assert state.modify_refusal() is not None, "one modify in flight at a time"
    return state


def updated(quantity: str, oid: int = NEW_OID, price: str | None = "42700", oid_changed: bool = True) -> Updated:
    return Updated(oid, D(quantity), price, TS, oid_changed)


def test_modify_answer_first_then_both_legs_on_the_stream():
    state = modifying()
    assert state.on_modify_answer(NEW_OID, None, TS, 0.0) == [updated("1")]
    assert state.on_news(news(NewsKind.CANCELED, OID), now_s=0.0) == [], "the old leg's CANCELED is dropped"
    assert state.on_news(news(NewsKind.OPEN, NEW_OID), now_s=0.0) == []
    assert state.oid == NEW_OID and not state.closed


def test_modify_legs_on_the_stream_before_the_answer_old_cancel_first():
    """#3827: CANCELED(old) then ACCEPTED(new) must not close the order."""
    state = modifying()
    assert state.on_news(news(NewsKind.CANCELED, OID), now_s=0.0) == [], "held until the modify settles"
    assert state.on_news(news(NewsKind.OPEN, NEW_OID), now_s=0.0) == [updated("1")]
    assert state.on_modify_answer(NEW_OID, None, TS, 0.0) == []
    assert not state.closed


def test_modify_legs_on_the_stream_before_the_answer_new_open_first():
    state = modifying()
    assert state.on_news(news(NewsKind.OPEN, NEW_OID), now_s=0.0) == [updated("1")]
    assert state.on_news(news(NewsKind.CANCELED, OID), now_s=0.0) == []
    assert state.on_modify_answer(NEW_OID, None, TS, 0.0) == []


def test_a_fill_on_the_new_leg_before_any_other_news_applies_the_modify_first():
    """#3972/#4270: the fill itself carries the new oid; no ACCEPTED of the new leg ever arrives."""
    state = modifying()
    on_new = fill("0.25", "t1", NEW_OID)
    assert state.on_fill(on_new) == [updated("1"), Filled(on_new)]
    assert state.on_modify_answer(NEW_OID, None, TS, 0.0) == []
    assert state.on_news(news(NewsKind.CANCELED, OID), now_s=0.0) == []
    assert state.filled_qty == D("0.25") and state.oid == NEW_OID


def test_a_fill_on_the_old_leg_racing_the_modify_never_becomes_an_overfill():
    """#4154: 1.000 rests, a modify sends 1.000, the old leg fills 0.165 meanwhile; the new leg rests with 1.000,
    so the order is now 1.165 in total and the new leg's full 1.000 fills it exactly."""
    state = modifying("1.000", "1.000")
    racing = fill("0.165", "t1", OID)
    assert state.on_fill(racing) == [Filled(racing)]
    assert state.on_modify_answer(NEW_OID, None, TS, 0.0) == [updated("1.165")]
    new_leg = fill("1.000", "t2", NEW_OID)
    assert state.on_fill(new_leg) == [Filled(new_leg)]
    assert state.filled_qty == state.quantity == D("1.165") and state.terminal


def test_an_old_leg_fill_learnt_after_the_switch_raises_the_quantity_first():
    state = modifying("1.000", "1.000")
    assert state.on_modify_answer(NEW_OID, None, TS, 0.0) == [updated("1.000")]
    late = fill("0.165", "t1", OID)  # lost on the stream, recovered by a resync
    assert state.on_fill(late) == [updated("1.165", NEW_OID, None, oid_changed=False), Filled(late)]


def test_a_failed_modify_releases_a_real_cancel_that_raced_it():
    state = modifying()
    assert state.on_news(news(NewsKind.CANCELED, OID), now_s=0.0) == []
    text = "Cannot modify canceled or filled order"
    assert state.on_modify_answer(None, text, TS, 0.0) == [ModifyRejected("modify-command", text, TS), Canceled(TS)]


def test_a_lost_modify_answer_is_settled_by_the_look_up():
    replaced = modifying()
    assert replaced.on_modify_lookup(news(NewsKind.OPEN, NEW_OID), TS, 0.0) == [updated("1")]
    kept = modifying()
    reason = "modify lost: the venue still holds the previous order"
    assert kept.on_modify_lookup(news(NewsKind.OPEN, OID), TS, 0.0) == [ModifyRejected("modify-command", reason, TS)]
    assert kept.oid == OID and kept.modify is None
    gone = modifying()
    assert gone.on_modify_lookup(None, TS, 0.0) == [ModifyRejected("modify-command", reason, TS)]


def test_modify_to_less_than_filled_is_refused():
    state = order("1", accepted=True)
    state.on_fill(fill("0.6", "t1"))
    try:
        state.begin_modify("modify-command", "42700", D("0.5"))
    except ValueError as error:
        assert "nothing left to rest" in str(error)
    else:
        raise AssertionError("a modify below the filled quantity must be refused")
    assert state.modify is None
