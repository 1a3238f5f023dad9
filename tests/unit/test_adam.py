"""FusedAdam computes what torch.optim.Adam(fused=True) computes, to the bit."""
from __future__ import annotations

import pytest
import torch

from lth_utils.training.adam import FusedAdam


@pytest.mark.parametrize("weight_decay", [0.0, 1e-4])
def test_fused_adam_gives_torchs_bits_step_by_step(weight_decay):
    torch.manual_seed(0)
    shapes = [(30, 20), (30,), (5, 3, 3, 3)]
    ours = [torch.randn(s, requires_grad=True) for s in shapes]
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    a = FusedAdam(ours, lr=1.2e-3, weight_decay=weight_decay)
    b = torch.optim.Adam(theirs, lr=1.2e-3, weight_decay=weight_decay, fused=True)
    for step in range(40):
        grads = [torch.randn(s) * 10 ** (step % 5 - 2) for s in shapes]
        skip = 1 if step % 7 == 3 else None  # a parameter without a gradient this step: neither moves it
        for params in (ours, theirs):
            for i, (p, g) in enumerate(zip(params, grads)):
                p.grad = None if i == skip else g.clone()
        if step == 20:  # the warm-up schedule sets the rate through param_groups
            a.param_groups[0]["lr"] = b.param_groups[0]["lr"] = 3e-4
        a.step()
        b.step()
        a.zero_grad(set_to_none=True)
        b.zero_grad(set_to_none=True)
        for p, q in zip(ours, theirs):
            assert torch.equal(p.view(torch.int32), q.view(torch.int32)), step
    assert all(p.grad is None for p in ours)


def test_fused_adam_refuses_integer_parameters_up_front():
    with pytest.raises(ValueError, match="floating-point"):
        FusedAdam([torch.zeros(3, dtype=torch.int64)], lr=1e-3)
