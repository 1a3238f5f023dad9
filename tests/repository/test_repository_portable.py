"""Compact, portable stores: export -> import gives the same store to the bit, notebooks render the same from it, and
a run committed half-way resumes elsewhere, training only what is missing."""
from __future__ import annotations

import json
from pathlib import Path


from lth_utils import experiments
from lth_utils.course import profiles
from lth_utils.foundations.store import RETRAINED, level_dir
from lth_utils.results import portable

from conftest import no_training


def test_the_committed_stores_import_without_training(tmp_path, monkeypatch):
    """What `make run` imports on any machine: the committed standard and paper stores, every digest checked, with
    any call into training failing the test (training is not bit-identical across CPU models)."""
    no_training(monkeypatch)
    root = Path(__file__).resolve().parents[2] / "results"
    for profile in ("standard", "paper"):
        rows = portable.import_store(root / profile / "store", tmp_path / profile)
        levels = sum(len(json.loads((root / profile / "store" / r["run"] / "levels.json").read_text())) for r in rows)
        assert sum(r["levels_written"] for r in rows) == levels > 100, profile
        supermasks = [r for r in rows if r["run"].startswith("supermask_")]  # 08's, trained by trial: they travel too
        assert len(supermasks) == 2 and all(r["trials_written"] >= 3 for r in supermasks), profile
    config = json.loads(next((root / "standard" / "store").glob("*/config.json")).read_text())["config"]
    assert not set(portable.MACHINE_LOCAL) & set(config)  # no training machine's paths travel
    # the trained weights the paper handouts read (11's landscapes) are committed as the levels' own, no stand-ins
    wanted = experiments.weights_read([(profiles.imp_config("paper"), profiles.NOTEBOOK_SETTINGS["paper"])])
    found = set()
    for run in (tmp_path / "paper").iterdir():
        if portable.trained_by_trial(run):
            continue  # 08's supermasks: no trained weights read
        cfg = portable.config_of(run, tmp_path / "paper")
        for trial, level in portable.stored_levels(run):
            if (cfg.hash, trial, level) in wanted:
                found.add((cfg.hash, trial, level))
                directory = level_dir(run, trial, level)
                assert (directory / "weights_final.pt").is_file() and not (directory / RETRAINED).exists(), directory
    assert found == wanted and len(wanted) >= 45  # 3 arms x 3 levels x 5 trials (level 0: always kept)
