"""An amended order seen by everything that learns from our orders (``actors/order_events.py``): a new resting spell
at its new price from each update, and fills after an amendment placed at the mid of the amendment.

The orders are NautilusTrader's own (accepted at 2 s, 49,950 bid, placement mid 50,000: ``tests/test_actors.py``);
the mids are a step function given per test, as the actors record them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.test_kit.stubs.events import TestEventStubs

from mm_strategy.actors import AdverseSelectionActor
from mm_strategy.actors import order_events
from mm_strategy.actors import AdverseSelectionActorConfig
from mm_strategy.actors.order_events import LastSpellBounds
from mm_strategy.actors.order_events import UnusableEvent
from mm_strategy.actors.order_events import own_fill
from mm_strategy.actors.order_events import resting_spell
from tests.test_actors import INSTRUMENT_ID
from tests.test_actors import PRIORS
from tests.test_actors import S
from tests.test_actors import _cancel
from tests.test_actors import _fill
from tests.test_actors import _mids
from tests.test_actors import _order


def _update(order, ts_s: float, price: str | None = None, quantity: str | None = None) -> OrderUpdated:
    """The venue's answer to a modify, applied to the order as the execution engine does."""
    stub = TestEventStubs.order_updated(
        order,
        price=Price.from_str(price) if price else None,
        quantity=Quantity.from_str(quantity) if quantity else order.quantity,
        ts_event=round(ts_s * S),
    )
    event = OrderUpdated.from_dict({**OrderUpdated.to_dict(stub), "ts_init": round(ts_s * S)})
    order.apply(event)
    return event


def _depth(px: float, mid: float) -> float:
    return (mid - px) / mid * 1e4


def test_an_update_ends_the_spell_at_the_old_price_and_starts_one_at_the_new_price() -> None:
    order, instrument = _order()  # a 49,950 bid accepted at 2 s
    mids = _mids((0.0, 50_000.0), (4.0, 50_020.0), (6.0, 50_000.0))
    moved = _update(order, 5.0, price="49990.0")
    first = resting_spell(moved, order, mids)
    # censored at the update, rested 2 → 5 s at 49,950 under both mids in force
    assert not first.filled and first.rested_s == 3.0 and first.ts_ns == 5 * S
    assert first.segments == (pytest.approx((10.0, 2.0)), pytest.approx((_depth(49_950, 50_020), 1.0)))
    resized = _update(order, 7.0, quantity="0.00800")  # a size-only modify: the venue still re-queues it
    second = resting_spell(resized, order, mids)
    # from the update (5 s), at the new price: not the placement's 10 bp, nor the accept time
    assert not second.filled and second.rested_s == 2.0
    assert second.segments == (
        pytest.approx((_depth(49_990, 50_020), 1.0)),
        pytest.approx((_depth(49_990, 50_000), 1.0)),
    )
    third = resting_spell(_fill(order, instrument, "0.00800", 9.0), order, mids)
    assert third.filled and third.rested_s == 2.0 and third.segments == (pytest.approx((2.0, 2.0)),)
    assert third.end_depth_bps == pytest.approx(2.0)  # filled 2 bp from the mid, at the amended price


def test_after_the_first_fill_an_update_or_cancel_rests_no_spell() -> None:
    order, instrument = _order()
    mids = _mids((0.0, 50_000.0))
    assert resting_spell(_fill(order, instrument, "0.00400", 4.0), order, mids).filled
    assert resting_spell(_update(order, 5.0, price="49900.0"), order, mids) is None
    assert resting_spell(_cancel(order, 6.0), order, mids) is None


def test_the_shared_order_half_handles_updates() -> None:
    shared = LastSpellBounds()
    order, _ = _order()
    update = _update(order, 5.0, price="49990.0")
    mids = _mids((0.0, 50_000.0))
    assert resting_spell(update, order, mids, shared.of) == resting_spell(update, order, mids)


