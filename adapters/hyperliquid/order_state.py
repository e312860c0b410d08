"""Order-state rules of the Hyperliquid execution client: what each piece of venue news means for one order.

Hyperliquid reports an order through channels that race each other (the REST answer to an action, the
``orderUpdates``/``userFills``/``userEvents`` streams, REST look-ups after a reconnect or a lost answer), and
Nautilus applies events from a queue, so its cache lags behind what has been emitted. An :class:`OrderState`
remembers what has been *emitted* for one order and turns each arrival into the effects (events) it calls for; the
execution client gathers the news and emits the effects. No I/O and no clock (callers pass the time), so every
arrival order can be tested directly (``tests/test_order_state.py``). The rules:

- ACCEPTED, REJECTED and CANCELED are emitted at most once. News naming an oid for an order not yet accepted (a
  fill, a cancel, an open status overtaking the REST answer) accepts it with that oid first.
- Fills are deduplicated by trade id, also against the fills an order already held before a restart.
- A venue cancel carries the leg's remaining size. When the venue filled more on that leg than the fills emitted,
  the cancel is held until they arrive (otherwise Nautilus would see CANCELED, then a fill, and leave the order
  open). Any news showing more venue fills than emitted starts a clock: overdue fills call for a resync, and a held
  cancel that even the resync cannot complete closes the order.
- A modify is the venue's cancel-replace: a new oid under the same cloid, with the size that was sent. Whichever
  arrives first applies the new leg (one OrderUpdated with the new oid): the REST answer, stream news about the
  new oid, a fill on it, or a look-up (nautilus #3827, #3972, #4270). The old leg's CANCELED is dropped unless the
  modify fails: a modify whose new order the venue refused has still cancelled the old leg (its cancel half runs
  first), so the order gets OrderModifyRejected, then CANCELED. The order's quantity becomes the fills of earlier legs plus the new leg's size, so a fill on the
  old leg racing the modify never turns into an overfill (nautilus #4154); an old-leg fill learnt only after the
  switch raises the quantity by as much.
- A lost answer leaves the outcome to the venue's record of the cloid (a look-up); nothing is resent.
- The node may hold an order closed that the venue still has: rejected as never placed when the venue took it
  late (:attr:`OrderState.not_placed`), or cancelled by Nautilus's own in-flight check when a cancel could not be
  confirmed (:meth:`OrderState.closed_by_node`). The caller cancels such an order at the venue; its fills are still
  emitted (Nautilus applies a fill to a cancelled order, which reopens it, so the venue's cancel then closes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from enum import Enum
from typing import Any

_ZERO = Decimal(0)


class NewsKind(Enum):
    """What a venue status means for the order; the venue's many texts are mapped by the caller."""

    OPEN = "open"  # resting (or triggered)
    FILLED = "filled"
    CANCELED = "canceled"  # by us, by the venue, by a modify (its old leg)
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class OrderNews:
    """The venue's status of one leg (oid): from ``orderUpdates``, ``orderStatus`` or ``frontendOpenOrders``."""

    oid: int
    kind: NewsKind
    leg_filled: Decimal  # original - remaining of this oid: what the venue filled on it
    ts_ns: int
    status: str = ""  # the venue's text (a rejection's reason)


@dataclass(frozen=True, slots=True)
class FillNews:
    oid: int
    trade_id: str
    qty: Decimal
    ts_ns: int


# -- effects: the events an arrival calls for, in order -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    oid: int
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Canceled:
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Updated:
    """The order now rests as ``oid`` with ``quantity`` in total (fills included); ``price`` None = unchanged."""

    oid: int
    quantity: Decimal
    price: Any
    ts_ns: int
    oid_changed: bool


@dataclass(frozen=True, slots=True)
class Filled:
    fill: FillNews


@dataclass(frozen=True, slots=True)
class ModifyRejected:
    command: Any
    reason: str
    ts_ns: int


