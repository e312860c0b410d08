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
from nautilus_trader.execution.engine import ExecutionEngine
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.accounting.factory import AccountFactory
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.events import OrderAccepted
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

from adapters.catalog import write_catalog
from adapters.hyperliquid import loaders
from adapters.hyperliquid.meta import default_instrument
from mm_strategy import actors
from mm_strategy.actors import AdverseSelectionActor
from mm_strategy.actors import AdverseSelectionActorConfig
from mm_strategy.actors import CalibrationActor
from mm_strategy.actors import FillRateActor
from mm_strategy.actors import KappaActor
from mm_strategy.actors import KappaActorConfig
from mm_strategy.actors import WarmupActor
from mm_strategy.actors import order_events
from mm_strategy.actors.order_events import LastSpellBounds
from mm_strategy.actors.order_events import MidHistory
from mm_strategy.actors.order_events import UnusableEvent
from mm_strategy.actors.order_events import resting_spell
from mm_strategy.backtest import DataRange
from mm_strategy.backtest import align_to_snapshot
from mm_strategy.backtest import run_backtest
from mm_strategy.messages import ESTIMATE_TYPES
from mm_strategy.messages import data_type
from mm_strategy.models.adverse_selection import AdverseSelectionModel
from mm_strategy.models.calibration import CalibrationModel
from mm_strategy.models.fill_rate import FillRateModel
from mm_strategy.models.priors import InstrumentPriors
from mm_strategy.models.kappa import KappaModel
from mm_strategy.models.warmup import WarmupModel
from mm_strategy.node_config import BacktestSettings
from mm_strategy.node_config import VenueInstrumentConfig
from mm_strategy.node_config import VenueSettings
from mm_strategy.node_config import load_venue_config
from mm_strategy.order_tags import placement_tags

IID = "BTC-USD-PERP.HYPERLIQUID"
INSTRUMENT_ID = InstrumentId.from_str(IID)
# BTC priors as in configs/hyperliquid_btc.json (as a JSON-ready dict and as the config object)
PRIORS_JSON = {"kappa_per_frac": 20_000.0, "a_per_s": 0.03, "sigma_frac_per_sqrt_s": 3.5e-5}
PRIORS = InstrumentPriors(**PRIORS_JSON)
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

    def __init__(self, params, priors) -> None:
        model_cls.__init__(self, params, priors)
        self.calls = Counter()

    namespace = {name: counted(name) for name in methods}
    namespace["__init__"] = __init__
    return type(f"Counting{model_cls.__name__}", (model_cls,), namespace)


class CountingKappaActor(KappaActor):
    model_cls = counting(KappaModel, "on_spell")


class CountingAdverseSelectionActor(AdverseSelectionActor):
    model_cls = counting(AdverseSelectionModel, "on_fill")


class CountingFillRateActor(FillRateActor):
    model_cls = counting(FillRateModel, "on_spell")


class CountingCalibrationActor(CalibrationActor):
    model_cls = counting(CalibrationModel, "on_fill", "on_spell")


class CountingWarmupActor(WarmupActor):
    model_cls = counting(WarmupModel, "on_fill")


# --- helpers ------------------------------------------------------------------------------------------------------


