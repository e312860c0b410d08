"""The actors' publication rule (``actors/base.py``): an estimate is read every ``publish_interval_ms`` of data time
but published only when it changed or a heartbeat is due, and the strategy's view does not change for it.

Each actor runs twice over the first 15 minutes of the real archive hour: once publishing every read (heartbeat =
read interval, the rule before issue 13) and once with the defaults. At every read, the last message the default
actor had published must say exactly what the every-read actor published then, and be younger than the heartbeat.
"""

from __future__ import annotations

import math

import pytest
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.component import TestClock
from nautilus_trader.cache.cache import Cache
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.portfolio.portfolio import Portfolio
from nautilus_trader.test_kit.stubs.identifiers import TestIdStubs

from adapters.hyperliquid import loaders
from adapters.hyperliquid.meta import default_instrument
from mm_strategy import actors
from mm_strategy.actors.base import changed_materially
from mm_strategy.models.priors import InstrumentPriors

PRIORS = InstrumentPriors(kappa_per_frac=20_000.0, a_per_s=0.03, sigma_frac_per_sqrt_s=3.5e-5)
S = 1_000_000_000
HEARTBEAT_NS = 2 * S  # the default heartbeat_ms
ACTORS = ("Kappa", "Volatility", "Calibration", "Warmup", "InformedFlow", "AdverseSelection", "FillRate")


@pytest.fixture(scope="module")
def batches(archive_btc_hour) -> list[OrderBookDeltas]:
    """The first 15 minutes of the real hour as the DataEngine hands them over: one ``OrderBookDeltas`` per batch."""
    instrument = default_instrument()
    deltas = loaders.parse_file(archive_btc_hour, instrument, checkpoint_s=loaders.DEFAULT_CHECKPOINT_S).deltas
    end = deltas[0].ts_event + 15 * 60 * S
    out, pending = [], []
    for delta in deltas:
        if delta.ts_event > end:
            break
        pending.append(delta)
        if delta.flags & RecordFlag.F_LAST:
            out.append(OrderBookDeltas(instrument.id, pending))
            pending = []
    return out


def _run(name: str, batches: list[OrderBookDeltas], **config) -> tuple[list, object]:
    """Every message one actor publishes over ``batches``, and the actor."""
    config_cls = getattr(actors, f"{name}ActorConfig")
    actor = getattr(actors, f"{name}Actor")(config_cls(instrument_id=batches[0].instrument_id, priors=PRIORS, **config))
    clock = TestClock()
    msgbus = MessageBus(trader_id=TestIdStubs.trader_id(), clock=clock)
    cache = Cache()
    portfolio = Portfolio(msgbus=msgbus, cache=cache, clock=clock)
    actor.register_base(portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock)
    published: list = []
    msgbus.subscribe(topic="data.*", handler=published.append)
    actor.start()
    book = OrderBook(batches[0].instrument_id, BookType.L2_MBP)
    cache.add_order_book(book)
    for deltas in batches:
        clock.set_time(deltas.ts_init)
        book.apply_deltas(deltas)
        actor.on_order_book_deltas(deltas)
    return published, actor


def _fields(message) -> dict:
    return {k: v for k, v in message.to_dict().items() if k not in ("ts_event", "ts_init")}


@pytest.mark.parametrize("name", ACTORS)
def test_the_strategy_sees_at_every_read_what_publishing_every_read_showed(name, batches) -> None:
    every_read, _ = _run(name, batches, heartbeat_ms=250)
    default, actor = _run(name, batches)
    assert len(every_read) == actor.reads > 1000  # ~1.5 batches/s, nearly all 250 ms apart
    assert actor.published == len(default) <= len(every_read)
    if name in ("Warmup", "InformedFlow", "AdverseSelection"):  # constant here (no fills, no trades): heartbeats
        assert len(default) < len(every_read) / 2
    latest, i = None, 0
    for message in every_read:
        while i < len(default) and default[i].ts_event <= message.ts_event:
            latest, i = default[i], i + 1
        assert _fields(latest) == _fields(message)
        assert message.ts_event - latest.ts_event < HEARTBEAT_NS
    repeats = [(a, b) for a, b in zip(default, default[1:]) if _fields(a) == _fields(b)]
    assert all(b.ts_event - a.ts_event >= HEARTBEAT_NS for a, b in repeats)


def test_a_change_is_any_field_beyond_the_relative_threshold() -> None:
    """Floats within ``publish_change_frac`` of their last published value are no change; any other field is.
    Field values are tuples in the message's field order; a NaN computed afresh is another object than the last one,
    so a tuple comparison alone would call it a change."""
    last = {"sigma": 4.0e-5, "regime": "normal", "n": 10, "nan": math.nan}

    def values(**changed) -> tuple:
        return tuple({**last, **changed}.values())

    previous = values()
    assert not changed_materially(values(nan=float("nan")), previous, 0.0)
    assert not changed_materially(values(nan=float("nan")), previous, 0.01)
    assert changed_materially(values(sigma=4.0000001e-5), previous, 0.0)
    assert not changed_materially(values(sigma=4.0000001e-5), previous, 0.01)
    assert changed_materially(values(sigma=4.1e-5), previous, 0.01)
    assert changed_materially(values(regime="jumpy"), previous, 0.5)
    assert changed_materially(values(n=11), previous, 0.5)
    assert changed_materially(values(nan=1.0), previous, 0.5)
    assert changed_materially(previous, None, 0.0)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"heartbeat_ms": 100}, "KappaActorConfig.heartbeat_ms: must be in [publish_interval_ms, 5000]"),
        ({"heartbeat_ms": 10_000}, "KappaActorConfig.heartbeat_ms: must be in [publish_interval_ms, 5000]"),
        ({"publish_change_frac": -0.1}, "KappaActorConfig.publish_change_frac: must be in [0, 1)"),
    ],
)
def test_publication_settings_fail_fast_naming_the_field(config, message, batches) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        actors.KappaActorConfig(instrument_id=batches[0].instrument_id, priors=PRIORS, **config)


def test_an_unchanged_reading_is_not_compared_again_but_still_heartbeats(batches, monkeypatch) -> None:
    """AdverseSelection keeps its reading object until a fill (none here): a read that gets the same object back
    skips building and comparing its values, except when the heartbeat is due (issue 13)."""
    cls = actors.AdverseSelectionActor
    compared: list = []
    extract = cls._reading_values
    counting = staticmethod(lambda reading: compared.append(reading) or extract(reading))
    monkeypatch.setattr(cls, "_reading_values", counting)
    published, actor = _run("AdverseSelection", batches)
    assert actor.reads > 1000
    assert len(compared) == len(published) > 1  # the first read, then heartbeats only
    assert all(b.ts_event - a.ts_event >= HEARTBEAT_NS for a, b in zip(published, published[1:]))
