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
                             one sign bit per pruned zero) only where something reads them (`keeps_weights`: level 0
                             and trial 0)
    <run>/trial_t/last.npz   the trained weights of the last exported level of a trial that has not reached the run's
                             last level: the next level prunes them (a run committed half-way resumes from it)
    <run>/trial_t/rewind.npz the late-rewinding weights of a run that trained its own level 0 (a run that copies
                             level 0 replays its first k iterations on import instead)

Files are written byte-for-byte reproducibly, so re-exporting a growing run adds new level files and rewrites only
levels.json and last.npz.

Import writes the store files back and replays what was left out, with the same `imp.level_inputs` that training
uses: every mask (the ticket's from its bits, the random arm's drawn from its seeds, the reinit arm's read from the
ticket) and every level's start weights. Both are checked against the exported digests, so an imported store is the
exported one to the bit, or the import stops with the level that differs. The trained weights left out (control arms,
the ticket's levels 1+ of trials 1+) are absent from the imported store, and so are the start weights of the levels
of a run without rewinding that would start from them; `analysis.load_weights` says so.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
import types
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import masks
from .files import atomic_torch_save, atomic_write, atomic_write_text, torch_load
from .engine import in_worker
from .models import build_model
from .imp import (INIT_ARMS, IMPConfig, _input_shape, dense_source, fit_level, level_inputs, replay_rewind_point,
                  tasks_of)
from .plan import weights_read
from .store import METRIC_COLUMNS, SUMMARY_COLUMNS, level_dir, read_csv, read_result, stored_levels, task_lock, write_csv, write_result

SPLITS = ("val", "test")
ARM_ORDER = {"ticket": 0, "random_prune": 1, "reinit": 2}  # a ticket run is imported before the arms that read it


class ImportMismatch(RuntimeError):
    """A recomputed mask or start weight differs from the exported one."""


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes of a state dict (independent of torch.save's container)."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def config_of(root: Path, out: Path) -> IMPConfig:
    fields = {f.name for f in dataclasses.fields(IMPConfig)}
    stored = json.loads((root / "config.json").read_text())["config"]
    values = {k: v for k, v in stored.items() if k in fields}
    values.update(out=str(out), device="cpu")  # replay runs on the CPU; the device type is in the folder name
    return IMPConfig(**values)


def _run_folders(store: Path) -> list[Path]:
    """Run folders in an order that imports every run after the runs it reads: dense sources, tickets, controls."""
    folders = [p for p in sorted(Path(store).iterdir()) if (p / "config.json").is_file()]

    def order(folder: Path):
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


def keeps_weights(cfg: IMPConfig, trial: int, level: int) -> bool:
    """Whether a level's trained weights go into its level file: a ticket's level 0 (the dense network: one-shot
    pruning without retraining reads it) and trial 0 (notebooks 05 and 09 inspect its weights), and any arm's levels
    that notebook 11 reads (plan.weights_read). The last level of a ticket's trial that has not reached the run's last
    level goes into trial_t/last.npz, for the next level to prune."""
    return (cfg.arm == "ticket" and (level == 0 or trial == 0)) or (cfg.hash, trial, level) in weights_read()


def export_run(root: Path, dest: Path) -> dict:
    """Write the compact form of run folder `root` into `dest/<root.name>/`; returns {levels, bytes}."""
    cfg = config_of(root, root.parent)
    arm, source = cfg.arm, dense_source(cfg)  # a ticket run whose level 0 is a copy of `source`'s refers to it
    copied = set()  # trials whose level 0 (and rewind point, replayed on import) come from `source`
    arrays: dict[str, np.ndarray] = {}
    levels, last = [], {}
    previous_export = dest / root.name / "levels.json"  # a run imported from `dest` may lack weights it left out
    exported = ({(r["trial"], r["level"]): r for r in json.loads(previous_export.read_text())}
                if previous_export.is_file() else {})
    for trial, level in stored_levels(root):
        directory = level_dir(root, trial, level)
        key = f"t{trial}/l{level}"
        mask = masks.load(directory / "mask.pt")
        rows = read_csv(directory / "metrics.csv")
        arrays[f"metrics/{key}/iteration"] = np.array([int(r["iteration"]) for r in rows], dtype=np.int64)
        arrays[f"metrics/{key}/split"] = np.array([SPLITS.index(r["split"]) for r in rows], dtype=np.uint8)
        for column in ("loss", "accuracy"):
            arrays[f"metrics/{key}/{column}"] = np.array([float(r[column]) for r in rows], dtype=np.float64)
        start = directory / "weights_start.pt"
        if start.is_file():
            start = state_digest(torch_load(start))
        elif (trial, level) in exported:  # a run without rewinding, imported: these start weights were left out
            start = exported[(trial, level)]["weights_start"]
        else:
            raise FileNotFoundError(f"{start} is missing and {dest} has no record of it")
        record = {"trial": trial, "level": level, "result": read_result(directory), "mask": state_digest(mask),
                  "weights_start": start}
        path = directory / "instability" / "path.json"
        if path.is_file():  # notebook 04's error path between two copies trained from this level (not the copies)
            record["instability"] = json.loads(path.read_text())
        if arm in INIT_ARMS:  # scored on this machine's floats: kept, one bit per weight, rather than rescored
            for name, m in mask.items():
                arrays[f"mask/{key}/{name}"] = np.packbits(m.flatten().numpy())
        if arm == "ticket":
            if (directory / "weights_final.pt").is_file():
                final = torch_load(directory / "weights_final.pt")
                record["weights_final"] = state_digest(final)
            elif (trial, level) in exported and not keeps_weights(cfg, trial, level):
                # imported from this compact store, which kept only these weights' digest: the record stands
                final, record["weights_final"] = None, exported[(trial, level)]["weights_final"]
            else:
                raise FileNotFoundError(f"{directory}/weights_final.pt is missing and {dest} has no record of it")
            if level == 0 and source is not None and read_result(level_dir(source.root, trial, 0)) is not None:
                record["copied_from"] = source.root.name
                rewind = root / f"trial_{trial}" / "rewind.pt"
                if rewind.is_file():
                    record["rewind"] = state_digest(torch_load(rewind))
                copied.add(trial)
                levels.append(record)
                continue
            if level > 0:  # which of the previous level's survivors survive: one bit each
                previous = masks.load(level_dir(root, trial, level - 1) / "mask.pt")
                for name, m in mask.items():
                    arrays[f"mask/{key}/{name}"] = np.packbits(m.flatten()[previous[name].flatten()].numpy())
            if keeps_weights(cfg, trial, level):
                arrays.update(_level_weights_arrays(final, mask, key))
            last[trial] = (level, final, mask)
        elif keeps_weights(cfg, trial, level):  # a control level whose trained weights a notebook reads
            final = directory / "weights_final.pt"
            if not final.is_file():
                raise FileNotFoundError(f"{final} is missing: a notebook reads these weights; `python -m lth_utils "
                                        f"retrain-weights --out {root.parent}` trains them again from the level's inputs")
            final = torch_load(final)
            record["weights_final"] = state_digest(final)
            arrays.update(_level_weights_arrays(final, mask, key))
        levels.append(record)
    planned = max([cfg.levels] + [level for level, _, _ in last.values()])
    for trial, (level, final, mask) in last.items():
        if level < planned and not keeps_weights(cfg, trial, level):
            if final is None:
                raise FileNotFoundError(f"{root}/trial_{trial}/level_{level}/weights_final.pt: the next level prunes "
                                        f"these weights, and the store has neither them nor a newer level")
            arrays[f"last/{trial}/level"] = np.array(level, dtype=np.int64)
            arrays.update({f"last/{trial}/{k}": v for k, v in _weights_arrays(final, mask).items()})
    for rewind in sorted(p for p in root.glob("trial_*/rewind.pt") if int(p.parent.name[6:]) not in copied):
        for name, value in torch_load(rewind).items():
            arrays[f"rewind/{rewind.parent.name[6:]}/{name}"] = value.numpy()
    target = dest / root.name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / "config.json", target / "config.json")
    atomic_write_text(target / "levels.json", json.dumps(levels, indent=1) + "\n")
    groups: dict[str, dict[str, np.ndarray]] = {}
    for full_key, array in arrays.items():
        file, inner = _file_of(full_key)
        groups.setdefault(file, {})[inner] = array
    for stale in set(p.relative_to(target).as_posix() for p in target.glob("trial_*/last.npz")) - set(groups):
        (target / stale).unlink()  # the trial's last level now keeps its weights in its level file
    for file, members in groups.items():
        _write_npz(target / file, members)
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    return {"run": root.name, "levels": len(levels), "bytes": size}


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
        trial = path.parent.name[6:]
        with np.load(path, allow_pickle=False) as members:
            for inner in members.files:
                if path.stem in ("rewind", "last"):
                    arrays[f"{path.stem}/{trial}/{inner}"] = members[inner]
                else:
                    kind, rest = inner.split("/", 1)
                    arrays[f"{kind}/t{trial}/l{path.stem[6:]}/{rest}"] = members[inner]
    return arrays


def export_store(store: str | Path, dest: str | Path, runs: list[str] | None = None) -> list[dict]:
    """Export every run folder of `store` (or those named in `runs`) into `dest`; returns one row per run."""
    folders = [p for p in _run_folders(Path(store)) if not runs or p.name in runs]
    return [export_run(p, Path(dest)) for p in folders]


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


def import_run(source: Path, store: Path, data_root: str | None = None) -> int:
    """Materialise the compact run `source` into `store`; returns how many levels were written (stored ones are
    kept as they are). `data_root` (default: the exporting run's) is read only to replay late-rewinding points."""
    root = store / source.name
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "config.json").exists():
        shutil.copyfile(source / "config.json", root / "config.json")
    cfg = config_of(root, store)
    if data_root is not None:
        cfg = dataclasses.replace(cfg, data_root=str(data_root))
    arrays = _read_arrays(source)
    shapes = types.SimpleNamespace(input_shape=_input_shape(cfg.dataset), num_classes=10)
    for trial in sorted({int(k.split("/")[1]) for k in arrays if k.startswith("rewind/")}):
        path = root / f"trial_{trial}" / "rewind.pt"
        if not path.exists():
            prefix = f"rewind/{trial}/"
            atomic_torch_save(path, {k[len(prefix):]: torch.from_numpy(arrays[k].copy())
                                     for k in arrays if k.startswith(prefix)})
    written = 0
    for record in json.loads((source / "levels.json").read_text()):
        trial, level, key = record["trial"], record["level"], f"t{record['trial']}/l{record['level']}"
        directory = level_dir(root, trial, level)
        with task_lock(directory):
            path = directory / "instability" / "path.json"
            if "instability" in record and not path.is_file():
                atomic_write_text(path, json.dumps(record["instability"]) + "\n")
            if read_result(directory) is not None:
                continue
            members = _members(arrays, key)
            bits = {k[len("mask/"):]: v for k, v in members.items() if k.startswith("mask/")}
            ticket_mask = None
            if bits:  # the ticket's mask: the previous level's (imported just before) thinned by one bit per survivor;
                # a pruning-at-initialisation arm's: one bit per weight
                previous = (masks.ones_like(build_model(cfg.model, shapes.input_shape, shapes.num_classes))
                            if cfg.arm in INIT_ARMS else masks.load(level_dir(root, trial, level - 1) / "mask.pt"))
                ticket_mask = {}
                for name, before in previous.items():
                    survivors = int(before.sum())
                    after = before.flatten().clone()
                    after[before.flatten()] = torch.from_numpy(np.unpackbits(bits[name])[:survivors].astype(bool))
                    ticket_mask[name] = after.reshape(before.shape)
            fine_tuned = cfg.arm == "ticket" and level > 0 and ticket_mask is not None and cfg.rewind_iteration is None
            if fine_tuned and not (level_dir(root, trial, level - 1) / "weights_final.pt").is_file():
                # without rewinding a level starts from the previous level's trained weights, left out here
                model, mask, start = build_model(cfg.model, shapes.input_shape, shapes.num_classes), ticket_mask, None
            else:
                model, mask, start, _ = level_inputs(cfg, trial, level, shapes, ticket_mask)
            if state_digest(mask) != record["mask"]:
                raise ImportMismatch(f"{directory}: the mask recomputed from the imported files differs from the "
                                     f"exported one")
            masks.save(mask, directory / "mask.pt")
            if start is not None:
                model.load_state_dict(start)
                masks.apply_mask_(model, mask)
                if state_digest(model.state_dict()) != record["weights_start"]:
                    raise ImportMismatch(f"{directory}: the replayed start weights differ from the exported ones "
                                         f"(another machine's initialisation?)")
                atomic_torch_save(directory / "weights_start.pt", model.state_dict())
            if "copied_from" in record:  # level 0 shared with a dense source imported before this run
                final = torch_load(level_dir(store / record["copied_from"], trial, 0) / "weights_final.pt")
                if "rewind" in record:  # as imp._copy_dense_level makes it: the first k iterations replayed
                    point = in_worker(replay_rewind_point, cfg, trial)
                    if state_digest(point) != record["rewind"]:
                        raise ImportMismatch(f"{root}/trial_{trial}/rewind.pt: the replayed rewind point differs "
                                             f"from the exported one")
                    atomic_torch_save(root / f"trial_{trial}" / "rewind.pt", point)
            elif f"last/{trial}/level" in arrays and int(arrays[f"last/{trial}/level"]) == level:
                final = _final_weights(_members(arrays, f"last/{trial}"), model.state_dict(), mask)
            elif any(k.startswith("final/") for k in members):
                final = _final_weights(members, model.state_dict(), mask)
            else:
                final = None  # a ticket level between the kept ones: its trained weights were not exported
            if final is not None:
                if state_digest(final) != record["weights_final"]:
                    raise ImportMismatch(f"{directory}: the rebuilt (or copied) trained weights differ from the "
                                         f"exported ones")
                atomic_torch_save(directory / "weights_final.pt", final)
            metrics = [{"iteration": int(i), "split": SPLITS[s], "loss": float(l), "accuracy": float(a)}
                       for i, s, l, a in zip(*(arrays[f"metrics/{key}/{c}"] for c in METRIC_COLUMNS))]
            write_csv(directory / "metrics.csv", metrics, METRIC_COLUMNS)
            write_result(directory, record["result"])
            written += 1
    return written


