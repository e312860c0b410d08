"""Our own order events reduced to what the estimators learn from: fills and resting spells.

Markouts measure from the mid *at placement* (lesson E10), which the strategy writes into the order's tags
(``order_tags.py``); for a fill after the order was amended, from the mid at its last amendment (``OwnFill.amended_ns``:
an amendment is a new placement at a new price, and tags cannot change). The order comes from the cache, which has
already applied the event when the bus delivers it.

Resting spells (the intensity curve's own-order observations, DESIGN §5), decided once here for every actor:

- a spell starts when the venue accepts the order and ends at its **first** fill (filled) or at its cancel/expiry
  without any fill (censored). Its start and end are the ``ts_init`` of the two events: the clock the actors feed
  their models and key the book mids by (``base.py``), the engine clock in a backtest and the receive time live;
- a modified order (``OrderUpdated``: the strategy amends orders instead of cancelling and replacing them) rests one
  spell per price: the update ends the spell at the old price (censored, as a cancel would) and starts a new one at
  the new price from the update's ``ts_init``, which the next update, the first fill or the cancel ends. Each spell
  has its own depth history at its own price. The venue puts a modified order at the back of its queue (Hyperliquid
  on any modify), so its new spell is a new placement in all but name; an update after a fill gives no spell;
- its depth is where the order **actually rested**, not its depth from the placement mid: ``MidHistory`` keeps the
  book mid over time (a step function), and the spell carries one (depth, seconds) segment per mid in force while
  it rested, their time-weighted mean ``depth_bps``, and ``end_depth_bps`` from the last mid strictly before the end
  event (for a fill, the depth it filled at: the book update that crossed it is not counted against it, and when
  that update arrived before the fill event the spell ends at it, not at the fill event). An order
  kept across a mid move — the strategy keeps one for its own level within about a tick — rests at a depth that
  drifts with the mid, and a model that took the placement depth for the whole spell would misplace its exposure;
- a partial fill followed by a cancel is **one filled spell**, ended by the first fill: after a fill the mid has come
  to our price, and the remainder's later fills (often the same taker sweep) would count one arrival more than once;
- an order never accepted (rejected, or cancelled in flight) never rested and gives no spell.

Orders without placement tags (another component's, or reconciled from the venue) are not ours to learn from: they
raise :class:`UnusableEvent`, which the actor logs once and skips.
"""

from __future__ import annotations

from bisect import bisect_left
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderAccepted
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
# A fill arriving this long after its venue time came from a resync, not the live stream (whose lag is 0.1–3 s).
LATE_FILL_NS = 10 * _NS_PER_S


class UnusableEvent(ValueError):
    """An event a model cannot learn from; the message is the reason, logged once per actor and reason."""


@dataclass(frozen=True, slots=True)
class OwnFill:
    """One fill of our order. ``ts_ns`` is when this process learned of it (``ts_init``: see ``base.py``);
    ``side`` is BUY (+1, our bid filled) or SELL (−1); ``placement_mid`` is None for untagged orders;
    ``delivery_lag_ns`` how long after the venue's fill time it arrived (0 in a backtest, 0.1–3 s off the live
    streams, up to a minute for a fill a resync recovered: ``delivered_late``). ``amended_ns`` is the ``ts_init`` of
    the order's last ``OrderUpdated`` before the fill (None when it was never amended): the fill's placement is then
    the amendment, and its placement mid the book mid at that time, not the tags' ``placement_mid``."""

    ts_ns: int
    side: int
    px: float
    qty: float
    placement_mid: float | None
    delivery_lag_ns: int = 0
    amended_ns: int | None = None

    @property
    def delivered_late(self) -> bool:
        """Past what the venue's own feed lag explains (p99 3.8 s on the captures): the book this process saw when
        it arrived is not the book at the fill."""
        return self.delivery_lag_ns > LATE_FILL_NS


