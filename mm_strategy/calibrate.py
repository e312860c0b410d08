"""Fit an instrument's priors from a catalog, so a new coin gets its config from its own data, not from BTC's.

    python -m mm_strategy.calibrate --catalog DIR --instrument ID

Prints the figures as a table on stderr and the config's top-level ``"priors"`` block as JSON on stdout:
- κ and A: the kappa model's own market fit (``models/kappa.py``: the same arrivals, half-tick histogram and
  truncated maximum likelihood, no second implementation), over the whole catalog, both sides pooled (one curve per
  instrument: the arrivals of the two sides over twice the time). From trades when both sides have at least
  ``min_updates`` taker orders, else from book crossings. Each side's fit is shown too, with both sources when the
  catalog has trades;
- σ: realised σ of the mid per √s at 10, 20, 30 and 60 s horizons (overlapping log returns on a 1 s grid of the
  last mid), the prior being their median. Below ~10 s the half-tick bounce of the mid and its bursts bias σ
  (DESIGN §5: 1 s bipower read 2.7e-5 on BTC against 4.2e-5 realised at 10–60 s);
- the typical spread (time-weighted median, bps and ticks) and the tick actually seen in the book (Hyperliquid's
  5-significant-figure rule makes it coarser than the instrument's increment: 1 USD on BTC above 10k): the kappa
  model's own (``MarketArrivals.tick``), the tick its arrival depths were counted in, in half-ticks.

Times are ``ts_init``, the clock the kappa actor feeds its model in a node; prints of one taker order are grouped by
their shared venue ``ts_event``, as the actor does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from mm_strategy.models.kappa import ASK
from mm_strategy.models.kappa import BID
from mm_strategy.models.kappa import CurveSource
from mm_strategy.models.kappa import IntensityFit
from mm_strategy.models.kappa import KappaParams
from mm_strategy.models.kappa import MarketArrivals
from mm_strategy.models.kappa import fit_survival
from mm_strategy.models.kappa import intensity
from mm_strategy.models.priors import InstrumentPriors
from mm_strategy.models.priors import PriorsFit

_NS_PER_S = 1_000_000_000
_BPS = 1e4
SIGMA_HORIZONS_S = (10.0, 20.0, 30.0, 60.0)
EXIT_INPUT_ERROR = 2
_DEFAULT_PARAMS = KappaParams()


class CalibrationError(ValueError):
    """The catalog cannot give a prior: the message says which and why."""


@dataclass(frozen=True, slots=True)
class CatalogData:
    """Best prices after each book batch and the public trades, in ``ts_init`` order."""

    instrument: Instrument
    book_ts_ns: np.ndarray
    best_bid: np.ndarray
    best_ask: np.ndarray
    trades: list[tuple[int, int, float, bool]]  # (ts_init, ts_event, px, aggressor is buyer)

    @property
    def mid(self) -> np.ndarray:
        return 0.5 * (self.best_bid + self.best_ask)

    @property
    def span_s(self) -> float:
        return float(self.book_ts_ns[-1] - self.book_ts_ns[0]) / _NS_PER_S

    def fitted_on(self, catalog: str) -> PriorsFit:
        """The stamp of priors fitted on this data: its first and last ``ts_init``, books and trades alike."""
        first, last = int(self.book_ts_ns[0]), int(self.book_ts_ns[-1])
        if self.trades:
            first, last = min(first, self.trades[0][0]), max(last, self.trades[-1][0])
        return PriorsFit(catalog=catalog, start=utc_iso(first), end=utc_iso(last))

    def before(self, cut_ns: int) -> CatalogData:
        """The books and trades stamped strictly before ``cut_ns``: what a walk-forward window starting there may
        be calibrated on (the books are the same as replaying only the earlier deltas: a batch counts once its
        last delta has arrived)."""
        books = int(np.searchsorted(self.book_ts_ns, cut_ns, side="left"))
        trades = [trade for trade in self.trades if trade[0] < cut_ns]
        return CatalogData(self.instrument, self.book_ts_ns[:books], self.best_bid[:books], self.best_ask[:books], trades)


@dataclass(frozen=True, slots=True)
class CurveFits:
    """The pooled curve that becomes the prior, and each side's fit from each source (None without one)."""

    pooled: IntensityFit
    source: CurveSource
    sides: dict[tuple[int, CurveSource], IntensityFit | None]
    observed_s: float  # seconds with a fresh mid: the time the arrivals were counted over (per side)
    tick: float  # the book's tick the arrivals were counted in (``MarketArrivals.tick``), at the price precision


