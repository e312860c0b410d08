"""One backtest in a worker process, returned as one results-table row; this is the only code workers run.

NautilusTrader supports one node per process, so the executors give every run a fresh process and this function
builds exactly one node. It never raises for a failing backtest: the error becomes part of the row (with the tail
of the engine's log, where NautilusTrader reports what went wrong) and the sweep goes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from mm_strategy.backtest import DataRange
from mm_strategy.backtest import run_backtest
from mm_strategy.node_config import load_venue_config_dict
from mm_strategy.reporting.metrics import analyse
from mm_strategy.research.metrics import run_metrics
from mm_strategy.research.plan import RunTask
from mm_strategy.research.provenance import CATALOG_FINGERPRINT
from mm_strategy.research.provenance import CODE_VERSION
from mm_strategy.research.provenance import source_stamp
from mm_strategy.research.provenance import source_version
from mm_strategy.session_report import session_inputs

PARAM_PREFIX = "param."
LOG_EXCERPT_CHARS = 4000
STATUS_OK = "ok"
STATUS_ERROR = "error"


def execute_run(task: RunTask, log_path: str | None = None) -> dict:
    """Run one backtest and return its row. The engine's log goes to ``log_path`` (the local pool names one so it
    can still read the log when the process dies) or to a temporary file of its own."""
    started = time.perf_counter()
    row = task_columns(task) | {"host": socket.gethostname(), "pid": os.getpid(), CODE_VERSION: ran_version(task)}
    log = Path(log_path) if log_path is not None else new_log_file()
    with _stderr_to(log):
        try:
            row.update(_backtest(task))
            row["status"] = STATUS_OK
        except Exception as exc:  # any failure of one run is recorded, never fatal to the sweep
            row.update(failure_columns(f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    if row["status"] == STATUS_ERROR:
        row["log_excerpt"] = log_excerpt(log)
    if log_path is None:
        log.unlink(missing_ok=True)
    row["run_wall_s"] = time.perf_counter() - started
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    return row


def ran_version(task: RunTask) -> str:
    """The code version this run executes, checked in the worker: the plan's is from when the sweep started, and the
    worker imports the strategy and its models from disk now, so an edit of them during the sweep would run under
    the old label and a resumed sweep would reuse the row. Only the package sources a worker imports count (an edit
    of a test or a document changes nothing that runs, and a Ray node without git hashes the same files): when they
    differ from the plan's, the run mixed the code the forkserver preloaded at the start with files read after the
    edit, recorded as ``plan>src.<now>``, which equals no version, so the next invocation runs it again. Sources
    still carrying the plan's stamp (names, sizes, times) are the plan's, and are not read again."""
    if source_stamp() == task.source_stamp:
        return task.code_version
    now = source_version()
    return task.code_version if now == task.source_version else f"{task.code_version}>{now}"


def new_log_file() -> Path:
    handle, name = tempfile.mkstemp(prefix="sweep-run-", suffix=".log")
    os.close(handle)
    return Path(name)


def log_excerpt(path: Path) -> str:
    """The engine log, or its start and end when long: a Rust panic names its cause first, a Python error last."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    if len(text) <= LOG_EXCERPT_CHARS:
        return text
    half = LOG_EXCERPT_CHARS // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"


def task_columns(task: RunTask) -> dict:
    """The identifying columns of a run: the same for a finished run and for one that never produced a row."""
    return {
        "run_id": task.run_id,
        "config": task.config,
        "params_id": task.params_id,
        "params_json": json.dumps(task.params, sort_keys=True),
        **{f"{PARAM_PREFIX}{path}": value for path, value in task.params.items()},
        "dataset": task.dataset,
        "catalog": task.catalog,
        "window": task.window,
        "window_start": _iso(task.start_ns),
        "window_end": _iso(task.end_ns),
        "priors_source": task.priors_source,
        "priors_json": json.dumps(task.document.get("priors"), sort_keys=True),
        "priors_note": task.priors_note,
        CODE_VERSION: task.code_version,
        CATALOG_FINGERPRINT: task.catalog_fingerprint,
    }


def failure_columns(error: str, details: str) -> dict:
    return {"status": STATUS_ERROR, "error": error, "traceback": details}


def _backtest(task: RunTask) -> dict:
    settings = load_venue_config_dict(task.document, task.source)
    data_range = DataRange(start=pd.Timestamp(task.start_ns, unit="ns", tz="UTC"), end=pd.Timestamp(task.end_ns, unit="ns", tz="UTC"))
    outcome = run_backtest(settings, Path(task.catalog), data_range)
    try:
        engine = outcome.engine
        strategy = engine.trader.strategies()[0]
        inputs = session_inputs(strategy, engine.portfolio, engine.cache, settings.backtest.starting_balance_usd, {})
        columns = run_metrics(analyse(inputs))
        columns["backtest_wall_s"] = outcome.wall_s
        columns["iterations"] = float(outcome.result.iterations)
        return columns
    finally:
        outcome.node.dispose()


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Send file descriptor 2 (where NautilusTrader's Rust logger writes, panics included) to ``path``.

    The worker owns its process, so swapping the descriptor affects no one else; it keeps engine logs from tearing
    the driver's progress bar and keeps them for the row of a failed run.
    """
    handle = os.open(path, os.O_WRONLY | os.O_APPEND)
    saved = os.dup(2)
    os.dup2(handle, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(handle)


def _iso(ts_ns: int) -> str:
    return pd.Timestamp(ts_ns, unit="ns", tz="UTC").isoformat()