Effect = Accepted | Rejected | Canceled | Updated | Filled | ModifyRejected


@dataclass(slots=True)
class PendingModify:
    """A modify sent and not yet applied: ``leg_size`` is the size the new leg rests with at the venue."""

    command: Any
    price: Any
    leg_size: Decimal
    held_cancel: OrderNews | None = None  # the old leg's CANCELED, dropped unless the modify fails


@dataclass(slots=True)
class AwaitedFills:
    """The venue shows ``leg_filled`` on a leg, more than emitted: fills still in flight, or lost."""

    leg_filled: Decimal
    since_s: float
    cancel: OrderNews | None = None  # a venue cancel to emit once they arrive


@dataclass(slots=True)
class OrderState:
    """What has been emitted for one order, and the venue facts needed to emit the rest correctly.

    The identifiers and ``terminal_since_s`` (when the caller first saw the order terminal, for its pruning) are
    carried for the caller and never read here.
    """

    client_order_id: Any
    strategy_id: Any
    instrument_id: Any
    cloid: str
    quantity: Decimal
    oid: int | None = None
    accepted: bool = False
    closed: bool = False  # CANCELED/REJECTED emitted
    node_closed: bool = False  # closed by Nautilus itself, not by this client (see closed_by_node)
    submit_in_flight: bool = False
    filled_by_oid: dict[int, Decimal] = field(default_factory=dict)
    trade_ids: set[str] = field(default_factory=set)
    replaced_oids: set[int] = field(default_factory=set)
    modify: PendingModify | None = None
    awaited: dict[int, AwaitedFills] = field(default_factory=dict)  # by leg oid
    terminal_since_s: float | None = None

    @property
    def filled_qty(self) -> Decimal:
        return sum(self.filled_by_oid.values(), _ZERO)

    @property
    def not_placed(self) -> bool:
        """Closed as never placed (REJECTED, never accepted)."""
        return self.closed and not self.accepted

    @property
    def closed_without_venue(self) -> bool:
        """Closed in the node although no venue news closed it: never placed, or closed by Nautilus itself. Venue
        news showing such an order live means nothing manages it any more."""
        return self.not_placed or self.node_closed

    @property
    def terminal(self) -> bool:
        """Nothing more can happen to it: closed, or filled in full."""
        return self.closed or self.filled_qty >= self.quantity

    def seed_fill(self, oid: int, trade_id: str, qty: Decimal) -> None:
        """A fill the order already holds (rebuilding the state after a restart): known, not emitted again."""
        self.trade_ids.add(trade_id)
        self.filled_by_oid[oid] = self.filled_by_oid.get(oid, _ZERO) + qty

    # -- placing ------------------------------------------------------------------------------------------

    def on_place_answer(self, oid: int | None, error: str | None, ts_ns: int) -> list[Effect]:
        """The REST answer for this order: an oid (resting or filled) or the venue's error text."""
        if oid is not None:
            return self._accept(oid, ts_ns)
        return self._reject(error or "order refused", ts_ns)

    def on_not_placed(self, reason: str, ts_ns: int) -> list[Effect]:
        """The venue has no record of the cloid (a look-up after a lost answer): it was never placed."""
        return self._reject(reason, ts_ns)

    def closed_by_node(self) -> None:
        """Nautilus closed the order without this client (its in-flight check resolves what it could not confirm:
        a cancel as CANCELED, a submit as REJECTED): emit no second CANCELED (nor an ACCEPTED) when the venue's
        own news arrives."""
        self.closed = self.node_closed = True
        self.awaited.clear()

    # -- venue news ---------------------------------------------------------------------------------------

    def on_news(self, news: OrderNews, now_s: float) -> list[Effect]:
        if news.oid in self.replaced_oids:
            return []  # the old leg of a modify
        effects: list[Effect] = []
        if self._is_new_leg(news.oid):
            if news.kind is NewsKind.REJECTED:
                return []  # the modify's REST answer brings the venue's text
            effects += self._apply_modify(news.oid, news.ts_ns)  # the new leg, ahead of the REST answer
        if news.kind is NewsKind.REJECTED:
            if self.submit_in_flight:
                return effects  # the REST answer brings the venue's full text
            return effects + self._reject(news.status, news.ts_ns)
        if news.kind is NewsKind.CANCELED and self.modify is not None and news.oid == self.oid:
            self.modify.held_cancel = news  # the modify's old leg, unless the modify fails
            return effects
        effects += self._accept(news.oid, news.ts_ns)
        if news.kind is NewsKind.CANCELED:
            return effects + self._close_after_fills(news, now_s)
        self._await_fills(news, now_s, cancel=None)
        return effects

    def on_fill(self, fill: FillNews) -> list[Effect]:
        if fill.trade_id in self.trade_ids:
            return []
        self.trade_ids.add(fill.trade_id)
        if self.closed and self.accepted:
            # A fill after CANCELED reopens the order in Nautilus (CANCELED -> PARTIALLY_FILLED), so the venue's
            # cancel still to come (or a look-up) must be able to close it again.
            self.closed = self.node_closed = False
        effects: list[Effect] = []
        if fill.oid in self.replaced_oids:
            # An old leg's fill learnt after the switch: the new leg rests with the size sent, so the total
            # quantity grows by this fill (else the new leg's last fills would be overfills).
            self.quantity += fill.qty
            effects.append(Updated(self.oid, self.quantity, None, fill.ts_ns, oid_changed=False))
        elif self._is_new_leg(fill.oid):
            effects += self._apply_modify(fill.oid, fill.ts_ns)  # the new leg filled before the REST answer
        effects += self._accept(fill.oid, fill.ts_ns)
        self.filled_by_oid[fill.oid] = self.filled_by_oid.get(fill.oid, _ZERO) + fill.qty
        effects.append(Filled(fill))
        return effects + self._settle_awaited()

    # -- modify -------------------------------------------------------------------------------------------

    def modify_refusal(self) -> str | None:
        """Why a modify cannot be sent now, or None."""
        if self.closed or not self.accepted or self.modify is not None or self.oid is None:
            return "order not modifiable now (closed, not yet accepted, or a modify is in flight)"
        return None

    def begin_modify(self, command: Any, price: Any, quantity: Decimal) -> Decimal:
        """Record a modify to ``quantity`` in total; returns the new leg's size (what is left to fill)."""
        leg_size = quantity - self.filled_qty
        if leg_size <= 0:
            raise ValueError(f"nothing left to rest: quantity {quantity}, filled {self.filled_qty}")
        self.modify = PendingModify(command, price, leg_size)
        return leg_size

    def on_modify_answer(self, new_oid: int | None, error: str | None, ts_ns: int, now_s: float) -> list[Effect]:
        """The venue's answer to the modify: the new leg's oid, or an error. An error leaves the old leg as it was,
        except "Error placing new order during modify: …", whose cancel half has closed it: that leg's CANCELED (held
        here if it came first, else still to come or looked up by the caller) then closes the order."""
        pending = self.modify
        if pending is None:
            return []  # applied already, by stream news or a fill on the new leg
        if error is None and new_oid is not None:
            if new_oid == self.oid or new_oid in self.replaced_oids:
                self.modify = None
                return []
            return self._apply_modify(new_oid, ts_ns)
        self.modify = None
        effects: list[Effect] = [ModifyRejected(pending.command, error or "modify not applied", ts_ns)]
        if pending.held_cancel is not None:
            effects += self.on_news(pending.held_cancel, now_s)  # a real cancel that raced the failed modify
        return effects

    def on_modify_lookup(self, news: OrderNews | None, ts_ns: int, now_s: float) -> list[Effect]:
        """After a lost modify answer: the venue's latest order under the cloid decides. A new oid applies the
        modify (through :meth:`on_news`); anything else means the venue never replaced the order."""
        effects = self.on_news(news, now_s) if news is not None else []
        if self.modify is not None:
            reason = "modify lost: the venue still holds the previous order"
            effects += self.on_modify_answer(None, reason, ts_ns, now_s)
        return effects

    # -- fills the venue reported but this node has not received --------------------------------------------

    def fills_overdue(self, now_s: float, timeout_s: float) -> bool:
        return any(now_s - awaited.since_s > timeout_s for awaited in self.awaited.values())

    def missing_fills_qty(self) -> Decimal:
        return sum((a.leg_filled - self.filled_by_oid.get(oid, _ZERO) for oid, a in self.awaited.items()), _ZERO)

    def give_up_overdue_fills(self, now_s: float, timeout_s: float) -> list[Effect]:
        """Fills overdue even after a resync are beyond reach (``userFillsByTime`` returns at most 10,000): stop
        waiting, and close the order if a venue cancel was held for them, rather than leave it open forever."""
        effects: list[Effect] = []
        for oid, awaited in list(self.awaited.items()):
            if now_s - awaited.since_s <= timeout_s or self.awaited.pop(oid, None) is None:
                continue
            if awaited.cancel is not None:
                effects += self._cancel(awaited.cancel.ts_ns)
        return effects

    # -- internals ----------------------------------------------------------------------------------------

    def _is_new_leg(self, oid: int) -> bool:
        """``oid`` is a modify's new leg not applied yet."""
        return self.modify is not None and self.oid is not None and oid != self.oid and oid not in self.replaced_oids

    def _apply_modify(self, new_oid: int, ts_ns: int) -> list[Effect]:
        pending = self.modify
        self.modify = None
        if self.oid is not None:
            self.replaced_oids.add(self.oid)
        self.oid = new_oid
        self.quantity = self.filled_qty + pending.leg_size
        return [Updated(new_oid, self.quantity, pending.price, ts_ns, oid_changed=True)]

    def _accept(self, oid: int, ts_ns: int) -> list[Effect]:
        if self.oid is None:
            self.oid = oid
        if self.accepted or self.closed:
            return []
        self.accepted = True
        return [Accepted(self.oid, ts_ns)]

    def _reject(self, reason: str, ts_ns: int) -> list[Effect]:
        if self.accepted or self.closed:
            return []
        self.closed = True
        return [Rejected(reason, ts_ns)]

    def _cancel(self, ts_ns: int) -> list[Effect]:
        if self.terminal:
            return []
        self.closed = True
        self.awaited.clear()
        return [Canceled(ts_ns)]

    def _close_after_fills(self, news: OrderNews, now_s: float) -> list[Effect]:
        if self.filled_by_oid.get(news.oid, _ZERO) >= news.leg_filled:
            return self._cancel(news.ts_ns)
        self._await_fills(news, now_s, cancel=news)
        return []

    def _await_fills(self, news: OrderNews, now_s: float, cancel: OrderNews | None) -> None:
        if self.closed or self.filled_by_oid.get(news.oid, _ZERO) >= news.leg_filled:
            return
        awaited = self.awaited.get(news.oid)
        if awaited is None:
            self.awaited[news.oid] = AwaitedFills(news.leg_filled, now_s, cancel)
        else:  # keep the first time: the clock runs from when the gap was first seen
            awaited.leg_filled = max(awaited.leg_filled, news.leg_filled)
            awaited.cancel = awaited.cancel or cancel

    def _settle_awaited(self) -> list[Effect]:
        effects: list[Effect] = []
        for oid, awaited in list(self.awaited.items()):
            if self.filled_by_oid.get(oid, _ZERO) >= awaited.leg_filled and self.awaited.pop(oid, None):
                if awaited.cancel is not None:
                    effects += self._cancel(awaited.cancel.ts_ns)
        return effects
