"""Kernel versions (lth_utils.training.kernels): what stays to the bit, what may move and by how much, and that a chain keeps
the version it started with."""
from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from lth_utils import data, models, pruning

from lth_utils.lottery import imp

from lth_utils.training import kernels

from lth_utils.pruning import masks
from lth_utils.foundations.store import level_dir, read_result, recorded_kernels, write_result
from lth_utils.training import TrainConfig, evaluate, train

# Between kernel versions 1 and 2 (measured on LeNet-300-100 at 5% and 1.8% density, 300 iterations): the final
# weights move by < 1e-3 and the test accuracy at early stop by <= 0.5 pp; the early-stopping iteration may differ
# by one evaluation where two validation losses are within the rounding.
WEIGHT_TOLERANCE = 1e-3
ACCURACY_TOLERANCE = 0.005


@pytest.fixture(scope="module")
def splits(data_root):
    return data.load_splits("mnist", data_root, train_subset=5000)


def _pruned(name="lenet_300_100", rounds=13, seed=0):
    model = models.build_model(name, seed=seed)
    names = models.prunable_names(model)
    weights = {n: model.get_parameter(n).detach() for n in names}
    mask = masks.ones_like(model)
    for _ in range(rounds):
        mask = pruning.magnitude_prune(weights, mask, pruning.layer_rates(names, 0.2))
    return model, mask


def signed_zeros_and_ties(shape, with_nan: bool) -> torch.Tensor:
    y = torch.randn(*shape).round(decimals=1)  # many ties between windows' corners
    zeros = torch.rand(*shape) < 0.2
    y[zeros] = torch.where(torch.rand(int(zeros.sum())) < 0.5, -0.0, 0.0)  # ReLU keeps -0.0: the first zero wins
    y[0, 0, :4, :4] = 0.25  # ties inside windows: the first in row-major order takes the gradient
    y[1, 1, :2, :2] = -0.5  # a window <= 0: no gradient
    if with_nan:
        y[0, 1, 0, 1] = y[0, 1, 1, 0] = float("nan")  # NaN wins its window, the last NaN, as in max_pool2d
    return y


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(a.view(torch.int32), b.view(torch.int32))


SHAPES = [(3, 6, 28, 28), (2, 16, 10, 10), (2, 4, 7, 9)]  # the last: odd sizes drop a row and a column


@pytest.mark.parametrize("with_nan", [False, True])  # without: the branch-free loop; with: the reference loop
def test_relu_max_pool_for_evaluation_is_max_pool2d_to_the_bit(with_nan):
    torch.manual_seed(0)
    for shape in SHAPES:
        y = signed_zeros_and_ties(shape, with_nan)
        assert same_bits(kernels.max_pool_relu(y), F.max_pool2d(F.relu(y), 2))


@pytest.mark.parametrize("with_nan", [False, True])
def test_fused_relu_max_pool_for_training_is_relu_then_max_pool2d_to_the_bit_in_both_passes(with_nan):
    torch.manual_seed(0)
    for shape in SHAPES:
        y = signed_zeros_and_ties(shape, with_nan)
        ours, theirs = y.clone().requires_grad_(), y.clone().requires_grad_()
        out, expected = kernels.relu_max_pool(ours), F.max_pool2d(F.relu(theirs), 2)
        assert same_bits(out, expected)
        grad = torch.randn_like(out)
        grad[0, 0, 0, 0] = -0.0  # max_pool2d's backward adds into zeros: +0.0
        out.backward(grad)
        expected.backward(grad)
        assert same_bits(ours.grad, theirs.grad)


def test_the_training_plan_gives_the_models_own_gradients_to_the_bit(splits):
    model = models.build_model("lenet5", seed=1)
    forward = kernels.train_plan(model, {})
    assert forward is not model  # its ReLU -> max-pool pairs are fused
    x, y = splits.train[0][:60], splits.train[1][:60]
    grads = []
    for f in (forward, model):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(f(x), y).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_evaluation_gives_the_same_bits_as_the_models_own_forward_pass(splits):
    model = models.build_model("lenet5", seed=1)
    loss, acc = evaluate(model, *splits.val)
    with torch.inference_mode():
        logits = torch.cat([model(x) for x in splits.val[0].split(500)])
    assert acc == int((logits.argmax(1) == splits.val[1]).sum()) / len(logits)
    chunked = sum(float(F.cross_entropy(l, t, reduction="sum")) for l, t in
                  zip(logits.split(500), splits.val[1].split(500))) / len(logits)
    assert loss == chunked  # what evaluate sums, chunk by chunk: the same bits


