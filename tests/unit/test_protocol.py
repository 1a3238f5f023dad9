"""The protocol note every handout prints: computed from the config and the committed paper-scale curves."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lth_utils.course import profiles, protocol
from lth_utils.results.portable import SPLITS, _write_npz

ROOT = Path(__file__).resolve().parents[2]


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


