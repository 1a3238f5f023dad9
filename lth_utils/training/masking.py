"""Pruned weights stay exactly zero while a network trains: the one home of that guarantee, in its two forms.

    masked = masked_parameters(model, mask)     # a loop the library owns (training.train, double descent):
    ...; loss.backward(); masked_step(opt, masked)   # mask the gradients, step, mask the weights
    with masked(model, mask):                   # a loop it does not own (tickets.find_ticket's train_fn): hooks
        train_fn(model)                         # zero pruned weights before every forward pass and their gradients

Either way momentum and Adam moments of a pruned weight stay zero and weight decay cannot move it; the tests in
tests/integration/test_training.py and tests/integration/test_tickets.py check the zeros under Adam + weight decay and SGD + momentum.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

from ..pruning import masks
from ..pruning.masks import Mask


def masked_parameters(model: nn.Module, mask: Mask) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(parameter, float mask on its device) pairs; the start weights are masked here, as they may come unmasked."""
    pairs = []
    for name, m in mask.items():
        param = model.get_parameter(name)
        pairs.append((param, m.to(param.device, param.dtype)))
        param.data.mul_(pairs[-1][1])
    return pairs


def masked_step(optimizer: torch.optim.Optimizer, masked: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """One optimiser step that leaves pruned weights exactly zero: mask the gradients (momentum and Adam moments of
    pruned weights stay zero), step, then mask the weights (weight decay cannot move them either)."""
    if not masked:
        optimizer.step()
        return
    params, factors = zip(*masked)
    torch._foreach_mul_([p.grad for p in params], factors)  # one call for all layers: the same products as mul_
    optimizer.step()
    with torch.no_grad():
        torch._foreach_mul_(list(params), factors)



@contextlib.contextmanager
def masked(model: nn.Module, mask: Mask) -> Iterator[nn.Module]:
    """While inside, `model` trains as the masked network: pruned weights are zeroed before every forward pass and
    their gradients are zeroed, whatever optimiser the caller uses. On exit the mask is applied once more."""
    masks.validate(mask, model)
    handles = []
    for name, m in mask.items():
        module_name = name.rsplit(".", 1)[0]
        module, param = model.get_submodule(module_name), model.get_parameter(name)
        on_device = m.to(param.device, param.dtype)

        def zero_pruned(_module, _inputs, param=param, m=on_device):
            with torch.no_grad():
                param.mul_(m)

        handles.append(module.register_forward_pre_hook(zero_pruned))
        handles.append(param.register_hook(lambda grad, m=on_device: grad * m))
    masks.apply_mask_(model, mask)
    try:
        yield model
    finally:
        for handle in handles:
            handle.remove()
        masks.apply_mask_(model, mask)
