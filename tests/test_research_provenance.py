"""Each row records the code its worker ran, not the version the plan read at the start (review of session 9,
finding 5: after the forkserver preload, the strategy and its models are imported from disk at run time, so an
edit during a sweep ran under the old label and a resumed sweep reused those rows)."""

from __future__ import annotations

import dataclasses

from mm_strategy.research.plan import plan_sweep
from mm_strategy.research.provenance import CODE_VERSION
from mm_strategy.research.provenance import code_version
from mm_strategy.research.provenance import source_version
from mm_strategy.research.runner import execute_run
from mm_strategy.research.spec import load_spec
from tests.sweep_support import build_catalog
from tests.sweep_support import write_spec


def test_a_run_records_the_code_version_its_worker_ran(hl_captures, tmp_path):
    catalog = build_catalog(hl_captures, tmp_path / "catalog")
    task = plan_sweep(load_spec(write_spec(tmp_path / "s.json", catalog, datasets=[
        {"catalog": str(catalog), "name": "hl_btc", "end": "2025-09-03T12:55:30"}]))).tasks[0]
    current = code_version()
    assert task.code_version == current
    assert execute_run(task)[CODE_VERSION] == current
    # planned before an edit of the package sources, run after it: labelled as both, which no plan's version equals
    # (runs again on resume)
    edited = execute_run(dataclasses.replace(task, source_version="src.0123456789ab"))
    assert edited["status"] == "ok" and edited[CODE_VERSION] == f"{current}>{source_version()}"
