"""Morcos et al. 2019's main claim (a transferred ticket beats a random mask) as notebook 10 judges it."""
import pandas as pd
import pytest

from lth_utils.experiments import transfer
from lth_utils.results import analysis


def test_cases_above_zero_are_widened_for_every_case_looked_at():
    vs_random = pd.DataFrame([
        {"target": "MNIST", "percent_remaining": 21.1, "mean_diff": 0.010, "ci_low": 0.009, "ci_high": 0.011, "trials": 5},
        {"target": "MNIST", "percent_remaining": 7.0, "mean_diff": 0.004, "ci_low": 0.0005, "ci_high": 0.0075,
         "trials": 5},
        {"target": "Fashion-MNIST", "percent_remaining": 7.0, "mean_diff": -0.01, "ci_low": -0.02, "ci_high": -0.001,
         "trials": 5},
        {"target": "Fashion-MNIST", "percent_remaining": 21.1, "mean_diff": 0.0, "ci_low": -0.01, "ci_high": 0.01,
         "trials": 5}])
    claim = transfer.random_mask_claim(vs_random)
    assert (claim["cases"], claim["below"], claim["trials"]) == (4, 1, 5)
    assert claim["above"]["percent_remaining"].tolist() == [21.1, 7.0]
    low, _ = analysis.bonferroni_interval(0.004, 0.0005, 0.0075, 5, 4)
    assert claim["above"]["bonferroni_low"].iloc[1] == pytest.approx(low) and low < 0
    assert claim["above"]["survives"].tolist() == [True, False]  # the narrow one survives 4 tests, the wide one not