def import_store(source: str | Path, store: str | Path, data_root: str | None = None) -> list[dict]:
    """Import every compact run under `source` into the run store `store`; returns one row per run."""
    store = Path(store)
    return [{"run": p.name, "levels_written": import_run(p, store, data_root)} for p in _run_folders(Path(source))]


def stored_summary(source: str | Path, cfg: IMPConfig) -> pd.DataFrame:
    """The summary rows (as engine.run returns them) of `cfg`'s levels that the compact store `source` holds,
    read from its levels.json without importing anything; trials and levels not exported yet are absent."""
    wanted = {(t, l) for (_, t, l) in tasks_of(cfg)}
    path = Path(source) / cfg.root.name / "levels.json"
    records = json.loads(path.read_text()) if path.is_file() else []
    rows = [r["result"] for r in records if (r["trial"], r["level"]) in wanted]
    rows.sort(key=lambda r: (r["trial"], r["level"]))
    return pd.DataFrame(rows, columns=["arm"] + SUMMARY_COLUMNS + ["iterations_run"])


def _refit(cfg: IMPConfig, trial: int, level: int, mask_path: Path):
    row, model, mask, _, _ = fit_level(cfg, trial, level, known_mask=masks.load(mask_path))
    return row, mask, {k: v.cpu() for k, v in model.state_dict().items()}


