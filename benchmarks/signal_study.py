#!/usr/bin/env python
"""Fair-value signals vs adverse selection, on every bundled dataset (research, prints tables; changes nothing).

Question: would shifting the quote centre (the reservation price) by a move predicted from the order book or from
trade flow cut the adverse selection of our passive fills on EVERY dataset, with a coefficient fitted elsewhere,
rather than on the one file it was tuned on?

    .venv/bin/python benchmarks/signal_study.py [--latency-s 0.5]

Clock. Everything runs on the venue clock (``ts_event``) of both the book and the trades: a trade and the book it
met are then ordered by when they happened at the venue, so a signal cannot contain the trade it is asked to
predict (on the receive clock a Hyperliquid book snapshot stamped after a trade often arrives before that trade's
message). ``--latency-s`` makes the quote in force at a trade use only data stamped that long before it (default
0: the upper bound of what a signal could do).

Samples. Regressions use every book update (as the quote cycle would) whose look-back (the longest flow window)
and forward horizon both lie inside one stretch of recorded data: a gap of more than ``MAX_BOOK_GAP_S`` without a
book update is a recorder outage (the 9-minute Hyperliquid captures lose 250 s and 51 s), never a quiet market.

Signals, at each book update: top-of-book imbalance I1 = (bid_sz − ask_sz)/(bid_sz + ask_sz); the microprice
offset (microprice − mid) in bp (= half-spread·I1); the summed-size imbalance of the top k levels (k = 3, 5, 10)
and of the sizes within a band of b bp of the mid (b = 2, 5); aggressor-signed trade flow over 1 s and 5 s, as a
fraction (buy − sell)/(buy + sell) of the notional and as the signed notional over its RMS on that dataset.
Hyperliquid's l2Book shows 20 levels, which span about 1.8 bp on BTC, 4.5 bp on ETH and 9 bp on SOL (measured on
these captures): there the 5 bp band is the whole visible book on BTC and ETH, and I10 half of it.

Normalisation. The predicted move on dataset d is β·s_d·signal, with s_d the dataset's scale in bp: 1 ("bp": β is
bp per unit signal), σ over the horizon ("sigma": the coin's σ prior, the median realised σ at 10–60 s as
``mm_strategy.calibrate`` computes it, times √h), or the median spread ("spread"). β transfers when β_d = b_d/s_d
(b_d the dataset's own slope in bp) is the same on every dataset. Out of sample: β for dataset d is the mean of the
other datasets' β (leave one dataset out, each dataset weighing the same), and OOS R² = 1 − Σ(y − ŷ)²/Σy²,
i.e. against predicting no move (negative: the prediction does harm).

Economics, on datasets with trades. Each taker order (the prints sharing one venue stamp and aggressor side) is a
fill of our passive quote at depth δ from the centre when its worst print reaches our price (touch or through;
queue position ignored: an upper bound on fills), at our price. Quotes are rounded to the tick away from the centre
and never cross the book (post-only). Markout = side·(mid 5 s later − fill price)/fill price in bp (positive = we
earned it, before the 1.5 bp maker fee), as ``mm_strategy/reporting/markouts.py`` defines it. Centre = mid, or mid
shifted by β·s_d·signal with the 5 s β fitted on the other datasets. Standard errors: Newey–West (Bartlett kernel
in time, bandwidth 2h + 2 s), since overlapping horizons and persistent signals make neighbouring samples far from
independent.

Steadier centre. The shipped centre is mid + β·σ·√5 s·I with I = band5bp, β = 1. Every book snapshot moves I,
and a centre move beyond the requote tolerance (max(1 tick, ``REQUOTE_HALF_SPREAD_FRAC`` of the half-spread)) cancels
our order and re-places it at the back of the queue. The last section runs candidate steadier centres
(``SteadiedImbalance``: time-weighted average with a half-life, hysteresis in units of σ·√h, and a plain rounding of I for comparison) over
each dataset's books and reports, with β fixed at 1 as shipped: the 5 s slope in σ units (β_d) ± SE, OOS R² at
β = 1, the pooled markout Δ against the mid-centred quote, and how often a quote at δ from the centre would be
cancelled and re-placed (per minute of live feed, both sides; mid moves alone already cause some). Measured (latency
0 and 0.5 s): averaging loses the markout gain from a 0.5 s half-life on (the freshest book carries it), holding at
0.2–0.5 σ·√h keeps it within its error while re-placing 5–30 % less; the shifted centre's lower fill count under
the queue rule is there without any re-placement at all (one side moves away, the other is held at the touch).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from nautilus_trader.core import nautilus_pyo3 as pyo3  # noqa: E402
from nautilus_trader.model.data import OrderBookDelta  # noqa: E402
from nautilus_trader.model.enums import AggressorSide  # noqa: E402
from nautilus_trader.model.enums import RecordFlag  # noqa: E402
from nautilus_trader.persistence.catalog import ParquetDataCatalog  # noqa: E402

from mm_strategy.calibrate import MAX_BOOK_GAP_S  # noqa: E402
from mm_strategy.calibrate import SIGMA_HORIZONS_S  # noqa: E402
from mm_strategy.calibrate import realised_sigma  # noqa: E402
from mm_strategy.calibrate import time_weighted_median  # noqa: E402

DATASETS = (
    ("archive BTC", "data/catalog"),
    ("HL BTC", "data/catalog_hl_btc"),
    ("HL ETH", "data/catalog_hl_eth"),
    ("HL SOL", "data/catalog_hl_sol"),
    ("Binance BTC", "data/catalog_binance_btcusdt"),
)
HORIZONS_S = (1.0, 5.0, 30.0)
MARKOUT_HORIZON_S = 5.0
QUOTE_DEPTHS_BPS = (0.5, 1.0, 2.0, 3.0)
TOP_LEVELS = (3, 5, 10)
BANDS_BPS = (2.0, 5.0)
FLOW_WINDOWS_S = (1.0, 5.0)
NORMALISATIONS = ("bp", "sigma", "spread")
MAKER_FEE_BPS = 1.5
TAKER_ORDER_GAP_NS = 1_000_000
BOOTSTRAP_BLOCK_S = 10.0
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 7
_NS_PER_S = 1_000_000_000
_BPS = 1e4


def hac_sum(t_s: np.ndarray, z: np.ndarray, bandwidth_s: float) -> float:
    """Σ_i Σ_j w_ij z_i z_j with Bartlett weights w = max(0, 1 − |t_i − t_j|/bandwidth) in time, `t_s` sorted: the
    long-run variance of Σz when neighbours within the bandwidth are correlated (Newey–West, kernel in seconds
    rather than in samples, since updates come at uneven rates and outages cut the series)."""
    total = float(z @ z)
    for k in range(1, len(z)):
        dt_s = t_s[k:] - t_s[:-k]
        weight = 1.0 - dt_s / bandwidth_s
        if weight.max() <= 0.0:  # offsets only grow with k: no pair further apart can count
            break
        total += 2.0 * float(np.sum(np.clip(weight, 0.0, None) * z[k:] * z[:-k]))
    return total


def hac_bandwidth_s(horizon_s: float) -> float:
    return 2.0 * horizon_s + 2.0


@dataclass(frozen=True, slots=True)
class Fit:
    slope: float  # bp of forward move per unit signal
    slope_se: float
    r2: float
    n: int


def fit_slope(t_s: np.ndarray, x: np.ndarray, y: np.ndarray, horizon_s: float) -> Fit:
    """OLS of y on x with an intercept; the slope's standard error is Newey–West."""
    xc = x - x.mean()
    sxx = float(xc @ xc)
    if len(x) < 3 or sxx == 0.0:
        return Fit(math.nan, math.nan, math.nan, len(x))
    slope = float(xc @ (y - y.mean())) / sxx
    resid = y - y.mean() - slope * xc
    yc = y - y.mean()
    r2 = 1.0 - float(resid @ resid) / float(yc @ yc) if float(yc @ yc) > 0 else math.nan
    var = hac_sum(t_s, xc * resid, hac_bandwidth_s(horizon_s)) / sxx**2
    return Fit(slope, math.sqrt(max(var, 0.0)), r2, len(x))


