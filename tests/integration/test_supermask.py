"""Supermasks: only the mask is learned; the weights are the ticket's initial ones (or their signed constants)."""
import json
from dataclasses import replace

import pytest
import torch

from lth_utils.experiments import supermask
from lth_utils.foundations.config import ConfigError
from lth_utils.foundations.files import torch_load
from lth_utils.lottery.imp import derive_seed
from lth_utils.models import build_model
from lth_utils.results import portable


def _cfg(data_root, tmp_path, **changes):
    values = dict(train_subset=1000, iterations=300, eval_every=100, data_root=str(data_root),
                  out=str(tmp_path / "runs"))
    return supermask.SupermaskConfig(**{**values, **changes})


def test_a_learned_supermask_over_frozen_init_weights_beats_chance_and_is_read_back(data_root, tmp_path):
    cfg = _cfg(data_root, tmp_path)
    row = supermask.train_supermask(cfg, trial=0)
    assert row["test_acc"] > 0.5 and 0 < row["density"] < 1
    assert supermask.train_supermask(cfg, trial=0) == row  # stored, not retrained
    scores = torch_load(cfg.root / "trial_0" / "scores.pt")
    assert set(scores) == {"fc1.weight", "fc2.weight", "fc3.weight"}


def test_the_frozen_weights_are_the_tickets_initial_weights_or_their_signed_constants():
    init = build_model("lenet_300_100", seed=derive_seed(0, 1, "init"))
    plain = supermask.frozen_weights(supermask.SupermaskConfig(), 1, (1, 28, 28), 10)
    assert all(torch.equal(a, b) for a, b in zip(init.state_dict().values(), plain.state_dict().values()))
    signed = supermask.frozen_weights(supermask.SupermaskConfig(weights="signed_constant"), 1, (1, 28, 28), 10)
    w, s = init.fc2.weight, signed.fc2.weight
    assert torch.equal(torch.sign(w), torch.sign(s)) and torch.allclose(s.abs(), torch.tensor((2 / 400) ** 0.5))


def test_the_same_config_learns_the_same_bits(data_root, tmp_path):
    a = supermask.train_supermask(_cfg(data_root, tmp_path / "a", iterations=50), 0)
    b = supermask.train_supermask(_cfg(data_root, tmp_path / "b", iterations=50), 0)
    assert a["test_acc"] == b["test_acc"] and a["density"] == b["density"]


def test_bad_supermask_settings_name_the_parameter():
    with pytest.raises(ConfigError, match="weights='trained' is invalid"):
        supermask.SupermaskConfig(weights="trained")
    with pytest.raises(ConfigError, match="lr=0"):
        supermask.SupermaskConfig(lr=0)


def test_a_supermask_run_travels_in_the_compact_store_and_is_read_back_not_relearned(data_root, tmp_path, monkeypatch):
    cfg = _cfg(data_root, tmp_path, iterations=40, eval_every=20)
    rows = supermask.supermask_runs(cfg, trials=2, workers=1, progress=False)
    portable.export_store(cfg.out, tmp_path / "compact")
    compact = tmp_path / "compact" / cfg.root.name
    first = {p: p.read_bytes() for p in compact.rglob("*") if p.is_file()}
    portable.export_store(cfg.out, tmp_path / "compact")  # again: the same bytes
    assert {p: p.read_bytes() for p in compact.rglob("*") if p.is_file()} == first
    assert json.loads((compact / "levels.json").read_text()) == []  # no IMP levels: the stores' level counts ignore it
    assert [r["trial"] for r in json.loads((compact / "trials.json").read_text())] == [0, 1]
    moved = replace(cfg, out=str(tmp_path / "elsewhere"))
    assert portable.import_store(tmp_path / "compact", moved.out) == [{"run": cfg.root.name, "levels_written": 0,
                                                                       "weights_written": 0, "trials_written": 2}]
    for trial in range(2):
        for name in ("result.json", "metrics.csv"):
            assert (moved.root / f"trial_{trial}" / name).read_bytes() == \
                (cfg.root / f"trial_{trial}" / name).read_bytes()
    monkeypatch.setattr(supermask, "frozen_weights", lambda *a: pytest.fail("relearned a stored supermask"))
    assert supermask.supermask_runs(moved, trials=2, workers=1, progress=False).equals(rows)
    assert portable.import_store(tmp_path / "compact", moved.out)[0]["trials_written"] == 0  # stored: kept as it is
    (compact / "trials.json").unlink()  # as an older export left it: the run's folder, none of its trials
    assert portable.import_store(tmp_path / "compact", tmp_path / "third")[0]["trials_written"] == 0
