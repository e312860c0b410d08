"""Estimator actors on the real bundled BTC hour: each publishes its estimate on the bus with values that make sense,
own order events reach each model exactly once, state survives a restart without counting as warm, config errors
name the field, and input an actor cannot use is skipped rather than fatal.

The backtests run through ``mm_strategy.backtest.run_backtest`` on a catalog built from the real archive hour. The
strategy is a test driver, not ``GLFTMarketMaker``: ``TouchQuoter`` rests one tagged post-only order per side at the
touch and replaces both every few seconds, which gives the actors many real fills and many real non-fills on this
trade-less hour (every fill is a book-crossing fill). ``Strategy`` itself is the no-op strategy of the runs that
show what the actors do with market data alone.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import msgspec
import pandas as pd
import pytest
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.config import ImportableActorConfig
from nautilus_trader.cache.cache import Cache
from nautilus_trader.config import ActorConfig
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderExpired
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.portfolio.portfolio import Portfolio
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs
from nautilus_trader.test_kit.stubs.identifiers import TestIdStubs
from nautilus_trader.trading.config import ImportableStrategyConfig
from nautilus_trader.trading.strategy import Strategy

from adapters.hyperliquid import loaders
from mm_strategy import actors
from mm_strategy.actors import AdverseSelectionActor
from mm_strategy.actors import CalibrationActor
from mm_strategy.actors import FillRateActor
from mm_strategy.actors import KappaActor
from mm_strategy.actors import KappaActorConfig
from mm_strategy.actors import WarmupActor
from mm_strategy.actors.order_events import UnusableEvent
from mm_strategy.actors.order_events import resting_spell
from mm_strategy.backtest import DataRange
from mm_strategy.backtest import align_to_snapshot
from mm_strategy.backtest import run_backtest
from mm_strategy.messages import ESTIMATE_TYPES
from mm_strategy.messages import data_type
from mm_strategy.models.adverse_selection import AdverseSelectionModel
from mm_strategy.models.calibration import CalibrationController
from mm_strategy.models.fill_rate import FillRateModel
from mm_strategy.models.kappa import KappaEstimator
from mm_strategy.models.warmup import WarmupTracker
from mm_strategy.node_config import BacktestSettings
from mm_strategy.node_config import VenueInstrumentConfig
from mm_strategy.node_config import load_venue_config
from mm_strategy.order_tags import placement_tags

IID = "BTC-USD-PERP.HYPERLIQUID"
INSTRUMENT_ID = InstrumentId.from_str(IID)
HOUR_START = pd.Timestamp("2024-01-01T12:00:00", tz="UTC")
S = 1_000_000_000
ACTOR_NAMES = ("Kappa", "Volatility", "FillRate", "AdverseSelection", "Calibration", "InformedFlow", "Warmup")
NO_OP_STRATEGY = ImportableStrategyConfig(
    strategy_path="nautilus_trader.trading.strategy:Strategy",
    config_path="nautilus_trader.trading.config:StrategyConfig",
    config={},
)


# --- test components (importable as tests.test_actors:<Name> by the backtest node) -------------------------------


class TouchQuoterConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    order_size: Decimal = Decimal("0.001")
    requote_s: float = 5.0
    tagged: bool = True


class TouchQuoter(Strategy):
    """Every ``requote_s`` of data: cancel both orders, rest a post-only bid and ask at the touch, tagged with the
    placement mid (``tagged=False`` leaves the tags off, as an order the estimators cannot measure)."""

    def __init__(self, config: TouchQuoterConfig) -> None:
        super().__init__(config)
        self._next_ns = 0

    def on_start(self) -> None:
        self.subscribe_order_book_deltas(self.config.instrument_id, BookType.L2_MBP)

    def on_order_book_deltas(self, deltas) -> None:
        if deltas.ts_init < self._next_ns:
            return
        self._next_ns = deltas.ts_init + round(self.config.requote_s * S)
        iid = self.config.instrument_id
        self.cancel_all_orders(iid)
        book = self.cache.order_book(iid)
        mid = book.midpoint()
        if mid is None:
            return
        size = self.cache.instrument(iid).make_qty(self.config.order_size)
        for side, price in ((OrderSide.BUY, book.best_bid_price()), (OrderSide.SELL, book.best_ask_price())):
            tags = placement_tags(mid, 0) if self.config.tagged else None
            self.submit_order(self.order_factory.limit(iid, side, size, price, post_only=True, tags=tags))

    def on_stop(self) -> None:
        self.cancel_all_orders(self.config.instrument_id)


class EstimateRecorderConfig(ActorConfig, frozen=True):
    instrument_id: InstrumentId


class EstimateRecorder(Actor):
    """Subscribes to every estimate type exactly as a consumer must (``data_type``) and keeps what arrives."""

    def __init__(self, config: EstimateRecorderConfig) -> None:
        super().__init__(config)
        self.received: dict[str, list] = defaultdict(list)

    def on_start(self) -> None:
        for cls in ESTIMATE_TYPES:
            self.subscribe_data(data_type(cls, self.config.instrument_id), instrument_id=self.config.instrument_id)

    def on_data(self, data) -> None:
        self.received[type(data).__name__].append(data)


def counting(model_cls: type, *methods: str) -> type:
    """``model_cls`` whose named methods count their calls in the instance's ``calls``."""

    def counted(name: str):
        original = getattr(model_cls, name)

        def method(self, *args):
            self.calls[name] += 1
            return original(self, *args)

        return method

    def __init__(self, params=None) -> None:
        model_cls.__init__(self, params)
        self.calls = Counter()

    namespace = {name: counted(name) for name in methods}
    namespace["__init__"] = __init__
    return type(f"Counting{model_cls.__name__}", (model_cls,), namespace)


