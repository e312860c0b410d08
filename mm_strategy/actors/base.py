"""What every estimator actor shares: config, subscriptions, one clock rule, throttled publication, persistence.

A concrete actor names its model, its message and the inputs it needs, and implements only the hooks that feed its
model and map the model's estimate onto the message; the maths stays in ``mm_strategy.models``.

Inputs: the L2 book (managed by the DataEngine, read from the cache after each batch) always; public trades,
own fills, own resting spells (``order_events.py``) and other actors' estimates when the actor asks for them.
Each actor subscribes to those alone, and to own order events only of the types it learns from, on the topics
where the ExecutionEngine publishes each of them once per event (lesson E11: never two topics carrying the same
event): fills on ``events.fills.<instrument>`` (fill and spell users), cancels on ``events.cancels.<instrument>``
(spell users). Expiries have no topic of their own: a spell user also takes ``events.order.*``, where every order
event of every strategy goes, and keeps only expiries and updates (a modified order starts a new spell) of its
instrument. The submits, accepts and pending cancels
that make up most order events (and the fills and cancels again) never reach an actor's code. What the engine
never publishes on the per-instrument topics, none of which the strategies here produce: a fill it cannot book
(instrument or account missing from the cache, logged as an error there) and a spread's leg fill without an order.

Time, one rule derived from the inputs:
- an actor that learns from our own order events feeds its model ``ts_init`` throughout (book, trades, order
  events, estimates): the moment this process learned of each. It is the one clock market data and order events
  share in both nodes. Venue times would not do: the backtest venue stamps fills with the engine clock, which on the
  bundled hour is 0.5 s (median) later than the book's venue ``ts_event``, as long as the 500 ms markout horizon;
- an actor fed market data only uses the venue's ``ts_event``, free of receipt jitter (trades of one taker order
  share it, which the informed-flow model's order grouping relies on).

Publication happens on book batches. At most once per ``publish_interval_ms`` of data time (0 = every batch) the
model's estimate (the model's reading) is read as the message's field values: each field is the reading's
attribute of the same name, or the attribute path the actor's ``renamed`` gives, and one C-level ``attrgetter`` call
per read builds them as a tuple in the message's field order (no dict, no per-actor mapping code), compared with
the last published tuple as a whole before field by field. The message goes out only when a field changed
materially since the last one published (any change by default; ``publish_change_frac`` > 0 ignores a
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
from itertools import compress
from operator import attrgetter
from operator import ne
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
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.orders import Order

from mm_strategy.actors.order_events import LastSpellBounds
from mm_strategy.actors.order_events import MidHistory
from mm_strategy.actors.order_events import OwnFill
from mm_strategy.actors.order_events import RestingSpell
from mm_strategy.actors.order_events import SpellEnd
from mm_strategy.actors.order_events import UnusableEvent
from mm_strategy.actors.order_events import own_fill
from mm_strategy.actors.order_events import resting_spell
from mm_strategy.messages import data_topic
from mm_strategy.messages import data_type
from mm_strategy.models.priors import InstrumentPriors

# ExecutionEngine topics (module docstring): every order event of a strategy; fills and cancels of an instrument
ORDER_EVENTS_TOPIC = "events.order.*"
FILLS_TOPIC = "events.fills.{instrument_id}"
CANCELS_TOPIC = "events.cancels.{instrument_id}"
_NS_PER_MS = 1_000_000
# The order half of each spell, worked out once for the actors that learn from spells (``LastSpellBounds``)
_SPELL_BOUNDS = LastSpellBounds()
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


def changed_materially(values: tuple, last: tuple | None, change_frac: float) -> bool:
    """Whether a message with field ``values`` says something the last published one (``last``, same field order)
    did not: any field that differs, except a float that moved by at most ``change_frac`` of its last value (NaN
    equals NaN)."""
    if last is None:
        return True
    if values == last:
        return False
    if change_frac == 0.0:
        # Only the fields that differ are looked at (found at C level, usually one or two): a change unless each of
        # them is NaN on both sides. The same answer as ``_same_value`` field by field, without a call per field.
        for value, old in compress(zip(values, last), map(ne, values, last)):
            if value == value or old == old:
                return True
        return False
    for value, old in zip(values, last):
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
    attributes and override the ``feed_*`` hooks for the inputs they declare.

    ``renamed`` maps a message field to the reading's attribute path where the two names differ.
    ``reads`` counts the estimates read and ``published`` the messages sent (the rest changed nothing)."""

    model_cls: ClassVar[type]
    message_cls: ClassVar[type[Data]]
    renamed: ClassVar[dict[str, str]] = {}
    uses_trades: ClassVar[bool] = False
    uses_fills: ClassVar[bool] = False
    uses_spells: ClassVar[bool] = False
    estimate_inputs: ClassVar[tuple[type[Data], ...]] = ()
    _reading_values: ClassVar[Callable[[Any], tuple]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """The reading → field values getter, once per class; a ``renamed`` key that is no field fails here."""
        super().__init_subclass__(**kwargs)
        fields = [f.name for f in dataclasses.fields(cls.message_cls)]
        if fields[0] != "instrument_id" or not set(cls.renamed) <= set(fields[1:]):
            raise TypeError(f"{cls.__name__}: {cls.message_cls.__name__} fields {fields} do not fit {cls.renamed}")
        cls._reading_values = attrgetter(*(cls.renamed.get(name, name) for name in fields[1:]))

    def __init__(self, config: EstimatorActorConfig) -> None:
        super().__init__(config)
        self.model = self.model_cls(config.params, config.priors)
        self.skipped: Counter[str] = Counter()
        self._instrument_id = config.instrument_id
        self._topic = data_topic(self.message_cls, config.instrument_id)  # what subscribe_data(data_type) listens on
        self._interval_ns = config.publish_interval_ms * _NS_PER_MS
        self._heartbeat_ns = config.heartbeat_ms * _NS_PER_MS
        self._change_frac = config.publish_change_frac
        self._uses_own_orders = self.uses_fills or self.uses_spells
        # None for an actor whose model takes no book input (the batch is only its publication clock): no call
        self._feed_book = None if type(self).feed_book is EstimatorActor.feed_book else self.feed_book
        self._order_subscriptions: list[tuple[str, Callable[[Any], None]]] = []
        self._next_read_ns = 0
        self._next_heartbeat_ns = 0
        self._last_values: tuple | None = None
        self._last_reading: Any = None  # the model's reading at the last read (``_read``)
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
            self._order_subscriptions.append((FILLS_TOPIC.format(instrument_id=iid), self._on_fill))
        if self.uses_spells:
            self._order_subscriptions.append((CANCELS_TOPIC.format(instrument_id=iid), self._on_spell_end))
            self._order_subscriptions.append((ORDER_EVENTS_TOPIC, self._on_order_event))
        for topic, handler in self._order_subscriptions:
            self.msgbus.subscribe(topic=topic, handler=handler)

    def on_stop(self) -> None:
        self._write_state_file()
        if self.skipped:
            self.log.warning(f"events skipped since start: {dict(self.skipped)}")

    def on_reset(self) -> None:
        self.model = self.model_cls(self.config.params, self.config.priors)
        self.skipped.clear()
        self._next_read_ns = 0
        self._next_heartbeat_ns = 0
        self._last_values = None
        self._last_reading = None
        self.reads = 0
        self.published = 0
        self._last_mid = None
        self._mids = MidHistory() if self.uses_spells else None

    def on_dispose(self) -> None:
        for topic, handler in self._order_subscriptions:
            if self.msgbus.is_subscribed(topic, handler):
                self.msgbus.unsubscribe(topic=topic, handler=handler)
        self._order_subscriptions.clear()

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
        """The hot path (every batch, in every actor): two cache reads, the hook, and a read when one is due."""
        book = self.cache.order_book(self._instrument_id)
        mid = None if book is None else book.midpoint()
        if mid is None:
            self._skip("on_order_book_deltas", UnusableEvent("book without both sides: no mid"))
            return
        self._last_mid = mid
        ts_event = deltas.ts_event
        ts_model = deltas.ts_init if self._uses_own_orders else ts_event
        if self._mids is not None:
            self._mids.add(ts_model, mid)
        if self._feed_book is not None:
            try:
                self._feed_book(ts_model, book, mid)
            except ValueError as exc:
                self._skip("feed_book", exc)
        if ts_event >= self._next_read_ns:
            self._read(ts_event, ts_model)

    def on_trade_tick(self, tick: TradeTick) -> None:
        try:
            self.feed_trade(tick.ts_init if self._uses_own_orders else tick.ts_event, tick, self._last_mid)
        except ValueError as exc:
            self._skip("feed_trade", exc)

    def on_data(self, data: Data) -> None:
        """Only the ``estimate_inputs`` types are subscribed (``on_start``)."""
        self._guarded(self.feed_estimate, data.ts_init, data)

    # Raw bus handlers: unlike the built-in ones they also fire when the actor is not running, hence the state check.

    def _on_fill(self, event: OrderFilled) -> None:
        if not self.is_running:
            return
        order = self.cache.order(event.client_order_id)
        if self.uses_fills:
            self._guarded(self._feed_fill_of, event, order)
        if self.uses_spells:
            self._guarded(self._feed_spell_of, event, order)

    def _on_spell_end(self, event: OrderCanceled | OrderExpired | OrderUpdated) -> None:
        if self.is_running:
            self._guarded(self._feed_spell_of, event, self.cache.order(event.client_order_id))

    def _on_order_event(self, event: Any) -> None:
        """Every order event of every strategy; only an expiry or an update (a modified order: its spell at the old
        price ends, ``order_events.py``) of this instrument ends a spell (module docstring)."""
        if (type(event) is OrderExpired or type(event) is OrderUpdated) and event.instrument_id == self._instrument_id:
            self._on_spell_end(event)

    def _feed_fill_of(self, event: OrderFilled, order: Order | None) -> None:
        self.feed_fill(own_fill(event, order))

    def _feed_spell_of(self, event: SpellEnd, order: Order | None) -> None:
        spell = resting_spell(event, order, self._mids, _SPELL_BOUNDS.of)
        if spell is not None:
            self.feed_spell(spell)

    # -- helpers -------------------------------------------------------------------------------------------------

    def _read(self, ts_event: int, ts_model: int) -> None:
        """Read the estimate (a read is due) and publish it if it changed or the heartbeat is due.

        A model that returns the very reading of the last read (a model that kept it because nothing it depends on
        changed) is not compared again: readings are frozen, so its values are the ones compared then, against the
        same last published ones, and the answer would be the same."""
        self._next_read_ns = ts_event + self._interval_ns
        self.reads += 1
        reading = self.model.estimate(ts_model)
        heartbeat_due = ts_event >= self._next_heartbeat_ns
        if reading is self._last_reading and not heartbeat_due:
            return
        self._last_reading = reading
        values = self._reading_values(reading)
        if not heartbeat_due and not changed_materially(values, self._last_values, self._change_frac):
            return
        self._next_heartbeat_ns = ts_event + self._heartbeat_ns
        self._last_values = values
        self.published += 1
        # positional: ts_event, ts_init, then the fields in declaration order (instrument_id first, __init_subclass__)
        message = self.message_cls(ts_event, self.clock.timestamp_ns(), self._instrument_id, *values)
        # What ``publish_data(data_type(...), message)`` does once its checks pass (the type is ours, and a running
        # actor is registered): publish on the data type's topic, here worked out once instead of on every message.
        self.msgbus.publish(self._topic, message)

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
