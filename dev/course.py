"""The course cells of every notebook: learning objectives after the title, a "running this notebook" note after the
parameters, exercises and references before the provenance. Idempotent: each cell carries metadata
{"course": <kind>} and is replaced, not duplicated, when this runs again.

    python dev/course.py                # rewrites notebooks/*.ipynb in place (sources only; outputs are kept)

Run it after dev/makeNN.py regenerates a notebook, then execute the notebook (python -m lth_utils notebooks).
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from lth_utils.plan import PLANNED

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
GLOSSARY = "[glossary](glossary.md)"

ARXIV = {
    "lth": "Frankle & Carbin 2019, The lottery ticket hypothesis: finding sparse, trainable neural networks, "
           "[arXiv:1803.03635](https://arxiv.org/abs/1803.03635)",
    "stabilizing": "Frankle, Dziugaite, Roy & Carbin 2019, Stabilizing the lottery ticket hypothesis, "
                   "[arXiv:1903.01611](https://arxiv.org/abs/1903.01611)",
    "lmc": "Frankle, Dziugaite, Roy & Carbin 2020, Linear mode connectivity and the lottery ticket hypothesis, "
           "[arXiv:1912.05671](https://arxiv.org/abs/1912.05671)",
    "han": "Han, Pool, Tran & Dally 2015, Learning both weights and connections for efficient neural networks, "
           "[arXiv:1506.02626](https://arxiv.org/abs/1506.02626)",
    "liu": "Liu, Sun, Zhou, Huang & Darrell 2019, Rethinking the value of network pruning, "
           "[arXiv:1810.05270](https://arxiv.org/abs/1810.05270)",
    "zhou": "Zhou, Lan, Liu & Yosinski 2019, Deconstructing lottery tickets: zeros, signs, and the supermask, "
            "[arXiv:1905.01067](https://arxiv.org/abs/1905.01067)",
    "renda": "Renda, Frankle & Carbin 2020, Comparing rewinding and fine-tuning in neural network pruning, "
             "[arXiv:2003.02389](https://arxiv.org/abs/2003.02389)",
    "belkin": "Belkin, Hsu, Ma & Mandal 2019, Reconciling modern machine learning practice and the bias-variance "
              "trade-off, [arXiv:1812.11118](https://arxiv.org/abs/1812.11118)",
    "nakkiran": "Nakkiran, Kaplun, Bansal, Yang, Barak & Sutskever 2019, Deep double descent, "
                "[arXiv:1912.02292](https://arxiv.org/abs/1912.02292)",
    "missing": "Frankle, Dziugaite, Roy & Carbin 2021, Pruning neural networks at initialization: why are we missing "
               "the mark?, [arXiv:2009.08576](https://arxiv.org/abs/2009.08576)",
}

# number: (objectives, prerequisites, what it reuses, exercises or None when the notebook has its own, references
# or None when it has its own)
COURSE = {
    "00": (["find a winning ticket for a model you define yourself, with your own training function",
            "read a ticket: its mask, rewind weights, sparsity per round and compression ratio",
            "compare it with its two controls (random reinitialisation, random pruning) in one call"],
           "Python and PyTorch; no earlier notebook.",
           "Nothing: its tickets are saved under `out/quickstart/`, and a rerun reads them.", None, None),
    "01": (["prune a trained network once (one-shot) and measure what is lost with and without retraining",
            "tell apart the mask and the initialisation: the same mask retrained from the original versus a fresh "
            "initialisation",
            "read accuracy against % remaining and a learning curve before and after pruning"],
           "PyTorch training loops; the " + GLOSSARY + " (level, arm, rewind, % remaining).",
           "The dense level of notebook 02's IMP run; it trains its one-shot runs (one level each) if they are "
           "not stored.",
           ["Set `trials=5`: do the ticket-minus-reinit gaps keep their sign at every rate? What did 3 trials hide?",
            "Which rate is the last where the one-shot ticket is within 0.5 pp of dense? Compare it with the "
            "iterative tickets of notebook 02 at the same % remaining.",
            "The no-retraining arm evaluates the trained weights after pruning. Why does it collapse long before "
            "the retrained arms? (Think about what the pruned weights contributed to each neuron's input.)"],
           ["lth", "han", "liu"]),
    "02": (["run iterative magnitude pruning (IMP) with rewinding to iteration 0, level by level",
            "read the paper's two headline measures: test accuracy and the early-stopping iteration against "
            "% remaining",
            "check whether an early-stopping result is censored by the end of training"],
           "Notebook 01 and the " + GLOSSARY + ".",
           "Nothing earlier; notebooks 01, 03, 05, 07, 08, 10 and 11 read its IMP run.",
           ["Prune faster: `rate=0.5` (and `levels=6` to reach a similar density). Are the tickets as good at "
            "equal % remaining? (Notebook 03 compares one-shot with iterative pruning.)",
            "Set `trials=1` and rerun: which statements under 'What the runs show' change? That is what one trial "
            "hides.",
            "Set `iterations=5000`: how many runs are now censored, and how does the dense network's accuracy "
            "move?"],
           ["lth", "han"]),
    "03": (["test whether a winning ticket's advantage comes from its mask, its initialisation, or both",
            "compute paired differences with t-intervals, and read them level by level",
            "compare one-shot with iterative pruning at exactly matched per-layer densities",
            "set our numbers side by side with the paper's and say where they disagree"],
           "Notebook 02 and the " + GLOSSARY + " (arm, trial, pp, paired differences).",
           "Notebook 02's IMP run; it trains the two controls (at the profile's control levels) and the one-shot "
           "comparisons if they are not stored.",
           ["With `trials=3`, how many of the ticket-minus-reinit intervals still exclude 0?",
            "Random pruning keeps the initial values but changes the mask; reinitialisation keeps the mask but "
            "changes the values. Which control falls behind first as the network gets sparser, and what does that "
            "say about which part of the ticket matters at which density?",
            "The ES667 proposal expected a 10-15 pp gap between tickets and reinitialisation. Find the largest gap "
            "in the table and its interval: at which density would the gap have to be measured for such a claim?"],
           ["lth", "liu", "zhou"]),
    "04": (["rewind a ticket to an iteration k after initialisation (late rewinding) and compare with k = 0 and "
            "fine-tuning",
            "measure instability: the error barrier between two copies trained from the same point with different "
            "data orders",
            "read a barrier per pair of copies, with the training and the test error along the path"],
           "Notebooks 02 and 03 and the " + GLOSSARY + " (rewind, error barrier).",
           "k = 0 is notebook 02's IMP run; it trains the other rewind points, fine-tuning and the instability "
           "copies if they are not stored.",
           ["Set `rewind_points=[500]` (k = 500): does a later rewind point help at the sparsest level here?",
            "Set `trials=5`: which paired differences against k = 0 keep their interval away from 0?",
            "Why can the average of two trained copies be *better* than both (a negative midpoint excess)? Relate "
            "it to weight averaging and to the two copies sharing a basin."],
           ["lth", "stabilizing", "lmc", "renda"]),
    "05": (["look inside the masks IMP finds: which input pixels keep their connections, how each layer is pruned",
            "ask whether a weight's initial value predicts whether it survives",
            "measure how much the masks of different trials, and of one-shot and iterative pruning, overlap"],
           "Notebooks 02 and 03 and the " + GLOSSARY + ".",
           "Notebooks 02 and 03's runs; it trains them first (minutes) if they are missing.",
           ["Change `trials` and check whether the initial-magnitude AUC holds in every trial.",
            "Look at the connectivity map of the sparsest level: where do the surviving connections sit, and why "
            "would the border pixels of MNIST lose theirs first?",
            "Masks of different trials overlap no more than random masks do. Does that mean IMP masks are "
            "random? (Hint: each trial starts from another initialisation.)"],
           ["lth", "zhou"]),
    "06": (["see double descent: test loss against model width through the interpolation threshold",
            "separate a result from seed noise: a second descent counts only beyond the seeds' spread",
            "prune a wide regression network with IMP and compare it with narrower dense networks"],
           "Notebook 02 and the " + GLOSSARY + " (IMP, level).",
           "Nothing from the other notebooks: it trains small regression networks (stored, so a rerun reads them).",
           ["Set `seed=1`: which verdicts (U shape, peak, second descent) stay?",
            "Set `trials=5` (five seeds): do the bands of the tanh curve still overlap the peak?",
            "Where is the interpolation threshold for a network with twice as many training points? Predict, "
            "then check in `lth_utils/double_descent.py`."],
           ["belkin", "nakkiran", "lth"]),
    "07": (["prune at initialisation with SNIP, GraSP, SynFlow and magnitude, and train each mask like a ticket",
            "run the sanity checks of Frankle et al. (2021): shuffle, reinitialise, invert",
            "read the gradient flow a mask leaves at initialisation"],
           "Notebooks 02 and 03 and the " + GLOSSARY + ".",
           "Notebook 02's ticket and notebook 03's random pruning; it trains the methods' masks if they are not "
           "stored.",
           ["Set `methods=[\"snip\"]` and `densities=[0.036]`: how far is SNIP from the ticket at 3.6% remaining?",
            "If shuffling a method's mask within each layer does not hurt, what did the method really choose?",
            "SynFlow needs no data. Which of its properties do the per-layer densities show?"],
           None),
    "08": (["compare mask criteria (large final, magnitude increase, movement) for IMP",
            "test what the ticket keeps when it rewinds: the signs, the magnitudes, or both",
            "learn a supermask over frozen weights: how accurate is a network whose weights are never trained?"],
           "Notebooks 02 and 03 and the " + GLOSSARY + ".",
           "Notebook 02's ticket and notebook 03's controls; it trains the other criteria, the sign ablations and "
           "the supermasks if they are not stored.", None, None),
    "09": (["run IMP with rewinding on a convolutional network (LeNet-5) with the paper's rates for conv layers",
            "compare its tickets with random reinitialisation, random pruning, late rewinding and LeNet-300-100",
            "read how convolutional and fully connected layers are pruned, and which first-layer weights survive"],
           "Notebooks 02-04 and the " + GLOSSARY + ".",
           "LeNet-300-100's ticket from notebook 02; it trains the LeNet-5 runs if they are not stored.", None, None),
    "10": (["retrain a ticket found on one dataset on another (MNIST and Fashion-MNIST, both directions)",
            "compare it, paired by seed, with the target's own ticket, random pruning and reinitialisation"],
           "Notebooks 02 and 03 and the " + GLOSSARY + ".",
           "The MNIST runs of notebooks 02 and 03; it trains the Fashion-MNIST runs and the transfers if they are "
           "not stored.", None, None),
    "11": (["draw 1D and 2D slices of the loss landscape around a ticket and its controls (filter-normalised "
            "directions)",
            "measure sharpness, and the linear path between a ticket and its dense parent",
            "say what such pictures do and do not show"],
           "Notebooks 02-04 and the " + GLOSSARY + " (error barrier).",
           "Notebook 02's ticket and notebook 03's controls at the slice densities (trained first if missing).",
           None, None),
}


def _cell(kind: str, source: str):
    cell = nbformat.v4.new_markdown_cell(source.strip())
    cell.metadata["course"] = kind
    cell.id = f"course-{kind}"  # stable, so rerunning this script changes nothing
    return cell


def _bullets(items) -> str:
    return "\n".join(f"- {item}" for item in items)


def objectives(number: str) -> str:
    goals, before, _, _, _ = COURSE[number]
    return (f"**You will** {goals[0]}" + "".join(f"; {g}" for g in goals[1:-1])
            + (f"; and {goals[-1]}." if len(goals) > 1 else ".")
            + f"\n\n**Before you start:** {before}")


def running(number: str) -> str:
    _, _, reuses, _, _ = COURSE[number]
    paper = ("and, run in `smoke` or `standard`, what the `paper` profile's IMP runs of this notebook would take at the "
             "time per iteration those levels took (a projection; the paper runs of 01, 02, 03 and 05 were trained, "
             "and the README compares their records with it)" if number in PLANNED else
             "(no projection: this notebook's runs are trained by the notebook itself, and its `paper` settings have not "
             "been run)")
    return ("### Running this notebook\n\n"
            f"{reuses} Trained levels are saved in the run store (`out`), so a second run reads them. The last cell "
            "(Provenance) reports what this execution cost on its machine: the minutes it took, how many levels "
            "it trained and how many it read, what training all of them from an empty store takes by their "
            f"records, {paper}. The README's notebook table gives those numbers for the committed `standard` "
            "handouts; `smoke` takes seconds (CI). A setting other than the handouts' own writes its figures to "
            "`../build/figures/`, never over the committed ones.")


def exercises(number: str) -> str:
    items = COURSE[number][3]
    return "## Exercises\n\n" + "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))


def references(number: str) -> str:
    return "## References\n\n" + _bullets(ARXIV[key] for key in COURSE[number][4])


def _index(cells, predicate) -> int | None:
    return next((i for i, c in enumerate(cells) if predicate(c)), None)


def add_course_cells(path: Path) -> None:
    number = path.name[:2]
    if number not in COURSE:
        return
    nb = nbformat.read(str(path), as_version=4)
    cells = [c for c in nb.cells if "course" not in c.metadata]
    parameters = _index(cells, lambda c: "parameters" in c.metadata.get("tags", []))
    cells.insert(1, _cell("objectives", objectives(number)))
    # after the markdown cell that explains the parameters cell
    cells.insert(parameters + 3, _cell("running", running(number)))
    provenance = _index(cells, lambda c: c.cell_type == "markdown" and c.source.strip().startswith(
        ("## References", "## Provenance")))
    tail = []
    if COURSE[number][3]:
        tail.append(_cell("exercises", exercises(number)))
    if COURSE[number][4]:
        tail.append(_cell("references", references(number)))
    at = provenance if provenance is not None else len(cells)
    cells[at:at] = tail
    nb.cells = cells
    nbformat.write(nb, str(path))


def main() -> None:
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        add_course_cells(path)
        print(f"course cells: {path.name}")


if __name__ == "__main__":
    main()
