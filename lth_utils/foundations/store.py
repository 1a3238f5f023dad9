"""The run store: one folder per config, named by a readable prefix plus the config hash.

    runs/ticket_lenet_300_100_mnist-1a2b3c4d5e/
        config.json                       every hyperparameter, torch version, git commit
        summary.csv                       one row per (trial, level)
        trial_0/rewind.pt                 weights at the rewind iteration k (late rewinding only)
        trial_0/level_0/mask.pt           bool masks {name: tensor}
                        weights_start.pt  state dict the level starts from (masked)
                        weights_final.pt  state dict after training
                        metrics.csv       iteration, split, loss, accuracy
                        result.json       the level's summary row and its provenance (device, CPU or GPU
                                          model, torch, code commit); written last: its presence means "done"
                        .lock             held (flock) by the process training the level

Every file is written to a temporary name and renamed into place (files.py), so a killed run never leaves a
half-written file, and a level without result.json is simply run again. A level is trained under its lock: a second
process that wants it (two notebooks, two CLI runs on one store) waits, then reads the result. The operating system
releases a dead process's lock, so a killed run never leaves a stale one.
"""
from __future__ import annotations

import contextlib
import csv
import fcntl
import functools
import io
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Iterator

import torch

from .config import ConfigError, config_hash, identity, to_dict
from .files import atomic_write_text

SUMMARY_COLUMNS = ["trial", "level", "density", "remaining", "early_stop_iteration", "val_loss_at_early_stop",
                   "test_acc_at_early_stop", "final_test_acc", "seconds"]
METRIC_COLUMNS = ["iteration", "split", "loss", "accuracy"]
# A level's stand-in trained weights, retrained on another CPU model from its stored inputs where an imported store
# lacks the originals (portable.retrain_weights with `here`), and their own result row and provenance
STAND_IN, RETRAINED = "weights_retrained.pt", "retrained.json"


def run_dir(cfg, prefix: str) -> Path:
    return Path(cfg.out) / f"{prefix}-{config_hash(cfg)}"


def level_dir(root: Path, trial: int, level: int) -> Path:
    return root / f"trial_{trial}" / f"level_{level}"


def folder_number(folder: Path, prefix: str) -> int:
    """The number in a store folder's name: folder_number(Path("runs/x/trial_3"), "trial") == 3 (level_dir's names)."""
    name = Path(folder).name
    if not name.startswith(f"{prefix}_") or not name[len(prefix) + 1:].isdigit():
        raise ValueError(f"{folder}: not a {prefix}_<number> folder of a run store")
    return int(name[len(prefix) + 1:])


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def git_commit() -> str:
    return _git("rev-parse", "HEAD") or "unknown"


@functools.cache
def _code_version() -> tuple[str, bool]:
    return git_commit(), bool(_git("status", "--porcelain", "--", str(Path(__file__).parents[1])))  # the package


def code_version() -> dict:
    """{"commit", "dirty"}: the checkout's commit, and whether the package's own files differed from it (asked of
    git once per process)."""
    commit, dirty = _code_version()
    return {"commit": commit, "dirty": dirty}


def files_dirty(paths) -> bool:
    """Whether any of `paths` (files of this checkout) differs from its commit (git status; False outside a
    checkout): a notebook's provenance asks this of its own source, which the package's check does not cover."""
    paths = [str(path) for path in paths]
    return bool(paths) and bool(_git("status", "--porcelain", "--", *paths))


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_type(device: str) -> str:
    """'cpu' or 'cuda' (cuda:0 and cuda:1 are one type)."""
    return device.split(":")[0]


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return cpu_name()


def recorded_device(row: dict) -> str:
    """The device model a stored level's row says it was computed on ('' where it has no provenance)."""
    return (row.get("provenance") or {}).get("device_name", "")


def config_text(record: dict) -> str:
    """config.json's text for a record (write_config's layout; export writes the same without machine paths)."""
    return json.dumps(record, indent=2, default=str) + "\n"


