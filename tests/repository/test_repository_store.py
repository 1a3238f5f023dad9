"""The run store as a thing to trust: identity, provenance, concurrent use, and the defects of issue 8."""
from __future__ import annotations

from pathlib import Path




def test_fields_added_later_leave_the_committed_paper_runs_their_identity():
    """The compact paper results are read by folder name: a new field at its default must not rename them."""
    from lth_utils import experiments
    from lth_utils.course.profiles import NOTEBOOK_SETTINGS, imp_config
    committed = {p.name for p in (Path(__file__).resolve().parents[2] / "results" / "paper" / "store").iterdir()}
    cfg = imp_config("paper")
    for run in experiments.notebook_runs("03", cfg, NOTEBOOK_SETTINGS["paper"])[:3]:  # the ticket and its two controls
        assert run.root.name in committed, run.root.name