@dataclass(frozen=True, slots=True)
class RestingSpell:
    """One resting spell of one order (module docstring). ``side`` is BUY (+1, a bid) or SELL (−1);
    ``segments`` are (depth_bps, seconds) per mid in force while it rested, their seconds summing to ``rested_s``;
    ``depth_bps`` is their time-weighted mean (the end depth for a spell of zero length); depths are positive on the
    passive side and may dip below zero when the mid crossed our price. ``ts_ns`` is the end event's ``ts_init``."""

    ts_ns: int
    side: int
    depth_bps: float
    end_depth_bps: float
    rested_s: float
    filled: bool
    segments: tuple[tuple[float, float], ...]

    def exposure_frac(self) -> list[tuple[float, float]]:
        """The segments as (depth as a price fraction, seconds), the models' units."""
        return [(depth / _BPS, seconds) for depth, seconds in self.segments]


class MidHistory:
    """The book mid over ``ts_init`` as a step function, for the depth each order rested at.

    ``add`` is O(1) amortised (an unchanged mid is not stored; samples older than ``max_age_s`` behind the newest
    are dropped in bulk); ``segments`` is a bisection plus one step per mid change inside the spell. An order that
    rested longer than ``max_age_s`` is measured from the oldest mid kept for its start (a bounded, documented
    approximation for orders the strategy would have requoted long before).
    """

    __slots__ = ("_max_age_ns", "_ts", "_mids", "_start")

    def __init__(self, max_age_s: float = 3600.0) -> None:
        self._max_age_ns = round(max_age_s * _NS_PER_S)
        self._ts: list[int] = []
        self._mids: list[float] = []
        self._start = 0  # index of the oldest live sample; the prefix is deleted once it is half the list

    def __len__(self) -> int:
        return len(self._ts) - self._start

    def add(self, ts_ns: int, mid: float) -> None:
        ts, mids = self._ts, self._mids
        if len(ts) > self._start:
            if mid == mids[-1]:
                return
            if ts_ns < ts[-1]:
                ts_ns = ts[-1]  # time only moves forward: a late sample takes effect now
        ts.append(ts_ns)
        mids.append(mid)
        cutoff = ts_ns - self._max_age_ns
        start = self._start
        while start + 1 < len(ts) and ts[start + 1] <= cutoff:
            start += 1
        if start > len(ts) // 2:
            del ts[:start], mids[:start]
            start = 0
        self._start = start

    def segments(self, t0_ns: int, t1_ns: int) -> list[tuple[float, float]]:
        """(mid, seconds) for each mid in force on [t0, t1); the mid at t0 is the last sample at or before it
        (the oldest kept when none is). Empty when t1 ≤ t0 or nothing was recorded before t1."""
        ts, mids, start = self._ts, self._mids, self._start
        if t1_ns <= t0_ns or len(ts) == start or ts[start] >= t1_ns:
            return []
        i = max(bisect_right(ts, t0_ns, start) - 1, start)
        end = bisect_left(ts, t1_ns, i)
        out = []
        t = t0_ns
        # each mid in force from its sample (or t0) to the next sample (or t1)
        for mid, t_next in zip(mids[i:end], ts[i + 1 : end] + [t1_ns]):
            if t_next > t:
                out.append((mid, (t_next - t) / _NS_PER_S))
                t = t_next
        return out

    def mid_before(self, t_ns: int) -> float | None:
        """The last mid recorded strictly before ``t_ns``."""
        i = bisect_left(self._ts, t_ns, self._start) - 1
        return self._mids[i] if i >= self._start else None

    def mid_at(self, t_ns: int) -> float | None:
        """The mid in force at ``t_ns``: the last one recorded at or before it (a spell's first segment's mid)."""
        return self.mid_before(t_ns + 1)


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


def _first_reached(segments: tuple[tuple[float, float], ...]) -> int | None:
    """Index of the first segment at a depth ≤ 0 (the mid at or through the order's price, which a resting passive
    order only sees once the book has traded through it); None when there is none, or when the order rested at
    ≤ 0 from its start (nothing to cut back to)."""
    for k, (depth, _) in enumerate(segments):
        if depth <= 0.0:
            return k if k > 0 else None
    return None


