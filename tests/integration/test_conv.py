"""Per-layer-type pruning rates (the paper's conv networks: conv, fully connected and output layers each at their
own rate), and the Conv-2/4/6 CIFAR-10 path of the profiles, exercised on generated CIFAR-format files."""
from __future__ import annotations

from dataclasses import replace

import pytest

from lth_utils.execution import engine

from lth_utils.pruning import masks

from lth_utils import pruning
from lth_utils.foundations.config import ConfigError, identity
from lth_utils.lottery.imp import IMPConfig
from lth_utils.models import build_model, conv_names, prunable_names
from lth_utils.course.profiles import imp_config
from lth_utils.foundations.store import level_dir


def test_layer_rates_put_conv_layers_at_their_own_rate():
    names = ["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"]
    rates = pruning.layer_rates(names, 0.2, None, conv_rate=0.15, conv_names=names[:2])
    assert rates == {"conv1.weight": 0.15, "conv2.weight": 0.15, "fc1.weight": 0.2, "fc2.weight": 0.1}
    assert pruning.layer_rates(names, 0.2) == {**{n: 0.2 for n in names[:3]}, "fc2.weight": 0.1}


def test_conv_names_are_the_conv_weights_of_each_model():
    assert conv_names(build_model("lenet5")) == ["conv1.weight", "conv2.weight"]
    assert len(conv_names(build_model("conv6", (3, 32, 32)))) == 6
    assert conv_names(build_model("lenet_300_100")) == []


def test_lenet5_imp_prunes_conv_fc_and_output_layers_at_their_rates(tiny):
    cfg = replace(tiny, model="lenet5", conv_rate=0.1, rate=0.2, output_rate=0.1, levels=2, trials=1)
    engine.run_imp(cfg, progress=False)
    mask = masks.load(level_dir(cfg.root, 0, 2) / "mask.pt")
    total = {n: m.numel() for n, m in mask.items()}
    for name, rate in cfg.layer_rates(prunable_names(build_model("lenet5"))).items():
        kept = total[name]
        for _ in range(2):
            kept -= pruning.prune_count(kept, rate)
        assert int(mask[name].sum()) == kept, name
    assert cfg.layer_rates(list(mask))["conv1.weight"] == 0.1 and cfg.layer_rates(list(mask))["fc1.weight"] == 0.2


def test_conv_rate_leaves_every_existing_run_identity_alone():
    assert "conv_rate" not in identity(IMPConfig())
    assert IMPConfig().hash == IMPConfig(conv_rate=None).hash
    assert IMPConfig(model="lenet5").hash != IMPConfig(model="lenet5", conv_rate=0.1).hash


@pytest.mark.parametrize("values", [
    dict(conv_rate=0.1),                                             # LeNet-300-100 has no conv layers
    dict(model="lenet5", conv_rate=1.5),
    dict(model="lenet5", conv_rate=0.1, scope="global", pool_output=True),
])
def test_bad_conv_rate_is_an_error_naming_it(values):
    with pytest.raises(ConfigError) as error:
        IMPConfig(**values)
    assert error.value.parameter == "conv_rate"


def test_profiles_apply_the_papers_conv_settings():
    paper = imp_config("paper", model="conv6")
    assert (paper.dataset, paper.lr, paper.iterations, paper.conv_rate, paper.rate) == ("cifar10", 3e-4, 30_000,
                                                                                        0.15, 0.2)
    smoke = imp_config("smoke", model="conv2")
    assert (smoke.dataset, smoke.lr, smoke.conv_rate, smoke.iterations) == ("cifar10", 2e-4, 0.1, 40)
    assert imp_config("paper", model="conv2", lr=1e-3).lr == 1e-3  # the caller's override wins
    assert imp_config("paper").hash == imp_config("paper", model="lenet_300_100").hash


