"""The engine's CPU kernels, by version: what a training step and an evaluation compute.

    evaluate_forward = eval_plan(model)          # model(x) without gradient, ReLU -> 2x2 max-pool fused, same bits
    survivors = survivor_layers(model, mask, 2, device)   # version 2's sparse first layer, or {}
    train_forward = train_plan(model, survivors)

Kernel versions (every level's provenance records `kernels`; a level recorded without it was computed by 1):
  1  autograd through the model's own layers, as the engine computed until December 2026. Speed-ups that leave
     its bits as they were apply to it too: ReLU -> 2x2 max-pool as one compiled loop in both passes (same bits
     as the two ops, signed zeros and NaN included), the gradient and weight masking as one foreach call each,
     Adam's fused kernel called directly (training/adam.py), the backward pass written out as the aten ops autograd
     calls, without its graph (training/manual_step.py), and the test split evaluated once at the end on the
     weights kept at the best validation loss (`training.train`, test_curve=False).
  2  the default for new chains: also trains a sparse first Linear layer (density <= SPARSE_TRAIN_DENSITY) through
     its surviving weights only: a CSR forward pass, the weight gradient sampled at the survivors (SDDMM) and Adam
     over the survivors. The products sum in another order, so the last bits differ from version 1 (how far the
     results move: tests/integration/test_kernels.py and the README's "Engine speed" section). Dense levels and convolutional
     layers train as in version 1.
A chain (a trial's levels and the levels they read) never mixes versions: imp.chain_kernels picks the version its
stored levels were computed with, and KERNELS for a chain with nothing stored yet or whose stored levels train the
same bits in every version (`same_in_every_version`: dense and convolutional levels, and every level down to the
survivor density), so a stored version-1 chain continues in version 2 until its first layer reaches that density.
"""
from __future__ import annotations

import warnings

import numba
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

KERNELS = 2
KNOWN_KERNELS = (1, 2)
# The first Linear layer is trained through its survivors at or below this density (measured, benchmarks/bench.py:
# the CSR forward and SDDMM gradient win below ~10-15% on LeNet-300-100's 784 x 300 layer at batch 60).
SPARSE_TRAIN_DENSITY = 0.10
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
warnings.filterwarnings("ignore", message=".*sampled_addmm.*")


def check_kernels(kernels: int) -> None:
    if kernels not in KNOWN_KERNELS:
        raise ValueError(f"kernels={kernels!r} is unknown; known kernel versions: {KNOWN_KERNELS}")


# ------------------------------------------------------------------------------------------ ReLU + 2x2 max-pool
# ReLU -> 2x2 max-pool in one compiled loop (numba, one thread), for both passes: max_pool2d's kernel with the indices
# backward needs took ~1.1 ms of LeNet-5's ~7 ms step on one thread, the corners in torch more (strided where/copy).
# Same bits as F.max_pool2d(F.relu(y), 2) in both passes, signed zeros and NaN included: ReLU keeps -0.0 and NaN
# (v < 0 gives +0), the first maximum of a window in row-major order takes it, a NaN any number, a later NaN an earlier
# one (max_pool2d's rule); the gradient lands there as 0 + g, as max_pool2d's backward adds it into zeros; a window
# whose maximum is <= 0 gets no gradient, as ReLU's backward gives none.
NO_GRADIENT = 4
_NO_GRADIENT_U8 = np.uint8(NO_GRADIENT)


