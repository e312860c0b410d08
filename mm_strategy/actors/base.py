"""What every estimator actor shares: config, subscriptions, one clock rule, throttled publication, persistence.

A concrete actor names its model, its message and the inputs it needs, and implements only the hooks that feed its
model and map the model's estimate onto the message; the maths stays in ``mm_strategy.models``.

Inputs: the L2 book (managed by the DataEngine, read from the cache after each batch) always; public trades,
own fills, own resting spells (``order_events.py``) and other actors' estimates when the actor asks for them.
Own order events come from one bus subscription to ``events.order.*``: the ExecutionEngine publishes every order
event there exactly once, and publishes fills and cancels *again* on ``events.fills.<id>``/``events.cancels.<id>``,
which are not subscribed, so each event reaches each model once (lesson E11).

Time, one rule derived from the inputs:
- an actor that learns from our own order events feeds its model ``ts_init`` throughout (book, trades, order
  events, estimates): the moment this process learned of each. It is the one clock market data and order events
  share in both nodes. Venue times would not do: the backtest venue stamps fills with the engine clock, which on the
  bundled hour is 0.5 s (median) later than the book's venue ``ts_event``, as long as the 500 ms markout horizon;
- an actor fed market data only uses the venue's ``ts_event``, free of receipt jitter (trades of one taker order
  share it, which the informed-flow model's order grouping relies on).

Publication happens on book batches. At most once per ``publish_interval_ms`` of data time (0 = every batch) the
model's estimate is read and mapped to the message's fields (``payload``); the message goes out only when a field
changed materially since the last one published (any change by default; ``publish_change_frac`` > 0 ignores a
float field moving by less than that fraction of its last published value) or when ``heartbeat_ms`` of data time
have passed since it. So the strategy holds, at every moment, the values it held when every read was published,
and no longer wakes for a message that changes nothing; the heartbeat keeps an unchanged estimate younger than the
strategy's staleness limit (``estimate_staleness_s``, 10 s: a 2 s heartbeat plus the feed's receive lag, 0.1–2.9 s
on the bundled hour, stays well inside it). Messages carry ``ts_event`` = the triggering batch's ``ts_event`` and
``ts_init`` = the clock. Without book data nothing is published: a dead feed shows up as stale estimates in the
strategy rather than as fresh-looking old ones.

Persistence without Redis (``on_save``/``on_load`` only run with a Redis cache, nautilus_conventions §1.6): with
``state_dir`` set, ``on_start`` restores ``<state_dir>/<component id>.json`` if present and ``on_stop`` writes it.
``on_save``/``on_load`` exchange ``{"model": <JSON bytes>}`` for a Redis-backed node; a state file read in
``on_start`` wins over a state loaded before it. Restoring goes through the model's own ``restore``, which keeps
what was learned but restarts every cold-start count at zero (lesson E2); the actors add no restored flag of their
own. A state that cannot be restored (unreadable, other instrument, other version) is logged and ignored.

Malformed input never stops the node: a hook that raises ``ValueError`` (the models' and ``order_events``' way of
refusing an input) skips that event; each kind of refusal is logged once and every one is counted in ``skipped``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from typing import ClassVar

import msgspec
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.core.data import Data
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderExpired
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.orders import Order

from mm_strategy.actors.order_events import MidHistory
from mm_strategy.actors.order_events import OwnFill
from mm_strategy.actors.order_events import RestingSpell
from mm_strategy.actors.order_events import UnusableEvent
from mm_strategy.actors.order_events import own_fill
from mm_strategy.actors.order_events import resting_spell
from mm_strategy.messages import data_type
from mm_strategy.models.priors import InstrumentPriors

ORDER_EVENTS_TOPIC = "events.order.*"  # ExecutionEngine: f"events.order.{strategy_id}"
_LEARNED_EVENTS = (OrderFilled, OrderCanceled, OrderExpired)
_NS_PER_MS = 1_000_000
# Half the strategy's default staleness limit (10 s): a heartbeat beyond it, plus the feed's receive lag, could let
# an unchanged estimate go stale between two heartbeats.
MAX_HEARTBEAT_MS = 5_000


class EstimatorActorConfig(ActorConfig, frozen=True):
    """Shared settings; each concrete config adds ``params``, its model's frozen parameter dataclass.

    ``instrument_id`` and ``priors`` are written once at the top of a venue config and injected by
    ``load_venue_config``. Every model is built as ``Model(params, priors)`` and restored as
    ``Model.restore(params, priors, state)``: one pattern for the seven (``XParams`` → ``XModel`` → ``XReading``,
    the model-side result, whose bus message is ``XEstimate``/``XState`` in ``messages.py``).

    ``parse`` (what ``ImportableActorConfig`` and ``load_venue_config`` use) also rejects unknown keys inside
    ``params``: msgspec checks a dataclass's types and runs its ``__post_init__`` range checks, naming the field,
    but silently drops unknown keys, and a misspelt parameter would otherwise run on its default unnoticed.
    """

    instrument_id: InstrumentId
    priors: InstrumentPriors
    publish_interval_ms: int = 250
    heartbeat_ms: int = 2_000
    publish_change_frac: float = 0.0
    state_dir: str | None = None

    def __post_init__(self) -> None:
        name = type(self).__name__
        if self.publish_interval_ms < 0:
            raise ValueError(
                f"{name}.publish_interval_ms: must be >= 0 (0 = every book batch), got {self.publish_interval_ms!r}"
            )
        if not self.publish_interval_ms <= self.heartbeat_ms <= MAX_HEARTBEAT_MS:
            raise ValueError(
                f"{name}.heartbeat_ms: must be in [publish_interval_ms, {MAX_HEARTBEAT_MS}] (well inside the "
                f"strategy's 10 s staleness limit), got {self.heartbeat_ms!r}"
            )
        if not 0.0 <= self.publish_change_frac < 1.0:
            raise ValueError(f"{name}.publish_change_frac: must be in [0, 1), got {self.publish_change_frac!r}")

    @classmethod
    def parse(cls, raw: bytes | str) -> Any:
        config = super().parse(raw)
        reject_unknown_dataclass_fields(cls, msgspec.json.decode(raw))
        return config


def changed_materially(payload: dict[str, Any], last: dict[str, Any] | None, change_frac: float) -> bool:
    """Whether a message with ``payload`` says something the last published one (``last``) did not: any field that
    differs, except a float that moved by at most ``change_frac`` of its last value (NaN equals NaN)."""
    if last is None:
        return True
    if payload == last:
        return False
    if change_frac == 0.0:
        return not all(_same_value(value, last[name]) for name, value in payload.items())
    for name, value in payload.items():
        old = last[name]
        if type(value) is float and type(old) is float and math.isfinite(value) and math.isfinite(old):
            if abs(value - old) > change_frac * abs(old):
                return True
        elif not _same_value(value, old):
            return True
    return False


def _same_value(a: Any, b: Any) -> bool:
    return a == b or (a != a and b != b)  # NaN, which never equals itself, is no change from NaN


def reject_unknown_dataclass_fields(config_cls: type, raw: Any) -> None:
    """Raise msgspec's own unknown-field error for a key of a dataclass-typed field that the dataclass lacks."""
    if not isinstance(raw, dict):
        return
    for field in msgspec.structs.fields(config_cls):
        value = raw.get(field.encode_name)
        if not (dataclasses.is_dataclass(field.type) and isinstance(value, dict)):
            continue
        known = {f.name for f in dataclasses.fields(field.type)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise msgspec.ValidationError(f"Object contains unknown field `{unknown[0]}` - at `$.{field.encode_name}`")


class EstimatorActor(Actor):
    """Feeds one model from the bus and publishes its estimate (module docstring); subclasses set the class
    attributes and override the ``feed_*`` hooks for the inputs they declare, plus ``payload``.

    ``reads`` counts the estimates read and ``published`` the messages sent (the rest changed nothing)."""

    model_cls: ClassVar[type]
    message_cls: ClassVar[type[Data]]
    uses_trades: ClassVar[bool] = False
    uses_fills: ClassVar[bool] = False
    uses_spells: ClassVar[bool] = False
    estimate_inputs: ClassVar[tuple[type[Data], ...]] = ()

    def __init__(self, config: EstimatorActorConfig) -> None:
        super().__init__(config)
        self.model = self.model_cls(config.params, config.priors)
        self.skipped: Counter[str] = Counter()
        self._instrument_id = config.instrument_id
        self._data_type = data_type(self.message_cls, config.instrument_id)
        self._interval_ns = config.publish_interval_ms * _NS_PER_MS
        self._heartbeat_ns = config.heartbeat_ms * _NS_PER_MS
        self._change_frac = config.publish_change_frac
        self._uses_own_orders = self.uses_fills or self.uses_spells
        self._next_read_ns = 0
        self._next_heartbeat_ns = 0
        self._last_payload: dict[str, Any] | None = None
        self.reads = 0
        self.published = 0
        self._last_mid: float | None = None
        self._mids = MidHistory() if self.uses_spells else None  # the depth each order rested at (order_events.py)

    # -- hooks ---------------------------------------------------------------------------------------------------

    def feed_book(self, ts_ns: int, book: OrderBook, mid: float) -> None:
        """Every book batch with both sides present."""

    def feed_trade(self, ts_ns: int, trade: TradeTick, mid: float | None) -> None:
        """Every public trade (``uses_trades``); ``mid`` is the last book mid before it, None before any book."""

    def feed_fill(self, fill: OwnFill) -> None:
        """Every fill of our orders on this instrument (``uses_fills``)."""

    def feed_spell(self, spell: RestingSpell) -> None:
        """Every completed resting spell of our orders on this instrument (``uses_spells``)."""

    def feed_estimate(self, ts_ns: int, estimate: Data) -> None:
        """Every estimate of a type in ``estimate_inputs`` for this instrument."""

    def payload(self, estimate: Any) -> dict[str, Any]:
        """The message's fields other than ``instrument_id`` and the timestamps, from the model's estimate."""
        raise NotImplementedError

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def on_start(self) -> None:
        self._restore_from_file()
        iid = self._instrument_id
        self.subscribe_order_book_deltas(iid, BookType.L2_MBP)
        if self.uses_trades:
            self.subscribe_trade_ticks(iid)
        for cls in self.estimate_inputs:
            self.subscribe_data(data_type(cls, iid), instrument_id=iid)
        if self._uses_own_orders:
            self.msgbus.subscribe(topic=ORDER_EVENTS_TOPIC, handler=self._on_order_event)

    def on_stop(self) -> None:
        self._write_state_file()
        if self.skipped:
            self.log.warning(f"events skipped since start: {dict(self.skipped)}")

    def on_reset(self) -> None:
        self.model = self.model_cls(self.config.params, self.config.priors)
        self.skipped.clear()
        self._next_read_ns = 0
        self._next_heartbeat_ns = 0
        self._last_payload = None
        self.reads = 0
        self.published = 0
        self._last_mid = None
        self._mids = MidHistory() if self.uses_spells else None

    def on_dispose(self) -> None:
        if self.msgbus.is_subscribed(ORDER_EVENTS_TOPIC, self._on_order_event):
            self.msgbus.unsubscribe(topic=ORDER_EVENTS_TOPIC, handler=self._on_order_event)

    def on_save(self) -> dict[str, bytes]:
        return {"model": json.dumps(self.model.to_state()).encode()}

    def on_load(self, state: dict[str, bytes]) -> None:
        raw = state.get("model")
        if raw is None:
            return
        try:
            self._restore_model(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            self.log.error(f"saved state not restored, starting fresh: {exc!r}")

    # -- inputs --------------------------------------------------------------------------------------------------

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        book = self.cache.order_book(self._instrument_id)
        mid = None if book is None else book.midpoint()
        if mid is None:
            self._skip("on_order_book_deltas", UnusableEvent("book without both sides: no mid"))
            return
        self._last_mid = mid
        ts_model = self._model_ts(deltas)
        if self._mids is not None:
            self._mids.add(ts_model, mid)
        self._guarded(self.feed_book, ts_model, book, mid)
        self._publish_if_due(deltas.ts_event, ts_model)

    def on_trade_tick(self, tick: TradeTick) -> None:
        self._guarded(self.feed_trade, self._model_ts(tick), tick, self._last_mid)

    def on_data(self, data: Data) -> None:
        if isinstance(data, self.estimate_inputs):
            self._guarded(self.feed_estimate, data.ts_init, data)

    def _on_order_event(self, event: Any) -> None:
        """Raw bus handler: unlike the built-in handlers it also fires when not running, hence the state check."""
        if not (self.is_running and isinstance(event, _LEARNED_EVENTS) and event.instrument_id == self._instrument_id):
            return
        order = self.cache.order(event.client_order_id)
        if self.uses_fills and isinstance(event, OrderFilled):
            self._guarded(self._feed_fill_of, event, order)
        if self.uses_spells:
            self._guarded(self._feed_spell_of, event, order)

    def _feed_fill_of(self, event: OrderFilled, order: Order | None) -> None:
        self.feed_fill(own_fill(event, order))

    def _feed_spell_of(self, event: OrderFilled | OrderCanceled | OrderExpired, order: Order | None) -> None:
        spell = resting_spell(event, order, self._mids)
        if spell is not None:
            self.feed_spell(spell)

    # -- helpers -------------------------------------------------------------------------------------------------

    def _model_ts(self, data: Data) -> int:
        return data.ts_init if self._uses_own_orders else data.ts_event

    def _publish_if_due(self, ts_event: int, ts_model: int) -> None:
        if ts_event < self._next_read_ns:
            return
        self._next_read_ns = ts_event + self._interval_ns
        self.reads += 1
        payload = self.payload(self.model.estimate(ts_model))
        due = ts_event >= self._next_heartbeat_ns
        if not due and not changed_materially(payload, self._last_payload, self._change_frac):
            return
        self._next_heartbeat_ns = ts_event + self._heartbeat_ns
        self._last_payload = payload
        self.published += 1
        message = self.message_cls(
            ts_event=ts_event, ts_init=self.clock.timestamp_ns(), instrument_id=self._instrument_id, **payload
        )
        self.publish_data(self._data_type, message)

    def _guarded(self, hook: Callable[..., None], *args: Any) -> None:
        try:
            hook(*args)
        except ValueError as exc:
            self._skip(hook.__name__, exc)

    def _skip(self, where: str, exc: ValueError) -> None:
        """Count the skipped event; log the first of each kind (an UnusableEvent's reason, else hook + type)."""
        key = str(exc) if isinstance(exc, UnusableEvent) else f"{where}: {type(exc).__name__}"
        self.skipped[key] += 1
        if self.skipped[key] == 1:
            self.log.warning(f"skipping an input it cannot use ({where}): {exc} [logged once]")

    # -- persistence ---------------------------------------------------------------------------------------------

    def _restore_model(self, state: dict) -> None:
        self.model = self.model_cls.restore(self.config.params, self.config.priors, state)

    def _state_path(self) -> Path | None:
        state_dir = self.config.state_dir
        return None if state_dir is None else Path(state_dir) / f"{self.id.value}.json"

    def _restore_from_file(self) -> None:
        path = self._state_path()
        if path is None or not path.exists():
            return
        try:
            saved = json.loads(path.read_text())
            if saved.get("instrument_id") != self._instrument_id.value:
                raise ValueError(f"state is for {saved.get('instrument_id')!r}, not {self._instrument_id.value}")
            self._restore_model(saved["model"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.log.error(f"state {path} not restored, starting fresh: {exc!r}")
            return
        self.log.info(f"state restored from {path}")

    def _write_state_file(self) -> None:
        """Atomic (write then rename), so a crash mid-write never leaves a truncated state behind."""
        path = self._state_path()
        if path is None:
            return
        document = {"instrument_id": self._instrument_id.value, "model": self.model.to_state()}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(document))
            os.replace(tmp, path)
        except OSError as exc:
            self.log.error(f"state not saved to {path}: {exc!r}")
