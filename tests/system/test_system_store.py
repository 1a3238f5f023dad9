"""The run store as a thing to trust: identity, provenance, concurrent use, and the defects of issue 8."""
from __future__ import annotations

import os
import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path

import torch

from lth_utils.foundations.files import torch_load
from lth_utils.foundations.store import level_dir

from conftest import imp_command


def test_two_processes_on_one_store_train_each_level_once_and_agree_with_one_process(tiny, tmp_path):
    shared = replace(tiny, iterations=150, eval_every=50, levels=2, trials=2)
    alone = replace(shared, out=str(tmp_path / "alone"))
    trace = tmp_path / "trace.txt"
    env = {**os.environ, "LTH_TRACE": str(trace)}
    first = subprocess.Popen(imp_command(shared), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    second = subprocess.Popen(imp_command(shared), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for process in (first, second):
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()[-2000:]
    trained = Counter(tuple(line.split()[1:4]) for line in trace.read_text().splitlines())
    assert len(trained) == 2 * 3 and set(trained.values()) == {1}, trained
    subprocess.run(imp_command(alone), check=True, capture_output=True)
    for trial in range(2):
        for level in range(3):
            a = torch_load(level_dir(shared.root, trial, level) / "weights_final.pt")
            b = torch_load(level_dir(alone.root, trial, level) / "weights_final.pt")
            assert all(torch.equal(a[k], b[k]) for k in a)
    assert not list(Path(shared.out).rglob("*.tmp"))