@numba.njit(cache=True, nogil=True, inline="always")
def _relu(v):  # pragma: no cover (compiled)
    """torch's ReLU: +0 for v < 0; -0.0 and NaN pass."""
    return np.float32(0.0) if v < np.float32(0.0) else v


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _relu_pool_forward(y, out, index):  # pragma: no cover (compiled)
    """max_pool2d's rule window by window, with branches: the reference, and the path for a tensor holding a NaN."""
    n, h, w = y.shape
    zero = np.float32(0.0)
    for i in range(n):
        for r in range(h // 2):
            top, bottom, o, ix = y[i, 2 * r], y[i, 2 * r + 1], out[i, r], index[i, r]
            for s in range(w // 2):
                best, k = _relu(top[2 * s]), 0
                v = _relu(top[2 * s + 1])
                if v > best or v != v:  # max_pool2d's rule: a larger value or a NaN takes the window
                    best, k = v, 1
                v = _relu(bottom[2 * s])
                if v > best or v != v:
                    best, k = v, 2
                v = _relu(bottom[2 * s + 1])
                if v > best or v != v:
                    best, k = v, 3
                o[s] = best
                ix[s] = k if best > zero or best != best else NO_GRADIENT


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _relu_pool_forward_fast(y, out, index):  # pragma: no cover (compiled)
    """The same windows without branches (the compiler vectorises it: ~3x faster on LeNet-5's first layer), exact
    when the tensor holds no NaN: the first corner equal to the window's maximum is the one max_pool2d's rule keeps,
    and a window of zeros keeps its first zero with its sign. Returns whether a NaN was seen: the caller then
    recomputes with `_relu_pool_forward`."""
    n, h, w = y.shape
    zero, nan = np.float32(0.0), False
    for i in range(n):
        for r in range(h // 2):
            for s in range(w // 2):
                a, b = y[i, 2 * r, 2 * s], y[i, 2 * r, 2 * s + 1]
                c, d = y[i, 2 * r + 1, 2 * s], y[i, 2 * r + 1, 2 * s + 1]
                nan |= (a != a) | (b != b) | (c != c) | (d != d)
                a, b, c, d = _relu(a), _relu(b), _relu(c), _relu(d)
                best = max(max(a, b), max(c, d))
                k = np.uint8((a != best) * (1 + (b != best) * (1 + (c != best))))
                out[i, r, s] = best if best > zero else a  # all corners +-0: the first is kept, with its sign
                index[i, r, s] = k if best > zero else _NO_GRADIENT_U8
    return nan


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _relu_pool_backward(grad, index, grad_in):  # pragma: no cover (compiled)
    """Every element of grad_in written without branches (0 + g at a window's kept corner, +0 elsewhere and in an odd
    last row or column), so no zeroed buffer is scattered into."""
    n, h2, w2 = grad.shape
    h, w = grad_in.shape[1], grad_in.shape[2]
    zero = np.float32(0.0)
    for i in range(n):
        for r in range(h2):
            for s in range(w2):  # (indexing the planes directly: row views here made it ~2.5x slower)
                k, v = index[i, r, s], grad[i, r, s] + zero
                grad_in[i, 2 * r, 2 * s] = v if k == 0 else zero
                grad_in[i, 2 * r, 2 * s + 1] = v if k == 1 else zero
                grad_in[i, 2 * r + 1, 2 * s] = v if k == 2 else zero
                grad_in[i, 2 * r + 1, 2 * s + 1] = v if k == 3 else zero
        if h % 2:
            grad_in[i, h - 1, :] = zero
        if w % 2:
            grad_in[i, :, w - 1] = zero


def _planes(t: torch.Tensor):
    """A contiguous (N, C, H, W) tensor as a numpy array of its N*C planes (a view)."""
    return t.view(-1, t.shape[-2], t.shape[-1]).numpy()


def _relu_pool(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(output, index of each window's kept corner or NO_GRADIENT) for a contiguous float32 CPU tensor."""
    n, c, h, w = y.shape
    out = y.new_empty(n, c, h // 2, w // 2)
    index = torch.empty(out.shape, dtype=torch.uint8)
    if _relu_pool_forward_fast(_planes(y), _planes(out), _planes(index)):
        _relu_pool_forward(_planes(y), _planes(out), _planes(index))
    return out, index


def _fusable(y: torch.Tensor) -> bool:
    return y.device.type == "cpu" and y.dtype == torch.float32 and y.dim() == 4


def max_pool_relu(y: torch.Tensor) -> torch.Tensor:
    """max_pool2d(relu(y), 2) without gradient, to the bit (evaluation): the compiled loop on a float32 CPU tensor
    (~4x faster than the two ops on LeNet-5's shapes, benchmarks/bench.py), else the two ops themselves."""
    if not _fusable(y):
        return F.max_pool2d(F.relu(y), 2)
    return _relu_pool(y.contiguous())[0]


def relu_pool_forward(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(max_pool2d(relu(y), 2), the index of each window's kept corner) for a float32 CPU tensor (N, C, H, W)."""
    return _relu_pool(y.contiguous())


def relu_pool_backward(grad: torch.Tensor, index: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The gradient of y (of `shape`) from the output's `grad` and the forward pass's `index`."""
    grad_in = grad.new_empty(shape)
    _relu_pool_backward(_planes(grad.contiguous()), _planes(index), _planes(grad_in))
    return grad_in


class _ReluPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y):
        out, index = relu_pool_forward(y)
        ctx.save_for_backward(index)
        ctx.shape = y.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return relu_pool_backward(grad, index, ctx.shape)


def relu_max_pool(y: torch.Tensor) -> torch.Tensor:
    """max_pool2d(relu(y), 2) with its gradient, to the bit, for a float32 CPU tensor of shape (N, C, H, W)."""
    return _ReluPool.apply(y)


def is_pool2(module: nn.Module) -> bool:
    def pair(v):
        return v if isinstance(v, tuple) else (v, v)
    return (isinstance(module, nn.MaxPool2d) and pair(module.kernel_size) == (2, 2)
            and pair(module.stride or module.kernel_size) == (2, 2) and pair(module.padding) == (0, 0)
            and pair(module.dilation) == (1, 1) and not module.ceil_mode and not module.return_indices)


def fused_layers(model: nn.Sequential, fuse: bool = True) -> list[tuple[nn.Module, bool]]:
    """The model's layers as [(layer, fused)], each ReLU followed by a 2x2 max-pool as one entry (the ReLU, True;
    the pool left out) where `fuse`: the walk every plan shares (eval_plan, train_plan, manual_step)."""
    layers, walk, i = list(model), [], 0
    while i < len(layers):
        fused = fuse and isinstance(layers[i], nn.ReLU) and i + 1 < len(layers) and is_pool2(layers[i + 1])
        walk.append((layers[i], fused))
        i += 2 if fused else 1
    return walk


# ------------------------------------------------------------------ a sparse first Linear layer, survivors only
def csr_pattern(mask: torch.Tensor, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(crow, col, flat index) of a 2-D mask's survivors on `device`: the fixed CSR pattern of a pruned weight (its
    values in CSR order are weight.reshape(-1)[flat]: row-major order is CSR value order)."""
    csr = mask.to("cpu", torch.float32).to_sparse_csr()
    flat = mask.reshape(-1).nonzero().squeeze(1)
    return csr.crow_indices().to(device), csr.col_indices().to(device), flat.to(device)


def survivor_density(sparse_train_density: float = 0.0) -> float:
    """The density at or below which version 2 trains a first Linear layer through its survivors: the config's
    `sparse_train_density` where set (version 1's CSR option uses the same threshold), else SPARSE_TRAIN_DENSITY."""
    return sparse_train_density or SPARSE_TRAIN_DENSITY


def survivor_forward(x_t: torch.Tensor, values: torch.Tensor, bias: torch.Tensor, crow, col, shape) -> torch.Tensor:
    """x W^T + b from x^T (contiguous) and W's surviving `values` in the CSR pattern (crow, col)."""
    csr = torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=False)
    return torch.sparse.mm(csr, x_t).t() + bias  # (addmm with a CSR matrix is ~2x slower at 2% density)


def survivor_backward(grad: torch.Tensor, x_t: torch.Tensor, crow, col, shape) -> tuple[torch.Tensor, torch.Tensor]:
    """(gradient of the surviving values, sampled at the pattern: SDDMM; gradient of the bias)."""
    pattern = torch.sparse_csr_tensor(crow, col, grad.new_zeros(col.shape), shape, check_invariants=False)
    grad_values = torch.sparse.sampled_addmm(pattern, grad.t().contiguous(), x_t.t(), beta=0.0).values()
    return grad_values, grad.sum(0)


class _SurvivorLinear(torch.autograd.Function):
    """y = x W^T + b for a W given by its surviving `values` in a fixed CSR pattern (crow, col); the gradient of the
    values is sampled at the pattern (SDDMM), so no dense weight gradient is formed. The input needs no gradient.
    x^T is made contiguous once and serves both passes (each kernel made its own copy; the same bits: both compute
    on that layout), and int32 indices spare MKL a conversion per call."""

    @staticmethod
    def forward(ctx, x, values, bias, crow, col, shape):
        x_t = x.t().contiguous()
        ctx.save_for_backward(x_t, crow, col)
        ctx.shape = shape
        return survivor_forward(x_t, values, bias, crow, col, shape)

    @staticmethod
    def backward(ctx, grad):
        x_t, crow, col = ctx.saved_tensors
        return None, *survivor_backward(grad, x_t, crow, col, ctx.shape), None, None, None


class SurvivorLayer:
    """A Linear layer's surviving weights as a compact Parameter (what the optimiser updates) with its CSR pattern;
    `write_back` puts them into the module's dense weight (zeros elsewhere) for evaluation and saving."""

    def __init__(self, module: nn.Linear, mask: torch.Tensor):
        self.module = module
        device = module.weight.device
        crow, col, self.flat = csr_pattern(mask, device)
        self.crow, self.col = crow.to(torch.int32), col.to(torch.int32)
        self.values = nn.Parameter(module.weight.detach().reshape(-1).index_select(0, self.flat))
        with torch.no_grad():
            module.weight.mul_(mask.to(device, module.weight.dtype))  # pruned weights exactly zero from the start

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return _SurvivorLinear.apply(x, self.values, self.module.bias, self.crow, self.col, self.module.weight.shape)

    def forward_values(self, x_t: torch.Tensor) -> torch.Tensor:
        """The layer's output from x^T, outside autograd (training.manual_step)."""
        return survivor_forward(x_t, self.values, self.module.bias, self.crow, self.col, self.module.weight.shape)

    def backward_values(self, grad: torch.Tensor, x_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return survivor_backward(grad, x_t, self.crow, self.col, self.module.weight.shape)

    @torch.no_grad()
    def write_back(self) -> None:
        self.module.weight.reshape(-1).index_copy_(0, self.flat, self.values)


# ------------------------------------------------------------------------------------------------- the plans
def eval_plan(model: nn.Module, csr_weights: dict | None = None):
    """A callable computing model(x) for evaluation (no gradient), to the bit: ReLU -> MaxPool2d(2) as
    `max_pool_relu`, and the Linear layers in `csr_weights` ({module: CSR weight}) as CSR x dense (the products then
    sum in another order; training.evaluate uses it at the same densities in every kernel version). Models that are
    not a Sequential run as they are."""
    if not isinstance(model, nn.Sequential):
        return model
    csr_weights = csr_weights or {}
    steps = [max_pool_relu if fused else _csr_step(layer, csr_weights[layer]) if layer in csr_weights else layer
             for layer, fused in fused_layers(model)]

    def forward(x):
        for step in steps:
            x = step(x)
        return x
    return forward


def _csr_step(module: nn.Linear, weight: torch.Tensor):
    def step(x):
        bias = module.bias.unsqueeze(1) if module.bias is not None else torch.zeros(1, 1, device=x.device)
        return torch.addmm(bias, weight, x.t()).t()
    return step


def train_plan(model: nn.Module, survivors: dict):
    """A callable computing model(x) for training, to the bit of model(x) in every kernel version: ReLU ->
    MaxPool2d(2) as `relu_max_pool` (float32 on the CPU), and the Linear layers in `survivors` ({module:
    SurvivorLayer}, version 2's sparse first layer) trained through their surviving weights."""
    if not isinstance(model, nn.Sequential):
        return model
    first = next(iter(model.parameters()), None)
    fuse = first is not None and first.device.type == "cpu" and first.dtype == torch.float32
    steps = [relu_max_pool if fused else survivors.get(layer, layer) for layer, fused in fused_layers(model, fuse)]
    if not survivors and all(step is layer for step, layer in zip(steps, model)):
        return model

    def forward(x):
        for step in steps:
            x = step(x)
        return x
    return forward


def same_in_every_version(mask: dict, sparse_train_density: float = 0.0) -> bool:
    """Whether a level with this mask trains the same bits in every kernel version: its first pruned layer is not a
    Linear layer (a 2-D mask) at or below the survivor density (version 1's `sparse_train_density` option uses the
    same threshold). Masks only shrink, so the levels before it in its chain train the same bits too."""
    first = next(iter(mask.values()), None)
    return first is None or first.dim() != 2 or first.float().mean().item() > survivor_density(sparse_train_density)


def survivor_layers(model: nn.Module, mask: dict, kernels: int, device: torch.device,
                    sparse_train_density: float = 0.0) -> dict:
    """{first Linear: SurvivorLayer} when version >= 2 trains it through its survivors (CPU, Sequential model, the
    layer is the first one with weights, at or below `survivor_density(sparse_train_density)`); else {}."""
    if kernels < 2 or device.type != "cpu" or not isinstance(model, nn.Sequential):
        return {}
    first = next((m for m in model if isinstance(m, (nn.Linear, nn.Conv2d))), None)
    if not isinstance(first, nn.Linear) or first.bias is None:
        return {}
    name = next(n for n, m in model.named_children() if m is first) + ".weight"
    if name not in mask or mask[name].float().mean().item() > survivor_density(sparse_train_density):
        return {}
    return {first: SurvivorLayer(first, mask[name])}
