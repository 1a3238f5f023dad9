"""The engine's tasks on a Dask cluster: one IMP task per (arm, trial, level) with its dependencies, and notebook
sweeps, on whatever cluster a scheduler address names; the run store is a folder every worker can reach.

    export DASK_SCHEDULER_ADDRESS=tcp://10.0.0.5:8786     # Dask's own convention, or --scheduler on the CLI
    python -m lth_utils train --profile paper --set out /shared/runs
    summaries = engine.run(configs, scheduler="tcp://10.0.0.5:8786")

Each task runs on one thread with deterministic kernels, as the local engine's workers do, so a result's bits do not
depend on where it ran (on the same kind of machine). A worker lost mid-task loses nothing that was stored: the
scheduler runs the task again elsewhere (or the next call does), and the per-level lock and atomic writes keep the
store consistent. Without an address the local engine's own process pool runs everything (see engine.py for why).
"""
from __future__ import annotations


from distributed import Client, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from ..foundations.config import ConfigError
from ..lottery.imp import run_level
from ..training.loop import set_training_state
from ..training.workers import call

ENV = "DASK_SCHEDULER_ADDRESS"  # read by engine.run and by Dask itself
CONNECT_TIMEOUT_S = 5


def connect(scheduler: str, timeout: float = CONNECT_TIMEOUT_S):
    """A Client of the scheduler at `scheduler`; an error naming the address when none answers within `timeout`."""
    try:
        client = Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError("scheduler", scheduler, f"the address of a running Dask scheduler such as "
                          f"tcp://127.0.0.1:8786 (none answered within {timeout:g} s: {type(exc).__name__}); "
                          f"unset ${ENV} to run on this machine") from None
    client.register_plugin(_OneThread(), name="lth-one-thread")
    return client


class _OneThread(WorkerPlugin):
    """Worker plugin: one torch thread and deterministic kernels from the start, before any task touches torch."""

    def setup(self, worker=None):
        set_training_state(1, True)


def _run_level(cfg, trial, level, *dependencies):
    """A task: its dependencies' results are arguments only so that Dask runs it after them."""
    set_training_state(1, True)
    return run_level(cfg, trial, level)


def run_tasks(client, pending: list, key, dependencies, bar, budget) -> None:
    """Submit `pending` tasks (in dependency order) with their pending dependencies as inputs, and wait for all; the
    bar advances by each task's iteration budget when it finishes. A task whose worker dies is retried elsewhere."""
    futures = {}
    for task in pending:
        inputs = [futures[key(d)] for d in dependencies(*task) if key(d) in futures]
        cfg, trial, level = task
        futures[key(task)] = client.submit(_run_level, cfg, trial, level, *inputs, pure=False, retries=2,
                                           key=f"imp-{cfg.root.name}-t{trial}-l{level}")
    tasks = {f.key: t for t, f in zip(pending, futures.values())}
    for future in as_completed(list(futures.values()), loop=client.loop):
        future.result()  # re-raise a task's error here
        bar.update(budget(tasks[future.key]))


def local_map(fn, arg_tuples: list[tuple], workers: int) -> list:
    """[fn(*args) ...] on an embedded Dask LocalCluster of `workers` single-thread worker processes, started and
    stopped here: the measured alternative to the engine's own process pool (benchmarks/bench.py, row 3b)."""
    from distributed import LocalCluster
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as local, \
            Client(local, set_as_default=False) as client:
        client.register_plugin(_OneThread(), name="lth-one-thread")
        return client.gather(client.map(call, [(fn, args) for args in arg_tuples], pure=False))