class CountingKappaActor(KappaActor):
    model_cls = counting(KappaEstimator, "on_own_fill")


class CountingAdverseSelectionActor(AdverseSelectionActor):
    model_cls = counting(AdverseSelectionModel, "on_fill")


class CountingFillRateActor(FillRateActor):
    model_cls = counting(FillRateModel, "on_order_outcome")


class CountingCalibrationActor(CalibrationActor):
    model_cls = counting(CalibrationController, "on_fill")


class CountingWarmupActor(WarmupActor):
    model_cls = counting(WarmupTracker, "on_fill")


# --- helpers ------------------------------------------------------------------------------------------------------


def actor_config(name: str, actor_path: str | None = None, **config) -> ImportableActorConfig:
    return ImportableActorConfig(
        actor_path=actor_path or f"mm_strategy.actors:{name}Actor",
        config_path=f"mm_strategy.actors:{name}ActorConfig",
        config={"instrument_id": IID, **config},
    )


def estimator_configs(**config) -> list[ImportableActorConfig]:
    return [actor_config(name, **config) for name in ACTOR_NAMES]


RECORDER = ImportableActorConfig(
    actor_path="tests.test_actors:EstimateRecorder",
    config_path="tests.test_actors:EstimateRecorderConfig",
    config={"instrument_id": IID},
)


def quoter(**config) -> ImportableStrategyConfig:
    return ImportableStrategyConfig(
        strategy_path="tests.test_actors:TouchQuoter",
        config_path="tests.test_actors:TouchQuoterConfig",
        config={"instrument_id": IID, "order_id_tag": "T", **config},
    )


def settings(strategy: ImportableStrategyConfig, actor_configs: list[ImportableActorConfig]) -> VenueInstrumentConfig:
    return VenueInstrumentConfig(
        instrument_id=IID,
        coin="BTC",
        strategy=strategy,
        actors=actor_configs,
        backtest=BacktestSettings(log_level="ERROR"),
    )


class Run:
    """What a finished backtest leaves for the assertions: actors by class name, the recorder's messages, orders."""

    def __init__(self, catalog: Path, config: VenueInstrumentConfig, data_range: DataRange) -> None:
        # a slice starting mid-hour starts at the last full-book snapshot before it, as run_backtest.py does
        outcome = run_backtest(config, catalog, align_to_snapshot(catalog, INSTRUMENT_ID, data_range))
        engine = outcome.engine
        self.actors = {type(actor).__name__: actor for actor in engine.trader.actors()}
        self.received = self.actors["EstimateRecorder"].received if "EstimateRecorder" in self.actors else {}
        self.orders = list(engine.cache.orders())
        outcome.node.dispose()

    def last(self, type_name: str):
        return self.received[type_name][-1]

    def fills(self) -> int:
        return sum(isinstance(e, OrderFilled) for order in self.orders for e in order.events)


def minutes(start: float, end: float) -> DataRange:
    return DataRange(
        start=HOUR_START + pd.Timedelta(minutes=start) if start else None,
        end=HOUR_START + pd.Timedelta(minutes=end),
    )


