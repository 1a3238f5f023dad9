"""Masks: which weights survive. A mask is a plain dict {parameter name: bool tensor of the parameter's shape}.

    mask = ones_like(model)                 # every Linear/Conv weight kept; biases are never in a mask
    apply_mask_(model, mask)                # zero the pruned weights in place (applying twice = applying once)
    density(mask), report(mask)             # fraction kept; per-layer table
    save(mask, path); load(path)            # torch.save / torch.load(weights_only=True), written atomically
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..foundations.files import atomic_torch_save, torch_load
from ..models import prunable_names

Mask = dict[str, torch.Tensor]


def ones_like(model: nn.Module) -> Mask:
    return {name: torch.ones_like(model.get_parameter(name), dtype=torch.bool, device="cpu")
            for name in prunable_names(model)}


def validate(mask: Mask, model: nn.Module) -> Mask:
    """Raise ValueError unless `mask` covers exactly the model's prunable weights with bool tensors of their shapes."""
    expected = prunable_names(model)
    if sorted(mask) != sorted(expected):
        raise ValueError(f"mask names {sorted(mask)} do not match the model's prunable weights {sorted(expected)}")
    for name, m in mask.items():
        shape = tuple(model.get_parameter(name).shape)
        if m.dtype != torch.bool or tuple(m.shape) != shape:
            raise ValueError(f"mask[{name!r}] is {m.dtype} {tuple(m.shape)}; expected torch.bool {shape}")
    return mask


def apply_mask_(model: nn.Module, mask: Mask) -> nn.Module:
    """Multiply each masked weight by its mask, in place."""
    with torch.no_grad():
        for name, m in mask.items():
            param = model.get_parameter(name)
            param.mul_(m.to(param.device, param.dtype))
    return model


def remaining(mask: Mask) -> int:
    return int(sum(int(m.sum()) for m in mask.values()))


def size(mask: Mask) -> int:
    return int(sum(m.numel() for m in mask.values()))


def density(mask: Mask) -> float:
    """Fraction of prunable weights kept, in [0, 1]."""
    return remaining(mask) / size(mask)


def sparsity(mask: Mask) -> float:
    return 1.0 - density(mask)


def compression_ratio(mask: Mask) -> float:
    """Total / remaining prunable weights (the '1/density' the LTH paper quotes as Pm's inverse)."""
    kept = remaining(mask)
    return float("inf") if kept == 0 else size(mask) / kept


def layer_counts(mask: Mask) -> dict[str, int]:
    return {name: int(m.sum()) for name, m in mask.items()}


def report(mask: Mask) -> list[dict]:
    """One row per layer: name, shape, total, remaining, density."""
    return [{"layer": name, "shape": tuple(m.shape), "total": m.numel(), "remaining": int(m.sum()),
             "density": int(m.sum()) / m.numel()} for name, m in mask.items()]


def is_subset(smaller: Mask, larger: Mask) -> bool:
    """True when every weight kept by `smaller` is also kept by `larger`."""
    return all(not bool((smaller[n] & ~larger[n]).any()) for n in larger)


def jaccard(a: Mask, b: Mask) -> float:
    """|a and b| / |a or b| over all prunable weights: 1 for identical masks."""
    inter = sum(int((a[n] & b[n]).sum()) for n in a)
    union = sum(int((a[n] | b[n]).sum()) for n in a)
    return inter / union if union else 1.0


def random_jaccard(mask: Mask) -> float:
    """The Jaccard overlap two independent random masks with `mask`'s per-layer counts have in expectation: of its K
    survivors, S = sum over layers of k_l^2 / n_l are expected in both, so S / (2K - S)."""
    shared = sum(int(m.sum()) ** 2 / m.numel() for m in mask.values())
    kept = remaining(mask)
    return shared / (2 * kept - shared) if kept else 1.0


def save(mask: Mask, path: str | Path) -> Path:
    return atomic_torch_save(path, {n: m.cpu() for n, m in mask.items()})


def load(path: str | Path) -> Mask:
    return {n: m.bool() for n, m in torch_load(path).items()}
