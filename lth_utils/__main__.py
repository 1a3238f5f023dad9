"""Command line: one subcommand per job, each an add_<command> (its own flags) and a run function in COMMANDS.

    python -m lth_utils fetch-data mnist                       # the datasets, verified
    python -m lth_utils imp --iterations 2000 --levels 5 --trials 2   # one IMP run; every IMPConfig field is a flag
    python -m lth_utils imp --target-sparsity 0.9 --rounds 5   # the rate that reaches 90% sparsity in 5 rounds
    python -m lth_utils train --profile paper --only 04        # the runs notebooks read, ahead of them
    python -m lth_utils notebooks --only 02                    # the notebooks, headless (papermill)
    python -m lth_utils export / import / verify / retrain-weights   # the compact committed stores
    python -m lth_utils compare / costs / protocols / verdicts  # the README's tables from committed results
    python -m lth_utils sweep --notebooks 02 --grid seed 0 1 2 --output-dir build/sweep   # a parameter grid
    python -m lth_utils key --only 02                          # the instructor key: each exercise executed

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


def _store_folder(parameter: str, path: str, what: str = "an existing run-store folder") -> None:
    if not Path(path).is_dir():
        raise ConfigError(parameter, path, what)


def run_export(args) -> int:
    """`export`: a run store's compact, committable form."""
    from .course.profiles import check_profile, run_store, weights_read
    from .results import portable
    if args.profile is not None:
        check_profile(args.profile)
    elif args.to is None:
        raise ConfigError("to", None, "the folder for the compact form, e.g. results/paper/store (or --profile)")
    args.out = args.out or (run_store(args.profile) if args.profile else "runs")
    args.to = args.to or f"results/{args.profile}/store"
    _store_folder("out", args.out)
    rows = portable.export_store(args.out, args.to, args.runs, weights_read())
    for row in rows:
        count = f"{row['trials']:4d} trials" if "trials" in row else f"{row['levels']:4d} levels"
        print(f"{row['run']:55s} {count} {row['bytes'] / 1e6:8.2f} MB")
    if not args.runs:  # notebook 06's regressions (no IMP runs), one file beside them
        from .experiments import double_descent
        if packed := double_descent.pack(args.out, args.to):
            print(f"{double_descent.PACKED:55s} {packed:4d} regression results")
    print(f"{len(rows)} runs exported to {args.to}: {portable.compact_size(args.to) / 1e6:.2f} MB in all")
    return 0


def run_import(args) -> int:
    """`import`: a compact store (or a profile's committed ones) materialised into a run store."""
    from .course.profiles import profiles_of, run_store
    from .experiments import double_descent
    from .results import portable
    pairs = [(args.source, args.out or "runs")] if args.source else \
        [(f"results/{p}/store", args.out or run_store(p)) for p in profiles_of(args.profile)]
    for source, out in pairs:
        if not Path(source).is_dir():
            if args.source:
                raise ConfigError("from", source, "a folder written by `python -m lth_utils export`")
            print(f"{source}: no committed results for this profile, nothing to import")
            continue
        rows = portable.import_store(source, out)
        regressions = double_descent.unpack(source, out)  # notebook 06's, where committed
        print(f"{len(rows)} runs imported from {source} into {out}: "
              f"{sum(r['levels_written'] for r in rows)} levels and {sum(r['trials_written'] for r in rows)} supermask "
              f"trials written, the rest were already stored"
              + (f"; {weights} stored levels got trained weights exported after them"
                 if (weights := sum(r['weights_written'] for r in rows)) else "")
              + (f"; {regressions} regression results written" if regressions else ""))
    return 0


def run_verify(args) -> int:
    """`verify`: the levels a run store trained against committed results (exit 1 where the bits should agree)."""
    from .results import portable
    _store_folder("against", args.against, "a folder written by `python -m lth_utils export`")
    _store_folder("out", args.out)
    table = portable.verify(args.out, args.against)
    print(portable.verify_sentence(table, args.out, args.against))
    return 1 if portable.verify_failed(table) else 0


