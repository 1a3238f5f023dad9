"""How the `standard` profile's early stopping was chosen: replay patience and a cap on the validation curves of the
committed paper-scale runs (50,000 iterations, evaluation every 100) and count what each rule would have done.

    .venv/bin/python benchmarks/patience_replay.py                  # reads results/paper/store
    .venv/bin/python benchmarks/patience_replay.py --patience 10 20 30 --cap 8000 10000

For each rule and arm: the mean iterations a level would train, how many runs hit the cap before patience ran out
(censored), in how many the early-stopping iteration equals the one of the full 50,000-iteration run, and the mean
shift of the early-stopping iteration against the full run (negative: patience stopped at an earlier minimum).
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
    parser.add_argument("--patience", type=int, nargs="+", default=[10, 12, 15, 20])
    parser.add_argument("--cap", type=int, nargs="+", default=[10_000, 15_000])
    args = parser.parse_args()
    curves = val_curves(Path(args.store))
    arms = sorted({name.split("_lenet")[0] for name, _, _ in curves})
    print(f"{len(curves)} validation curves from {args.store}: "
          + ", ".join(f"{sum(n.startswith(a) for n, _, _ in curves)} {a}" for a in arms))
    print(f"{'cap':>7} {'patience':>8} {'arm':>13} {'mean iterations':>15} {'censored':>9} {'same early stop':>15} "
          f"{'mean shift of early stop':>24}")
    for cap in args.cap:
        for patience in args.patience:
            for arm in arms:
                stops, censored, same, shift, n = [], 0, 0, [], 0
                for name, iterations, loss in curves:
                    if not name.startswith(arm):
                        continue
                    stop, early, cut = replay_patience(iterations, loss, patience, cap)
                    full = int(iterations[np.argmin(loss)])
                    stops.append(stop)
                    censored += cut
                    same += early == full
                    shift.append(early - full)
                    n += 1
                print(f"{cap:>7} {patience:>8} {arm:>13} {np.mean(stops):>15,.0f} {censored:>5}/{n:<3} "
                      f"{same:>11}/{n:<3} {np.mean(shift):>24,.0f}")


if __name__ == "__main__":
    main()