# --- fixtures -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog(archive_btc_hour, tmp_path_factory) -> Path:
    """The real hour, loaded the way ``run_backtest.ensure_catalog`` does (5 min checkpoints, heartbeats)."""
    instrument = loaders.default_instrument()
    result = loaders.parse_file(archive_btc_hour, instrument, checkpoint_s=loaders.DEFAULT_CHECKPOINT_S, heartbeat=True)
    path = tmp_path_factory.mktemp("hour") / "catalog"
    loaders.write_catalog([result], instrument, path)
    return path


@pytest.fixture(scope="module")
def market_only(catalog) -> Run:
    """First 10 minutes, actors and recorder, a strategy that never quotes: market data alone."""
    return Run(catalog, settings(NO_OP_STRATEGY, [*estimator_configs(), RECORDER]), minutes(0, 10))


@pytest.fixture(scope="module")
def quoting(catalog) -> Run:
    """First 10 minutes with the touch quoter: real fills and non-fills."""
    return Run(catalog, settings(quoter(), [*estimator_configs(), RECORDER]), minutes(0, 10))


# --- publication and values on the real hour ----------------------------------------------------------------------


@pytest.mark.parametrize("run_name", ["market_only", "quoting"])
def test_each_actor_publishes_its_type_throttled_in_data_time(run_name, request) -> None:
    run = request.getfixturevalue(run_name)
    assert set(run.received) == {cls.__name__ for cls in ESTIMATE_TYPES}
    counts = {name: len(messages) for name, messages in run.received.items()}
    # all seven publish on the same book batches with the same 250 ms throttle: 10 min / 250 ms = 2,400 at most;
    # the hour has ~1.5 batches/s, nearly all 250 ms or more apart, hence ~900
    assert len(set(counts.values())) == 1, counts
    assert 600 < counts["KappaEstimate"] <= 2400
    for messages in run.received.values():
        ts = [m.ts_event for m in messages]
        assert all(b - a >= 250_000_000 for a, b in zip(ts, ts[1:]))
        assert all(m.instrument_id == INSTRUMENT_ID and m.ts_init >= m.ts_event for m in messages)


def test_market_data_alone(market_only) -> None:
    received = market_only.received
    # κ: per-level size on a BTC book does not fit exp(−κδ) (R² ≈ 0.01, models/kappa.py), so after its first 10
    # updates the book is unreliable with reason low_r2 and κ stays on the prior with no fills to blend in
    kappas = received["KappaEstimate"]
    assert {k.book_reason for k in kappas[:3]} == {"too_few_updates"}
    assert all(not k.book_reliable for k in kappas) and kappas[-1].book_reason == "low_r2"
    assert all(k.kappa_bid == k.kappa_ask == 2500.0 and k.own_fill_count == 0 for k in kappas)
    # σ: the prior 2e-4 decays towards this quiet hour's 2–4e-5 /√s (≈ 14 % annualised): regime calm
    sigma = market_only.last("VolatilityEstimate")
    assert 1e-5 < sigma.sigma_frac_per_sqrt_s < 1e-4 and sigma.regime == "calm" and sigma.n_returns > 500
    assert received["VolatilityEstimate"][0].sigma_frac_per_sqrt_s == 2e-4
    # no orders: λ₀ and δ_char are the priors, no markouts, no informed-flow orders (the hour has no trades)
    fill_rate = market_only.last("FillRateEstimate")
    assert (fill_rate.lambda0_per_s, fill_rate.delta_char_bps, fill_rate.observations) == (0.8, 10.0, 0)
    assert fill_rate.effective_fills == 0.0
    assert market_only.last("AdverseSelectionEstimate").fills_measured == 0
    informed = market_only.last("InformedFlowEstimate")
    assert (informed.p_informed, informed.confidence, informed.orders_classified) == (0.1, 0.0, 0)


def test_warmup_force_starts_after_30_s_of_data_without_fills(market_only) -> None:
    states = market_only.received["WarmupState"]
    first_warm = next(s for s in states if s.is_warm)
    elapsed_s = (first_warm.ts_init - states[0].ts_init) / S
    assert 30.0 <= elapsed_s < 32.0  # the first batch after 30 s (book batches come every ~0.7 s)
    assert first_warm.forced and first_warm.progress == 0.0 and first_warm.uplift == pytest.approx(1.1)
    assert not any(s.is_warm for s in states if s.ts_init < first_warm.ts_init)


