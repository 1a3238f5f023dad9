"""The written-out training step gives autograd's bits: every weight, bias and optimiser moment after many steps."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from lth_utils import models, pruning
from lth_utils.pruning import masks
from lth_utils.training import TrainConfig, kernels
from lth_utils.training import loop
from lth_utils.training.manual_step import manual_step


def _mask(model, rounds):
    names = models.prunable_names(model)
    weights = {n: model.get_parameter(n).detach() for n in names}
    mask = masks.ones_like(model)
    for _ in range(rounds):
        mask = pruning.magnitude_prune(weights, mask, pruning.layer_rates(names, 0.2))
    return mask


def _train(rounds, version, config, written_out, steps=40, name="lenet_300_100", shape=(1, 28, 28)):
    mask = _mask(models.build_model(name, seed=0, input_shape=shape), rounds)
    model = models.build_model(name, seed=1, input_shape=shape)
    step = loop._Step(model, mask, config, version)
    assert (step.backward is not None) == (not step.layouts)
    if not written_out:
        step.backward = None
    gen = torch.Generator().manual_seed(2)
    for i in range(steps):
        x = torch.rand(60, *shape, generator=gen)
        x[x < 0.6] = 0.0  # MNIST-like: most inputs exactly zero
        y = torch.randint(0, 10, (60,), generator=gen)
        if i == steps // 2:
            step.optimizer.param_groups[0]["lr"] = 3e-4
        step(x, y)
    step.sync()
    state = getattr(step.optimizer, "state", {})
    moments = [t.clone() for s in state.values() for t in s.values() if torch.is_tensor(t)]
    return {k: v.clone() for k, v in model.state_dict().items()}, moments, step


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(a.view(torch.int32), b.view(torch.int32))


@pytest.mark.parametrize("rounds,version", [(0, 2), (6, 2), (12, 2), (18, 2), (18, 1)])
@pytest.mark.parametrize("optimizer,weight_decay", [("adam", 0.0), ("adam", 1e-4), ("sgd", 1e-4)])
def test_the_written_out_step_gives_autograds_bits(rounds, version, optimizer, weight_decay):
    config = TrainConfig(optimizer=optimizer, weight_decay=weight_decay, lr=0.05 if optimizer == "sgd" else 1.2e-3)
    ours, our_moments, step = _train(rounds, version, config, written_out=True)
    theirs, their_moments, _ = _train(rounds, version, config, written_out=False)
    assert bool(step.survivors) == (version == 2 and rounds >= 12)  # both paths: through survivors and dense
    assert all(_same(ours[k], theirs[k]) for k in theirs)
    assert len(our_moments) == len(their_moments) and all(map(_same, our_moments, their_moments))
    for name, m in _mask(models.build_model("lenet_300_100", seed=0), rounds).items():
        assert (ours[name][~m.bool()] == 0).all()


@pytest.mark.parametrize("name,shape,rounds", [("lenet5", (1, 28, 28), 0), ("lenet5", (1, 28, 28), 8),
                                               ("conv2", (3, 32, 32), 3)])
def test_convolutional_networks_get_autograds_bits(name, shape, rounds):
    config = TrainConfig(weight_decay=1e-4)
    ours, our_moments, step = _train(rounds, 2, config, True, steps=12, name=name, shape=shape)
    theirs, their_moments, _ = _train(rounds, 2, config, False, steps=12, name=name, shape=shape)
    assert step.backward is not None
    assert all(_same(ours[k], theirs[k]) for k in theirs)
    assert len(our_moments) == len(their_moments) and all(map(_same, our_moments, their_moments))


def test_version_1s_csr_option_keeps_autograd():
    config = TrainConfig(sparse_train_density=0.1)
    _, _, step = _train(18, 1, config, written_out=True, steps=2)
    assert step.layouts and step.backward is None


@pytest.mark.parametrize("model", [
    nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2, 2)),
    nn.Sequential(nn.Conv2d(1, 2, 3, padding="same"), nn.Flatten(), nn.Linear(2, 2)),
    nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)),
    nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False), nn.ReLU(), nn.Linear(3, 2)),
    nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU()),
    nn.Sequential(nn.Flatten(), nn.Linear(4, 3).double()),
])
def test_other_models_keep_autograd(model):
    assert manual_step(model, {}) is None


def test_the_survivor_layer_is_the_same_function_inside_and_outside_autograd():
    model = models.build_model("lenet_300_100", seed=0)
    mask = _mask(model, 18)
    layer = kernels.SurvivorLayer(model.fc1, mask["fc1.weight"])
    x = torch.rand(60, 784)
    out = layer(x)
    grad = torch.randn_like(out)
    out.backward(grad)
    x_t = x.t().contiguous()
    assert _same(layer.forward_values(x_t), out.detach())
    values_grad, bias_grad = layer.backward_values(grad, x_t)
    assert _same(values_grad, layer.values.grad) and _same(bias_grad, model.fc1.bias.grad)
