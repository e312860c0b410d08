"""Run backtests on this machine: a fresh process per run, ``workers`` at a time.

Each run gets its own ``multiprocessing`` process (NautilusTrader supports one node per process), forked from a
``forkserver`` that has already imported NautilusTrader and our package: a fresh process then costs ~20 ms
instead of the ~1.5 s of a spawned interpreter re-importing everything, which on short windows is longer than the
backtest itself. The forkserver never builds a node, so every child starts as clean as a spawned one
(``tests/test_sweep_run.py`` checks a forked run reproduces a spawned run exactly).

Why one ``Process`` per run rather than a pool: a worker that dies (a segfault, the OOM killer) is then blamed on
exactly its own run, recorded as that run's error, and the sweep goes on; a broken pool would fail every run in
flight. And an interrupt can terminate exactly the processes this sweep started.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mm_strategy.research.plan import RunTask
from mm_strategy.research.runner import execute_run
from mm_strategy.research.runner import failure_columns
from mm_strategy.research.runner import log_excerpt
from mm_strategy.research.runner import new_log_file
from mm_strategy.research.runner import task_columns

# The strategy module too: NautilusTrader imports it when it builds the node, ~45 ms that every forked run paid again.
PRELOAD = ["mm_strategy.research.runner", "mm_strategy.strategy"]
START_METHODS = ("forkserver", "spawn")


@dataclass
class _Active:
    task: RunTask
    process: multiprocessing.process.BaseProcess
    receiver: multiprocessing.connection.Connection
    log: Path  # the child's engine log: read here when the child dies without a row

    def close(self) -> None:
        self.process.join()
        self.receiver.close()
        self.log.unlink(missing_ok=True)


def run_local(
    tasks: Iterable[RunTask],
    workers: int,
    on_row: Callable[[dict], None],
    start_method: str = "forkserver",
) -> None:
    """Run every task, calling ``on_row`` (in this process) with each row as its run finishes."""
    if workers < 1:
        raise ValueError(f"workers: must be >= 1, got {workers}")
    if start_method not in START_METHODS:
        raise ValueError(f"start_method: one of {', '.join(START_METHODS)}, got {start_method!r}")
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        context.set_forkserver_preload(PRELOAD)
    queue = iter(tasks)
    active: dict[multiprocessing.connection.Connection, _Active] = {}
    try:
        for task in queue:
            run = _start(context, task)
            active[run.receiver] = run
            if len(active) == workers:
                break
        while active:
            for receiver in multiprocessing.connection.wait(list(active)):
                run = active.pop(receiver)
                on_row(_finish(run))
                task = next(queue, None)
                if task is not None:
                    started = _start(context, task)
                    active[started.receiver] = started
    finally:
        for run in active.values():  # interrupted: stop what this sweep started, nothing else
            run.process.terminate()
            run.close()


def _start(context, task: RunTask) -> _Active:
    receiver, sender = context.Pipe(duplex=False)
    log = new_log_file()
    process = context.Process(target=_child, args=(task, str(log), sender), name=f"sweep-{task.run_id}", daemon=True)
    try:
        process.start()
    except BaseException:
        receiver.close()
        log.unlink(missing_ok=True)
        raise
    finally:
        sender.close()  # the child holds the only writer: its death shows here as end-of-file
    return _Active(task, process, receiver, log)


def _child(task: RunTask, log_path: str, sender: multiprocessing.connection.Connection) -> None:
    sender.send(execute_run(task, log_path))
    sender.close()


def _finish(run: _Active) -> dict:
    try:
        row = run.receiver.recv()
    except EOFError:
        run.process.join()
        row = task_columns(run.task) | {"pid": run.process.pid, "log_excerpt": log_excerpt(run.log)} | failure_columns(
            f"worker process died (exit code {run.process.exitcode}) before returning a result", ""
        )
    run.close()
    return row
