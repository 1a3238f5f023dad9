"""lth_utils: the small library behind the Lottery Ticket Hypothesis notebooks.

Modules, one concern each: data (exact offline datasets as tensors), models (the paper's networks), masks and pruning
(pure functions), training (masked Adam/SGD with early-stopping records), imp (the IMP driver, arms and rewinding),
store (the run store), config (dataclass -> CLI flags and run hash), plots (one figure style).
"""
__version__ = "0.1.0"