def actor_config(name: str, actor_path: str | None = None, **config) -> ImportableActorConfig:
    return ImportableActorConfig(
        actor_path=actor_path or f"mm_strategy.actors:{name}Actor",
        config_path=f"mm_strategy.actors:{name}ActorConfig",
        config={"instrument_id": IID, "priors": PRIORS_JSON, **config},
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
        venue=VenueSettings(name="hyperliquid"),
        priors=PRIORS,
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
    instrument = default_instrument()
    result = loaders.parse_file(archive_btc_hour, instrument, checkpoint_s=loaders.DEFAULT_CHECKPOINT_S, heartbeat=True)
    path = tmp_path_factory.mktemp("hour") / "catalog"
    write_catalog([result], instrument, path)
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
    # all seven read their estimate on the same book batches with the same 250 ms throttle: 10 min / 250 ms = 2,400
    # at most; the hour has ~1.5 batches/s, nearly all 250 ms or more apart, hence ~900. Each publishes a read only
    # when it changed or its 2 s heartbeat is due (test_actor_publication.py).
    reads = {name: actor.reads for name, actor in run.actors.items() if name.endswith("Actor")}
    assert len(reads) == 7 and len(set(reads.values())) == 1, reads
    assert 600 < reads["KappaActor"] <= 2400
    assert all(len(run.received[cls.__name__]) <= reads["KappaActor"] for cls in ESTIMATE_TYPES)
    for messages in run.received.values():
        ts = [m.ts_event for m in messages]
        assert all(b - a >= 250_000_000 for a, b in zip(ts, ts[1:]))
        assert all(m.instrument_id == INSTRUMENT_ID and m.ts_init >= m.ts_event for m in messages)


def test_market_data_alone(market_only) -> None:
    received = market_only.received
    # κ and A: one curve per side from book crossings (the hour has no trades): the prior until a side has 10
    # crossings in its window, then the crossing fit whenever it passes its checks (R² ≥ 0.3, κ within 3× the prior)
    kappas = received["KappaEstimate"]
    assert {(k.source, k.book_reason) for k in kappas[:3]} == {("prior", "too_few_updates")}
    assert all(k.own_fill_count == 0 for k in kappas)
    # measured in these 10 minutes: the bid side fits from about 6 minutes on (129 of 908; 349 when the 2-tick
    # spreads' crossings at their own touch were read as depth beyond the 1-tick touch), the ask side never does
    assert {k.source for k in kappas} == {"prior", "bid:book_crossings,ask:prior"}
    fitted = [k for k in kappas if k.source != "prior"]
    assert len(fitted) > 100 and all(k.kappa_bid != 20_000.0 and k.book_reason != "ok" for k in fitted)
    assert all(
        (k.kappa_bid, k.kappa_ask, k.a_per_s_bid, k.a_per_s_ask) == (20_000.0, 20_000.0, 0.03, 0.03)
        for k in kappas if k.source == "prior"
    )
    assert all(0 < k.a_per_s_bid < 1 and 0 < k.a_per_s_ask < 1 and 1e3 < k.kappa_bid < 1e5 for k in kappas)
    # σ: starts at the instrument prior and reads this hour's 20 s bipower, ≈ 3.5–4.3e-5 /√s (realised at 10–60 s:
    # 4.2e-5); one 20 s return per second once 40 s of grid are in
    volatility = received["VolatilityEstimate"]
    assert volatility[0].sigma_frac_per_sqrt_s == PRIORS.sigma_frac_per_sqrt_s and volatility[0].n_returns == 0
    sigma = market_only.last("VolatilityEstimate")
    assert 3e-5 < sigma.sigma_frac_per_sqrt_s < 5e-5 and sigma.regime == "normal" and sigma.n_returns > 500
    # no orders: no fills observed or expected, and the curve compared against is the kappa actor's
    fill_rate = market_only.last("FillRateEstimate")
    assert (fill_rate.observed_fills_per_hour, fill_rate.expected_fills_per_hour, fill_rate.observations) == (0, 0, 0)
    last_kappa = kappas[-1]  # the kappa actor publishes first on each batch, so the fill-rate actor has it
    assert fill_rate.lambda0_per_s == pytest.approx(0.5 * (last_kappa.a_per_s_bid + last_kappa.a_per_s_ask))
    assert market_only.last("AdverseSelectionEstimate").fills_measured == 0
    # informed flow: no trades in the hour, so it says so and stays neutral throughout
    informed = received["InformedFlowEstimate"]
    assert not any(i.has_trades for i in informed)
    assert {(i.p_informed_buy, i.p_informed_sell, i.p_informed, i.confidence) for i in informed} == {(0, 0, 0, 0)}


def test_warmup_force_starts_after_30_s_of_data_without_fills(market_only) -> None:
    states = market_only.received["WarmupState"]
    first_warm = next(s for s in states if s.is_warm)
    elapsed_s = (first_warm.ts_init - states[0].ts_init) / S
    assert 30.0 <= elapsed_s < 32.0  # the first batch after 30 s (book batches come every ~0.7 s)
    assert first_warm.forced and first_warm.progress == 0.0 and first_warm.uplift == pytest.approx(1.1)
    assert not any(s.is_warm for s in states if s.ts_init < first_warm.ts_init)


def test_calibration_does_not_tighten_without_quotes_of_ours(market_only) -> None:
    # expected fills accrue over the seconds our orders rested (models/calibration.py): a strategy that never
    # quotes gives none, so ratio = (0 + 2)/(0 + 2) = 1 for all 10 minutes. Until the quant review it accrued over
    # the elapsed time and this run fell to the 0.6 floor from 80 s: tightening on no evidence, as across a feed gap.
    states = market_only.received["CalibrationState"]
    assert (states[-1].ts_init - states[0].ts_init) / S > 500
    assert all(
        (s.half_spread_mult, s.expected_fills_in_window, s.fill_ratio, s.progress) == (1.0, 0.0, 1.0, 0.0)
        for s in states
    )


def test_fills_move_the_estimators(quoting) -> None:
    fills = quoting.fills()
    assert fills > 20  # ≈ 40 book-crossing fills in 10 minutes at the touch
    # κ and A: our spells at the touch (fills and non-fills, at the depth each rested) refine each side's curve
    kappa = quoting.last("KappaEstimate")
    filled_spells = sum(o.ts_accepted > 0 and o.filled_qty.as_double() > 0 for o in quoting.orders)
    assert kappa.fills_since_start == kappa.own_fill_count == filled_spells > 20
    assert kappa.own_confidence == pytest.approx(filled_spells / (filled_spells + 10))
    assert kappa.source.count("+own") in (1, 2) and 0.0 < kappa.blend_weight < 1.0
    kappas = quoting.received["KappaEstimate"]
    assert all(0 < k.a_per_s_bid < 1 and 0 < k.a_per_s_ask < 1 and 1e3 < k.kappa_bid < 1e5 for k in kappas)
    markouts = quoting.last("AdverseSelectionEstimate")
    primary = quoting.actors["AdverseSelectionActor"].model.estimate(0).horizons[0]
    fewer_side = min(primary.fills_bid, primary.fills_ask)
    assert primary.fills_bid + primary.fills_ask == fills and fewer_side > 0
    assert markouts.fills_measured == fills and markouts.confidence == pytest.approx(min(fewer_side / 50, 1.0))
    # measured from the fill price: book-crossing fills come after the mid reached our price, so the move after the
    # fill is small, while the placement markout (report only) adds our depth to it
    assert primary.fills_placement == fills
    assert abs(primary.as_bps_total) < primary.placement_as_bps_total
    # fill rate vs the curve: ≈ 40 fills in 10 min at the touch, against what the curve expects at our depths
    fill_rate = quoting.last("FillRateEstimate")
    assert fill_rate.observations > 100 and fill_rate.is_warm and fill_rate.observed_fills_per_hour > 100
    assert fill_rate.expected_fills_per_hour > 0.0
    # calibration: fills above target keep the fill ratio ≥ 1 and markouts + κ confidence drive progress to 1,
    # so the multiplier ends at 1; the quoter's orders rested ≈ 520 of the 600 s: expected 60/h · 521 s = 8.69
    calibration = quoting.last("CalibrationState")
    assert calibration.progress == 1.0 and calibration.half_spread_mult == 1.0
    assert calibration.fills_in_window == fills and 8.0 < calibration.expected_fills_in_window < 10.0
    warm = quoting.last("WarmupState")
    assert warm.is_warm and not warm.forced and warm.progress == 1.0 and warm.uplift == 1.0
    assert warm.kappa_fills == fills and warm.floor_observations == fills


def test_public_trades_reach_the_informed_flow_model(ws_recording_btc, tmp_path) -> None:
    """The archive hour has no trades; the 26 s WS recording has 34, which the model groups by (venue ts_event,
    aggressor) into 8 taker orders after the first book (the connect snapshot's prints come before it)."""
    instrument = default_instrument()
    path = tmp_path / "catalog"
    write_catalog([loaders.parse_file(ws_recording_btc, instrument)], instrument, path)
    run = Run(path, settings(NO_OP_STRATEGY, [actor_config("InformedFlow"), RECORDER]), DataRange())
    informed = run.last("InformedFlowEstimate")
    assert informed.has_trades and informed.orders_classified == 8
    assert informed.confidence == pytest.approx(8 / 50)  # warm-up ramp over 50 orders
    assert 0.0 <= informed.p_informed_buy < 1.0 and 0.0 <= informed.p_informed_sell < 1.0
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
    assert calls["CountingKappaActor"]["on_spell"] == filled_spells + censored_spells
    assert calls["CountingAdverseSelectionActor"]["on_fill"] == fills
    assert calls["CountingCalibrationActor"]["on_fill"] == fills
    assert calls["CountingCalibrationActor"]["on_spell"] == filled_spells + censored_spells
    assert calls["CountingWarmupActor"]["on_fill"] == fills
    assert calls["CountingFillRateActor"]["on_spell"] == filled_spells + censored_spells


def test_orders_without_placement_tags_are_skipped_not_fatal(catalog) -> None:
    run = Run(catalog, settings(quoter(tagged=False), estimator_configs()), minutes(0, 3))
    fills = run.fills()
    assert fills > 0
    assert set(run.actors["KappaActor"].skipped) == {"order without placement tags (not placed by our strategy)"}
    # adverse selection measures from the fill price: only the report's placement markout needs the tags
    assert not run.actors["AdverseSelectionActor"].skipped
    markouts = run.actors["AdverseSelectionActor"].model.estimate(0)
    assert markouts.fills_measured + markouts.fills_pending == fills
    assert markouts.horizons[0].fills_placement == 0
    assert set(run.actors["FillRateActor"].skipped) == {"order without placement tags (not placed by our strategy)"}
    # the fill itself still counts where no placement mid is needed
    assert run.actors["WarmupActor"].model.estimate(0).kappa_fills == fills
    calibration = run.actors["CalibrationActor"]
    assert calibration.model.estimate(0).fills_in_window == fills
    # their resting time is not ours to count either (the spells the calibration's quoting time comes from)
    assert set(calibration.skipped) == {"order without placement tags (not placed by our strategy)"}


# --- resting spells ------------------------------------------------------------------------------------------------

_ORDER_IDS = itertools.count(1)


def _order(side: OrderSide = OrderSide.BUY, tags: list[str] | None = None):
    """An accepted BTC order at 49,950 (10 bps below the 50,000 placement mid), resting from t = 2 s (``ts_init``,
    the clock the actors key book mids and spells by)."""
    instrument = default_instrument()
    order = TestExecStubs.limit_order(
        instrument=instrument,
        order_side=side,
        price=Price.from_str("49950.0"),
        quantity=Quantity.from_str("0.01000"),
        client_order_id=ClientOrderId(f"O-{next(_ORDER_IDS)}"),
        tags=placement_tags(50_000.0, 0) if tags is None else tags,
    )
    order.apply(TestEventStubs.order_submitted(order, ts_event=1 * S))
    accepted = TestEventStubs.order_accepted(order, ts_event=2 * S)
    order.apply(
        OrderAccepted(
            accepted.trader_id, accepted.strategy_id, accepted.instrument_id, accepted.client_order_id,
            accepted.venue_order_id, accepted.account_id, accepted.id, 2 * S, 2 * S,
        )
    )
    return order, instrument


def _fill(order, instrument, qty: str, ts_s: float):
    stub = TestEventStubs.order_filled(
        order,
        instrument,
        trade_id=TradeId(f"T-{order.event_count}"),
        last_qty=Quantity.from_str(qty),
        last_px=order.price,
        ts_event=round(ts_s * S),
    )
    event = OrderFilled.from_dict({**OrderFilled.to_dict(stub), "ts_init": round(ts_s * S)})
    order.apply(event)
    return event


def _cancel(order, ts_s: float):
    stub = TestEventStubs.order_canceled(order, ts_event=round(ts_s * S))
    event = OrderCanceled.from_dict({**OrderCanceled.to_dict(stub), "ts_init": round(ts_s * S)})
    order.apply(event)
    return event


def _mids(*samples: tuple[float, float]) -> MidHistory:
    """Book mids (t in s, mid) as the actor records them."""
    mids = MidHistory()
    for t_s, mid in samples:
        mids.add(round(t_s * S), mid)
    return mids


def test_a_spell_rests_at_the_depths_the_mid_put_it_at() -> None:
    order, instrument = _order()
    # mid 50,000 until 4 s, then 50,010; the crossing update at the fill's own time (7 s) is not held against it
    mids = _mids((0.0, 50_000.0), (4.0, 50_010.0), (7.0, 49_950.0))
    spell = resting_spell(_fill(order, instrument, "0.01000", 7.0), order, mids)
    far = (50_010.0 - 49_950.0) / 50_010.0 * 1e4  # 11.9976 bp
    assert spell.filled and spell.rested_s == 5.0 and spell.side == 1
    assert spell.segments == (pytest.approx((10.0, 2.0)), pytest.approx((far, 3.0)))
    # time-weighted: (10·2 + 11.9976·3)/5 = 11.1986 bp, not the 10 bp from the placement mid; filled at 11.9976 bp
    assert spell.depth_bps == pytest.approx((10.0 * 2 + far * 3) / 5) and spell.end_depth_bps == pytest.approx(far)


def test_a_fill_event_later_than_the_book_that_crossed_the_order_ends_the_spell_at_that_book() -> None:
    # Review finding: a trade-driven fill is stamped with the trade's ts_init, which on the HL captures comes after a
    # book already showing it for 3-13 % of trades (live: a fill recovered by a resync comes seconds late). The spell
    # then gained a segment at depth <= 0 (the crossing mid), weighing e^0 = 1 against e^(-kd), and kappa came out 3x.
    on_time, instrument = _order()
    late, _ = _order()
    mids = _mids((0.0, 50_000.0), (7.0, 49_945.0))  # the book trades through the 49,950 bid at 7.0 s
    prompt = resting_spell(_fill(on_time, instrument, "0.01000", 7.0), on_time, mids)
    delayed = resting_spell(_fill(late, instrument, "0.01000", 7.2), late, mids)
    assert delayed.segments == prompt.segments == (pytest.approx((10.0, 5.0)),)
    assert (delayed.rested_s, delayed.end_depth_bps, delayed.depth_bps) == (5.0, pytest.approx(10.0), pytest.approx(10.0))
    assert delayed.filled and delayed.ts_ns == round(7.2 * S)


def test_partial_fill_then_cancel_is_one_filled_spell() -> None:
    order, instrument = _order()
    mids = _mids((0.0, 50_000.0))
    first = resting_spell(_fill(order, instrument, "0.00400", 4.0), order, mids)
    second = resting_spell(_fill(order, instrument, "0.00200", 4.0), order, mids)
    cancel = _cancel(order, 9.0)
    assert first.filled and first.rested_s == 2.0 and first.depth_bps == pytest.approx(10.0)
    assert second is None and resting_spell(cancel, order, mids) is None


def test_cancel_without_fill_is_a_censored_spell() -> None:
    order, _ = _order(OrderSide.SELL)
    cancel = _cancel(order, 12.0)
    spell = resting_spell(cancel, order, _mids((1.0, 50_000.0)))
    # a sell at 49,950 against a 50,000 mid rests through the mid: negative depth, counted at 0 by the models
    assert not spell.filled and spell.rested_s == 10.0 and spell.depth_bps == pytest.approx(-10.0)
    assert spell.side == -1 and spell.segments == (pytest.approx((-10.0, 10.0)),)


def test_spells_the_model_cannot_use() -> None:
    mids = _mids((0.0, 50_000.0))
    untagged, _ = _order(tags=[])
    cancel = _cancel(untagged, 3.0)
    with pytest.raises(UnusableEvent, match="without placement tags"):
        resting_spell(cancel, untagged, mids)
    assert resting_spell(cancel, None, mids) is None  # a modified order rests a spell per price: test_order_events.py
    early, _ = _order()
    with pytest.raises(UnusableEvent, match="no book mid before the order's end"):
        resting_spell(_cancel(early, 3.0), early, _mids((5.0, 50_000.0)))


def test_the_order_half_of_a_spell_is_worked_out_once_per_event_and_order_state(monkeypatch) -> None:
    """The kappa and fill-rate actors receive each spell's end as the same event: the order half (``spell_bounds``)
    is shared, each actor's mids are its own, and an order that took another event since is asked afresh."""
    asked = []
    real_bounds = order_events.spell_bounds
    monkeypatch.setattr(order_events, "spell_bounds", lambda e, o: asked.append(e) or real_bounds(e, o))
    shared = LastSpellBounds()
    order, instrument = _order()
    fill = _fill(order, instrument, "0.00400", 4.0)
    kappa_mids, fill_rate_mids = _mids((0.0, 50_000.0)), _mids((0.0, 50_010.0))
    kappa_spell = resting_spell(fill, order, kappa_mids, shared.of)
    fill_rate_spell = resting_spell(fill, order, fill_rate_mids, shared.of)
    assert len(asked) == 1
    assert kappa_spell == resting_spell(fill, order, kappa_mids)  # the same spell as worked out alone
    assert fill_rate_spell == resting_spell(fill, order, fill_rate_mids)
    assert fill_rate_spell.depth_bps == pytest.approx((50_010.0 - 49_950.0) / 50_010.0 * 1e4)  # its own mids
    _fill(order, instrument, "0.00200", 5.0)  # the order took another fill: the first one's answer may not hold
    resting_spell(fill, order, kappa_mids, shared.of)
    assert len(asked) == 2
    untagged, _ = _order(tags=[])
    cancel = _cancel(untagged, 3.0)
    for mids in (kappa_mids, fill_rate_mids):  # a refusal reaches every actor, to be counted by each
        with pytest.raises(UnusableEvent, match="without placement tags"):
            resting_spell(cancel, untagged, mids, shared.of)
    assert len(asked) == 3


def test_mid_history_drops_repeats_and_old_samples() -> None:
    mids = MidHistory(max_age_s=10.0)
    for t_s, mid in ((0, 1.0), (1, 1.0), (2, 2.0), (30, 3.0), (31, 4.0)):
        mids.add(t_s * S, mid)
    assert len(mids) == 3  # the repeat at 1 s is not stored; at 31 s only the mid in force 10 s earlier and after
    assert mids.segments(25 * S, 32 * S) == [(2.0, 5.0), (3.0, 1.0), (4.0, 1.0)]
    assert mids.mid_before(31 * S) == 3.0 and mids.mid_before(31 * S + 1) == 4.0


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
    saved_spells = sum(o.ts_accepted > 0 and o.filled_qty.as_double() > 0 for o in first.orders)
    assert kappa.own_fill_count == saved_spells and "+own" in kappa.source  # restored spells, still in the window
    assert all(k.fills_since_start == 0 and k.own_confidence == 0.0 for k in received["KappaEstimate"])
    markouts = received["AdverseSelectionEstimate"][0]
    assert markouts.as_bps_total != 0.0 and markouts.fills_measured == 0 and markouts.confidence == 0.0
    fill_rate = received["FillRateEstimate"][0]
    assert fill_rate.observations == 0 and not fill_rate.is_warm
    sigma = received["VolatilityEstimate"][0]
    assert sigma.sigma_frac_per_sqrt_s != PRIORS.sigma_frac_per_sqrt_s and sigma.n_returns == 0  # not the prior
    assert all(c.progress == 0.0 for c in received["CalibrationState"])
    warmups = received["WarmupState"]
    assert warmups[0].progress == 0.0 and not warmups[0].is_warm
    assert all(w.forced for w in warmups if w.is_warm)  # only the 30 s timer, never restored counts


def test_on_save_on_load_round_trip_for_a_redis_backed_node() -> None:
    saved = KappaActor(KappaActorConfig(instrument_id=INSTRUMENT_ID, priors=PRIORS))
    for i in range(3):
        saved.model.on_spell(i * S, 0, [(2e-4, 5.0)], 2e-4)
    state = saved.on_save()
    assert set(state) == {"model"} and isinstance(state["model"], bytes)
    loaded = KappaActor(KappaActorConfig(instrument_id=INSTRUMENT_ID, priors=PRIORS))
    loaded.on_load(state)
    assert loaded.model.to_state() == saved.model.to_state()
    estimate = loaded.model.estimate(3 * S)
    assert estimate.own_fill_count == 3 and estimate.fills_since_start == 0 and estimate.own_confidence == 0.0


@pytest.mark.parametrize("name", ACTOR_NAMES)
def test_every_actor_saves_and_loads_its_model(name) -> None:
    actor_cls, config_cls = getattr(actors, f"{name}Actor"), getattr(actors, f"{name}ActorConfig")
    saved = actor_cls(config_cls(instrument_id=INSTRUMENT_ID, priors=PRIORS))
    loaded = actor_cls(config_cls(instrument_id=INSTRUMENT_ID, priors=PRIORS))
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
    fresh = run.received["KappaEstimate"][0]
    assert (fresh.kappa_own, fresh.a_per_s_bid, fresh.own_fill_count) == (20_000.0, 0.03, 0)
    assert run.received["VolatilityEstimate"][0].sigma_frac_per_sqrt_s == PRIORS.sigma_frac_per_sqrt_s
    assert json.loads((state_dir / "KappaActor.json").read_text())["instrument_id"] == IID  # rewritten on stop


# --- configs ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"params": {"prior_strenght": 5}}, "unknown field `prior_strenght` - at `$.params`"),
        ({"params": {"min_r2": 1.5}}, "KappaParams.min_r2: must be in [0, 1], got 1.5"),
        ({"params": {"min_r2": "high"}}, "Expected `float`, got `str` - at `$.params.min_r2`"),
        ({"publish_interval_ms": -1}, "KappaActorConfig.publish_interval_ms: must be >= 0"),
        ({"publish_intervall_ms": 100}, "unknown field `publish_intervall_ms`"),
    ],
)
def test_config_errors_name_the_field(config, message) -> None:
    with pytest.raises(msgspec.ValidationError) as info:
        KappaActorConfig.parse(json.dumps({"instrument_id": IID, "priors": PRIORS_JSON, **config}))
    assert message in str(info.value)


