"""Shared fixtures: the real MNIST (fetched by `make test` before pytest runs) and a tiny, fast IMP config."""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from lth_utils import data

from lth_utils.execution import engine

from lth_utils.lottery import imp

from lth_utils.results import portable
from lth_utils.foundations.files import torch_load
from lth_utils.lottery.imp import IMPConfig
from lth_utils.foundations.store import stored_levels

DATA_ROOT = Path(os.environ.get("LTH_DATA_ROOT", Path(__file__).resolve().parents[1] / "data"))

# Test tiers, one folder each (pyproject.toml registers the markers; `pytest -m <tier>` or `pytest tests/<tier>`).
# `make test-fast` runs unit and integration; `make test` all.
#   unit/         pure functions and small tensors, no training on MNIST
#   integration/  the library on real MNIST: tiny IMP runs, stores, import/export
#   system/       processes, signals, Dask, papermill, the browser, the benchmark: minutes each
#   repository/   the committed artefacts agree with the code (README tables, handouts, committed stores)
TIERS = ("unit", "integration", "system", "repository")


def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in TIERS:  # not the executed notebooks nbval collects
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def data_root() -> Path:
    data.fetch_mnist(DATA_ROOT)
    return DATA_ROOT


@pytest.fixture(autouse=True)
def one_thread():
    """Tests compare bits; bits depend on the thread count, so every test runs with one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_config(data_root: Path, out: Path) -> IMPConfig:
    """A few seconds of real IMP on MNIST: 600 training images, 30 iterations, 2 trials, 2 levels; the test split is
    evaluated at the end of each level only (the same early-stopping results, half the time of a test curve)."""
    return IMPConfig(train_subset=600, iterations=30, eval_every=10, levels=2, trials=2, data_root=str(data_root),
                     out=str(out), workers=1, test_curve_levels="none")


@pytest.fixture
def tiny(data_root, tmp_path) -> IMPConfig:
    """tiny_config in this test's own empty store."""
    return tiny_config(data_root, tmp_path / "runs")


@pytest.fixture(scope="session")
def tiny_store(data_root, tmp_path_factory) -> Path:
    """The tiny run trained once per test process (each pytest-xdist worker): what trained_tiny copies."""
    out = tmp_path_factory.mktemp("tiny_store")
    engine.run_imp(tiny_config(data_root, out), progress=False)
    return out


@pytest.fixture
def trained_tiny(tiny, tiny_store) -> IMPConfig:
    """`tiny` with its run already trained in its store (a copy of tiny_store), for tests that read a trained run or
    compare one with a run trained another way: the same bits as training it here (same config, same process)."""
    shutil.copytree(tiny_store, tiny.out)
    return tiny


def cifar_batch(path, labels, seed):
    """A CIFAR-10 binary batch file: one label byte and 3,072 random pixel bytes per image; returns the pixels."""
    import numpy as np
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)
    path.write_bytes(np.concatenate([np.array(labels, dtype=np.uint8)[:, None], pixels], axis=1).tobytes())
    return pixels


def wait_for_pause(marker: Path, running=lambda: None, seconds: float = 300) -> int:
    """The pid of the process that stopped at $LTH_PAUSE_AFTER's point (store.pause_point) once it has written `marker`;
    fails if `running()` returns an exit code first (the run ended or crashed) or after `seconds`."""
    deadline = time.time() + seconds
    while time.time() < deadline and running() is None:
        if marker.exists() and marker.read_text():
            return int(marker.read_text())
        time.sleep(0.05)
    raise AssertionError("the run ended or stalled before its pause point")


# Helpers shared by tests of several tiers
def tiny_configs(tiny):
    base = replace(tiny, levels=2, trials=2)
    return [base, replace(base, rate=0.5, levels=1), replace(base, rewind="7"), replace(base, rewind="none"),
            replace(base, arm="reinit"), replace(base, arm="random_prune"),
            replace(base, arm="reinit", draw=1, only_levels="2"), replace(base, arm="grasp", only_levels="2"),
            replace(base, arm="synflow", ablation="shuffle")]


def same_file(a: Path, b: Path) -> bool:
    if a.name == "config.json":  # the same but for the training machine's paths, which do not travel
        return portable.portable_config(a.read_text()) == portable.portable_config(b.read_text())
    if a.suffix == ".pt":
        x, y = torch_load(a), torch_load(b)
        return x.keys() == y.keys() and all(
            x[k].dtype == y[k].dtype and torch.equal(x[k], y[k]) and torch.equal(torch.signbit(x[k].float()),
                                                                                 torch.signbit(y[k].float()))
            for k in x)
    return a.read_bytes() == b.read_bytes()


def left_out(path: Path) -> bool:
    """Weights that export leaves out: trained weights of control arms and of a ticket's levels 1+ in trials 1+ (but
    for the last level of a trial that has not reached the run's last level), and the start weights a run without
    rewinding would take from those."""
    if path.name not in ("weights_final.pt", "weights_start.pt"):
        return False
    run, trial, level = path.parents[2], int(path.parent.parent.name[6:]), int(path.parent.name[6:])
    cfg = portable.config_of(run, run.parent)
    planned = max([cfg.levels] + [l for _, l in stored_levels(run)])
    last = max(l for t, l in stored_levels(run) if t == trial)
    if path.name == "weights_final.pt":
        return cfg.arm != "ticket" or (trial > 0 and level > 0 and not level == last < planned)
    return cfg.arm == "ticket" and cfg.rewind == "none" and trial > 0 and level >= 2


def no_training(monkeypatch):
    """Any call into training (the loop, a level's fit, a worker process, an optimiser step) fails the test."""
    from lth_utils import training

    def fail(*args, **kwargs):
        pytest.fail("import called into training")
    for module, name in ((training, "train"), (imp, "train"), (imp, "fit_level"), (imp, "replay_rewind_point"),
                         (engine, "in_worker"), (portable, "in_worker"), (torch.optim.Adam, "step"),
                         (torch.optim.SGD, "step")):
        monkeypatch.setattr(module, name, fail)


def parameters_cell(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "".join(next(c for c in cells if "parameters" in c["metadata"].get("tags", []))["source"])


def cifar_folder(root):
    """CIFAR-10's binary format with random pixels: 6,000 training images (5,000 become validation), 200 test."""
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for seed, (name, n) in enumerate([(f, 1200) for f in data.CIFAR10_TRAIN_FILES] + [("test_batch.bin", 200)]):
        cifar_batch(folder / name, rng.integers(0, 10, n), seed)


def imp_command(cfg) -> list[str]:
    return [sys.executable, "-m", "lth_utils", "imp", "--quiet", "--train-subset", "600", "--iterations", "150",
            "--eval-every", "50", "--levels", "2", "--trials", "2", "--workers", "1", "--data-root", cfg.data_root,
            "--out", cfg.out]
