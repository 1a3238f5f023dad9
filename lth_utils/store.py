"""The run store: one folder per config, named by a readable prefix plus the config hash.

    runs/ticket_lenet_300_100_mnist-1a2b3c4d5e/
        config.json                       every hyperparameter, torch version, git commit
        summary.csv                       one row per (trial, level)
        trial_0/rewind.pt                 weights at the rewind iteration k (late rewinding only)
        trial_0/level_0/mask.pt           bool masks {name: tensor}
                        weights_start.pt  state dict the level starts from (masked)
                        weights_final.pt  state dict after training
                        metrics.csv       iteration, split, loss, accuracy
                        result.json       the level's summary row; written last: its presence means "level done"

Every file is written to a temporary name and renamed into place (files.py), so a killed run never leaves a
half-written file, and a level without result.json is simply run again.
"""
from __future__ import annotations

import csv
import io
import json
import platform
import subprocess
from pathlib import Path

import torch

from .config import config_hash, to_dict
from .files import atomic_write_text

SUMMARY_COLUMNS = ["trial", "level", "density", "remaining", "early_stop_iteration", "val_loss_at_early_stop",
                   "test_acc_at_early_stop", "final_test_acc", "seconds"]
METRIC_COLUMNS = ["iteration", "split", "loss", "accuracy"]


def run_dir(cfg, prefix: str) -> Path:
    return Path(cfg.out) / f"{prefix}-{config_hash(cfg)}"


def level_dir(root: Path, trial: int, level: int) -> Path:
    return root / f"trial_{trial}" / f"level_{level}"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).parent).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def write_config(root: Path, cfg) -> None:
    """config.json: the full config plus provenance; kept as first written, so a resumed run keeps its record."""
    path = root / "config.json"
    if path.exists():
        return
    record = {"config": to_dict(cfg), "hash": config_hash(cfg), "torch": torch.__version__,
              "python": platform.python_version(), "machine": platform.machine(), "git_commit": git_commit()}
    atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n")


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


def read_result(directory: Path) -> dict | None:
    path = directory / "result.json"
    return json.loads(path.read_text()) if path.is_file() else None
