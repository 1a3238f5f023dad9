"""Compact, portable stores: export -> import gives the same store to the bit, notebooks render the same from it, and
a run committed half-way resumes elsewhere, training only what is missing."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from lth_utils.execution import engine

from lth_utils.lottery import imp

from lth_utils.results import portable
from lth_utils.foundations.files import torch_load
from lth_utils.foundations import store
from lth_utils.foundations.store import level_dir

from conftest import same_file


def _written(directory: Path) -> list[str]:
    """The files of a level folder but its lock (which a level being worked on always has)."""
    return sorted(p.name for p in directory.rglob("*") if p.name != ".lock") if directory.exists() else []


def test_an_import_that_cannot_replay_a_level_exactly_stops_and_names_it(tiny, tmp_path):
    cfg = replace(tiny, levels=1, trials=1)
    engine.run_imp(cfg, progress=False)
    portable.export_store(tiny.out, tmp_path / "compact")
    levels = tmp_path / "compact" / cfg.root.name / "levels.json"
    records = json.loads(levels.read_text())
    records[1]["weights_start"] = "0" * 64  # as if another machine initialised differently
    levels.write_text(json.dumps(records))
    with pytest.raises(portable.ImportMismatch, match="trial 0, level 1, weights_start .*: the start weights rebuilt"):
        portable.import_store(tmp_path / "compact", tmp_path / "imported")
    assert not _written(level_dir(replace(cfg, out=str(tmp_path / "imported")).root, 0, 1))  # nothing half-written


def test_a_run_committed_half_way_resumes_after_import_and_ends_bit_identical(tiny, tmp_path, monkeypatch):
    half = replace(tiny, levels=1)
    imp.prepare(replace(tiny, levels=3, arm="reinit"))  # config.json plans 3 levels: the run stops half-way
    engine.run([half, replace(half, arm="reinit")], progress=False)
    portable.export_store(tiny.out, tmp_path / "compact")
    moved = replace(tiny, levels=3, out=str(tmp_path / "elsewhere"))
    portable.import_store(tmp_path / "compact", moved.out)
    trained = []
    original = imp.train
    monkeypatch.setattr(imp, "train", lambda *a, **k: trained.append(1) or original(*a, **k))
    engine.run([moved, replace(moved, arm="reinit")], progress=False)
    assert len(trained) == 2 * 2 + 2 * 2  # levels 2 and 3 of each trial, ticket and reinit; nothing else
    monkeypatch.setattr(imp, "train", original)
    straight = replace(moved, out=str(tmp_path / "straight"))
    engine.run([straight, replace(straight, arm="reinit")], progress=False)
    for arm_cfg, arm_straight in ((moved, straight), (replace(moved, arm="reinit"), replace(straight, arm="reinit"))):
        for trial in range(2):
            for level in range(1 if arm_cfg.arm == "reinit" else 0, 4):
                for name in ("weights_final.pt", "metrics.csv", "result.json"):
                    if name == "weights_final.pt" and arm_cfg.arm == "reinit" and level == 1:
                        continue  # an imported control level has no trained weights (they are not exported)
                    a = level_dir(arm_cfg.root, trial, level) / name
                    b = level_dir(arm_straight.root, trial, level) / name
                    if name == "result.json":  # equal but for wall-clock seconds
                        ra, rb = (json.loads(p.read_text()) for p in (a, b))
                        for row in (ra, rb):
                            row.pop("seconds"), row.pop("eval_seconds")
                        assert ra == rb
                    else:
                        assert same_file(a, b), (arm_cfg.arm, trial, level, name)


def test_exporting_again_rewrites_no_byte_of_a_level_already_exported(tiny, tmp_path):
    cfg = replace(tiny, levels=1, trials=1)
    engine.run_imp(cfg, progress=False)
    portable.export_store(tiny.out, tmp_path / "compact")
    first = {p: p.read_bytes() for p in (tmp_path / "compact").rglob("*.npz")}
    engine.run_imp(replace(cfg, levels=2), progress=False)  # the run grows by a level
    portable.export_store(tiny.out, tmp_path / "compact")
    after = {p: p.read_bytes() for p in (tmp_path / "compact").rglob("*.npz")}
    assert all(after[p] == data for p, data in first.items())
    assert len(after) == len(first) + 1


def test_a_store_imported_resumed_and_exported_again_keeps_its_records_and_level_files(tiny, tmp_path):
    """The paper run's cycle: import the committed compact store, train more levels, export back into it. Levels
    whose trained weights the compact store left out are exported from its own records, byte for byte."""
    cfg = replace(tiny, levels=2, trials=2)
    engine.run_imp(cfg, progress=False)
    portable.export_store(tiny.out, tmp_path / "compact")
    first = {p: p.read_bytes() for p in (tmp_path / "compact").rglob("*.npz") if "last" not in p.name}
    records = json.loads(next((tmp_path / "compact").glob("*/levels.json")).read_text())
    moved = replace(cfg, trials=3, out=str(tmp_path / "elsewhere"))  # a new trial: trials 0-1 stay as imported
    portable.import_store(tmp_path / "compact", moved.out)
    assert not (level_dir(moved.root, 1, 1) / "weights_final.pt").exists()  # left out by the export
    engine.run_imp(moved, progress=False)
    portable.export_store(moved.out, tmp_path / "compact")
    after = json.loads(next((tmp_path / "compact").glob("*/levels.json")).read_text())
    assert [r for r in after if r["trial"] < 2] == records
    assert all((p.read_bytes() == data) for p, data in first.items())
    assert {(r["trial"], r["level"]) for r in after} == {(t, l) for t in range(3) for l in range(3)}


def test_an_imported_run_without_rewinding_exports_again_to_the_same_records(tiny, tmp_path):
    """Its start weights past level 1 are the previous level's trained weights, left out by the export: exporting the
    imported store again keeps their recorded digests instead of failing on the missing files."""
    cfg = replace(tiny, levels=3, trials=2, rewind="none")
    engine.run_imp(cfg, progress=False)
    portable.export_store(cfg.out, tmp_path / "compact")
    levels = next((tmp_path / "compact").glob("*/levels.json"))
    records = levels.read_text()
    portable.import_store(tmp_path / "compact", tmp_path / "imported")
    assert not (tmp_path / "imported" / cfg.root.name / "trial_1" / "level_2" / "weights_start.pt").exists()
    portable.export_store(tmp_path / "imported", tmp_path / "compact")
    assert levels.read_text() == records


def test_extending_a_trial_exported_complete_names_the_weights_it_lacks(tiny, tmp_path):
    cfg = replace(tiny, levels=1, trials=2)
    engine.run_imp(cfg, progress=False)
    portable.export_store(tiny.out, tmp_path / "compact")
    assert not list((tmp_path / "compact").rglob("last.npz"))  # complete trials carry no resume weights
    moved = replace(cfg, levels=2, out=str(tmp_path / "elsewhere"))
    portable.import_store(tmp_path / "compact", moved.out)
    with pytest.raises(FileNotFoundError, match="trial_1/level_1/weights_final.pt: level 2 prunes these"):
        engine.run_imp(moved, progress=False)


def test_instability_paths_travel_with_the_store_and_are_read_not_retrained(tiny, tmp_path, monkeypatch):
    from lth_utils.experiments import instability
    cfg = replace(tiny, levels=1, trials=1)
    table = instability.run_instability(cfg, levels=[0, 1], progress=False)
    portable.export_store(tiny.out, tmp_path / "compact")
    assert not list((tmp_path / "compact").rglob("copy_*"))  # the copies' weights stay behind
    moved = replace(cfg, out=str(tmp_path / "elsewhere"))
    portable.import_store(tmp_path / "compact", moved.out)
    monkeypatch.setattr(instability, "train", lambda *a, **k: pytest.fail("an imported path was recomputed"))
    monkeypatch.setattr(imp, "train", lambda *a, **k: pytest.fail("an imported level was retrained"))
    again = instability.run_instability(moved, levels=[0, 1], progress=False)
    assert again["errors"].tolist() == table["errors"].tolist()


def test_verify_finds_a_retrained_store_identical_and_names_how_far_a_different_one_is(tiny, tmp_path):
    from lth_utils.__main__ import main
    from lth_utils.foundations.store import write_result
    cfg = replace(tiny, levels=1, trials=1)
    engine.run([cfg, replace(cfg, arm="reinit")], progress=False)
    portable.export_store(cfg.out, tmp_path / "compact")
    again = replace(cfg, out=str(tmp_path / "again"))  # trained from scratch into another store: the same bits
    engine.run([again, replace(again, arm="reinit")], progress=False)
    table = portable.verify(again.out, tmp_path / "compact")
    assert len(table) == 2 + 1 and table["same_bits"].all()
    assert main(["verify", "--out", again.out, "--against", str(tmp_path / "compact")]) == 0
    # a level whose result differs in its last bits (as on another CPU) is named with its differences
    directory = level_dir(again.root, 0, 1)
    row = json.loads((directory / "result.json").read_text())
    write_result(directory, {**row, "test_acc_at_early_stop": row["test_acc_at_early_stop"] - 0.0012,
                             "early_stop_iteration": row["early_stop_iteration"] + 20})
    table = portable.verify(again.out, tmp_path / "compact")
    differ = table[~table["same_bits"]]
    assert len(differ) == 1 and differ["test_acc_diff_pp"].iloc[0] == pytest.approx(-0.12)
    assert differ["early_stop_diff"].iloc[0] == 20
    text = portable.verify_sentence(table, "again", "compact")
    assert "3 level(s) of 2 run(s) compared" in text and "2 identical to the bit" in text
    assert "1 differ: test accuracy at early stop by up to 0.12 pp" in text and "by up to 20 iterations" in text
    assert main(["verify", "--out", again.out, "--against", str(tmp_path / "compact")]) == 1
    assert main(["verify", "--out", str(tmp_path / "nowhere"), "--against", str(tmp_path / "compact")]) == 2


def test_weights_a_notebook_reads_travel_for_control_arms_too_and_can_be_trained_again(tiny, tmp_path):
    """Notebook 11 reads the trained weights of the ticket and both controls at its levels in every trial: the compact
    store keeps those it is told to (experiments.weights_read, which the CLI passes), and a store that lacks them gets them back, to the bit, by retraining."""
    cfg = replace(tiny, levels=2, trials=2)
    arms = [cfg, replace(cfg, arm="reinit"), replace(cfg, arm="random_prune")]
    engine.run(arms, progress=False)
    read = frozenset((c.hash, t, 2) for c in arms for t in range(2))
    portable.export_store(cfg.out, tmp_path / "compact", weights_read=read)
    portable.import_store(tmp_path / "compact", tmp_path / "imported")
    for c in arms:
        for t in range(2):
            original = level_dir(c.root, t, 2) / "weights_final.pt"
            twin = tmp_path / "imported" / original.relative_to(Path(cfg.out))
            assert same_file(original, twin), twin
            if c.arm != "ticket":  # a control level no notebook reads is still left out
                assert not (twin.parents[1] / "level_1" / "weights_final.pt").exists()
    # a store imported from a compact store made before these weights were kept: trained again, the same bits
    for c in arms[1:]:
        (tmp_path / "imported" / c.root.name / "trial_1" / "level_2" / "weights_final.pt").unlink()
    assert portable.retrain_weights(tmp_path / "imported", tmp_path / "compact", progress=False) == []  # not asked
    rows = portable.retrain_weights(tmp_path / "imported", tmp_path / "compact", progress=False, weights_read=read)
    assert sorted((r["run"], r["trial"], r["level"]) for r in rows) == sorted((c.root.name, 1, 2) for c in arms[1:])
    for c in arms[1:]:
        path = level_dir(c.root, 1, 2) / "weights_final.pt"
        assert same_file(path, tmp_path / "imported" / path.relative_to(Path(cfg.out)))
    # a level whose stored result differs (another machine's floats) is refused, naming what differs
    victim = tmp_path / "imported" / arms[1].root.name / "trial_1" / "level_2"
    (victim / "weights_final.pt").unlink()
    row = json.loads((victim / "result.json").read_text())
    (victim / "result.json").write_text(json.dumps({**row, "final_test_acc": row["final_test_acc"] + 1e-4}))
    with pytest.raises(portable.ImportMismatch, match="its final_test_acc differ from the stored ones"):
        portable.retrain_weights(tmp_path / "imported", progress=False, weights_read=read)
    # a run the compact store does not hold (trained here, not exported yet): retrained, with no digest to check
    (victim / "result.json").write_text(json.dumps(row))
    shutil.rmtree(tmp_path / "compact" / arms[1].root.name)
    rows = portable.retrain_weights(tmp_path / "imported", tmp_path / "compact", progress=False, weights_read=read)
    assert [(r["run"], r["trial"], r["level"]) for r in rows] == [(arms[1].root.name, 1, 2)]


def test_weights_retrained_on_another_cpu_model_are_kept_as_stand_ins_and_travel(tiny, tmp_path, monkeypatch):
    """A store that lacks the trained weights a notebook reads, whose stored results another CPU model trained (here:
    a result nudged in its last digits): `retrain-weights` refuses, and with `here` keeps the retrained weights as
    stand-ins beside the stored result, never as weights_final.pt. Export carries them, import writes them back to
    the bit (also into a level imported before they existed), and notebook 11 reads them and says so."""
    from lth_utils.experiments import loss_landscapes
    from lth_utils.foundations.store import RETRAINED, STAND_IN
    from lth_utils.results import analysis

    cfg = replace(tiny, levels=2, trials=2)
    arms = {"ticket": cfg, "reinit": replace(cfg, arm="reinit"), "random_prune": replace(cfg, arm="random_prune")}
    engine.run(list(arms.values()), progress=False)
    read = frozenset((c.hash, t, 2) for c in arms.values() for t in range(2))
    portable.export_store(cfg.out, tmp_path / "compact")  # before a notebook read them: their digests only
    portable.import_store(tmp_path / "compact", tmp_path / "a")
    portable.import_store(tmp_path / "compact", tmp_path / "b")  # a store imported before the stand-ins exist
    here = {arm: replace(c, out=str(tmp_path / "a")) for arm, c in arms.items()}
    victim = level_dir(here["reinit"].root, 1, 2)
    row = json.loads((victim / "result.json").read_text())
    (victim / "result.json").write_text(json.dumps({**row, "final_test_acc": row["final_test_acc"] + 1e-4}))
    rows = portable.retrain_weights(tmp_path / "a", tmp_path / "compact", progress=False, weights_read=read,
                                    here=True, workers=2)
    assert sorted((r["run"], r["trial"], r["retrained"]) for r in rows) == sorted(
        [(arms["ticket"].root.name, 1, False), (arms["reinit"].root.name, 0, False),
         (arms["reinit"].root.name, 1, True), (arms["random_prune"].root.name, 0, False),
         (arms["random_prune"].root.name, 1, False)])
    assert sorted(p.name for p in victim.iterdir() if p.suffix in (".pt", ".json")) == [
        "mask.pt", "result.json", RETRAINED, "weights_retrained.pt", "weights_start.pt"]
    original = level_dir(arms["reinit"].root, 1, 2) / "weights_final.pt"
    assert same_file(original, victim / STAND_IN)  # this machine's bits: the weights the level trained here
    assert analysis.stand_in(here["reinit"], 1, 2)["final_test_acc"] == row["final_test_acc"]
    assert analysis.stand_in(here["reinit"], 0, 2) is None
    assert portable.retrain_weights(tmp_path / "a", tmp_path / "compact", progress=False, weights_read=read,
                                    here=True) == []  # done: nothing trained twice
    stand_ins = {name: (victim / name).read_bytes() for name in (STAND_IN, RETRAINED)}
    for name in stand_ins:
        (victim / name).unlink()
    with pytest.raises(portable.ImportMismatch, match=r"(?s)its final_test_acc differ.*retrain-weights --here"):
        portable.retrain_weights(tmp_path / "a", tmp_path / "compact", progress=False, weights_read=read)
    assert not (victim / "weights_final.pt").exists()
    nudged = json.loads((victim / "result.json").read_text())  # a row that records another instruction set:
    other = {**nudged, "provenance": {**nudged["provenance"], "cpu_capability": "ANOTHER"}}  # refused untrained
    (victim / "result.json").write_text(json.dumps(other))
    monkeypatch.setattr(portable, "in_worker", lambda *a: pytest.fail("trained before refusing"))
    with pytest.raises(portable.ImportMismatch, match=r"(?s)trained on .* \(ANOTHER\), and this is .*--here"):
        portable.retrain_weights(tmp_path / "a", tmp_path / "compact", progress=False, weights_read=read)
    legacy = dict(nudged["provenance"], device_name="Another CPU")  # another model, from before instruction sets
    legacy.pop("cpu_capability", None)                              # were recorded: its name tells, refused too
    (victim / "result.json").write_text(json.dumps({**nudged, "provenance": legacy}))
    with pytest.raises(portable.ImportMismatch, match=r"(?s)trained on Another CPU, and this is .*--here"):
        portable.retrain_weights(tmp_path / "a", tmp_path / "compact", progress=False, weights_read=read)
    (victim / "result.json").write_text(json.dumps(nudged))
    for name, data in stand_ins.items():
        (victim / name).write_bytes(data)
    portable.export_store(tmp_path / "a", tmp_path / "compact", weights_read=read)
    record = next(r for r in json.loads((tmp_path / "compact" / victim.parents[1].name / "levels.json").read_text())
                  if (r["trial"], r["level"]) == (1, 2))
    assert record["retrained"]["final_test_acc"] == row["final_test_acc"]
    assert "weights_final" not in record  # a control level exported without them: stand-ins never pass as its own
    for other in ("b", "c"):  # a level imported before (b) and a new store (c): the stand-ins written back
        portable.import_store(tmp_path / "compact", tmp_path / other)
        twin = tmp_path / other / victim.relative_to(tmp_path / "a")
        assert same_file(victim / STAND_IN, twin / STAND_IN) and not (twin / "weights_final.pt").exists()
        assert (twin / RETRAINED).read_text() == (victim / RETRAINED).read_text()
    table = loss_landscapes.stand_ins({a: replace(c, out=str(tmp_path / "c")) for a, c in arms.items()}, [2], 2)
    assert len(table) == 8 and table["stand_in"].sum() == 1
    assert torch.equal(analysis.load_trained(replace(arms["reinit"], out=str(tmp_path / "c")), 1, 2)["fc1.weight"],
                       torch_load(original)["fc1.weight"])
    text = loss_landscapes.stand_in_sentence(table)
    assert text.startswith("**1 of the 8 trained networks drawn here are stand-ins.**") and "-0.010 pp" in text
    assert loss_landscapes.stand_in_sentence(table.assign(stand_in=False)).startswith("All 8 trained networks")
    # a stand-in whose bits differ from their digest is refused, naming the file
    levels = tmp_path / "compact" / victim.parents[1].name / "levels.json"
    records = json.loads(levels.read_text())
    next(r for r in records if (r["trial"], r["level"]) == (1, 2))["retrained"]["weights"] = "0" * 64
    levels.write_text(json.dumps(records))
    with pytest.raises(portable.ImportMismatch, match=r"level_2.npz \(retrained\).*stand-in trained weights differ"):
        portable.import_store(tmp_path / "compact", tmp_path / "d")
    # on the device model that trained it, retraining without --here gives the level its own weights back
    monkeypatch.undo()  # training allowed again
    (victim / "result.json").write_text(json.dumps(row))
    rows = portable.retrain_weights(tmp_path / "a", tmp_path / "compact", progress=False, weights_read=read)
    assert [(r["trial"], r["level"], r["retrained"]) for r in rows] == [(1, 2, False)]
    assert same_file(victim / "weights_final.pt", original)
    assert not (victim / STAND_IN).exists() and not (victim / RETRAINED).exists()
    portable.export_store(tmp_path / "a", tmp_path / "compact", weights_read=read)
    record = next(r for r in json.loads(levels.read_text()) if (r["trial"], r["level"]) == (1, 2))
    assert "retrained" not in record and "weights_final" in record
    rows = portable.import_store(tmp_path / "compact", tmp_path / "c")  # a store holding the stand-ins: replaced
    assert sum(r["weights_written"] for r in rows) == 1 and sum(r["levels_written"] for r in rows) == 0
    twin = tmp_path / "c" / victim.relative_to(tmp_path / "a")
    assert same_file(twin / "weights_final.pt", original) and not (twin / STAND_IN).exists()
    assert not (twin / RETRAINED).exists()
    assert portable.import_store(tmp_path / "compact", tmp_path / "c")[0]["weights_written"] == 0  # done once
    table = loss_landscapes.stand_ins({a: replace(c, out=str(tmp_path / "c")) for a, c in arms.items()}, [2], 2)
    assert not table["stand_in"].any()


def _late_rewinding_store(tiny, tmp_path):
    cfg = replace(tiny, levels=1, trials=2, rewind="7")
    engine.run([replace(cfg, rewind="init"), cfg], progress=False)
    portable.export_store(tiny.out, tmp_path / "compact")
    return cfg, tmp_path / "compact" / cfg.root.name


def test_a_damaged_or_old_compact_store_is_an_answer_not_a_traceback(tiny, tmp_path, capsys):
    """The CLI names the run, trial, level and file, says what it means and what to do, exits 2, and leaves nothing
    of the failing level (or run) written that a later run would read as done."""
    from lth_utils.__main__ import main
    cfg, compact = _late_rewinding_store(tiny, tmp_path)
    out = tmp_path / "imported"
    # one stored bit flipped in a level's trained weights
    level = compact / "trial_0" / "level_1.npz"
    with np.load(level) as members:
        arrays = {k: members[k].copy() for k in members.files}
    name = next(k for k in arrays if k.startswith("final/"))
    arrays[name].view(np.uint32)[0] ^= 1
    portable._write_npz(level, arrays)
    assert main(["import", "--from", str(tmp_path / "compact"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"run {cfg.root.name}, trial 0, level 1, trial_0/level_1.npz (final)" in err
    assert "damaged" in err and "export it again" in err and "Traceback" not in err
    assert not _written(out / cfg.root.name / "trial_0" / "level_1")
    assert (out / cfg.root.name / "trial_0" / "level_0" / "result.json").is_file()  # the levels before are whole
    # a compact store from before rewind points travelled: refused before anything of the run is written
    (compact / "trial_1" / "rewind.npz").unlink()
    out = tmp_path / "again"
    assert main(["import", "--from", str(tmp_path / "compact"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"run {cfg.root.name}, trial 1, level 0, trial_1/rewind.npz" in err and "older lth_utils" in err
    assert not (out / cfg.root.name).exists()


def test_a_late_rewinding_run_copies_a_dense_level_only_from_its_own_device_model(tiny, tmp_path):
    """Its rewind point is replayed here: on another CPU model it would not lie on the copied trajectory."""
    from lth_utils.foundations.store import read_result, write_result
    cfg = replace(tiny, levels=1, trials=2, rewind="7")
    source = imp.dense_source(cfg)
    engine.run([source], progress=False)
    for trial in range(2):
        row = read_result(level_dir(source.root, trial, 0))
        write_result(level_dir(source.root, trial, 0),
                     {**row, "provenance": {**row["provenance"], "device_name": "Other"}})
    engine.run([cfg], progress=False)
    mine = read_result(level_dir(cfg.root, 0, 0))
    assert mine["provenance"]["device_name"] != "Other" and mine["seconds"] != row["seconds"]  # trained, not copied
    portable.export_store(tiny.out, tmp_path / "compact")
    records = json.loads((tmp_path / "compact" / cfg.root.name / "levels.json").read_text())
    assert "copied_from" in records[0] and "rewind" in records[0]  # the same bits here: import may copy it
    for trial in range(2):  # as if the source's other CPU had given other last bits
        path = level_dir(source.root, trial, 0) / "weights_final.pt"
        weights = torch_load(path)
        weights["fc1.weight"].view(torch.int32)[0, 0] ^= 1
        torch.save(weights, path)
    portable.export_store(tiny.out, tmp_path / "other")
    records = json.loads((tmp_path / "other" / cfg.root.name / "levels.json").read_text())
    assert "copied_from" not in records[0] and "rewind" in records[0]  # its own level 0 travels with it
    with np.load(tmp_path / "other" / cfg.root.name / "trial_0" / "level_0.npz") as members:
        assert any(k.startswith("final/") for k in members.files)
    # imported (the level-0 weights of trials 1+ stay behind) and exported again: the same bytes
    portable.import_store(tmp_path / "other", tmp_path / "imported")
    before = {p: p.read_bytes() for p in (tmp_path / "other").rglob("*") if p.is_file()}
    portable.export_store(tmp_path / "imported", tmp_path / "other")
    assert before == {p: p.read_bytes() for p in (tmp_path / "other").rglob("*") if p.is_file()}


def test_verify_on_another_device_model_measures_and_passes(tiny, tmp_path, capsys):
    from lth_utils.__main__ import main
    cfg = replace(tiny, levels=1, trials=1)
    engine.run([cfg], progress=False)
    portable.export_store(cfg.out, tmp_path / "compact")
    levels = tmp_path / "compact" / cfg.root.name / "levels.json"
    records = json.loads(levels.read_text())
    for r in records:  # as if trained on another CPU model, whose last bits differ
        r["result"] = {**r["result"], "provenance": {**r["result"]["provenance"], "device_name": "Other CPU"},
                       "test_acc_at_early_stop": r["result"]["test_acc_at_early_stop"] + 0.001}
    levels.write_text(json.dumps(records))
    assert main(["verify", "--out", cfg.out, "--against", str(tmp_path / "compact")]) == 0
    text = capsys.readouterr().out
    assert f"trained on Other CPU ({torch.backends.cpu.get_cpu_capability()}) and retrained here" in text
    assert "a measurement, not a failure" in text
    assert "2 differ: test accuracy at early stop by up to 0.10 pp" in text
    for r in records:  # the same model name, its instruction set not recorded (rows from before it was): not a failure
        r["result"]["provenance"] = {k: v for k, v in r["result"]["provenance"].items() if k != "cpu_capability"}
        r["result"]["provenance"]["device_name"] = store.cpu_name()
    levels.write_text(json.dumps(records))
    assert main(["verify", "--out", cfg.out, "--against", str(tmp_path / "compact")]) == 0
    text = capsys.readouterr().out
    assert "with no instruction set recorded" in text and "a measurement, not a failure" in text