def test_venue_config_file_with_a_bad_actor_param_names_file_actor_and_field(tmp_path) -> None:
    actor = msgspec.to_builtins(actor_config("AdverseSelection", params={"ewma_alpha": 1.5}))
    for written_once in ("instrument_id", "priors"):  # the file holds them at the top only
        del actor["config"][written_once]
    strategy = msgspec.to_builtins(quoter())
    del strategy["config"]["instrument_id"]
    document = {
        "instrument_id": IID, "coin": "BTC", "venue": {"name": "hyperliquid"}, "priors": PRIORS_JSON,
        "strategy": strategy, "actors": [actor],
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
        json.dumps(
            {"instrument_id": IID, "priors": PRIORS_JSON, "publish_interval_ms": 0, "params": {"extra_horizons_s": [1.0, 5.0]}}
        )
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
    actor = _registered(KappaActor(KappaActorConfig(instrument_id=INSTRUMENT_ID, priors=PRIORS)))
    actor.on_trade_tick(_trade(AggressorSide.BUYER))  # before any book: no mid to measure from
    actor.on_trade_tick(_trade(AggressorSide.BUYER))
    actor.on_trade_tick(_trade(AggressorSide.NO_AGGRESSOR))
    assert actor.skipped == {
        "trade before the first book: no mid to measure its depth from": 2,
        "trade without an aggressor side: the book side it hit is unknown": 1,
    }


def test_a_fill_before_any_book_mid_is_measured_by_adverse_selection() -> None:
    """The add-on measures from the fill price, so a fill needs no earlier book mid; the mids after it resolve it."""
    actor = _registered(AdverseSelectionActor(AdverseSelectionActorConfig(instrument_id=INSTRUMENT_ID, priors=PRIORS)))
    actor.start()
    order, instrument = _order()
    actor.cache.add_order(order)
    _publish_as_the_engine(actor.msgbus, _fill(order, instrument, "0.01000", 3.0))
    assert not actor.skipped
    assert actor.model.estimate(3 * S).fills_pending == 1


def test_a_fill_a_resync_recovered_late_is_not_measured_by_adverse_selection() -> None:
    """Reviewer finding: live, a fill recovered by a resync arrives up to a minute after it happened; the mid then
    is a minute's drift away from the fill. Off the live stream (lag < 10 s) it is measured as before."""
    actor = _registered(AdverseSelectionActor(AdverseSelectionActorConfig(instrument_id=INSTRUMENT_ID, priors=PRIORS)))
    actor.start()
    _book_at(actor, 1.0)
    for lag_s, skipped in ((60.0, 1), (2.0, 1)):
        order, instrument = _order()
        actor.cache.add_order(order)
        fill = _fill(order, instrument, "0.01000", 70.0)
        fill = OrderFilled.from_dict({**OrderFilled.to_dict(fill), "ts_event": round((70.0 - lag_s) * S)})
        _publish_as_the_engine(actor.msgbus, fill)
        assert actor.skipped == {"fill delivered late (a resync recovered it): its horizons' mids went by": skipped}
    assert actor.model.estimate(70 * S).fills_pending == 1  # the one off the live stream


def _publish_as_the_engine(msgbus: MessageBus, event) -> None:
    """Every topic the ExecutionEngine publishes an order event on (``test_order_events_through_the_engine`` checks
    that the actors get what they need from them)."""
    if isinstance(event, OrderFilled):
        msgbus.publish(f"events.fills.{event.instrument_id}", event)
    msgbus.publish(f"events.order.{event.strategy_id}", event)
    if isinstance(event, OrderCanceled):
        msgbus.publish(f"events.cancels.{event.instrument_id}", event)


def _book_at(actor: Actor, ts_s: float) -> None:
    """Give a registered actor a two-sided book (49,999 / 50,001) as the DataEngine would, at ``ts_s``."""
    book = OrderBook(INSTRUMENT_ID, BookType.L2_MBP)
    ts = round(ts_s * S)
    deltas = OrderBookDeltas(
        INSTRUMENT_ID,
        [
            OrderBookDelta(
                INSTRUMENT_ID, BookAction.ADD, BookOrder(side, Price.from_str(px), Quantity.from_str("1"), 0),
                RecordFlag.F_LAST if side == OrderSide.SELL else 0, 0, ts, ts,
            )
            for side, px in ((OrderSide.BUY, "49999.0"), (OrderSide.SELL, "50001.0"))
        ],
    )
    book.apply_deltas(deltas)
    actor.cache.add_order_book(book)
    actor.on_order_book_deltas(deltas)


def test_bus_delivers_each_fill_once_and_a_malformed_one_is_skipped() -> None:
    """The engine publishes a fill on events.order.<strategy> and again on events.fills.<instrument>."""
    actor = _registered(CountingKappaActor(KappaActorConfig(instrument_id=INSTRUMENT_ID, priors=PRIORS)))
    actor.start()
    _book_at(actor, 1.0)
    for tags in (None, []):  # the second order carries no placement tags: not ours to learn from
        order, instrument = _order(tags=tags)
        actor.cache.add_order(order)
        _publish_as_the_engine(actor.msgbus, _fill(order, instrument, "0.01000", 3.0))
        assert actor.model.calls["on_spell"] == 1
    assert actor.skipped == {"order without placement tags (not placed by our strategy)": 1}
    assert actor.model.estimate(3 * S).fills_since_start == 1


def _at(event, ts_s: float):
    """``event`` stamped ``ts_s`` (event and init time: the actors key spells by ``ts_init``)."""
    t = round(ts_s * S)
    return type(event).from_dict({**type(event).to_dict(event), "ts_event": t, "ts_init": t})


def test_order_events_through_the_engine_reach_only_the_actors_that_learn_from_them() -> None:
    """A real ExecutionEngine: each model learns each fill and each ended spell once, the expiry included, while
    an actor's bus handlers are on the topics of its own event types only (fills, cancels; the order-event
    wildcard for expiries), so the submits, accepts and pending cancels never run actor code; and dispose leaves
    no handler behind."""
    clock = TestClock()
    msgbus = MessageBus(trader_id=TestIdStubs.trader_id(), clock=clock)
    cache = Cache()
    portfolio = Portfolio(msgbus=msgbus, cache=cache, clock=clock)
    engine = ExecutionEngine(msgbus=msgbus, cache=cache, clock=clock)
    instrument = default_instrument()
    cache.add_instrument(instrument)
    account_id = AccountId("HYPERLIQUID-001")
    cache.add_account(AccountFactory.create(TestEventStubs.margin_account_state(account_id)))
    counted = {"Kappa", "FillRate", "AdverseSelection", "Calibration", "Warmup"}
    by_name = {}
    for name in ACTOR_NAMES:
        actor_cls = globals()[f"Counting{name}Actor"] if name in counted else getattr(actors, f"{name}Actor")
        config_cls = getattr(actors, f"{name}ActorConfig")
        actor = actor_cls(config_cls(instrument_id=INSTRUMENT_ID, priors=PRIORS))
        actor.register_base(portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock)
        actor.start()
        _book_at(actor, 1.0)
        by_name[name] = actor

    def order_events(ends):
        order = TestExecStubs.limit_order(
            instrument=instrument, order_side=OrderSide.BUY, price=Price.from_str("49950.0"),
            quantity=Quantity.from_str("0.01000"), client_order_id=ClientOrderId(f"O-{next(_ORDER_IDS)}"),
            tags=placement_tags(50_000.0, 0),
        )
        cache.add_order(order)
        engine.process(_at(TestEventStubs.order_submitted(order, account_id), 1.5))
        engine.process(_at(TestEventStubs.order_accepted(order, account_id), 2.0))
        for end in ends:
            engine.process(end(order))

    fill = lambda order: _at(  # noqa: E731
        TestEventStubs.order_filled(order, instrument, account_id=account_id, last_qty=Quantity.from_str("0.00400"),
                                    last_px=order.price), 3.0)
    pending_cancel = lambda order: _at(TestEventStubs.order_pending_cancel(order), 3.5)  # noqa: E731
    cancel = lambda order: _at(TestEventStubs.order_canceled(order, account_id), 4.0)  # noqa: E731
    expiry = lambda order: _at(TestEventStubs.order_expired(order), 5.0)  # noqa: E731
    order_events([fill, pending_cancel, cancel])  # one filled spell (ended by its first fill)
    order_events([pending_cancel, cancel])  # censored
    order_events([expiry])  # censored
    assert sum(isinstance(e, OrderFilled) for o in cache.orders() for e in o.events) == 1
    for name in ("Kappa", "FillRate"):
        assert by_name[name].model.calls == {"on_spell": 3}
    assert by_name["Calibration"].model.calls == {"on_fill": 1, "on_spell": 3}
    for name in ("AdverseSelection", "Warmup"):
        assert by_name[name].model.calls == {"on_fill": 1}
    assert not any(actor.skipped for actor in by_name.values())

    def order_topics(actor) -> set[str]:
        return {s.topic for s in msgbus.subscriptions("events.*") if getattr(s.handler, "__self__", None) is actor}

    fills, cancels = f"events.fills.{IID}", f"events.cancels.{IID}"
    expected = {
        "Kappa": {fills, cancels, "events.order.*"}, "FillRate": {fills, cancels, "events.order.*"},
        "Calibration": {fills, cancels, "events.order.*"}, "AdverseSelection": {fills}, "Warmup": {fills},
        "Volatility": set(), "InformedFlow": set(),
    }
    assert {name: order_topics(actor) for name, actor in by_name.items()} == expected
    for actor in by_name.values():
        actor.stop()
        actor.dispose()
    assert not any(order_topics(actor) for actor in by_name.values())
