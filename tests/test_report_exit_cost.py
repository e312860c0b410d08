"""Session-9 review, finding 6: net PnL marks the final position at the mid for free; ``net_after_exit`` charges
flattening it with a taker order (|q_T|·(m_T·taker fee + half the final spread)), in the report and as a sweep
metric (the default objective stays net PnL: ``rank`` defaults to net_pnl in research/spec.py, untouched)."""

from __future__ import annotations

import math

import pytest

from mm_strategy.reporting import compute_metrics
from mm_strategy.reporting.metrics import analyse
from mm_strategy.reporting.summary import summary_table
from mm_strategy.research.metrics import resolve_metric
from mm_strategy.research.metrics import run_metrics
from tests.report_sessions import real_session_inputs
from tests.test_reporting import fill
from tests.test_reporting import inputs


@pytest.fixture(scope="module")
def hl_eth():
    return real_session_inputs("hyperliquid_eth.json", "catalog_hl_eth")


def test_the_eth_capture_net_is_charged_for_closing_half_an_eth(hl_eth):
    # The shipped ETH config ends 0.5 ETH long at a last mid of 4,361.65; the venue's taker fee is 4.5 bp and the
    # final book is one 0.1 tick wide: 0.5·(4,361.65·0.00045 + 0.05) = 1.00637 of the 4.49683 net.
    assert (hl_eth.taker_fee_frac, hl_eth.final_spread) == (pytest.approx(0.00045), pytest.approx(0.1))
    pnl = compute_metrics(hl_eth)["pnl"]
    assert pnl["net"] == pytest.approx(4.49683, abs=1e-5)
    assert pnl["exit_cost"] == pytest.approx(0.5 * (4361.65 * 0.00045 + 0.05))
    assert pnl["net_after_exit"] == pytest.approx(4.49683 - 1.00637, abs=1e-5)
    assert "+3.4905 (exit cost +1.0064: final position at the taker fee" in summary_table(compute_metrics(hl_eth))


def test_a_sweep_can_rank_by_net_after_exit(hl_eth):
    column = resolve_metric("net_after_exit", "rank")
    assert column == "pnl.net_after_exit"
    assert run_metrics(analyse(hl_eth))[column] == pytest.approx(3.49046, abs=1e-5)


def test_a_flat_end_costs_nothing_and_an_open_one_with_unknown_costs_is_unmeasured():
    flat = compute_metrics(inputs([(0, 100.0), (10, 100.0)], [fill(1, "BUY", 99.0), fill(2, "SELL", 101.0)]))
    assert (flat["pnl"]["exit_cost"], flat["pnl"]["net_after_exit"]) == (0.0, flat["pnl"]["net"])
    open_end = compute_metrics(inputs([(0, 100.0), (10, 100.0)], [fill(1, "BUY", 99.0)]))
    assert (open_end["pnl"]["exit_cost"], open_end["pnl"]["net_after_exit"]) == (None, None)
    with pytest.raises(ValueError, match="final_spread"):
        inputs([(0, 100.0)], [], final_spread=math.nan)


def test_a_position_that_sums_back_to_float_dust_is_flat():
    """0.1 + 0.2 − 0.3 is 5.6e-17 in floats: a flat session, even when the final book (and so the spread) is unknown."""
    dust = compute_metrics(inputs([(0, 100.0), (10, 100.0)], [
        fill(1, "BUY", 99.0, qty=0.1), fill(2, "BUY", 99.0, qty=0.2), fill(3, "SELL", 101.0, qty=0.3)]))
    assert dust["pnl"]["exit_cost"] == 0.0 and dust["pnl"]["net_after_exit"] == dust["pnl"]["net"]
