"""Per-layer-type pruning rates (the paper's conv networks: conv, fully connected and output layers each at their
own rate), and the Conv-2/4/6 CIFAR-10 path of the profiles, exercised on generated CIFAR-format files."""
from __future__ import annotations



from lth_utils.execution import engine



from lth_utils.pruning import masks
from lth_utils.course.profiles import imp_config
from lth_utils.foundations.store import level_dir

from conftest import cifar_folder


def test_smoke_conv2_runs_imp_on_cifar_format_files_with_the_papers_rates(tmp_path):
    cifar_folder(tmp_path / "data")
    cfg = imp_config("smoke", model="conv2", data_root=str(tmp_path / "data"), out=str(tmp_path / "runs"),
                     levels=1, trials=1, workers=1, iterations=4, eval_every=4)  # Conv-2 on 5,000 val images is slow
    summary = engine.run_imp(cfg, progress=False)
    assert list(summary["level"]) == [0, 1]
    mask = masks.load(level_dir(cfg.root, 0, 1) / "mask.pt")
    assert abs(mask["conv1.weight"].float().mean().item() - 0.9) < 0.01
    assert abs(mask["fc1.weight"].float().mean().item() - 0.8) < 0.01
    assert abs(mask["fc3.weight"].float().mean().item() - 0.9) < 0.01
