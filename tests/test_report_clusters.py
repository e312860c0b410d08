"""Session-9 review, finding 3: a taker burst is one fill event, and a markout's error clusters fills whose [t, t+h]
windows overlap, reports its cluster count, and is None below 5 clusters.

Before the fix the shipped Binance config's 16 fills were 16 "fill events" (distinct (order, time) pairs: one
sweep's prints through our levels arrive µs–ms apart) and the 5 s markout read 2.59 ± 1.03 bp (t 2.5) with every
stamp its own cluster. The reviewer's independent computation (a scratch script over the engine's own
fills): 5 bursts, 5 clusters of overlapping 5 s windows, 2.588 ± 1.845 (t 1.4); at 1 s ± 1.151.
"""

from __future__ import annotations

import numpy as np
import pytest

from mm_strategy.reporting import compute_metrics
from mm_strategy.reporting.clusters import TAKER_BURST_GAP_NS
from mm_strategy.reporting.clusters import chain_labels
from mm_strategy.reporting.clusters import fill_event_count
from mm_strategy.reporting.summary import summary_table
from tests.report_sessions import real_session_inputs
from tests.test_reporting import fill
from tests.test_reporting import horizon
from tests.test_reporting import inputs

MS = 1_000_000


@pytest.fixture(scope="module")
def binance() -> dict:
    return compute_metrics(real_session_inputs("binance_btcusdt.json", "catalog_binance_btcusdt"))


@pytest.fixture(scope="module")
def hl_btc() -> dict:
    return compute_metrics(real_session_inputs("hyperliquid_btc.json", "catalog_hl_btc"))


def test_binance_sweeps_through_our_levels_are_five_fill_events_not_sixteen(binance):
    fills = binance["fills"]
    assert (fills["count"], fills["fill_events"]) == (16, 5)  # inner gaps ≤ 3.8 ms, 15–30 s between bursts


def test_binance_markout_error_clusters_overlapping_windows(binance):
    at_5s, at_1s, at_30s = (horizon(binance, "all", k) for k in ("5s", "1s", "30s"))
    assert at_5s["markout_bps"] == pytest.approx(2.588, abs=1e-3)  # unchanged: only its error was wrong
    assert (at_5s["markout_se_bps"], at_5s["markout_se_clusters"]) == (pytest.approx(1.845, abs=1e-3), 5)
    assert (at_1s["markout_se_bps"], at_1s["markout_se_clusters"]) == (pytest.approx(1.151, abs=1e-3), 5)
    assert (at_30s["markout_se_bps"], at_30s["markout_se_clusters"]) == (None, 1)  # 30 s windows chain all 16
    assert "+2.59 ± 1.85 bps (n=16 fills in 5 clusters" in summary_table(binance)


def test_hyperliquid_btc_markout_from_two_sweeps_has_no_error(hl_btc):
    # 6 fills in two block stamps (4 buys at one, 2 sells at the other): printed as 0.585 ± 0.225 before
    at_5s = horizon(hl_btc, "all", "5s")
    assert at_5s["markout_bps"] == pytest.approx(0.585, abs=1e-3)
    assert (at_5s["markout_se_bps"], at_5s["markout_se_clusters"]) == (None, 2)
    assert hl_btc["fills"]["fill_events"] == 2
    assert "± n/a bps (n=6 fills in 2 clusters" in summary_table(hl_btc)


def test_the_error_of_five_clusters_counts_a_sweep_once():
    # Constructed figures pinning the arithmetic. Buys marked at +1 s: a sweep of two 1 @ 100 at t=0 to 101
    # (+100 bps each, weight 100 each), then 2 @ 100 at t=10, 20, 30, 40 marked to 99, 101, 99, 100
    # (−100, +100, −100, 0 bps, weight 200 each). Weighted mean 0. Clustered: sums w·(v − 0) per cluster are
    # 2e4, −2e4, 2e4, −2e4, 0 → SE = √(1.6e9 · 5/4)/1000 = 44.72 bps; six independent fills would give
    # √((1e8 + 1e8 + 3·4e8) · 6/5)/1000 = 40.99.
    mids = [(0, 100.5), (1, 101.0), (10, 100.5), (11, 99.0), (20, 100.5), (21, 101.0), (30, 100.5), (31, 99.0),
            (40, 100.5), (41, 100.0), (50, 100.0)]
    buys = [fill(0, "BUY", 100.0), fill(0, "BUY", 100.0), *(fill(t, "BUY", 100.0, qty=2.0) for t in (10, 20, 30, 40))]
    at_1s = horizon(compute_metrics(inputs(mids, buys)), "all", "1s")
    assert at_1s["markout_bps"] == pytest.approx(0.0, abs=1e-9)
    assert (at_1s["markout_se_bps"], at_1s["markout_se_clusters"]) == (pytest.approx(np.sqrt(2e9) / 1000), 5)


def test_windows_that_overlap_at_a_horizon_are_one_cluster_there():
    ts_ns = np.array([0, 3_000, 4_000, 20_000]) * MS  # 3 s, 1 s and 16 s apart
    assert chain_labels(ts_ns, 1_000 * MS).tolist() == [1, 2, 2, 3]  # 1 s windows: only 3 s and 4 s overlap
    assert chain_labels(ts_ns, 5_000 * MS).tolist() == [1, 1, 1, 2]
    assert chain_labels(ts_ns[::-1].copy(), 5_000 * MS).tolist() == [2, 1, 1, 1]  # labels in input order


def test_a_burst_is_one_event_per_side_and_a_later_fill_another():
    ts_ns = np.array([0, 1, 5, 5, 5 + TAKER_BURST_GAP_NS // MS + 1]) * MS
    sign = np.array([1.0, 1.0, 1.0, -1.0, 1.0])
    assert fill_event_count(ts_ns, sign) == 3  # buys at 0, 1, 5 ms; the sell at 5 ms; the buy 21 ms later
    assert fill_event_count(ts_ns[:0], sign[:0]) == 0