def test_a_fill_after_an_amendment_is_placed_at_the_mid_of_the_amendment() -> None:
    """Placement markouts measure from the mid when the order took its price: after an amendment that is the mid
    then, not the 50,000 its tags carry from the first placement."""
    order, instrument = _order()
    plain, _ = _order()
    _update(order, 5.0, price="49990.0")
    _update(order, 6.0, quantity="0.00800")
    fill = own_fill(_fill(order, instrument, "0.00800", 9.0), order)
    assert fill.amended_ns == 6 * S and fill.placement_mid == 50_000.0  # the tags' mid, and when it was amended
    assert own_fill(_fill(plain, instrument, "0.01000", 9.0), plain).amended_ns is None

    actor = AdverseSelectionActor(AdverseSelectionActorConfig(instrument_id=INSTRUMENT_ID, priors=PRIORS))
    seen = []  # the placement mid the model is given with each fill
    actor.model = SimpleNamespace(on_mid=lambda *args: None, on_fill=lambda *args: seen.append(args[-1]))
    for t_s, mid in ((0.0, 50_000.0), (5.5, 50_030.0), (8.0, 50_010.0)):
        actor.feed_book(round(t_s * S), None, mid)
    actor._last_mid = 50_010.0
    actor.feed_fill(fill)
    actor.feed_fill(own_fill(plain.events[-1], plain))
    assert seen == [50_030.0, 50_000.0]  # the mid in force at the 6 s amendment; the unamended order's tags


def test_a_late_fill_of_the_leg_before_an_amendment_is_no_fill_of_the_new_spell() -> None:
    """Review: live, the venue may report a fill of the order's old price after the amendment landed (Hyperliquid's
    modify is cancel-replace). Read as a fill of the spell at the new price it recorded a 2 bp fill after 0 s rested,
    where the order had rested 10 bp deep; it is refused instead, and the spell at the new price stays censored."""
    order, instrument = _order()  # a 49,950 bid accepted at 2 s
    mids = _mids((0.0, 50_000.0))
    _update(order, 5.0, price="49990.0")
    stub = TestEventStubs.order_filled(
        order, instrument, trade_id=TradeId("T-old-leg"), last_qty=Quantity.from_str("0.00400"),
        last_px=Price.from_str("49950.0"), ts_event=5 * S,
    )
    late = OrderFilled.from_dict({**OrderFilled.to_dict(stub), "ts_init": 5 * S})
    order.apply(late)
    with pytest.raises(UnusableEvent, match="the leg before an amendment"):
        resting_spell(late, order, mids)


def test_a_spell_end_read_from_the_kept_fold_is_the_one_a_full_read_gives(monkeypatch) -> None:
    """``spell_bounds`` continues each open order's fold of events from its last spell end (issue 13): every answer,
    through amendments, a question about an earlier event again, a fill and the cancel after it, must be the one a
    read of the order's whole history gives, and a closed order is not kept."""
    kept_folds = order_events._OrderFolds()
    monkeypatch.setattr(order_events, "_FOLDS", kept_folds)

    def fresh(event, order):
        with monkeypatch.context() as m:
            m.setattr(order_events, "_FOLDS", order_events._OrderFolds())
            return order_events.spell_bounds(event, order)

    order, instrument = _order()
    asked = [_update(order, 3.0 + k, price=f"{49_960 + 5 * k}.0") for k in range(6)]
    asked.insert(3, asked[1])  # an earlier event again: read afresh
    for event in asked:
        assert order_events.spell_bounds(event, order) == fresh(event, order)
    fill = _fill(order, instrument, "0.00400", 10.0)
    assert order_events.spell_bounds(fill, order) == fresh(fill, order)
    assert order_events.spell_bounds(fill, order).filled
    cancel = _cancel(order, 11.0)
    assert order_events.spell_bounds(cancel, order) is None is fresh(cancel, order)  # after the first fill
    assert order.is_closed and not kept_folds._folds


def test_a_fill_after_a_size_only_amendment_is_a_fill_of_its_spell_at_the_placed_price() -> None:
    """An order amended in size alone keeps the price it was placed at, which the order's initial event holds as a
    string: compared with the fill's float price it never matched, and every such fill was refused as one of the
    leg before the amendment (review)."""
    order, instrument = _order()  # a 49,950 bid accepted at 2 s
    mids = _mids((0.0, 50_000.0))
    _update(order, 3.0, quantity="0.00800")
    spell = resting_spell(_fill(order, instrument, "0.00100", 4.0), order, mids)
    assert spell.filled and spell.rested_s == 1.0 and spell.ts_ns == 4 * S
