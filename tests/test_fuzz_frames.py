"""The short version of ``benchmarks/fuzz_frames.py`` (a few hundred cases, same code): mutated real frames through
the data client and mutated requests through the local exchange, with no escaped exception, every malformed frame
counted, every valid frame after one applied, and every valid request after a malformed one served."""

from __future__ import annotations

import importlib.util
import sys

from tests.conftest import ARCHIVE_BTC_HOUR, REPO_ROOT, _require

_spec = importlib.util.spec_from_file_location("fuzz_frames", REPO_ROOT / "benchmarks" / "fuzz_frames.py")
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["fuzz_frames"] = fuzz  # its dataclasses resolve their module by name
_spec.loader.exec_module(fuzz)


async def test_mutated_real_frames_through_the_data_client():
    _require(ARCHIVE_BTC_HOUR)
    report = await fuzz.fuzz_frames(n_frames=400, seed=5)
    assert report.escaped == 0
    assert report.malformed + report.accepted == report.frames == 400
    assert report.malformed > 200, "most mutations break the frame"
    assert report.follow_ups_applied == report.follow_ups == report.malformed
    assert set(report.by_mutation) == {"replace", "delete", "add_key", "truncate", "char", "deep", "channel"}


async def test_mutated_requests_through_the_local_exchange():
    _require(ARCHIVE_BTC_HOUR)
    report = await fuzz.fuzz_requests(n_requests=150, seed=5)
    assert report.escaped == report.ws_dropped == 0
    assert report.follow_ups_served == report.follow_ups == 150
    assert report.refused > 0 and 500 not in report.statuses
