"""Capacity and generalisation on a small noisy regression task: test loss against width (double descent), and IMP
on a regression MLP (does pruning improve generalisation here?).

    point = RegressionConfig(width=64, activation="tanh")
    fit(point)                      # {"train_loss", "test_loss", ...}, stored in the run store, read back next time
    width_sweep(base, widths=[1, 2, 4, ...])            # DataFrame, one row per (width, seed)
    regression_imp(RegressionConfig(width=100), rounds=10, rate=0.1)
    imp_verdict(regression_imp_trials(base, seeds=[0, 1, 2]))   # pruned rounds against dense, paired by seed
    curve_verdict(sweep_rows, noise_floor)   # U shape and second descent, judged on 95% intervals
    pruned_versus_narrow(imp_runs, relu_students, base)   # IMP's last round against the dense students around its size
    pack("results/paper/runs", "results/paper/store")   # every stored regression into one file of a compact store
    unpack("results/paper/store", "results/paper/runs")  # and back: a stored result is read, not trained again
    with_knobs(SETTINGS["standard"], widths=[4, 16, 64], regression_rounds=5)   # a notebook's own knobs, checked

The task: y = teacher(x) + noise, x ~ N(0, I) in `input_dim` dimensions, the teacher a fixed random tanh network;
`n_train` noisy training points, `n_test` noisy test points from the same distribution. Models are `models.mlp`,
trained full-batch with Adam for `steps` (+ `steps_per_width` x width: wider nets get longer to fit) under a mask.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from dataclasses import dataclass, field

import pandas as pd
import torch
import torch.nn.functional as F

from ..pruning import masks, magnitude as pruning
from ..foundations.config import ConfigError, config_hash, whole_in
from ..training.workers import parallel_map
from ..foundations.files import atomic_write_text
from ..lottery.imp import derive_seed
from ..models import ACTIVATIONS, glorot_init_, mlp, prunable_names
from ..results.analysis import holm_survivors, interval_verdict, paired_difference, unpaired_difference
from ..training.masking import masked_parameters, masked_step


@dataclass(frozen=True)
class DoubleDescent:
    """Notebook 06's sweep: the students' widths and seeds, and IMP's rounds on the regression MLP."""
    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    steps: int  # full-batch Adam steps of every student (RegressionConfig.steps)
    regression_rounds: int


SETTINGS: dict[str, DoubleDescent] = {  # per profile
    "smoke": DoubleDescent(widths=(1, 8, 64), seeds=(0,), steps=200, regression_rounds=2),
    "quick": DoubleDescent(widths=(1, 2, 4, 8, 16, 32, 64, 128, 256), seeds=(0, 1), steps=1000, regression_rounds=6),
    "standard": DoubleDescent(widths=(1, 2, 4, 8, 12, 16, 24, 32, 64, 128, 256, 512), seeds=(0, 1, 2), steps=2000,
                              regression_rounds=10),
    "paper": DoubleDescent(widths=(1, 2, 4, 8, 12, 16, 24, 32, 64, 128, 256, 512, 1024), seeds=(0, 1, 2, 3, 4),
                           steps=4000, regression_rounds=10),
}


def with_knobs(own: DoubleDescent, widths=None, regression_rounds=None) -> DoubleDescent:
    """The profile's sweep with notebook 06's knobs (None: the profile's), each checked before any training: an
    error names it, its value and what is allowed."""
    if widths is not None:
        widths = list(widths) if isinstance(widths, (list, tuple)) else widths
        if not isinstance(widths, list) or len(widths) < 2 or not all(whole_in(w, 1, 4096) for w in widths):
            raise ConfigError("widths", widths, "a list of at least 2 integers from 1 to 4096 (hidden units of the "
                                                "students), such as [1, 4, 16, 64, 256]")
        own = dataclasses.replace(own, widths=tuple(sorted(set(widths))))
    if regression_rounds is not None:
        if not whole_in(regression_rounds, 1, 50):
            raise ConfigError("regression_rounds", regression_rounds, "an integer from 1 to 50 (IMP rounds of 10% "
                                                                      "on the width-100 network)")
        own = dataclasses.replace(own, regression_rounds=regression_rounds)
    return own


