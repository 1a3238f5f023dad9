"""How the `standard` profile's early stopping was chosen: replay patience and a cap on the validation curves of the
committed paper-scale runs (50,000 iterations, evaluation every 100) and count what each rule would have done.

    .venv/bin/python benchmarks/patience_replay.py                  # reads results/paper/store
    .venv/bin/python benchmarks/patience_replay.py --patience 10 20 30 --cap 8000 10000

For each rule: the mean iterations a level would train, how many runs hit the cap before patience ran out (censored),
and in how many the early-stopping iteration equals the one of the full 50,000-iteration run.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lth_utils.analysis import replay_patience
from lth_utils.portable import SPLITS, _read_arrays


def val_curves(store: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    curves = []
    for run in sorted(p for p in store.iterdir() if p.is_dir()):
        arrays = _read_arrays(run)
        for key in sorted(k for k in arrays if k.startswith("metrics/") and k.endswith("/iteration")):
            prefix = key[: -len("iteration")]
            val = arrays[prefix + "split"] == SPLITS.index("val")
            curves.append((f"{run.name}/{prefix}", arrays[key][val], arrays[prefix + "loss"][val]))
    return curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default="results/paper/store")
    parser.add_argument("--patience", type=int, nargs="+", default=[10, 15, 20, 30])
    parser.add_argument("--cap", type=int, nargs="+", default=[8000, 10_000])
    args = parser.parse_args()
    curves = val_curves(Path(args.store))
    print(f"{len(curves)} validation curves from {args.store}")
    print(f"{'cap':>7} {'patience':>8} {'mean iterations':>15} {'censored':>9} {'same early stop':>15}")
    for cap in args.cap:
        for patience in args.patience:
            stops, censored, same = [], 0, 0
            for _, iterations, loss in curves:
                stop, early, cut = replay_patience(iterations, loss, patience, cap)
                stops.append(stop)
                censored += cut
                same += early == int(iterations[np.argmin(loss)])
            print(f"{cap:>7} {patience:>8} {np.mean(stops):>15,.0f} {censored:>5}/{len(curves):<3} "
                  f"{same:>11}/{len(curves):<3}")


if __name__ == "__main__":
    main()