def mean_se(t_s: np.ndarray, v: np.ndarray, horizon_s: float) -> tuple[float, float]:
    if len(v) == 0:
        return math.nan, math.nan
    m = float(v.mean())
    return m, math.sqrt(max(hac_sum(t_s, v - m, hac_bandwidth_s(horizon_s)), 0.0)) / len(v)


@dataclass(frozen=True, slots=True)
class Dataset:
    """One catalog on the venue clock: the book after each update, its signals, the trades and the live stretches."""

    name: str
    ts_ns: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    book_signals: dict[str, np.ndarray]  # name → value after each book update
    trade_ts_ns: np.ndarray
    trade_px: np.ndarray
    trade_buy: np.ndarray  # aggressor is the buyer
    cum_buy_usd: np.ndarray  # cumulative aggressor notional, one more entry than trades (0 first)
    cum_sell_usd: np.ndarray
    segment_start_ns: np.ndarray  # stretches without an outage
    segment_end_ns: np.ndarray
    tick: float
    sigma_frac_per_sqrt_s: float
    spread_bps: float

    @property
    def mid(self) -> np.ndarray:
        return 0.5 * (self.bid + self.ask)

    @property
    def has_trades(self) -> bool:
        return len(self.trade_ts_ns) > 0

    @property
    def live_s(self) -> float:
        return float(np.sum(self.segment_end_ns - self.segment_start_ns)) / _NS_PER_S

    def scale_bps(self, normalisation: str, horizon_s: float) -> float:
        """s_d: the predicted move is β·s_d·signal."""
        if normalisation == "bp":
            return 1.0
        if normalisation == "sigma":
            return self.sigma_frac_per_sqrt_s * math.sqrt(horizon_s) * _BPS
        return self.spread_bps

    def inside(self, t_ns: np.ndarray, back_s: float, forward_s: float) -> np.ndarray:
        """True where [t − back, t + forward] lies inside one stretch of recorded data."""
        seg = np.searchsorted(self.segment_start_ns, t_ns, side="right") - 1
        ok = seg >= 0
        seg = np.clip(seg, 0, None)
        return (
            ok
            & (t_ns - round(back_s * _NS_PER_S) >= self.segment_start_ns[seg])
            & (t_ns + round(forward_s * _NS_PER_S) <= self.segment_end_ns[seg])
        )

    def mid_at(self, t_ns: np.ndarray) -> np.ndarray:
        """Mid of the last book update stamped at or before t."""
        return self.mid[np.searchsorted(self.ts_ns, t_ns, side="right") - 1]

    def flow_usd(self, t_ns: np.ndarray, window_s: float, include_t: bool) -> tuple[np.ndarray, np.ndarray]:
        """Aggressor buy and sell notional stamped in (t − window, t] (or (t − window, t) without `include_t`: at a
        trade, the prints of that very taker order share its stamp and were not known before it)."""
        hi = np.searchsorted(self.trade_ts_ns, t_ns, side="right" if include_t else "left")
        lo = np.searchsorted(self.trade_ts_ns, t_ns - round(window_s * _NS_PER_S), side="right")
        lo = np.minimum(lo, hi)
        return self.cum_buy_usd[hi] - self.cum_buy_usd[lo], self.cum_sell_usd[hi] - self.cum_sell_usd[lo]


def _imbalance(bid_sz: np.ndarray, ask_sz: np.ndarray) -> np.ndarray:
    total = bid_sz + ask_sz
    return np.divide(bid_sz - ask_sz, total, out=np.zeros_like(total), where=total > 0)


