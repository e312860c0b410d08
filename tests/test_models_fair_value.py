"""Fair value from the banded size imbalance: sign, scale in the coin's own σ, bound, and config errors."""

from __future__ import annotations

import math
from types import SimpleNamespace

import msgspec
import numpy as np
import pandas as pd
import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag

from adapters.hyperliquid import loaders
from adapters.hyperliquid.constants import FAST_BOOK_LEVELS
from adapters.hyperliquid.venue_rules import HyperliquidRules
from adapters.hyperliquid.meta import instrument_for
from mm_strategy.backtest import DataRange
from mm_strategy.backtest import run_backtest
from mm_strategy.models.fair_value import FairValueConfig
from mm_strategy.models.fair_value import fair_value_shift_bps
from mm_strategy.models.fair_value import size_imbalance
from mm_strategy.node_config import load_venue_config
from mm_strategy.strategy import GLFTMarketMaker
from mm_strategy.strategy import band_imbalance
from mm_strategy.venue_rules import InstrumentRules
from run_backtest import REPO_ROOT
from tests.strategy_documents import parse_strategy_config
from tests.strategy_documents import strategy_document

BTC_SIGMA = 5.46e-5  # the shipped BTC prior, per √s


def test_imbalance_sign_and_range():
    assert size_imbalance(3.0, 1.0) == pytest.approx(0.5)
    assert size_imbalance(1.0, 3.0) == pytest.approx(-0.5)
    assert size_imbalance(2.0, 0.0) == 1.0 and size_imbalance(0.0, 2.0) == -1.0
    assert size_imbalance(0.0, 0.0) == 0.0  # an empty band says nothing: no shift


def test_shift_is_one_horizon_sigma_per_unit_imbalance_and_bounded():
    config = FairValueConfig()  # β 1, 5 s
    one_sigma_bps = BTC_SIGMA * math.sqrt(5.0) * 1e4  # 1.221 bp
    assert fair_value_shift_bps(1.0, BTC_SIGMA, config) == pytest.approx(one_sigma_bps)
    assert fair_value_shift_bps(-0.5, BTC_SIGMA, config) == pytest.approx(-0.5 * one_sigma_bps)
    # scaled by the coin's own σ: a 3x more volatile coin moves 3x as far for the same imbalance
    assert fair_value_shift_bps(0.4, 3 * BTC_SIGMA, config) == pytest.approx(3 * fair_value_shift_bps(0.4, BTC_SIGMA, config))
    assert fair_value_shift_bps(0.7, BTC_SIGMA, FairValueConfig(beta=0.0)) == 0.0


@pytest.mark.parametrize(
    ("field", "value"), [("beta", -0.1), ("beta", math.inf), ("horizon_s", 0.0), ("band_bps", -1.0), ("band_bps", math.nan)]
)
def test_bad_fair_value_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"FairValueConfig.{field}"):
        FairValueConfig(**{field: value})


def test_misspelt_fair_value_key_fails_in_the_strategy_config():
    with pytest.raises(msgspec.ValidationError, match="betta"):
        parse_strategy_config(strategy_document(fair_value={"betta": 1.0}))
    assert parse_strategy_config(strategy_document(fair_value={"beta": 0.5})).fair_value.beta == 0.5


def _first_book(hl_captures, coin: str) -> OrderBook:
    result = loaders.parse_file(hl_captures / f"hl_{coin}_20250903.gz", instrument_for(coin))
    book = OrderBook(result.deltas[0].instrument_id, BookType.L2_MBP)
    for delta in result.deltas:
        book.apply_delta(delta)
        if delta.flags & RecordFlag.F_LAST:
            break
    return book


def test_band_imbalance_on_a_real_book_sums_the_band(hl_captures):
    """On the first real BTC book of the capture, the band imbalance equals the one computed from the levels."""
    book = _first_book(hl_captures, "BTC")
    mid = book.midpoint()
    for band_bps in (0.5, 1.0, 5.0):
        lo, hi = mid * (1 - band_bps * 1e-4), mid * (1 + band_bps * 1e-4)
        bids = sum(level.size() for level in book.bids() if level.price.as_double() >= lo)
        asks = sum(level.size() for level in book.asks() if level.price.as_double() <= hi)
        expected = (bids - asks) / (bids + asks)
        assert band_imbalance(book, mid, band_bps, price_precision=1) == pytest.approx(expected)
    # 0.5 bp and 5 bp bands hold different levels of this book, so the imbalance differs
    assert band_imbalance(book, mid, 0.5, 1) != pytest.approx(band_imbalance(book, mid, 5.0, 1))


def _top_imbalance(book: OrderBook, levels: int) -> float:
    bids = sum(level.size() for level in book.bids()[:levels])
    asks = sum(level.size() for level in book.asks()[:levels])
    return (bids - asks) / (bids + asks)


