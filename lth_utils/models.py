"""The paper's networks, built by name with a seeded Gaussian Glorot initialisation.

    model = build_model("lenet_300_100", input_shape=(1, 28, 28), num_classes=10, seed=0)
    prunable_names(model)   # ['fc1.weight', 'fc2.weight', 'fc3.weight']: Linear/Conv weights; biases are never pruned

| name          | layers                                                           | source                  |
|---------------|------------------------------------------------------------------|-------------------------|
| lenet_300_100 | 784-300-100-10 fully connected, ReLU                              | LTH paper, MNIST        |
| lenet5        | conv 6@5x5, pool, conv 16@5x5, pool, FC 120-84-10                | LeCun et al. 1998       |
| conv2/4/6     | 3x3 convs 64,64 [,128,128 [,256,256]], a max-pool after each pair, FC 256-256-10 | LTH paper, CIFAR-10 |
| mlp           | `width` units x `depth` hidden layers, relu or tanh              | regression, double descent |
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}


class Sequential(nn.Sequential):
    """nn.Sequential whose parameters have readable names (`fc1.weight`, `conv2.weight`)."""

    def __init__(self, layers: list[tuple[str, nn.Module]]):
        super().__init__()
        for name, layer in layers:
            self.add_module(name, layer)


def _dense_stack(in_features: int, widths: list[int], num_classes: int, activation: str = "relu",
                 first_index: int = 1) -> list[tuple[str, nn.Module]]:
    layers, n = [], in_features
    for i, width in enumerate(widths, start=first_index):
        layers += [(f"fc{i}", nn.Linear(n, width)), (f"act{i}", ACTIVATIONS[activation]())]
        n = width
    return layers + [(f"fc{first_index + len(widths)}", nn.Linear(n, num_classes))]


def lenet_300_100(input_shape=(1, 28, 28), num_classes=10) -> nn.Module:
    return Sequential([("flatten", nn.Flatten())] + _dense_stack(math.prod(input_shape), [300, 100], num_classes))


def lenet5(input_shape=(1, 28, 28), num_classes=10) -> nn.Module:
    channels, height, width = input_shape
    features = [
        ("conv1", nn.Conv2d(channels, 6, 5, padding=2)), ("act_c1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(6, 16, 5)), ("act_c2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
    ]
    flat = 16 * ((height // 2 - 4) // 2) * ((width // 2 - 4) // 2)
    return Sequential(features + _dense_stack(flat, [120, 84], num_classes))


def _conv_net(channel_pairs: list[int], input_shape, num_classes) -> nn.Module:
    channels, height, width = input_shape
    layers, index = [], 1
    for out in channel_pairs:
        for _ in range(2):
            layers += [(f"conv{index}", nn.Conv2d(channels, out, 3, padding=1)), (f"act_c{index}", nn.ReLU())]
            channels, index = out, index + 1
        layers.append((f"pool{index // 2}", nn.MaxPool2d(2)))
        height, width = height // 2, width // 2
    layers.append(("flatten", nn.Flatten()))
    return Sequential(layers + _dense_stack(channels * height * width, [256, 256], num_classes))


def conv2(input_shape=(3, 32, 32), num_classes=10) -> nn.Module:
    return _conv_net([64], input_shape, num_classes)


def conv4(input_shape=(3, 32, 32), num_classes=10) -> nn.Module:
    return _conv_net([64, 128], input_shape, num_classes)


def conv6(input_shape=(3, 32, 32), num_classes=10) -> nn.Module:
    return _conv_net([64, 128, 256], input_shape, num_classes)


def mlp(width: int = 100, depth: int = 1, activation: str = "relu", in_features: int = 1,
        out_features: int = 1) -> nn.Module:
    """`depth` hidden layers of `width` units; for regression (out_features=1) and the double-descent study."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation={activation!r} is unknown; known: {', '.join(ACTIVATIONS)}")
    if width < 1 or depth < 1:
        raise ValueError(f"width={width} and depth={depth} must both be >= 1")
    return Sequential(_dense_stack(in_features, [width] * depth, out_features, activation))


MODELS = {"lenet_300_100": lenet_300_100, "lenet5": lenet5, "conv2": conv2, "conv4": conv4, "conv6": conv6}


def check_model_name(name: str) -> None:
    if name not in MODELS:
        raise ValueError(f"model={name!r} is unknown; known models: {', '.join(MODELS)} (and `mlp` via models.mlp)")


def glorot_init_(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Gaussian Glorot (xavier_normal) weights and zero biases, drawn in parameter order from `generator`."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_normal_(module.weight, generator=generator)
                if module.bias is not None:
                    module.bias.zero_()
    return model


def glorot_std(weight: torch.Tensor) -> float:
    """The std of `glorot_init_`'s Gaussian for this weight's shape: sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(weight)
    return (2.0 / (fan_in + fan_out)) ** 0.5


def build_model(name: str, input_shape=(1, 28, 28), num_classes: int = 10, seed: int = 0) -> nn.Module:
    """A freshly initialised model on the CPU (so the bits of the init do not depend on the device)."""
    check_model_name(name)
    model = MODELS[name](tuple(input_shape), num_classes)
    return glorot_init_(model, torch.Generator().manual_seed(seed))


def conv_names(model: nn.Module) -> list[str]:
    """Names of the weights of Conv layers, in model order (their own pruning rate in the paper's conv networks)."""
    return [f"{name}.weight" for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def prunable_names(model: nn.Module) -> list[str]:
    """Names of the weights of Linear and Conv layers, in model order; the last one is the output layer."""
    return [f"{name}.weight" for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
