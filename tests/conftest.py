"""Shared fixtures: the real MNIST (fetched by `make test` before pytest runs) and a tiny, fast IMP config."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import torch

from lth_utils import data
from lth_utils.imp import IMPConfig

DATA_ROOT = Path(os.environ.get("LTH_DATA_ROOT", Path(__file__).resolve().parents[1] / "data"))


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


@pytest.fixture
def tiny(data_root, tmp_path) -> IMPConfig:
    """A few seconds of real IMP on MNIST: 600 training images, 30 iterations, 2 trials, 2 levels."""
    return IMPConfig(train_subset=600, iterations=30, eval_every=10, levels=2, trials=2, data_root=str(data_root),
                     out=str(tmp_path / "runs"), workers=1)


def cifar_batch(path, labels, seed):
    """A CIFAR-10 binary batch file: one label byte and 3,072 random pixel bytes per image; returns the pixels."""
    import numpy as np
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)
    path.write_bytes(np.concatenate([np.array(labels, dtype=np.uint8)[:, None], pixels], axis=1).tobytes())
    return pixels


def replace(cfg, **changes):
    return dataclasses.replace(cfg, **changes)
