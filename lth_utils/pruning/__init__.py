"""Pruning (floor 2), pure functions of tensors: `masks` (a mask is {weight name: bool tensor}), `magnitude` (the
paper's rates, magnitude and random pruning, the schedule's arithmetic; re-exported here, so `pruning.layer_rates`
reads as before), `scorers` (pruning at initialisation: SNIP, GraSP, SynFlow)."""
from .magnitude import *  # noqa: F401,F403
