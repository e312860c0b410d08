"""Helpers for Hyperliquid wire values: mappings to NautilusTrader enums and values, and deduplication of the
identities the venue repeats (trades and fills are re-sent on every (re)subscription).

The venue's status list is open-ended (protocol §2.9: new ``…Canceled``/``…Rejected`` reasons appear over time),
so statuses are classified by suffix rather than enumerated; an unknown status maps to ``None`` and the
caller logs it instead of guessing.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Hashable
from decimal import Decimal
from decimal import InvalidOperation

from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.hyperliquid.constants import MISSING_ORDER_ERROR
from adapters.hyperliquid.constants import MODIFY_NEW_ORDER_FAILED_PREFIX
from adapters.hyperliquid.constants import POST_ONLY_REJECT_PREFIX
from adapters.hyperliquid.constants import STATUS_FILLED
from adapters.hyperliquid.constants import STATUS_OPEN
from adapters.hyperliquid.constants import STATUS_TRIGGERED

NS_PER_MS = 1_000_000

_ORDER_SIDE = {"B": OrderSide.BUY, "A": OrderSide.SELL}
_AGGRESSOR = {"B": AggressorSide.BUYER, "A": AggressorSide.SELLER}
# Venue tif → (Nautilus tif, post_only). FrontendMarket is the UI's market order: an IOC.
_TIF = {
    "Alo": (TimeInForce.GTC, True),
    "Gtc": (TimeInForce.GTC, False),
    "Ioc": (TimeInForce.IOC, False),
    "FrontendMarket": (TimeInForce.IOC, False),
}


# A venue time further ahead of our receive time than this is not clock disagreement but a corrupt frame. Generous,
# because the local exchange's manual clock runs ahead of the wall clock by whatever a test or benchmark has
# replayed (tick_to_wire: ~15 min). A bad time inside the bound costs a book at most the staleness watchdog's delay.
MAX_VENUE_TIME_AHEAD_S = 3600.0
_MAX_AHEAD_NS = int(MAX_VENUE_TIME_AHEAD_S * 1e9)


_MAX_MS = (2**64 - 1) // NS_PER_MS  # NautilusTrader timestamps are unsigned 64-bit nanoseconds


def ms_to_ns(ms: int) -> int:
    """A venue time (ms) as a Nautilus timestamp; one no timestamp can hold is malformed (``ValueError``)."""
    if not 0 <= ms <= _MAX_MS:
        raise ValueError(f"venue time {ms} ms is outside the timestamp range")
    return ms * NS_PER_MS


def event_ns(venue_ms: int, ts_init_ns: int) -> int:
    """``ts_event`` of a pushed message: its venue time, capped at the receive time ``ts_init_ns`` (clocks disagree
    by milliseconds). A negative time, or one more than ``MAX_VENUE_TIME_AHEAD_S`` ahead, is malformed
    (``ValueError``): taken as is, a future time would hold the stream's "last venue time" for days."""
    venue_ns = ms_to_ns(venue_ms)
    if venue_ns - ts_init_ns > _MAX_AHEAD_NS:
        raise ValueError(f"venue time {venue_ms} is {(venue_ns - ts_init_ns) / 1e9:,.0f} s ahead of the receive time")
    return min(venue_ns, ts_init_ns)


def order_side(side: str) -> OrderSide:
    try:
        return _ORDER_SIDE[side]
    except KeyError:
        raise ValueError(f"side {side!r} is neither 'B' nor 'A'") from None


def aggressor_side(side: str) -> AggressorSide:
    try:
        return _AGGRESSOR[side]
    except KeyError:
        raise ValueError(f"trade side {side!r} is neither 'B' nor 'A'") from None


def time_in_force(tif: str | None) -> tuple[TimeInForce, bool]:
    """(Nautilus time in force, post_only) of a venue ``tif``; triggers (``None``) rest like GTC."""
    return _TIF.get(tif or "Gtc", (TimeInForce.GTC, False))


