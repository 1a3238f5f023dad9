"""Masked training: pruned weights stay exactly zero, the early-stop record is right, same seed same bits."""
from __future__ import annotations

import pytest
import torch

from lth_utils import data, models, pruning

from lth_utils.pruning import masks
from lth_utils.training import TrainConfig, lr_factor, train


@pytest.fixture
def splits(data_root):
    return data.load_splits("mnist", data_root, train_subset=600)


def _pruned_model(seed=0, rate=0.5):
    model = models.build_model("lenet_300_100", seed=seed)
    names = models.prunable_names(model)
    weights = {n: model.get_parameter(n).detach() for n in names}
    mask = pruning.magnitude_prune(weights, masks.ones_like(model), pruning.layer_rates(names, rate))
    return model, mask


def _assert_pruned_weights_are_zero(model, mask):
    for name, m in mask.items():
        assert torch.count_nonzero(model.get_parameter(name)[~m]) == 0


@pytest.mark.parametrize("optimizer, weight_decay", [("adam", 1e-2), ("sgd", 1e-2)])
def test_pruned_weights_stay_exactly_zero_with_weight_decay_and_momentum(splits, optimizer, weight_decay):
    model, mask = _pruned_model()
    cfg = TrainConfig(optimizer=optimizer, lr=0.05 if optimizer == "sgd" else 1e-3, momentum=0.9,
                      weight_decay=weight_decay, iterations=25, eval_every=25)
    train(model, mask, splits, cfg, data_seed=0)
    _assert_pruned_weights_are_zero(model, mask)
    assert torch.count_nonzero(model.fc1.weight) == int(mask["fc1.weight"].sum())  # survivors did move off zero


def test_pruned_weights_stay_zero_when_the_start_weights_are_not_masked(splits):
    model, mask = _pruned_model()  # build_model's weights are dense: train must mask them first
    train(model, mask, splits, TrainConfig(iterations=5, eval_every=5), data_seed=0)
    _assert_pruned_weights_are_zero(model, mask)


def test_same_seed_gives_the_same_bits(splits):
    results = []
    for _ in range(2):
        model, mask = _pruned_model()
        train(model, mask, splits, TrainConfig(iterations=20, eval_every=10), data_seed=7)
        results.append(model.state_dict())
    assert all(torch.equal(results[0][k], results[1][k]) for k in results[0])


def test_a_different_data_seed_gives_different_weights(splits):
    states = []
    for seed in (1, 2):
        model, mask = _pruned_model()
        train(model, mask, splits, TrainConfig(iterations=10, eval_every=10), data_seed=seed)
        states.append(model.fc1.weight.detach().clone())
    assert not torch.equal(*states)


def test_early_stop_is_the_iteration_of_minimum_validation_loss(splits):
    model, mask = _pruned_model()
    result = train(model, mask, splits, TrainConfig(iterations=60, eval_every=10, lr=0.05), data_seed=0)
    val = [r for r in result.metrics if r["split"] == "val"]
    test = {r["iteration"]: r["accuracy"] for r in result.metrics if r["split"] == "test"}
    best = min(val, key=lambda r: r["loss"])
    assert [r["iteration"] for r in val] == list(range(0, 61, 10))
    assert result.early_stop_iteration == best["iteration"] and result.val_loss_at_early_stop == best["loss"]
    assert result.test_acc_at_early_stop == test[best["iteration"]]
    assert result.final_test_acc == test[60]


def test_patience_stops_training_after_evaluations_without_improvement(splits):
    model, mask = _pruned_model()
    result = train(model, mask, splits, TrainConfig(iterations=2000, eval_every=5, lr=1.0, patience=2), data_seed=0)
    assert result.iterations_run < 2000
    assert result.iterations_run == result.early_stop_iteration + 2 * 5


def test_saved_rewind_weights_are_the_weights_after_k_steps(splits):
    model, mask = _pruned_model()
    saved = train(model, mask, splits, TrainConfig(iterations=7, eval_every=7), data_seed=3,
                  save_weights_at=4).saved_weights
    model2, _ = _pruned_model()
    train(model2, mask, splits, TrainConfig(iterations=4, eval_every=4), data_seed=3)
    assert all(torch.equal(saved[k], v) for k, v in model2.state_dict().items())


def test_step_schedule_drops_at_half_and_three_quarters():
    assert [lr_factor(i, 100, "step") for i in (0, 49, 50, 74, 75, 99)] == [1, 1, 0.1, 0.1, 0.01, 0.01]