def test_calibration_falls_to_the_floor_without_fills(market_only) -> None:
    # ratio = (0 + 2)/(expected + 2) with expected = 60/h·span: 1 at the start (no evidence), ≤ 0.6 from
    # span ≥ 80 s; progress stays 0 (no markouts, κ own_confidence 0), so γ_mult = the 0.6 floor from then on
    states = market_only.received["CalibrationState"]
    assert states[0].gamma_mult == 1.0 and states[0].progress == 0.0
    t0 = states[0].ts_init
    after_80_s = [s for s in states if s.ts_init - t0 >= 81 * S]
    assert after_80_s and all(s.gamma_mult == pytest.approx(0.6) and s.progress == 0.0 for s in after_80_s)


def test_fills_move_the_estimators(quoting) -> None:
    fills = quoting.fills()
    assert fills > 20  # ≈ 40 book-crossing fills in 10 minutes at the touch
    kappa = quoting.last("KappaEstimate")
    assert kappa.fills_since_start == kappa.own_fill_count == fills
    assert kappa.own_confidence == pytest.approx(fills / (fills + 5))
    # fills at the touch sit ~0.1 bp from the placement mid: κ_own is far above the prior, the blend clamps it
    kappas = quoting.received["KappaEstimate"]
    assert all(50.0 <= k.kappa_bid <= 10_000.0 and 50.0 <= k.kappa_ask <= 10_000.0 for k in kappas)
    assert kappa.kappa_own > 2500.0 and kappa.blend_weight > 0.9 and not kappa.book_reliable
    markouts = quoting.last("AdverseSelectionEstimate")
    assert markouts.fills_measured == fills and markouts.confidence == pytest.approx(min(fills / 50, 1.0))
    fill_rate = quoting.last("FillRateEstimate")
    assert fill_rate.observations > 100 and fill_rate.is_warm and fill_rate.observed_fills_per_hour > 100
    assert 0.0 < fill_rate.effective_fills < fills  # forgetting (half-life 100 spells) has discounted early fills
    assert 1.0 <= fill_rate.delta_char_bps <= 50.0 and 0.0 < fill_rate.lambda0_per_s < 0.8
    # calibration: fills above target keep the fill ratio ≥ 1 and markouts + κ confidence drive progress to 1,
    # so γ_mult ends at 1; γ_mult only moves off the 0.6 floor (the market_only run) because of fills
    calibration = quoting.last("CalibrationState")
    assert calibration.progress == 1.0 and calibration.gamma_mult == 1.0
    assert calibration.fills_in_window == fills
    warm = quoting.last("WarmupState")
    assert warm.is_warm and not warm.forced and warm.progress == 1.0 and warm.uplift == 1.0
    assert warm.kappa_fills == fills and warm.floor_observations == fills


def test_public_trades_reach_the_informed_flow_model(ws_recording_btc, tmp_path) -> None:
    """The archive hour has no trades; the 26 s WS recording has 34, which the model groups by (venue ts_event,
    aggressor) into taker orders. 8 orders are too few to fit the mixture (min_init_orders 10): the prior stays."""
    instrument = loaders.default_instrument()
    path = tmp_path / "catalog"
    loaders.write_catalog([loaders.parse_file(ws_recording_btc, instrument)], instrument, path)
    run = Run(path, settings(NO_OP_STRATEGY, [actor_config("InformedFlow"), RECORDER]), DataRange())
    informed = run.last("InformedFlowEstimate")
    assert 0 < informed.orders_classified < 34
    assert (informed.p_informed, informed.confidence) == (0.1, 0.0)
    assert not run.actors["InformedFlowActor"].skipped


# --- own order events: exactly once -------------------------------------------------------------------------------


