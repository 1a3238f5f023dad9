"""Ticket transfer between datasets (Morcos et al. 2019): the ticket found on one dataset (its masks and rewind
weights, level for level) retrained on another with the same architecture, paired by seed with that dataset's own
ticket and controls."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from lth_utils import data

from lth_utils.execution import engine

from lth_utils.pruning import masks
from lth_utils.foundations.config import ConfigError
from lth_utils.foundations.files import torch_load
from lth_utils.lottery.imp import IMPConfig
from lth_utils.foundations.store import level_dir


@pytest.fixture
def fashion(tiny):
    try:
        data.fetch("fashion_mnist", tiny.data_root)
    except data.DataError as error:
        pytest.skip(f"Fashion-MNIST is not available here: {error}")
    return replace(tiny, trials=1, levels=2)


def test_the_transfer_arm_trains_the_source_tickets_masks_and_rewind_weights_on_the_target(fashion):
    source = replace(fashion, dataset="mnist")
    transfer = replace(fashion, dataset="fashion_mnist", arm="transfer", transfer_from="mnist")
    target = replace(fashion, dataset="fashion_mnist")
    summaries = engine.run([transfer, target])
    assert transfer.ticket() == source and list(summaries[transfer]["level"]) == [1, 2]
    for level in (1, 2):
        mask = masks.load(level_dir(transfer.root, 0, level) / "mask.pt")
        source_mask = masks.load(level_dir(source.root, 0, level) / "mask.pt")
        assert all(torch.equal(mask[n], source_mask[n]) for n in mask)
        start = torch_load(level_dir(transfer.root, 0, level) / "weights_start.pt")
        rewind = torch_load(level_dir(source.root, 0, 0) / "weights_start.pt")
        assert all(torch.equal(start[n], rewind[n] * mask[n]) for n in mask)
    # Paired by seed: both datasets' tickets start from the same initialisation, so only the masks differ.
    own = torch_load(level_dir(target.root, 0, 0) / "weights_start.pt")
    assert all(torch.equal(own[k], rewind[k]) for k in own)
    own_mask = masks.load(level_dir(target.root, 0, 2) / "mask.pt")
    assert masks.layer_counts(own_mask) == masks.layer_counts(mask) and masks.jaccard(own_mask, mask) < 1


@pytest.mark.parametrize("values, parameter", [
    (dict(arm="transfer", transfer_from="mnist"), "transfer_from"),           # the same dataset
    (dict(arm="transfer", transfer_from="cifar10"), "transfer_from"),         # another input shape
    (dict(arm="transfer", transfer_from="svhn"), "transfer_from"),
    (dict(arm="transfer"), "transfer_from"),
    (dict(arm="reinit", transfer_from="fashion_mnist"), "transfer_from"),     # only the transfer arm transfers
    (dict(arm="transfer", transfer_from="fashion_mnist", rewind="none"), "rewind"),
])
def test_bad_transfer_configs_are_errors_naming_the_parameter(values, parameter):
    with pytest.raises(ConfigError) as error:
        IMPConfig(**values)
    assert error.value.parameter == parameter


def test_transfer_from_leaves_every_existing_run_identity_alone():
    assert IMPConfig().hash == IMPConfig(transfer_from="").hash
