"""Models: the paper's architectures, seeded Gaussian Glorot init, built by name."""
from __future__ import annotations

import pytest
import torch

from lth_utils import models


@pytest.mark.parametrize("name, shape, weights", [
    ("lenet_300_100", (1, 28, 28), 266_200), ("lenet5", (1, 28, 28), 61_470),
    ("conv2", (3, 32, 32), 4_300_992), ("conv4", (3, 32, 32), 2_425_024), ("conv6", (3, 32, 32), 2_261_184)])
def test_each_model_builds_by_name_with_its_weight_count(name, shape, weights):
    model = models.build_model(name, shape, 10)
    assert model(torch.zeros(2, *shape)).shape == (2, 10)
    assert sum(model.get_parameter(n).numel() for n in models.prunable_names(model)) == weights


def test_lenet_300_100_prunes_three_weight_matrices_and_no_biases():
    names = models.prunable_names(models.build_model("lenet_300_100"))
    assert names == ["fc1.weight", "fc2.weight", "fc3.weight"]


def test_same_seed_gives_the_same_initial_bits_and_another_seed_does_not():
    a, b, c = (models.build_model("lenet_300_100", seed=s).state_dict() for s in (1, 1, 2))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["fc1.weight"], c["fc1.weight"])


def test_init_is_gaussian_glorot_with_zero_biases():
    model = models.build_model("lenet_300_100", seed=0)
    w = model.fc1.weight
    expected_std = (2.0 / (784 + 300)) ** 0.5
    assert abs(w.std().item() - expected_std) / expected_std < 0.01
    assert torch.count_nonzero(model.fc1.bias) == 0


def test_mlp_has_width_depth_and_activation():
    model = models.mlp(width=50, depth=3, activation="tanh")
    assert [n for n, _ in model.named_children()].count("act1") == 1
    assert model(torch.zeros(4, 1)).shape == (4, 1)
    assert len(models.prunable_names(model)) == 4
    assert isinstance(model.act1, torch.nn.Tanh)


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="known models: lenet_300_100, lenet5, conv2, conv4, conv6"):
        models.build_model("resnet18")