def test_each_order_event_reaches_each_model_exactly_once(catalog) -> None:
    """The engine publishes every fill on events.order.<strategy> and again on events.fills.<instrument> (and every
    cancel on events.cancels.<instrument>): the models must see it once."""
    counted = [
        actor_config(name, actor_path=f"tests.test_actors:Counting{name}Actor")
        for name in ("Kappa", "AdverseSelection", "FillRate", "Calibration", "Warmup")
    ]
    run = Run(catalog, settings(quoter(), counted), minutes(0, 5))
    fills = run.fills()
    accepted = [o for o in run.orders if o.ts_accepted]
    filled_spells = sum(o.filled_qty.as_double() > 0 for o in accepted)
    censored_spells = sum(
        o.filled_qty.as_double() == 0 and any(isinstance(e, (OrderCanceled, OrderExpired)) for e in o.events)
        for o in accepted
    )
    assert fills > 10 and censored_spells > 10
    calls = {name: actor.model.calls for name, actor in run.actors.items()}
    assert calls["CountingKappaActor"]["on_own_fill"] == fills
    assert calls["CountingAdverseSelectionActor"]["on_fill"] == fills
    assert calls["CountingCalibrationActor"]["on_fill"] == fills
    assert calls["CountingWarmupActor"]["on_fill"] == fills
    assert calls["CountingFillRateActor"]["on_order_outcome"] == filled_spells + censored_spells


def test_orders_without_placement_tags_are_skipped_not_fatal(catalog) -> None:
    run = Run(catalog, settings(quoter(tagged=False), estimator_configs()), minutes(0, 3))
    fills = run.fills()
    assert fills > 0
    untagged = "fill of an order without placement tags (not placed by our strategy)"
    assert run.actors["KappaActor"].skipped == {untagged: fills}
    assert run.actors["AdverseSelectionActor"].skipped == {untagged: fills}
    assert set(run.actors["FillRateActor"].skipped) == {"order without placement tags (not placed by our strategy)"}
    # the fill itself still counts where no placement mid is needed
    assert run.actors["WarmupActor"].model.estimate(0).kappa_fills == fills
    assert not run.actors["CalibrationActor"].skipped


# --- resting spells ------------------------------------------------------------------------------------------------

_ORDER_IDS = itertools.count(1)


def _order(side: OrderSide = OrderSide.BUY, tags: list[str] | None = None):
    """An accepted BTC order at 49,950 (10 bps below the 50,000 placement mid), resting from t = 2 s."""
    instrument = loaders.default_instrument()
    order = TestExecStubs.limit_order(
        instrument=instrument,
        order_side=side,
        price=Price.from_str("49950.0"),
        quantity=Quantity.from_str("0.01000"),
        client_order_id=ClientOrderId(f"O-{next(_ORDER_IDS)}"),
        tags=placement_tags(50_000.0, 0) if tags is None else tags,
    )
    order.apply(TestEventStubs.order_submitted(order, ts_event=1 * S))
    order.apply(TestEventStubs.order_accepted(order, ts_event=2 * S))
    return order, instrument


def _fill(order, instrument, qty: str, ts_s: float):
    event = TestEventStubs.order_filled(
        order,
        instrument,
        trade_id=TradeId(f"T-{order.event_count}"),
        last_qty=Quantity.from_str(qty),
        last_px=order.price,
        ts_event=round(ts_s * S),
    )
    order.apply(event)
    return event


def test_full_fill_is_one_filled_spell() -> None:
    order, instrument = _order()
    spell = resting_spell(_fill(order, instrument, "0.01000", 7.0), order)
    assert spell.filled and spell.rested_s == 5.0 and spell.depth_bps == pytest.approx(10.0)


def test_partial_fill_then_cancel_is_one_filled_spell() -> None:
    order, instrument = _order()
    first = resting_spell(_fill(order, instrument, "0.00400", 4.0), order)
    second = resting_spell(_fill(order, instrument, "0.00200", 4.0), order)
    cancel = TestEventStubs.order_canceled(order, ts_event=9 * S)
    order.apply(cancel)
    assert first.filled and first.rested_s == 2.0
    assert second is None and resting_spell(cancel, order) is None


def test_cancel_without_fill_is_a_censored_spell() -> None:
    order, _ = _order(OrderSide.SELL)
    cancel = TestEventStubs.order_canceled(order, ts_event=12 * S)
    order.apply(cancel)
    spell = resting_spell(cancel, order)
    # a sell at 49,950 against a 50,000 placement mid was placed through the mid: negative depth, clamped by the model
    assert not spell.filled and spell.rested_s == 10.0 and spell.depth_bps == pytest.approx(-10.0)


