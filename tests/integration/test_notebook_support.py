"""Profiles, notebook parameters, analysis statistics, instability barriers and the double-descent helpers."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from lth_utils.results import analysis

from lth_utils import experiments

from lth_utils.lottery import imp

from lth_utils.experiments import instability

from lth_utils.course import notebook, profiles
from lth_utils.experiments import double_descent
from lth_utils.foundations.config import ConfigError
from lth_utils.lottery.imp import IMPConfig


def _levels(cfg) -> list[int]:
    """The levels a run trains, as the engine plans its tasks (imp.tasks_of)."""
    return sorted({level for _, _, level in imp.tasks_of(cfg)})


def test_paper_profile_uses_the_papers_hyperparameters():
    cfg = profiles.imp_config("paper")
    assert (cfg.optimizer, cfg.lr, cfg.batch_size, cfg.iterations, cfg.eval_every) == ("adam", 1.2e-3, 60, 50_000, 100)
    assert (cfg.rate, cfg.output_rate, cfg.scope, cfg.rewind, cfg.trials, cfg.train_subset) == (
        0.2, None, "layerwise", "init", 5, 0)
    assert cfg.num_levels == 18  # the paper's 1.8% remaining in the hidden layers, 1.85% overall (Figure 3)
    assert cfg.remaining_at(18) / cfg.remaining_at(0) == pytest.approx(0.0185, abs=0.0006)


def test_roc_auc_is_one_for_perfect_scores_and_half_for_ties():
    assert analysis.roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert analysis.roc_auc(np.ones(4), np.array([0, 1, 0, 1])) == 0.5


def test_a_bonferroni_interval_is_the_t_interval_at_the_family_wise_level():
    d = np.array([0.9, 1.1, 1.0, 1.2, 0.8])
    mean, half = d.mean(), stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    assert analysis.bonferroni_interval(mean, mean - half, mean + half, 5, 1) == pytest.approx((mean - half, mean + half))
    low, high = analysis.bonferroni_interval(mean, mean - half, mean + half, 5, 10)
    assert (low, high) == pytest.approx((mean - stats.t.ppf(0.9975, 4) * d.std(ddof=1) / np.sqrt(5),
                                         mean + stats.t.ppf(0.9975, 4) * d.std(ddof=1) / np.sqrt(5)))
    assert low < mean - half


def test_one_shot_like_matches_the_per_layer_densities_of_an_imp_level():
    cfg = IMPConfig()
    one_shot = experiments.imp_runs.one_shot_like(cfg, 7)
    assert one_shot.levels == 1
    assert 1 - one_shot.rate == pytest.approx(0.8 ** 7) and 1 - one_shot.output_rate == pytest.approx(0.9 ** 7)


def test_error_barrier_is_the_rise_above_the_mean_of_the_ends():
    assert instability.barrier([0.02, 0.05, 0.04]) == pytest.approx(0.05 - 0.03)
    assert instability.barrier([0.02, 0.02, 0.02]) == 0.0
    assert instability.midpoint_excess([0, 0.5, 1], [0.04, 0.01, 0.02]) == pytest.approx(0.01 - 0.03)


def test_interpolation_hits_both_ends_exactly():
    a, b = {"w": torch.randn(3, 3)}, {"w": torch.randn(3, 3)}
    from lth_utils.experiments import landscape
    assert torch.equal(landscape.interpolate(a, b, 0.0)["w"], a["w"])
    assert torch.equal(landscape.interpolate(a, b, 1.0)["w"], b["w"])


def test_describe_curve_finds_the_double_descent_peak_after_the_classical_minimum():
    loss = pd.Series([1.2, 0.4, 0.6, 0.9, 0.7, 0.5], index=[1, 4, 8, 16, 64, 256])
    shape = double_descent.describe_curve(loss)
    assert (shape["classical_width"], shape["peak_width"], shape["second_descent"]) == (4, 16, True)
    flat = double_descent.describe_curve(pd.Series([1.0, 0.5, 0.8, 0.9], index=[1, 2, 4, 8]))
    assert flat["peak_width"] == 8 and not flat["second_descent"]


def test_regression_data_is_seeded_and_the_teacher_signal_is_standardised():
    cfg = double_descent.RegressionConfig(noise=0.0, n_train=500, n_test=500)
    a, b = double_descent.make_data(cfg), double_descent.make_data(cfg)
    assert torch.equal(a["y_train"], b["y_train"])
    y = torch.cat([a["y_train"], a["y_test"]])
    assert abs(y.mean().item()) < 1e-5 and abs(y.std().item() - 1) < 1e-4


def test_pruned_regression_weights_stay_zero(tmp_path):
    cfg = double_descent.RegressionConfig(width=20, steps=30, steps_per_width=0, weight_decay=1e-2, out=str(tmp_path))
    rows = double_descent.regression_imp(cfg, rounds=2, rate=0.5)
    assert [r["round"] for r in rows] == [0, 1, 2] and rows[2]["density"] < rows[1]["density"] < 1
    mask = {"fc1.weight": torch.rand(20, 5) > 0.5, "fc2.weight": torch.rand(1, 20) > 0.5}
    _, final = double_descent.train_regression(cfg, mask)
    assert all(torch.count_nonzero(final[n][~m]) == 0 for n, m in mask.items())


def test_regressions_travel_in_one_compact_file_and_are_read_not_trained_again(tmp_path, monkeypatch):
    own = double_descent.DoubleDescent(widths=(2, 4), seeds=(0, 1), steps=20, regression_rounds=2)
    base = double_descent.RegressionConfig(steps=own.steps, out=str(tmp_path / "runs"))
    fits = double_descent.width_sweep(base, list(own.widths), list(own.seeds), progress=False, workers=1)
    imp = double_descent.regression_imp_trials(dataclasses.replace(base, width=8), list(own.seeds), rounds=2,
                                               progress=False, workers=1)
    assert double_descent.pack(tmp_path / "runs", tmp_path / "store") == 4 + 2  # 4 students, 2 IMP chains
    assert double_descent.pack(tmp_path / "empty", tmp_path / "nothing") == 0 and not (tmp_path / "nothing").exists()
    pd.testing.assert_frame_equal(double_descent.packed_imp_trials(tmp_path / "store", own, width=8), imp,
                                  check_like=True)
    assert double_descent.packed_imp_trials(tmp_path / "store", dataclasses.replace(own, seeds=(0, 5)), width=8) is None
    assert double_descent.unpack(tmp_path / "store", tmp_path / "fresh") == 6
    assert double_descent.unpack(tmp_path / "store", tmp_path / "fresh") == 0  # a stored result is kept
    for path in (tmp_path / "runs").glob("regression_*/*.json"):  # the same bytes as trained
        assert (tmp_path / "fresh" / path.relative_to(tmp_path / "runs")).read_bytes() == path.read_bytes()
    monkeypatch.setattr(double_descent, "train_regression", lambda *a, **k: pytest.fail("trained again"))
    fresh = dataclasses.replace(base, out=str(tmp_path / "fresh"))
    pd.testing.assert_frame_equal(double_descent.width_sweep(fresh, list(own.widths), list(own.seeds),
                                                             progress=False, workers=1).drop(columns="out"),
                                  fits.drop(columns="out"))


def test_late_rewound_levels_train_the_remaining_iterations(tiny):
    from lth_utils.execution import engine
    cfg = dataclasses.replace(tiny, rewind="10", trials=1, levels=1)
    summary = engine.run_imp(cfg, progress=False)
    assert summary.set_index("level")["iterations_run"].to_dict() == {0: 30, 1: 20}
    curve = analysis.read_metrics(cfg, 0, 1)
    assert curve["iteration"].min() == 10 and curve["iteration"].max() == 30


def test_instability_trains_two_copies_from_the_rewind_point_and_stores_the_path(tiny, monkeypatch):
    cfg = dataclasses.replace(tiny, trials=1, levels=1)
    table = instability.run_instability(cfg, levels=[0, 1], progress=False)
    assert len(instability.ALPHAS) == 31 and table["level"].tolist() == [0, 1]
    assert (table["errors"].map(len) == 31).all()
    assert (table["train_errors"].map(len) == 31).all() and table["train_barrier"].notna().all()
    row = table.iloc[1]
    assert row["midpoint_excess"] == pytest.approx(row["errors"][15] - (row["errors"][0] + row["errors"][-1]) / 2)
    a = torch.load(instability._folder(cfg, 0, 1) / "copy_0.pt", weights_only=True)
    b = torch.load(instability._folder(cfg, 0, 1) / "copy_1.pt", weights_only=True)
    assert not torch.equal(a["fc1.weight"], b["fc1.weight"])  # different data orders
    mask = analysis.load_mask(cfg, 0, 1)["fc1.weight"]
    assert torch.count_nonzero(a["fc1.weight"][~mask]) == 0
    monkeypatch.setattr(instability, "train", lambda *a, **k: pytest.fail("stored copies were retrained"))
    again = instability.run_instability(cfg, levels=[0, 1], progress=False)
    assert again["barrier"].tolist() == table["barrier"].tolist()
    # a path stored on another grid (an older store) is evaluated again from the copies, without training
    path = instability._folder(cfg, 0, 1) / "path.json"
    path.write_text(json.dumps({"alpha": [0.0, 1.0], "test_error": [0.5, 0.5]}))
    assert instability.run_instability(cfg, levels=[1], progress=False)["errors"].iloc[0] == table["errors"].iloc[1]


def test_notebook_07_maps_the_papers_densities_to_the_imp_levels_that_reach_them():
    from lth_utils import experiments
    cfg = profiles.imp_config("paper")
    assert experiments.imp_runs.levels_for(cfg, experiments.imp_runs.PAPER_DENSITIES) == [3, 7, 12, 15, 18]
    runs = experiments.init_pruning.runs(cfg, profiles.NOTEBOOK_SETTINGS["paper"], methods=["snip"])
    assert set(runs) == {("ticket", "none"), ("random_prune", "none"), ("snip", "none"), ("snip", "shuffle"),
                         ("snip", "reinit"), ("snip", "invert")}
    assert runs[("snip", "none")].only_levels == "3,7,12,15,18" and runs[("snip", "none")].trials == 5


@pytest.mark.parametrize("methods, densities, parameter", [
    (["snip", "lottery"], None, "methods"),
    ([], None, "methods"),
    (None, [0.2, 1.5], "densities"),
    (None, [0.0], "densities"),
    (None, [0.0001], "densities"),   # no level of the run comes near it
    (None, [], "densities"),
])
def test_notebook_07_rejects_bad_methods_and_densities_before_any_training(methods, densities, parameter):
    from lth_utils import experiments
    cfg = profiles.imp_config("standard")
    with pytest.raises(ConfigError) as error:
        experiments.init_pruning.runs(cfg, profiles.NOTEBOOK_SETTINGS["standard"], methods=methods, densities=densities)
    assert error.value.parameter == parameter


def test_notebook_08_plans_a_chain_per_mask_criterion_sharing_the_dense_level_and_sign_arms_at_its_densities():
    from lth_utils import experiments
    from lth_utils.lottery.imp import dense_source
    cfg = profiles.imp_config("standard")
    settings = profiles.NOTEBOOK_SETTINGS["standard"]
    runs = experiments.signs.runs(cfg, settings)
    assert set(runs) == {"ticket", "reinit", "random_prune", "magnitude_increase", "movement", "signs_constant",
                         "signs_reinit"}
    for criterion in ("magnitude_increase", "movement"):
        chain = runs[criterion]
        assert chain.arm == "ticket" and chain.criterion == criterion and chain.hash != cfg.hash
        assert chain.num_levels == settings.signs.criteria_levels and chain.trials == settings.signs.criteria_trials
        assert dense_source(chain).hash == cfg.hash  # level 0 is copied from the ticket's, not trained again
    assert runs["signs_constant"].only_levels == "7,12,15"  # 21.0%, 6.9% and 3.5% remaining
    assert runs["signs_reinit"].trials == settings.signs.trials


@pytest.mark.parametrize("criteria, densities, parameter", [
    (["movement", "large_init"], None, "criteria"),
    (["magnitude"], None, "criteria"),   # that is the ticket itself
    ([], None, "criteria"),
    (None, [1.2], "densities"),
])
def test_notebook_08_rejects_bad_criteria_and_densities_before_any_training(criteria, densities, parameter):
    from lth_utils import experiments
    with pytest.raises(ConfigError) as error:
        experiments.signs.runs(profiles.imp_config("standard"), profiles.NOTEBOOK_SETTINGS["standard"], criteria, densities)
    assert error.value.parameter == parameter


def test_untrained_accuracy_evaluates_the_stored_masks_on_never_trained_weights(tiny):
    from lth_utils.execution import engine
    from lth_utils.pruning import masks
    from lth_utils.experiments import supermask
    from lth_utils.data import load_splits
    from lth_utils.lottery.imp import level_inputs
    from lth_utils.training import evaluate
    runs = {"ticket": tiny, "random_prune": dataclasses.replace(tiny, arm="random_prune", only_levels="2"),
            "signs_constant": dataclasses.replace(tiny, arm="signs_constant")}
    engine.run([runs["ticket"], runs["random_prune"]], workers=1, progress=False)  # random pruning: level 2 only
    splits = load_splits(tiny.dataset, tiny.data_root, "cpu", tiny.train_subset)
    table = supermask.untrained_accuracy(runs, [1, 2], tiny.trials, splits)
    assert len(table) == 3 * 2 * tiny.trials
    # by hand: the ticket's level-2 mask times the trial's initial weights, never trained
    model, _, start, _ = level_inputs(tiny, 1, 0, splits)
    model.load_state_dict(start)
    mask = analysis.load_mask(tiny, 1, 2)
    expected = evaluate(masks.apply_mask_(model, mask), *splits.test)[1]
    row = table.query("name == 'ticket' and trial == 1 and level == 2").iloc[0]
    assert row["test_acc"] == expected and row["density"] == masks.density(mask)
    random_row = table.query("name == 'random_prune' and trial == 1 and level == 2").iloc[0]
    assert random_row["density"] == row["density"]  # the ticket's per-layer counts
    assert set(table.query("name == 'random_prune'")["level"]) == {1, 2}  # level 1 derived, never trained
    model, _, start, _ = level_inputs(tiny, 1, 0, splits)  # the initial weights again, under random pruning's mask
    model.load_state_dict(start)
    trained = analysis.load_mask(runs["random_prune"], 1, 2)
    assert random_row["test_acc"] == evaluate(masks.apply_mask_(model, trained), *splits.test)[1]
    signed = table.query("name == 'signs_constant' and trial == 1 and level == 2").iloc[0]
    assert signed["density"] == row["density"] and signed["test_acc"] != row["test_acc"]


def test_supermask_configs_follow_the_imp_config_so_trial_t_freezes_the_tickets_initial_weights():
    from lth_utils.experiments import supermask
    cfg = profiles.imp_config("smoke", seed=3)
    made = supermask.configs_for(cfg, iterations=40, eval_every=100)
    assert set(made) == set(supermask.WEIGHTS)
    for weights, c in made.items():
        assert (c.weights, c.seed, c.model, c.train_subset, c.out) == (weights, 3, cfg.model, cfg.train_subset, cfg.out)
        assert c.eval_every == 40   # never beyond the last iteration
    with pytest.raises(ConfigError) as error:
        supermask.configs_for(cfg, iterations=0, eval_every=100)
    assert error.value.parameter == "iterations"


def test_executed_notebooks_keep_one_plain_line_per_progress_bar(tmp_path):
    import nbformat
    bar = "".join(f"\rIMP 3 level(s): {p}%|##| {p}/100" for p in (0, 50, 100)) + "\n"
    other = "supermasks: 100%|##| 6/6\n"
    cell = nbformat.v4.new_code_cell("run()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="before\n"),
                    nbformat.v4.new_output("stream", name="stderr", text=bar[:30]),
                    nbformat.v4.new_output("stream", name="stderr", text=bar[30:]),
                    nbformat.v4.new_output("stream", name="stderr", text=other),
                    nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1)]
    nb = nbformat.v4.new_notebook(cells=[cell])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    notebook.tidy_progress(path)
    outputs = nbformat.read(str(path), as_version=4).cells[0].outputs
    assert [o.get("name") for o in outputs] == ["stdout", "stdout", None]
    assert outputs[1]["text"] == "IMP 3 level(s): 100%|##| 100/100\nsupermasks: 100%|##| 6/6\n"
    assert outputs[2]["data"]["text/plain"] == "42"


def test_the_code_digest_changes_with_code_and_not_with_outputs_or_injected_parameters():
    cell = lambda source, tags=(): {"cell_type": "code", "source": source, "metadata": {"tags": list(tags)}}  # noqa
    nb = {"cells": [cell("a = 1"), {"cell_type": "markdown", "source": "text", "metadata": {}}, cell("b = a")]}
    digest = notebook.code_digest(nb)
    assert notebook.code_digest({"cells": nb["cells"] + [cell("x = 2", ["injected-parameters"])]}) == digest
    assert notebook.code_digest({"cells": [cell("a = 2"), *nb["cells"][1:]]}) != digest
    assert notebook.code_digest({"cells": [cell("a = 1\nb = a")]}) != digest


def test_headless_executions_keep_text_progress_bars_and_restore_the_environment(monkeypatch):
    import os
    from tqdm import tqdm as text_tqdm
    from lth_utils.foundations import progress

    monkeypatch.delenv(progress.TEXT_ENV, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert not progress.widgets()  # no notebook session (papermill, nbval, a terminal): text
    monkeypatch.setenv("JPY_SESSION_NAME", "/lab/notebooks/00_quickstart.ipynb")
    assert progress.widgets()  # a JupyterLab kernel
    with progress.text_bars():
        assert not progress.widgets()
        assert os.environ[progress.TEXT_ENV] == "1"
        bar = progress.tqdm(total=1, disable=True)
        assert type(bar) is text_tqdm  # papermill's kernels inherit this: their bars are tidied text, not widgets
    assert progress.TEXT_ENV not in os.environ


def test_notebooks_10_and_11_read_the_mnist_runs_of_notebooks_02_03_and_pair_every_arm_by_seed():
    from lth_utils import experiments
    cfg = profiles.imp_config("standard")
    settings = profiles.NOTEBOOK_SETTINGS["standard"]
    stored = {c.hash for c in experiments.notebook_runs("02", cfg, settings) + experiments.notebook_runs("03", cfg, settings)}
    transfer = experiments.transfer.runs(cfg, settings)
    assert {k[1] for k in transfer} == {"ticket", "random_prune", "reinit", "transfer"}
    for arm in ("ticket", "random_prune", "reinit"):
        assert transfer[("mnist", arm)].hash in stored  # trials and levels do not enter a run's identity
    for source, target in experiments.transfer.PAIRS:
        t = transfer[(target, "transfer")]
        assert t.transfer_from == source and t.ticket().dataset == source and t.seed == cfg.seed
        assert t.only_levels == "3,7,12,15" and t.trials == settings.transfer.trials
    runs, landscape_levels = experiments.loss_landscapes.runs(cfg, settings)
    assert all(c.hash in stored for c in runs.values())
    assert landscape_levels == [7, 12]
    with pytest.raises(ConfigError, match="densities"):
        experiments.transfer.runs(cfg, settings, densities=[0.0001])


@pytest.mark.parametrize("profile", ["standard", "paper"])
def test_controls_train_at_the_profiles_control_levels_and_the_other_notebooks_read_only_those(profile):
    from lth_utils import experiments
    cfg, settings = profiles.imp_config(profile), profiles.NOTEBOOK_SETTINGS[profile]
    arms = experiments.imp_runs.controls(cfg, settings.controls)
    levels = list(settings.controls.levels) or list(range(1, cfg.num_levels + 1))
    assert arms["ticket"] == cfg and arms["ticket"].only_levels == ""
    for arm in ("reinit", "random_prune"):
        assert _levels(arms[arm]) == levels and arms[arm].hash == dataclasses.replace(cfg, arm=arm).hash
    assert {3, 7, 12, 15, 18} <= set(levels)  # every density the paper plots
    # notebooks 07, 08, 10 and 11 read the MNIST controls of notebook 03 and train no other level of them
    wanted = {(c.hash, l) for c in experiments.notebook_runs("03", cfg, settings) for l in _levels(c)}
    for number in ("07", "08", "10", "11"):
        for c in experiments.notebook_runs(number, cfg, settings):
            if c.arm in ("reinit", "random_prune") and c.dataset == "mnist" and c.draw == 0:
                assert {(c.hash, l) for l in _levels(c)} <= wanted, (number, c.arm)


def test_provenance_counts_the_levels_trained_and_read_and_their_cost_from_the_records(tiny):
    from lth_utils.execution import engine
    engine.LEDGER.clear()
    engine.run_imp(tiny, progress=False)
    first = engine.ledger_summary()
    levels = tiny.trials * (tiny.levels + 1)
    assert first["levels"] == first["trained"] == levels and first["read"] == 0 and first["trials"] == tiny.trials
    engine.LEDGER.clear()
    engine.run_imp(tiny, progress=False)  # everything stored now
    second = engine.ledger_summary()
    assert second["trained"] == 0 and second["read"] == levels
    assert second["core_minutes"] == first["core_minutes"] > 0  # the recorded training time, not this call's
    text = notebook.provenance(tiny, "smoke")
    assert f"It asked for {levels} IMP levels: 0 trained in this execution, {levels} read from the store" in text
    assert "commit" in text and "numpy" in text and f"{tiny.trials} trial(s)" in text
    engine.LEDGER.clear()  # a notebook that trains outside the run store (00) says what it trained
    assert "It trained no IMP levels of the run store; it trained 12 networks itself." in notebook.provenance(
        tiny, "smoke", trained_itself="12 networks")


def test_a_notebook_without_a_dataset_sets_up_without_fetching_one(monkeypatch):
    monkeypatch.setattr(notebook.data, "fetch", lambda *a, **k: pytest.fail("fetched a dataset"))
    monkeypatch.setattr(notebook, "die_with_parent", lambda: None)  # a kernel's settings, not the test process's
    monkeypatch.setattr(notebook.plots, "set_style", lambda: None)
    namespace = dict(profile="smoke", seed=0, trials=None, workers=0, out=None, data_root="../data", figures="x")
    cfg, settings = notebook.setup(namespace, list(namespace), fetch=False, notebook="06")
    assert cfg.trials == 2 and settings.profile == "smoke"


def test_figures_go_to_the_committed_folder_only_with_the_handouts_settings(capsys):
    base = dict(profile="standard", seed=0, trials=None, densities=None, span=1.0, workers=0, out="../runs")
    assert notebook.figures_folder(base, {"span": 1.0}) == "../figures"
    assert notebook.figures_folder({**base, "workers": 2, "out": "/tmp/x"}, {"span": 1.0}) == "../figures"
    for changed in (dict(seed=1), dict(trials=5), dict(span=2.0), dict(profile="paper"), dict(densities=[0.2])):
        folder = notebook.figures_folder({**base, **changed}, {"span": 1.0})
        assert folder.startswith("../build/figures/") and "not the committed" in capsys.readouterr().out, changed
    assert notebook.figures_folder({**base, "seed": 1, "figures": "/tmp/mine"}, {}) == "/tmp/mine"
    # a notebook whose handout is rendered in the paper profile writes the committed figures in that one only
    assert notebook.figures_folder({**base, "profile": "paper"}, {"span": 1.0}, handout="paper") == "../figures"
    assert notebook.figures_folder(base, {"span": 1.0}, handout="paper").startswith("../build/figures/standard")


def test_a_second_descent_counts_only_where_its_interval_against_the_peak_lies_below_zero():
    widths = [1, 2, 4, 8, 16]
    def table(curves):
        return pd.DataFrame([{"width": w, "seed": s, "test_loss": v} for s, c in enumerate(curves)
                             for w, v in zip(widths, c)])
    clear = double_descent.curve_verdict(table([[0.5, 0.4, 0.9, 0.5, 0.45], [0.52, 0.42, 0.95, 0.55, 0.5]]), 0.25)
    assert clear["u_shape"] and clear["peak_width"] == 4 and clear["separated"]
    assert clear["descent_interval"]["mean_diff"] == pytest.approx(0.475 - 0.925)
    noisy = double_descent.curve_verdict(table([[0.3, 0.5, 1.4, 0.9, 1.0], [0.32, 0.6, 0.9, 1.1, 1.05]]), 0.25)
    assert not noisy["u_shape"] and noisy["second_descent"] and not noisy["separated"]
    # five seeds whose ranges overlap at the peak (1.0-1.8) and after it (0.7-1.1), but whose means differ by 0.5:
    # the old min-max rule saw no second descent; the interval of the difference lies below 0
    five = table([[0.6, 0.5, p, d, d + 0.2] for p, d in zip([1.0, 1.2, 1.4, 1.6, 1.8], [0.7, 0.8, 0.9, 1.0, 1.1])])
    v = double_descent.curve_verdict(five, 0.25)
    assert v["peak_width"] == 4 and v["descent_width"] == 8 and v["separated"]
    assert v["descent_interval"]["ci_high"] < 0 < 0.7 + 0.4 - 1.0  # the ranges overlap
    single = double_descent.curve_verdict(table([[0.5, 0.4, 0.9, 0.5, 0.45]]), 0.25)
    assert not single["u_shape"] and not single["separated"]  # one seed: no interval, no verdict


def test_an_unpaired_difference_is_welchs_interval():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 0.2, 5), rng.normal(0.7, 0.5, 7)
    d = analysis.unpaired_difference(a, b)
    welch = stats.ttest_ind(a, b, equal_var=False).confidence_interval()
    assert d["mean_diff"] == pytest.approx(a.mean() - b.mean())
    assert (d["ci_low"], d["ci_high"]) == pytest.approx((welch.low, welch.high))
    assert (d["n_a"], d["n_b"]) == (5, 7)
    assert np.isnan(analysis.unpaired_difference([1.0], b)["ci_low"])
    same = analysis.unpaired_difference([1.0, 1.0], [0.5, 0.5])  # no spread at all: the difference is exact
    assert same["ci_low"] == same["ci_high"] == pytest.approx(0.5)


def test_pruning_or_a_narrow_network_is_judged_on_welchs_interval():
    base = double_descent.RegressionConfig(width=100, input_dim=9)
    imp_runs = pd.DataFrame([{"round": r, "seed": s, "density": 0.5 ** r, "test_loss": 0.5 + 0.01 * s}
                             for r in range(3) for s in range(3)])  # last round keeps 0.25 * 100 * 10 = 250 weights
    students = pd.DataFrame([{"width": w, "seed": s, "test_loss": loss + 0.01 * s}
                             for w, loss in ((8, 0.9), (24, 0.6), (32, 0.505), (64, 0.2)) for s in range(3)])
    v = double_descent.pruned_versus_narrow(imp_runs, students, base)
    assert v["kept"] == pytest.approx(250) and v["round"] == 2 and v["loss"] == pytest.approx(0.51)
    assert [r["width"] for r in v["rows"]] == [24, 32] and [r["weights"] for r in v["rows"]] == [240, 320]
    assert [r["verdict"] for r in v["rows"]] == ["lower", "no difference shown"]
    # the two nearest by ratio would both lie below (200 and 240 against 250): the students bracket the round instead
    below = students.assign(width=students["width"].replace({8: 20, 32: 100}))
    assert [r["width"] for r in double_descent.pruned_versus_narrow(imp_runs, below, base)["rows"]] == [24, 64]
    # a round smaller than every student is compared with the narrowest alone
    assert [r["width"] for r in double_descent.pruned_versus_narrow(
        imp_runs, students[students["width"] >= 32], base)["rows"]] == [32]


def test_a_pruned_regression_round_beats_dense_only_where_its_paired_interval_lies_below_zero():
    def runs(losses):  # losses[seed][round], round 0 dense
        return pd.DataFrame([{"round": r, "seed": s, "density": 0.9 ** r, "test_loss": v}
                             for s, per_seed in enumerate(losses) for r, v in enumerate(per_seed)])
    # round 1: lower in every seed by about 0.1 (paired: the seeds' offsets cancel); round 2: a lower mean, but one
    # seed is worse than its dense (the old rule, a lower mean, called this a win); round 3: higher everywhere
    v = double_descent.imp_verdict(runs([[0.50, 0.40, 0.25, 0.60], [0.70, 0.61, 0.75, 0.81],
                                         [0.60, 0.49, 0.40, 0.72]]), band=(70, 85))
    assert v["verdicts"] == ["lower", "no difference shown", "higher"]
    assert v["lower"] == [1] and v["higher"] == [3] and int(v["best"]["level"]) == 2
    assert int(v["band_best"]["level"]) == 2 and v["band_best"]["verdict"] == "no difference shown"
    assert v["paired"]["mean_diff"].iloc[0] == pytest.approx(-0.10, abs=1e-12)
    assert v["holm_lower"] == [1]
    one = double_descent.imp_verdict(runs([[0.5, 0.4]]), band=(40, 60))
    assert one["verdicts"] == ["one trial: no interval"] and one["band_best"] is None and one["holm_lower"] == []


def test_notebook_09_plans_lenet5_with_the_papers_conv_rates_its_controls_and_late_rewinding():
    from lth_utils import experiments
    cfg, settings = profiles.imp_config("standard"), profiles.NOTEBOOK_SETTINGS["standard"]
    runs = experiments.conv.runs(cfg, settings)
    ticket = runs["ticket"]
    assert (ticket.model, ticket.conv_rate, ticket.rate, ticket.trials) == ("lenet5", 0.1, 0.2, 3)
    assert ticket.layer_rates(["conv1.weight", "conv2.weight", "fc1.weight", "fc3.weight"]) == {
        "conv1.weight": 0.1, "conv2.weight": 0.1, "fc1.weight": 0.2, "fc3.weight": 0.1}
    assert runs["reinit"].only_levels == runs["random_prune"].only_levels == "4,8"
    assert runs["late"].rewind == str(round(0.01 * cfg.iterations)) and runs["late"].num_levels == 4
    assert runs["mlp"] == cfg  # LeNet-300-100's ticket: notebook 02's run, read
    assert "09" in experiments.PLANNED


def test_notebook_09s_knobs_set_lenet5s_levels_conv_rate_and_rewind_point_and_leave_its_default_runs_alone():
    from lth_utils import experiments
    cfg, settings = profiles.imp_config("standard"), profiles.NOTEBOOK_SETTINGS["standard"]
    default = experiments.conv.runs(cfg, settings)
    assert experiments.conv.runs(cfg, settings, None, None, None) == default
    runs = experiments.conv.runs(cfg, settings, lenet5_levels=6, conv_rate=0.2, rewind_fraction=0.05)
    assert runs["ticket"].num_levels == 6 and runs["ticket"].conv_rate == 0.2
    assert runs["reinit"].only_levels == "4"  # the profile's control levels up to the chain's end
    assert runs["late"].rewind == str(round(0.05 * cfg.iterations)) and runs["late"].num_levels == 4
    assert runs["mlp"] == default["mlp"]  # LeNet-300-100's ticket stays notebook 02's run
    assert experiments.conv.runs(cfg, settings, lenet5_levels=2)["random_prune"].only_levels == "2"


@pytest.mark.parametrize("knobs, parameter", [
    (dict(lenet5_levels=0), "lenet5_levels"),
    (dict(lenet5_levels=2.5), "lenet5_levels"),
    (dict(conv_rate=1.5), "conv_rate"),
    (dict(rewind_fraction=1.0), "rewind_fraction"),
    (dict(rewind_fraction="1%"), "rewind_fraction"),
])
def test_notebook_09_rejects_bad_knobs_before_any_training(knobs, parameter):
    from lth_utils import experiments
    with pytest.raises(ConfigError) as error:
        experiments.conv.runs(profiles.imp_config("standard"), profiles.NOTEBOOK_SETTINGS["standard"], **knobs)
    assert error.value.parameter == parameter


@pytest.mark.parametrize("knobs, parameter", [
    (dict(widths=[8]), "widths"),
    (dict(widths=[0, 8]), "widths"),
    (dict(widths="8,16"), "widths"),
    (dict(regression_rounds=0), "regression_rounds"),
    (dict(regression_rounds=True), "regression_rounds"),
])
def test_notebook_06_rejects_bad_widths_and_rounds_before_any_training(knobs, parameter):
    with pytest.raises(ConfigError) as error:
        double_descent.with_knobs(double_descent.SETTINGS["standard"], **knobs)
    assert error.value.parameter == parameter


def test_notebook_06s_knobs_replace_the_profiles_widths_and_rounds():
    own = double_descent.SETTINGS["standard"]
    assert double_descent.with_knobs(own) == own
    chosen = double_descent.with_knobs(own, widths=[16, 4, 16, 64], regression_rounds=3)
    assert (chosen.widths, chosen.regression_rounds, chosen.seeds) == ((4, 16, 64), 3, own.seeds)


def test_iterations_to_reach_reads_the_first_evaluation_near_the_dense_minimum():
    rows = []
    for trial, (dense, ticket) in enumerate([([1.0, 0.5, 0.2, 0.21, 0.2], [1.0, 0.3, 0.205, 0.25, 0.3]),
                                             ([1.0, 0.4, 0.3, 0.1, 0.12], [1.0, 0.9, 0.8, 0.7, 0.6])]):
        for level, losses in ((0, dense), (3, ticket)):
            rows += [{"trial": trial, "level": level, "iteration": 100 * i, "loss": loss,
                      "percent_remaining": 100 if level == 0 else 51.2} for i, loss in enumerate(losses)]
    reach = analysis.iterations_to_reach(pd.DataFrame(rows), within=0.05).set_index(["trial", "level"])
    assert reach.loc[(0, 0), "iterations_to_reach"] == 200  # the first of its two evaluations at 0.2
    assert reach.loc[(0, 3), "iterations_to_reach"] == 200  # 0.205 <= 1.05 x 0.2
    assert reach.loc[(1, 0), "iterations_to_reach"] == 300
    assert np.isnan(reach.loc[(1, 3), "iterations_to_reach"])  # never within 5% of 0.1


def test_sanity_verdicts_say_what_the_trials_can_show():
    from lth_utils.experiments.init_pruning import sanity_verdict
    assert sanity_verdict(pd.Series([1.0, 1.2, 0.9])) == "the ablation hurts"
    assert sanity_verdict(pd.Series([-1.0, -1.2, -0.9])) == "the ablation helps"
    # the 90% interval decides equivalence, and the verdict gives it (mean +0.014, sd 0.0270, t(0.95, 4) = 2.132)
    assert sanity_verdict(pd.Series([0.05, -0.02, 0.01, 0.0, 0.03])) == "equivalent within ±0.3 pp (90% CI -0.01, +0.04)"
    # inversion that collapses every trial by very different amounts: no interval excludes 0 at n=3
    assert sanity_verdict(pd.Series([17.8, 39.6, 76.1])) == \
        "worse with the ablation in every trial, not resolved at n=3"
    assert sanity_verdict(pd.Series([0.4, -0.5, 0.2])).startswith("not distinguishable at this power (95% CI ±")


def test_the_sanity_checks_summarise_the_per_trial_differences_the_figure_plots():
    from lth_utils.experiments.init_pruning import sanity_checks, sanity_differences

    def summary(accs, levels=(2, 4)):
        return pd.DataFrame([{"trial": t, "level": l, "density": 0.5 ** l, "test_acc_at_early_stop": a + l / 100}
                             for l in levels for t, a in enumerate(accs)])

    results = {("snip", "none"): summary([0.90, 0.91, 0.92], levels=(0, 2, 4)),
               ("snip", "invert"): summary([0.50, 0.61, 0.30]), ("snip", "shuffle"): summary([0.90, 0.90, 0.93])}
    trials = sanity_differences(results)
    assert len(trials) == 12 and set(trials["level"]) == {2, 4}  # level 0 has no ablation to pair with
    inverted = trials.query("ablation == 'invert' and level == 2")["diff"].round(6).tolist()
    assert inverted == [40.0, 30.0, 62.0]
    checks = sanity_checks(results)
    assert list(zip(checks["ablation"], checks["level"])) == [("invert", 2), ("invert", 4), ("shuffle", 2),
                                                               ("shuffle", 4)]
    assert checks["method - ablation (pp)"].round(6).tolist() == \
        trials.groupby(["ablation", "level"])["diff"].mean().round(6).tolist()
    assert checks.loc[0, "method better in"] == "3 of 3"


def test_the_handouts_run_each_notebook_in_its_own_profile_and_other_profiles_never_over_them(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(notebook, "execute_one", lambda path, target, params, progress=True:
                        calls.append((path.name[:2], target, params)))
    notebook.execute("handouts", selection=["02", "04"], progress=False)
    assert calls == [("02", notebook.NOTEBOOK_DIR / "02_iterative_magnitude_pruning.ipynb", {}),
                     ("04", notebook.NOTEBOOK_DIR / "04_late_rewinding.ipynb", {})]
    calls.clear()
    notebook.execute("quick", selection=["02"], progress=False)
    assert calls == [("02", notebook.NOTEBOOK_DIR.parent / "build" / "notebooks" / "quick" /
                      "02_iterative_magnitude_pruning.ipynb", {"profile": "quick"})]
    calls.clear()
    notebook.execute("standard", tmp_path, selection=["02"], progress=False)
    assert calls[0][1] == tmp_path / "02_iterative_magnitude_pruning.ipynb"
    with pytest.raises(ConfigError, match="profile='handout' is invalid: one of smoke, quick, standard, paper, handouts"):
        notebook.execute("handout", progress=False)


def test_notebooks_set_passes_python_literals_as_values_and_anything_else_as_text(monkeypatch):
    from lth_utils import __main__ as cli
    calls = []
    monkeypatch.setattr(notebook, "execute", lambda profile, output_dir, parameters, only, jobs=1:
                        calls.append(parameters) or [])
    assert cli.main(["notebooks", "--only", "07", "--set", "densities", "[0.2, 0.036]", "--set", "trials", "2",
                     "--set", "out", "build/runs", "--set", "methods", "None"]) == 0
    assert calls == [{"densities": [0.2, 0.036], "trials": 2, "out": "build/runs", "methods": None}]


def test_train_for_the_handouts_plans_each_notebook_in_its_handout_profile_and_store(monkeypatch, capsys):
    from lth_utils import __main__ as cli
    from lth_utils.execution import engine
    from lth_utils import experiments
    planned = []
    monkeypatch.setattr(engine, "run", lambda configs, **kw: planned.extend(configs))
    monkeypatch.setattr(cli.data, "fetch", lambda *a, **k: None)
    assert cli.main(["train", "--only", "02", "09", "--quiet"]) == 0
    paper = profiles.imp_config("paper", out="results/paper/runs")
    standard = profiles.imp_config("standard", out="runs")
    expected = list(dict.fromkeys(experiments.notebook_runs("09", standard, profiles.NOTEBOOK_SETTINGS["standard"])
                                  + experiments.notebook_runs("02", paper, profiles.NOTEBOOK_SETTINGS["paper"])))
    assert planned == expected and {c.out for c in planned} == {"runs", "results/paper/runs"}
    assert "results/paper/runs/ (paper: 02)" in capsys.readouterr().out


def test_the_profile_settings_give_every_store_and_handout_one_place():
    assert profiles.run_store("paper") == "results/paper/runs" and profiles.run_store("quick") == "runs"
    assert profiles.profiles_of("handouts") == ["standard", "paper"] and profiles.profiles_of("quick") == ["quick"]
    assert profiles.handout_profile("02_iterative_magnitude_pruning") == "paper"
    assert profiles.handout_profile("04") == "paper" and profiles.handout_profile("09") == "standard"
    quick = profiles.imp_config("quick")
    assert (quick.iterations, quick.trials, quick.patience, quick.num_levels) == (2000, 2, 0, 18)


def test_import_without_from_reads_each_profiles_committed_store_into_its_run_store(monkeypatch, tmp_path, capsys):
    from lth_utils import __main__ as cli
    from lth_utils.results import portable
    imported = []
    monkeypatch.setattr(portable, "import_store", lambda source, out: imported.append((source, out)) or [])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "paper" / "store").mkdir(parents=True)  # no committed standard store here
    assert cli.main(["import"]) == 0
    assert imported == [("results/paper/store", "results/paper/runs")]
    assert "results/standard/store: no committed results for this profile" in capsys.readouterr().out
    assert cli.main(["import", "--from", "missing"]) == 2
    assert "from='missing' is invalid" in capsys.readouterr().err


def test_the_density_axis_honours_explicit_ticks_and_drops_overlapping_ones():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from lth_utils.results import plots
    fig, ax = plt.subplots()
    plots.density_axis(ax, [100, 80, 50.1, 10.2, 2.2], ticks=[100, 80, 50.1, 10.2, 2.2])
    assert list(ax.get_xticks()) == [100, 50.1, 10.2, 2.2]  # 80 is within a factor 1.35 of 100
    plots.density_axis(ax, [100, 51.3, 21.1, 7.0])
    assert list(ax.get_xticks()) == [100, 51.3, 21.1, 7.0]  # the paper's densities within the data's range
    plt.close(fig)


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True])
def test_notebooks_at_once_must_be_a_whole_number_before_any_work(jobs):
    with pytest.raises(ConfigError) as error:
        notebook.execute("smoke", jobs=jobs)
    assert error.value.parameter == "jobs"


@pytest.mark.parametrize("profile", ["smoke", "quick", "standard", "paper"])
def test_every_planned_run_is_valid_distinct_and_asks_only_for_levels_it_has(profile):
    from lth_utils import experiments
    cfg, settings = profiles.imp_config(profile), profiles.NOTEBOOK_SETTINGS[profile]
    for name in experiments.PLANNED:
        runs = experiments.notebook_runs(name, cfg, settings)
        assert runs, name
        keys = [(c.hash, c.trials, c.only_levels, c.num_levels) for c in runs]
        assert len(set(keys)) == len(keys), f"notebook {name} plans a run twice"
        for c in runs:
            imp.validate(c)
            asked = {int(level) for level in c.only_levels.split(",")} if c.only_levels else set()
            assert asked <= set(range(c.num_levels + 1)), (name, c.arm, c.only_levels, c.num_levels)


def test_paired_p_values_are_the_t_tests_the_intervals_invert_and_holm_steps_down():
    rng = np.random.default_rng(0)
    samples = [rng.normal(mu, 0.3, 5) for mu in (2.0, 0.5, 0.3, 0.0)] + [np.array([0.1])]
    rows = []
    for d in samples:
        m = analysis.mean_interval(pd.Series(d))
        rows.append({"mean_diff": m["mean"], "ci_low": m["ci_low"], "ci_high": m["ci_high"], "trials": m["n"]})
    paired = pd.DataFrame(rows)
    p = analysis.paired_p_values(paired)
    assert p[:4] == pytest.approx([stats.ttest_1samp(d, 0).pvalue for d in samples[:4]])
    assert np.isnan(p[4])  # one trial: no interval, no test
    order = np.argsort(p[:4])  # Holm by hand over the four tested rows
    expected = np.zeros(5, dtype=bool)
    for rank, i in enumerate(order):
        if p[i] > 0.05 / (4 - rank):
            break
        expected[i] = True
    assert (analysis.holm_survivors(paired) == expected).all() and expected[0] and not expected[3]
    sentence = analysis.multiplicity_sentence(paired)
    resolved = int(((paired["ci_low"] > 0) | (paired["ci_high"] < 0)).sum())
    assert sentence.startswith(f"{resolved} of the 4 paired intervals exclude 0") and "about 0.2 would" in sentence
    assert f"{int(expected.sum())} survive{'s' if expected.sum() == 1 else ''} Holm's correction for all 4" in sentence


def test_the_learning_curve_levels_are_chosen_among_those_with_test_curves():
    from lth_utils.results import analysis
    from lth_utils.lottery.imp import IMPConfig
    summary = pd.DataFrame([{"trial": 0, "level": l, "density": 0.5 ** l} for l in range(7)])
    assert analysis.levels_near(summary, [100, 51.3, 21.1]) == [0, 1, 2]
    cfg = IMPConfig(rate=0.5, levels=6, test_curve_levels="0,1,3")
    assert analysis.levels_near(summary, [100, 51.3, 21.1], cfg) == [0, 1, 3]  # 21.1% -> 12.5%, the nearest with curves


def test_speed_by_tolerance_sets_each_threshold_beside_the_argmin():
    rows = []
    # dense reaches 0.3 at 200 in both trials, then a flat plateau whose minimum falls at 400 or 600
    curves = {(0, 0): [1.0, 0.5, 0.3, 0.21, 0.2, 0.21, 0.22], (1, 0): [1.0, 0.5, 0.3, 0.22, 0.21, 0.21, 0.2],
              (0, 7): [1.0, 0.3, 0.22, 0.2, 0.21, 0.25, 0.3], (1, 7): [1.0, 0.3, 0.21, 0.2, 0.22, 0.25, 0.3]}
    for (trial, level), losses in curves.items():
        rows += [{"trial": trial, "level": level, "iteration": 100 * i, "loss": loss,
                  "percent_remaining": 100 if level == 0 else 21.1} for i, loss in enumerate(losses)]
    table = analysis.speed_by_tolerance(pd.DataFrame(rows), 7, [0.05, 0.5]).set_index("measure")
    argmin = table.loc["argmin (early stop)"]
    assert (argmin["dense_min"], argmin["dense_max"], argmin["ratio"]) == (400, 600, pytest.approx((3 / 4 + 3 / 6) / 2))
    near = table.loc["within 5% of dense's minimum"]  # 0.21: dense at 300 and 400, the ticket at 300 and 200
    assert (near["dense_min"], near["dense_max"], near["ratio"]) == (300, 400, pytest.approx((3 / 3 + 2 / 4) / 2))
    steep = table.loc["within 50% of dense's minimum"]  # 0.3: dense at 200 in both trials, the ticket at 100
    assert (steep["dense_mean"], steep["dense_cv"], steep["ratio"]) == (200, 0, 0.5)


def test_a_notebooks_provenance_sees_its_own_source_changed(tmp_path):
    # the package's check covers lth_utils/ only; a notebook's provenance also asks git about its source (.py)
    from lth_utils.foundations import store
    if store.git_commit() == "unknown":
        pytest.skip("not a git checkout")
    probe = notebook.NOTEBOOK_DIR / f"_probe_{tmp_path.name}.py"  # untracked (and no notebook name): git lists it
    assert not store.files_dirty([]) and not store.files_dirty([probe])
    probe.write_text("# probe\n")
    try:
        assert store.files_dirty([probe])
    finally:
        probe.unlink()


def test_dense_parents_names_the_chains_that_trained_their_own_dense_level(tmp_path):
    from lth_utils.experiments import late_rewinding
    from lth_utils.foundations import store
    cfg = profiles.imp_config("smoke", out=str(tmp_path), trials=2)
    configs = {"k = 0": cfg, "k = 10": dataclasses.replace(cfg, rewind="10")}
    here = {"device_name": "AMD EPYC", "cpu_capability": "AVX512"}
    for trial in range(2):
        row = {"early_stop_iteration": 300, "val_loss_at_early_stop": 0.1 + trial, "test_acc_at_early_stop": 0.97,
               "provenance": here}
        store.write_result(store.level_dir(cfg.root, trial, 0), row)
        other = row if trial == 0 else {**row, "val_loss_at_early_stop": 0.2 + trial,  # trained elsewhere
                                        "provenance": {"device_name": "Intel Xeon", "cpu_capability": "AVX2"}}
        store.write_result(store.level_dir(configs["k = 10"].root, trial, 0), other)
    parents = late_rewinding.dense_parents(configs)
    assert parents["shared"].tolist() == [True, True, True, False]
    assert parents["trained on"].iloc[-1] == "Intel Xeon (AVX2)"
    sentence = late_rewinding.dense_parents_sentence(parents)
    assert "k = 10: trial 1 (trained on Intel Xeon (AVX2))" in sentence
    assert late_rewinding.dense_parents_sentence(parents.iloc[:3]).startswith("Every chain prunes from k = 0's")
