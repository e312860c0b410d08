"""The book-only queue model on an amended order: a venue puts a modified order at the back of its level (Hyperliquid
on any modify, a new size as much as a new price), and nothing inferred through it before is owed to it after.

The book is the first snapshot of the real 9-minute BTC capture; the order is NautilusTrader's own, fed to the
module as the simulated venue hands it its open orders."""

from __future__ import annotations

import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.objects import Quantity
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs

from mm_strategy.queue_fill_model import QueueFeedModule
from mm_strategy.queue_fill_model import QueueFeedModuleConfig


@pytest.fixture(scope="module")
def snapshot(hl_btc_catalog):
    """(instrument, the first snapshot's deltas) of the capture."""
    catalog = ParquetDataCatalog(str(hl_btc_catalog))
    deltas = catalog.order_book_deltas(batched=False)
    last = next(i for i, d in enumerate(deltas) if d.flags & RecordFlag.F_LAST.value)
    return catalog.instruments()[0], deltas[: last + 1]


def _modify(order, price=None, quantity=None) -> None:
    order.apply(TestEventStubs.order_pending_update(order))
    order.apply(TestEventStubs.order_updated(order, price=price, quantity=quantity or order.quantity))


def test_an_amended_order_goes_to_the_back_of_its_new_level(snapshot):
    instrument, deltas = snapshot
    module = QueueFeedModule(QueueFeedModuleConfig(drive_fills=False))
    for delta in deltas:
        module.pre_process(delta)
    book = module._book(instrument.id)
    second, third = book.bids()[1], book.bids()[2]
    order = TestExecStubs.limit_order(
        instrument=instrument,
        order_side=OrderSide.BUY,
        price=second.price,
        quantity=Quantity.from_str("0.01000"),
        client_order_id=ClientOrderId("O-amended"),
    )
    order.apply(TestEventStubs.order_submitted(order))
    order.apply(TestEventStubs.order_accepted(order))
    module.track([order], 0)  # the venue's open orders, as ``process`` reads them
    tracked = module._tracked["O-amended"]
    assert tracked.position.ahead == second.size() > 0  # joined at the back of the second bid level

    # it moved up its queue and had 0.004 inferred executed through it, not yet filled by the venue
    tracked.position.ahead, tracked.position.inferred = 0.0, 0.004
    assert module.owed_qty(order) == pytest.approx(0.004)
    _modify(order, price=third.price)
    assert module.owed_qty(order) == 0.0  # at its new price nothing is owed, even before the module re-tracks it
    module.track([order], 1)
    moved = module._tracked["O-amended"].position
    assert (moved.ahead, moved.inferred) == (third.size(), 0.0)  # the back of the third level

    moved.ahead = 0.0  # at the head of its queue again
    _modify(order, quantity=Quantity.from_str("0.00800"))  # size only: same price, still re-queued
    module.track([order], 2)
    resized = module._tracked["O-amended"].position
    assert (resized.ahead, resized.quantity) == (third.size(), 0.008)
