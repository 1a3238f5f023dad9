"""analysis.interval_verdict: the words for a 95% interval against 0 (a difference) or 1 (a ratio)."""
import math

from lth_utils.results import analysis


def test_a_difference_is_judged_against_zero_and_a_ratio_against_one():
    assert analysis.interval_verdict(0.1, 0.3) == "higher"
    assert analysis.interval_verdict(-0.3, -0.1) == "lower"
    assert analysis.interval_verdict(-0.1, 0.3) == "no difference shown"
    assert analysis.interval_verdict(0.4, 0.8, "slower", "faster", "not shown to differ", reference=1.0) == "faster"
    assert analysis.interval_verdict(0.8, 1.2, "slower", "faster", "not shown to differ", reference=1.0) == \
        "not shown to differ"
    assert analysis.interval_verdict(1.1, 1.2, "slower", "faster", reference=1.0) == "slower"
    assert analysis.interval_verdict(math.nan, math.nan) == "one trial: no interval"
