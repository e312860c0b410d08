"""Each row records the code its worker ran, not the version the plan read at the start (review of session 9,
finding 5: after the forkserver preload, the strategy and its models are imported from disk at run time, so an
edit during a sweep ran under the old label and a resumed sweep reused those rows)."""

from __future__ import annotations

import dataclasses
import os

from mm_strategy.research.plan import plan_sweep
from mm_strategy.research.provenance import CODE_VERSION
from mm_strategy.research.provenance import code_version
from mm_strategy.research import provenance
from mm_strategy.research.provenance import source_stamp
from mm_strategy.research.provenance import source_version
from mm_strategy.research.runner import execute_run
from mm_strategy.research.runner import ran_version
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
    edited = execute_run(dataclasses.replace(task, source_version="src.0123456789ab", source_stamp="0123456789ab"))
    assert edited["status"] == "ok" and edited[CODE_VERSION] == f"{current}>{source_version()}"
    # the sources carry the plan's stamp but their hash differs from the plan's (a plan that hashed other sources
    # under the same names, sizes and times): the stamp is trusted, the sources are not read
    assert execute_run(dataclasses.replace(task, source_version="src.0123456789ab"))[CODE_VERSION] == current


def test_a_worker_reads_the_sources_only_when_their_stamp_is_not_the_plans(hl_captures, tmp_path, monkeypatch):
    """Hashing the package sources cost ~45 ms of every run of a sweep (a 45 s window's whole run: ~400 ms); a worker
    whose sources still carry the plan's stamp (names, sizes, modification times) runs the plan's sources."""
    catalog = build_catalog(hl_captures, tmp_path / "catalog")
    task = plan_sweep(load_spec(write_spec(tmp_path / "s.json", catalog, datasets=[
        {"catalog": str(catalog), "name": "hl_btc", "end": "2025-09-03T12:55:30"}]))).tasks[0]
    assert task.source_stamp == source_stamp()
    hashed: list[int] = []
    real_hash = provenance._hash_files
    monkeypatch.setattr(provenance, "_hash_files", lambda *args: hashed.append(1) or real_hash(*args))
    assert ran_version(task) == task.code_version and not hashed
    assert ran_version(dataclasses.replace(task, source_stamp="0123456789ab")) == task.code_version and hashed


def test_an_edit_changes_the_stamp(tmp_path):
    """The stamp follows every file's name, size and modification time: an edit of the same size moves it, and so
    does a new module."""
    for package in provenance.SOURCE_PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "module.py").write_text("x = 1\n")
    before = source_stamp(tmp_path)
    assert source_stamp(tmp_path) == before
    edited = tmp_path / provenance.SOURCE_PACKAGES[0] / "module.py"
    stat = edited.stat()
    edited.write_text("x = 2\n")
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    after_edit = source_stamp(tmp_path)
    assert after_edit != before
    (tmp_path / provenance.SOURCE_PACKAGES[1] / "new.py").write_text("")
    assert source_stamp(tmp_path) not in (before, after_edit)
