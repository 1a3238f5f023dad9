"""The benchmark still runs (tiny configuration; CI makes no timing assertions)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readmes_engine_speed_block_is_what_the_bench_writes_from_its_committed_record():
    """The README's engine-speed table and targets are bench.py's rendering of benchmarks/results/engine-speed-2core
    .json, not typed by hand (`bench.py --engine-speed --readme README.md` writes both)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    record = json.loads((ROOT / "benchmarks" / "results" / "engine-speed-2core.json").read_text())
    block = bench.engine_speed_markdown(record)
    readme = (ROOT / "README.md").read_text()
    assert f"{bench.ENGINE_START}\n{block}\n{bench.ENGINE_END}" in readme
    assert block.count("\n| LeNet-") == len(record["levels"]) and "(target >= 3x)" in block


def test_the_lenet5_floor_counts_the_networks_multiply_adds():
    """The floor line's FLOPs, against LeNet-5's layers counted by hand: 6@28x28 outputs of 25 products, 16@10x10 of
    150, then 400x120, 120x84 and 84x10; a step is the forward pass, every weight gradient and every input gradient
    but the first layer's, at batch 60."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench
        from lth_utils import models
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    macs = bench.forward_macs(models.build_model("lenet5", seed=0))
    assert macs == {"conv1": 6 * 28 * 28 * 25, "conv2": 16 * 10 * 10 * 150, "fc1": 400 * 120, "fc2": 120 * 84,
                    "fc3": 84 * 10}
    record = json.loads((ROOT / "benchmarks" / "results" / "engine-speed-2core.json").read_text())
    forward = sum(macs.values())
    assert round(record["lenet5_floor"]["step_mflop"] * 1e6) == 2 * 60 * (2 * forward + forward - macs["conv1"])


def test_the_paper_flops_scale_each_layer_by_its_density():
    """The evaluation floor's FLOPs: LeNet-300-100 with half of fc1 kept and fc2 dense; a step as above, evaluation
    5,000 images every 100 of the 50,000 iterations, at the end, and the 10,000 test images twice (505 passes)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench
        import torch
        from lth_utils import models
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    model = models.build_model("lenet_300_100", seed=0)
    first = models.prunable_names(model)[0]
    half = torch.zeros_like(model.get_parameter(first), dtype=torch.bool)
    half.view(-1)[::2] = True
    step, evaluation = bench.paper_flops(model, {first: half}, 5000)
    macs = {"fc1": 784 * 300 // 2, "fc2": 300 * 100, "fc3": 100 * 10}
    assert step == 2 * 60 * (2 * sum(macs.values()) + macs["fc2"] + macs["fc3"])
    assert evaluation == 2 * 505 * 5000 / 50_000 * sum(macs.values())


def test_the_sparse_floor_counts_the_first_layers_survivors():
    """The sparse-step floor line: the survivors are the first layer's density times its 784 x 300 weights, the
    kernels' rate is two multiply-adds (forward and SDDMM) per survivor and example at batch 60 over their time, the
    rest is the step without them, and 2x leaves them half the dense step minus the rest (plus, were it free, the
    second layer's dense products)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    record = json.loads((ROOT / "benchmarks" / "results" / "engine-speed-2core.json").read_text())
    assert record["sparse_floor"] and all(f["first_layer_density"] <= 0.07 for f in record["sparse_floor"])
    for f in record["sparse_floor"]:
        assert f["survivors"] == round(f["first_layer_density"] * 784 * 300)
        assert abs(f["kernels_gflops"] - 4 * 60 * f["survivors"] / 1e6 / f["kernels_ms"]) < 1e-9
        assert abs(f["rest_ms"] + f["kernels_ms"] - f["step_ms"]) < 1e-9
        assert abs(f["kernels_budget_ms"] - (f["dense_step_ms"] / 2 - f["rest_ms"])) < 1e-9
        if f["kernels_budget_ms"] > 0:
            assert abs(f["kernels_speedup_needed"] - f["kernels_ms"] / f["kernels_budget_ms"]) < 1e-9
            assert abs(f["kernels_speedup_needed_second_free"]
                       - f["kernels_ms"] / (f["kernels_budget_ms"] + f["second_layer_ms"])) < 1e-9
    free = {**record["sparse_floor"][0], "kernels_budget_ms": -0.1, "kernels_speedup_needed": None}
    assert "free kernels would not reach 2x" in bench.sparse_floor_words(free)