def run_retrain_weights(args) -> int:
    """`retrain-weights`: the trained weights a notebook reads but an imported store lacks, trained again."""
    from .course.profiles import weights_read
    from .results import portable
    _store_folder("out", args.out)
    if args.workers < 1:
        raise ConfigError("workers", args.workers, "a whole number >= 1")
    rows = portable.retrain_weights(args.out, args.against, args.data_root, weights_read=weights_read(),
                                    here=args.here, workers=args.workers)
    stand_ins = sum(r["retrained"] for r in rows)
    print(f"{len(rows)} level(s) trained again for the weights a notebook reads: {len(rows) - stand_ins} matched their "
          f"record to the bit, {stand_ins} kept as stand-ins trained on this CPU model (weights_retrained.pt)")
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
    from .experiments import double_descent
    inputs = comparison.gather(cfg, NOTEBOOK_SETTINGS[args.profile], lambda c: portable.stored_summary(args.store, c))
    if inputs[0].empty:
        raise ConfigError("store", args.store, f"a compact store holding the {args.profile} profile's ticket run")
    regression = double_descent.packed_imp_trials(args.store, NOTEBOOK_SETTINGS[args.profile].double_descent)
    table = comparison.side_by_side(*inputs, regression=regression)
    block = (f"{comparison.markdown(table)}\n\n"
             f"Computed by `python -m lth_utils compare --profile {args.profile}` from `{args.store}` "
             f"({comparison.trials_note(*inputs[:3])}"
             + (f"; notebook 06's regression IMP: {regression['seed'].nunique()} seeds, `{double_descent.PACKED}`"
                if regression is not None else "") + f"). {comparison.multiplicity(table)}")
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


def run_imp(args) -> int:
    """`imp`: one IMP run from IMPConfig's flags; prints its per-level table."""
    apply_target(args)
    cfg = from_namespace(IMPConfig, args)
    data.fetch(cfg.dataset, cfg.data_root)
    from .execution.engine import run  # imported late: pandas/tqdm are not needed for fetch-data or --help
    summary = run([cfg], progress=not args.quiet, scheduler=args.scheduler)[cfg]
    print(f"\n{cfg.arm} run {cfg.prefix}-{cfg.hash} ({cfg.trials} trial(s), {cfg.num_levels} level(s)):")
    print(summary_table(summary))
    print(f"\nstored in {cfg.out}/{cfg.prefix}-{cfg.hash}/ (summary.csv, config.json, trial_*/level_*/)")
    return 0


def run_fetch(args) -> int:
    folder = data.fetch(args.dataset.replace("-", "_"), args.data_root)
    print(f"{args.dataset}: verified files in {folder}")
    return 0


def run_notebooks(args) -> int:
    from .course import sweep
    from .course.notebook import execute
    # a value is a Python literal where it is one (--set densities "[0.2, 0.036]", --set trials 2), as in `sweep`
    parameters = {name: sweep.parse_value(value) for name, value in args.set}
    timings = execute(args.profile, args.output_dir, parameters, args.only, jobs=args.jobs)
    print("\n".join(f"{name:45s} {minutes:6.1f} min" for name, minutes in timings))
    return 0