def own_fill(event: OrderFilled, order: Order | None) -> OwnFill:
    amended_ns = None
    if order is not None:
        event_id = event.id
        for e in order.events:  # one pass: ``events`` copies the order's list on every access
            if e.id == event_id:
                break
            if isinstance(e, OrderUpdated):
                amended_ns = e.ts_init
    return OwnFill(
        ts_ns=event.ts_init,
        side=side_sign(event.order_side),
        px=event.last_px.as_double(),
        qty=event.last_qty.as_double(),
        placement_mid=placement_mid(order),
        delivery_lag_ns=event.ts_init - event.ts_event,
        amended_ns=amended_ns,
    )


SpellEnd = OrderFilled | OrderCanceled | OrderExpired | OrderUpdated


@dataclass(frozen=True, slots=True)
class SpellBounds:
    """What the order's own events say about the spell an event ends, before any mid: when it started (``ts_init``
    of its acceptance, or of the update that moved it to this spell's price), its side (BUY/SELL) and the limit price
    it rested at, and whether a fill ended it."""

    accepted_ns: int
    side: int
    px: float
    filled: bool


def spell_bounds(event: SpellEnd, order: Order | None) -> SpellBounds | None:
    """The order half of `resting_spell`: None when the event ends no spell, UnusableEvent when it ends one that
    cannot be measured."""
    if order is None:
        return None
    fold = _FOLDS.before(event, order)
    if not fold.accepted:
        return None
    if fold.filled_before:
        return None  # a later fill, or the cancel or update of a partly filled order: its spell ended at the first fill
    if placement_mid(order) is None:
        raise UnusableEvent("order without placement tags (not placed by our strategy)")
    px = fold.px
    if px is None:
        raise UnusableEvent("order without a limit price")
    filled = isinstance(event, OrderFilled)
    if filled and fold.amended and event.last_px.as_double() != px:
        # live, a fill of the leg before an amendment reported after it: not a fill of the spell at the new price
        raise UnusableEvent(f"fill at {event.last_px} while the order rested at {px}: the leg before an amendment")
    return SpellBounds(fold.started_ns, side_sign(order.side), px, filled)


class _EventsFold:
    """What an order's events before index ``scanned`` say about the spell the next one ends: whether it was
    accepted, when its spell started (``ts_init`` of its acceptance, or of the last update: each update starts a new
    spell), the limit price in force (the placement's, then each update's; a market order has none), whether it was
    amended and whether it filled."""

    __slots__ = ("order", "scanned", "accepted", "started_ns", "filled_before", "amended", "px")

    def __init__(self, order: Order) -> None:
        self.order = order
        self.scanned = 0
        self.accepted = False
        self.started_ns = 0
        self.filled_before = False
        self.amended = False
        placed_px = order.init_event.options.get("price")  # a string in the event's options: compared as a float
        self.px = None if placed_px is None else float(placed_px)

    def up_to(self, events: list, event_id: Any) -> bool:
        """Fold ``events[scanned:]`` up to the one with ``event_id``, which is left out (the next fold starts at it);
        False, with every event folded, when it is not among them."""
        for index in range(self.scanned, len(events)):
            e = events[index]
            if e.id == event_id:
                self.scanned = index
                return True
            if isinstance(e, OrderAccepted):
                if not self.accepted:
                    self.accepted, self.started_ns = True, e.ts_init
            elif isinstance(e, OrderUpdated):  # an amendment (price None: a size-only one): a new spell
                self.started_ns, self.amended = max(self.started_ns, e.ts_init), True
                if e.price is not None:
                    self.px = e.price.as_double()
            elif isinstance(e, OrderFilled):
                self.filled_before = True
        self.scanned = len(events)
        return False


