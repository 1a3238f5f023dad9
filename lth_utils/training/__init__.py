"""Training (floor 3): `loop` (TrainConfig, train, evaluate: one masked training run with its early-stopping record;
re-exported here, so `training.train` reads as before), `masking` (pruned weights stay exactly zero), `kernels` (the
engine's kernel versions: what a step and an evaluation compute), `manual_step` (the backward pass written out,
autograd's bits without its graph), `adam` (torch's fused Adam called directly), `workers` (the single-thread worker
pool)."""
from .loop import *  # noqa: F401,F403