@dataclass(frozen=True, slots=True)
class Calibration:
    data: CatalogData
    curves: CurveFits
    sigma_by_horizon: dict[float, float]
    spread_bps: float
    catalog: str  # where the data came from, for the priors' ``fitted_on`` stamp

    @property
    def priors(self) -> InstrumentPriors:
        return InstrumentPriors(
            kappa_per_frac=_sig3(self.curves.pooled.kappa_per_frac),
            a_per_s=_sig3(self.curves.pooled.a_per_s),
            sigma_frac_per_sqrt_s=_sig3(float(np.median(list(self.sigma_by_horizon.values())))),
            fitted_on=self.data.fitted_on(self.catalog),
        )


def utc_iso(ts_ns: int) -> str:
    """A nanosecond time as UTC ISO 8601 at full precision (``pd.Timestamp`` reads it back exactly)."""
    return pd.Timestamp(ts_ns, unit="ns", tz="UTC").isoformat()


def _sig3(x: float) -> float:
    """Three significant figures: the fits are not more precise than that."""
    return float(f"{x:.3g}")


def load_catalog(catalog_path: Path, instrument_id: InstrumentId) -> CatalogData:
    catalog = ParquetDataCatalog(str(catalog_path))
    instruments = catalog.instruments(instrument_ids=[instrument_id.value])
    if not instruments:
        raise CalibrationError(f"{catalog_path}: no instrument {instrument_id} in the catalog")
    deltas = catalog.order_book_deltas(instrument_ids=[instrument_id.value])
    has_trades = "trade_tick" in catalog.list_data_types()
    trades = catalog.trade_ticks(instrument_ids=[instrument_id.value]) if has_trades else []
    return market_data(instruments[0], deltas, trades)


def two_sided_books(instrument: Instrument, deltas: Iterable[OrderBookDelta]) -> Iterator[tuple[int, OrderBook]]:
    """The book after each whole batch of ``deltas`` (the one flagged last) with both sides, and the batch's
    ``ts_init``: what the actors see. The same ``OrderBook`` is yielded each time, updated in place."""
    book = OrderBook(instrument.id, BookType.L2_MBP)
    for delta in deltas:
        book.apply_delta(delta)
        if delta.flags & RecordFlag.F_LAST and book.best_bid_price() is not None and book.best_ask_price() is not None:
            yield delta.ts_init, book


def market_data(instrument: Instrument, deltas: Iterable[OrderBookDelta], trades: Iterable[TradeTick]) -> CatalogData:
    """Replay book deltas through a NautilusTrader ``OrderBook`` (best prices after each batch, as the actors see
    the book) and keep the trades that name their aggressor."""
    ts, bids, asks = [], [], []
    for ts_init, book in two_sided_books(instrument, deltas):
        ts.append(ts_init)
        bids.append(book.best_bid_price().as_double())
        asks.append(book.best_ask_price().as_double())
    kept = [
        (trade.ts_init, trade.ts_event, trade.price.as_double(), trade.aggressor_side == AggressorSide.BUYER)
        for trade in trades
        if trade.aggressor_side != AggressorSide.NO_AGGRESSOR
    ]
    kept.sort(key=lambda trade: trade[0])
    return CatalogData(instrument, np.array(ts, dtype=np.int64), np.array(bids), np.array(asks), kept)