class _OrderFolds:
    """The fold of each open order's events up to the last event asked about, continued from there at the next
    question (an order's events only grow), so a spell end reads only the events since the order's previous one.
    The strategy amends its orders instead of replacing them: each update ends a spell, and re-reading an order's
    whole history at each (tens of events) cost 55 µs a spell end, 2.4 % of the archive hour's backtest (issue 13).
    A question about an event before the fold's end starts afresh, as does one about an order not kept; an order is
    dropped once closed, and at most ``MAX_ORDERS`` are kept (the strategy rests a handful at a time)."""

    MAX_ORDERS = 256

    __slots__ = ("_folds",)

    def __init__(self) -> None:
        self._folds: dict[int, _EventsFold] = {}  # id(order) -> its fold; the fold holds the order, so ids stay

    def before(self, event: SpellEnd, order: Order) -> _EventsFold:
        """The fold of ``order``'s events before ``event`` (all of them when it is not among them)."""
        events = order.events  # one copy: ``events`` copies the order's list on every access
        key = id(order)
        fold = self._folds.get(key)
        if fold is None or not fold.up_to(events, event.id):
            fold = _EventsFold(order)
            fold.up_to(events, event.id)
            if len(self._folds) >= self.MAX_ORDERS:
                del self._folds[next(iter(self._folds))]
            self._folds[key] = fold
        if order.is_closed:
            del self._folds[key]
        return fold


# Every actor's spell ends read the same orders: one fold per order (the fold only reads them)
_FOLDS = _OrderFolds()


class LastSpellBounds:
    """`spell_bounds` of the last (event, order) asked about, for the next actor asking about the same ones.

    Both actors that learn from spells (kappa, fill rate) receive each fill, update, cancel and expiry as the same event
    object, one after the other; the order half of the spell is the same for both (only the mids are each actor's),
    and it is worked out once. The answer is kept with the order's event count: an order that took another event
    in between is asked afresh. A refusal (UnusableEvent) is kept and raised again, so each actor counts it."""

    __slots__ = ("_key", "_bounds", "_refusal")

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._bounds: SpellBounds | None = None
        self._refusal: UnusableEvent | None = None

    def of(self, event: SpellEnd, order: Order | None) -> SpellBounds | None:
        key = (event, order, None if order is None else order.event_count)
        cached = self._key
        if cached is None or cached[0] is not event or cached[1] is not order or cached[2] != key[2]:
            self._bounds = self._refusal = None
            try:
                self._bounds = spell_bounds(event, order)
            except UnusableEvent as exc:
                self._refusal = exc
            self._key = key
        if self._refusal is not None:
            raise self._refusal.with_traceback(None)  # not the first asker's frames: a fresh traceback each time
        return self._bounds


def resting_spell(
    event: SpellEnd,
    order: Order | None,
    mids: MidHistory,
    bounds_of: Callable[..., SpellBounds | None] = spell_bounds,
) -> RestingSpell | None:
    """The spell this event ends (module docstring), None when it ends none; UnusableEvent when it ends one that
    cannot be measured. ``bounds_of`` works out the order half (`spell_bounds`, or a `LastSpellBounds` shared by
    the actors receiving the event)."""
    bounds = bounds_of(event, order)
    if bounds is None:
        return None
    end_ns = event.ts_init
    end_mid = mids.mid_before(end_ns)
    if end_mid is None:
        raise UnusableEvent("no book mid before the order's end: the depth it rested at is unknown")
    side, px, filled = bounds.side, bounds.px, bounds.filled
    rested = mids.segments(bounds.accepted_ns, end_ns)
    segments = tuple([(depth_bps(side, px, mid), seconds) for mid, seconds in rested])
    rested_s = max(end_ns - bounds.accepted_ns, 0) / _NS_PER_S
    end_depth = depth_bps(side, px, end_mid)
    if filled and (reached := _first_reached(segments)) is not None:
        # The book went through the order's price before its fill event arrived (a trade stamped after the book
        # update that shows it, or a fill recovered by a resync): the spell ended when the book reached it. Kept,
        # the rest would add exposure at depth ≤ 0 (weight e^0 = 1) and steepen κ.
        segments = segments[:reached]
        rested_s = sum([seconds for _, seconds in segments])
        end_depth = segments[-1][0]
    mean_depth = sum([d * s for d, s in segments]) / rested_s if rested_s > 0.0 else end_depth
    # positional, in field order: ts_ns, side, depth_bps, end_depth_bps, rested_s, filled, segments
    return RestingSpell(end_ns, side, mean_depth, end_depth, rested_s, filled, segments)