def test_spells_the_model_cannot_use() -> None:
    untagged, _ = _order(tags=[])
    cancel = TestEventStubs.order_canceled(untagged, ts_event=3 * S)
    untagged.apply(cancel)
    with pytest.raises(UnusableEvent, match="without placement tags"):
        resting_spell(cancel, untagged)
    modified, _ = _order()
    modified.apply(TestEventStubs.order_updated(modified, price=Price.from_str("49900.0"), ts_event=3 * S))
    cancel = TestEventStubs.order_canceled(modified, ts_event=4 * S)
    modified.apply(cancel)
    with pytest.raises(UnusableEvent, match="modified order"):
        resting_spell(cancel, modified)
    assert resting_spell(cancel, None) is None


# --- persistence --------------------------------------------------------------------------------------------------


def test_state_dir_round_trip_restores_learning_but_not_warmth(catalog, tmp_path) -> None:
    state_dir = str(tmp_path / "state")
    first = Run(catalog, settings(quoter(), estimator_configs(state_dir=state_dir)), minutes(0, 5))
    assert sorted(p.name for p in Path(state_dir).iterdir()) == sorted(f"{n}Actor.json" for n in ACTOR_NAMES)
    saved_fills = first.fills()
    assert saved_fills > 10
    # restart at the next checkpoint snapshot (12:05:01) without quoting: what was learned is back, every
    # cold-start count starts from zero, so nothing restored passes for warm (lesson E2)
    restart = settings(NO_OP_STRATEGY, [*estimator_configs(state_dir=state_dir), RECORDER])
    second = Run(catalog, restart, minutes(5.5, 8))
    received = second.received
    kappa = received["KappaEstimate"][0]
    assert kappa.ts_init >= (HOUR_START + pd.Timedelta(minutes=5)).value
    assert kappa.own_fill_count == saved_fills and kappa.kappa_own > 2500.0  # restored fills, still in the window
    assert all(k.fills_since_start == 0 and k.own_confidence == 0.0 for k in received["KappaEstimate"])
    markouts = received["AdverseSelectionEstimate"][0]
    assert markouts.as_bps_total != 0.0 and markouts.fills_measured == 0 and markouts.confidence == 0.0
    fill_rate = received["FillRateEstimate"][0]
    assert fill_rate.lambda0_per_s != 0.8 and fill_rate.observations == 0 and not fill_rate.is_warm
    sigma = received["VolatilityEstimate"][0]
    assert sigma.sigma_frac_per_sqrt_s < 1e-4 and sigma.n_returns == 0  # not back at the 2e-4 prior
    assert all(c.progress == 0.0 for c in received["CalibrationState"])
    warmups = received["WarmupState"]
    assert warmups[0].progress == 0.0 and not warmups[0].is_warm
    assert all(w.forced for w in warmups if w.is_warm)  # only the 30 s timer, never restored counts


def test_on_save_on_load_round_trip_for_a_redis_backed_node() -> None:
    saved = KappaActor(KappaActorConfig(instrument_id=INSTRUMENT_ID))
    for i in range(3):
        saved.model.on_own_fill(i * S, 49_990.0, 50_000.0)
    state = saved.on_save()
    assert set(state) == {"model"} and isinstance(state["model"], bytes)
    loaded = KappaActor(KappaActorConfig(instrument_id=INSTRUMENT_ID))
    loaded.on_load(state)
    assert loaded.model.to_state() == saved.model.to_state()
    estimate = loaded.model.estimate(3 * S)
    assert estimate.own_fill_count == 3 and estimate.fills_since_start == 0 and estimate.own_confidence == 0.0


@pytest.mark.parametrize("name", ACTOR_NAMES)
def test_every_actor_saves_and_loads_its_model(name) -> None:
    actor_cls, config_cls = getattr(actors, f"{name}Actor"), getattr(actors, f"{name}ActorConfig")
    saved = actor_cls(config_cls(instrument_id=INSTRUMENT_ID))
    loaded = actor_cls(config_cls(instrument_id=INSTRUMENT_ID))
    loaded.on_load(saved.on_save())
    assert loaded.model.to_state() == saved.model.to_state()


def test_unreadable_state_file_starts_fresh(catalog, tmp_path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "KappaActor.json").write_text("{not json")
    other_instrument = {"instrument_id": "ETH-USD-PERP.HYPERLIQUID", "model": {}}
    (state_dir / "VolatilityActor.json").write_text(json.dumps(other_instrument))
    configs = [actor_config(n, state_dir=str(state_dir)) for n in ("Kappa", "Volatility")]
    run = Run(catalog, settings(NO_OP_STRATEGY, [*configs, RECORDER]), minutes(0, 1))
    assert run.received["KappaEstimate"][0].kappa_own == 2500.0
    assert run.received["VolatilityEstimate"][0].sigma_frac_per_sqrt_s == 2e-4
    assert json.loads((state_dir / "KappaActor.json").read_text())["instrument_id"] == IID  # rewritten on stop


