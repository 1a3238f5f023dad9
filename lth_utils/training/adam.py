"""Adam as `torch.optim.Adam(params, lr, weight_decay=wd, fused=True)` computes it, to the bit, without the Optimizer
machinery around the fused kernel: its per-step Python (hooks, groups, lazy state, the grad-mode wrapper) took
~0.1 ms of a 1.1 ms LeNet-300-100 step on one thread, more than the kernel itself (benchmarks/bench.py).

    optimizer = FusedAdam(model.parameters(), lr=1.2e-3)
    loss.backward(); optimizer.step(); optimizer.zero_grad()
    optimizer.param_groups[0]["lr"] = new_lr      # as with torch.optim (the warm-up schedule sets it)

The same arithmetic: each parameter's step count, first and second moments start at zero the first time it has a
gradient; a step advances the count and calls the same fused kernel on the parameters that have a gradient
(tests/unit/test_adam.py compares the bits with torch.optim.Adam).
"""
from __future__ import annotations

import torch


class FusedAdam:
    def __init__(self, params, lr: float, weight_decay: float = 0.0, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.params = list(params)
        for p in self.params:
            if not (p.is_floating_point() and p.device.type in ("cpu", "cuda")):
                raise ValueError(f"FusedAdam needs floating-point parameters on the CPU or CUDA, got {p.dtype} on "
                                 f"{p.device}")
        self.param_groups = [{"lr": lr, "params": self.params}]
        self.weight_decay, self.betas, self.eps = weight_decay, betas, eps
        self.state: dict[torch.Tensor, dict[str, torch.Tensor]] = {}  # as torch.optim's: step, exp_avg, exp_avg_sq

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def _state(self, p: torch.Tensor) -> dict[str, torch.Tensor]:
        state = self.state.get(p)
        if state is None:  # the step count as a float32 scalar beside the parameter, as the fused optimiser keeps it
            state = self.state[p] = {"step": torch.zeros((), dtype=torch.float32, device=p.device),
                                     "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                                     "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
        return state

    @torch.no_grad()
    def step(self) -> None:
        params = [p for p in self.params if p.grad is not None]
        if not params:
            return
        states = [self._state(p) for p in params]
        steps = [s["step"] for s in states]
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(params, [p.grad for p in params], [s["exp_avg"] for s in states],
                           [s["exp_avg_sq"] for s in states], [], steps, amsgrad=False,
                           lr=self.param_groups[0]["lr"], beta1=self.betas[0], beta2=self.betas[1],
                           weight_decay=self.weight_decay, eps=self.eps, maximize=False, grad_scale=None,
                           found_inf=None)