def venue_tif(time_in_force_: TimeInForce, post_only: bool) -> str | None:
    """The venue ``tif`` for a Nautilus order, or ``None`` when the venue has no equivalent (FOK, GTD, DAY…)."""
    if time_in_force_ == TimeInForce.GTC:
        return "Alo" if post_only else "Gtc"
    if time_in_force_ == TimeInForce.IOC and not post_only:
        return "Ioc"
    return None


def order_type(venue_order_type: str | None) -> OrderType:
    """``frontendOpenOrders.orderType``: ``Limit``, ``Stop Market``, ``Take Profit Limit``, ``Market``…"""
    name = (venue_order_type or "Limit").lower()
    if name.startswith(("stop", "take profit")):
        return OrderType.STOP_MARKET if name.endswith("market") else OrderType.STOP_LIMIT
    return OrderType.MARKET if name == "market" else OrderType.LIMIT


def order_status(status: str, remaining_sz: Decimal, orig_sz: Decimal) -> OrderStatus | None:
    """A venue order status as a Nautilus status (``None`` if unknown). ``open`` with fills is PARTIALLY_FILLED."""
    if status == STATUS_OPEN or status == STATUS_TRIGGERED:
        return OrderStatus.PARTIALLY_FILLED if remaining_sz < orig_sz else OrderStatus.ACCEPTED
    if status == STATUS_FILLED:
        return OrderStatus.FILLED
    if is_canceled_status(status):
        return OrderStatus.CANCELED
    if is_rejected_status(status):
        return OrderStatus.REJECTED
    return None


def is_canceled_status(status: str) -> bool:
    """``canceled``, ``marginCanceled``, ``scheduledCancel``, ``reduceOnlyCanceled``…"""
    return status in ("canceled", "scheduledCancel") or status.endswith("Canceled")


def is_rejected_status(status: str) -> bool:
    """``rejected``, ``badAloPxRejected``, ``tickRejected``, ``perpMarginRejected``…"""
    return status == "rejected" or status.endswith("Rejected")


def is_post_only_reject(reason: str) -> bool:
    return reason.startswith(POST_ONLY_REJECT_PREFIX)


_ASSET_SUFFIX = re.compile(r" asset=\d+$")


def venue_error_text(error: str) -> str:
    """A per-item venue error without the `` asset=N`` every live order and cancel error ends with ("Order was
    never placed, already canceled, or filled. asset=4"): the text to compare with the documented strings."""
    return _ASSET_SUFFIX.sub("", error)


def is_missing_order(error: str | None) -> bool:
    """The venue's answer for a cancel of an order it does not hold open (never placed, cancelled or filled)."""
    return error is not None and venue_error_text(error) == MISSING_ORDER_ERROR


def modify_canceled_old_order(error: str | None) -> bool:
    """A modify refused after its cancel half ran: the new order failed and the old one is gone from the book."""
    return error is not None and error.startswith(MODIFY_NEW_ORDER_FAILED_PREFIX)


def price(text: str, instrument: Instrument) -> Price:
    """A wire price at the instrument's precision (float, as the catalog loaders parse it). The venue's prices
    are never negative; a negative or non-finite one is malformed (``ValueError``), where ``Price`` would keep it."""
    value = float(text)
    if not 0 <= value < math.inf:
        raise ValueError(f"price {text!r} is not a finite non-negative number")
    return Price(value, instrument.price_precision)


def quantity(text: str, instrument: Instrument) -> Quantity:
    return Quantity(float(text), instrument.size_precision)


def decimal(text: str) -> Decimal:
    """A wire decimal string as a finite ``Decimal``; anything else is malformed (``ValueError``, where
    ``Decimal`` itself raises ``InvalidOperation`` or returns NaN and infinities)."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise ValueError(f"invalid decimal {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"non-finite decimal {text!r}")
    return value


class RecentKeys:
    """The last ``capacity`` keys seen; ``first_time(key)`` is True once per key. Bounded because a session
    runs for days while the venue only ever repeats recent trades and fills."""

    def __init__(self, capacity: int) -> None:
        self._keys: OrderedDict[Hashable, None] = OrderedDict()
        self._capacity = capacity

    def first_time(self, key: Hashable) -> bool:
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
        return True