@dataclass(frozen=True)
class RegressionConfig:
    n_train: int = field(default=100, metadata={"help": "noisy training points"})
    n_test: int = field(default=2000, metadata={"help": "noisy test points"})
    input_dim: int = field(default=5, metadata={"help": "input dimensions"})
    noise: float = field(default=0.5, metadata={"help": "std of the label noise (teacher outputs have std ~1)"})
    teacher_width: int = field(default=20, metadata={"help": "hidden units of the random tanh teacher"})
    width: int = field(default=100, metadata={"help": "hidden units of the student"})
    depth: int = field(default=1, metadata={"help": "hidden layers of the student"})
    activation: str = field(default="relu", metadata={"help": f"one of {', '.join(ACTIVATIONS)}"})
    weight_decay: float = field(default=0.0, metadata={"help": "L2 penalty (Adam)"})
    lr: float = field(default=3e-3, metadata={"help": "Adam learning rate"})
    steps: int = field(default=2000, metadata={"help": "full-batch steps for any width"})
    steps_per_width: int = field(default=10, metadata={"help": "extra steps per hidden unit"})
    data_seed: int = field(default=0, metadata={"help": "seed of the teacher and the data"})
    seed: int = field(default=0, metadata={"help": "seed of the student's init"})
    out: str = field(default="runs", metadata={"help": "run-store folder", "hash": False})

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation={self.activation!r} is invalid: one of {', '.join(ACTIVATIONS)}")
        for name in ("n_train", "n_test", "input_dim", "teacher_width", "width", "depth", "steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid: >= 1")
        if self.noise < 0 or self.weight_decay < 0 or self.lr <= 0:
            raise ValueError("noise and weight_decay must be >= 0 and lr > 0")

    @property
    def total_steps(self) -> int:
        return self.steps + self.steps_per_width * self.width


def make_data(cfg: RegressionConfig) -> dict[str, torch.Tensor]:
    """Teacher-generated regression data: x_train, y_train, x_test, y_test (float32, CPU), seeded by data_seed."""
    g = torch.Generator().manual_seed(derive_seed(cfg.data_seed, "regression-data"))
    teacher = glorot_init_(mlp(cfg.teacher_width, 1, "tanh", cfg.input_dim, 1), g)
    with torch.no_grad():
        for p in teacher.parameters():  # non-zero biases make a less symmetric target
            if p.ndim == 1:
                p.normal_(0, 0.5, generator=g)
    n = cfg.n_train + cfg.n_test
    x = torch.randn(n, cfg.input_dim, generator=g)
    with torch.no_grad():
        clean = teacher(x)
        clean = (clean - clean.mean()) / clean.std()
    y = clean + cfg.noise * torch.randn(n, 1, generator=g)
    return {"x_train": x[:cfg.n_train], "y_train": y[:cfg.n_train], "x_test": x[cfg.n_train:],
            "y_test": y[cfg.n_train:]}


def student(cfg: RegressionConfig) -> torch.nn.Module:
    """The seeded student MLP of `cfg`, at its initial weights."""
    return glorot_init_(mlp(cfg.width, cfg.depth, cfg.activation, cfg.input_dim, 1),
                        torch.Generator().manual_seed(derive_seed(cfg.seed, "regression-init", cfg.width)))


