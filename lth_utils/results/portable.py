"""Compact, portable run stores: what notebooks and a resumed run need, small enough to commit.

    python -m lth_utils export --out runs --to results/paper/store       # runs/ -> a compact copy
    python -m lth_utils import --from results/paper/store --out runs     # and back: notebooks read it, runs resume

A run store keeps every weight file; most of them can be recomputed from seeds and masks. The compact form keeps,
per run folder:

    <run>/config.json        as in the store
    <run>/levels.json        every stored level's result row (with its provenance), digests of its mask and weights,
                             and notebook 04's instability error path where one was computed
    <run>/trial_t/level_l.npz one per level: metrics (float64, exact); the ticket arm's mask as one bit per survivor of
                             the previous level's mask (a pruning-at-initialisation arm's: one bit per weight, as
                             its scores' last bits may differ on another machine); its trained weights (the values at the surviving positions plus
                             one sign bit per pruned zero) only where something reads them (`keeps_weights`: level 0,
                             trial 0, and the levels the caller names: `experiments.weights_read`)
    <run>/trial_t/last.npz   the trained weights of the last exported level of a trial that has not reached the run's
                             last level: the next level prunes them (a run committed half-way resumes from it)
    <run>/trial_t/rewind.npz the late-rewinding weights of every trial that has them (training made them, so they
                             travel: import never trains), checked against the digest in the trial's level-0 record

A level whose trained weights a notebook reads but whose originals no machine still held, retrained on another CPU
model (`retrain-weights --here`), keeps those stand-ins as 'retrained/...' arrays in its level file, with their own
result row and digest under 'retrained' in its record: they never pass as the level's own weights_final.pt.

A run trained by trial rather than by level (notebook 08's supermasks) keeps each finished trial's result row in
<run>/trials.json and its metrics in <run>/trial_t/metrics.npz, with an empty levels.json.

Files are written byte-for-byte reproducibly, so re-exporting a growing run adds new level files and rewrites only
levels.json and last.npz.

Import writes the store files back and recomputes what was left out from seeds and stored bits only, with the same
`imp.level_inputs` that training uses: every mask (the ticket's from its bits, the random arm's drawn from its seeds,
the reinit arm's read from the ticket) and every level's start weights. It never trains: whatever training produced
(trained weights, late-rewinding points) is read from the compact store, since training is not bit-identical across
CPU models. Everything is checked against the exported digests before anything of a level is written (its result
last), so an imported store is the exported one to the bit, or the import stops with an ImportMismatch that names
the run, trial, level and file and leaves no level half-written. The trained weights left out (control arms,
the ticket's levels 1+ of trials 1+) are absent from the imported store, and so are the start weights of the levels
of a run without rewinding that would start from them; `analysis.load_weights` says so.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..pruning import masks
from ..foundations.files import atomic_torch_save, atomic_write, atomic_write_text, torch_load
from ..models import build_model
from ..data import FACTS
from ..lottery.imp import IMPConfig, arm_of, config_of, dense_source, fit_level, level_inputs, tasks_of
from ..training.workers import in_worker
from ..foundations.store import (METRIC_COLUMNS, SUMMARY_COLUMNS, ImportMismatch, config_text, folder_number, level_dir, read_csv,
                    read_result, same_machine, stored_levels, task_lock, trained_by_trial, write_csv, write_result, STAND_IN,
                    RETRAINED, machine, machine_row, this_machine)

SPLITS = ("val", "test")
ARM_ORDER = {"ticket": 0, "random_prune": 1, "reinit": 2}  # a ticket run is imported before the arms that read it


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes of a state dict (independent of torch.save's container)."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


MACHINE_LOCAL = ("data_root", "out")  # where the training machine kept its data and store: not exported


def portable_config(text: str) -> str:
    """A run's config.json without the training machine's paths (MACHINE_LOCAL): they are no part of the run's
    identity, and whoever imports the store has their own."""
    record = json.loads(text)
    record["config"] = {k: v for k, v in record["config"].items() if k not in MACHINE_LOCAL}
    return config_text(record)


def _run_folders(store: Path) -> list[Path]:
    """Run folders in an order that imports every run after the runs it reads: dense sources, tickets, controls."""
    folders = [p for p in sorted(Path(store).iterdir()) if (p / "config.json").is_file()]

    def order(folder: Path):
        if trained_by_trial(folder):  # no IMP levels: nothing reads it, nor does it read any run
            return 9, False
        cfg = config_of(folder, store)
        return ARM_ORDER.get(cfg.arm, 9), dense_source(cfg) is not None

    return sorted(folders, key=order)


# ------------------------------------------------------------------------------------------------------------- export
def _weights_arrays(final: dict[str, torch.Tensor], mask: masks.Mask) -> dict[str, np.ndarray]:
    """Trained weights as the values at the mask's surviving positions plus one sign bit per pruned zero (w * 0 is
    -0.0 where w < 0), so that they come back to the bit."""
    arrays = {}
    for name, value in final.items():
        flat = value.flatten()
        if name in mask:
            kept = mask[name].flatten()
            arrays[f"final/{name}"] = flat[kept].numpy()
            arrays[f"zero_sign/{name}"] = np.packbits(torch.signbit(flat[~kept]).numpy())
        else:
            arrays[f"final/{name}"] = flat.numpy()
    return arrays


def _level_weights_arrays(final: dict[str, torch.Tensor], mask: masks.Mask, key: str) -> dict[str, np.ndarray]:
    """_weights_arrays under one level's keys ('final/t0/l3/fc1.weight', ...)."""
    return {f"{k.split('/')[0]}/{key}/{k.split('/', 1)[1]}": v for k, v in _weights_arrays(final, mask).items()}


