"""The fault suite's short schedule: ten faults, one of each kind, against the live node while it trades.

``benchmarks/fault_suite.py`` runs the long schedule (``make faults``) and prints the table; here every check
after every fault must hold: the node agrees with the venue's ``clearinghouseState``, ``userFills`` (by ``tid``)
and ``frontendOpenOrders``, no fill is lost or applied twice, and the session report is written each time.
"""

from __future__ import annotations

from benchmarks.fault_suite import FAULTS
from benchmarks.fault_suite import SuiteConfig
from benchmarks.fault_suite import run_fault_suite


async def test_ten_faults_leave_nothing_lost_duplicated_or_unreconciled(archive_btc_hour, tmp_path):
    # Each fault acts 2–3 s of a 20x replay (40–60 s of market): the local exchange now cancels the old order of a
    # refused requote, as the venue does, and a lost market socket pulls the quotes after its grace, so 0.5–1 s at
    # 10x left runs with 0–3 venue fills for the check below; this gives 5–9
    result = await run_fault_suite(SuiteConfig(faults=10, seed=7, replay_speed=20.0, window_s=(2.0, 3.0)), tmp_path / "report")
    print(result.table())
    assert sorted(r.kind for r in result.results) == sorted(FAULTS), "one fault of each kind"
    assert result.unconverged == [], "the node agreed with the venue after every fault"
    assert result.lost_fills == [] and result.duplicated_fills == []
    assert result.position_mismatches == result.open_order_mismatches == 0
    assert result.lost_reports == 0 and (tmp_path / "report" / "report.json").exists()
    assert result.venue_fills > 0, "fills happened while the faults acted"
    assert result.resyncs["user stream reconnected"] >= 3, "each disconnect and the restart was resynced"
