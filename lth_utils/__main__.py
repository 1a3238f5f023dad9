"""Command line: `python -m lth_utils fetch-data mnist` and `python -m lth_utils imp [--flags]`.

    python -m lth_utils fetch-data mnist
    python -m lth_utils imp --iterations 2000 --levels 5 --trials 2
    python -m lth_utils imp --help          # every IMPConfig field is a flag
    python -m lth_utils imp --target-sparsity 0.9 --rounds 5   # the rate that reaches 90% sparsity in 5 rounds

The `imp` flags are generated from `IMPConfig`, the same object notebooks build, so the two can never disagree.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from . import data
from .foundations.config import ConfigError, add_arguments, coerce, from_namespace
from .foundations.files import atomic_write_text
from .lottery.imp import IMPConfig
from .foundations.store import ImportMismatch, ProvenanceError


def summary_table(summary) -> str:
    """Per level over trials: % weights remaining, test accuracy at early stop (mean, min, max), early-stop iteration."""
    grouped = summary.groupby("level").agg(
        remaining_pct=("density", lambda d: 100 * d.mean()),
        test_acc_mean=("test_acc_at_early_stop", "mean"), test_acc_min=("test_acc_at_early_stop", "min"),
        test_acc_max=("test_acc_at_early_stop", "max"), early_stop_it=("early_stop_iteration", "mean"),
        trials=("trial", "count"))
    lines = [f"{'level':>5} {'% remaining':>11} {'test acc @ early stop (mean [min, max])':>40} "
             f"{'early-stop it':>13} {'trials':>6}"]
    for level, r in grouped.iterrows():
        acc = f"{100 * r.test_acc_mean:6.2f}% [{100 * r.test_acc_min:6.2f}, {100 * r.test_acc_max:6.2f}]"
        lines.append(f"{level:>5} {r.remaining_pct:>10.1f}% {acc:>40} {r.early_stop_it:>13.0f} {r.trials:>6.0f}")
    return "\n".join(lines)


def portable_command(args) -> int:
    from .results import portable
    from .course.profiles import weights_read
    if args.command == "export":
        if not Path(args.out).is_dir():
            raise ConfigError("out", args.out, "an existing run-store folder")
        rows = portable.export_store(args.out, args.to, args.runs, weights_read())
        for row in rows:
            print(f"{row['run']:55s} {row['levels']:4d} levels {row['bytes'] / 1e6:8.2f} MB")
        print(f"{len(rows)} runs exported to {args.to}: {portable.compact_size(args.to) / 1e6:.2f} MB in all")
    elif args.command == "retrain-weights":
        if not Path(args.out).is_dir():
            raise ConfigError("out", args.out, "an existing run-store folder")
        rows = portable.retrain_weights(args.out, args.against, args.data_root, weights_read=weights_read())
        print(f"{len(rows)} level(s) trained again for the weights a notebook reads; every one matched its record")
    elif args.command == "verify":
        if not Path(args.against).is_dir():
            raise ConfigError("against", args.against, "a folder written by `python -m lth_utils export`")
        if not Path(args.out).is_dir():
            raise ConfigError("out", args.out, "an existing run-store folder")
        table = portable.verify(args.out, args.against)
        print(portable.verify_sentence(table, args.out, args.against))
        return 1 if portable.verify_failed(table) else 0
    else:
        from .course.profiles import profiles_of, run_store
        pairs = [(args.source, args.out or "runs")] if args.source else \
            [(f"results/{p}/store", args.out or run_store(p)) for p in profiles_of(args.profile)]
        for source, out in pairs:
            if not Path(source).is_dir():
                if args.source:
                    raise ConfigError("from", source, "a folder written by `python -m lth_utils export`")
                print(f"{source}: no committed results for this profile, nothing to import")
                continue
            rows = portable.import_store(source, out)
            print(f"{len(rows)} runs imported from {source} into {out}: "
                  f"{sum(r['levels_written'] for r in rows)} levels written, the rest were already stored")
    return 0


def apply_target(args) -> None:
    """`imp --target-sparsity S --rounds N` as IMPConfig fields: levels = N, and the rate at which the whole network
    keeps 1 - S of its weights after N levels, its output layer at --output-rate (default: half the rate, as
    everywhere; pruning.rate_for_sparsity, as tickets' target_sparsity)."""
    from .lottery.imp import layer_sizes
    from .pruning.magnitude import rate_for_sparsity
    defaults = {f.name: f.default for f in dataclasses.fields(IMPConfig)}
    if args.rounds is not None:
        rounds = coerce(IMPConfig, "levels", args.rounds)
        if str(args.levels) != str(defaults["levels"]) and coerce(IMPConfig, "levels", args.levels) != rounds:
            raise ConfigError("rounds", args.rounds, f"the same as --levels {args.levels}, or only one of them")
        args.levels = rounds
    if args.target_sparsity is None:
        return
    try:
        sparsity = float(args.target_sparsity)
    except ValueError:
        raise ConfigError("target_sparsity", args.target_sparsity, "a fraction of weights removed, in (0, 1)") from None
    if not 0 < sparsity < 1:
        raise ConfigError("target_sparsity", args.target_sparsity, "a fraction of weights removed, in (0, 1)")
    if args.rounds is None:
        raise ConfigError("rounds", None, "a number of pruning rounds N, which --target-sparsity needs")
    if str(args.rate) != str(defaults["rate"]):
        raise ConfigError("rate", args.rate, "left out when --target-sparsity sets the rate")
    output_rate = None if args.output_rate in (None, "None") else coerce(IMPConfig, "output_rate", args.output_rate)
    sizes = dict(layer_sizes(args.model, args.dataset))
    args.rate = rate_for_sparsity(sizes, sparsity, coerce(IMPConfig, "levels", args.levels), output_rate,
                                  args.scope, coerce(IMPConfig, "pool_output", args.pool_output))


def train_ahead(args) -> int:
    """`train`: the union of the notebooks' planned runs, in the order given, in one engine call (workers stay busy)."""
    from .experiments import PLANNED, notebook_runs, train_order
    from .course.profiles import HANDOUTS, NOTEBOOK_SETTINGS, handout_profile, imp_config, profiles_of, run_store
    order = args.only or train_order()
    for name in order:
        if name not in PLANNED:
            raise ConfigError("only", name, f"notebooks with planned IMP runs: {', '.join(PLANNED)}")
    configs, stores = [], []
    for profile in profiles_of(args.profile):  # `handouts`: each notebook's runs in its handout's profile
        names = [n for n in order if args.profile != HANDOUTS or handout_profile(n) == profile]
        cfg = imp_config(profile, **{"out": run_store(profile), **dict(args.set)})
        configs += [c for name in names for c in notebook_runs(name, cfg, NOTEBOOK_SETTINGS[profile])]
        stores.append(f"{cfg.out}/ ({profile}: {' '.join(names) or 'none'})")
    configs = list(dict.fromkeys(configs))
    for dataset in dict.fromkeys(c.dataset for c in configs):
        data.fetch(dataset, cfg.data_root)
    from .execution.engine import run
    run(configs, progress=not args.quiet, scheduler=args.scheduler)
    print(f"{len(configs)} runs of notebooks {' '.join(order)} are stored in {', '.join(stores)}")
    return 0


def sweep_command(args) -> int:
    """`sweep`: every (notebook, grid point), skipping finished ones; prints the points table."""
    from .course import sweep
    for entry in args.grid:
        if len(entry) < 2:
            raise ConfigError("grid", entry[0], f"a name and at least one value, as in --grid {entry[0]} 0 1 2")
    grid = {entry[0]: [sweep.parse_value(v) for v in entry[1:]] for entry in args.grid}
    fixed = {name: sweep.parse_value(value) for name, value in args.set}
    table = sweep.run_sweep(args.notebooks, grid, args.output_dir, fixed, args.scheduler, args.workers)
    print(table.drop(columns=["target"]).to_string(index=False))
    failed = int((table["status"] == "failed").sum())
    print(f"{len(table)} point(s): {failed} failed; tables in {args.output_dir}/points.csv and results.csv")
    return 1 if failed else 0


def compare_command(args) -> int:
    """`compare`: the side-by-side table with the paper, from a compact store (committed results), optionally
    written into the README between its side-by-side markers."""
    from .course import comparison
    from .results import portable
    from .course.profiles import NOTEBOOK_SETTINGS, imp_config
    if not Path(args.store).is_dir():
        raise ConfigError("store", args.store, "a folder written by `python -m lth_utils export`")
    cfg = imp_config(args.profile)
    inputs = comparison.gather(cfg, NOTEBOOK_SETTINGS[args.profile], lambda c: portable.stored_summary(args.store, c))
    if inputs[0].empty:
        raise ConfigError("store", args.store, f"a compact store holding the {args.profile} profile's ticket run")
    table = comparison.side_by_side(*inputs)
    block = (f"{comparison.markdown(table)}\n\n"
             f"Computed by `python -m lth_utils compare --profile {args.profile}` from `{args.store}` "
             f"({comparison.trials_note(*inputs[:3])}). {comparison.multiplicity(table)}")
    return _emit(block, args.readme, "side-by-side table", comparison.START, comparison.END)


def _emit(block: str, readme: str | None, what: str, start: str, end: str) -> int:
    """Print `block`, or write it into `readme` between its `start` and `end` markers."""
    from .course import comparison
    if readme:
        atomic_write_text(Path(readme), comparison.splice(Path(readme).read_text(), block, start, end))
        print(f"{what} written into {readme}")
    else:
        print(block)
    return 0


def costs_command(args) -> int:
    """`costs`: the executed notebooks' costs as a markdown table, optionally written into the README."""
    from .course.readme import COSTS_END, COSTS_START, readme_block
    if not sorted(Path(args.dir).glob("[0-9][0-9]_*.ipynb")):
        raise ConfigError("dir", args.dir, "a folder of executed notebooks (NN_name.ipynb)")
    return _emit(readme_block(args.dir), args.readme, "notebook costs", COSTS_START, COSTS_END)


def protocols_command(args) -> int:
    """`protocols`: the protocol each handout is rendered in and its committed paper-protocol levels."""
    from .course import protocol
    from .course.notebook import notebook_paths
    block = protocol.handouts_table([p.stem for p in notebook_paths()])
    return _emit(block, args.readme, "handout protocols", protocol.PROTOCOLS_START, protocol.PROTOCOLS_END)


def verdicts_command(args) -> int:
    """`verdicts extract`: the verdict lines of a folder of executed notebooks, as JSON; `verdicts compare`: two
    machines' verdict lines side by side, optionally written into the README."""
    import json

    from .results import verdicts
    from .foundations.store import cpu_name, git_commit
    if args.action == "extract":
        if not sorted(Path(args.dir).glob("[0-9][0-9]_*.ipynb")):
            raise ConfigError("dir", args.dir, "a folder of executed notebooks (NN_name.ipynb)")
        record = verdicts.extract(args.dir, args.machine or cpu_name(), args.commit or git_commit() or "")
        atomic_write_text(Path(args.to), json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        print(f"{sum(len(v) for v in record['notebooks'].values())} verdict lines of {len(record['notebooks'])} "
              f"notebooks ({record['machine']}) written to {args.to}")
        return 0
    for name, path in (("a", args.a), ("b", args.b)):
        if not Path(path).is_file():
            raise ConfigError(name, path, "a JSON file written by `python -m lth_utils verdicts extract`")
    a, b = (json.loads(Path(p).read_text()) for p in (args.a, args.b))
    return _emit(verdicts.table(a, b, (args.a, args.b)), args.readme, "cross-machine verdicts", verdicts.VERDICTS_START,
                 verdicts.VERDICTS_END)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # the engine has stopped its workers and said what is kept
        return 130


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lth_utils", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-data", help="download/convert a dataset and verify its checksums")
    fetch.add_argument("dataset", choices=[d.replace("_", "-") for d in data.DATASETS])
    fetch.add_argument("--data-root", default="data")
    imp = commands.add_parser("imp", help="run iterative magnitude pruning (resumes; reads stored results)")
    add_arguments(imp, IMPConfig)
    imp.add_argument("--target-sparsity", default=None, metavar="S", help="with --rounds N: the rate at which the "
                     "whole network reaches sparsity S in N levels, the output layer at --output-rate (default: "
                     "half the rate) (instead of --rate)")
    imp.add_argument("--rounds", default=None, metavar="N", help="pruning rounds (the same as --levels)")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.add_argument("--scheduler", default=None, help="run the tasks on this Dask scheduler (default: "
                                                       "$DASK_SCHEDULER_ADDRESS; neither: local workers)")
    ahead = commands.add_parser("train", help="train (or resume) every IMP run that notebooks read, without the "
                                              "notebooks: for long profiles, in the background")
    ahead.add_argument("--profile", default="handouts", help="handouts (default: each notebook in its handout's "
                       "profile), smoke, quick, standard or paper")
    ahead.add_argument("--only", nargs="*", default=None,
                       help="notebooks in priority order (default: what readers need first, experiments.train_order())")
    ahead.add_argument("--set", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                       help="an IMPConfig field for every run, e.g. --set out results/paper/runs (repeatable)")
    ahead.add_argument("--quiet", action="store_true", help="no progress bar")
    ahead.add_argument("--scheduler", default=None, help="run the tasks on this Dask scheduler (default: "
                                                         "$DASK_SCHEDULER_ADDRESS; neither: local workers)")
    export = commands.add_parser("export", help="write a run store's compact, committable form")
    export.add_argument("--out", default="runs", help="the run store to export (default: runs)")
    export.add_argument("--to", required=True, help="folder for the compact form, e.g. results/paper/store")
    export.add_argument("--runs", nargs="*", default=None, help="run folder names (default: every run)")
    load = commands.add_parser("import", help="materialise a compact store into a run store (then notebooks read "
                                              "it and runs resume from it)")
    load.add_argument("--from", dest="source", default=None,
                      help="the compact form, e.g. results/paper/store (default: the profile's committed results)")
    load.add_argument("--out", default=None, help="the run store to write into (default: the profile's, runs or "
                                                  "results/paper/runs)")
    load.add_argument("--profile", default="handouts", help="without --from: import results/<profile>/store for "
                      "this profile (default: handouts, the stores of every profile the handouts read)")
    check = commands.add_parser("verify", help="compare the levels a run store trained with committed results: "
                                               "identical bits, or how far they differ")
    check.add_argument("--out", default="runs", help="the run store trained here (default: runs)")
    check.add_argument("--against", default="results/standard/store", help="the compact store to compare with")
    again = commands.add_parser("retrain-weights", help="train again the levels whose trained weights a notebook "
                                                        "reads but an imported store lacks (checked to the bit)")
    again.add_argument("--out", default="runs", help="the run store (default: runs)")
    again.add_argument("--against", default=None, help="the compact store it was imported from, to check the "
                                                       "weights' digests too")
    again.add_argument("--data-root", default="data", help="the datasets (default: data)")
    protocols = commands.add_parser("protocols", help="the protocol of each handout and its committed paper-scale "
                                                      "levels, as the README's table")
    protocols.add_argument("--readme", default=None, help="write the table into this README's block")
    compare = commands.add_parser("compare", help="the side-by-side table with the paper, from committed results")
    compare.add_argument("--profile", default="paper", help="the profile whose runs to compare (default: paper)")
    compare.add_argument("--store", default="results/paper/store", help="the compact store to read")
    compare.add_argument("--readme", default=None, help="write the table into this README's side-by-side block")
    cost = commands.add_parser("costs", help="what each executed notebook took, from its provenance paragraph")
    cost.add_argument("--dir", default="notebooks", help="the executed notebooks (default: notebooks, the handouts)")
    cost.add_argument("--readme", default=None, help="write the table into this README's notebook-costs block")
    verdict = commands.add_parser("verdicts", help="the notebooks' verdict lines on two machines, compared")
    actions = verdict.add_subparsers(dest="action", required=True)
    take = actions.add_parser("extract", help="write the verdict lines of executed notebooks as JSON")
    take.add_argument("--dir", default="notebooks", help="the executed notebooks (default: notebooks)")
    take.add_argument("--to", required=True, help="the JSON file, e.g. results/cross_machine/amd_epyc.json")
    take.add_argument("--machine", default=None, help="the machine that executed them (default: this CPU)")
    take.add_argument("--commit", default=None, help="the code they were executed with (default: this checkout's)")
    both = actions.add_parser("compare", help="compare two machines' verdict lines")
    both.add_argument("a", help="verdict lines of machine A (JSON)")
    both.add_argument("b", help="verdict lines of machine B (JSON)")
    both.add_argument("--readme", default=None, help="write the table into this README's cross-machine block")
    books = commands.add_parser("notebooks", help="run the notebooks headlessly with papermill")
    books.add_argument("--profile", default="handouts", help="handouts (default: each notebook in its handout's "
                       "profile, written over notebooks/), smoke, quick, standard or paper")
    books.add_argument("--output-dir", default=None,
                       help="where the executed notebooks go (default: notebooks/ for the handouts, "
                            "build/notebooks/<profile> for a profile: never over the handouts)")
    books.add_argument("--set", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                       help="a notebook parameter, e.g. --set out /tmp/runs (repeatable)")
    books.add_argument("--only", nargs="*", default=None, help="notebook name prefixes, e.g. 01 02")
    books.add_argument("--jobs", type=int, default=1, help="notebooks run at once, each in its own kernel (default 1; "
                       "notebooks sharing a store wait for each other's levels instead of training them twice)")
    sweep = commands.add_parser("sweep", help="papermill executions of notebooks over a parameter grid, on a Dask "
                                              "cluster when one is named, else on local workers")
    sweep.add_argument("--notebooks", nargs="+", required=True, help="notebook name prefixes, e.g. 02 03")
    sweep.add_argument("--grid", nargs="+", action="append", default=[], metavar=("NAME", "VALUE"),
                       help="a parameter and its values, e.g. --grid seed 0 1 2 (repeatable: the grid is the product)")
    sweep.add_argument("--set", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                       help="a parameter for every point, e.g. --set profile smoke (repeatable)")
    sweep.add_argument("--output-dir", required=True, help="where the points' notebooks, figures, runs and tables go")
    sweep.add_argument("--scheduler", default=None, help="a Dask scheduler address (default: $DASK_SCHEDULER_ADDRESS; "
                                                         "neither: local workers)")
    sweep.add_argument("--workers", type=int, default=0, help="local points run at once (0: one per core)")
    args = parser.parse_args(argv)

    try:
        if args.command == "sweep":
            return sweep_command(args)
        if args.command == "notebooks":
            from .course.notebook import execute
            timings = execute(args.profile, args.output_dir, dict(args.set), args.only, jobs=args.jobs)
            print("\n".join(f"{name:45s} {minutes:6.1f} min" for name, minutes in timings))
            return 0
        if args.command in ("export", "import", "verify", "retrain-weights"):
            return portable_command(args)
        if args.command == "train":
            return train_ahead(args)
        if args.command == "compare":
            return compare_command(args)
        if args.command == "costs":
            return costs_command(args)
        if args.command == "protocols":
            return protocols_command(args)
        if args.command == "verdicts":
            return verdicts_command(args)
        if args.command == "fetch-data":
            folder = data.fetch(args.dataset.replace("-", "_"), args.data_root)
            print(f"{args.dataset}: verified files in {folder}")
            return 0
        apply_target(args)
        cfg = from_namespace(IMPConfig, args)
        data.fetch(cfg.dataset, cfg.data_root)
        from .execution.engine import run  # imported late: pandas/tqdm are not needed for fetch-data or --help
        summary = run([cfg], progress=not args.quiet, scheduler=args.scheduler)[cfg]
    except (ConfigError, data.DataError, ProvenanceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportMismatch as exc:  # a damaged or incompatible compact store: what, where, and what to do
        print(f"error: cannot import {getattr(args, 'source', '') or 'the compact store'}: {exc}", file=sys.stderr)
        return 2
    print(f"\n{cfg.arm} run {cfg.prefix}-{cfg.hash} ({cfg.trials} trial(s), {cfg.num_levels} level(s)):")
    print(summary_table(summary))
    print(f"\nstored in {cfg.out}/{cfg.prefix}-{cfg.hash}/ (summary.csv, config.json, trial_*/level_*/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
