"""How big the committed results are: the bytes of a compact store by arm and by kind of array, and the paper
profile of all IMP notebooks (01-05) projected from the per-level sizes measured in the paper export so far.

    .venv/bin/python benchmarks/compact_size.py                                  # results/paper/store
    .venv/bin/python benchmarks/compact_size.py --store results/standard/store --no-projection

The projection counts, for every run the paper profile plans (lth_utils.experiments, and notebook 04's rewind points as the
notebook builds them), its levels and trials, and charges each level the mean compressed bytes that levels of the same
arm and kind take in the measured store (metrics, mask bits; trained weights where `portable.keeps_weights` keeps
them, scaled by the level's density). An estimate, labelled as one.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import zipfile
from pathlib import Path

from lth_utils import experiments, portable
from lth_utils.imp import dense_source
from lth_utils.profiles import NOTEBOOK_SETTINGS, imp_config

MB = 1e6


def measure(store: Path) -> tuple[dict, dict]:
    """({(arm, kind): bytes}, {(arm, kind): members}) over the level files of a compact store."""
    size, count = collections.Counter(), collections.Counter()
    for path in store.rglob("*.npz"):
        arm = path.parts[len(store.parts)].split("_lenet")[0]
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                kind = info.filename.split("/")[0] if path.stem.startswith("level") else path.stem
                size[(arm, kind)] += info.compress_size
        if path.stem.startswith("level"):
            count[(arm, "levels")] += 1
    for path in store.rglob("levels.json"):
        size[("all", "levels.json")] += path.stat().st_size
        for record in json.loads(path.read_text()):  # trained weights kept, in units of one dense network
            level = path.parent / f"trial_{record['trial']}" / f"level_{record['level']}.npz"
            with zipfile.ZipFile(level) as archive:
                if any(name.startswith("final/") for name in archive.namelist()):
                    count[("ticket", "dense_units")] += record["result"]["density"]
    return size, count


def planned_runs(profile: str = "paper") -> list:
    """Every IMP config notebooks 01-05 read at `profile`, 04's rewind points included."""
    cfg, settings = imp_config(profile), NOTEBOOK_SETTINGS[profile]
    runs = [c for name in experiments.PLANNED for c in experiments.notebook_runs(name, cfg, settings)]
    trials, levels = min(cfg.trials, settings.late_rewinding.trials), min(cfg.num_levels, settings.late_rewinding.levels)
    ks = sorted({max(1, round(f * cfg.iterations)) for f in settings.late_rewinding.fractions})
    runs += [dataclasses.replace(cfg, rewind=str(k), levels=levels, trials=trials) for k in ks]
    runs += [dataclasses.replace(cfg, rewind="none", levels=levels, trials=trials)]
    by_folder = {}  # `levels` and `trials` are not part of a run's identity: one folder holds the largest request
    for c in runs:
        held = by_folder.get(c.root.name)
        if held is None or (c.num_levels, c.trials) > (held.num_levels, held.trials):
            by_folder[c.root.name] = c
    return list(by_folder.values())


def project(size: dict, count: dict, profile: str = "paper") -> float:
    """Projected bytes of the compact store of every planned run at `profile`."""
    per_level = {arm: size[(arm, "metrics")] / count[(arm, "levels")] for arm in ("ticket", "reinit", "random_prune")}
    mask_bits = size[("ticket", "mask")] / (count[("ticket", "levels")] - 5)  # level 0 has no mask bits
    dense = (size[("ticket", "final")] + size[("ticket", "zero_sign")]) / count[("ticket", "dense_units")]
    total = 0.0
    for cfg in planned_runs(profile):
        first = 0 if cfg.arm == "ticket" else 1
        levels = [l for l in range(first, cfg.num_levels + 1)
                  if not cfg.only_levels or str(l) in cfg.only_levels.split(",")]
        total += cfg.trials * len(levels) * per_level[cfg.arm]
        if cfg.arm == "ticket":
            total += cfg.trials * sum(1 for l in levels if l > 0) * mask_bits
            total += sum(dense * (1 - cfg.rate) ** l for l in levels if l > 0)  # trial 0 keeps its weights
            if dense_source(cfg) is None:
                total += cfg.trials * dense  # level 0 of every trial
    files = sum(v for (_, kind), v in count.items() if kind == "levels")
    return total + size[("all", "levels.json")] / files * sum(
        c.trials * (c.num_levels + 1) for c in planned_runs(profile))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default="results/paper/store")
    parser.add_argument("--no-projection", action="store_true")
    args = parser.parse_args()
    store = Path(args.store)
    size, count = measure(store)
    total = portable.compact_size(store)
    files = sum(v for (_, kind), v in count.items() if kind == "levels")
    print(f"{store}: {total / MB:.2f} MB in {files} level files")
    for (arm, kind), value in sorted(size.items()):
        print(f"  {arm:>13} {kind:>11}: {value / MB:6.2f} MB")
    if not args.no_projection:
        print(f"projected compact store of the paper profile, notebooks 01-05 (04's rewind points included): "
              f"{project(size, count) / MB:.1f} MB (estimate from the per-level sizes above)")


if __name__ == "__main__":
    main()