# ------------------------------------------------------------------------------------- the parsers, one per command
def _flag(name: str, **kwargs) -> argparse.ArgumentParser:
    """A parent parser holding one flag that several commands share."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(name, **kwargs)
    return parent


QUIET = _flag("--quiet", action="store_true", help="no progress bar")
SCHEDULER = _flag("--scheduler", default=None, help="run on this Dask scheduler (default: $DASK_SCHEDULER_ADDRESS; "
                                                    "neither: local workers)")
README = _flag("--readme", default=None, help="write the table into this README's block for it")


def _settings(what: str) -> argparse.ArgumentParser:
    return _flag("--set", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                 help=f"{what} (repeatable)")


def _profile(help_text: str) -> argparse.ArgumentParser:
    return _flag("--profile", default="handouts", help=help_text)


HANDOUT_PROFILES = "handouts (default: each notebook in its handout's profile), smoke, quick, standard or paper"


def add_fetch(parser) -> None:
    parser.add_argument("dataset", choices=[d.replace("_", "-") for d in data.DATASETS])
    parser.add_argument("--data-root", default="data")


def add_imp(parser) -> None:
    add_arguments(parser, IMPConfig)
    parser.add_argument("--target-sparsity", default=None, metavar="S", help="with --rounds N: the rate at which the "
                        "whole network reaches sparsity S in N levels, the output layer at --output-rate (default: "
                        "half the rate) (instead of --rate)")
    parser.add_argument("--rounds", default=None, metavar="N", help="pruning rounds (the same as --levels)")


def add_train(parser) -> None:
    parser.add_argument("--only", nargs="*", default=None,
                        help="notebooks in priority order (default: what readers need first, "
                             "experiments.train_order())")


def add_export(parser) -> None:
    parser.add_argument("--profile", default=None, help="standard, paper, quick or smoke: export its run store (runs, "
                        "or results/paper/runs) to results/<profile>/store")
    parser.add_argument("--out", default=None, help="the run store to export (default: the profile's, else runs)")
    parser.add_argument("--to", default=None, help="folder for the compact form (default: results/<profile>/store)")
    parser.add_argument("--runs", nargs="*", default=None, help="run folder names (default: every run)")


def add_import(parser) -> None:
    parser.add_argument("--from", dest="source", default=None,
                        help="the compact form, e.g. results/paper/store (default: the profile's committed results)")
    parser.add_argument("--out", default=None, help="the run store to write into (default: the profile's, runs or "
                                                    "results/paper/runs)")


def add_verify(parser) -> None:
    parser.add_argument("--out", default="runs", help="the run store trained here (default: runs)")
    parser.add_argument("--against", default="results/standard/store", help="the compact store to compare with")


def add_retrain_weights(parser) -> None:
    parser.add_argument("--out", default="runs", help="the run store (default: runs)")
    parser.add_argument("--against", default=None, help="the compact store it was imported from, to check the "
                                                         "weights' digests too")
    parser.add_argument("--data-root", default="data", help="the datasets (default: data)")
    parser.add_argument("--here", action="store_true", help="where this CPU model's bits differ from the stored "
                        "ones, keep the retrained weights as stand-ins beside the stored result (weights_retrained.pt "
                        "and retrained.json) instead of stopping")
    parser.add_argument("--workers", type=int, default=1, help="levels trained at once (default: 1)")


def add_compare(parser) -> None:
    parser.add_argument("--store", default="results/paper/store", help="the compact store to read")


def add_costs(parser) -> None:
    parser.add_argument("--dir", default="notebooks", help="the executed notebooks (default: notebooks, the handouts)")


def add_verdicts(parser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    take = actions.add_parser("extract", help="write the verdict lines of executed notebooks as JSON")
    take.add_argument("--dir", default="notebooks", help="the executed notebooks (default: notebooks)")
    take.add_argument("--to", required=True, help="the JSON file, e.g. results/cross_machine/amd_epyc.json")
    take.add_argument("--machine", default=None, help="the machine that executed them (default: this CPU)")
    take.add_argument("--commit", default=None, help="the code they were executed with (default: this checkout's)")
    both = actions.add_parser("compare", help="compare two machines' verdict lines", parents=[README])
    both.add_argument("a", help="verdict lines of machine A (JSON)")
    both.add_argument("b", help="verdict lines of machine B (JSON)")


def add_notebooks(parser) -> None:
    parser.add_argument("--output-dir", default=None,
                        help="where the executed notebooks go (default: notebooks/ for the handouts, "
                             "build/notebooks/<profile> for a profile: never over the handouts)")
    parser.add_argument("--only", nargs="*", default=None, help="notebook name prefixes, e.g. 01 02")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks run at once, each in its own kernel (default "
                        "1; notebooks sharing a store wait for each other's levels instead of training them twice)")


def add_key(parser) -> None:
    parser.add_argument("--only", nargs="*", default=None, help="notebook name prefixes, e.g. 02 03 (default: all)")
    parser.add_argument("--output-dir", default="build/key", help="where the key goes: <dir>/<profile>/<notebook>.md "
                                                                   "and the executed notebooks (default: build/key)")


def key_command(args) -> int:
    from .course import exercises, sweep
    parameters = {name: sweep.parse_value(value) for name, value in args.set}
    written, failures = exercises.key(args.only, args.profile, args.output_dir, parameters)
    print("\n".join(map(str, written)))
    if failures:
        print(f"{len(failures)} run(s) failed, each marked in its key: {'; '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


def add_sweep(parser) -> None:
    parser.add_argument("--notebooks", nargs="+", required=True, help="notebook name prefixes, e.g. 02 03")
    parser.add_argument("--grid", nargs="+", action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a parameter and its values, e.g. --grid seed 0 1 2 (repeatable: the grid is the product)")
    parser.add_argument("--output-dir", required=True, help="where the points' notebooks, figures, runs and tables go")
    parser.add_argument("--workers", type=int, default=0, help="local points run at once (0: one per core)")


# name: (help, adds its own flags, runs it, shared flags)
COMMANDS = {
    "fetch-data": ("download/convert a dataset and verify its checksums", add_fetch, run_fetch, []),
    "imp": ("run iterative magnitude pruning (resumes; reads stored results)", add_imp, run_imp, [QUIET, SCHEDULER]),
    "train": ("train (or resume) every IMP run that notebooks read, without the notebooks: for long profiles, in the "
              "background", add_train, train_ahead,
              [_profile(HANDOUT_PROFILES), _settings("an IMPConfig field for every run, e.g. --set out "
                                                     "results/paper/runs"), QUIET, SCHEDULER]),
    "export": ("write a run store's compact, committable form", add_export, run_export, []),
    "import": ("materialise a compact store into a run store (then notebooks read it and runs resume from it)",
               add_import, run_import, [_profile("without --from: import results/<profile>/store for this profile "
                                                 "(default: handouts, the stores of every profile the handouts "
                                                 "read)")]),
    "verify": ("compare the levels a run store trained with committed results: identical bits, or how far they "
               "differ", add_verify, run_verify, []),
    "retrain-weights": ("train again the levels whose trained weights a notebook reads but an imported store lacks "
                        "(checked to the bit)", add_retrain_weights, run_retrain_weights, []),
    "protocols": ("the protocol of each handout and its committed paper-scale levels, as the README's table",
                  lambda parser: None, protocols_command, [README]),
    "compare": ("the side-by-side table with the paper, from committed results", add_compare, compare_command,
                [_flag("--profile", default="paper", help="the profile whose runs to compare (default: paper)"),
                 README]),
    "costs": ("what each executed notebook took, from its provenance record", add_costs, costs_command, [README]),
    "verdicts": ("the notebooks' verdict lines on two machines, compared", add_verdicts, verdicts_command, []),
    "notebooks": ("run the notebooks headlessly with papermill", add_notebooks, run_notebooks,
                  [_profile(f"{HANDOUT_PROFILES}; the handouts are written over notebooks/"),
                   _settings("a notebook parameter, e.g. --set out /tmp/runs")]),
    "key": ("the instructor key: each exercise's settings executed, and the verdict lines that change against the "
            "notebook's own settings in the same profile", add_key, key_command,
            [_flag("--profile", default="quick", help="the profile to run the exercises in (default: quick; an "
                                                       "exercise that names a profile runs in that one)"),
             _settings("a parameter for every execution, e.g. --set workers 2")]),
    "sweep": ("papermill executions of notebooks over a parameter grid, on a Dask cluster when one is named, else on "
              "local workers", add_sweep, sweep_command,
              [_settings("a parameter for every point, e.g. --set profile smoke"), SCHEDULER]),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m lth_utils", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", required=True)
    for name, (help_text, add, _, shared) in COMMANDS.items():
        add(commands.add_parser(name, help=help_text, parents=shared))
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command][2](args)
    except KeyboardInterrupt:  # the engine has stopped its workers and said what is kept
        return 130
    except (ConfigError, data.DataError, ProvenanceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportMismatch as exc:  # a damaged or incompatible compact store: what, where, and what to do
        print(f"error: cannot import {getattr(args, 'source', '') or 'the compact store'}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
