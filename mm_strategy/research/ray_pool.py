"""Run backtests as Ray tasks, past one machine: the same worker function as the local pool, one task per worker.

``max_calls=1`` makes Ray retire a worker process after one task, so every backtest gets a fresh process (one
NautilusTrader node per process) on whichever node has a free CPU. Ray is an optional extra (``pip install
.[ray]``); every node needs this package installed and must see the catalog at the same absolute path (a shared
filesystem). Rows come back to the driver, which alone writes the results table. Tasks are not retried
(``max_retries=0``): a backtest that fails returns an error row, and one whose worker process dies (a native crash,
the OOM killer, its node lost) becomes an error row once, as in the local pool, rather than being run again.

Authentication is Ray's: ``--ray auto`` picks up the token of a cluster started on this machine; with an explicit
address to a cluster that uses token authentication, set ``RAY_AUTH_MODE=token`` (and the token) as Ray's error
message explains.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Iterable

from mm_strategy.research.plan import RunTask
from mm_strategy.research.runner import execute_run
from mm_strategy.research.runner import failure_columns
from mm_strategy.research.runner import task_columns

RAY_MISSING = "--ray needs Ray, an optional extra: pip install '.[ray]' (then start or reach a cluster)"
LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray keeps every process of this machine on 127.0.0.1
IN_FLIGHT_PER_CPU = 2  # enough queued tasks to keep every CPU busy without flooding the scheduler


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached; raised before any backtest starts."""


def require_ray(address: str):
    """The ``ray`` module, imported for the cluster at ``address``, or :class:`RayUnavailable` saying how to install it.

    Every import of Ray in the driver goes through here: Ray reads the loopback switch once, when it is first
    imported, so the switch is set before that import (a driver that imported Ray first registered under the
    machine's interface address and hung trying to reach a loopback head over it).
    """
    if _is_loopback(address):
        # A head on loopback gets a driver on loopback too: left to itself Ray registers every process under the
        # machine's own interface address and they talk over it.
        os.environ.setdefault(LOOPBACK_SWITCH, "0")
    try:
        import ray
    except ImportError:
        raise RayUnavailable(RAY_MISSING) from None
    return ray


def _is_loopback(address: str) -> bool:
    return address.removeprefix("ray://").rpartition(":")[0] in ("127.0.0.1", "localhost")


def run_ray(tasks: Iterable[RunTask], address: str, on_row: Callable[[dict], None]) -> None:
    """Run every task on the Ray cluster at ``address`` (``auto``, ``host:port`` or ``ray://host:port``)."""
    ray = require_ray(address)
    node_ip = {"_node_ip_address": "127.0.0.1"} if _is_loopback(address) else {}
    try:
        ray.init(address=address, log_to_driver=False, **node_ip)
    except ConnectionError as exc:
        raise RayUnavailable(f"--ray {address}: cannot reach the cluster ({exc})") from None
    # max_retries=0: a run whose worker dies is recorded once as a failed row (Ray would start it up to 4 times)
    remote_run = ray.remote(num_cpus=1, max_calls=1, max_retries=0)(execute_run)
    in_flight = max(1, int(ray.cluster_resources().get("CPU", 1))) * IN_FLIGHT_PER_CPU
    queue = iter(tasks)
    pending: dict = {}
    try:
        for task in queue:
            pending[remote_run.remote(task)] = task
            if len(pending) == in_flight:
                break
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                task = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    summary = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    row = task_columns(task) | failure_columns(f"Ray task failed: {type(exc).__name__}: {summary}", str(exc))
                on_row(row)
                following = next(queue, None)
                if following is not None:
                    pending[remote_run.remote(following)] = following
    finally:
        for ref in pending:  # interrupted: cancel this sweep's tasks only
            ray.cancel(ref, force=True)
        ray.shutdown()