def provenance(device: str, schema: int, kernels: int = 1) -> dict:
    """Where and with what a level was computed; stored in every result.json (`kernels`: the engine's kernel
    version, lth_utils.kernels; on a CPU, `cpu_capability`: the instruction set torch's kernels use, 'AVX2' or
    'AVX512', which the model name alone does not tell: two AMD EPYC generations train to different bits)."""
    row = {"device_type": device_type(device), "device_name": device_name(device), "torch": torch.__version__,
           "python": platform.python_version(), "schema": schema, "kernels": kernels, **code_version()}
    if device_type(device) == "cpu":
        row["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return row


def machine_row(device: str) -> dict:
    """This machine's device model as a stored row records it (for `machine` and `same_machine`)."""
    recorded = {"device_type": device_type(device), "device_name": device_name(device)}
    if device_type(device) == "cpu":
        recorded["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return {"provenance": recorded}


def this_machine(device: str) -> str:
    """This machine's device model as `machine` words a stored row's."""
    return machine(machine_row(device))


def machine(row: dict) -> str:
    """A stored row's device model in words, with its CPU instruction set where recorded: 'AMD EPYC (AVX2)'."""
    recorded = row.get("provenance") or {}
    capability = recorded.get("cpu_capability")
    return f"{recorded.get('device_name', 'an unrecorded machine')}" + (f" ({capability})" if capability else "")


def same_machine(row: dict, other: dict) -> bool | None:
    """Whether two stored rows were computed on one device model, by their provenance: False where the model names
    differ or both CPUs record different instruction sets, True where the names agree and so do the instruction sets
    (or neither is a CPU), None where one CPU row predates `cpu_capability`: its name alone does not tell."""
    mine, theirs = row.get("provenance") or {}, other.get("provenance") or {}
    if mine.get("device_name", "") != theirs.get("device_name", ""):
        return False
    if "cpu" not in (mine.get("device_type"), theirs.get("device_type")):
        return True
    if "cpu_capability" not in mine or "cpu_capability" not in theirs:
        return None
    return mine["cpu_capability"] == theirs["cpu_capability"]


def recorded_kernels(row: dict) -> int:
    """The kernel version a stored level's row was computed with (1 for levels recorded before versions were)."""
    return int((row.get("provenance") or {}).get("kernels", 1))


class ImportMismatch(RuntimeError):
    """A compact store's file differs from its recorded digest, or lacks what its records say it holds. The message
    names the run, trial, level and file, what that means and what to do (the CLI prints it and exits 2)."""

    def __init__(self, run: Path, trial: int | None, level: int | None, file: str, what: str, advice: str = ""):
        self.run, self.trial, self.level, self.file = Path(run).name, trial, level, file
        where = f"run {self.run}" + (f", trial {trial}" if trial is not None else "") + \
            (f", level {level}" if level is not None else "")
        super().__init__(f"{where}, {file}: {what}.\n{advice or MISMATCH_ADVICE}")


MISMATCH_ADVICE = ("This means the compact store is damaged (a file changed or truncated since it was exported: "
                   "`git status` / `git checkout -- results/` restores a committed one) or was written by an "
                   "incompatible version of lth_utils (export it again with this version from the run store that "
                   "trained it). The levels imported before this one are complete; nothing of this level was written. "
                   "Without the compact store, `make run IMPORT=no` trains everything here from scratch.")


class ProvenanceError(RuntimeError):
    """A stored level was computed under another device type or torch version than this run uses."""


def check_provenance(row: dict, directory: Path, device: str, foreign_ok: bool) -> None:
    """Raise ProvenanceError unless the stored `row` was computed with this device type and torch version
    (`foreign_ok` allows reading, never extending: callers that train on top of a level pass False)."""
    recorded = row.get("provenance") or {}
    ours = {"device_type": device_type(device), "torch": torch.__version__}
    differ = {k: (recorded.get(k), v) for k, v in ours.items() if recorded.get(k) != v}
    if differ and not foreign_ok:
        said = "; ".join(f"{k} {theirs!r} stored, {mine!r} here" for k, (theirs, mine) in differ.items())
        raise ProvenanceError(f"{directory} was computed under another setting ({said}). Its chain is not extended "
                              f"or read as this run's own; pass foreign_ok=True (--foreign-ok) to read it anyway, or "
                              f"use another run store (--out).")


def trace(event: str, root: Path, trial: int, level: int) -> None:
    """Append `event run trial level pid` to the file named by $LTH_TRACE, if set: which process trained what, for
    debugging concurrent use of a store (the tests use it to show that no level is trained twice)."""
    path = os.environ.get("LTH_TRACE")
    if path:
        with open(path, "a") as f:  # one short O_APPEND write per line: lines of two processes never interleave
            f.write(f"{event} {root.name} {trial} {level} {os.getpid()}\n")


PAUSE_ENV = "LTH_PAUSE_AFTER"


def pause_point(trial: int, level: int) -> None:
    """Where tests interrupt a run at a known point instead of racing a timer: with $LTH_PAUSE_AFTER set to
    'trial,level,marker', the first process to train that level (of any run) stops half-way through writing it (its
    mask and start weights written, its trained weights and result not), creates the file `marker`, writes its pid
    there and waits until it is killed or interrupted. Later trainers of the level (a resumed run) go on. Unset
    (always, outside tests), this does nothing."""
    wanted = os.environ.get(PAUSE_ENV, "").split(",", 2)
    if len(wanted) == 3 and wanted[:2] == [str(trial), str(level)]:
        try:
            with open(wanted[2], "x") as marker:
                marker.write(str(os.getpid()))
        except FileExistsError:
            return
        while True:
            time.sleep(60)


@contextlib.contextmanager
def task_lock(directory: Path) -> Iterator[None]:
    """Hold `directory/.lock` exclusively (waits while another process holds it). The holder alone writes the
    level's files, so it may sweep temporary files that a killed writer left there."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            for stale in directory.glob(".*.tmp"):
                stale.unlink(missing_ok=True)
            if directory.name == "level_0":  # rewind.pt is written by level 0's task, one folder up
                for stale in directory.parent.glob(".rewind.pt.*.tmp"):
                    stale.unlink(missing_ok=True)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_writable(out: str | Path) -> None:
    """Raise ConfigError (naming `out`) unless the run-store folder can be created and written, before any work."""
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError("out", str(out), f"a run-store folder this user can create and write "
                                           f"({exc.strerror or exc}: {exc.filename or out})") from None


def write_config(root: Path, cfg) -> None:
    """config.json: the full config plus provenance; kept as first written, so a resumed run keeps its record."""
    path = root / "config.json"
    if path.exists():
        return
    record = {"config": to_dict(cfg), "identity": identity(cfg), "hash": config_hash(cfg),
              "torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
              "git_commit": git_commit()}
    atomic_write_text(path, config_text(record))


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_result(directory: Path, row: dict) -> None:
    atomic_write_text(directory / "result.json", json.dumps(row, indent=2) + "\n")


def stored_levels(root: Path) -> list[tuple[int, int]]:
    """(trial, level) of every level of a run that has its result.json, in order."""
    found = []
    for path in root.glob("trial_*/level_*/result.json"):
        found.append((folder_number(path.parent.parent, "trial"), folder_number(path.parent, "level")))
    return sorted(found)


def trained_by_trial(root: Path) -> bool:
    """A run folder whose config is not an IMPConfig (notebook 08's supermasks): its trials hold result.json and
    metrics.csv directly, with no levels (a compact copy keeps its trials in trials.json)."""
    return json.loads((Path(root) / "config.json").read_text())["identity"]["class"] != "IMPConfig"


def read_result(directory: Path) -> dict | None:
    path = directory / "result.json"
    return json.loads(path.read_text()) if path.is_file() else None