def retrain_weights(store: str | Path, source: str | Path | None = None, data_root: str | None = None,
                    progress: bool = True) -> list[dict]:
    """Train again, from their stored inputs, the levels of `store` whose trained weights a notebook reads
    (keeps_weights) but the store lacks, as after an import from a compact store that left them out. Each level is
    retrained in a fresh single-thread worker, as the engine trains; its mask and results must equal the stored ones
    to the bit, and its weights the digest `source` (a compact store) recorded where it has one, else ImportMismatch
    (another machine's floats: train in a new store instead). `data_root` (default: the run's) holds the datasets.
    Returns one row per level written."""
    from .progress import tqdm

    store = Path(store)
    todo = []
    for root in _run_folders(store):
        cfg = config_of(root, store)
        cfg = cfg if data_root is None else dataclasses.replace(cfg, data_root=str(data_root))
        exported = Path(source) / root.name / "levels.json" if source is not None else None
        recorded = ({(r["trial"], r["level"]): r.get("weights_final") for r in json.loads(exported.read_text())}
                    if exported is not None else {})
        for trial, level in stored_levels(root):
            directory = level_dir(root, trial, level)
            if keeps_weights(cfg, trial, level) and not (directory / "weights_final.pt").is_file():
                todo.append((cfg, trial, level, directory, recorded.get((trial, level))))
    written = []
    for cfg, trial, level, directory, digest in tqdm(todo, desc="retrain left-out weights", disable=not progress):
        row, mask, final = in_worker(_refit, cfg, trial, level, directory / "mask.pt")
        stored = read_result(directory)
        differ = [k for k in VERIFIED_RESULTS + ("iterations_run",) if row[k] != stored[k]]
        if state_digest(mask) != state_digest(masks.load(directory / "mask.pt")):
            differ.append("mask")
        if digest not in (None, state_digest(final)):
            differ.append("weights_final")
        if differ:
            raise ImportMismatch(f"{directory}: trained again here, its {', '.join(differ)} differ from the stored "
                                 f"ones (another machine's floats?); train the run in a new store instead")
        atomic_torch_save(directory / "weights_final.pt", final)
        written.append({"run": cfg.root.name, "trial": trial, "level": level})
    return written