def load_dataset(name: str, catalog_dir: Path) -> Dataset:
    """Rebuild the book through NautilusTrader's order book (the Rust one through pyo3, which reads the top levels
    without building the whole of Binance's ~7,000-level book at every update) and keep what the signals need."""
    catalog = ParquetDataCatalog(str(catalog_dir))
    instrument = catalog.instruments()[0]
    deltas = OrderBookDelta.to_pyo3_list(catalog.order_book_deltas(instrument_ids=[instrument.id.value]))
    book = pyo3.OrderBook(pyo3.InstrumentId.from_str(instrument.id.value), pyo3.BookType.L2_MBP)
    precision = instrument.price_precision
    last_flag = int(RecordFlag.F_LAST)
    max_levels = max(TOP_LEVELS)
    rows = []
    for delta in deltas:
        book.apply_delta(delta)
        if not delta.flags & last_flag:
            continue
        bids = [(float(p), float(q)) for p, q in book.bids_to_dict(max_levels).items()]
        asks = [(float(p), float(q)) for p, q in book.asks_to_dict(max_levels).items()]
        if not bids or not asks:
            continue
        mid = 0.5 * (bids[0][0] + asks[0][0])
        bid_cum = np.cumsum([q for _, q in bids])
        ask_cum = np.cumsum([q for _, q in asks])
        band = []
        for band_bps in BANDS_BPS:
            lo = pyo3.Price(mid * (1.0 - band_bps / _BPS), precision)
            hi = pyo3.Price(mid * (1.0 + band_bps / _BPS), precision)
            band.append(float(book.get_quantity_for_price(lo, pyo3.OrderSide.SELL)))
            band.append(float(book.get_quantity_for_price(hi, pyo3.OrderSide.BUY)))
        rows.append(
            (delta.ts_event, bids[0][0], asks[0][0])
            + tuple(bid_cum[min(k, len(bid_cum)) - 1] for k in (1, *TOP_LEVELS))
            + tuple(ask_cum[min(k, len(ask_cum)) - 1] for k in (1, *TOP_LEVELS))
            + tuple(band)
        )
    table = np.array(rows, dtype=np.float64)
    ts_ns = np.array([r[0] for r in rows], dtype=np.int64)
    order = np.argsort(ts_ns, kind="stable")  # venue stamps, in case a recording delivered one late
    ts_ns, table = ts_ns[order], table[order]
    bid, ask = table[:, 1], table[:, 2]
    n_depths = 1 + len(TOP_LEVELS)
    bid_depth, ask_depth = table[:, 3 : 3 + n_depths], table[:, 3 + n_depths : 3 + 2 * n_depths]
    band_sizes = table[:, 3 + 2 * n_depths :]
    mid = 0.5 * (bid + ask)
    signals = {"I1": _imbalance(bid_depth[:, 0], ask_depth[:, 0])}
    signals["micro_bps"] = 0.5 * (ask - bid) / mid * _BPS * signals["I1"]
    for i, k in enumerate(TOP_LEVELS, start=1):
        signals[f"I{k}"] = _imbalance(bid_depth[:, i], ask_depth[:, i])
    for i, band_bps in enumerate(BANDS_BPS):
        signals[f"band{band_bps:g}bp"] = _imbalance(band_sizes[:, 2 * i], band_sizes[:, 2 * i + 1])

    trades = [t for t in catalog.trade_ticks(instrument_ids=[instrument.id.value])] if (
        "trade_tick" in catalog.list_data_types()
    ) else []
    trades = [t for t in trades if t.aggressor_side != AggressorSide.NO_AGGRESSOR]
    trades.sort(key=lambda t: t.ts_event)
    trade_ts = np.array([t.ts_event for t in trades], dtype=np.int64)
    trade_px = np.array([t.price.as_double() for t in trades])
    trade_buy = np.array([t.aggressor_side == AggressorSide.BUYER for t in trades], dtype=bool)
    notional = trade_px * np.array([t.size.as_double() for t in trades])
    cum_buy = np.concatenate([[0.0], np.cumsum(np.where(trade_buy, notional, 0.0))])
    cum_sell = np.concatenate([[0.0], np.cumsum(np.where(trade_buy, 0.0, notional))])

    gaps = np.flatnonzero(np.diff(ts_ns) > MAX_BOOK_GAP_S * _NS_PER_S)
    starts = np.concatenate([[ts_ns[0]], ts_ns[gaps + 1]])
    ends = np.concatenate([ts_ns[gaps], [ts_ns[-1]]])
    sigmas = [realised_sigma(ts_ns, mid, h) for h in SIGMA_HORIZONS_S]
    sigma = float(np.median([s for s in sigmas if math.isfinite(s) and s > 0.0]))
    prices = np.unique(np.round(np.concatenate([bid, ask]), precision))
    tick = float(np.diff(prices).min())
    spread_bps = time_weighted_median((ask - bid) / mid * _BPS, ts_ns)
    return Dataset(
        name, ts_ns, bid, ask, signals, trade_ts, trade_px, trade_buy, cum_buy, cum_sell, starts, ends,
        tick, sigma, spread_bps,
    )  # fmt: skip


# --- signals at any time -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    needs_trades: bool
    value: Callable[[Dataset, np.ndarray, np.ndarray, bool], np.ndarray]  # (data, book index, time, include t)


def _book_signal(name: str) -> Signal:
    return Signal(name, False, lambda d, i, t, inc: d.book_signals[name][i])


def _flow_fraction(window_s: float) -> Signal:
    def value(d: Dataset, i: np.ndarray, t: np.ndarray, inc: bool) -> np.ndarray:
        buy, sell = d.flow_usd(t, window_s, inc)
        return _imbalance(buy, sell)

    return Signal(f"flow{window_s:g}s_frac", True, value)


def _flow_z(window_s: float) -> Signal:
    """Signed notional over its RMS at the dataset's book updates (a scale a live estimator keeps as a running
    figure; here the whole capture's, which the 9-minute files leave no room to do otherwise)."""

    def value(d: Dataset, i: np.ndarray, t: np.ndarray, inc: bool) -> np.ndarray:
        buy, sell = d.flow_usd(t, window_s, inc)
        live = d.inside(d.ts_ns, max(FLOW_WINDOWS_S), 0.0)
        ref_buy, ref_sell = d.flow_usd(d.ts_ns[live], window_s, True)
        rms = math.sqrt(float(np.mean((ref_buy - ref_sell) ** 2)))
        return (buy - sell) / rms if rms > 0 else np.zeros_like(buy)

    return Signal(f"flow{window_s:g}s_z", True, value)


