"""analysis.interval_verdict: the words for a 95% interval against 0 (a difference) or 1 (a ratio); analysis.span."""
import math

import numpy as np
import pytest
from scipy import stats

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


def test_fiellers_ratio_interval_reduces_to_the_t_interval_over_a_constant_denominator():
    num = [0.2, 0.5, 0.3, 0.4]
    plain = analysis.mean_interval([x / 0.5 for x in num])
    r = analysis.ratio_interval(num, [0.5] * 4)
    assert r["ratio"] == pytest.approx(0.7) and r["n"] == 4
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((plain["ci_low"], plain["ci_high"]))
    # every r inside makes mean(num - r * den) compatible with 0; here by brute force on a grid
    num, den = np.array([0.3, 0.1, 0.4, 0.2, 0.35]), np.array([0.5, 0.3, 0.6, 0.45, 0.4])
    r = analysis.ratio_interval(num, den)
    grid = np.linspace(-2, 3, 50001)
    diffs = num[None, :] - grid[:, None] * den[None, :]
    t = np.abs(diffs.mean(axis=1)) / (diffs.std(axis=1, ddof=1) / np.sqrt(5))
    inside = grid[t <= stats.t.ppf(0.975, 4)]
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((min(inside), max(inside)), abs=2e-4)


def test_a_ratio_over_an_unresolved_denominator_has_no_bounded_interval():
    r = analysis.ratio_interval([0.1, 0.2, 0.15], [0.1, -0.1, 0.05])  # the denominator's interval holds 0
    assert r["ratio"] == pytest.approx(0.45 / 0.05) and math.isnan(r["ci_low"]) and math.isnan(r["ci_high"])
    assert math.isnan(analysis.ratio_interval([0.1], [0.2])["ci_low"])  # one trial


def test_share_of_lead_pairs_the_three_arms_by_trial():
    def summary(accs):
        return pd.DataFrame({"trial": range(len(accs)), "level": 3, "density": 0.512, "test_acc_at_early_stop": accs})
    arms = {"reinit": summary([0.90, 0.91, 0.92]), "ticket": summary([0.94, 0.95, 0.97]),
            "signs": summary([0.92, 0.93, 0.945, 0.99])}  # a fourth trial only one arm ran is left out
    row = analysis.share_of_lead(arms, "signs", "ticket", "reinit", [3]).iloc[0]
    assert row["ratio"] == pytest.approx((0.02 + 0.02 + 0.025) / (0.04 + 0.04 + 0.05))
    assert row["n"] == 3 and row["percent_remaining"] == pytest.approx(51.2) and row["lead"] == pytest.approx(0.13 / 3)
    assert row["ci_low"] < row["ratio"] < row["ci_high"]


def test_span_names_one_value_once():
    assert analysis.span([5, 5, 5]) == "5"  # not "5-5 trials"
    assert analysis.span([3, 5, 4]) == "3-5"
    assert analysis.span(pd.Series([41.04, 65.6]), ".0f") == "41-66"
    assert analysis.span([65.6, 65.9], ".0f") == "66"  # ends that read the same are one


def test_significant_keeps_three_digits_without_exponents():
    assert analysis.significant(1080.3) == "1080" and analysis.significant(5390.0) == "5390"
    assert analysis.significant(0.000233) == "0.000233" and analysis.significant(-3.3) == "-3.30"
    assert analysis.significant(0.27, sign=True) == "+0.270" and analysis.significant(-0.0145, sign=True) == "-0.0145"
