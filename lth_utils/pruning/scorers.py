"""Pruning at initialisation: score every surviving weight of an untrained network, keep the best-scoring ones.

    new = prune_at_init("snip", model, mask, remaining=56_000, data=(x, y))   # a Mask, a subset of `mask`
    snip_scores(model, mask, x, y)      # {layer: |g * w|}
    grasp_scores(model, mask, x, y)     # {layer: w * (H g)}, the reference's -w * Hg with the sign flipped
    synflow_scores(model, mask)         # {layer: |dR/dw * w|}, R = 1^T (prod |W|) 1, no data
    keep_top(scores, mask, remaining)   # the `remaining` highest-scoring surviving weights, ranked globally

Every scorer returns an *importance*: higher means keep. The methods and their references:

| method    | importance of weight w                       | data                  | reference                 |
|-----------|----------------------------------------------|-----------------------|---------------------------|
| magnitude | abs(w) at initialisation                     | none                  | Frankle et al. 2021       |
| snip      | abs(dL/dw * w) on one minibatch              | a batch of (x, y)     | Lee et al. 2019           |
| grasp     | w * (H g), g = dL/dw, logits / temperature   | 10 samples per class  | Wang et al. 2020          |
| synflow   | abs(dR/dw * w), pruned over 100 rounds to    | none (an all-ones     | Tanaka et al. 2020        |
|           | densities d^(k/100), k = 1..100              | input)                |                           |

GraSP removes the weights of *highest* score S = -w * Hg (removing them reduces the gradient flow least), so its
importance is -S. All methods rank every prunable layer in one pool, as their references do (the output layer
included), and `keep_top` breaks ties like `pruning`: among equal scores the earlier weight goes first.
`invert=True` keeps the lowest-scoring weights instead (the sanity check of Frankle et al. 2021). Nothing here changes
the model it is given: weights are read, the scores come from a functional call on masked copies.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from . import magnitude as pruning
from .masks import Mask

METHODS = ("magnitude", "snip", "grasp", "synflow")
NEEDS_DATA = ("snip", "grasp")
GRASP_TEMPERATURE = 200.0
GRASP_SAMPLES_PER_CLASS = 10
SYNFLOW_ROUNDS = 100


def check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method={method!r} is unknown; allowed: {', '.join(METHODS)}")


def _masked_params(model: nn.Module, mask: Mask, dtype=None) -> dict[str, torch.Tensor]:
    """Detached copies of the model's parameters with the pruned weights zeroed (and cast to `dtype` if given)."""
    params = {}
    for name, p in model.named_parameters():
        value = p.detach().clone() if dtype is None else p.detach().to(dtype)
        if name in mask:
            value = value * mask[name].to(value.device, value.dtype)
        params[name] = value
    return params


def _loss_grads(model: nn.Module, params: dict[str, torch.Tensor], names: list[str], x, y, temperature: float = 1.0,
                create_graph: bool = False) -> list[torch.Tensor]:
    loss = F.cross_entropy(functional_call(model, params, (x,)) / temperature, y)
    return list(torch.autograd.grad(loss, [params[n] for n in names], create_graph=create_graph))


def magnitude_scores(model: nn.Module, mask: Mask) -> dict[str, torch.Tensor]:
    return {n: model.get_parameter(n).detach().abs() * mask[n].to(model.get_parameter(n).device) for n in mask}


