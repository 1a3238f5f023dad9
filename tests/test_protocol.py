"""The protocol note every handout prints: computed from the config and the committed paper-scale curves."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from lth_utils import profiles, protocol
from lth_utils.portable import SPLITS, _write_npz

ROOT = Path(__file__).resolve().parents[1]


def _dense_curve(store: Path, trial: int, val_loss: list[float], test_acc: list[float]) -> None:
    """A compact store holding one trial's level 0 of the paper profile's ticket run (evaluations every 100)."""
    paper = profiles.imp_config("paper")
    n = len(val_loss)
    iterations = np.tile(np.arange(n, dtype=np.int64) * 100, 2)
    split = np.repeat(np.array([SPLITS.index("val"), SPLITS.index("test")], dtype=np.uint8), n)
    members = {"metrics/iteration": iterations, "metrics/split": split,
               "metrics/loss": np.array(val_loss + [0.0] * n), "metrics/accuracy": np.array([0.0] * n + test_acc)}
    folder = store / paper.root.name / f"trial_{trial}"
    folder.mkdir(parents=True, exist_ok=True)
    _write_npz(folder / "level_0.npz", members)


def test_the_replay_stops_where_patience_runs_out_and_reports_the_accuracy_there(tmp_path):
    # minimum at 200 (0.5), a lower one at 900 (0.1); patience 3 stops at 500 with its early stop at 200
    loss = [1.0, 0.8, 0.5, 0.6, 0.7, 0.6, 0.55, 0.52, 0.3, 0.1, 0.2]
    _dense_curve(tmp_path, 0, loss, [0.9 + i / 100 for i in range(len(loss))])
    cfg = profiles.imp_config("standard", patience=3, iterations=10_000)
    rows = protocol.patience_replay(cfg, tmp_path)
    assert rows == [{"trial": 0, "full": 900, "stopped_at": 500, "early_stop": 200, "full_test_acc": 0.99,
                     "early_stop_test_acc": 0.92}]
    text = protocol.statement(cfg, "standard", store=tmp_path)
    assert "before its full-run minimum in 1 of 1 trials, after 500 iterations" in text
    assert "falls from 900 to 200" in text and "from 99.00% to 92.00%" in text
    assert "pruned from weights trained about 500 iterations, not 50,000" in text


def test_the_paper_protocol_and_the_miniatures_say_what_they_are():
    paper = protocol.statement(profiles.imp_config("paper"), "paper")
    assert paper.startswith("**Protocol: the paper's**") and "50,000 iterations per level" in paper
    assert "bias" not in paper
    quick = protocol.statement(profiles.imp_config("quick"), "quick")
    assert quick.startswith("**A miniature (`quick` profile)") and "2,000 iterations per level" in quick
    assert protocol.miniature("standard") == protocol.miniature("paper") == ""
    own = protocol.statement(profiles.imp_config("standard"), "standard", experiment="widths 1-512",
                             keys=("double_descent.steps", "double_descent.seeds"))
    assert "widths 1-512" in own and "double_descent.steps 2000 -> 4000" in own and "not run here" in own


def test_the_standard_handouts_state_the_bias_measured_on_the_committed_dense_curves():
    text = protocol.statement(profiles.imp_config("standard"), "standard", notebook="04")
    rows = protocol.patience_replay(profiles.imp_config("standard"))
    assert len(rows) == 5 and sum(r["early_stop"] != r["full"] for r in rows) >= 1
    assert f"falls from {np.mean([r['full'] for r in rows]):,.0f} to " in text
    done, planned = protocol.paper_levels_committed("04")
    assert 0 < done < planned and f"{done} of {planned} levels trained and committed" in text
    assert protocol.paper_levels_committed("02") == (95, 95)


def _parameters_cell(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "".join(next(c for c in cells if "parameters" in c["metadata"].get("tags", []))["source"])


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem[:2])
def test_every_notebook_defaults_to_its_handout_profile_and_prints_its_protocol(path):
    number = path.stem[:2]
    default = re.search(r'^profile = "(\w+)"', _parameters_cell(path), re.M).group(1)
    assert default == profiles.handout_profile(number)
    sources = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]
    assert any(f'notebook="{number}")' in s and "notebook.setup(" in s for s in sources)
    statement = next(i for i, s in enumerate(sources) if "protocol.statement(" in s)
    assert statement == next(i for i, s in enumerate(sources) if "notebook.setup(" in s) + 1


def test_the_readmes_protocol_table_is_what_the_code_computes():
    from lth_utils.notebook import notebook_paths
    readme = (ROOT / "README.md").read_text()
    block = readme.split(protocol.PROTOCOLS_START)[1].split(protocol.PROTOCOLS_END)[0].strip()
    assert block == protocol.handouts_table([p.stem for p in notebook_paths()]), "run make compare"
