"""The run store as a thing to trust: identity, provenance, concurrent use, and the defects of issue 8."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from lth_utils.execution import engine

from lth_utils.lottery import imp

from lth_utils.pruning import masks

from lth_utils.foundations import store
from lth_utils.foundations.config import ConfigError, config_hash, identity
from lth_utils.foundations.files import torch_load
from lth_utils.lottery.imp import IMPConfig
from lth_utils.foundations.store import ProvenanceError, level_dir, read_csv


def _result(cfg, trial, level):
    return json.loads((level_dir(cfg.root, trial, level) / "result.json").read_text())


# ---------------------------------------------------------------------------------------- 1. patience + late rewind
def test_patience_never_stops_level_0_before_the_rewind_iteration(tiny):
    # lr=1.0 makes validation loss rise at once: patience 1 would stop level 0 after a few evaluations
    cfg = replace(tiny, iterations=200, eval_every=5, patience=1, lr=1.0, rewind="100", levels=1, trials=1)
    engine.run_imp(cfg, progress=False)
    saved = torch_load(cfg.root / "trial_0" / "rewind.pt")
    assert isinstance(saved, dict) and "fc1.weight" in saved
    assert _result(cfg, 0, 0)["iterations_run"] >= 100
    # its dense source (rewinding to init) stopped before 100, so this run trained its own level 0, not a copy
    assert _result(imp.dense_source(cfg), 0, 0)["iterations_run"] < 100
    assert (level_dir(cfg.root, 0, 1) / "result.json").is_file()


# ------------------------------------------------------------------------------------ 2. device and provenance
def test_the_device_type_is_part_of_the_identity_but_not_the_card(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cpu, cuda0, cuda1 = IMPConfig(), IMPConfig(device="cuda:0"), IMPConfig(device="cuda:1")
    assert config_hash(cpu) != config_hash(cuda0)
    assert config_hash(cuda0) == config_hash(cuda1) == config_hash(IMPConfig(device="cuda"))


def test_every_level_records_device_torch_and_code_version(tiny):
    cfg = replace(tiny, trials=1, levels=1)
    engine.run_imp(cfg, progress=False)
    for level in (0, 1):
        recorded = _result(cfg, 0, level)["provenance"]
        assert recorded["device_type"] == "cpu" and recorded["device_name"] == store.cpu_name()
        assert recorded["torch"] == torch.__version__ and recorded["schema"] == IMPConfig.SCHEMA
        assert len(recorded["commit"]) == 40 and isinstance(recorded["dirty"], bool)
        assert recorded["cpu_capability"] == torch.backends.cpu.get_cpu_capability()  # AVX2, AVX512, ...
        row = {"provenance": recorded}
        assert store.machine(row) == f"{store.cpu_name()} ({recorded['cpu_capability']})"
    older = {"provenance": {k: v for k, v in recorded.items() if k != "cpu_capability"}}  # recorded before it was
    assert store.machine(older) == store.cpu_name() and store.machine({}) == "an unrecorded machine"
    assert store.same_machine(row, store.machine_row(cfg.device)) is True
    assert store.same_machine(older, row) is None  # one model name, instruction set unknown: not pinned down
    other_set = {"provenance": {**recorded, "cpu_capability": "OTHER"}}
    other_name = {"provenance": {**recorded, "device_name": "Other CPU"}}
    assert store.same_machine(other_set, row) is False and store.same_machine(other_name, older) is False
    gpu = {"provenance": {"device_type": "cuda", "device_name": "NVIDIA H100"}}
    assert store.same_machine(gpu, gpu) is True  # a GPU's name is its model


def _forge_torch_version(cfg, trial, level, version="1.0.0"):
    path = level_dir(cfg.root, trial, level) / "result.json"
    row = json.loads(path.read_text())
    row["provenance"]["torch"] = version
    path.write_text(json.dumps(row))


def test_a_chain_from_another_torch_version_is_neither_read_nor_extended(tiny):
    cfg = replace(tiny, trials=1, levels=1)
    engine.run_imp(cfg, progress=False)
    _forge_torch_version(cfg, 0, 1)
    with pytest.raises(ProvenanceError, match=r"torch '1.0.0' stored, '.*' here"):
        engine.run_imp(cfg, progress=False)
    engine.run_imp(replace(cfg, foreign_ok=True), progress=False)  # reading is allowed when asked for
    with pytest.raises(ProvenanceError, match="1.0.0"):  # extending never is
        engine.run_imp(replace(cfg, levels=2, foreign_ok=True), progress=False)
    assert not (level_dir(cfg.root, 0, 2) / "result.json").exists()
    cli = subprocess.run([sys.executable, "-m", "lth_utils", "imp", "--train-subset", "600", "--iterations", "30",
                          "--eval-every", "10", "--levels", "1", "--trials", "1", "--data-root", cfg.data_root,
                          "--out", cfg.out], capture_output=True, text=True)
    assert cli.returncode == 2 and "torch '1.0.0' stored" in cli.stderr and "Traceback" not in cli.stderr


# -------------------------------------------------------------------------------------------- 3. identity
def test_the_identity_holds_every_result_affecting_field_even_at_its_default():
    fields = identity(IMPConfig())
    for name in ("lr", "batch_size", "iterations", "eval_every", "optimizer", "rate", "scope", "rewind", "arm",
                 "seed", "model", "dataset", "device", "patience", "train_subset"):
        assert name in fields, name
    for name in ("trials", "levels", "workers", "out", "data_root", "test_curve_levels", "only_levels", "foreign_ok"):
        assert name not in fields, name


def test_a_changed_default_or_schema_gives_a_new_folder(monkeypatch):
    before = config_hash(IMPConfig())
    # A later commit that changes a default: the stored folder (made with the old value) must not match.
    field = next(f for f in dataclasses.fields(IMPConfig) if f.name == "lr")
    monkeypatch.setattr(field, "default", 1e-3)
    assert config_hash(IMPConfig(lr=1e-3)) != before
    monkeypatch.setattr(IMPConfig, "SCHEMA", IMPConfig.SCHEMA + 1)
    assert config_hash(IMPConfig()) != before


@pytest.mark.parametrize("change", [dict(lr=1e-3), dict(batch_size=30), dict(iterations=10), dict(rate=0.3),
                                    dict(rewind="5"), dict(seed=1), dict(eval_every=7), dict(patience=2),
                                    dict(sparse_train_density=0.1)])
def test_each_hyperparameter_changes_the_hash(tiny, change):
    assert config_hash(tiny) != config_hash(replace(tiny, **change))


def test_the_hash_ignores_where_and_how_much(tiny, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config_hash(tiny) == config_hash(replace(tiny, trials=9, levels=9, workers=3, out="elsewhere",
                                                    data_root="other", test_curve_levels="none"))
    assert config_hash(tiny) != config_hash(replace(tiny, device="cuda"))
    assert config_hash(tiny) != config_hash(replace(tiny, lr=1e-3))


# -------------------------------------------------------------------------------------------- 4. summary
def test_summary_csv_lists_every_stored_level_after_a_smaller_request(tiny):
    engine.run_imp(replace(tiny, levels=2), progress=False)
    smaller = engine.run_imp(replace(tiny, levels=1), progress=False)
    assert len(smaller) == 2 * 2
    rows = read_csv(tiny.root / "summary.csv")
    assert sorted((int(r["trial"]), int(r["level"])) for r in rows) == [(t, l) for t in range(2) for l in range(3)]


# -------------------------------------------------------------------------------------------- 5. concurrent use


def test_a_temporary_file_left_by_a_killed_writer_is_swept_by_the_next_holder_of_the_level(tiny):
    cfg = replace(tiny, trials=1, levels=0)
    stale = level_dir(cfg.root, 0, 0) / ".weights_final.pt.abc.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a file")
    engine.run_imp(cfg, progress=False)
    assert not stale.exists()


# -------------------------------------------------------------------------------------------- 6. rewind values
def test_rewinding_to_the_last_iteration_is_refused():
    with pytest.raises(ConfigError, match="rewind"):
        IMPConfig(iterations=100, rewind="100")
    assert IMPConfig(iterations=100, rewind="99").rewind_iteration == 99


def test_rewind_0_and_init_are_one_computation_in_one_folder():
    assert IMPConfig(rewind="0").rewind == "init" and IMPConfig(rewind="007").rewind == "7"
    assert config_hash(IMPConfig(rewind="0")) == config_hash(IMPConfig(rewind="init"))


# -------------------------------------------------------------------------------------------- 7. global scope
def test_global_scope_pools_every_hidden_layer_and_the_output_layer_when_asked(tiny):
    cfg = replace(tiny, trials=1, levels=1, scope="global")
    engine.run_imp(cfg, progress=False)
    counts = masks.layer_counts(masks.load(level_dir(cfg.root, 0, 1) / "mask.pt"))
    assert counts["fc3.weight"] == 1000 - 100  # the output layer alone, at half rate
    pooled = replace(cfg, pool_output=True)
    engine.run_imp(pooled, progress=False)
    pooled_counts = masks.layer_counts(masks.load(level_dir(pooled.root, 0, 1) / "mask.pt"))
    assert sum(pooled_counts.values()) == 266_200 - round(0.2 * 266_200)
    assert pooled_counts["fc3.weight"] != 900  # ranked with the others, not at its own rate


def test_global_scope_with_fewer_than_two_pooled_layers_is_refused():
    from lth_utils import pruning
    weights = {"fc1.weight": torch.randn(4, 3), "fc2.weight": torch.randn(2, 4)}
    mask = {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
    with pytest.raises(ValueError, match="needs two layers"):
        pruning.magnitude_prune(weights, mask, {"fc1.weight": 0.2, "fc2.weight": 0.1}, "global",
                                exclude=("fc2.weight",))
    both = pruning.magnitude_prune(weights, mask, {"fc1.weight": 0.2, "fc2.weight": 0.2}, "global")
    assert masks.remaining(both) == 20 - round(0.2 * 20)


def test_the_driver_prunes_the_output_layer_at_half_rate_by_default(tiny):
    cfg = replace(tiny, trials=1, levels=2)
    engine.run_imp(cfg, progress=False)
    counts = [masks.layer_counts(masks.load(level_dir(cfg.root, 0, l) / "mask.pt")) for l in range(3)]
    assert [c["fc3.weight"] for c in counts] == [1000, 900, 810]
    assert [c["fc1.weight"] for c in counts] == [235_200, 188_160, 150_528]


# -------------------------------------------------------------------------------------------- reinit draws
def test_reinit_draws_use_the_tickets_mask_with_different_initialisations(tiny):
    draws = [replace(tiny, arm="reinit", draw=j, trials=1, levels=2, only_levels="2" if j else "") for j in range(3)]
    engine.run(draws, progress=False)
    starts = [torch_load(level_dir(d.root, 0, 2) / "weights_start.pt")["fc1.weight"] for d in draws]
    assert not torch.equal(starts[0], starts[1]) and not torch.equal(starts[1], starts[2])
    ticket_mask = masks.load(level_dir(tiny.root, 0, 2) / "mask.pt")
    assert all(torch.equal((s != 0), ticket_mask["fc1.weight"]) for s in starts)
    assert not (level_dir(draws[1].root, 0, 1)).exists()  # only the asked-for level
    with pytest.raises(ConfigError, match="draw"):
        replace(tiny, arm="ticket", draw=1)


# -------------------------------------------------------------------------------------------- 10. weak tests
def test_control_arms_train_on_the_tickets_data_order_level_for_level(tiny, monkeypatch):
    seeds = {}
    original = imp.train

    def spy(model, mask, splits, config, data_seed, **kwargs):
        seeds[(config.arm, kwargs.get("start_iteration"), len(seeds))] = data_seed
        seen.append((config.arm, data_seed))
        return original(model, mask, splits, config, data_seed, **kwargs)

    seen = []
    monkeypatch.setattr(imp, "train", spy)
    arms = [replace(tiny, arm=a, trials=1, levels=2) for a in ("ticket", "reinit", "random_prune")]
    engine.run(arms, progress=False)
    by_arm = {arm: [s for a, s in seen if a == arm] for arm in ("ticket", "reinit", "random_prune")}
    assert by_arm["reinit"] == by_arm["random_prune"] == by_arm["ticket"][1:]  # levels 1 and 2; level 0 is the ticket's
    assert len(set(by_arm["ticket"])) == 3  # each level its own order


@pytest.mark.parametrize("rewind, level", [("init", 0), ("init", 1), ("7", 1)])
def test_instability_copies_start_from_the_levels_true_spawn_point(tiny, rewind, level):
    # Retraining from the spawn point with the level's own data order must reproduce the stored trained weights.
    from lth_utils import data
    from lth_utils.experiments.instability import spawn_point
    from lth_utils.models import build_model
    from lth_utils.training import train
    cfg = replace(tiny, rewind=rewind, trials=1, levels=1)
    engine.run_imp(cfg, progress=False)
    weights, mask, k = spawn_point(cfg, 0, level)
    assert k == cfg.rewind_iteration
    splits = data.load_splits("mnist", cfg.data_root, train_subset=cfg.train_subset)
    model = build_model(cfg.model, splits.input_shape, splits.num_classes)
    model.load_state_dict(weights)
    train(model, mask, splits, cfg, data_seed=imp.derive_seed(cfg.seed, 0, level, "data"),
          start_iteration=imp.start_iteration(cfg, level))
    stored = torch_load(level_dir(cfg.root, 0, level) / "weights_final.pt")
    assert all(torch.equal(model.state_dict()[k_], stored[k_]) for k_ in stored)


def test_an_unwritable_run_store_is_refused_before_any_work(tiny):
    with pytest.raises(ConfigError, match=r"out='/proc/runs' is invalid"):
        engine.run_imp(replace(tiny, out="/proc/runs"), progress=False)
