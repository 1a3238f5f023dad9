"""Shared fixtures: the real MNIST (fetched by `make test` before pytest runs) and a tiny, fast IMP config."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch

from lth_utils import data
from lth_utils.imp import IMPConfig

DATA_ROOT = Path(os.environ.get("LTH_DATA_ROOT", Path(__file__).resolve().parents[1] / "data"))

# Test tiers (pyproject.toml registers the markers). `make test-fast` runs unit and integration; `make test` all.
#   unit         pure functions and small tensors, no training on MNIST
#   integration  the library on real MNIST: tiny IMP runs, stores, import/export (the default)
#   system       processes, signals, Dask, papermill, the browser, the benchmark: minutes each
#   repository   the committed artefacts agree with the code (README tables, handouts, committed stores)
UNIT_FILES = {"test_masks_pruning.py", "test_models.py", "test_verdicts.py", "test_comparison.py", "test_scorers.py",
              "test_protocol.py", "test_layout.py"}
TIERS = {
    "system": [
        "test_processes.py", "test_benchmark.py", "test_cluster.py", "test_browser.py",
        "test_portable.py::test_export_then_import_gives_back_every_file_to_the_bit",
        "test_conv.py::test_smoke_conv2_runs_imp_on_cifar_format_files_with_the_papers_rates",
        "test_store.py::test_two_processes_on_one_store_train_each_level_once_and_agree_with_one_process",
    ],
    "repository": [
        "test_setup.py", "test_notebook_pairs.py",
        "test_benchmark.py::test_the_readmes_engine_speed_block_is_what_the_bench_writes_from_its_committed_record",
        "test_portable.py::test_the_committed_stores_import_without_training",
        "test_comparison.py::test_readme_table_is_the_one_computed_from_the_committed_results",
        "test_costs.py::test_the_committed_standard_store_holds_every_level_the_notebooks_plan",
        "test_costs.py::test_the_readmes_cost_section_is_what_the_code_computes_from_the_committed_notebooks",
        "test_notebook_support.py::test_every_committed_notebook_has_an_html_handout_rendered_from_its_current_outputs",
        "test_notebook_support.py::test_every_committed_notebook_was_executed_with_the_code_it_shows",
        "test_store.py::test_fields_added_later_leave_the_committed_paper_runs_their_identity",
        "test_verdicts.py::test_the_readmes_cross_machine_table_is_what_the_code_computes_from_the_committed_lines",
        "test_protocol.py::test_the_standard_handouts_state_the_bias_measured_on_the_committed_dense_curves",
        "test_protocol.py::test_every_notebook_defaults_to_its_handout_profile_and_prints_its_protocol",
        "test_protocol.py::test_the_readmes_protocol_table_is_what_the_code_computes",
    ],
}


def tier_of(nodeid: str) -> str:
    """The tier of a test by its id ('tests/test_x.py::test_y[param]'): a listed file or test, else its file's."""
    path, _, name = nodeid.partition("::")
    file = Path(path).name
    for tier, entries in TIERS.items():  # a listed test first, then a listed file
        if f"{file}::{name.split('[')[0]}" in entries:
            return tier
    for tier, entries in TIERS.items():
        if file in entries:
            return tier
    return "unit" if file in UNIT_FILES else "integration"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).parent.name == "tests":  # not the executed notebooks nbval collects
            item.add_marker(getattr(pytest.mark, tier_of(item.nodeid)))


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
    """A few seconds of real IMP on MNIST: 600 training images, 30 iterations, 2 trials, 2 levels; the test split is
    evaluated at the end of each level only (the same early-stopping results, half the time of a test curve)."""
    return IMPConfig(train_subset=600, iterations=30, eval_every=10, levels=2, trials=2, data_root=str(data_root),
                     out=str(tmp_path / "runs"), workers=1, test_curve_levels="none")


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
