"""Notebook 07's two sanity-check claims (Frankle et al. 2021) as library functions, on verdicts whose answers are
known: sanity_verdict's words are what the tallies count."""
import pandas as pd

from lth_utils.experiments import init_pruning


def _sanity() -> pd.DataFrame:
    diffs = {("snip", "shuffle"): [1.0, 1.2, 0.9],        # hurts (interval above 0)
             ("snip", "reinit"): [0.05, -0.05, 0.0],      # equivalent within 0.3 pp
             ("grasp", "shuffle"): [2.0, -1.5, 0.4],      # not distinguishable
             ("snip", "invert"): [20.0, 2.0, 40.0],       # worse in every trial, the interval holding 0
             ("grasp", "invert"): [0.5, -0.4, 0.1]}       # not shown
    rows = []
    for (method, ablation), d in diffs.items():
        v = pd.Series(d)
        rows.append({"method": method, "ablation": ablation, "ci_low": v.mean() - 1, "ci_high": v.mean() + 1,
                     "trials": len(d), "verdict": init_pruning.sanity_verdict(v)})
    return pd.DataFrame(rows)


def test_which_weights_claim_sorts_the_cases_by_their_verdicts():
    claim = init_pruning.which_weights_claim(_sanity())
    assert len(claim["cases"]) == 3
    assert claim["hurt"][["method", "ablation"]].values.tolist() == [["snip", "shuffle"]]
    assert claim["equivalent"][["method", "ablation"]].values.tolist() == [["snip", "reinit"]]
    assert claim["unresolved"][["method", "ablation"]].values.tolist() == [["grasp", "shuffle"]]
    assert claim["half_widths"].tolist() == [1.0]


def test_inversion_tally_counts_worse_in_every_trial_apart_from_the_interval():
    tally = init_pruning.inversion_tally(_sanity())
    assert tally.loc["snip"].tolist() == [1, 0, 1]  # densities, hurts, every_trial
    assert tally.loc["grasp"].tolist() == [1, 0, 0]
