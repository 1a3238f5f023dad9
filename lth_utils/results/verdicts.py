"""Do the notebooks' conclusions survive another CPU? Their verdict lines, extracted and compared across machines.

Training is not bit-identical across CPU models (an Intel Xeon and an AMD EPYC give other last bits), so a notebook
that trains, or reads runs trained on another machine, prints other numbers. Its conclusions are formatted from
those numbers by code: the wording ("higher", "no difference shown", "holds", "a second descent") is chosen by
rules on the results, and so are its tallies ("1 of 28 differences have an interval above 0"). A verdict line is
one line of a notebook's computed conclusions (its Markdown outputs, less the provenance cell, and the rows of its
HTML tables); two executions *agree* on a line when its words and tallies are the same once every other number is
masked, and *flip* when they differ: then a rule came out the other way on the other machine.

    python -m lth_utils verdicts extract --dir notebooks --to results/cross_machine/intel_xeon.json
    python -m lth_utils verdicts compare results/cross_machine/intel_xeon.json results/cross_machine/amd_epyc.json
"""
from __future__ import annotations

import difflib
import html
import json
import re
from pathlib import Path

NUMBER = re.compile(r"[-+−]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")
PROVENANCE = "Profile `"  # the last cell's record of where and how the notebook ran: not a conclusion
TABLE_ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.S)
CELL = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", re.S)
TAG = re.compile(r"<[^>]+>")
TALLY = re.compile(r"\b\d[\d,]* of \d[\d,]*\b")  # "1 of 28 differences have an interval above 0": a count of verdicts


def masked(line: str) -> str:
    """The line's words with every number replaced by '#': what a rule chose, not what it measured. Tallies of
    verdicts ("3 of 15 levels", "95 of 95 runs") stay: a tally that moves is a rule that came out otherwise."""
    tallies = TALLY.findall(line)
    text = NUMBER.sub("#", TALLY.sub("\0", line))
    for tally in tallies:
        text = text.replace("\0", tally, 1)
    return text


def _markdown_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _table_rows(text: str) -> list[str]:
    rows = []
    for row in TABLE_ROW.findall(text):
        cells = [html.unescape(TAG.sub("", c)).strip() for c in CELL.findall(row)]
        rows.append(" | ".join(cells))
    return rows


def verdict_lines(notebook: str | Path) -> list[str]:
    """The computed conclusions of an executed notebook, one line each, in order (see the module's docstring)."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    lines = []
    for cell in cells:
        for output in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            data = output.get("data", {})
            if "text/markdown" in data:
                text = "".join(data["text/markdown"])
                if not text.startswith(PROVENANCE):
                    lines += _markdown_lines(text)
            elif "text/html" in data:
                lines += _table_rows("".join(data["text/html"]))
    return lines


def extract(folder: str | Path, machine: str, commit: str) -> dict:
    """{machine, commit, notebooks: {name: [verdict lines]}} for every executed notebook NN_*.ipynb of `folder`."""
    notebooks = {p.stem: verdict_lines(p) for p in sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))}
    return {"machine": machine, "commit": commit, "notebooks": notebooks}


def compare(a: dict, b: dict) -> list[dict]:
    """One row per notebook both hold: its verdict lines, how many agree word for word, how many have the same
    words with other numbers, and the lines that flip (or exist on one machine only), as (a's line, b's line)."""
    rows = []
    for name in sorted(set(a["notebooks"]) & set(b["notebooks"])):
        left, right = a["notebooks"][name], b["notebooks"][name]
        matcher = difflib.SequenceMatcher(a=[masked(x) for x in left], b=[masked(x) for x in right], autojunk=False)
        same = numbers = 0
        flips = []
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for x, y in zip(left[i1:i2], right[j1:j2]):
                    same += x == y
                    numbers += x != y
            else:
                olds, news = left[i1:i2], right[j1:j2]
                for k in range(max(len(olds), len(news))):
                    flips.append((olds[k] if k < len(olds) else "", news[k] if k < len(news) else ""))
        rows.append({"notebook": name, "lines": max(len(left), len(right)), "identical": same,
                     "other_numbers": numbers, "flipped": len(flips), "flips": flips})
    return rows


def _short(line: str, words: int = 14) -> str:
    parts = line.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def _changed_words(old: str, new: str) -> str:
    """The words that differ between two verdict lines (numbers masked), as 'old words -> new words'."""
    x, y = masked(old).split(), masked(new).split()
    pieces = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=x, b=y, autojunk=False).get_opcodes():
        if tag != "equal":
            pieces.append(f"\"{' '.join(x[i1:i2])}\" -> \"{' '.join(y[j1:j2])}\"")
    return "; ".join(pieces) or "(the same words)"


def table(a: dict, b: dict, files: tuple[str, str] = ("A", "B")) -> str:
    """The comparison as a Markdown table and a list of every flipped line, for the README (`files`: where the two
    machines' verdict lines were read, named in its last line)."""
    rows = compare(a, b)
    lines = ["| notebook | verdict lines | identical | same words, other numbers | flipped |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['notebook']} | {r['lines']} | {r['identical']} | {r['other_numbers']} | {r['flipped']} |")
    total = {k: sum(r[k] for r in rows) for k in ("lines", "identical", "other_numbers", "flipped")}
    lines.append(f"| all | {total['lines']} | {total['identical']} | {total['other_numbers']} | {total['flipped']} |")
    lines.append("")
    lines.append(f"Machine A: {a['machine']} (code {a['commit'][:10]}); machine B: {b['machine']} "
                 f"(code {b['commit'][:10]}). Computed by `python -m lth_utils verdicts compare {files[0]} "
                 f"{files[1]}`.")
    flipped = [(r["notebook"], old, new) for r in rows for old, new in r["flips"]]
    if flipped:
        lines.append("")
        lines.append("The lines whose words differ (numbers masked):")
        lines.append("")
        for name, old, new in flipped:
            where = _short(old or new)
            lines.append(f"- {name}: {_changed_words(old, new)} (in \"{where}\")")
    return "\n".join(lines)


VERDICTS_START, VERDICTS_END = "<!-- cross-machine verdicts: start -->", "<!-- cross-machine verdicts: end -->"