def snip_scores(model: nn.Module, mask: Mask, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """abs(dL/dw * w) of the masked network on the minibatch (x, y): SNIP's connection sensitivity."""
    names = list(mask)
    params = _masked_params(model, mask)
    for n in names:
        params[n].requires_grad_(True)
    grads = _loss_grads(model, params, names, x, y)
    return {n: (g * params[n]).detach().abs() for n, g in zip(names, grads)}


def hessian_gradient_product(model: nn.Module, mask: Mask, x: torch.Tensor, y: torch.Tensor,
                             temperature: float = GRASP_TEMPERATURE) -> tuple[dict, dict]:
    """(g, Hg) of the masked network's loss with logits / temperature, as GraSP's reference computes them: g summed
    over the two halves of (x, y), then H g = d(g . dL/dw)/dw summed over the same halves."""
    names = list(mask)
    params = _masked_params(model, mask)
    for n in names:
        params[n].requires_grad_(True)
    halves = [(x[:len(x) // 2], y[:len(y) // 2]), (x[len(x) // 2:], y[len(y) // 2:])]
    g = [torch.zeros_like(params[n]) for n in names]
    for xs, ys in halves:
        for total, part in zip(g, _loss_grads(model, params, names, xs, ys, temperature)):
            total += part
    hg = [torch.zeros_like(params[n]) for n in names]
    for xs, ys in halves:
        grads = _loss_grads(model, params, names, xs, ys, temperature, create_graph=True)
        z = sum((gi * fi).sum() for gi, fi in zip(g, grads))
        for total, part in zip(hg, torch.autograd.grad(z, [params[n] for n in names])):
            total += part
    return dict(zip(names, g)), dict(zip(names, hg))


def grasp_scores(model: nn.Module, mask: Mask, x: torch.Tensor, y: torch.Tensor,
                 temperature: float = GRASP_TEMPERATURE) -> dict[str, torch.Tensor]:
    """w * (H g): minus GraSP's score -w * Hg, so that higher means keep like every other scorer here."""
    _, hg = hessian_gradient_product(model, mask, x, y, temperature)
    return {n: (model.get_parameter(n).detach() * mask[n].to(hg[n].device, hg[n].dtype) * hg[n]) for n in mask}


def synflow_scores(model: nn.Module, mask: Mask, input_shape: tuple[int, ...] | None = None,
                   ) -> dict[str, torch.Tensor]:
    """abs(dR/dw * w) with R = 1^T (prod_l abs(W_l)) 1: the network with every weight replaced by its absolute value
    (pruned ones zero) and biases zero, applied to one all-ones input of `input_shape` (default: the first Linear
    layer's width), its outputs summed. In float64, so that the product of many sparse layers does not underflow."""
    names = list(mask)
    params = {n: torch.zeros_like(p, dtype=torch.float64) for n, p in model.named_parameters()}
    for n in names:
        w = model.get_parameter(n).detach().to(torch.float64)
        params[n] = (w.abs() * mask[n].to(w.device, torch.float64)).requires_grad_(True)
    first = model.get_parameter(names[0])
    if input_shape is None:
        if first.dim() != 2:
            raise ValueError("synflow on a convolutional model needs input_shape=(channels, height, width)")
        input_shape = (first.shape[1],)
    ones = torch.ones((1, *input_shape), dtype=torch.float64, device=first.device)
    r = functional_call(model, params, (ones,)).sum()
    grads = torch.autograd.grad(r, [params[n] for n in names])
    return {n: (g * params[n]).detach().abs() for n, g in zip(names, grads)}


def keep_top(scores: dict[str, torch.Tensor], mask: Mask, remaining: int, invert: bool = False) -> Mask:
    """The `remaining` surviving weights of highest score over all layers together (lowest with invert=True).
    Ties: the earlier weight (layers in order, flattened index) is pruned first, as in `pruning`."""
    names = list(mask)
    alive = torch.cat([mask[n].flatten().cpu() for n in names])
    total_alive = int(alive.sum())
    if not 0 < remaining <= total_alive:
        raise ValueError(f"remaining={remaining} must be in [1, {total_alive}] (the weights that survive now)")
    flat = torch.cat([scores[n].detach().flatten().cpu().to(torch.float64) for n in names])
    keep = pruning.prune_lowest(-flat if invert else flat, alive, total_alive - remaining)
    parts = torch.split(keep, [mask[n].numel() for n in names])
    return {n: part.reshape(mask[n].shape) & mask[n].cpu() for n, part in zip(names, parts)}


def synflow_prune(model: nn.Module, mask: Mask, remaining: int, rounds: int = SYNFLOW_ROUNDS,
                  invert: bool = False, input_shape: tuple[int, ...] | None = None) -> Mask:
    """SynFlow's iterative schedule: `rounds` rounds, round k keeping density_k = d^(k/rounds) of the weights that
    `mask` keeps, with d = remaining / (weights `mask` keeps), the scores recomputed on the current mask each round."""
    start = sum(int(m.sum()) for m in mask.values())
    current = mask
    for k in range(1, rounds + 1):
        count = remaining if k == rounds else max(remaining, round(start * (remaining / start) ** (k / rounds)))
        current = keep_top(synflow_scores(model, current, input_shape), current, count, invert)
    return current


def prune_at_init(method: str, model: nn.Module, mask: Mask, remaining: int, data=None, invert: bool = False,
                  input_shape: tuple[int, ...] | None = None) -> Mask:
    """The `method`'s mask keeping `remaining` of the weights `mask` keeps. `data`: (x, y) for snip and grasp;
    `input_shape`: one example's shape, for synflow on a convolutional model."""
    check_method(method)
    if method in NEEDS_DATA and data is None:
        raise ValueError(f"method={method!r} scores weights on data: pass data=(x, y) (a minibatch; GraSP's "
                         f"reference uses {GRASP_SAMPLES_PER_CLASS} samples per class)")
    if method == "synflow":
        return synflow_prune(model, mask, remaining, invert=invert, input_shape=input_shape)
    if method == "magnitude":
        scores = magnitude_scores(model, mask)
    elif method == "snip":
        scores = snip_scores(model, mask, *data)
    else:
        scores = grasp_scores(model, mask, *data)
    return keep_top(scores, mask, remaining, invert)


def balanced_sample(y: torch.Tensor, per_class: int, generator: torch.Generator) -> torch.Tensor:
    """Indices of `per_class` random examples of each class (classes in order), as GraSP's reference draws them."""
    chosen = []
    for c in torch.unique(y).tolist():
        idx = (y == c).nonzero().flatten().cpu()
        if len(idx) < per_class:
            raise ValueError(f"class {c} has {len(idx)} examples; {per_class} per class were asked for")
        chosen.append(idx[torch.randperm(len(idx), generator=generator)[:per_class]])
    return torch.cat(chosen)


def gradient_flow(model: nn.Module, mask: Mask, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """At the model's current weights: the norm of the masked network's gradient over its surviving weights, and its
    cosine with the dense network's gradient (how much of the dense descent direction the mask keeps)."""
    names = list(mask)
    dense_mask = {n: torch.ones_like(m) for n, m in mask.items()}
    dense = _loss_grads(model, {k: v.requires_grad_(k in mask) for k, v in _masked_params(model, dense_mask).items()},
                        names, x, y)
    masked_params = {k: v.requires_grad_(k in mask) for k, v in _masked_params(model, mask).items()}
    sparse = [g * mask[n].to(g.device, g.dtype) for n, g in zip(names, _loss_grads(model, masked_params, names, x, y))]
    d, s = torch.cat([g.flatten() for g in dense]), torch.cat([g.flatten() for g in sparse])
    norm = float(s.norm())
    cosine = float(torch.dot(d, s) / (d.norm() * s.norm())) if norm > 0 else 0.0
    return {"grad_norm": norm, "dense_grad_norm": float(d.norm()), "cosine": cosine}