def keeps_weights(cfg: IMPConfig, trial: int, level: int, weights_read: frozenset = frozenset()) -> bool:
    """Whether a level's trained weights go into its level file: a ticket's level 0 (the dense network: one-shot
    pruning without retraining reads it) unless the run shares another run's level 0 (imp.dense_source), trial 0
    (notebooks 05 and 09 inspect its weights), and any arm's (run hash, trial, level) in `weights_read` (the CLI
    passes those the notebooks load: experiments.weights_read, notebook 11's landscapes). The
    last level of a ticket's trial that has not reached the run's last level goes into trial_t/last.npz, for the
    next level to prune."""
    dense = level == 0 and dense_source(cfg) is None  # a run that shares its level 0 reads the source's
    return (cfg.arm == "ticket" and (dense or trial == 0)) or (cfg.hash, trial, level) in weights_read


def export_run(root: Path, dest: Path, weights_read: frozenset = frozenset()) -> dict:
    """Write the compact form of run folder `root` into `dest/<root.name>/`, with the trained weights of the levels
    `keeps_weights` keeps; returns {levels, bytes}."""
    if trained_by_trial(root):
        return _export_trials(root, dest / root.name)
    cfg, target = config_of(root, root.parent), dest / root.name
    source = dense_source(cfg)  # a ticket run whose level 0 is a copy of `source`'s refers to it
    exported = _exported_records(target)  # a run imported from `dest` may lack weights it left out
    arrays: dict[str, np.ndarray] = {}
    levels, last = [], {}
    for trial, level in stored_levels(root):
        directory, key = level_dir(root, trial, level), f"t{trial}/l{level}"
        mask = masks.load(directory / "mask.pt")
        record = _level_record(directory, trial, level, mask, exported.get((trial, level)), dest)
        arrays.update(_metrics_arrays(directory, key))
        if arm_of(cfg.arm).scores_mask:  # scored on this machine's floats: kept, one bit per weight, not rescored
            arrays.update({f"mask/{key}/{name}": np.packbits(m.flatten().numpy()) for name, m in mask.items()})
        keep = keeps_weights(cfg, trial, level, weights_read)
        if cfg.arm == "ticket":
            final = _ticket_final(directory, target, record, exported.get((trial, level)), keep)
            if level == 0 and source is not None and read_result(level_dir(source.root, trial, 0)) is not None \
                    and _same_level(root, source.root, trial):
                record["copied_from"] = source.root.name  # import copies it again: nothing of it is exported
            else:
                if level > 0:  # which of the previous level's survivors survive: one bit each
                    previous = masks.load(level_dir(root, trial, level - 1) / "mask.pt")
                    arrays.update({f"mask/{key}/{name}": np.packbits(m.flatten()[previous[name].flatten()].numpy())
                                   for name, m in mask.items()})
                if keep and final is not None:
                    arrays.update(_level_weights_arrays(final, mask, key))
                last[trial] = (level, final, mask)
        elif keep:  # a control level whose trained weights a notebook reads
            arrays.update(_control_final(root, directory, target, record, exported.get((trial, level)), mask, key))
        if keep:
            arrays.update(_stand_in_arrays(directory, record, mask, key))
        levels.append(record)
    arrays.update(_last_arrays(root, cfg, last, weights_read))
    arrays.update(_rewind_arrays(root, levels))
    _write_run(root, target, levels, arrays)
    return {"run": root.name, "levels": len(levels),
            "bytes": sum(p.stat().st_size for p in target.rglob("*") if p.is_file())}


def _exported_records(run: Path) -> dict[tuple[int, int], dict]:
    """{(trial, level): record} of an earlier export of `run` (empty if none)."""
    path = run / "levels.json"
    return {(r["trial"], r["level"]): r for r in json.loads(path.read_text())} if path.is_file() else {}


def _level_record(directory: Path, trial: int, level: int, mask: masks.Mask, exported: dict | None,
                  dest: Path) -> dict:
    """A level's levels.json record: its result row, the digests of its mask and start weights, and notebook 04's
    instability error path where one was computed (not the copies it trained)."""
    start = directory / "weights_start.pt"
    if start.is_file():
        start = state_digest(torch_load(start))
    elif exported is not None:  # a run without rewinding, imported: these start weights were left out
        start = exported["weights_start"]
    else:
        raise FileNotFoundError(f"{start} is missing and {dest} has no record of it")
    record = {"trial": trial, "level": level, "result": read_result(directory), "mask": state_digest(mask),
              "weights_start": start}
    path = directory / "instability" / "path.json"
    if path.is_file():
        record["instability"] = json.loads(path.read_text())
    return record


def _metrics_arrays(directory: Path, key: str) -> dict[str, np.ndarray]:
    """A level's metrics.csv as arrays (iterations, split codes, and loss and accuracy as exact float64)."""
    rows = read_csv(directory / "metrics.csv")
    arrays = {f"metrics/{key}/iteration": np.array([int(r["iteration"]) for r in rows], dtype=np.int64),
              f"metrics/{key}/split": np.array([SPLITS.index(r["split"]) for r in rows], dtype=np.uint8)}
    for column in ("loss", "accuracy"):
        arrays[f"metrics/{key}/{column}"] = np.array([float(r[column]) for r in rows], dtype=np.float64)
    return arrays


def _ticket_final(directory: Path, target: Path, record: dict, exported: dict | None, keep: bool):
    """A ticket level's trained weights (None where an earlier export kept only their digest), their digest
    recorded in `record`."""
    trial, level = record["trial"], record["level"]
    if (directory / "weights_final.pt").is_file():
        final = torch_load(directory / "weights_final.pt")
        record["weights_final"] = state_digest(final)
        return final
    if exported is not None and (not keep or not _exported_final(target, trial, level)):
        # imported from this compact store, which kept only these weights' digest (or was exported before a notebook
        # read them: `retrain-weights` rebuilds them on the device model that trained them)
        record["weights_final"] = exported["weights_final"]
        return None
    raise FileNotFoundError(f"{directory}/weights_final.pt is missing and {target.parent} has no record of it")