def market_inputs(data: CatalogData) -> Iterator[tuple]:
    """The kappa model's inputs in ``ts_init`` order (a book update before a trade stamped the same):
    ("book", ts, best_bid, best_ask) and ("trade", ts, px, mid before it, aggressor is buyer, taker ts). Trades
    before the first book are left out, as the actor skips them."""
    trades, n_books = data.trades, len(data.book_ts_ns)
    book_i = trade_i = 0
    mid = None
    while book_i < n_books or trade_i < len(trades):
        if trade_i == len(trades) or (book_i < n_books and data.book_ts_ns[book_i] <= trades[trade_i][0]):
            bid, ask = float(data.best_bid[book_i]), float(data.best_ask[book_i])
            yield "book", int(data.book_ts_ns[book_i]), bid, ask
            mid = 0.5 * (bid + ask)
            book_i += 1
        else:
            ts_init, ts_event, px, buy = trades[trade_i]
            if mid is not None:
                yield "trade", ts_init, px, mid, buy, ts_event
            trade_i += 1


MAX_BOOK_GAP_S = 10.0  # a return spanning a longer stretch without book is a recorder outage, not volatility


def realised_sigma(
    ts_ns: np.ndarray, mids: np.ndarray, horizon_s: float, grid_s: float = 1.0, max_gap_s: float = MAX_BOOK_GAP_S
) -> float:
    """σ per √s from overlapping `horizon_s` log returns of the last mid on a `grid_s` grid (NaN when the data is
    shorter than one horizon). Returns that span a gap of more than `max_gap_s` without a book update are left
    out: the bundled 9-minute captures have recorder outages of 250 s and 51 s, and a return across one is the
    move of minutes counted as the move of `horizon_s`."""
    grid = np.arange(ts_ns[0], ts_ns[-1] + 1, round(grid_s * _NS_PER_S), dtype=np.int64)
    last = np.searchsorted(ts_ns, grid, side="right") - 1
    log_mid = np.log(mids[last])
    stale = (grid - ts_ns[last]) / _NS_PER_S > max_gap_s  # grid points inside an outage
    k = round(horizon_s / grid_s)
    if len(log_mid) <= k:
        return math.nan
    returns = log_mid[k:] - log_mid[:-k]
    outage = np.convolve(stale.astype(np.int64), np.ones(k + 1, dtype=np.int64), mode="valid") > 0
    returns = returns[~outage]
    if returns.size == 0:
        return math.nan
    return math.sqrt(float(np.mean(returns * returns)) / horizon_s)