def test_version_2_trains_survivors_only_keeps_zeros_and_stays_within_the_tolerance_of_version_1(splits):
    runs = {}
    for version in (1, 2, 2):
        model, mask = _pruned()
        assert mask["fc1.weight"].float().mean() <= kernels.SPARSE_TRAIN_DENSITY
        result = train(model, mask, splits, TrainConfig(iterations=300, eval_every=50), data_seed=3,
                       test_curve=False, kernels_version=version)
        for name, m in mask.items():
            assert (model.get_parameter(name)[~m] == 0).all()  # pruned weights exactly zero
        runs.setdefault(version, []).append((model.state_dict(), result))
    (a, ra), (b, rb) = runs[2]
    assert all(torch.equal(a[k], b[k]) for k in a) and ra.metrics == rb.metrics  # same version, same bits
    (v1, r1) = runs[1][0]
    assert not torch.equal(v1["fc1.weight"], a["fc1.weight"])  # another summation order
    assert max((v1[k] - a[k]).abs().max().item() for k in a) < WEIGHT_TOLERANCE
    assert abs(r1.test_acc_at_early_stop - ra.test_acc_at_early_stop) <= ACCURACY_TOLERANCE
    assert abs(r1.early_stop_iteration - ra.early_stop_iteration) <= 50


def test_dense_and_convolutional_levels_train_the_same_bits_in_both_versions(splits):
    for name, rounds in (("lenet_300_100", 0), ("lenet5", 2)):
        states = []
        for version in (1, 2):
            model, mask = _pruned(name, rounds)
            train(model, mask, splits, TrainConfig(iterations=30, eval_every=10), data_seed=0, kernels_version=version)
            states.append(model.state_dict())
        assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_the_test_split_at_the_end_gives_the_same_early_stop_as_at_every_evaluation(splits):
    results = {}
    for curve in (True, False):
        model, mask = _pruned(rounds=3)
        results[curve] = train(model, mask, splits, TrainConfig(iterations=400, eval_every=50, patience=3),
                               data_seed=1, test_curve=curve)
    full, end = results[True], results[False]
    for field in ("early_stop_iteration", "val_loss_at_early_stop", "test_acc_at_early_stop", "final_test_acc",
                  "iterations_run"):
        assert getattr(full, field) == getattr(end, field), field
    tests = [(r["iteration"], r["accuracy"]) for r in end.metrics if r["split"] == "test"]
    assert tests == [(end.early_stop_iteration, end.test_acc_at_early_stop),
                     (full.metrics[-1]["iteration"], end.final_test_acc)] or len(tests) == 1
    assert set(tests) <= {(r["iteration"], r["accuracy"]) for r in full.metrics if r["split"] == "test"}


def test_an_unknown_kernel_version_is_refused_before_training(splits):
    model, mask = _pruned(rounds=1)
    with pytest.raises(ValueError, match="kernels=7 is unknown"):
        train(model, mask, splits, TrainConfig(iterations=5), data_seed=0, kernels_version=7)


def _as_version_1(directory):
    row = read_result(directory)
    write_result(directory, dict(row, provenance={k: v for k, v in row["provenance"].items() if k != "kernels"}))


def test_a_chain_keeps_its_version_where_the_versions_differ(tmp_path, data_root):
    # rate 0.95: the first layer is at 5% from level 1 on (where version 2 trains it through its survivors only)
    cfg = imp.IMPConfig(model="lenet_300_100", iterations=20, eval_every=10, trials=1, levels=3, rate=0.95,
                        train_subset=500, out=str(tmp_path / "runs"), data_root=data_root)
    assert imp.chain_kernels(cfg, 0, 0) == kernels.KERNELS  # nothing stored: the current version
    imp.run_level(imp.dense_source(cfg), 0, 0)  # level 0 is a copy of the canonical run's (the engine runs it first)
    assert recorded_kernels(imp.run_level(cfg, 0, 0)) == kernels.KERNELS
    _as_version_1(level_dir(cfg.root, 0, 0))  # a dense level recorded before versions were (version 1) ...
    assert imp.chain_kernels(cfg, 0, 1) == kernels.KERNELS  # ... trains the same bits in both: the current one
    imp.run_level(cfg, 0, 1)
    _as_version_1(level_dir(cfg.root, 0, 1))  # the first layer at 5%: the versions train other bits
    assert imp.chain_kernels(cfg, 0, 2) == 1
    assert recorded_kernels(imp.run_level(cfg, 0, 2)) == 1  # the chain continues with version 1
    assert imp.chain_kernels(cfg, 0, 3) == 1
    control = dataclasses.replace(cfg, arm="reinit")
    assert imp.chain_kernels(control, 0, 2) == 1  # a control reads the ticket's level: its version
    assert imp.chain_kernels(control, 0, 1) == 1


def test_every_version_trains_dense_and_convolutional_masks_alike():
    dense = masks.ones_like(models.build_model("lenet_300_100"))
    conv = masks.ones_like(models.build_model("lenet5"))
    assert kernels.same_in_every_version(dense) and kernels.same_in_every_version(conv)
    sparse = {k: torch.rand(v.shape) < 0.05 for k, v in dense.items()}
    assert not kernels.same_in_every_version(sparse)
    assert kernels.same_in_every_version(sparse, sparse_train_density=0.01)
