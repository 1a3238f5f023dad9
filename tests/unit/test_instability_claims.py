"""Frankle et al. (2020)'s two instability claims as notebook 04 judges them: the tickets' stability (every barrier
below 2 pp, the dense network's own copies left out) and random pruning's contrast (paired by trial)."""
import pandas as pd
import pytest

from lth_utils.experiments import instability


def _pairs(probe: str, level: int, remaining: float, barriers: list[float]) -> list[dict]:
    return [{"probe": probe, "trial": t, "level": level, "percent_remaining": remaining, "barrier": b,
             "train_barrier": b / 2, "midpoint_excess": -b / 4} for t, b in enumerate(barriers)]


def _table() -> pd.DataFrame:
    rows = (_pairs("ticket, k = 0", 0, 100.0, [0.03, 0.01, 0.01])  # the dense network's own copies: not a ticket
            + _pairs("ticket, k = 0", 7, 21.1, [0.004, 0.006, 0.005])
            + _pairs("ticket, k = 500", 7, 21.1, [0.001, 0.002, 0.019])
            + _pairs("random pruning, k = 0", 7, 21.1, [0.010, 0.012, 0.030]))
    return pd.DataFrame(rows)


def test_tickets_are_stable_when_every_pruned_pair_is_below_two_points_and_the_dense_copies_are_apart():
    stability = instability.ticket_stability(_table())
    assert len(stability["tickets"]) == 6 and len(stability["dense"]) == 3
    assert stability["stable"] is True  # the dense pair at 3 pp is not counted
    assert stability["largest"]["barrier"] == 0.019 and stability["largest"]["probe"] == "ticket, k = 500"
    assert stability["midpoint_better"] == 1.0
    # per trial, its pairs' midpoint excess averaged (-b/4): trial 0 (-0.004 - 0.001) / 8, ... then over trials
    per_trial = [-(0.004 + 0.001) / 8, -(0.006 + 0.002) / 8, -(0.005 + 0.019) / 8]
    assert stability["midpoint_interval"]["mean"] == pytest.approx(sum(per_trial) / 3)
    assert stability["midpoint_interval"]["n"] == 3 and stability["midpoint_interval"]["ci_low"] < sum(per_trial) / 3
    table = _table()
    table.loc[(table["probe"] == "ticket, k = 500") & (table["trial"] == 2), "barrier"] = 0.02  # 2 pp: not below
    assert instability.ticket_stability(table)["stable"] is False


def test_random_pruning_contrast_is_paired_by_trial_and_counts_unstable_pairs():
    contrast = instability.random_pruning_contrast(_table(), "ticket, k = 0")
    versus = contrast["versus"].iloc[0]
    assert versus["mean_diff"] == pytest.approx((0.006 + 0.006 + 0.025) / 3)
    assert versus["trials"] == 3
    assert contrast["unstable"].to_dict() == {7: 1} and contrast["pairs"] == 3
    assert contrast["rests_on_intervals"] is True  # 1 of 3 random-pruning pairs at 2 pp or more
    assert contrast["above"].empty  # differences 0.006, 0.006, 0.025: the 95% interval holds 0
