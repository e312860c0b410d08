"""The same sweep as Ray tasks, against a Ray head this test starts on loopback and stops again.

Skipped only when Ray (the optional extra, ``pip install '.[ray]'``) is not importable. Every wait is bounded:
the head must answer within HEAD_START_TIMEOUT_S and the sweep finish within SWEEP_TIMEOUT_S. The head runs in
its own session with a private temp dir, and only its own process group is signalled at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mm_strategy.research.results import ResultsTable
from tests.sweep_support import REPO_ROOT
from tests.sweep_support import AbortingMarketMaker
from tests.sweep_support import build_catalog
from tests.sweep_support import write_spec

pytest.importorskip("ray")

HEAD_START_TIMEOUT_S = 60
SWEEP_TIMEOUT_S = 300
HEAD_STOP_TIMEOUT_S = 30
# A throwaway loopback cluster: no token to provision (Ray only auto-enables token auth for address=auto), and
# every Ray process on 127.0.0.1 (without the cluster switch off Ray advertises the machine's interface address).
LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
RAY_ENV = {
    **os.environ,
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    LOOPBACK_SWITCH: "0",
}
# The driver runs as a user would type it: without the switch, which run_sweep.py must set itself before Ray is
# imported (with it only in the test's environment, a driver that imported Ray first hung on the interface address).
DRIVER_ENV = {key: value for key, value in RAY_ENV.items() if key != LOOPBACK_SWITCH}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head():
    port = _free_port()
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's unix socket paths must stay < 108 bytes
    ray_cli = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", temp_dir],
        env=RAY_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopped below without touching anything else
    )
    try:
        deadline = time.monotonic() + HEAD_START_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None, "ray start exited before the head came up"
                assert time.monotonic() < deadline, f"Ray head not listening after {HEAD_START_TIMEOUT_S} s"
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGINT)  # ray start --block stops the processes it started
        try:
            head.wait(timeout=HEAD_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_sweep_runs_as_ray_tasks_each_in_a_fresh_worker(ray_head, hl_captures, tmp_path):
    catalog = build_catalog(hl_captures, tmp_path / "catalog")
    window = {"catalog": str(catalog), "end": "2025-09-03T12:55:50"}
    attempts = tmp_path / "aborts.attempts"
    spec = write_spec(
        tmp_path / "ray.json",
        catalog,
        name="ray",
        parameters={"strategy.config.num_levels": [2, 3]},
        datasets=[
            {**window, "name": "hl_btc"},
            # the worker dies outright: recorded as a failed row after one attempt, not re-run by Ray
            {**window, "name": "aborts", "overrides": {"strategy.strategy_path": "tests.sweep_support:AbortingMarketMaker",
                                                       "strategy.config_path": "tests.sweep_support:AbortingMarketMakerConfig",
                                                       "strategy.config.attempts_path": str(attempts)}},
        ],
    )
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "run_sweep.py"), str(spec), "--ray", ray_head, "--out", str(out), "--no-progress"],
        env=DRIVER_ENV,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=SWEEP_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = ResultsTable(out).load()
    runs, crashed = table[table["dataset"] == "hl_btc"], table[table["dataset"] == "aborts"]
    assert len(runs) == 2 and set(runs["status"]) == {"ok"}, runs.get("error")
    assert runs["pid"].nunique() == 2  # max_calls=1: each backtest in its own worker process
    assert (runs["fills.count"] >= 0).all() and runs["pnl.reconciliation_error"].abs().max() < 1e-6
    assert set(crashed["status"]) == {"error"} and crashed["error"].str.startswith("Ray task failed").all()
    assert len(AbortingMarketMaker.attempts(attempts)) == 2  # one start per crashing run: max_retries=0
    assert "4 runs (4 now" in done.stdout and (out / "report.html").exists()