def test_sparse_evaluation_matches_dense_evaluation(splits):
    """Layers at <= 10% density evaluate as CSR matmuls: same accuracy, loss equal up to float rounding."""
    from lth_utils.training import evaluate, sparse_layouts
    model, mask = _pruned_model(rate=0.95)  # 5% of the hidden layers' weights remain, 52.5% of the output layer's
    masks.apply_mask_(model, mask)
    layouts = sparse_layouts(model, mask)
    assert set(layouts) == {model.fc1, model.fc2}
    assert sparse_layouts(*_pruned_model(rate=0.5)) == {}  # 50% density: dense is faster
    x, y = splits.test
    dense_loss, dense_acc = evaluate(model, x, y)
    sparse_loss, sparse_acc = evaluate(model, x, y, layouts)
    assert sparse_acc == dense_acc
    assert sparse_loss == pytest.approx(dense_loss, rel=1e-5)
    with torch.no_grad():
        model.fc1.weight.mul_(2)  # the CSR values are read from the current weights, not from a stale copy
    assert evaluate(model, x, y, layouts)[0] == pytest.approx(evaluate(model, x, y)[0], rel=1e-5)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_gradients_of_pruned_weights_are_masked_so_optimiser_state_stays_zero(splits, optimizer):
    # Re-masking the weights after each step would hide a missing gradient mask; the optimiser state does not.
    from lth_utils.training.masking import masked_parameters, masked_step
    from lth_utils.training import make_optimizer
    model, mask = _pruned_model()
    masked = masked_parameters(model, mask)
    opt = make_optimizer(optimizer, model.parameters(), 1e-3, 0.9, 0.0, "cpu")
    x, y = splits.train
    for step in range(3):
        loss = torch.nn.functional.cross_entropy(model(x[60 * step:60 * (step + 1)]), y[60 * step:60 * (step + 1)])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        masked_step(opt, masked)
        for name, m in mask.items():
            param = model.get_parameter(name)
            assert torch.count_nonzero(param.grad[~m]) == 0, name
            state = opt.state[param]
            for key in ("exp_avg", "exp_avg_sq") if optimizer == "adam" else ("momentum_buffer",):
                assert torch.count_nonzero(state[key][~m]) == 0, (name, key)
                assert torch.count_nonzero(state[key][m]) > 0, (name, key)  # and the survivors' state is live


def test_test_evaluation_at_validation_minima_only_gives_the_same_early_stop_results(splits):
    results = {}
    for curve in (True, False):
        model, mask = _pruned_model(seed=4)
        cfg = TrainConfig(iterations=120, eval_every=10, lr=2e-3)
        results[curve] = (train(model, mask, splits, cfg, data_seed=3, test_curve=curve), model.state_dict())
    full, cheap = results[True][0], results[False][0]
    for field in ("early_stop_iteration", "val_loss_at_early_stop", "test_acc_at_early_stop", "final_test_acc",
                  "iterations_run"):
        assert getattr(full, field) == getattr(cheap, field), field
    assert all(torch.equal(results[True][1][k], results[False][1][k]) for k in results[True][1])
    tested = [r["iteration"] for r in cheap.metrics if r["split"] == "test"]
    assert len(tested) < len([r for r in full.metrics if r["split"] == "test"])
    assert tested[-1] == 120 and full.early_stop_iteration in tested
    assert [r for r in cheap.metrics if r["split"] == "val"] == [r for r in full.metrics if r["split"] == "val"]


def test_sparse_training_forward_and_gradients_match_dense_linear(splits):
    """The CSR training layer gives nn.Linear's output and its exact gradient formulas (up to float rounding)."""
    from lth_utils.training.loop import CSRLinear, sparse_layouts
    model, mask = _pruned_model(rate=0.95)
    masks.apply_mask_(model, mask)
    (crow, col, flat), x = sparse_layouts(model, mask)[model.fc2], torch.randn(60, 300, requires_grad=True)
    weight, bias = model.fc2.weight, model.fc2.bias
    sparse = CSRLinear.apply(x, weight, bias, crow, col, flat)
    dense = torch.nn.functional.linear(x, weight, bias)
    assert torch.allclose(sparse, dense, atol=1e-6)
    upstream = torch.randn_like(dense)
    grads_sparse = torch.autograd.grad(sparse, (x, weight, bias), upstream)
    grads_dense = torch.autograd.grad(dense, (x, weight, bias), upstream)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(grads_sparse, grads_dense))


def test_sparse_training_keeps_zeros_repeats_its_bits_and_stays_close_to_dense(splits):
    runs = {}
    for density in (0.0, 0.1, 0.1):
        model, mask = _pruned_model(rate=0.95)
        result = train(model, mask, splits, TrainConfig(iterations=40, eval_every=20, sparse_train_density=density),
                       data_seed=3, kernels_version=1)  # version 1's option (version 2 trains survivors only)
        _assert_pruned_weights_are_zero(model, mask)
        runs.setdefault(density, []).append((model.state_dict(), result))
    (a, _), (b, _) = runs[0.1]
    assert all(torch.equal(a[k], b[k]) for k in a)  # same config, same bits
    (dense, dense_result), (sparse, sparse_result) = runs[0.0][0], runs[0.1][0]
    assert not torch.equal(dense["fc1.weight"], sparse["fc1.weight"])  # another summation order: other bits
    assert torch.allclose(dense["fc1.weight"], sparse["fc1.weight"], atol=1e-4)
    assert abs(dense_result.final_test_acc - sparse_result.final_test_acc) <= 0.01
