"""Record every call the seven estimator actors make into their models during a real backtest, and replay them.

Why: a synthetic feed (book mids and trades pushed through fresh models) leaves out what only a full stack makes:
our own fills and resting spells (the kappa model refines its intensity curve from them, a Newton solve over
exposure bins on each read that follows one), the estimates one actor feeds another (kappa → fill rate and
calibration, adverse selection → calibration and warm-up) and the read cadence the actors really keep. Recording at
the model boundary during ``run_backtest`` captures all of it, exactly as the actors called it; replaying the
recording into fresh models then times the models' own work on that stream, and nothing else (no engine, no actor
wiring such as the cache's book reads, the reduction of order events to spells, or message building).

``recording()`` swaps each estimator actor's ``model_cls`` for a recording subclass of the model for the duration
of the block (restored after it; the models' code is untouched). The subclass logs every outermost call of a
public method (``on_*`` and ``estimate``) in the order the actors made them, with its arguments and what it returned
or the ``ValueError`` it raised (an actor skips such an input). A call a model makes to its own public method
(``WarmupModel.on_fill`` calls ``on_market_data``) is part of the outer call and not logged again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec

import mm_strategy.actors as actors_module
from mm_strategy.actors.base import EstimatorActor

# The model method every book batch with both sides calls, per model that takes one: the denominator of "per book
# event" is the number of such batches (every actor receives every batch, and volatility has no other input).
BOOK_FEED = {
    "KappaModel": "on_book",
    "VolatilityModel": "on_mid",
    "AdverseSelectionModel": "on_mid",
    "InformedFlowModel": "on_mid",
    "WarmupModel": "on_market_data",
}
BOOK_EVENT_COUNTER = ("VolatilityModel", "on_mid")


class ModelSpec(msgspec.Struct, frozen=True):
    """How an actor built one model: its class (the original, not the recorder) and constructor arguments."""

    name: str
    model_cls: type
    params: Any
    priors: Any

    def build(self) -> Any:
        return self.model_cls(self.params, self.priors)


class Recording(msgspec.Struct):
    """Calls into the models in the order the actors made them: ``calls[k]`` = (model index into ``models``,
    method name, positional arguments); ``outcomes[k]`` = what the call returned, or the ``ValueError`` it raised."""

    models: list[ModelSpec] = msgspec.field(default_factory=list)
    calls: list[tuple[int, str, tuple]] = msgspec.field(default_factory=list)
    outcomes: list[Any] = msgspec.field(default_factory=list)

    def index_of(self, name: str) -> int:
        return next(k for k, spec in enumerate(self.models) if spec.name == name)

    def call_counts(self, index: int) -> Counter[str]:
        return Counter(method for k, method, _ in self.calls if k == index)

    def book_events(self) -> int:
        name, method = BOOK_EVENT_COUNTER
        return self.call_counts(self.index_of(name))[method]


def _public_methods(model_cls: type) -> list[str]:
    return [name for name in dir(model_cls) if name.startswith("on_") or name == "estimate"]


def _recording_class(model_cls: type, recording: Recording) -> type:
    """A subclass of ``model_cls`` whose instances register in ``recording`` and log their outermost public calls."""

    def __init__(self, params: Any, priors: Any) -> None:
        self._rec_index = len(recording.models)
        self._rec_depth = 1  # calls from the model's own constructor are part of it
        model_cls.__init__(self, params, priors)
        self._rec_depth = 0
        recording.models.append(ModelSpec(model_cls.__name__, model_cls, params, priors))

    def logged(name: str):
        original = getattr(model_cls, name)

        def method(self, *args: Any) -> Any:
            if self._rec_depth:
                return original(self, *args)
            recording.calls.append((self._rec_index, name, args))
            self._rec_depth = 1
            try:
                result = original(self, *args)
            except ValueError as exc:
                recording.outcomes.append(exc)
                raise
            finally:
                self._rec_depth = 0
            recording.outcomes.append(result)
            return result

        return method

    namespace: dict[str, Any] = {name: logged(name) for name in _public_methods(model_cls)}
    namespace["__init__"] = __init__
    namespace["__slots__"] = ("_rec_index", "_rec_depth")
    return type(f"Recording{model_cls.__name__}", (model_cls,), namespace)


def estimator_actor_classes() -> list[type]:
    """The shipped estimator actors (``mm_strategy.actors``), the classes ``ImportableActorConfig`` resolves."""
    found = (getattr(actors_module, name) for name in actors_module.__all__)
    return [cls for cls in found if isinstance(cls, type) and issubclass(cls, EstimatorActor)]


@contextmanager
def recording() -> Iterator[Recording]:
    """Every actor built inside the block feeds a recording model; the actor classes are restored on exit."""
    log = Recording()
    originals = {cls: cls.__dict__["model_cls"] for cls in estimator_actor_classes()}
    try:
        for cls, model_cls in originals.items():
            cls.model_cls = _recording_class(model_cls, log)
        yield log
    finally:
        for cls, model_cls in originals.items():
            cls.model_cls = model_cls


def replay(recording: Recording, indices: set[int]) -> tuple[float, list[Any]]:
    """Replay the recorded calls of the models at ``indices`` (in recorded order) into fresh models: (seconds spent
    in the calls, what each call returned or raised). The bound methods and arguments are ready before the clock
    starts, as an actor holds its model; a refused input is caught as the actor catches it."""
    fresh = {k: recording.models[k].build() for k in indices}
    bound = [(getattr(fresh[k], method), args) for k, method, args in recording.calls if k in indices]
    outcomes: list[Any] = []
    keep = outcomes.append
    started = time.perf_counter()
    for method, args in bound:
        try:
            keep(method(*args))
        except ValueError as exc:
            keep(exc)
    return time.perf_counter() - started, outcomes


def same_outcome(recorded: Any, replayed: Any) -> bool:
    """Equal readings (compared by repr: a NaN field equals itself there), or the same refusal."""
    if isinstance(recorded, ValueError):
        return type(recorded) is type(replayed) and str(recorded) == str(replayed)
    return recorded is replayed or repr(recorded) == repr(replayed)


def mismatches(recording: Recording, indices: set[int], replayed: list[Any]) -> int:
    """How many replayed outcomes of the models at ``indices`` differ from the recorded ones."""
    recorded = [out for (k, _, _), out in zip(recording.calls, recording.outcomes, strict=True) if k in indices]
    differing = sum(not same_outcome(a, b) for a, b in zip(recorded, replayed))
    return differing + abs(len(recorded) - len(replayed))
