"""Our own order events reduced to what the estimators learn from: fills and resting spells.

Every estimator measures from the mid *at placement* (lesson E10), which the strategy writes into the order's tags
(``order_tags.py``). The order comes from the cache, which has already applied the event when the bus delivers it,
so nothing here keeps state between events.

Resting spells (the fill-rate model's observations), decided once here for every actor:

- a spell starts when the venue accepts the order and ends at its **first** fill (filled) or at its cancel/expiry
  without any fill (censored). Its depth is the order's price measured from the placement mid, its length the time
  between the two venue events (``ts_event`` of both, so the same clock in backtest and live);
- a partial fill followed by a cancel is therefore **one filled spell**, ended by the first fill. The remainder's
  further resting is not observed: after a fill the mid has come to our price, so the remainder no longer rests at
  its placement depth, and its later fills (often the same taker sweep printing several times) would count one
  arrival more than once;
- a modified order (``OrderUpdated``) gives no spell: its price no longer relates to the placement mid;
- an order never accepted (rejected, or cancelled in flight) never rested and gives no spell.

Orders without placement tags (another component's, or reconciled from the venue) have no placement mid: models
that need it raise :class:`UnusableEvent`, which the actor logs once and skips.
"""

from __future__ import annotations

from dataclasses import dataclass

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderExpired
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.orders import Order

from mm_strategy.order_tags import read_placement

_NS_PER_S = 1_000_000_000
_BPS = 1e4
BUY = 1
SELL = -1


class UnusableEvent(ValueError):
    """An event a model cannot learn from; the message is the reason, logged once per actor and reason."""


@dataclass(frozen=True, slots=True)
class OwnFill:
    """One fill of our order. ``ts_ns`` is when this process learned of it (``ts_init``: see ``base.py``);
    ``side`` is BUY (+1, our bid filled) or SELL (−1); ``placement_mid`` is None for untagged orders."""

    ts_ns: int
    side: int
    px: float
    qty: float
    placement_mid: float | None

    def require_placement_mid(self) -> float:
        if self.placement_mid is None:
            raise UnusableEvent("fill of an order without placement tags (not placed by our strategy)")
        return self.placement_mid


@dataclass(frozen=True, slots=True)
class RestingSpell:
    """One resting spell of one order: ``rested_s`` at ``depth_bps`` from the placement mid, ended by a fill or
    not; ``ts_ns`` is when the spell's end was learned (``ts_init``)."""

    ts_ns: int
    depth_bps: float
    rested_s: float
    filled: bool


def side_sign(side: OrderSide) -> int:
    if side == OrderSide.BUY:
        return BUY
    if side == OrderSide.SELL:
        return SELL
    raise UnusableEvent(f"order side {side!r} is neither BUY nor SELL")


def depth_bps(side: int, price: float, mid: float) -> float:
    """Distance of a resting price from a mid in bps, positive on the passive side (below for a bid)."""
    return side * (mid - price) / mid * _BPS


def placement_mid(order: Order | None) -> float | None:
    if order is None:
        return None
    placement = read_placement(order.tags)
    return None if placement is None else placement.mid


def own_fill(event: OrderFilled, order: Order | None) -> OwnFill:
    return OwnFill(
        ts_ns=event.ts_init,
        side=side_sign(event.order_side),
        px=event.last_px.as_double(),
        qty=event.last_qty.as_double(),
        placement_mid=placement_mid(order),
    )


def resting_spell(event: OrderFilled | OrderCanceled | OrderExpired, order: Order | None) -> RestingSpell | None:
    """The spell this event ends (module docstring), None when it ends none; UnusableEvent when it ends one that
    cannot be measured."""
    if order is None or order.ts_accepted == 0:
        return None
    filled = isinstance(event, OrderFilled)
    if filled and order.filled_qty != event.last_qty:
        return None  # a later fill: the spell ended at the first one
    if not filled and order.filled_qty.as_double() > 0.0:
        return None  # cancel of a partly filled order: its spell ended at the first fill
    if any(isinstance(e, OrderUpdated) for e in order.events):
        raise UnusableEvent("modified order: its price no longer relates to the placement mid")
    mid = placement_mid(order)
    if mid is None:
        raise UnusableEvent("order without placement tags (not placed by our strategy)")
    price = getattr(order, "price", None)  # market orders have no price attribute at all
    if price is None:
        raise UnusableEvent("order without a limit price")
    return RestingSpell(
        ts_ns=event.ts_init,
        depth_bps=depth_bps(side_sign(order.side), price.as_double(), mid),
        rested_s=max(event.ts_event - order.ts_accepted, 0) / _NS_PER_S,
        filled=filled,
    )
