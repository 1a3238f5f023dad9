"""analysis.interval_verdict: the words for a 95% interval against 0 (a difference) or 1 (a ratio)."""
import math

import pandas as pd

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


def test_versus_dense_pairs_each_level_with_its_trials_dense_network():
    rows = [{"trial": t, "level": l, "density": 0.8 ** l, "acc": acc}
            for t, accs in enumerate([[0.90, 0.92, 0.85], [0.91, 0.935, 0.86], [0.92, 0.94, 0.87]])
            for l, acc in enumerate(accs)]
    paired = analysis.versus_dense(pd.DataFrame(rows), "acc")
    assert paired["level"].tolist() == [1, 2] and paired["trials"].tolist() == [3, 3]
    assert paired["mean_diff"].round(4).tolist() == [0.0217, -0.05]  # +0.02, +0.025, +0.02; -0.05 three times
    assert analysis.where_resolved(paired) == " The interval lies above dense at 80.0% remaining and below it at 64.0%."
    assert analysis.where_resolved(paired.iloc[1:]) == " The interval lies below dense at 64.0% remaining."
    assert analysis.where_resolved(paired.assign(ci_low=-1.0, ci_high=1.0)) == ""


def test_ci_text_says_when_there_is_no_interval():
    assert analysis.ci_text({"ci_low": 0.0005, "ci_high": 0.0048}, scale=100) == "95% CI +0.05, +0.48"
    assert analysis.ci_text(analysis.mean_interval([0.7]), spec=".2f") == "one trial: no interval"
