"""Worker processes never outlive the run that started them, and an interrupted run resumes bit-identical."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import torch

from lth_utils.foundations.files import torch_load
from lth_utils.lottery.imp import IMPConfig
from lth_utils.foundations.store import PAUSE_ENV, level_dir

from conftest import wait_for_pause

pytestmark = pytest.mark.xdist_group("processes")  # one pytest-xdist worker, so `clean` is trained once


def _config(data_root, out) -> IMPConfig:
    return IMPConfig(train_subset=600, iterations=30, eval_every=10, levels=2, trials=2, workers=2,
                     data_root=str(data_root), out=str(out))


def _command(cfg) -> list[str]:
    """The `imp` command line that trains `cfg`, as from a shell."""
    fields = ("train_subset", "iterations", "eval_every", "levels", "trials", "workers", "data_root", "out")
    flags = [text for name in fields for text in (f"--{name.replace('_', '-')}", str(getattr(cfg, name)))]
    return [sys.executable, "-m", "lth_utils", "imp", "--quiet", *flags]


@pytest.fixture(scope="session")  # session: pytest-xdist may run another module's tests between this module's
def clean(data_root, tmp_path_factory) -> IMPConfig:
    """The same run, never interrupted: what every resumed run must equal to the bit (trained once)."""
    cfg = _config(data_root, tmp_path_factory.mktemp("clean"))
    subprocess.run(_command(cfg), check=True, capture_output=True)
    return cfg


def _processes_of(marker: str) -> list[int]:
    """Pids of live processes whose environment carries `marker` (the run, its forkserver and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if f"LTH_TEST_RUN={marker}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    if state != "Z":  # a zombie has exited; it only waits to be reaped
                        found.append(int(entry.name))
            except OSError:
                continue
    return found


def _paused(command: list[str], marker: str, paused: Path, **popen) -> subprocess.Popen:
    """Start `command` and return once a worker waits half-way through writing trial 0's level 1 (store.pause_point):
    the interrupt lands at that point on any machine, however loaded."""
    env = {**os.environ, "LTH_TEST_RUN": marker, PAUSE_ENV: f"0,1,{paused}"}
    # as from a shell: default Ctrl-C handling, whatever an earlier test left in this process (children inherit SIG_IGN)
    popen.setdefault("stderr", subprocess.DEVNULL)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **popen)
    wait_for_pause(paused, process.poll)
    return process


def _assert_gone_within(marker: str, seconds: float) -> None:
    deadline = time.time() + seconds
    while _processes_of(marker) and time.time() < deadline:
        time.sleep(0.1)
    assert not _processes_of(marker), f"processes left behind: {_processes_of(marker)}"


def _assert_resumes_bit_identical(cfg, clean) -> None:
    half = level_dir(cfg.root, 0, 1)
    assert (half / "mask.pt").exists() and not (half / "result.json").exists(), "not interrupted half-way"
    subprocess.run(_command(cfg), check=True, capture_output=True)
    for trial in range(2):
        for level in range(3):
            a = torch_load(level_dir(cfg.root, trial, level) / "weights_final.pt")
            b = torch_load(level_dir(clean.root, trial, level) / "weights_final.pt")
            assert all(torch.equal(a[k], b[k]) for k in a), (trial, level)
    assert not list(Path(cfg.out).rglob("*.tmp")), "a temporary file was left behind"


def test_workers_exit_when_the_run_is_killed_with_sigkill_and_the_rerun_resumes(data_root, clean, tmp_path):
    cfg = _config(data_root, tmp_path / "killed")
    marker = uuid.uuid4().hex
    process = _paused(_command(cfg), marker, tmp_path / "paused")
    assert len(_processes_of(marker)) >= 3, "expected the run, its forkserver and its workers"
    process.kill()
    process.wait()
    _assert_gone_within(marker, 10)
    _assert_resumes_bit_identical(cfg, clean)


def test_ctrl_c_stops_every_worker_with_a_short_message_and_the_rerun_resumes(data_root, clean, tmp_path):
    cfg = _config(data_root, tmp_path / "ctrlc")
    marker = uuid.uuid4().hex
    process = _paused(_command(cfg), marker, tmp_path / "paused", start_new_session=True, stderr=subprocess.PIPE)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    _, err = process.communicate(timeout=10)
    assert process.returncode == 130
    assert "interrupted" in err.decode() and "Traceback" not in err.decode(), err.decode()[-1500:]
    _assert_gone_within(marker, 10)
    _assert_resumes_bit_identical(cfg, clean)


def test_killing_papermill_leaves_no_kernel_or_worker_training_on(data_root, tmp_path):
    marker = uuid.uuid4().hex
    command = [sys.executable, "-m", "lth_utils", "notebooks", "--profile", "smoke", "--only", "03",
               "--output-dir", str(tmp_path / "out"), "--set", "out", str(tmp_path / "runs"),
               "--set", "figures", str(tmp_path / "figures"), "--set", "data_root", str(data_root)]
    process = _paused(command, marker, tmp_path / "paused")  # a worker of the kernel waits in a level 1
    assert len(_processes_of(marker)) >= 4, "expected papermill, the kernel, its forkserver and workers"
    process.kill()
    process.wait()
    _assert_gone_within(marker, 10)


def test_workers_are_spawned_where_there_is_no_forkserver(monkeypatch):
    import multiprocessing
    from lth_utils.training import workers
    assert workers.pool_context().get_start_method() == "forkserver"  # Linux, macOS
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])  # as on Windows
    assert workers.pool_context().get_start_method() == "spawn"