def _control_final(root: Path, directory: Path, target: Path, record: dict, exported: dict | None,
                   mask: masks.Mask, key: str) -> dict[str, np.ndarray]:
    """The trained weights of a control level that a notebook reads, as arrays, their digest recorded in `record`;
    none where an earlier export was made before a notebook read them (its digest, if any, is kept)."""
    final = directory / "weights_final.pt"
    if not final.is_file() and exported is not None and not _exported_final(target, record["trial"],
                                                                            record["level"]):
        if "weights_final" in exported:  # exported before a notebook read them
            record["weights_final"] = exported["weights_final"]
        return {}
    if not final.is_file():
        raise FileNotFoundError(f"{final} is missing: a notebook reads these weights; `python -m lth_utils "
                                f"retrain-weights --out {root.parent}` trains them again from the level's inputs")
    final = torch_load(final)
    record["weights_final"] = state_digest(final)
    return _level_weights_arrays(final, mask, key)


def _stand_in_arrays(directory: Path, record: dict, mask: masks.Mask, key: str) -> dict[str, np.ndarray]:
    """A level's stand-in trained weights (retrain_weights with `here`), where it has them and not the originals:
    their arrays ('retrained/t1/l7/fc1.weight', 'retrained_sign/...'), their result row (with their digest) in
    `record['retrained']`."""
    if (directory / "weights_final.pt").is_file() or not (directory / RETRAINED).is_file():
        return {}
    record["retrained"] = json.loads((directory / RETRAINED).read_text())
    renamed = {"final": "retrained", "zero_sign": "retrained_sign"}
    return {f"{renamed[k.split('/')[0]]}/{key}/{k.split('/', 1)[1]}": v
            for k, v in _weights_arrays(torch_load(directory / STAND_IN), mask).items()}


def _last_arrays(root: Path, cfg: IMPConfig, last: dict, weights_read: frozenset) -> dict[str, np.ndarray]:
    """last.npz of every trial that has not reached the run's last level: the trained weights the next level prunes
    (unless its level file keeps them already)."""
    planned = max([cfg.levels] + [level for level, _, _ in last.values()])
    arrays = {}
    for trial, (level, final, mask) in last.items():
        if level < planned and not keeps_weights(cfg, trial, level, weights_read):
            if final is None:
                raise FileNotFoundError(f"{root}/trial_{trial}/level_{level}/weights_final.pt: the next level prunes "
                                        f"these weights, and the store has neither them nor a newer level")
            arrays[f"last/{trial}/level"] = np.array(level, dtype=np.int64)
            arrays.update({f"last/{trial}/{k}": v for k, v in _weights_arrays(final, mask).items()})
    return arrays


def _rewind_arrays(root: Path, levels: list[dict]) -> dict[str, np.ndarray]:
    """Every trial's late-rewinding weights (made by training: exported, never replayed on import), their digest
    recorded in the trial's level-0 record."""
    level_zero = {r["trial"]: r for r in levels if r["level"] == 0}
    arrays = {}
    for rewind in sorted(root.glob("trial_*/rewind.pt")):
        trial, point = folder_number(rewind.parent, "trial"), torch_load(rewind)
        if trial in level_zero:
            level_zero[trial]["rewind"] = state_digest(point)
        arrays.update({f"rewind/{trial}/{name}": value.numpy() for name, value in point.items()})
    return arrays


def _write_run(root: Path, target: Path, levels: list[dict], arrays: dict[str, np.ndarray]) -> None:
    """config.json, levels.json and one .npz per file that `_file_of` groups the arrays into; a stale last.npz (its
    trial's last level now keeps its weights in its level file) is removed."""
    target.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target / "config.json", portable_config((root / "config.json").read_text()))
    atomic_write_text(target / "levels.json", json.dumps(levels, indent=1) + "\n")
    groups: dict[str, dict[str, np.ndarray]] = {}
    for full_key, array in arrays.items():
        file, inner = _file_of(full_key)
        groups.setdefault(file, {})[inner] = array
    for stale in set(p.relative_to(target).as_posix() for p in target.glob("trial_*/last.npz")) - set(groups):
        (target / stale).unlink()
    for file, members in groups.items():
        _write_npz(target / file, members)


def _exported_final(run: Path, trial: int, level: int) -> bool:
    """Whether an earlier export of `run` kept this level's trained weights in its level file."""
    path = run / f"trial_{trial}" / f"level_{level}.npz"
    if not path.is_file():
        return False
    with np.load(path, allow_pickle=False) as members:
        return any(k.startswith("final/") for k in members.files)


def _same_level(root: Path, source: Path, trial: int) -> bool:
    """Whether trial `trial`'s level 0 of run `root` is a byte copy of `source`'s (imp._copy_dense_level), so that
    import may copy it again; a level 0 trained in the run itself (on another CPU than its source) is exported."""
    mine, theirs = level_dir(root, trial, 0), level_dir(source, trial, 0)
    names = ("mask.pt", "weights_start.pt", "weights_final.pt", "metrics.csv")
    if not all((folder / name).is_file() for folder in (mine, theirs) for name in names):
        return False  # imported without its trained weights: a level of its own, not a copy (a copy brings them)
    return (all(state_digest(torch_load(mine / name)) == state_digest(torch_load(theirs / name))
                for name in ("mask.pt", "weights_start.pt", "weights_final.pt"))
            and (mine / "metrics.csv").read_bytes() == (theirs / "metrics.csv").read_bytes())


