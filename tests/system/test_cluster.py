"""A real Dask cluster on localhost (a scheduler and two single-thread worker processes): IMP tasks run there give
the local engine's bits, a worker killed mid-task loses nothing, and an unreachable scheduler fails fast."""
from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from lth_utils.execution import engine
from lth_utils.foundations.config import ConfigError
from lth_utils.foundations.store import PAUSE_ENV

from conftest import wait_for_pause


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalhostCluster:
    """`dask scheduler` and `dask worker --nthreads 1` processes, as a user would start them on a cluster."""

    def __init__(self, workers: int = 2):
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port = self.address.rsplit(":", 1)[1]
        self.processes = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                                            "127.0.0.1", "--port", port, "--no-dashboard"], **quiet)]
        self.processes += [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", self.address,
                                             "--nthreads", "1", "--no-dashboard"], **quiet) for _ in range(workers)]
        from distributed import Client
        with Client(self.address, timeout="60s", set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)

    def stop(self):
        for p in self.processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def localhost_cluster():
    cluster = LocalhostCluster()
    yield cluster
    cluster.stop()


def _arms(cfg):
    return [cfg, dataclasses.replace(cfg, arm="reinit"), dataclasses.replace(cfg, arm="random_prune")]


def _bits(summaries):
    return [s[["trial", "level", "val_loss_at_early_stop", "test_acc_at_early_stop", "early_stop_iteration"]]
            .to_dict("records") for s in summaries.values()]


def test_imp_on_a_dask_cluster_gives_the_local_engines_bits(tiny, tmp_path, localhost_cluster):
    remote = dataclasses.replace(tiny, out=str(tmp_path / "remote"))
    on_cluster = engine.run(_arms(remote), progress=False, scheduler=localhost_cluster.address)
    local = engine.run(_arms(dataclasses.replace(tiny, out=str(tmp_path / "local"))), progress=False, workers=2)
    assert _bits(on_cluster) == _bits(local)
    import torch
    from lth_utils.results.analysis import load_weights
    a, b = load_weights(remote, 1, 2), load_weights(dataclasses.replace(tiny, out=str(tmp_path / "local")), 1, 2)
    assert all(torch.equal(a[n], b[n]) for n in a)


def test_the_environment_variable_sends_the_engine_to_the_cluster(tiny, tmp_path, localhost_cluster, monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", localhost_cluster.address)
    calls = []
    real = engine.run_level
    monkeypatch.setattr(engine, "run_level", lambda *a, **k: calls.append(a) or real(*a, **k))
    engine.run(dataclasses.replace(tiny, levels=1, trials=1), progress=False)
    assert calls == []  # nothing trained in this process: the workers did it


def test_a_worker_killed_mid_task_loses_nothing(tiny, tmp_path, monkeypatch):
    paused = tmp_path / "paused"
    monkeypatch.setenv(PAUSE_ENV, f"0,1,{paused}")  # the cluster's workers inherit it: one stops half-way in a level
    cluster = LocalhostCluster()
    try:
        killed = dataclasses.replace(tiny, out=str(tmp_path / "killed"))
        outcome = {}
        thread = threading.Thread(target=lambda: outcome.update(
            result=engine.run(_arms(killed), progress=False, scheduler=cluster.address)))
        thread.start()
        os.kill(wait_for_pause(paused), signal.SIGKILL)  # the nanny starts a new worker; the task is run again
        thread.join(timeout=300)
        assert "result" in outcome
    finally:
        cluster.stop()
    monkeypatch.delenv(PAUSE_ENV)
    local = engine.run(_arms(dataclasses.replace(killed, out=str(tmp_path / "local"))), progress=False, workers=2)
    assert _bits(outcome["result"]) == _bits(local)


def test_an_unreachable_scheduler_fails_within_seconds_naming_its_address(tiny):
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.time()
    with pytest.raises(ConfigError) as error:
        engine.run(tiny, progress=False, scheduler=address)
    assert error.value.parameter == "scheduler" and address in str(error.value)
    assert time.time() - started < 15


def test_a_notebook_sweep_on_the_cluster_matches_a_local_one_reports_failures_and_skips_finished_points(
        data_root, tmp_path, localhost_cluster):
    from lth_utils.course import sweep
    fixed = {"profile": "smoke", "data_root": str(data_root)}
    remote = sweep.run_sweep(["02"], {"seed": [0, -1]}, tmp_path / "remote", fixed,
                             scheduler=localhost_cluster.address, progress=False)
    assert remote["status"].tolist() == ["done", "failed"]
    assert "seed" in remote["error"].iloc[1]  # the notebook's own parameter check, named
    local = sweep.run_sweep(["02"], {"seed": [0]}, tmp_path / "local", fixed, workers=1, progress=False)
    assert local["status"].tolist() == ["done"]
    import pandas as pd
    a = pd.read_csv(tmp_path / "remote" / "results.csv")
    b = pd.read_csv(tmp_path / "local" / "results.csv")
    columns = ["arm", "trial", "level", "val_loss_at_early_stop", "test_acc_at_early_stop", "early_stop_iteration"]
    assert len(a) > 0 and a[columns].equals(b[columns])
    again = sweep.run_sweep(["02"], {"seed": [0]}, tmp_path / "local", fixed, workers=1, progress=False)
    assert again["status"].tolist() == ["stored"]