def time_weighted_median(values: np.ndarray, ts_ns: np.ndarray) -> float:
    """Median of a step function of time (each value holds until the next timestamp)."""
    weights = np.diff(ts_ns).astype(np.float64)
    order = np.argsort(values[:-1])
    cumulative = np.cumsum(weights[order])
    return float(values[:-1][order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def fit_curves(data: CatalogData, params: KappaParams) -> CurveFits:
    """Feed the kappa model's arrivals in time order, with a window covering the whole catalog, and fit."""
    window_s = data.span_s + 1.0
    market = MarketArrivals(dataclasses.replace(params, window_s=window_s))
    for kind, *args in market_inputs(data):
        (market.on_book if kind == "book" else market.on_trade)(*args)
    end_ns = int(data.book_ts_ns[-1])
    if data.trades:
        end_ns = max(end_ns, data.trades[-1][0])
    sides = {
        (side, source): market.fit(side, source, end_ns)[0]
        for side in (BID, ASK)
        for source in (CurveSource.TRADES, CurveSource.BOOK_CROSSINGS)
    }
    both_trade = all(market.source_for(side, end_ns) is CurveSource.TRADES for side in (BID, ASK))
    source = CurveSource.TRADES if both_trade else CurveSource.BOOK_CROSSINGS
    (bid_counts, bid_sums), (ask_counts, ask_sums) = (market.arrivals(side, source).histogram() for side in (BID, ASK))
    size = max(len(bid_counts), len(ask_counts))  # one tick (one window of book steps): k means the same depth
    counts = _padded(bid_counts, size) + _padded(ask_counts, size)
    survival = fit_survival(
        counts, _padded(bid_sums, size) + _padded(ask_sums, size), params.min_survivors, params.max_depth_bps / _BPS
    )
    arrivals = int(counts.sum())
    if survival is None:
        raise CalibrationError(
            f"no κ/A fit from {source}: {arrivals} arrivals over {data.span_s:.0f} s give fewer than 3 depth points "
            f"or depths that do not fall off over the range"
        )
    observed_s = market.span_s(end_ns)
    tick = round(market.tick, data.instrument.price_precision)
    return CurveFits(intensity(survival, 2.0 * observed_s, arrivals), source, sides, observed_s, tick)


def _padded(values: np.ndarray, size: int) -> np.ndarray:
    return np.pad(values, (0, size - len(values)))


def calibrate(catalog_path: Path, instrument_id: InstrumentId, params: KappaParams | None = None) -> Calibration:
    return calibrate_data(load_catalog(catalog_path, instrument_id), str(catalog_path), params)


def calibrate_data(data: CatalogData, catalog: str, params: KappaParams | None = None) -> Calibration:
    """The fit on ``data`` read from ``catalog`` (all of it, or :meth:`CatalogData.before` a time)."""
    where = catalog if len(data.book_ts_ns) == 0 else f"{catalog} up to {utc_iso(int(data.book_ts_ns[-1]))}"
    books = len(data.book_ts_ns)
    if books < 2:
        raise CalibrationError(f"{where}: {books} two-sided book update(s) for {data.instrument.id}, need 2 or more")
    mids = data.mid
    sigma = {h: realised_sigma(data.book_ts_ns, mids, h) for h in SIGMA_HORIZONS_S}
    sigma = {h: s for h, s in sigma.items() if math.isfinite(s) and s > 0.0}
    if not sigma:
        raise CalibrationError(f"{where}: {data.span_s:.0f} s of mids give no σ at 10–60 s horizons")
    spread_bps = time_weighted_median((data.best_ask - data.best_bid) / mids * _BPS, data.book_ts_ns)
    return Calibration(data, fit_curves(data, params or KappaParams()), sigma, spread_bps, catalog)


def _fit_text(fit: IntensityFit | None) -> str:
    if fit is None:
        return "no fit"
    return (
        f"κ {fit.kappa_per_frac:,.0f} (1/κ {_BPS / fit.kappa_per_frac:.3f} bp), A {fit.a_per_s:.4f}/s, "
        f"R² {fit.r2:.3f}, {fit.arrivals} arrivals, {fit.points} points"
    )


FIT_RANGE_CHAR_DEPTHS = 4.0  # fewer characteristic depths 1/κ than this inside max_depth_bps: the range cuts the curve


def report(cal: Calibration, catalog_path: Path, params: KappaParams) -> str:
    data, curves = cal.data, cal.curves
    tick = curves.tick
    mids = data.mid
    median_mid = float(np.median(mids))
    lines = [
        f"{data.instrument.id} from {catalog_path}: {data.span_s:,.0f} s, {len(data.book_ts_ns):,} book updates, "
        f"{len(data.trades):,} trades",
        f"mid {mids.min():,.6g}–{mids.max():,.6g} (median {median_mid:,.6g}); tick in the book {tick:g} "
        f"({tick / median_mid * _BPS:.3f} bp; instrument increment {data.instrument.price_increment})",
        f"spread (time-weighted median) {cal.spread_bps:.3f} bp = "
        f"{cal.spread_bps / _BPS * median_mid / tick:.2f} ticks",
        "σ realised /√s: " + ", ".join(f"{h:g} s {s:.3g}" for h, s in cal.sigma_by_horizon.items()) + " → median",
        f"curve ({curves.source}, both sides pooled): {_fit_text(curves.pooled)}",
    ]
    sources = (CurveSource.TRADES, CurveSource.BOOK_CROSSINGS) if data.trades else (CurveSource.BOOK_CROSSINGS,)
    for side, name in ((BID, "bid"), (ASK, "ask")):
        for source in sources:
            lines.append(f"  {name} {source}: {_fit_text(curves.sides[(side, source)])}")
    lines += [f"WARNING: {warning}" for warning in sample_warnings(curves, params)]
    char_depth_bps = _BPS / curves.pooled.kappa_per_frac
    if params.max_depth_bps < FIT_RANGE_CHAR_DEPTHS * char_depth_bps:
        lines.append(
            f"WARNING: the fit range max_depth_bps {params.max_depth_bps:g} holds fewer than "
            f"{FIT_RANGE_CHAR_DEPTHS:g} characteristic depths (1/κ = {char_depth_bps:.2f} bp): raise it to "
            f"{FIT_RANGE_CHAR_DEPTHS * 2 * char_depth_bps:.1f} here (--max-depth-bps) and in the kappa actor's params"
        )
    return "\n".join(f"# {line}" for line in lines)


MIN_FIT_POINTS = 5  # depth points under which an R² says little (3 points fit almost any exponential)
MIN_SIGMA_RETURNS = 10  # independent returns at the longest σ horizon under which σ is a rough guess


def untrusted_curve(curves: CurveFits, params: KappaParams) -> str | None:
    """Why the pooled curve is one the online model itself would not trust (``kappa.reliability``'s arrival count
    and R², and a minimum of depth points), or None."""
    pooled = curves.pooled
    if pooled.arrivals >= params.min_updates and pooled.points >= MIN_FIT_POINTS and pooled.r2 >= params.min_r2:
        return None
    return (
        f"the curve rests on {pooled.arrivals} arrivals and {pooled.points} depth points (R² {pooled.r2:.2f}); "
        f"the online model trusts a fit from {params.min_updates} arrivals with R² ≥ {params.min_r2:g}, and "
        f"under {MIN_FIT_POINTS} points R² means little"
    )


def sample_warnings(curves: CurveFits, params: KappaParams) -> list[str]:
    """What makes these priors a rough guess: less observed market than the online window they stand in for, a
    curve the online model itself would not trust (``kappa.reliability``'s counts and R²), too few σ returns."""
    warnings = []
    observed_s = curves.observed_s
    if observed_s < params.window_s:
        warnings.append(
            f"κ/A from {observed_s:,.0f} s of observed market (feed outages left out), less than the kappa model's "
            f"{params.window_s:g} s window: recalibrate on more data when there is some"
        )
    untrusted = untrusted_curve(curves, params)
    if untrusted is not None:
        warnings.append(untrusted)
    returns = observed_s / max(SIGMA_HORIZONS_S)
    if returns < MIN_SIGMA_RETURNS:
        warnings.append(
            f"σ at {max(SIGMA_HORIZONS_S):g} s rests on ~{returns:.0f} independent returns (under {MIN_SIGMA_RETURNS})"
        )
    return warnings


def priors_block(priors: InstrumentPriors) -> dict:
    """The config's ``"priors"`` value (with ``fitted_on`` when the priors carry the stamp)."""
    block: dict = {
        "kappa_per_frac": priors.kappa_per_frac,
        "a_per_s": priors.a_per_s,
        "sigma_frac_per_sqrt_s": priors.sigma_frac_per_sqrt_s,
    }
    if priors.fitted_on is not None:
        block["fitted_on"] = dataclasses.asdict(priors.fitted_on)
    return block


def priors_json(priors: InstrumentPriors) -> str:
    return json.dumps({"priors": priors_block(priors)}, indent=2)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mm_strategy.calibrate",
        description="Fit an instrument's priors (κ, A, σ) from a catalog and print the config's \"priors\" block.",
    )
    parser.add_argument("--catalog", type=Path, required=True, help="ParquetDataCatalog directory")
    parser.add_argument("--instrument", required=True, help="instrument id, e.g. ETH-USD-PERP.HYPERLIQUID")
    parser.add_argument(
        "--max-depth-bps",
        type=float,
        default=_DEFAULT_PARAMS.max_depth_bps,
        help=f"depth range of the κ/A fit, as the kappa actor's params (default {_DEFAULT_PARAMS.max_depth_bps:g})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        instrument_id = InstrumentId.from_str(args.instrument)
        params = KappaParams(max_depth_bps=args.max_depth_bps)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    try:
        if not args.catalog.is_dir():
            raise CalibrationError(f"{args.catalog}: not a catalog directory")
        cal = calibrate(args.catalog, instrument_id, params)
    except CalibrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    print(report(cal, args.catalog, params), file=sys.stderr)
    print(priors_json(cal.priors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