def _file_of(full_key: str) -> tuple[str, str]:
    """'final/t0/l3/fc1.weight' -> ('trial_0/level_3.npz', 'final/fc1.weight'); 'rewind/0/x' -> trial_0/rewind.npz;
    'last/0/final/x' -> trial_0/last.npz. One file per level: a level exported once never changes, so committing a
    growing run adds new level files and rewrites only the small levels.json and each trial's last.npz."""
    kind, *rest = full_key.split("/")
    if kind in ("rewind", "last"):
        return f"trial_{rest[0]}/{kind}.npz", "/".join(rest[1:])
    return f"trial_{rest[0][1:]}/level_{rest[1][1:]}.npz", "/".join([kind, *rest[2:]])


def _write_npz(path: Path, members: dict[str, np.ndarray]) -> None:
    """An .npz (np.load reads it) with fixed timestamps and order: the same arrays always give the same bytes."""
    def write(f):
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(members):
                buffer = io.BytesIO()
                np.save(buffer, members[name], allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, buffer.getvalue())
    atomic_write(path, write)


def _read_arrays(source: Path) -> dict[str, np.ndarray]:
    """Every array of a compact run, under the full keys export used."""
    arrays = {}
    for path in sorted(source.glob("trial_*/*.npz")):
        trial = folder_number(path.parent, "trial")
        with np.load(path, allow_pickle=False) as members:
            for inner in members.files:
                if path.stem in ("rewind", "last"):
                    arrays[f"{path.stem}/{trial}/{inner}"] = members[inner]
                else:
                    kind, rest = inner.split("/", 1)
                    arrays[f"{kind}/t{trial}/l{folder_number(Path(path.stem), 'level')}/{rest}"] = members[inner]
    return arrays


def export_store(store: str | Path, dest: str | Path, runs: list[str] | None = None,
                 weights_read: frozenset = frozenset()) -> list[dict]:
    """Export every run folder of `store` (or those named in `runs`) into `dest`, keeping the trained weights of
    `weights_read` too (keeps_weights); returns one row per run."""
    folders = [p for p in _run_folders(Path(store)) if not runs or p.name in runs]
    return [export_run(p, Path(dest), weights_read) for p in folders]


def _metric_rows(columns) -> list[dict]:
    """metrics.csv's rows from its exported arrays, given in METRIC_COLUMNS order (the inverse of _metrics_arrays)."""
    return [{"iteration": int(i), "split": SPLITS[s], "loss": float(l), "accuracy": float(a)}
            for i, s, l, a in zip(*columns)]


