"""The side-by-side table with the paper: verdict rules on constructed data (each rule can fail), the censoring count,
and the README's table equal to what the code computes from the committed results."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lth_utils.results import analysis

from lth_utils.course import comparison
from lth_utils.course.profiles import imp_config

ROOT = Path(__file__).resolve().parents[2]


def _summary(arm: str, per_level: dict[int, list[float]], es: dict[int, list[int]] | None = None) -> pd.DataFrame:
    rows = []
    for level, accs in per_level.items():
        for trial, acc in enumerate(accs):
            rows.append({"arm": arm, "trial": trial, "level": level, "density": 0.8 ** level,
                         "test_acc_at_early_stop": acc,
                         "early_stop_iteration": (es or {}).get(level, [1000] * len(accs))[trial]})
    return pd.DataFrame(rows)


def test_number_verdict_judges_the_interval_of_the_mean_not_the_range():
    values = pd.Series([0.55, 0.6, 0.65])  # 95% CI [0.48, 0.72]
    assert comparison.number_verdict(values, 0.62, 1.0) == comparison.CONSISTENT
    assert comparison.number_verdict(values, 0.9, 1.0) == comparison.OTHER_SIZE  # below 1, but not 0.9
    assert comparison.number_verdict(pd.Series([1.2, 1.25, 1.3]), 0.62, 1.0) == comparison.DISAGREES
    assert comparison.number_verdict(pd.Series([1.2, 1.25, 1.3]), 2.5, 1.0) == comparison.OTHER_SIZE
    assert comparison.number_verdict(pd.Series([0.8, 1.0, 1.2]), 0.62, 1.0) == comparison.UNRESOLVED
    # the old rule's leniency: 0.62 lies inside this range [0.3, 1.6], but far outside the interval of the mean
    wide = pd.Series([0.3] + [1.5] * 8 + [1.6])
    assert comparison.number_verdict(wide, 0.62, 1.0) == comparison.DISAGREES


def test_sign_verdict_uses_the_paired_interval():
    assert comparison.sign_verdict(pd.Series([0.004, 0.005, 0.006]), "above") == comparison.AGREES
    assert comparison.sign_verdict(pd.Series([0.004, -0.005, 0.006]), "above") == comparison.UNRESOLVED
    assert comparison.sign_verdict(pd.Series([-0.004, -0.005, -0.006]), "above") == comparison.DISAGREES
    assert comparison.sign_verdict(pd.Series([-0.004, -0.005, -0.006]), "below") == comparison.AGREES
    assert comparison.sign_verdict(pd.Series([0.0005, -0.0005, 0.0, 0.0003, -0.0002]), "equal") == comparison.AGREES
    # a mean within 0.3 pp (the old rule's "agrees") whose 90% interval reaches past +-0.3 pp shows no equivalence
    assert comparison.sign_verdict(pd.Series([0.001, -0.002, 0.002]), "equal") == comparison.UNRESOLVED
    assert comparison.sign_verdict(pd.Series([0.01, 0.011, 0.012]), "equal") == comparison.DISAGREES
    # above 0 but reaching into the tolerance (+0.25 to +0.48 pp): neither equivalent nor shown outside it
    assert comparison.sign_verdict(pd.Series([0.0020, 0.0036, 0.0042, 0.0030, 0.0045]), "equal") == \
        comparison.UNRESOLVED
    assert comparison.sign_verdict(pd.Series([-0.0040, -0.0045, -0.0050]), "equal") == comparison.DISAGREES
    assert comparison.sign_verdict(pd.Series([0.01]), "above") == comparison.UNRESOLVED  # one trial decides nothing


def test_more_than_a_threshold_needs_the_interval_above_it():
    threshold = 0.003  # the paper's "more than +0.3 pp above dense" at 13.5% remaining
    assert comparison.threshold_verdict(pd.Series([0.0045, 0.005, 0.0055]), threshold) == comparison.AGREES
    # above 0 and holding 0.3 pp: the README's 13.5% row ([+0.19, +0.45]) once read "agrees" by its mean alone
    assert comparison.threshold_verdict(pd.Series([0.0016, 0.0039, 0.0033, 0.0039, 0.0033]), threshold) == \
        comparison.CONSISTENT
    assert comparison.threshold_verdict(pd.Series([0.001, 0.0012, 0.0014]), threshold) == comparison.OTHER_SIZE
    assert comparison.threshold_verdict(pd.Series([0.004, -0.005, 0.006]), threshold) == comparison.UNRESOLVED
    assert comparison.threshold_verdict(pd.Series([-0.004, -0.005, -0.006]), threshold) == comparison.DISAGREES


def test_the_onset_is_where_the_paired_interval_stays_below_zero():
    dense = [0.980, 0.979, 0.981]
    ticket = _summary("ticket", {0: dense, 1: [0.970, 0.971, 0.969], 2: [0.985, 0.984, 0.986],
                                 3: [0.975, 0.990, 0.978], 4: [0.970, 0.969, 0.971], 5: [0.960, 0.961, 0.959]})
    cis = comparison.paired_intervals(ticket, pd.Series(dense).rename_axis("trial"))  # dense by trial
    # level 1 is below dense but not for good; level 3 holds 0; from level 4 on every interval is below 0
    assert comparison.onset_level(cis) == 4
    assert comparison.onset_level({l: ci for l, ci in cis.items() if l <= 3}) is None
    assert comparison.onset_verdict(cis, 5) == comparison.AGREES  # within one level
    assert comparison.onset_verdict(cis, 3) == comparison.AGREES
    assert comparison.onset_verdict(cis, 2) == comparison.DISAGREES  # resolved above dense there
    no_onset = {l: ci for l, ci in cis.items() if l <= 3}
    assert comparison.onset_verdict(no_onset, 3) == comparison.UNRESOLVED  # the paper's level is within the noise


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
    ratio = "early-stop iteration at 21.1% remaining / dense's (argmin of validation loss, the paper's measure too)"
    assert table.loc[ratio, "ours"].startswith("0.61 [0.50, 0.70]; 95% CI [0.3")
    assert table.loc[ratio, "verdict"] == comparison.CONSISTENT
    assert table.loc["ticket at 21.1% remaining: test accuracy (%), and minus dense", "verdict"] == comparison.AGREES
    assert table.loc["ticket at 3.6% remaining: test accuracy (%), and minus dense", "verdict"] == comparison.DISAGREES
    assert table.loc["ticket at 1.9% remaining: test accuracy (%), and minus dense", "verdict"] == comparison.AGREES
    fall = "tickets fall below dense accuracy for good at (% remaining)"
    assert "(level 16), the first level from which the paired CI stays below 0" in table.loc[fall, "ours"]
    assert table.loc[fall, "verdict"] == comparison.AGREES
    assert table.loc["ticket minus reinitialised at 21.1% remaining (pp)", "verdict"] == comparison.CONSISTENT
    assert table.loc["reinitialised early-stop iteration / ticket's at 21.1% remaining", "verdict"] == \
        comparison.CONSISTENT
    onset = "reinitialised networks fall below dense accuracy for good at (% remaining)"
    assert table.loc[onset, "verdict"] == comparison.UNRESOLVED  # level 7: reinit - dense is +0.1, 0, -0.2 pp
    assert table.loc["tickets beat reinitialised networks by 10-15 pp", "verdict"] == comparison.DISAGREES
    assert table.loc["tickets at 80-90% sparsity within 2 pp of dense", "verdict"] == comparison.AGREES
    assert table.filter(like="Conv-2/4/6", axis=0)["verdict"].tolist() == [comparison.NOT_RUN]
    assert "| claim |" in comparison.markdown(table.reset_index())
    # controls stored at fewer than 10 levels (a shorter profile): the onset row says so instead of going missing
    short = comparison.side_by_side(ticket, reinit[reinit["level"] <= 9], ticket.iloc[0:0], {}).set_index("claim")
    assert short.loc[onset, "verdict"] == comparison.NOT_RUN
    assert short.loc[onset, "ours"] == "not computed: the control is stored at 9 levels (10 needed)"


def test_one_shot_accuracy_agrees_only_where_every_interval_is_above_dense():
    dense = pd.Series([0.980, 0.979, 0.981])
    above = _summary("one_shot", {1: [0.985, 0.984, 0.986]})
    noisy = _summary("one_shot", {1: [0.990, 0.970, 0.985]})
    below = _summary("one_shot", {1: [0.970, 0.969, 0.971]})
    verdict = lambda one_shot: comparison.one_shot_accuracy_row(one_shot, dense)["verdict"]  # noqa: E731
    assert verdict({3: above, 7: above}) == comparison.AGREES
    assert verdict({3: above, 7: noisy}) == comparison.UNRESOLVED
    assert verdict({3: above, 7: below}) == comparison.DISAGREES
    assert comparison.one_shot_accuracy_row({3: above, 7: noisy}, dense)["ours"].endswith("above at 1 of 2")


def test_the_es667_claims_are_judged_on_paired_intervals():
    dense = [0.980, 0.979, 0.981]
    close = {l: [0.975, 0.974, 0.976] for l in range(8, 11)}  # 10-20% remaining, 0.5 pp below dense
    ticket = _summary("ticket", {0: dense, **close})
    row = comparison.es667_within_2pp(ticket)
    assert row["verdict"] == comparison.AGREES and "worst single trial -0.50 pp" in row["ours"]
    far = _summary("ticket", {0: dense, **{l: [0.95, 0.951, 0.949] for l in range(8, 11)}})
    row = comparison.es667_within_2pp(far)
    assert row["verdict"] == comparison.DISAGREES
    reinit = _summary("reinit", {l: [a - 0.12 for a in accs] for l, accs in close.items()})
    assert comparison.es667_reinit_gap(ticket, reinit)["verdict"] == comparison.CONSISTENT
    assert comparison.es667_reinit_gap(ticket, _summary("reinit", close))["verdict"] == comparison.DISAGREES


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
    note = analysis.censoring_note({"ticket": rows}, late)
    assert note.startswith("1 of 2 runs (50%) were stopped by patience") and "a later, lower minimum" in note
    assert "no patience" in analysis.censoring_note({"ticket": rows}, paper)


def test_replay_patience_matches_the_training_rule():
    iterations = np.arange(0, 1100, 100)
    loss = np.array([5, 4, 3, 2, 2.5, 2.6, 2.7, 1.9, 2.0, 2.1, 2.2])
    assert analysis.replay_patience(iterations, loss, patience=3, cap=1000) == (600, 300, False)
    assert analysis.replay_patience(iterations, loss, patience=5, cap=1000) == (1000, 700, True)  # cap before patience


def test_source_000s_regression_claims_are_judged_on_paired_intervals_of_test_loss():
    def runs(per_round):  # per_round[r]: test loss of seeds 0-2 at round r (round 0 dense), density 0.9 ** r
        return pd.DataFrame([{"round": r, "seed": s, "density": 0.9 ** r, "test_loss": v}
                             for r, losses in enumerate(per_round) for s, v in enumerate(losses)])
    dense = [0.50, 0.60, 0.70]
    flat = [dense] + [[v + d for v, d in zip(dense, (0.01, -0.01, 0.0))]] * 8  # within noise down to 43% remaining
    # 47.8% remaining, in source 000's 40-50%: lower (53.1%, outside it, would not count)
    better = flat[:7] + [[v - 0.1 + d for v, d in zip(dense, (0.01, -0.01, 0.0))]] + flat[8:]
    worse = [dense, [v + 0.1 + d for v, d in zip(dense, (0.01, -0.01, 0.0))]] + flat[2:]  # 90%: higher
    verdicts = {name: [r["verdict"] for r in comparison.regression_rows(runs(data))]
                for name, data in (("flat", flat), ("better", better), ("worse", worse))}
    assert verdicts == {"flat": [comparison.UNRESOLVED, comparison.CONSISTENT],
                        "better": [comparison.AGREES, comparison.CONSISTENT],
                        "worse": [comparison.UNRESOLVED, comparison.DISAGREES]}
    assert all(r["source"] == "000" for r in comparison.regression_rows(runs(worse)))
    assert "the first, 90.0%: +0.100" in comparison.regression_rows(runs(worse))[1]["ours"]
    assert comparison.regression_rows(None) == []


def test_the_early_stop_claim_is_each_trials_ratio_to_its_own_dense_network():
    # dense stops at 1000, 2000, 3000; the tickets at 21.1% at 600, 1300, 1800: ratios 0.6, 0.65, 0.6
    ticket = _summary("ticket", {0: [0.98] * 3, 7: [0.985] * 3}, es={0: [1000, 2000, 3000], 7: [600, 1300, 1800]})
    claim = comparison.early_stop_claim(ticket)
    assert claim["ratios"].tolist() == pytest.approx([0.6, 0.65, 0.6])
    assert claim["verdict"] == comparison.CONSISTENT and "0.62 [0.60, 0.65]" in claim["text"]
    # every trial's ticket stops at 0.3x its dense network's: earlier, but not the paper's 0.62
    slow_dense = _summary("ticket", {0: [0.98] * 3, 7: [0.98] * 3}, es={0: [1000, 2000, 15000], 7: [300, 600, 4500]})
    assert comparison.early_stop_claim(slow_dense)["verdict"] == comparison.OTHER_SIZE
    # the README's row is this function's verdict
    table = comparison.side_by_side(ticket, ticket, ticket, {})
    assert table.loc[table["claim"].str.startswith("early-stop iteration"), "verdict"].tolist() == [comparison.CONSISTENT]


def test_the_ticket_claim_judges_a_level_by_the_papers_words_for_its_level():
    # trials' dense 98.0, 97.9, 98.1; at level 15 the tickets sit 0.1, -0.1, 0.0 pp from their dense network
    ticket = _summary("ticket", {0: [0.980, 0.979, 0.981], 9: [0.9830, 0.9835, 0.9850], 15: [0.981, 0.978, 0.981]})
    back = comparison.ticket_claim(ticket, 15)
    assert back["paper"] == "back to dense" and back["diffs"].tolist() == pytest.approx([0.001, -0.001, 0.0])
    assert back["verdict"] == comparison.AGREES  # the 90% interval within +-0.3 pp
    assert comparison.ticket_claim(ticket, 9)["verdict"] == comparison.CONSISTENT  # +0.30, +0.45, +0.40 pp: the CI holds 0.3
    # a shorter run judges its nearest level by the claim's words: level 9, +0.30 to +0.45 pp above dense, has a 95%
    # interval that reaches into the +-0.3 pp tolerance: neither back to dense nor shown away from it
    assert comparison.ticket_claim(ticket, 15, level=9)["verdict"] == comparison.UNRESOLVED
    # the README's row is this function's verdict and text
    table = comparison.side_by_side(ticket, ticket, ticket, {}).set_index("claim")
    row = table.loc["ticket at 3.6% remaining: test accuracy (%), and minus dense"]
    assert (row["verdict"], row["ours"]) == (back["verdict"], back["text"])


def test_the_one_shot_speed_claim_judges_each_trials_ratio_to_its_dense_network():
    dense_es = pd.Series([1000.0, 2000.0, 3000.0])
    one_shot = _summary("one_shot", {1: [0.98] * 3}, es={1: [500, 1100, 1500]})  # ratios 0.5, 0.55, 0.5
    claim = comparison.one_shot_speed_claim(one_shot, dense_es)
    assert claim["ratios"].tolist() == pytest.approx([0.5, 0.55, 0.5]) and claim["verdict"] == comparison.AGREES
    assert claim["interval"]["ci_high"] < 1 and claim["text"].startswith("0.52 [0.50, 0.55]")
    later = _summary("one_shot", {1: [0.98] * 3}, es={1: [1500, 2600, 4200]})  # 1.5, 1.3, 1.4: after dense
    assert comparison.one_shot_speed_claim(later, dense_es)["verdict"] == comparison.DISAGREES
    mixed = _summary("one_shot", {1: [0.98] * 3}, es={1: [500, 2600, 3000]})  # 0.5, 1.3, 1.0
    assert comparison.one_shot_speed_claim(mixed, dense_es)["verdict"] == comparison.UNRESOLVED
    # the README's row is this function's verdict and text
    ticket = _summary("ticket", {0: [0.98] * 3, 3: [0.985] * 3}, es={0: [1000, 2000, 3000], 3: [900] * 3})
    table = comparison.side_by_side(ticket, ticket, ticket, {3: one_shot}).set_index("claim")
    row = table.loc["one-shot to 51.3% remaining: early-stop iteration / dense's"]
    assert (row["verdict"], row["ours"]) == (claim["verdict"], claim["text"])


def test_the_one_shot_claim_agrees_only_where_every_interval_in_range_lies_above_zero():
    above, flat = pd.Series([0.003, 0.004, 0.005]), pd.Series([-0.002, 0.0, 0.003])
    assert comparison.one_shot_claim({50.0: above, 20.0: above})["verdict"] == comparison.AGREES
    claim = comparison.one_shot_claim({50.0: above, 20.0: flat, 2.0: -above, 98.0: -above})  # 2% and 98%: out of range
    assert claim["verdict"] == comparison.UNRESOLVED and claim["above"] == [50.0] and claim["below"] == []
    assert claim["text"].endswith("above at 1 of 2") and claim["text"].startswith("50.0%: +0.40 [")
    assert comparison.one_shot_claim({50.0: above, 10.0: -above})["verdict"] == comparison.DISAGREES
    assert comparison.one_shot_claim({})["verdict"] == comparison.UNRESOLVED


def test_the_dense_accuracy_agrees_where_the_interval_of_its_mean_meets_the_figures_98_percent():
    assert comparison.dense_verdict(pd.Series([0.9794, 0.9780, 0.9813])) == comparison.AGREES
    assert comparison.dense_verdict(pd.Series([0.9740, 0.9750, 0.9745])) == comparison.DISAGREES  # [97.33, 97.57]
    assert comparison.dense_verdict(pd.Series([0.9850, 0.9845, 0.9855])) == comparison.DISAGREES  # [98.38, 98.62]
    assert comparison.dense_verdict(pd.Series([0.98])) == comparison.UNRESOLVED


def test_reinit_is_clearly_worse_only_where_every_sparse_interval_lies_above_zero():
    def rows(*cis):  # (percent remaining, ci_low) of ticket-minus-reinit paired rows
        return pd.DataFrame([{"percent_remaining": p, "mean_diff": lo + 0.01, "ci_low": lo, "ci_high": lo + 0.02,
                              "trials": 5} for p, lo in cis])
    assert comparison.reinit_worse_claim(rows((21.1, -0.01), (7.0, 0.01), (3.6, 0.02)))["verdict"] == "holds"
    part = comparison.reinit_worse_claim(rows((7.0, 0.01), (3.6, -0.005)))
    assert part["verdict"] == "holds only in part" and part["clear"]["percent_remaining"].tolist() == [7.0]
    assert comparison.reinit_worse_claim(rows((7.0, -0.01)))["verdict"] == "is not supported"
    assert comparison.reinit_worse_claim(rows((21.1, 0.01))) is None  # no level below 10% remaining
