"""What the surviving weights restart from before a pruned network trains again: one vocabulary for the IMP driver
(`IMPConfig.rewind`) and for tickets on your own model (`TicketConfig.rewind`).

    parse_rewind("init") == "init"   # their initial values (Frankle & Carbin 2019)
    parse_rewind("500") == 500       # their values after k training steps (late rewinding, Frankle et al. 2020)
    parse_rewind(0) == "init"        # k = 0 is the initialisation: one computation, one name
    parse_rewind("lr"), parse_rewind("none")   # no rewinding: retrain with the full schedule, or fine-tune
"""
from __future__ import annotations

from ..foundations.config import ConfigError

REWIND_WORDS = ("init", "none", "lr")


def parse_rewind(value) -> str | int:
    """'init', 'none', 'lr', or an iteration k >= 1 (int; 0 and '0' are 'init', '007' is 7); ConfigError otherwise."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return "init" if value == 0 else value
    if isinstance(value, str) and value in REWIND_WORDS:
        return value
    raise ConfigError("rewind", value, f"one of {', '.join(REWIND_WORDS)} or an iteration k >= 0 (a whole number)")


def rewind_iteration(rewind: str | int) -> int | None:
    """0 for 'init', k for an iteration, None for 'none' and 'lr' (the weights are not rewound)."""
    rewind = parse_rewind(rewind)
    return 0 if rewind == "init" else rewind if isinstance(rewind, int) else None