SIGNALS = (
    *(_book_signal(n) for n in ("I1", "micro_bps", *(f"I{k}" for k in TOP_LEVELS))),
    *(_book_signal(f"band{b:g}bp") for b in BANDS_BPS),
    *(_flow_fraction(w) for w in FLOW_WINDOWS_S),
    *(_flow_z(w) for w in FLOW_WINDOWS_S),
)


def applicable(signal: Signal, datasets: list[Dataset]) -> list[Dataset]:
    return [d for d in datasets if d.has_trades or not signal.needs_trades]


# --- prediction --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    t_s: np.ndarray
    x: np.ndarray
    y_bps: np.ndarray


def regression_sample(d: Dataset, signal: Signal, horizon_s: float) -> Sample:
    ok = d.inside(d.ts_ns, max(FLOW_WINDOWS_S), horizon_s)
    idx = np.flatnonzero(ok)
    t = d.ts_ns[idx]
    y = (d.mid_at(t + round(horizon_s * _NS_PER_S)) / d.mid[idx] - 1.0) * _BPS
    return Sample(t / _NS_PER_S, signal.value(d, idx, t, True), y)


def oos_r2(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Against predicting no move."""
    return 1.0 - float(np.sum((y - y_hat) ** 2)) / float(np.sum(y * y))


@dataclass(frozen=True, slots=True)
class SignalStudy:
    """One signal at one horizon on every applicable dataset."""

    signal: Signal
    horizon_s: float
    samples: dict[str, Sample]
    fits: dict[str, Fit]
    datasets: dict[str, Dataset]

    def beta(self, name: str, normalisation: str) -> float:
        """β_d = b_d/s_d: the dataset's own slope in its own units."""
        return self.fits[name].slope / self.datasets[name].scale_bps(normalisation, self.horizon_s)

    def beta_without(self, name: str, normalisation: str) -> float:
        """β for `name` from the other datasets only (their mean: each dataset weighs the same)."""
        return float(np.mean([self.beta(o, normalisation) for o in self.fits if o != name]))

    def beta_all(self, normalisation: str) -> float:
        return float(np.mean([self.beta(o, normalisation) for o in self.fits]))

    def transfer_r2(self, train: str, test: str, normalisation: str) -> float:
        beta = self.beta_without(test, normalisation) if train == "others" else self.beta(train, normalisation)
        s = self.samples[test]
        return oos_r2(s.y_bps, beta * self.datasets[test].scale_bps(normalisation, self.horizon_s) * s.x)

    def dispersion(self, normalisation: str) -> float:
        """Spread of β_d across datasets relative to their mean (std/|mean|): 0 = one coefficient serves all."""
        betas = np.array([self.beta(o, normalisation) for o in self.fits])
        return float(betas.std(ddof=1) / abs(betas.mean())) if len(betas) > 1 else math.nan


def study(signal: Signal, horizon_s: float, datasets: list[Dataset]) -> SignalStudy:
    use = applicable(signal, datasets)
    samples = {d.name: regression_sample(d, signal, horizon_s) for d in use}
    fits = {n: fit_slope(s.t_s, s.x, s.y_bps, horizon_s) for n, s in samples.items()}
    return SignalStudy(signal, horizon_s, samples, fits, {d.name: d for d in use})


# --- markouts of passive fills -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TakerOrders:
    """The trades of one dataset grouped into taker orders (one venue stamp, one aggressor side), valid for a 5 s
    markout: the worst print's price, and the book the quote in force was built from."""

    ts_ns: np.ndarray
    worst_px: np.ndarray
    buyer: np.ndarray
    quote_t_ns: np.ndarray  # when the quote in force was computed (trade time − latency)
    book_i: np.ndarray  # the last book update stamped strictly before that
    mid_later: np.ndarray


def taker_orders(d: Dataset, latency_s: float) -> TakerOrders:
    """Consecutive prints of one aggressor side less than ``TAKER_ORDER_GAP_NS`` apart are one taker order:
    Hyperliquid stamps a taker order's prints with one venue millisecond, but the Binance catalog stamps each print
    on receipt, microseconds apart, so a sweep would otherwise count as a dozen orders, the later ones already deep."""
    ts, px, buy = d.trade_ts_ns, d.trade_px, d.trade_buy
    new = np.ones(len(ts), dtype=bool)
    new[1:] = (ts[1:] - ts[:-1] >= TAKER_ORDER_GAP_NS) | (buy[1:] != buy[:-1])
    group = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    g_buy, g_ts = buy[first], ts[first]
    max_px, min_px = np.full(len(first), -np.inf), np.full(len(first), np.inf)
    np.maximum.at(max_px, group, px)
    np.minimum.at(min_px, group, px)
    worst = np.where(g_buy, max_px, min_px)
    quote_t = g_ts - round(latency_s * _NS_PER_S)
    book_i = np.searchsorted(d.ts_ns, quote_t, side="left") - 1
    ok = d.inside(g_ts, max(max(FLOW_WINDOWS_S), latency_s), MARKOUT_HORIZON_S) & (book_i >= 0)
    later = d.mid_at(g_ts + round(MARKOUT_HORIZON_S * _NS_PER_S))
    return TakerOrders(g_ts[ok], worst[ok], g_buy[ok], quote_t[ok], book_i[ok], later[ok])


def passive_markouts(
    d: Dataset, orders: TakerOrders, depth_bps: float, shift_bps: np.ndarray, touch_fills: bool
) -> np.ndarray:
    """Markouts (bp, ``orders`` order, NaN where not filled) of our quotes at `depth_bps` from a centre shifted by
    `shift_bps`. Queue: a quote that improves the best price is first in line, so a print at its price fills it;
    one that joins or sits behind the touch is taken as last in its level's queue and fills only when the taker
    order trades through it (pessimistic for a deeper level the book left empty). With `touch_fills` any print at
    our price fills us: the optimistic bound, which credits a quote pulled up to the touch with every print there."""
    mid = d.mid[orders.book_i]
    centre = mid * (1.0 + shift_bps / _BPS)
    best_bid, best_ask, tick = d.bid[orders.book_i], d.ask[orders.book_i], d.tick
    eps = 1e-6 * tick
    our_bid = np.minimum(np.floor(centre * (1.0 - depth_bps / _BPS) / tick + 1e-9) * tick, best_ask - tick)
    our_ask = np.maximum(np.ceil(centre * (1.0 + depth_bps / _BPS) / tick - 1e-9) * tick, best_bid + tick)
    bid_touch_fills = touch_fills | (our_bid > best_bid + eps)
    ask_touch_fills = touch_fills | (our_ask < best_ask - eps)
    bid_reached = (orders.worst_px < our_bid - eps) | (bid_touch_fills & (orders.worst_px < our_bid + eps))
    ask_reached = (orders.worst_px > our_ask + eps) | (ask_touch_fills & (orders.worst_px > our_ask - eps))
    hit_bid, hit_ask = ~orders.buyer & bid_reached, orders.buyer & ask_reached
    price = np.where(orders.buyer, our_ask, our_bid)
    side = np.where(orders.buyer, -1.0, 1.0)  # a taker buyer fills our ask: we sell
    markout = side * (orders.mid_later - price) / price * _BPS
    return np.where(hit_bid | hit_ask, markout, np.nan)


def delta_se_bps(orders: TakerOrders, base_bps: np.ndarray, shifted_bps: np.ndarray) -> float:
    """Standard error of (mean shifted markout − mean base markout) by a block bootstrap over time: the two fill
    sets share most of their taker orders, so their errors are correlated and adding the variances would overstate
    the error of the difference; blocks of ``BOOTSTRAP_BLOCK_S`` keep each fill with the fills its 5 s window
    overlaps. NaN when a resample leaves one side without fills too often to say."""
    block = (orders.ts_ns - orders.ts_ns[0]) // round(BOOTSTRAP_BLOCK_S * _NS_PER_S)
    _, block = np.unique(block, return_inverse=True)
    n_blocks = int(block.max()) + 1 if len(block) else 0
    sums = []
    for markout in (base_bps, shifted_bps):
        filled = np.isfinite(markout)
        sums.append(np.bincount(block, np.where(filled, markout, 0.0), n_blocks))
        sums.append(np.bincount(block, filled.astype(np.float64), n_blocks))
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    weights = rng.multinomial(n_blocks, np.full(n_blocks, 1.0 / n_blocks), size=BOOTSTRAP_DRAWS).astype(np.float64)
    base_sum, base_n, shift_sum, shift_n = (weights @ v for v in sums)
    ok = (base_n > 0) & (shift_n > 0)
    if ok.mean() < 0.9:
        return math.nan
    return float(np.std(shift_sum[ok] / shift_n[ok] - base_sum[ok] / base_n[ok], ddof=1))


def summarise(orders: TakerOrders, markout_bps: np.ndarray) -> tuple[float, float, int]:
    filled = np.isfinite(markout_bps)
    mean, se = mean_se(orders.ts_ns[filled] / _NS_PER_S, markout_bps[filled], MARKOUT_HORIZON_S)
    return mean, se, int(filled.sum())


# --- tables --------------------------------------------------------------------------------------------------------


def _f(x: float, spec: str = "+.3f") -> str:
    return "nan" if not math.isfinite(x) else format(x, spec)


def print_datasets(datasets: list[Dataset]) -> None:
    print("\n== Datasets (venue clock; outages = book gaps > %g s, left out) ==" % MAX_BOOK_GAP_S)
    print(f"{'dataset':<12} {'live s':>7} {'outages':>8} {'books':>6} {'trades':>6} {'tick bp':>7} "
          f"{'spread bp':>9} {'σ /√s':>8} {'σ 5s bp':>7}")  # fmt: skip
    for d in datasets:
        mid = float(np.median(d.mid))
        print(
            f"{d.name:<12} {d.live_s:7.0f} {len(d.segment_start_ns) - 1:8d} {len(d.ts_ns):6d} "
            f"{len(d.trade_ts_ns):6d} {d.tick / mid * _BPS:7.3f} {d.spread_bps:9.3f} "
            f"{d.sigma_frac_per_sqrt_s:8.2e} {d.scale_bps('sigma', 5.0):7.2f}"
        )


def print_fits(studies: list[SignalStudy], names: list[str]) -> None:
    print("\n== In sample: slope b (bp of forward mid move per unit signal) ± Newey–West SE, t, R² ==")
    print(f"{'signal':<15} {'h':>4}  " + "  ".join(f"{n:>30}" for n in names))
    for s in studies:
        cells = []
        for n in names:
            fit = s.fits.get(n)
            if fit is None:
                cells.append(f"{'—':>30}")
                continue
            t = fit.slope / fit.slope_se if fit.slope_se > 0 else math.nan
            cells.append(f"{_f(fit.slope, '+.3f'):>7}±{_f(fit.slope_se, '.3f'):<6} t{_f(t, '+.1f'):>5} "
                         f"R²{_f(fit.r2, '.3f'):>6} n{fit.n:<5}")  # fmt: skip
        print(f"{s.signal.name:<15} {s.horizon_s:>3g}s  " + "  ".join(cells))


def print_transfer(studies: list[SignalStudy], names: list[str]) -> None:
    print(
        "\n== Transfer: β_d = b_d/s_d per dataset, dispersion std/|mean| (0 = one β for all), and OOS R² on each "
        "dataset with β from the others (leave one out; vs predicting no move) =="
    )
    print(f"{'signal':<15} {'h':>4} {'norm':<6} {'β mean':>8} {'disp':>5}  "
          + " ".join(f"{n:>12}" for n in names) + f" {'mean OOS':>9} {'min OOS':>8}")  # fmt: skip
    for s in studies:
        for norm in NORMALISATIONS:
            r2 = {n: s.transfer_r2("others", n, norm) for n in s.fits}
            cells = " ".join(f"{_f(r2[n], '+.4f') if n in r2 else '—':>12}" for n in names)
            print(
                f"{s.signal.name:<15} {s.horizon_s:>3g}s {norm:<6} {_f(s.beta_all(norm), '+.3f'):>8} "
                f"{_f(s.dispersion(norm), '.2f'):>5}  {cells} {np.mean(list(r2.values())):+9.4f} "
                f"{min(r2.values()):+8.4f}"
            )


def best_normalisation(s: SignalStudy) -> str:
    """The normalisation whose leave-one-out β predicts best on its worst dataset (robustness over the average)."""
    return max(NORMALISATIONS, key=lambda norm: min(s.transfer_r2("others", n, norm) for n in s.fits))


def print_pairwise(s: SignalStudy, norm: str) -> None:
    names = list(s.fits)
    print(f"\n== Pairwise OOS R², {s.signal.name} at {s.horizon_s:g} s, '{norm}' (row: fitted on; column: applied to) "
          "==")  # fmt: skip
    print(f"{'train \\ test':<12} " + " ".join(f"{n:>12}" for n in names))
    for train in names:
        print(f"{train:<12} " + " ".join(f"{s.transfer_r2(train, test, norm):>+12.4f}" for test in names))


def shifts_bps(s: SignalStudy, d: Dataset, orders: TakerOrders) -> np.ndarray:
    """β·s_d·signal at each taker order's quote time, β from the other datasets, the signal's best normalisation,
    and only data stamped before the taker order's first print."""
    norm = best_normalisation(s)
    x = s.signal.value(d, orders.book_i, orders.quote_t_ns, False)
    return s.beta_without(d.name, norm) * d.scale_bps(norm, s.horizon_s) * x


def traded_orders(datasets: list[Dataset], latency_s: float) -> tuple[list[Dataset], dict[str, TakerOrders]]:
    """The datasets with trades, and each one's taker orders."""
    traded = [d for d in datasets if d.has_trades]
    return traded, {d.name: taker_orders(d, latency_s) for d in traded}


def print_markouts(studies_5s: list[SignalStudy], datasets: list[Dataset], latency_s: float, touch: bool) -> None:
    traded, orders = traded_orders(datasets, latency_s)
    fill_rule = "any print at our price fills (optimistic)" if touch else "queue: touch fills only a price improver"
    print(
        f"\n== Passive fills: 5 s markout (bp, + = earned, before the {MAKER_FEE_BPS:g} bp maker fee) ± SE [fills], "
        f"and Δ = shifted − mid ± SE (block bootstrap, {BOOTSTRAP_BLOCK_S:g} s blocks); quote centre = mid, or "
        f"mid + β·s_d·signal (5 s β from the other datasets, the signal's best normalisation); "
        f"latency {latency_s:g} s; {fill_rule} =="
    )
    print("taker orders: " + ", ".join(f"{d.name} {len(orders[d.name].ts_ns)}" for d in traded))
    print("|shift| median / 95th pct (bp): ", end="")
    print("; ".join(
        f"{s.signal.name} " + " ".join(
            f"{np.median(np.abs(sh)):.2f}/{np.percentile(np.abs(sh), 95):.2f}"
            for sh in (shifts_bps(s, d, orders[d.name]) for d in traded)
        ) for s in studies_5s
    ))  # fmt: skip
    width = 30
    deltas: dict[tuple[str, float], list[tuple[float, float]]] = {}  # (signal, depth) → (Δ, SE) per dataset
    print(f"{'centre':<26} {'δ bp':>4}  " + "  ".join(f"{d.name:>{width}}" for d in traded))
    for depth in QUOTE_DEPTHS_BPS:
        base = {d.name: passive_markouts(d, orders[d.name], depth, 0.0, touch) for d in traded}
        cells = []
        for d in traded:
            m, se, n = summarise(orders[d.name], base[d.name])
            cells.append(f"{_f(m, '+.2f'):>6}±{_f(se, '.2f'):<5}[{n:>4}]")
        print(f"{'mid':<26} {depth:>4g}  " + "  ".join(f"{c:<{width}}" for c in cells))
        for s in studies_5s:
            cells = []
            for d in traded:
                shifted = passive_markouts(d, orders[d.name], depth, shifts_bps(s, d, orders[d.name]), touch)
                m, se, n = summarise(orders[d.name], shifted)
                m0 = summarise(orders[d.name], base[d.name])[0]
                se_delta = delta_se_bps(orders[d.name], base[d.name], shifted)
                deltas.setdefault((s.signal.name, depth), []).append((m - m0, se_delta))
                cells.append(
                    f"{_f(m, '+.2f'):>6}±{_f(se, '.2f'):<5}[{n:>4}] Δ{_f(m - m0, '+.2f')}±{_f(se_delta, '.2f')}"
                )
            label = f"+ {s.signal.name} ({best_normalisation(s)})"
            print(f"{label:<26} {depth:>4g}  " + "  ".join(f"{c:<{width}}" for c in cells))
        print()
    print_pooled_deltas(deltas, len(traded))


def print_pooled_deltas(deltas: dict[tuple[str, float], list[tuple[float, float]]], n_datasets: int) -> None:
    """Inverse-variance mean of Δ over the datasets where it has a standard error, and on how many it is > 0."""
    print("== Δ markout pooled over the datasets (inverse-variance; 'k/n' = datasets with Δ > 0 of those with "
          "fills) ==")  # fmt: skip
    depths = sorted({depth for _, depth in deltas})
    print(f"{'signal':<15} " + " ".join(f"{f'δ {depth:g} bp':>22}" for depth in depths))
    for name in dict.fromkeys(name for name, _ in deltas):
        cells = []
        for depth in depths:
            pairs = [(dm, se) for dm, se in deltas[(name, depth)] if math.isfinite(dm)]
            usable = [(dm, se) for dm, se in pairs if math.isfinite(se) and se > 0]
            w = np.array([1.0 / se**2 for _, se in usable])
            mean = float(np.sum(w * [dm for dm, _ in usable]) / w.sum()) if usable else math.nan
            se = float(1.0 / math.sqrt(w.sum())) if usable else math.nan
            positive = sum(dm > 0 for dm, _ in pairs)
            cells.append(f"{_f(mean, '+.2f')}±{_f(se, '.2f')} ({positive}/{len(pairs)})")
        print(f"{name:<15} " + " ".join(f"{c:>22}" for c in cells))


# --- a steadier centre --------------------------------------------------------------------------------------------

SHIPPED_BETA = 1.0
REQUOTE_HALF_SPREAD_FRAC = 0.25  # the strategy's default requote tolerance, as a fraction of the half-spread
CHURN_DEPTH_BPS = 1.0
STEADY_VARIANTS = (  # (label, half-life s, hysteresis in σ·√h, rounding step of I)
    ("raw (shipped)", 0.0, 0.0, 0.0),
    ("ewma 0.5s", 0.5, 0.0, 0.0),
    ("ewma 1s", 1.0, 0.0, 0.0),
    ("ewma 2s", 2.0, 0.0, 0.0),
    ("ewma 5s", 5.0, 0.0, 0.0),
    ("hyst 0.2", 0.0, 0.2, 0.0),
    ("hyst 0.3", 0.0, 0.3, 0.0),
    ("hyst 0.5", 0.0, 0.5, 0.0),
    ("ewma 1s + hyst 0.2", 1.0, 0.2, 0.0),
    ("ewma 2s + hyst 0.2", 2.0, 0.2, 0.0),
    ("round 0.25", 0.0, 0.0, 0.25),
    ("round 0.5", 0.0, 0.0, 0.5),
)


class SteadiedImbalance:
    """A candidate steadier centre, fed one book at a time: a time-weighted average, then held (research only).

    The average weighs each book by the time it was in force: a new book enters with weight 1 − 2^(−Δt/half-life),
    so after a feed gap the fresh book takes over, and a later book stamped in the same instant replaces the earlier
    one. Holding: the imbalance in force moves only when β·|target − held| (the shift in σ·√h) exceeds
    ``hysteresis_frac``. Both 0 return each book's own imbalance, as the strategy uses it. Measured below, averaging
    loses the markout gain and holding wins back no fills in the backtest, so the strategy ships neither.
    """

    def __init__(self, beta: float, half_life_s: float, hysteresis_frac: float) -> None:
        self._beta = beta
        self._half_life_ns = half_life_s * 1e9
        self._hysteresis_frac = hysteresis_frac
        self._last_ts_ns: int | None = None
        self._before = 0.0  # the average before this instant's book
        self._weight = 1.0  # this instant's book's weight in it
        self._smoothed = 0.0
        self._held = 0.0

    def update(self, ts_ns: int, imbalance: float) -> float:
        if self._last_ts_ns is None or ts_ns > self._last_ts_ns:
            self._before = self._smoothed
            if self._last_ts_ns is None or self._half_life_ns == 0.0:
                self._weight = 1.0
            else:
                self._weight = 1.0 - 2.0 ** (-(ts_ns - self._last_ts_ns) / self._half_life_ns)
            self._last_ts_ns = ts_ns
        weight = self._weight
        self._smoothed = imbalance if weight == 1.0 else self._before + weight * (imbalance - self._before)
        if self._hysteresis_frac == 0.0 or self._beta * abs(self._smoothed - self._held) > self._hysteresis_frac:
            self._held = self._smoothed
        return self._held


def steady_imbalance(d: Dataset, half_life_s: float, hysteresis_frac: float, step: float) -> np.ndarray:
    """band5bp after each book update as a :class:`SteadiedImbalance` would hold it (then rounded to `step`)."""
    model = SteadiedImbalance(SHIPPED_BETA, half_life_s, hysteresis_frac)
    raw = d.book_signals["band5bp"]
    out = np.array([model.update(int(t), float(x)) for t, x in zip(d.ts_ns, raw)])
    return np.round(out / step) * step if step > 0 else out


def requotes_per_min(d: Dataset, shift_bps: np.ndarray, depth_bps: float) -> float:
    """Quotes at `depth_bps` from the centre, kept while within the requote tolerance of where the centre wants them
    (the strategy's rule with the half-spread = `depth_bps`): re-placements per minute of live feed, both sides."""
    centre = d.mid * (1.0 + shift_bps / _BPS)
    tick = d.tick
    want_bid = np.minimum(np.floor(centre * (1.0 - depth_bps / _BPS) / tick + 1e-9) * tick, d.ask - tick)
    want_ask = np.maximum(np.ceil(centre * (1.0 + depth_bps / _BPS) / tick - 1e-9) * tick, d.bid + tick)
    tolerance = np.maximum(tick, REQUOTE_HALF_SPREAD_FRAC * depth_bps / _BPS * d.mid) + 1e-6 * tick
    live = d.inside(d.ts_ns, 0.0, 0.0)
    count = 0
    for want in (want_bid, want_ask):
        resting = math.nan
        for i in np.flatnonzero(live):
            if not abs(want[i] - resting) <= tolerance[i]:  # NaN (nothing resting) re-places too
                resting = want[i]
                count += 1
    return count / (d.live_s / 60.0)


def print_steady_centre(datasets: list[Dataset], latency_s: float, touch: bool) -> None:
    traded, orders = traded_orders(datasets, latency_s)
    names = [d.name for d in datasets]
    print(
        f"\n== Steadier centre: band5bp through SteadiedImbalance, β = {SHIPPED_BETA:g} (σ·√5 s); β_d = own 5 s slope "
        f"in σ units ± SE; R² = OOS at β = {SHIPPED_BETA:g}; Δmo = pooled 5 s markout Δ vs mid-centred (bp, "
        f"inverse-variance, k/n datasets > 0) at δ 0.5/1/2 bp; rq/min = re-placements per live minute at δ "
        f"{CHURN_DEPTH_BPS:g} bp (both sides) =="
    )
    print(f"{'centre':<20} " + " ".join(f"{n:>27}" for n in names) + "  " + "  ".join(
        f"{f'Δmo δ{depth:g}':>18}" for depth in QUOTE_DEPTHS_BPS[:3]))  # fmt: skip
    for label, half_life_s, hysteresis_frac, step in (("mid", 0.0, 0.0, 0.0), *STEADY_VARIANTS):
        cells = []
        shift = {}
        for d in datasets:
            scale = d.scale_bps("sigma", MARKOUT_HORIZON_S)
            x = steady_imbalance(d, half_life_s, hysteresis_frac, step) if label != "mid" else np.zeros(len(d.ts_ns))
            shift[d.name] = SHIPPED_BETA * scale * x
            churn = requotes_per_min(d, shift[d.name], CHURN_DEPTH_BPS)
            if label == "mid":
                cells.append(f"{'':>12} rq{churn:>6.1f}/min")
                continue
            sample = regression_sample(d, _book_signal("band5bp"), MARKOUT_HORIZON_S)
            ok = d.inside(d.ts_ns, max(FLOW_WINDOWS_S), MARKOUT_HORIZON_S)
            xs = x[ok]
            fit = fit_slope(sample.t_s, xs, sample.y_bps, MARKOUT_HORIZON_S)
            r2 = oos_r2(sample.y_bps, SHIPPED_BETA * scale * xs)
            cells.append(
                f"β{_f(fit.slope / scale, '+.2f')}±{_f(fit.slope_se / scale, '.2f')} R²{_f(r2, '+.3f')} "
                f"rq{churn:>5.1f}"
            )
        pooled = [
            f"{'':>18}" if label == "mid" else pooled_delta(traded, orders, shift, depth, touch)
            for depth in QUOTE_DEPTHS_BPS[:3]
        ]
        print(f"{label:<20} " + " ".join(f"{c:>27}" for c in cells) + "  " + "  ".join(f"{c:>18}" for c in pooled))


def pooled_delta(
    traded: list[Dataset],
    orders: dict[str, TakerOrders],
    shift: dict[str, np.ndarray],
    depth: float,
    touch: bool,
) -> str:
    """Pooled 5 s markout Δ (shifted centre − mid centre) at one quote depth: inverse-variance mean ± SE over the
    datasets with trades, and on how many of them it is > 0. ``shift``: bp per book update, per dataset."""
    pairs = []
    for d in traded:
        o = orders[d.name]
        base = passive_markouts(d, o, depth, 0.0, touch)
        shifted = passive_markouts(d, o, depth, shift[d.name][o.book_i], touch)
        dm = summarise(o, shifted)[0] - summarise(o, base)[0]
        pairs.append((dm, delta_se_bps(o, base, shifted)))
    usable = [(dm, se) for dm, se in pairs if math.isfinite(dm) and math.isfinite(se) and se > 0]
    w = np.array([1.0 / se**2 for _, se in usable])
    mean = float(np.sum(w * [dm for dm, _ in usable]) / w.sum()) if usable else math.nan
    se = float(1.0 / math.sqrt(w.sum())) if usable else math.nan
    positive = sum(dm > 0 for dm, _ in pairs if math.isfinite(dm))
    finite = sum(math.isfinite(dm) for dm, _ in pairs)
    return f"{_f(mean, '+.2f')}±{_f(se, '.2f')} ({positive}/{finite})"


# --- the signal the node has live on Hyperliquid ------------------------------------------------------------------

LIVE_BETAS = (0.5, 1.0, 1.5)


def print_live_depth(datasets: list[Dataset], latency_s: float, touch: bool) -> None:
    """On the real venue the node reads the fast l2Book, 5 levels a side (``HyperliquidRules.live_book_levels``),
    so there the 5 bp band is I5 (BTC's 5 levels span under 0.5 bp): the same β scan for both, in σ·√5 s units."""
    traded, orders = traded_orders(datasets, latency_s)
    names = [d.name for d in datasets]
    print(
        f"\n== Live depth: I5 (what the node sees on Hyperliquid) vs band5bp (a 20-level recording), β scan (σ·√5 s); "
        f"R² = OOS at that β; Δmo as above at δ 0.5/1/2 bp; latency {latency_s:g} s =="
    )
    print(f"{'signal':<14} " + " ".join(f"{n:>12}" for n in names) + "  " + "  ".join(
        f"{f'Δmo δ{depth:g}':>18}" for depth in QUOTE_DEPTHS_BPS[:3]))  # fmt: skip
    for name in ("I5", "band5bp"):
        sample = {d.name: regression_sample(d, _book_signal(name), MARKOUT_HORIZON_S) for d in datasets}
        for beta in LIVE_BETAS:
            shift = {d.name: beta * d.scale_bps("sigma", MARKOUT_HORIZON_S) * d.book_signals[name] for d in datasets}
            r2 = []
            for d in datasets:
                ok = d.inside(d.ts_ns, max(FLOW_WINDOWS_S), MARKOUT_HORIZON_S)
                r2.append(oos_r2(sample[d.name].y_bps, shift[d.name][ok]))
            pooled = [pooled_delta(traded, orders, shift, depth, touch) for depth in QUOTE_DEPTHS_BPS[:3]]
            label = f"{name} β {beta:g}"
            print(f"{label:<14} " + " ".join(f"{r:>+12.3f}" for r in r2) + "  " + "  ".join(f"{c:>18}" for c in pooled))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-s", type=float, default=0.0, help="age of the data the quote in force was built on")
    parser.add_argument("--touch-fills", action="store_true", help="any print at our price fills us (no queue)")
    args = parser.parse_args(argv)
    datasets = [load_dataset(name, REPO_ROOT / path) for name, path in DATASETS]
    names = [d.name for d in datasets]
    print_datasets(datasets)
    studies = [study(sig, h, datasets) for sig in SIGNALS for h in HORIZONS_S]
    print_fits(studies, names)
    print_transfer(studies, names)
    five = [s for s in studies if s.horizon_s == MARKOUT_HORIZON_S]
    best = max(five, key=lambda s: min(s.transfer_r2("others", n, best_normalisation(s)) for n in s.fits))
    print_pairwise(best, best_normalisation(best))
    print_markouts(five, datasets, args.latency_s, args.touch_fills)
    print_steady_centre(datasets, args.latency_s, args.touch_fills)
    print_live_depth(datasets, args.latency_s, args.touch_fills)
    return 0


if __name__ == "__main__":
    sys.exit(main())
