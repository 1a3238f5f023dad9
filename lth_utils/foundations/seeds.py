"""Seeds: one derivation for every random stream the library draws (initial weights, data orders, reinitialisation,
random masks), so that streams for different purposes, trials and levels never collide.

    derive_seed(cfg.seed, trial, level, "data")   # the minibatch order of one level of one trial
    derive_seed(seed, "reinit")                   # tickets' reinitialisation: never torch.manual_seed(seed) itself
"""
from __future__ import annotations

import hashlib


def derive_seed(*parts) -> int:
    """A 63-bit seed from any parts (base seed, trial, level, purpose): independent streams, no collisions. It is never
    the base seed itself, so a control drawn with it cannot redraw the weights a script seeded with that seed."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1
