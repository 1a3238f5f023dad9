"""The IMP driver and run store: rewinding, control arms, resumption, reproducibility and config errors."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from lth_utils.execution import engine

from lth_utils.lottery import imp

from lth_utils.pruning import masks
from lth_utils.foundations.config import ConfigError, from_values
from lth_utils.experiments import init_pruning, signs
from lth_utils.foundations.files import torch_load
from lth_utils.lottery.imp import IMPConfig
from lth_utils.foundations.store import level_dir


def _load(cfg, trial, level, name):
    return torch_load(level_dir(cfg.root, trial, level) / name)


def _same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_density_after_each_level_follows_the_schedule_from_the_saved_files(tiny):
    cfg = replace(tiny, levels=3, trials=1, rate=0.2, output_rate=0.2)
    engine.run_imp(cfg, progress=False)
    for level in range(4):
        assert abs(masks.density(masks.load(level_dir(cfg.root, 0, level) / "mask.pt")) - 0.8 ** level) < 1e-4


@pytest.mark.parametrize("rewind", ["init", "7"])
def test_start_weights_of_each_level_are_the_rewind_weights_times_the_mask(tiny, rewind):
    cfg = replace(tiny, rewind=rewind, trials=1)
    engine.run_imp(cfg, progress=False)
    rewind_state = (_load(cfg, 0, 0, "weights_start.pt") if rewind == "init"
                    else torch_load(cfg.root / "trial_0" / "rewind.pt"))
    for level in (1, 2):
        mask = masks.load(level_dir(cfg.root, 0, level) / "mask.pt")
        start = _load(cfg, 0, level, "weights_start.pt")
        for name, value in rewind_state.items():
            expected = value * mask[name] if name in mask else value
            assert torch.equal(start[name], expected), name


def test_rewind_none_starts_from_the_previous_levels_trained_weights(tiny):
    cfg = replace(tiny, rewind="none", trials=1, levels=1)
    engine.run_imp(cfg, progress=False)
    trained, mask = _load(cfg, 0, 0, "weights_final.pt"), masks.load(level_dir(cfg.root, 0, 1) / "mask.pt")
    start = _load(cfg, 0, 1, "weights_start.pt")
    assert torch.equal(start["fc1.weight"], trained["fc1.weight"] * mask["fc1.weight"])


def test_masks_only_shrink_from_level_to_level(tiny):
    cfg = replace(tiny, trials=1, levels=3)
    engine.run_imp(cfg, progress=False)
    chain = [masks.load(level_dir(cfg.root, 0, l) / "mask.pt") for l in range(4)]
    assert all(masks.is_subset(b, a) and masks.remaining(b) < masks.remaining(a) for a, b in zip(chain, chain[1:]))


def test_control_arms_share_the_tickets_masks_counts_and_seeds(tiny):
    ticket, reinit, rnd = (replace(tiny, arm=a) for a in ("ticket", "reinit", "random_prune"))
    engine.run([reinit, rnd], progress=False)  # runs the ticket it depends on as well
    for level in (1, 2):
        ticket_mask = masks.load(level_dir(ticket.root, 1, level) / "mask.pt")
        assert all(torch.equal(ticket_mask[n], m)
                   for n, m in masks.load(level_dir(reinit.root, 1, level) / "mask.pt").items())
        random_mask = masks.load(level_dir(rnd.root, 1, level) / "mask.pt")
        assert masks.layer_counts(random_mask) == masks.layer_counts(ticket_mask)
        assert masks.jaccard(random_mask, ticket_mask) < 0.9
        # random pruning keeps the original init; reinit draws a fresh one
        init = _load(ticket, 1, 0, "weights_start.pt")
        assert torch.equal(_load(rnd, 1, level, "weights_start.pt")["fc1.bias"], init["fc1.bias"])
        kept = random_mask["fc1.weight"]
        assert torch.equal(_load(rnd, 1, level, "weights_start.pt")["fc1.weight"][kept], init["fc1.weight"][kept])
        assert not torch.equal(_load(reinit, 1, level, "weights_start.pt")["fc1.weight"],
                               _load(ticket, 1, level, "weights_start.pt")["fc1.weight"])
    random_chain = [masks.load(level_dir(rnd.root, 0, l) / "mask.pt") for l in (1, 2)]
    assert masks.is_subset(random_chain[1], random_chain[0])


def test_random_pruning_at_one_level_alone_gives_the_bits_of_its_whole_chain(tiny, tmp_path):
    chain = replace(tiny, arm="random_prune", trials=1, levels=3)
    alone = replace(chain, only_levels="3", out=str(tmp_path / "alone"))
    engine.run([chain, alone], progress=False)
    assert not level_dir(alone.root, 0, 2).exists()  # levels 1-2 were not trained
    assert imp.dependencies(alone, 0, 3) == [(alone.ticket(), 0, 3)]
    for name in ("mask.pt", "weights_start.pt", "weights_final.pt"):
        a, b = _load(chain, 0, 3, name), _load(alone, 0, 3, name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name


def test_a_second_run_reads_the_store_instead_of_training(tiny, monkeypatch):
    first = engine.run_imp(tiny, progress=False)
    monkeypatch.setattr(imp, "train", lambda *a, **k: pytest.fail("a stored level was retrained"))
    second = engine.run_imp(tiny, progress=False)
    assert first.equals(second)
    assert (tiny.root / "summary.csv").is_file() and (tiny.root / "config.json").is_file()


def test_more_trials_or_levels_extend_the_stored_run(tiny, monkeypatch):
    engine.run_imp(replace(tiny, trials=1, levels=1), progress=False)
    trained = []
    original = imp.train
    monkeypatch.setattr(imp, "train", lambda *a, **k: trained.append(1) or original(*a, **k))
    summary = engine.run_imp(replace(tiny, trials=2, levels=2), progress=False)
    assert len(summary) == 6 and len(trained) == 6 - 2


def test_same_config_gives_the_same_bits_in_a_fresh_store(trained_tiny, tmp_path):
    tiny = trained_tiny  # trained once in this process, before this test
    other = replace(tiny, out=str(tmp_path / "other"))
    engine.run_imp(other, progress=False)
    for level in range(3):
        assert _same_state(_load(tiny, 1, level, "weights_final.pt"), _load(other, 1, level, "weights_final.pt"))


def test_parallel_workers_give_the_same_bits_as_one_process(trained_tiny, tmp_path):
    tiny = trained_tiny  # one process, one worker
    pooled = replace(tiny, out=str(tmp_path / "pooled"), workers=2)
    engine.run_imp(pooled, progress=False)
    for trial in range(2):
        assert _same_state(_load(tiny, trial, 2, "weights_final.pt"), _load(pooled, trial, 2, "weights_final.pt"))


@pytest.mark.parametrize("values, parameter", [
    ({"rate": 0.0}, "rate"), ({"rate": 1.0}, "rate"), ({"model": "vgg"}, "model"), ({"dataset": "svhn"}, "dataset"),
    ({"rewind": "60000"}, "rewind"), ({"rewind": "late"}, "rewind"), ({"levels": -1}, "levels"),
    ({"target_density": 1e-9, "rate": 0.01}, "target_density"), ({"target_density": 0.0}, "target_density"),
    ({"arm": "reinit", "rewind": "none"}, "rewind"), ({"batch_size": 0}, "batch_size"),
    ({"optimizer": "rmsprop"}, "optimizer"), ({"scope": "local"}, "scope"), ({"device": "tpu"}, "device"),
    ({"lr": -1}, "lr"), ({"trials": 0}, "trials"), ({"arm": "magic"}, "arm"), ({"output_rate": 1.5}, "output_rate"),
    ({"learning_rate": 0.1}, "learning_rate"), ({"iterations": "many"}, "iterations")])
def test_each_invalid_config_names_parameter_value_and_what_is_allowed(values, parameter):
    with pytest.raises(ConfigError) as err:
        from_values(IMPConfig, **values)
    assert err.value.parameter == parameter
    assert str(err.value).startswith(f"{parameter}=") and "invalid" in str(err.value)


def test_target_density_sets_the_number_of_levels():
    assert IMPConfig(target_density=0.019).num_levels == 18
    assert IMPConfig(target_density=0.036).num_levels == 15


def test_cli_rejects_bad_input_before_any_work(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lth_utils", "imp", "--rate", "2", "--out", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "rate=2.0 is invalid: a fraction in (0, 1)" in result.stderr
    assert not any(tmp_path.iterdir())


def test_cli_exposes_every_flag_the_issue_lists():
    text = subprocess.run([sys.executable, "-m", "lth_utils", "imp", "--help"], capture_output=True, text=True).stdout
    for flag in ("--model", "--dataset", "--data-root", "--optimizer", "--lr", "--batch-size", "--iterations",
                 "--eval-every", "--levels", "--rate", "--output-rate", "--scope", "--rewind", "--arm", "--trials",
                 "--seed", "--device", "--out"):
        assert flag in text


def test_runs_that_differ_only_in_pruning_share_one_dense_level_0(tiny, monkeypatch):
    trainings = []
    original = imp.train
    monkeypatch.setattr(imp, "train", lambda *a, **k: trainings.append(1) or original(*a, **k))
    canonical = replace(tiny, trials=1, levels=1)
    one_shot = replace(canonical, rate=0.5, output_rate=0.3, scope="global")
    engine.run([one_shot, canonical], progress=False)
    assert len(trainings) == 3  # one dense level 0, then level 1 of each config
    for name in ("weights_start.pt", "weights_final.pt", "mask.pt"):
        assert _same_state(_load(one_shot, 0, 0, name), _load(canonical, 0, 0, name))
    assert masks.density(masks.load(level_dir(one_shot.root, 0, 1) / "mask.pt")) < 0.6


def test_a_copied_dense_level_equals_one_trained_in_a_fresh_store(tiny, tmp_path, monkeypatch):
    late = replace(tiny, trials=1, levels=1, rate=0.5, rewind="7")  # copies level 0, replays 7 steps for rewind.pt
    engine.run([late], progress=False)
    assert imp.dense_source(late) == replace(late, rate=0.2, rewind="init")
    own = replace(late, out=str(tmp_path / "own"))
    monkeypatch.setattr(imp, "dense_source", lambda cfg: None)  # the reference trains its own level 0 (one process)
    engine.run([own], progress=False)
    for level, name in [(0, "weights_final.pt"), (0, "weights_start.pt"), (1, "weights_start.pt"),
                        (1, "weights_final.pt"), (1, "mask.pt")]:
        assert _same_state(_load(late, 0, level, name), _load(own, 0, level, name)), (level, name)
    assert _same_state(torch_load(late.root / "trial_0/rewind.pt"), torch_load(own.root / "trial_0/rewind.pt"))
    for level in (0, 1):
        assert (level_dir(late.root, 0, level) / "metrics.csv").read_bytes() == \
            (level_dir(own.root, 0, level) / "metrics.csv").read_bytes()


def test_a_level_that_copies_its_dense_source_reads_it_and_never_trains_it(tiny):
    # the engine runs the source first (a dependency); a task on its own does not run another task
    late = replace(tiny, trials=1, levels=1, rate=0.5, rewind="7")
    assert imp.dependencies(late, 0, 0) == [(imp.dense_source(late), 0, 0)]
    with pytest.raises(RuntimeError, match="copies its dense source's level 0, which is not stored"):
        imp.run_level(late, 0, 0)
    assert imp.read_result(level_dir(imp.dense_source(late).root, 0, 0)) is None  # nothing was trained for it
    engine.run([late], progress=False)
    assert imp.copied_dense_level(late, 0, 0, imp.read_result(level_dir(late.root, 0, 0)))


def test_rewind_points_share_the_dense_level_with_rewinding_to_init(tiny, monkeypatch):
    trainings = []
    original = imp.train
    monkeypatch.setattr(imp, "train", lambda *a, **k: trainings.append(k.get("stop_at")) or original(*a, **k))
    init = replace(tiny, trials=1, levels=0)
    engine.run([init] + [replace(init, rewind=r) for r in ("5", "12", "none")], progress=False)
    assert trainings == [None, 5, 12]  # one dense training; each late-rewinding run only replays its first k steps


def test_the_rewind_replay_trains_on_one_thread_in_any_process(tiny, monkeypatch):
    """Import replays rewind points in the importing process: with its default threads the sums (and the bits)
    would differ from the single-thread workers that trained the run."""
    seen = []
    original = imp.train
    monkeypatch.setattr(imp, "train", lambda *a, **k: seen.append(torch.get_num_threads()) or original(*a, **k))
    torch.set_num_threads(2)
    try:
        imp.replay_rewind_point(replace(tiny, rewind="5"), trial=0)
        assert seen == [1] and torch.get_num_threads() == 2  # one thread inside, restored after
    finally:
        torch.set_num_threads(os.cpu_count() or 1)


@pytest.mark.parametrize("arm", list(init_pruning.METHODS))
def test_a_pruning_at_init_arm_trains_the_initial_weights_under_its_mask_at_the_tickets_count(tiny, arm):
    ticket = replace(tiny, trials=1, levels=2)
    cfg = replace(ticket, arm=arm, only_levels="2")
    engine.run([ticket, cfg], progress=False)
    assert not level_dir(cfg.root, 0, 1).exists()  # only the asked level
    ticket_mask = masks.load(level_dir(ticket.root, 0, 2) / "mask.pt")
    mask = masks.load(level_dir(cfg.root, 0, 2) / "mask.pt")
    assert masks.remaining(mask) == masks.remaining(ticket_mask) == cfg.remaining_at(2)
    init = _load(ticket, 0, 0, "weights_start.pt")
    start = _load(cfg, 0, 2, "weights_start.pt")
    assert all(torch.equal(start[n], init[n] * mask[n] if n in mask else init[n]) for n in init)
    final = _load(cfg, 0, 2, "weights_final.pt")
    assert all(bool((final[n][~mask[n]] == 0).all()) for n in mask)
    # paired with the ticket: the same data order seed, so the two differ only by mask
    assert imp.dependencies(cfg, 0, 2) == []


def test_pruning_at_init_ablations_shuffle_reinit_and_invert(tiny):
    base = replace(tiny, arm="snip", trials=1, levels=2, only_levels="2")
    runs = {a: replace(base, ablation=a) for a in imp.ABLATIONS}
    engine.run(list(runs.values()), progress=False)
    mask = {a: masks.load(level_dir(c.root, 0, 2) / "mask.pt") for a, c in runs.items()}
    start = {a: _load(c, 0, 2, "weights_start.pt") for a, c in runs.items()}
    assert masks.layer_counts(mask["shuffle"]) == masks.layer_counts(mask["none"])
    assert not torch.equal(mask["shuffle"]["fc1.weight"], mask["none"]["fc1.weight"])
    assert all(torch.equal(mask["reinit"][n], mask["none"][n]) for n in mask["none"])
    assert not torch.equal(start["reinit"]["fc1.weight"], start["none"]["fc1.weight"])
    assert masks.remaining(mask["invert"]) == masks.remaining(mask["none"])
    assert masks.jaccard(mask["invert"], mask["none"]) < 0.5
    assert len({r.root for r in runs.values()}) == 4


@pytest.mark.parametrize("values, parameter", [
    (dict(arm="snap"), "arm"),
    (dict(arm="ticket", ablation="shuffle"), "ablation"),
    (dict(arm="snip", ablation="flip"), "ablation"),
    (dict(arm="grasp", rewind="100"), "rewind"),
    (dict(arm="ticket", only_levels="3"), "only_levels"),
    (dict(arm="random_prune", only_levels="3,x"), "only_levels"),
])
def test_bad_pruning_at_init_settings_fail_before_any_work(values, parameter):
    with pytest.raises(ConfigError) as error:
        from_values(IMPConfig, iterations=1000, **values)
    assert error.value.parameter == parameter



@pytest.mark.parametrize("criterion", ["magnitude_increase", "movement"])
def test_a_ticket_by_another_criterion_keeps_the_highest_of_its_scores_and_shares_the_dense_level(tiny, criterion):
    from lth_utils import pruning
    base = replace(tiny, trials=1, levels=1)
    cfg = replace(base, criterion=criterion)
    engine.run([base, cfg], progress=False)
    initial, final = _load(cfg, 0, 0, "weights_start.pt"), _load(cfg, 0, 0, "weights_final.pt")
    assert _same_state(final, _load(base, 0, 0, "weights_final.pt"))  # level 0 is the shared dense network
    names = list(masks.load(level_dir(cfg.root, 0, 1) / "mask.pt"))
    scores = pruning.criterion_scores(criterion, final, initial, names)
    mask = masks.load(level_dir(cfg.root, 0, 1) / "mask.pt")
    for n in names:  # every kept weight scores at least as high as every pruned one, layer by layer
        assert scores[n][mask[n]].min() >= scores[n][~mask[n]].max()
    assert cfg.root != base.root


def test_sign_arms_keep_the_rewind_signs_with_constant_or_fresh_magnitudes(tiny):
    ticket = replace(tiny, trials=1, levels=1)
    arms = {a: replace(ticket, arm=a) for a in signs.ARMS}
    engine.run([ticket, *arms.values()], progress=False)
    mask = masks.load(level_dir(ticket.root, 0, 1) / "mask.pt")
    rewind = _load(ticket, 0, 0, "weights_start.pt")
    for arm, cfg in arms.items():
        start = _load(cfg, 0, 1, "weights_start.pt")
        for n, m in mask.items():
            assert torch.equal(torch.sign(start[n][m]), torch.sign(rewind[n][m])) and bool((start[n][~m] == 0).all())
        if arm == "signs_constant":
            fan_out, fan_in = rewind["fc1.weight"].shape
            assert torch.allclose(start["fc1.weight"][mask["fc1.weight"]].abs(),
                                  torch.tensor((2 / (fan_in + fan_out)) ** 0.5))
        else:
            assert not torch.equal(start["fc1.weight"].abs(), (rewind["fc1.weight"] * mask["fc1.weight"]).abs())