VERIFIED_RESULTS = ("early_stop_iteration", "val_loss_at_early_stop", "test_acc_at_early_stop", "final_test_acc")


def verify(store: str | Path, source: str | Path) -> pd.DataFrame:
    """Every level that both the run store `store` and the compact store `source` hold, compared: one row each with
    `same_bits` (the same mask and trained weights digests, where both are known, and the same results to the last
    bit) and the differences (store minus source) in test accuracy at early stop (pp) and early-stop iteration. A
    store trained from scratch on another machine shows here how far last-bit differences carried."""
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
                         "test_acc_diff_pp": 100 * (mine["test_acc_at_early_stop"] - theirs["test_acc_at_early_stop"]),
                         "early_stop_diff": mine["early_stop_iteration"] - theirs["early_stop_iteration"]})
    return pd.DataFrame(rows, columns=["run", "trial", "level", "same_bits", "test_acc_diff_pp", "early_stop_diff"])


def verify_sentence(table: pd.DataFrame, store: str, source: str) -> str:
    if table.empty:
        return f"{store} and {source} share no stored level: nothing to compare."
    differ = table[~table["same_bits"]]
    text = (f"{len(table)} level(s) of {table['run'].nunique()} run(s) compared between {store} and {source}: "
            f"{int(table['same_bits'].sum())} identical to the bit (masks, trained weights where both are kept, "
            f"results)")
    if differ.empty:
        return text + "."
    return (text + f"; {len(differ)} differ: test accuracy at early stop by up to "
            f"{differ['test_acc_diff_pp'].abs().max():.2f} pp (mean {differ['test_acc_diff_pp'].abs().mean():.2f}), "
            f"early-stop iteration by up to {differ['early_stop_diff'].abs().max():,.0f} iterations.")


def compact_size(dest: str | Path) -> int:
    return sum(p.stat().st_size for p in Path(dest).rglob("*") if p.is_file())
