"""Notebook 00: the quickstart finds tickets in its own small CNN with the own-model API (tickets.py): these are its
sizes per profile."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quickstart:
    steps: int = 3000  # training steps per round
    rounds: int = 8  # pruning rounds
    trials: int = 5
    subset: int = 0  # training images (0: all)
