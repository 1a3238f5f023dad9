"""Compact, portable stores: export -> import gives the same store to the bit, notebooks render the same from it, and
a run committed half-way resumes elsewhere, training only what is missing."""
from __future__ import annotations

from pathlib import Path


from lth_utils.execution import engine


from lth_utils.lottery import imp


from lth_utils.results import portable

from conftest import left_out, no_training, same_file, tiny_configs


def test_export_then_import_gives_back_every_file_to_the_bit(tiny, tmp_path, monkeypatch):
    configs = tiny_configs(tiny)
    engine.run(configs, progress=False)
    assert imp.dense_source(configs[2]) == configs[0]  # the late-rewinding run copies level 0: its rewind point ...
    portable.export_store(tiny.out, tmp_path / "compact")
    assert (tmp_path / "compact" / configs[2].root.name / "trial_1" / "rewind.npz").is_file()  # ... travels
    with monkeypatch.context() as patch:
        no_training(patch)
        portable.import_store(tmp_path / "compact", tmp_path / "imported")
    original = Path(tiny.out)
    compared = 0
    for path in original.rglob("*"):
        if path.is_dir() or path.name in ("summary.csv", ".lock"):
            continue
        twin = tmp_path / "imported" / path.relative_to(original)
        assert twin.exists() != left_out(path), path

        if twin.exists():
            assert same_file(path, twin), path
            compared += 1
    assert compared > 100
    omitted = [p for p in original.rglob("weights_*.pt") if left_out(p)]
    assert any(p.parts[-4].startswith("ticket") for p in omitted)  # the rule is exercised on a ticket level too
    assert any(p.name == "weights_start.pt" for p in omitted)
    assert portable.compact_size(tmp_path / "compact") < 0.5 * sum(
        p.stat().st_size for p in original.rglob("*") if p.is_file())