# --- configs ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"params": {"prior_strenght": 5}}, "unknown field `prior_strenght` - at `$.params`"),
        ({"params": {"prior": 1e6}}, "KappaParams.prior: must be in [kappa_min, kappa_max], got 1000000.0"),
        ({"params": {"prior": "high"}}, "Expected `float`, got `str` - at `$.params.prior`"),
        ({"publish_interval_ms": -1}, "KappaActorConfig.publish_interval_ms: must be >= 0"),
        ({"publish_intervall_ms": 100}, "unknown field `publish_intervall_ms`"),
    ],
)
def test_config_errors_name_the_field(config, message) -> None:
    with pytest.raises(msgspec.ValidationError) as info:
        KappaActorConfig.parse(json.dumps({"instrument_id": IID, **config}))
    assert message in str(info.value)


def test_venue_config_file_with_a_bad_actor_param_names_file_actor_and_field(tmp_path) -> None:
    document = {
        "instrument_id": IID,
        "coin": "BTC",
        "strategy": msgspec.to_builtins(quoter()),
        "actors": [msgspec.to_builtins(actor_config("AdverseSelection", params={"ewma_alpha": 1.5}))],
    }
    path = tmp_path / "venue.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError) as info:
        load_venue_config(path)
    text = str(info.value)
    assert str(path) in text and "mm_strategy.actors:AdverseSelectionActorConfig" in text
    assert "AdverseSelectionParams.ewma_alpha: must be in (0, 1], got 1.5" in text


def test_nested_params_parse_from_json() -> None:
    config = actors.AdverseSelectionActorConfig.parse(
        json.dumps({"instrument_id": IID, "publish_interval_ms": 0, "params": {"extra_horizons_s": [1.0, 5.0]}})
    )
    assert config.params.extra_horizons_s == (1.0, 5.0) and config.params.ewma_alpha == 0.12
    assert config.publish_interval_ms == 0


# --- malformed input ---------------------------------------------------------------------------------------------


def _registered(actor: Actor) -> Actor:
    clock = TestClock()
    msgbus = MessageBus(trader_id=TestIdStubs.trader_id(), clock=clock)
    cache = Cache()
    portfolio = Portfolio(msgbus=msgbus, cache=cache, clock=clock)
    actor.register_base(portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock)
    return actor


def _trade(aggressor: AggressorSide) -> TradeTick:
    return TradeTick(INSTRUMENT_ID, Price.from_str("50000.0"), Quantity.from_str("0.01"), aggressor, TradeId("1"), 5, 5)


def test_trades_the_kappa_model_cannot_place_are_skipped_and_counted() -> None:
    actor = _registered(KappaActor(KappaActorConfig(instrument_id=INSTRUMENT_ID)))
    actor.on_trade_tick(_trade(AggressorSide.BUYER))  # before any book: no mid to measure from
    actor.on_trade_tick(_trade(AggressorSide.BUYER))
    actor.on_trade_tick(_trade(AggressorSide.NO_AGGRESSOR))
    assert actor.skipped == {
        "trade before the first book: no mid to measure its depth from": 2,
        "trade without an aggressor side: the book side it hit is unknown": 1,
    }


def test_bus_delivers_each_fill_once_and_a_malformed_one_is_skipped() -> None:
    """The engine publishes a fill on events.order.<strategy> and again on events.fills.<instrument>."""
    actor = _registered(CountingKappaActor(KappaActorConfig(instrument_id=INSTRUMENT_ID)))
    actor.start()
    for tags, expected_calls in ((None, 1), (["mm.mid=0.0", "mm.level=0"], 2)):  # a zero placement mid is refused
        order, instrument = _order(tags=tags)
        actor.cache.add_order(order)
        fill = _fill(order, instrument, "0.01000", 3.0)
        actor.msgbus.publish(f"events.order.{order.strategy_id}", fill)
        actor.msgbus.publish(f"events.fills.{order.instrument_id}", fill)
        assert actor.model.calls["on_own_fill"] == expected_calls
    assert actor.skipped == {"_feed_fill_of: ValueError": 1}
    assert actor.model.estimate(3 * S).fills_since_start == 1
