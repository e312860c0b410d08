"""The estimates the actors publish and the strategy consumes (DESIGN §3), as NautilusTrader custom data.

Each type is a ``@customdataclass`` (``ts_event``/``ts_init``, msgpack/Arrow serialisation, catalog support).
Publishers and subscribers must use the *same* ``DataType`` including its metadata, otherwise the bus topics do
not match (nautilus_conventions §2.2): :func:`data_type` is the one place that builds it.

Units are SI and named in the fields. ``ts_event`` is the event time of the data that produced the estimate;
``ts_init`` the engine time it was published, on which the strategy measures its age (``estimates.py``).

Beyond DESIGN §3's minimum, each type carries what its model reports for cold-start gating and the report: the
counts of this process's own data (``fills_since_start``, ``n_returns``, ``observations``, ``orders_classified``,
``floor_observations``, ``kappa_fills``), which restart at zero after a restore (lesson E2), and the confidences
(``KappaEstimate.fills_since_start`` feeds the calibration controller). ``FillRateEstimate.observations`` counts
resting spells, most of them without a fill.

No ``from __future__ import annotations`` here: ``customdataclass`` reads real annotation objects.
"""


from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.data import DataType
from nautilus_trader.model.identifiers import InstrumentId


@customdataclass
class KappaEstimate(Data):
    """The one intensity curve per side, λ(δ) = A·e^(−κδ) (models/kappa.py): ``kappa_*`` per price fraction and
    ``a_per_s_*`` fills/s at zero depth, always positive and finite (the prior when the fit is unreliable); the data
    it comes from (``source``: "prior", "trades" or "book_crossings", "+own" when our resting spells refine it,
    "bid:…,ask:…" when the sides differ); the market fit's R² and arrivals (``fit_r2``, ``fit_updates``, worse side);
    ``*_at_band_edge``: that side's good fit left the reliability band and its κ is the band's edge (the strategy then
    quotes the wider of that curve and the prior's, ``inputs.py``)."""

    instrument_id: InstrumentId
    kappa_bid: float = 0.0
    kappa_ask: float = 0.0
    a_per_s_bid: float = 0.0
    a_per_s_ask: float = 0.0
    source: str = "prior"
    fit_r2: float = 0.0
    fit_updates: int = 0
    kappa_book: float = 0.0
    kappa_own: float = 0.0
    book_reliable: bool = False
    book_reason: str = ""
    own_fill_count: int = 0
    blend_weight: float = 0.0
    own_confidence: float = 0.0
    fills_since_start: int = 0
    bid_at_band_edge: bool = False
    ask_at_band_edge: bool = False


@customdataclass
class VolatilityEstimate(Data):
    """σ of the mid per √s as a price fraction: bipower variation of 20 s returns (diffusive part), capped at 10× the
    prior; ``sigma_total`` the realised-variance twin; ``jump_ratio`` = RV/BV (models/volatility.py)."""

    instrument_id: InstrumentId
    sigma_frac_per_sqrt_s: float = 0.0
    jump_ratio: float = 1.0
    regime: str = ""
    sigma_total_frac_per_sqrt_s: float = 0.0
    n_returns: int = 0


@customdataclass
class FillRateEstimate(Data):
    """Our fills against the kappa model's curve (models/fill_rate.py): observed and curve-expected fills per hour
    at the depths our orders rested, over a trailing window; the curve used (A, 1/κ in bps, mean of the sides)."""

    instrument_id: InstrumentId
    lambda0_per_s: float = 0.0
    delta_char_bps: float = 0.0
    observed_fills_per_hour: float = 0.0
    expected_fills_per_hour: float = 0.0
    observations: int = 0
    is_warm: bool = False


@customdataclass
class AdverseSelectionEstimate(Data):
    """``as_bps_*``: EWMA of what each of our fills lost by 500 ms after it, the mid then against our fill price
    (= −markout: with no move, minus the fill's edge), positive = adverse (bid = our buys).
    ``spread_addon_bps_*`` = confidence·P(informed)·E[loss | informed] per side, capped, counting fills that lost
    more than the threshold only (models/adverse_selection.py)."""

    instrument_id: InstrumentId
    as_bps_bid: float = 0.0
    as_bps_ask: float = 0.0
    as_bps_total: float = 0.0
    fills_measured: int = 0
    spread_addon_bps_bid: float = 0.0
    spread_addon_bps_ask: float = 0.0
    confidence: float = 0.0


@customdataclass
class CalibrationState(Data):
    instrument_id: InstrumentId
    half_spread_mult: float = 1.0
    progress: float = 0.0
    fills_in_window: int = 0
    expected_fills_in_window: float = 0.0
    fill_ratio: float = 1.0


@customdataclass
class InformedFlowEstimate(Data):
    """``p_informed_buy``: probability that a recent aggressive buy order was informed (followed by an upward mid
    move), decayed over seconds and shrunk towards 0 → our asks at risk; ``p_informed_sell`` the same for sells →
    our bids at risk. ``has_trades`` False (no trade in the window) means neutral: p's and confidence 0
    (models/informed_flow.py)."""

    instrument_id: InstrumentId
    p_informed: float = 0.0
    p_informed_buy: float = 0.0
    p_informed_sell: float = 0.0
    has_trades: bool = False
    confidence: float = 0.0
    orders_classified: int = 0


@customdataclass
class WarmupState(Data):
    instrument_id: InstrumentId
    progress: float = 0.0
    is_warm: bool = False
    liquid_regime: bool = False
    forced: bool = False
    uplift: float = 1.0
    floor_observations: int = 0
    kappa_fills: int = 0


@customdataclass
class FundingPayment(Data):
    """A funding payment on our position, as the venue booked it: ``amount_usd`` received (+) or paid (−) in the
    settlement currency, at ``rate`` per funding interval. Published by a venue's execution client (the strategy
    knows no venue) for the report's PnL split, where it would otherwise land in the reconciliation error."""

    instrument_id: InstrumentId
    amount_usd: float = 0.0
    rate: float = 0.0


ESTIMATE_TYPES: tuple[type[Data], ...] = (
    KappaEstimate,
    VolatilityEstimate,
    FillRateEstimate,
    AdverseSelectionEstimate,
    CalibrationState,
    InformedFlowEstimate,
    WarmupState,
)


def data_type(cls: type[Data], instrument_id: InstrumentId) -> DataType:
    """The bus ``DataType`` for an estimate (or a ``FundingPayment``) of ``instrument_id``; metadata makes the topic
    publish == subscribe."""
    return DataType(cls, metadata={"instrument_id": instrument_id.value})


def data_topic(cls: type[Data], instrument_id: InstrumentId) -> str:
    """The message-bus topic ``Actor.subscribe_data(data_type(cls, instrument_id))`` listens on, for publishers that
    are not actors (an execution client)."""
    return f"data.{data_type(cls, instrument_id).topic}"