def test_band_imbalance_counts_no_more_levels_than_the_live_feed_shows(hl_captures):
    """Capped at 5 levels (Hyperliquid's live fast book), the 5 bp band of a real 20-level BTC book is its top-5
    imbalance, not the 20-level one a backtest would otherwise read and the node never sees."""
    book = _first_book(hl_captures, "BTC")
    mid = book.midpoint()
    assert len(book.bids()) == len(book.asks()) == 20
    capped = band_imbalance(book, mid, 5.0, 1, max_levels=5)
    assert capped == pytest.approx(_top_imbalance(book, 5))
    assert capped != pytest.approx(band_imbalance(book, mid, 5.0, 1))  # the whole visible book differs
    # the band still binds inside the cap: SOL's top 5 levels reach past 0.5 bp
    sol, precision = _first_book(hl_captures, "SOL"), instrument_for("SOL").price_precision
    sol_mid = sol.midpoint()
    inside = band_imbalance(sol, sol_mid, 0.5, precision, max_levels=5)
    assert inside == pytest.approx(band_imbalance(sol, sol_mid, 0.5, precision))
    assert inside != pytest.approx(_top_imbalance(sol, 5))


def test_the_strategy_reads_the_imbalance_at_the_venues_live_depth(hl_captures):
    """The strategy caps the imbalance at ``VenueRules.live_book_levels``: 5 with Hyperliquid's rules (the fast
    book), the whole band with rules that show the whole book."""
    book = _first_book(hl_captures, "BTC")
    instrument = instrument_for("BTC")
    priors = {"kappa_per_frac": 17000.0, "a_per_s": 0.05, "sigma_frac_per_sqrt_s": BTC_SIGMA}
    strategy = GLFTMarketMaker(parse_strategy_config(strategy_document(instrument_id=instrument.id.value, priors=priors)))
    strategy._instrument = instrument
    mid = book.midpoint()
    strategy._spec = SimpleNamespace(rules=HyperliquidRules(instrument))
    assert HyperliquidRules.live_book_levels == FAST_BOOK_LEVELS == 5
    assert strategy._band_imbalance(book, mid) == pytest.approx(_top_imbalance(book, 5))
    strategy._spec = SimpleNamespace(rules=InstrumentRules(instrument))
    assert strategy._band_imbalance(book, mid) == pytest.approx(band_imbalance(book, mid, 5.0, 1))


def _first_minutes(catalog, beta: float):
    settings = load_venue_config(REPO_ROOT / "configs" / "hyperliquid_btc.json")
    config = dict(settings.strategy.config, fair_value={"beta": beta})
    settings = msgspec.structs.replace(settings, strategy=msgspec.structs.replace(settings.strategy, config=config))
    outcome = run_backtest(settings, catalog, DataRange(end=pd.Timestamp("2025-09-03T12:57:20", tz="UTC")))
    recorder = outcome.engine.trader.strategies()[0].recorder
    outcome.node.dispose()
    return recorder


def _centre_offsets_bps(recorder) -> tuple[np.ndarray, np.ndarray]:
    """(shift, quoted centre − mid) in bp at each one-per-second series point with both sides quoted."""
    ts, shifts = (np.asarray(v) for v in recorder.series["fair_value_shift_bps"])
    mid_ts, mids = np.asarray(recorder.mid_ts_ns), np.asarray(recorder.mid)
    quote_ts = np.asarray(recorder.quote_ts_ns)
    bids, asks = np.asarray(recorder.quote_bid), np.asarray(recorder.quote_ask)
    # the quotes the cycle at `t` asked for rest from the next quote record on (after the venue's latency)
    q = np.searchsorted(quote_ts, ts + 200_000_000, side="right") - 1
    m = np.searchsorted(mid_ts, ts, side="right") - 1
    centre = (bids[q] + asks[q]) / 2.0
    ok = (q >= 0) & np.isfinite(centre)
    return shifts[ok], (centre[ok] / mids[m][ok] - 1.0) * 1e4


def test_the_ladder_is_centred_on_the_shifted_mid_in_a_real_backtest(hl_btc_catalog):
    """On the real BTC capture the quotes' centre follows the imbalance shift (slope ≈ 1); with β 0 it does not."""
    shifts, offsets = _centre_offsets_bps(_first_minutes(hl_btc_catalog, beta=1.0))
    assert len(shifts) > 60 and np.ptp(shifts) > 1.0  # a real signal: both signs, over a bp apart
    assert np.all(np.abs(shifts) <= BTC_SIGMA * math.sqrt(5.0) * 1e4 * 2.0 + 1e-9)  # ≤ β·σ·√h (σ ≤ 2× prior here)
    slope = np.polyfit(shifts, offsets, 1)[0]
    assert 0.6 < slope < 1.4
    flat_shifts, _ = _centre_offsets_bps(_first_minutes(hl_btc_catalog, beta=0.0))
    assert np.all(flat_shifts == 0.0)