def train_regression(cfg: RegressionConfig, mask: masks.Mask | None = None,
                     start: dict[str, torch.Tensor] | None = None) -> tuple[dict, dict[str, torch.Tensor]]:
    """Train a student (from `start` or a seeded init) under `mask`; returns (losses, final weights)."""
    data = make_data(cfg)
    model = student(cfg)
    if start is not None:
        model.load_state_dict(start)
    mask = mask if mask is not None else masks.ones_like(model)
    masked = masked_parameters(model, mask)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    for _ in range(cfg.total_steps):
        loss = F.mse_loss(model(data["x_train"]), data["y_train"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        masked_step(opt, masked)
    with torch.no_grad():
        losses = {"train_loss": float(F.mse_loss(model(data["x_train"]), data["y_train"])),
                  "test_loss": float(F.mse_loss(model(data["x_test"]), data["y_test"]))}
    return losses, {k: v.detach().clone() for k, v in model.state_dict().items()}


def _stored(cfg: RegressionConfig, name: str, compute) -> dict:
    """Read `<out>/regression-<hash>/<name>.json`, or compute and store it."""
    path = config_path(cfg) / f"{name}.json"
    if path.is_file():
        return json.loads(path.read_text())
    result = compute()
    atomic_write_text(path, json.dumps(result) + "\n")
    return result


def config_path(cfg: RegressionConfig) -> Path:
    return Path(cfg.out) / f"regression_w{cfg.width}_{cfg.activation}-{config_hash(cfg)}"


# A compact store's regressions, one file: {folder: {result name: result}} for every `<folder>/<name>.json` of a run
# store's regression folders (the folder names hash every field but `out`, so they travel).
PACKED = "regressions.json"


def read_packed(store: str | Path) -> dict:
    """The regressions a compact store holds ({} if none)."""
    path = Path(store) / PACKED
    return json.loads(path.read_text()) if path.is_file() else {}


def pack(runs: str | Path, store: str | Path) -> int:
    """Export every regression result stored under run store `runs` into compact store `store` (PACKED, merged with
    what it holds: a result already there is replaced by the stored one); returns how many it holds. Nothing is
    written when there are none."""
    packed = read_packed(store)
    for path in sorted(Path(runs).glob("regression_*/*.json")):
        packed.setdefault(path.parent.name, {})[path.stem] = json.loads(path.read_text())
    if packed:  # folders and names sorted, each result as stored (unpack writes back the same bytes)
        packed = {folder: dict(sorted(results.items())) for folder, results in sorted(packed.items())}
        Path(store).mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(store) / PACKED, json.dumps(packed, separators=(",", ":")) + "\n")
    return sum(len(results) for results in packed.values())


def unpack(store: str | Path, runs: str | Path) -> int:
    """Write compact store `store`'s regressions into run store `runs` where they are missing (a stored result is
    kept), as `_stored` writes them; returns how many were written."""
    written = 0
    for folder, results in read_packed(store).items():
        for name, result in results.items():
            path = Path(runs) / folder / f"{name}.json"
            if not path.is_file():
                atomic_write_text(path, json.dumps(result) + "\n")
                written += 1
    return written


def packed_imp_trials(store: str | Path, own: DoubleDescent, width: int = 100,
                      rate: float = 0.1) -> pd.DataFrame | None:
    """regression_imp_trials' rows for a profile's sweep (`own`: its seeds, steps and IMP rounds, on the width-`width`
    ReLU network as notebook 06 runs it), read from compact store `store` without training; None where a seed's
    result is missing."""
    base = RegressionConfig(width=width, steps=own.steps)
    packed, rows = read_packed(store), []
    for seed in own.seeds:
        result = packed.get(config_path(dataclasses.replace(base, seed=seed)).name, {}).get(
            f"imp_{own.regression_rounds}x{rate}")
        if result is None:
            return None
        rows += [{**row, "seed": seed} for row in result["rows"]]
    return pd.DataFrame(rows)


def fit(cfg: RegressionConfig) -> dict:
    """One dense training run: its config, train and test loss, and the number of parameters (stored)."""
    def compute():
        losses, weights = train_regression(cfg)
        params = sum(v.numel() for v in weights.values())
        return {**dataclasses.asdict(cfg), **losses, "parameters": params}
    return _stored(cfg, "dense", compute)


def width_sweep(base: RegressionConfig, widths: list[int], seeds: list[int], progress: bool = True,
                workers: int = 0) -> pd.DataFrame:
    """Test and train loss for every width and seed (parallel, stored)."""
    jobs = [(dataclasses.replace(base, width=w, seed=s),) for w in widths for s in seeds]
    return pd.DataFrame(parallel_map(fit, jobs, workers=workers, progress=progress, desc="width sweep"))


def regression_imp(cfg: RegressionConfig, rounds: int = 10, rate: float = 0.1) -> list[dict]:
    """IMP on a regression MLP: train, prune `rate` of surviving weights per layer (output layer at rate / 2), rewind
    to the initial weights, retrain; one row per round with density and losses (stored)."""
    def compute():
        dense_losses, final = train_regression(cfg)
        model = student(cfg)
        init = {k: v.clone() for k, v in model.state_dict().items()}
        names = prunable_names(model)
        mask = masks.ones_like(model)
        rows = [{"round": 0, "density": 1.0, **dense_losses}]
        for r in range(1, rounds + 1):
            mask = pruning.magnitude_prune(final, mask, pruning.layer_rates(names, rate))
            losses, final = train_regression(cfg, mask, start=init)
            rows.append({"round": r, "density": masks.density(mask), **losses})
        return {"rows": rows}
    return _stored(cfg, f"imp_{rounds}x{rate}", compute)["rows"]


def regression_imp_trials(base: RegressionConfig, seeds: list[int], rounds: int = 10, rate: float = 0.1,
                          progress: bool = True, workers: int = 0) -> pd.DataFrame:
    jobs = [(dataclasses.replace(base, seed=s), rounds, rate) for s in seeds]
    results = parallel_map(regression_imp, jobs, workers=workers, progress=progress, desc="regression IMP")
    return pd.DataFrame([{**row, "seed": s} for s, rows in zip(seeds, results) for row in rows])


def imp_versus_dense(imp_runs: pd.DataFrame) -> pd.DataFrame:
    """Per pruned round of regression_imp_trials' rows: its test loss minus the dense network's (round 0) of the same
    seed, mean and 95% t-interval over seeds (paired_difference's columns, `level` = round), and whether the
    difference survives Holm's correction over all the rounds (`holm`). NaN bounds with one seed."""
    runs = imp_runs.rename(columns={"round": "level", "seed": "trial"})
    pruned = runs[runs["level"] > 0]
    dense = pruned[["trial", "level"]].merge(runs[runs["level"] == 0].drop(columns="level"), on="trial")
    paired = paired_difference(pruned, dense, "test_loss").reindex(
        columns=["level", "percent_remaining", "mean_diff", "ci_low", "ci_high", "trials"])
    return paired.assign(holm=holm_survivors(paired) if len(paired) else [])


# source 000's range (shared/docs/sources.md): "pruning to ~40-50% of the weights improves generalisation"
SOURCE_BAND = (40.0, 50.0)


def imp_verdict(imp_runs: pd.DataFrame, band: tuple[float, float] = SOURCE_BAND) -> dict:
    """Does IMP on the regression MLP generalise better than its dense network? Judged on paired intervals, never on
    a difference of means: {"paired": imp_versus_dense's table, "verdicts": per round 'lower' / 'higher' / 'no
    difference shown' / 'one trial: no interval' (test loss against dense's), "best": the paired row of the round with
    the lowest mean test loss, "band_best": the same among the rounds with `band` % of the weights remaining (None
    if none), "lower", "higher": the rounds whose 95% interval lies below / above 0, "holm_lower": those below 0 that
    survive Holm's correction over all rounds}. A pruned round 'beats dense' only where its interval lies below 0."""
    paired = imp_versus_dense(imp_runs)
    verdicts = [interval_verdict(lo, hi) for lo, hi in zip(paired["ci_low"], paired["ci_high"])]
    paired = paired.assign(verdict=verdicts)
    in_band = paired[paired["percent_remaining"].between(*band)]
    best = paired.loc[paired["mean_diff"].idxmin()] if len(paired) else None
    band_best = in_band.loc[in_band["mean_diff"].idxmin()] if len(in_band) else None
    lower = paired[paired["verdict"] == "lower"]
    return {"paired": paired, "verdicts": verdicts, "best": best, "band_best": band_best,
            "lower": lower["level"].tolist(), "higher": paired.loc[paired["verdict"] == "higher", "level"].tolist(),
            "holm_lower": lower.loc[lower["holm"], "level"].tolist()}


def describe_curve(test_loss: pd.Series, margin: float = 0.05) -> dict:
    """Locate the classical minimum, the double-descent peak after it, and whether the loss descends again.

    `test_loss` is indexed by width (ascending). The classical minimum is the first local minimum; the peak is the
    maximum after it; a second descent means some wider net gets at least `margin` below that peak.
    Returns {"classical_width", "peak_width", "peak_loss", "second_descent", "descent_width", "descent_loss",
    "best_width", "best_loss"}, where descent_* is the lowest point after the peak (the peak itself if none).
    """
    values = test_loss.to_numpy()
    first_min = next((i for i in range(len(values)) if i + 1 == len(values) or values[i + 1] > values[i]), 0)
    after = test_loss.iloc[first_min + 1:]
    peak_width = after.idxmax() if not after.empty else test_loss.index[first_min]
    beyond = test_loss[test_loss.index > peak_width]
    low = beyond.idxmin() if not beyond.empty else peak_width
    return {"classical_width": test_loss.index[first_min], "peak_width": peak_width,
            "peak_loss": float(test_loss[peak_width]),
            "second_descent": bool(not beyond.empty and beyond.min() < test_loss[peak_width] - margin),
            "descent_width": low, "descent_loss": float(test_loss[low]),
            "best_width": test_loss.idxmin(), "best_loss": float(test_loss.min())}


def curve_verdict(per_seed: pd.DataFrame, noise_floor: float) -> dict:
    """The shape of one test-loss-against-width curve judged on 95% intervals, never on a difference of means.
    `per_seed`: rows with width, seed and test_loss. The students of two widths share no initial weights (a seed draws
    each width's own), so two widths are compared unpaired: unpaired_difference's Welch interval. A classical U needs
    the first local minimum of the mean, after the smallest width, to lie below the smallest width's loss (the
    interval of their difference below 0); a second descent needs the lowest point after the peak to lie below the
    peak (the same). The minimum, peak and lowest point are picked from these means, which flatters the differences
    between them: the intervals are, if anything, too narrow. Returns describe_curve's keys plus "u_shape",
    "separated" (the second descent shown by its interval), "u_interval" (classical minimum minus smallest width),
    "descent_interval" (lowest point after the peak minus the peak), "smallest_loss", "noise_floor"."""
    losses = per_seed.groupby("width")["test_loss"]
    mean = losses.mean()
    shape = describe_curve(mean, margin=0.0)
    first, classical, peak, descent = mean.index[0], shape["classical_width"], shape["peak_width"], shape["descent_width"]
    u_interval = unpaired_difference(losses.get_group(classical), losses.get_group(first))
    descent_interval = unpaired_difference(losses.get_group(descent), losses.get_group(peak))
    u_shape = bool(classical != first and u_interval["ci_high"] < 0)
    separated = bool(shape["second_descent"] and descent_interval["ci_high"] < 0)
    return {**shape, "u_shape": u_shape, "separated": separated, "u_interval": u_interval,
            "descent_interval": descent_interval, "smallest_loss": float(mean[first]), "noise_floor": noise_floor}


def pruned_versus_narrow(imp_runs: pd.DataFrame, students: pd.DataFrame, base: RegressionConfig) -> dict:
    """Pruning a wide network or choosing a narrow one: IMP's last round (regression_imp_trials' rows of `base`'s
    width) against the dense students (width_sweep's rows, one activation and weight decay) whose weight counts
    bracket the round's: the widest with at most as many weights and the narrowest with more (one of them where the
    round lies outside the sweep; a depth-1 student of width w has (input_dim + 1) w weights). Test
    loss, unpaired (unpaired_difference: a student and a pruned network share no initial weights). Returns {"kept":
    the last round's weights, "round", "loss": its mean test loss, "rows": per student width (ascending) a dict with
    width, weights, loss (mean), the interval keys of the round minus the student, and verdict: 'lower' (pruning
    does better), 'higher' (the narrow network does) or 'no difference shown'}."""
    last_round = int(imp_runs["round"].max())
    last = imp_runs.loc[imp_runs["round"] == last_round, "test_loss"]
    per_width = base.input_dim + 1
    kept = float(imp_runs.loc[imp_runs["round"] == last_round, "density"].mean()) * base.width * per_width
    by_width = students.groupby("width")["test_loss"]
    widths = sorted(by_width.groups)
    near = [w for w in widths if w * per_width <= kept][-1:] + [w for w in widths if w * per_width > kept][:1]
    rows = []
    for w in sorted(near):
        d = unpaired_difference(last, by_width.get_group(w))
        rows.append({"width": int(w), "weights": int(w * per_width), "loss": float(by_width.get_group(w).mean()), **d,
                     "verdict": interval_verdict(d["ci_low"], d["ci_high"])})
    return {"kept": kept, "round": last_round, "loss": float(last.mean()), "rows": rows}
