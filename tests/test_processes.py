"""Worker processes never outlive the run that started them, and an interrupted run resumes bit-identical."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import torch

from lth_utils.files import torch_load
from lth_utils.store import level_dir

from conftest import replace


def _command(cfg) -> list[str]:
    # long enough (~2 s a level) that the run is still training when the interrupt lands on a loaded machine
    return [sys.executable, "-m", "lth_utils", "imp", "--quiet", "--train-subset", "600", "--iterations", "1500",
            "--eval-every", "100", "--levels", "2", "--trials", "2", "--workers", "2",
            "--data-root", cfg.data_root, "--out", cfg.out]


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


def _start_and_wait_for_workers(cfg, marker: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "LTH_TEST_RUN": marker}
    # as from a shell: default Ctrl-C handling, whatever an earlier test left in this process (children inherit SIG_IGN)
    process = subprocess.Popen(_command(cfg), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **popen)
    started = level_dir(Path(cfg.root), 0, 1) / "mask.pt"  # level 1 is being trained: workers are busy
    deadline = time.time() + 120
    while not started.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None and started.exists(), "the run ended or stalled before it could be interrupted"
    assert len(_processes_of(marker)) >= 3, "expected the run, its forkserver and its workers"
    return process


def _assert_gone_within(marker: str, seconds: float) -> None:
    deadline = time.time() + seconds
    while _processes_of(marker) and time.time() < deadline:
        time.sleep(0.1)
    assert not _processes_of(marker), f"processes left behind: {_processes_of(marker)}"


def _assert_resumes_bit_identical(cfg, tmp_path) -> None:
    subprocess.run(_command(cfg), check=True, capture_output=True)
    clean = replace(cfg, out=str(tmp_path / "clean"))
    subprocess.run(_command(clean), check=True, capture_output=True)
    for trial in range(2):
        for level in range(3):
            a = torch_load(level_dir(cfg.root, trial, level) / "weights_final.pt")
            b = torch_load(level_dir(clean.root, trial, level) / "weights_final.pt")
            assert all(torch.equal(a[k], b[k]) for k in a), (trial, level)
    assert not list(Path(cfg.out).rglob("*.tmp"))


def test_workers_exit_when_the_run_is_killed_with_sigkill_and_the_rerun_resumes(tiny, tmp_path):
    cfg = replace(tiny, iterations=1500, eval_every=100, levels=2, trials=2, workers=2, out=str(tmp_path / "killed"))
    marker = uuid.uuid4().hex
    process = _start_and_wait_for_workers(cfg, marker)
    process.kill()
    process.wait()
    _assert_gone_within(marker, 10)
    _assert_resumes_bit_identical(cfg, tmp_path)


def test_ctrl_c_stops_every_worker_with_a_short_message_and_the_rerun_resumes(tiny, tmp_path):
    cfg = replace(tiny, iterations=1500, eval_every=100, levels=2, trials=2, workers=2, out=str(tmp_path / "ctrlc"))
    marker = uuid.uuid4().hex
    process = _start_and_wait_for_workers(cfg, marker, start_new_session=True)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    _, err = process.communicate(timeout=10)
    assert process.returncode == 130
    assert "interrupted" in err.decode() and "Traceback" not in err.decode(), err.decode()[-1500:]
    _assert_gone_within(marker, 10)
    _assert_resumes_bit_identical(cfg, tmp_path)


def test_killing_papermill_leaves_no_kernel_or_worker_training_on(data_root, tmp_path):
    marker = uuid.uuid4().hex
    command = [sys.executable, "-m", "lth_utils", "notebooks", "--profile", "smoke", "--only", "03",
               "--output-dir", str(tmp_path / "out"), "--set", "out", str(tmp_path / "runs"),
               "--set", "figures", str(tmp_path / "figures"), "--set", "data_root", str(data_root)]
    process = subprocess.Popen(command, env={**os.environ, "LTH_TEST_RUN": marker}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while not list((tmp_path / "runs").glob("*/trial_*/level_1/result.json")) and time.time() < deadline:
        time.sleep(0.2)
    assert process.poll() is None, "the notebook finished before it could be killed"
    assert len(_processes_of(marker)) >= 4, "expected papermill, the kernel, its forkserver and workers"
    process.kill()
    process.wait()
    _assert_gone_within(marker, 10)


def test_workers_are_spawned_where_there_is_no_forkserver(monkeypatch):
    import multiprocessing
    from lth_utils import workers
    assert workers.pool_context().get_start_method() == "forkserver"  # Linux, macOS
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])  # as on Windows
    assert workers.pool_context().get_start_method() == "spawn"
