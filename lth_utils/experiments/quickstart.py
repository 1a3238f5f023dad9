"""Notebook 00: the quickstart finds tickets in its own small CNN with the own-model API (tickets.py): these are its
sizes per profile."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quickstart:
    steps: int  # training steps per round
    rounds: int  # pruning rounds
    trials: int
    subset: int  # training images (0: all)


SETTINGS: dict[str, Quickstart] = {  # per profile
    "smoke": Quickstart(steps=20, rounds=2, trials=2, subset=1000),
    "quick": Quickstart(steps=400, rounds=4, trials=2, subset=0),
    "standard": Quickstart(steps=800, rounds=5, trials=5, subset=0),  # 3 trials: ticket - reinit flipped across CPUs
    "paper": Quickstart(steps=3000, rounds=8, trials=5, subset=0),
}
