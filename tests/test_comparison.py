"""The side-by-side table with the paper: verdict rules on constructed data (each rule can fail), the censoring count,
and the README's table equal to what the code computes from the committed results."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lth_utils import analysis, comparison
from lth_utils.profiles import imp_config

ROOT = Path(__file__).resolve().parents[1]


def _summary(arm: str, per_level: dict[int, list[float]], es: dict[int, list[int]] | None = None) -> pd.DataFrame:
    rows = []
    for level, accs in per_level.items():
        for trial, acc in enumerate(accs):
            rows.append({"arm": arm, "trial": trial, "level": level, "density": 0.8 ** level,
                         "test_acc_at_early_stop": acc,
                         "early_stop_iteration": (es or {}).get(level, [1000] * len(accs))[trial]})
    return pd.DataFrame(rows)


def test_number_verdict_inside_range_same_side_and_opposite():
    values = pd.Series([0.3, 0.5, 0.7])
    assert comparison.number_verdict(values, 0.62, 1.0) == comparison.AGREES
    assert comparison.number_verdict(values, 0.9, 1.0) == comparison.OTHER_SIZE  # all below 1, but not 0.9
    assert comparison.number_verdict(pd.Series([1.1, 1.3]), 0.62, 1.0) == comparison.DISAGREES
    assert comparison.number_verdict(pd.Series([1.1, 1.3]), 2.5, 1.0) == comparison.OTHER_SIZE


def test_sign_verdict_uses_the_paired_interval():
    assert comparison.sign_verdict(pd.Series([0.004, 0.005, 0.006]), "above") == comparison.AGREES
    assert comparison.sign_verdict(pd.Series([0.004, -0.005, 0.006]), "above") == comparison.UNRESOLVED
    assert comparison.sign_verdict(pd.Series([-0.004, -0.005, -0.006]), "above") == comparison.DISAGREES
    assert comparison.sign_verdict(pd.Series([-0.004, -0.005, -0.006]), "below") == comparison.AGREES
    assert comparison.sign_verdict(pd.Series([0.001, -0.002, 0.002]), "equal") == comparison.AGREES
    assert comparison.sign_verdict(pd.Series([0.01, 0.011, 0.012]), "equal") == comparison.DISAGREES
    assert comparison.sign_verdict(pd.Series([0.01]), "above") == comparison.UNRESOLVED  # one trial decides nothing


def test_fall_back_level_starts_after_the_peak():
    ticket = _summary("ticket", {0: [0.98, 0.98], 1: [0.975, 0.975], 2: [0.985, 0.985], 3: [0.982, 0.982],
                                 4: [0.97, 0.97], 5: [0.96, 0.96]})
    # level 1 is below dense but comes before the peak (level 2): the fall-back is level 4
    assert comparison.fall_back_level(ticket, 0.98) == 4
    assert comparison.fall_back_level(ticket[ticket["level"] <= 3], 0.98) is None


def test_side_by_side_rows_and_verdicts():
    dense = [0.980, 0.979, 0.981]
    levels = {0: dense, **{l: [0.985, 0.984, 0.986] for l in range(1, 16)}, 16: [0.97] * 3, 17: [0.96] * 3,
              18: [0.95] * 3}
    es = {0: [5000, 5000, 5000], 7: [2500, 3100, 3500]}  # ratios 0.5, 0.62, 0.7: the paper's 0.62 is inside
    ticket = _summary("ticket", levels, es)
    reinit = _summary("reinit", {l: [a - d for a, d in zip(accs, (0.004, 0.005, 0.007))]
                                 for l, accs in levels.items() if l > 0},
                      {7: [7500, 7750, 8750]})  # 3.0x, 2.5x, 2.5x
    table = comparison.side_by_side(ticket, reinit, ticket.iloc[0:0], {}).set_index("claim")
    assert table.loc["dense test accuracy at early stop (%)", "verdict"] == comparison.AGREES
    assert table.loc["early-stop iteration at 21.1% remaining / dense's", "ours"] == "0.61 [0.50, 0.70]"
    assert table.loc["early-stop iteration at 21.1% remaining / dense's", "verdict"] == comparison.AGREES
    assert table.loc["ticket at 21.1% remaining: test accuracy (%), and minus dense", "verdict"] == comparison.AGREES
    assert table.loc["ticket at 3.6% remaining: test accuracy (%), and minus dense", "verdict"] == comparison.DISAGREES
    assert table.loc["ticket at 1.9% remaining: test accuracy (%), and minus dense", "verdict"] == comparison.AGREES
    assert table.loc["tickets fall back below dense accuracy at (% remaining)", "ours"].endswith("(level 16)")
    assert table.loc["tickets fall back below dense accuracy at (% remaining)", "verdict"] == comparison.AGREES
    assert table.loc["ticket minus reinitialised at 21.1% remaining (pp)", "verdict"] == comparison.AGREES
    assert table.loc["reinitialised early-stop iteration / ticket's at 21.1% remaining", "verdict"] == comparison.AGREES
    assert table.loc["tickets beat reinitialised networks by 10-15 pp", "verdict"] == comparison.DISAGREES
    assert table.loc["tickets at 80-90% sparsity within 2 pp of dense", "verdict"] == comparison.AGREES
    assert "| claim |" in comparison.markdown(table.reset_index())


def test_splice_replaces_only_the_block():
    text = f"intro\n{comparison.START}\nold\n{comparison.END}\nrest\n"
    assert comparison.splice(text, "new") == f"intro\n{comparison.START}\nnew\n{comparison.END}\nrest\n"
    with pytest.raises(ValueError, match="side-by-side"):
        comparison.splice("no markers", "new")


def test_censored_counts_runs_that_hit_the_cap():
    cfg = imp_config("standard", iterations=10_000, patience=20)  # stops 2,000 after its minimum, at 10,000
    rows = pd.DataFrame({"level": [0, 1, 2, 3], "early_stop_iteration": [4000, 9000, 7000, 10000],
                         "iterations_run": [6000, 10000, 10000, 10000]})
    assert analysis.censored(rows, cfg).tolist() == [False, True, False, True]
    paper = imp_config("paper")  # no patience: censored only when the minimum is the last evaluation
    rows = pd.DataFrame({"level": [0, 1], "early_stop_iteration": [8300, 50000], "iterations_run": [50000] * 2})
    assert analysis.censored(rows, paper).tolist() == [False, True]
    late = imp_config("standard", iterations=10_000, patience=20, rewind="500")  # a rewound level trains iterations - k steps: 9,500 is the cap
    rows = pd.DataFrame({"level": [1, 1], "early_stop_iteration": [9500, 3000], "iterations_run": [9500, 5000]})
    assert analysis.censored(rows, late).tolist() == [True, False]
    assert analysis.censoring_note({"ticket": rows}, late).startswith("1 of 2 runs (50%)")


def test_readme_table_is_the_one_computed_from_the_committed_results():
    readme = (ROOT / "README.md").read_text()
    block = readme.split(comparison.START, 1)[1].split(comparison.END, 1)[0].strip()
    printed = subprocess.run([sys.executable, "-m", "lth_utils", "compare", "--profile", "paper",
                              "--store", "results/paper/store"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == block, "README out of date: run `make compare`"


def test_replay_patience_matches_the_training_rule():
    iterations = np.arange(0, 1100, 100)
    loss = np.array([5, 4, 3, 2, 2.5, 2.6, 2.7, 1.9, 2.0, 2.1, 2.2])
    assert analysis.replay_patience(iterations, loss, patience=3, cap=1000) == (600, 300, False)
    assert analysis.replay_patience(iterations, loss, patience=5, cap=1000) == (1000, 700, True)  # cap before patience
