"""A training step written out: the forward pass, cross-entropy and the backward pass as the aten ops autograd would
call, in the same layouts, without building a graph. The same bits as `loss.backward()` in every kernel version
(tests/unit/test_manual_step.py compares every weight and optimiser moment after many steps: LeNet-300-100 dense and
through version 2's sparse first layer, LeNet-5, Conv-2), so no chain changes; it spares autograd's bookkeeping
(benchmarks/bench.py measures the step with and without it).

    backward = manual_step(model, survivors)   # None unless every layer is one it knows, float32 on the CPU
    backward(x, y)                             # sets every trained parameter's .grad, as loss.backward() would

What autograd does and this repeats: F.linear is addmm(bias, input, weight.t()); its input gradient is
grad @ weight, or (weight.t() @ grad.t()).t() for a column-major input (mm_mat1_backward's layout rule: version 2's
survivor layer hands the next layer a column-major activation); the weight gradient grad.t() @ input (mm_mat2_backward
for the column-major weight.t(), then its transpose); the bias gradient grad summed over the batch. A convolution's
three gradients are one convolution_backward call, without the input's for the first layer. ReLU's gradient is
threshold_backward on its output; ReLU -> 2x2 max-pool is the engine's fused pair (kernels.relu_pool_forward and
relu_pool_backward, its autograd Function's two passes); Flatten's is a reshape; cross-entropy's nll_loss_backward then
_log_softmax_backward_data. A first layer trained through its survivors (kernels.SurvivorLayer) runs the ops of its
autograd Function. A model with any other layer keeps autograd.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import kernels

aten = torch.ops.aten


def _conv_ok(layer: nn.Module) -> bool:
    return (type(layer) is nn.Conv2d and layer.bias is not None and layer.padding_mode == "zeros"
            and not isinstance(layer.padding, str))


def _plan(model: nn.Module, survivors: dict) -> list[tuple[str, object]] | None:
    """[(kind, layer)] for the layers this step knows, ending in a Linear layer, or None."""
    if not isinstance(model, nn.Sequential):
        return None
    plan = []
    for layer, fused in kernels.fused_layers(model):
        if fused:
            plan.append(("relu_pool", layer))
        elif isinstance(layer, nn.Flatten) and layer.start_dim == 1 and layer.end_dim == -1:
            plan.append(("flatten", layer))
        elif layer in survivors:
            plan.append(("survivor", survivors[layer]))
        elif type(layer) is nn.Linear and layer.bias is not None:
            plan.append(("linear", layer))
        elif _conv_ok(layer):
            plan.append(("conv", layer))
        elif type(layer) is nn.ReLU:
            plan.append(("relu", layer))
        else:
            return None
    params = [p for kind, layer in plan if kind in ("linear", "conv") for p in (layer.weight, layer.bias)]
    if not plan or plan[-1][0] != "linear" or any(
            p.device.type != "cpu" or p.dtype != torch.float32 or not p.is_contiguous() for p in params):
        return None
    return plan


def _column_major(t: torch.Tensor) -> bool:
    return t.stride(0) == 1 and t.stride(1) == t.shape[0]


def _forward(plan, x: torch.Tensor) -> tuple[torch.Tensor, list]:
    """The logits and what each layer's backward needs, in layer order."""
    saved, h = [], x
    for kind, layer in plan:
        if kind == "flatten":
            saved.append(h.shape)
            h = h.flatten(1)
        elif kind == "linear":
            saved.append(h)
            h = torch.addmm(layer.bias, h, layer.weight.t())
        elif kind == "conv":
            saved.append(h)
            h = F.conv2d(h, layer.weight, layer.bias, layer.stride, layer.padding, layer.dilation, layer.groups)
        elif kind == "survivor":
            saved.append(h.t().contiguous())
            h = layer.forward_values(saved[-1])
        elif kind == "relu_pool":
            shape = h.shape
            h, index = kernels.relu_pool_forward(h)
            saved.append((index, shape))
        else:
            h = torch.relu(h)
            saved.append(h)
    return h, saved


def _backward_layer(kind: str, layer, grad: torch.Tensor, saved, input_grad: bool) -> torch.Tensor | None:
    """Set the layer's parameter gradients; return the gradient of its input (None where not needed)."""
    if kind == "flatten":
        return grad.reshape(saved)
    if kind == "relu_pool":
        return kernels.relu_pool_backward(grad, *saved)
    if kind == "relu":
        return aten.threshold_backward(grad, saved, 0)
    if kind == "survivor":
        layer.values.grad, layer.module.bias.grad = layer.backward_values(grad, saved)
        return None
    if kind == "conv":
        grad_input, layer.weight.grad, layer.bias.grad = aten.convolution_backward(
            grad, saved, layer.weight, [layer.out_channels], layer.stride, layer.padding, layer.dilation, False,
            [0] * len(layer.stride), layer.groups, [input_grad, True, True])
        return grad_input
    layer.bias.grad = grad.sum(0)
    layer.weight.grad = grad.t().mm(saved)
    if not input_grad:
        return None
    return layer.weight.t().mm(grad.t()).t() if _column_major(saved) else grad.mm(layer.weight)


def manual_step(model: nn.Module, survivors: dict):
    """A callable (x, y) -> loss that sets the .grad of every parameter the step trains (the survivors' values in
    place of their layer's weight) as F.cross_entropy(model(x), y).backward() would, to the bit, for an input that
    needs no gradient; None when the model is not a float32 CPU Sequential of Flatten, Linear and Conv2d layers with
    biases, SurvivorLayers, ReLUs and ReLU -> 2x2 max-pool pairs, ending in a Linear layer."""
    plan = _plan(model, survivors)
    if plan is None:
        return None
    first_weighted = next(i for i, (kind, _) in enumerate(plan) if kind in ("linear", "conv", "survivor"))

    @torch.no_grad()
    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits, saved = _forward(plan, x)
        log_p = torch._log_softmax(logits, 1, False)
        loss, total_weight = aten.nll_loss_forward(log_p, y, None, 1, -100)  # mean, no ignored class
        grad = aten.nll_loss_backward(torch.ones_like(loss), log_p, y, None, 1, -100, total_weight)
        grad = aten._log_softmax_backward_data(grad, log_p, 1, log_p.dtype)
        for i in range(len(plan) - 1, first_weighted - 1, -1):
            grad = _backward_layer(*plan[i], grad, saved[i], input_grad=i > first_weighted)
        return loss
    return step