def _import_config(source: Path, root: Path) -> None:
    """The run folder `root` with the compact run `source`'s config.json (one already there is kept)."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "config.json").exists():
        atomic_write_text(root / "config.json", (source / "config.json").read_text())


# ------------------------------------------------------------------------------------ runs trained by trial, not level
TRIALS = "trials.json"


def _export_trials(root: Path, target: Path) -> dict:
    """The compact form of a run trained by trial: each finished trial's result row in trials.json and its metrics in
    trial_t/metrics.npz (exact float64), with an empty levels.json (the stores' level counts read that). What a
    supermask learned (scores.pt) stays behind: nothing reads it, and the result row holds its densities."""
    records = []
    for directory in sorted(root.glob("trial_*"), key=lambda p: folder_number(p, "trial")):
        row = read_result(directory)
        if row is not None:
            records.append({"trial": folder_number(directory, "trial"), "result": row})
            _write_npz(target / directory.name / "metrics.npz",
                       {k.rsplit("/", 1)[1]: v for k, v in _metrics_arrays(directory, "trial").items()})
    target.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target / "config.json", portable_config((root / "config.json").read_text()))
    atomic_write_text(target / "levels.json", "[]\n")
    atomic_write_text(target / TRIALS, json.dumps(records, indent=1) + "\n")
    return {"run": root.name, "levels": 0, "trials": len(records),
            "bytes": sum(p.stat().st_size for p in target.rglob("*") if p.is_file())}


def _import_trials(source: Path, root: Path) -> int:
    """Write back each trial of a run trained by trial that `root` lacks (its result last); returns how many."""
    _import_config(source, root)
    written = 0
    exported = json.loads((source / TRIALS).read_text()) if (source / TRIALS).is_file() else []  # older: none kept
    for record in exported:
        directory = root / f"trial_{record['trial']}"
        with task_lock(directory):
            if read_result(directory) is None:
                with np.load(source / directory.name / "metrics.npz", allow_pickle=False) as m:
                    write_csv(directory / "metrics.csv", _metric_rows(m[c] for c in METRIC_COLUMNS), METRIC_COLUMNS)
                write_result(directory, record["result"])
                written += 1
    return written


# ------------------------------------------------------------------------------------------------------------- import
def _members(arrays, prefix: str) -> dict[str, np.ndarray]:
    """The arrays of one level ('t0/l3') or one trial's last.npz ('last/0') under the names their file uses:
    'final/fc1.weight', 'zero_sign/fc1.weight', 'mask/fc1.weight', 'metrics/loss', 'level'."""
    if prefix.startswith("last/"):
        return {k[len(prefix) + 1:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}
    members = {}
    for k, v in arrays.items():  # '<kind>/t0/l3/<name>' -> '<kind>/<name>'
        kind, _, rest = k.partition("/")
        if rest.startswith(prefix + "/"):
            members[f"{kind}/{rest[len(prefix) + 1:]}"] = v
    return members


def _final_weights(members: dict[str, np.ndarray], template: dict[str, torch.Tensor], mask: masks.Mask) -> dict:
    """The inverse of _weights_arrays, from the members of one level or last.npz (see _members)."""
    state = {}
    for name, like in template.items():
        values = torch.from_numpy(members[f"final/{name}"].copy())
        if name in mask:
            kept = mask[name].flatten()
            signs = np.unpackbits(members[f"zero_sign/{name}"])[:int((~kept).sum())].astype(bool)
            full = torch.zeros(like.numel(), dtype=like.dtype)
            full[~kept] = torch.where(torch.from_numpy(signs), -0.0, 0.0).to(like.dtype)
            full[kept] = values
            values = full
        state[name] = values.reshape(like.shape)
    return state


def _rewind_points(source: Path, arrays: dict[str, np.ndarray], records: list[dict]) -> dict[int, dict]:
    """Each trial's exported late-rewinding weights, checked against the digest its level-0 record holds. A record
    with a rewind digest but no weights is a compact store from before rewind points travelled (they were replayed
    by training, which differs across CPUs): ImportMismatch, with what to do."""
    points = {}
    for trial in sorted({int(k.split("/")[1]) for k in arrays if k.startswith("rewind/")}):
        prefix = f"rewind/{trial}/"
        points[trial] = {k[len(prefix):]: torch.from_numpy(arrays[k].copy()) for k in arrays if k.startswith(prefix)}
    for record in records:
        if record["level"] != 0 or "rewind" not in record:
            continue
        trial = record["trial"]
        if trial not in points:
            raise ImportMismatch(source, trial, 0, f"trial_{trial}/rewind.npz", "the trial's record has a "
                                 "late-rewinding point but the compact store does not hold its weights", (
                                     "This compact store was exported by an older lth_utils that replayed rewind "
                                     "points by training on import, which gives other bits on another CPU model. "
                                     "Export it again with this version from the run store that trained it (`python "
                                     "-m lth_utils export`), or train this run here (`make run IMPORT=no`)."))
        if state_digest(points[trial]) != record["rewind"]:
            raise ImportMismatch(source, trial, 0, f"trial_{trial}/rewind.npz",
                                 "the late-rewinding weights differ from their recorded digest")
    return points


def _ticket_mask_from_bits(cfg: IMPConfig, root: Path, trial: int, level: int, bits: dict, shapes) -> masks.Mask:
    """The ticket's mask: the previous level's (imported just before) thinned by one bit per survivor; a
    pruning-at-initialisation arm's: one bit per weight."""
    previous = (masks.ones_like(build_model(cfg.model, shapes.input_shape, shapes.num_classes))
                if arm_of(cfg.arm).scores_mask else masks.load(level_dir(root, trial, level - 1) / "mask.pt"))
    mask = {}
    for name, before in previous.items():
        after = before.flatten().clone()
        after[before.flatten()] = torch.from_numpy(np.unpackbits(bits[name])[:int(before.sum())].astype(bool))
        mask[name] = after.reshape(before.shape)
    return mask


def _import_level(cfg: IMPConfig, source: Path, store: Path, record: dict, arrays: dict, shapes) -> dict:
    """Everything one level's files will hold, recomputed from seeds and stored bits and checked against `record`'s
    digests; nothing is written here. Returns {file name: (kind, value)}."""
    root, trial, level = cfg.root, record["trial"], record["level"]
    key = f"t{trial}/l{level}"

    def mismatch(file, what):
        return ImportMismatch(source, trial, level, file, what)

    members = _members(arrays, key)
    bits = {k[len("mask/"):]: v for k, v in members.items() if k.startswith("mask/")}
    ticket_mask = _ticket_mask_from_bits(cfg, root, trial, level, bits, shapes) if bits else None
    fine_tuned = cfg.arm == "ticket" and level > 0 and ticket_mask is not None and cfg.rewind_iteration is None
    if fine_tuned and not (level_dir(root, trial, level - 1) / "weights_final.pt").is_file():
        # without rewinding a level starts from the previous level's trained weights, left out here
        model, mask, start = build_model(cfg.model, shapes.input_shape, shapes.num_classes), ticket_mask, None
    else:
        model, mask, start, _ = level_inputs(cfg, trial, level, shapes, ticket_mask)
    files = {}
    if state_digest(mask) != record["mask"]:
        raise mismatch(f"trial_{trial}/level_{level}.npz (mask)", "the mask rebuilt from the stored bits and seeds "
                       "differs from the exported one")
    files["mask.pt"] = ("mask", mask)
    if start is not None:
        model.load_state_dict(start)
        masks.apply_mask_(model, mask)
        if state_digest(model.state_dict()) != record["weights_start"]:
            raise mismatch("weights_start (from seeds, masks and the rewind point)",
                           "the start weights rebuilt from seeds and stored weights differ from the exported ones")
        files["weights_start.pt"] = ("torch", model.state_dict())
    if "copied_from" in record:  # level 0 shared with a dense source imported before this run
        final = torch_load(level_dir(store / record["copied_from"], trial, 0) / "weights_final.pt")
        file = f"{record['copied_from']}/trial_{trial}/level_0.npz (final)"
    elif f"last/{trial}/level" in arrays and int(arrays[f"last/{trial}/level"]) == level:
        final, file = _final_weights(_members(arrays, f"last/{trial}"), model.state_dict(), mask), \
            f"trial_{trial}/last.npz"
    elif any(k.startswith("final/") for k in members):
        final, file = _final_weights(members, model.state_dict(), mask), f"trial_{trial}/level_{level}.npz (final)"
    else:
        final = None  # a ticket level between the kept ones: its trained weights were not exported
    if final is not None:
        if state_digest(final) != record["weights_final"]:
            raise mismatch(file, "the stored trained weights differ from their recorded digest")
        files["weights_final.pt"] = ("torch", final)
    files["metrics.csv"] = ("csv", _metric_rows(arrays[f"metrics/{key}/{c}"] for c in METRIC_COLUMNS))
    return files


def _checked_weights(cfg: IMPConfig, source: Path, record: dict, members: dict, shapes, directory: Path, digest: str,
                     part: str, what: str) -> dict:
    """Trained weights of a level already stored, rebuilt from its level file's `members` ('final/...',
    'zero_sign/...') on its stored mask and checked against `digest`: ImportMismatch names the file's `part` and
    `what` differs."""
    template = build_model(cfg.model, shapes.input_shape, shapes.num_classes).state_dict()
    weights = _final_weights(members, template, masks.load(directory / "mask.pt"))
    if state_digest(weights) != digest:
        raise ImportMismatch(source, record["trial"], record["level"], f"trial_{record['trial']}/level_"
                             f"{record['level']}.npz ({part})", f"{what} differ from their recorded digest")
    return weights


def _import_stand_in(cfg: IMPConfig, source: Path, record: dict, arrays: dict, shapes, directory: Path) -> None:
    """Write a level's stand-in trained weights and their result row (retrain_weights with `here`), checked against
    their digest, into a level already stored (new, or imported before they were exported); the row last."""
    members = _members(arrays, f"t{record['trial']}/l{record['level']}")
    renamed = {"retrained": "final", "retrained_sign": "zero_sign"}
    members = {f"{renamed[k.split('/')[0]]}/{k.split('/', 1)[1]}": v for k, v in members.items()
               if k.split("/")[0] in renamed}
    weights = _checked_weights(cfg, source, record, members, shapes, directory, record["retrained"]["weights"],
                               "retrained", "the stand-in trained weights")
    atomic_torch_save(directory / STAND_IN, weights)
    atomic_write_text(directory / RETRAINED, json.dumps(record["retrained"]) + "\n")


def _import_final(cfg: IMPConfig, source: Path, record: dict, arrays: dict, shapes, directory: Path,
                  with_final: set[str]) -> bool:
    """Write a stored level's own trained weights where the compact store now carries them and the level lacks them
    (imported before a notebook read them, or holding stand-ins: those go), checked against their recorded digest.
    `with_final`: the levels ('t1/l7') whose trained weights the run's files hold. Returns whether it wrote them."""
    key = f"t{record['trial']}/l{record['level']}"
    if key not in with_final or (directory / "weights_final.pt").is_file():
        return False
    final = _checked_weights(cfg, source, record, _members(arrays, key), shapes, directory, record["weights_final"],
                             "final", "the stored trained weights")
    atomic_torch_save(directory / "weights_final.pt", final)
    _drop_stand_in(directory)
    return True


def _drop_stand_in(directory: Path) -> None:
    """Remove a level's stand-in trained weights once it holds its own (its row first: no stand-in without one)."""
    (directory / RETRAINED).unlink(missing_ok=True)
    (directory / STAND_IN).unlink(missing_ok=True)


def import_run(source: Path, store: Path) -> dict:
    """Materialise the compact run `source` into `store`; returns how many levels it wrote (stored ones are kept as
    they are) and into how many stored levels it wrote trained weights exported after them (their own, or
    stand-ins). Never trains: see the module's docstring."""
    root = store / source.name
    records = json.loads((source / "levels.json").read_text())
    arrays = _read_arrays(source)
    points = _rewind_points(source, arrays, records)  # checked before anything of this run is written
    _import_config(source, root)
    cfg = config_of(root, store)
    shapes = FACTS[cfg.dataset]  # its input shape and classes: what rebuilding a model needs
    for trial, point in points.items():
        if not (root / f"trial_{trial}" / "rewind.pt").exists():
            atomic_torch_save(root / f"trial_{trial}" / "rewind.pt", point)
    written = weights = 0
    with_final = {"/".join(k.split("/")[1:3]) for k in arrays if k.startswith("final/")}
    for record in records:
        directory = level_dir(root, record["trial"], record["level"])
        with task_lock(directory):
            new = read_result(directory) is None
            if new:
                for name, (kind, value) in _import_level(cfg, source, store, record, arrays, shapes).items():
                    if kind == "mask":
                        masks.save(value, directory / name)
                    elif kind == "torch":
                        atomic_torch_save(directory / name, value)
                    else:
                        write_csv(directory / name, value, METRIC_COLUMNS)
                write_result(directory, record["result"])  # last: only now is the level stored
                written += 1
            elif _import_final(cfg, source, record, arrays, shapes, directory, with_final):
                weights += 1
            if "retrained" in record and not (directory / RETRAINED).is_file() \
                    and not (directory / "weights_final.pt").is_file():
                _import_stand_in(cfg, source, record, arrays, shapes, directory)
                weights += not new
            path = directory / "instability" / "path.json"  # notebook 04's error path between two copies from here
            if "instability" in record and not path.is_file():  # (after the level: it is read only for a level)
                atomic_write_text(path, json.dumps(record["instability"]) + "\n")
    return {"levels_written": written, "weights_written": weights}


def import_store(source: str | Path, store: str | Path) -> list[dict]:
    """Import every compact run under `source` into the run store `store`; returns one row per run: the levels (or,
    for a run trained by trial, the trials) it wrote, and the stored levels it gave trained weights exported later."""
    store = Path(store)
    rows = []
    for run in _run_folders(Path(source)):
        if trained_by_trial(run):
            rows.append({"run": run.name, "levels_written": 0, "weights_written": 0,
                         "trials_written": _import_trials(run, store / run.name)})
        else:
            rows.append({"run": run.name, **import_run(run, store), "trials_written": 0})
    return rows


def stored_summary(source: str | Path, cfg: IMPConfig) -> pd.DataFrame:
    """The summary rows (as engine.run returns them) of `cfg`'s levels that the compact store `source` holds,
    read from its levels.json without importing anything; trials and levels not exported yet are absent."""
    wanted = {(t, l) for (_, t, l) in tasks_of(cfg)}
    rows = [r["result"] for r in _level_records(source, cfg) if (r["trial"], r["level"]) in wanted]
    rows.sort(key=lambda r: (r["trial"], r["level"]))
    return pd.DataFrame(rows, columns=["arm"] + SUMMARY_COLUMNS + ["iterations_run"])


def _level_records(source: str | Path, cfg: IMPConfig) -> list[dict]:
    """The level records (levels.json) of `cfg`'s run in the compact store `source`; none if it holds no such run."""
    path = Path(source) / cfg.root.name / "levels.json"
    return json.loads(path.read_text()) if path.is_file() else []


def stored_tasks(source: str | Path, cfg: IMPConfig) -> set[tuple[int, int]]:
    """The (trial, level) pairs of `cfg`'s run that the compact store `source` holds."""
    return {(r["trial"], r["level"]) for r in _level_records(source, cfg)}


def stored_curve(source: str | Path, cfg: IMPConfig, trial: int, level: int, split: str = "val",
                 column: str = "loss") -> tuple[np.ndarray, np.ndarray] | None:
    """(iterations, `column`) of one level's `split` evaluations, read from the compact store without importing;
    None when the store does not hold that level."""
    path = Path(source) / cfg.root.name / f"trial_{trial}" / f"level_{level}.npz"
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as members:
        rows = members["metrics/split"] == SPLITS.index(split)
        return members["metrics/iteration"][rows], members[f"metrics/{column}"][rows]


def _refit(cfg: IMPConfig, trial: int, level: int, mask_path: Path):
    row, model, mask, _, _ = fit_level(cfg, trial, level, given_mask=masks.load(mask_path))
    return row, mask, {k: v.cpu() for k, v in model.state_dict().items()}


def retrain_weights(store: str | Path, source: str | Path | None = None, data_root: str | None = None,
                    progress: bool = True, weights_read: frozenset = frozenset(), here: bool = False,
                    workers: int = 1) -> list[dict]:
    """Train again, from their stored inputs, the levels of `store` whose trained weights a notebook reads
    (keeps_weights) but the store lacks, as after an import from a compact store that left them out. Each level is
    retrained in a fresh single-thread worker, as the engine trains; its mask and results must equal the stored ones
    to the bit, and its weights the digest `source` (a compact store) recorded where it has one, else ImportMismatch
    (another machine's floats: train in a new store instead, or pass `here`); without `here`, a level whose row
    names another device model, or another instruction set where both record one (store.same_machine), is refused
    before any training. `data_root` (default: the run's) holds the datasets.

    With `here`, a level whose retrained bits differ (another CPU model) keeps them as stand-ins beside the stored
    result: weights_retrained.pt, and RETRAINED (its own result row and provenance, written last), which
    `analysis.load_trained` reads where weights_final.pt is absent and export carries. Its mask must still be the
    stored one. Without `here`, a level that holds only stand-ins is trained again too: on the device model that
    trained it, its own weights come back and the stand-ins go. `workers` levels train at once. Returns one row per
    level written, with `retrained` (stand-ins)."""
    from ..foundations.progress import tqdm
    from ..training.workers import parallel_map

    store = Path(store)
    todo = []
    for root in _run_folders(store):
        if trained_by_trial(root):
            continue  # no trained weights a notebook reads
        cfg = config_of(root, store)
        cfg = cfg if data_root is None else dataclasses.replace(cfg, data_root=str(data_root))
        exported = Path(source) / root.name / "levels.json" if source is not None else None
        recorded = ({(r["trial"], r["level"]): r.get("weights_final") for r in json.loads(exported.read_text())}
                    if exported is not None and exported.is_file() else {})  # a run not exported yet: none
        for trial, level in stored_levels(root):
            directory = level_dir(root, trial, level)
            if keeps_weights(cfg, trial, level, weights_read) and not (directory / "weights_final.pt").is_file() \
                    and not (here and (directory / RETRAINED).is_file()):
                todo.append((cfg, trial, level, directory, recorded.get((trial, level))))
    if not here:  # a level that records another machine cannot give its bits here: said before any training
        for cfg, trial, level, directory, _ in todo:
            row = read_result(directory)  # another model name, or another instruction set where both record one
            if same_machine(row, machine_row(cfg.device)) is False:
                raise ImportMismatch(cfg.root, trial, level, "weights_final.pt", f"trained on {machine(row)}, and "
                                     f"this is {this_machine(cfg.device)}", "Training is not bit-identical across CPU "
                                     "models: retrain it on that machine, or keep stand-ins trained here "
                                     "(`retrain-weights --here`).")
    written = []
    bar = tqdm(total=len(todo), desc="retrain left-out weights", disable=not progress)
    for start in range(0, len(todo), max(1, workers)):  # a chunk at a time: what finished is kept if stopped
        chunk = todo[start:start + max(1, workers)]
        if len(chunk) == 1:
            results = [in_worker(_refit, *chunk[0][:3], chunk[0][3] / "mask.pt")]
        else:
            results = parallel_map(_refit, [(c, t, l, d / "mask.pt") for c, t, l, d, _ in chunk], workers,
                                   progress=False)
        for (cfg, trial, level, directory, digest), (row, mask, final) in zip(chunk, results):
            written.append(_keep_retrained(cfg, trial, level, directory, digest, row, mask, final, here))
            bar.update(1)
    bar.close()
    return written


def _keep_retrained(cfg: IMPConfig, trial: int, level: int, directory: Path, digest: str | None, row: dict,
                    mask: masks.Mask, final: dict, here: bool) -> dict:
    """Write one retrained level's weights: as weights_final.pt where they equal the stored bits, as stand-ins
    (`here`) where only the machine's floats differ; ImportMismatch otherwise."""
    stored = read_result(directory)
    differ = [k for k in VERIFIED_RESULTS + ("iterations_run",) if row[k] != stored[k]]
    if digest not in (None, state_digest(final)):
        differ.append("weights_final")
    same_mask = state_digest(mask) == state_digest(masks.load(directory / "mask.pt"))
    if not same_mask or (differ and not here):
        what = ", ".join(differ + ([] if same_mask else ["mask"]))
        raise ImportMismatch(cfg.root, trial, level, "weights_final.pt", f"trained again here, its {what} differ "
                             "from the stored ones", "Training is not bit-identical across CPU models: train the run "
                             "in a new store instead (`make run IMPORT=no`), or keep these weights as stand-ins "
                             "trained here (`retrain-weights --here`)." if same_mask else
                             "Its inputs are not the stored ones: import the store again.")
    if not differ:
        atomic_torch_save(directory / "weights_final.pt", final)
        _drop_stand_in(directory)  # the originals, restored: stand-ins kept before go
    else:
        atomic_torch_save(directory / STAND_IN, final)
        atomic_write_text(directory / RETRAINED, json.dumps(dict(row, weights=state_digest(final))) + "\n")
    return {"run": cfg.root.name, "trial": trial, "level": level, "retrained": bool(differ)}


VERIFIED_RESULTS = ("early_stop_iteration", "val_loss_at_early_stop", "test_acc_at_early_stop", "final_test_acc")


def verify(store: str | Path, source: str | Path) -> pd.DataFrame:
    """Every level that both the run store `store` and the compact store `source` hold, compared: one row each with
    `same_bits` (the same mask and trained weights digests, where both are known, and the same results to the last
    bit), `same_machine` (both trained on the same device model, by their provenance: then the bits must agree;
    None where the stored row's CPU instruction set was not recorded, which its model name alone does not tell) and
    the differences (store minus source) in test accuracy at early stop (pp) and early-stop iteration. A store
    trained from scratch on another CPU model shows here how far last-bit differences carried."""
    rows = []
    for run in _run_folders(Path(source)):
        root = Path(store) / run.name
        if not root.is_dir():
            continue
        for record in json.loads((run / "levels.json").read_text()):
            directory = level_dir(root, record["trial"], record["level"])
            mine = read_result(directory)
            if mine is None:
                continue
            same = state_digest(masks.load(directory / "mask.pt")) == record["mask"]
            final = directory / "weights_final.pt"
            if "weights_final" in record and final.is_file():
                same = same and state_digest(torch_load(final)) == record["weights_final"]
            theirs = record["result"]
            same = same and all(mine[k] == theirs[k] for k in VERIFIED_RESULTS)
            rows.append({"run": run.name, "trial": record["trial"], "level": record["level"], "same_bits": same,
                         "same_machine": same_machine(mine, theirs), "here": machine(mine),
                         "trained_on": machine(theirs),
                         "test_acc_diff_pp": 100 * (mine["test_acc_at_early_stop"] - theirs["test_acc_at_early_stop"]),
                         "early_stop_diff": mine["early_stop_iteration"] - theirs["early_stop_iteration"]})
    return pd.DataFrame(rows, columns=["run", "trial", "level", "same_bits", "same_machine", "here", "trained_on",
                                       "test_acc_diff_pp", "early_stop_diff"])


def verify_failed(table: pd.DataFrame) -> bool:
    """Bits that should agree and do not: a level retrained on the device model that trained the committed one."""
    return bool((table["same_machine"].eq(True) & ~table["same_bits"]).any())


def verify_sentence(table: pd.DataFrame, store: str, source: str) -> str:
    if table.empty:
        return f"{store} and {source} share no stored level: nothing to compare."
    parts = [f"{len(table)} level(s) of {table['run'].nunique()} run(s) compared between {store} and {source}"]
    for same, group in table.groupby(table["same_machine"].map(lambda v: {True: "same", False: "other"}.get(v, "unknown")),
                                     sort=False):
        differ = group[~group["same_bits"]]
        machines = ", ".join(sorted(set(group["trained_on"])))
        here = ", ".join(sorted(set(group["here"])))
        if same == "same":
            text = (f"{len(group)} retrained on the device model that trained them ({machines}): "
                    f"{int(group['same_bits'].sum())} identical to the bit (masks, trained weights where both are "
                    f"kept, results)")
        elif same == "other":
            text = (f"{len(group)} trained on {machines} and retrained here on {here}, another device model whose "
                    f"last bits differ (a measurement, not a failure): {int(group['same_bits'].sum())} identical")
        else:
            text = (f"{len(group)} trained on {machines} with no instruction set recorded and retrained here on "
                    f"{here}: one model name covers CPUs whose last bits differ (two AMD EPYC generations, AVX2 and "
                    f"AVX-512), so differences are a measurement, not a failure: "
                    f"{int(group['same_bits'].sum())} identical")
        if not differ.empty:
            text += (f"; {len(differ)} differ: test accuracy at early stop by up to "
                     f"{differ['test_acc_diff_pp'].abs().max():.2f} pp (mean {differ['test_acc_diff_pp'].abs().mean():.2f}),"
                     f" early-stop iteration by up to {differ['early_stop_diff'].abs().max():,.0f} iterations")
        parts.append(text)
    return "; ".join(parts) + "."


def compact_size(dest: str | Path) -> int:
    return sum(p.stat().st_size for p in Path(dest).rglob("*") if p.is_file())
