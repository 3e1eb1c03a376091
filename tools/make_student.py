"""Builds the student edition of the course: the lessons without the answers to their exercises.

`make student` runs it (`STUDENT_OUTPUTS=clear make student` to clear the outputs). The edition is
one folder, student/ by default, holding a copy of every lesson (notebooks/NN_*.ipynb) and
nothing of notebooks/solutions/. In the copies:

- every reference to the answers, the line "Answers: `notebooks/solutions/NN_solutions.ipynb`."
  under a lesson's exercises (or a Markdown link into solutions/), becomes "Your teacher has the
  answers.";
- cells tagged `solution` are left out: an author may tag a cell that answers an exercise (no
  lesson has one now; the exercise cells hold working defaults marked "# change me");
- outputs and execution counts are kept exactly as stored (--outputs keep) or cleared
  (--outputs clear); everything else is copied as it is.

Before it writes anything it checks the result and stops with an error naming the notebook and
cell if a mention of the solutions is left (a new way of writing the reference: rephrase it, or
teach ANSWER_REFERENCE below) or a relative link points to a file the edition lacks. Each run
rebuilds the folder from scratch; it replaces only a folder that it built itself (the marker file
.student-edition), never another.

The lessons need nothing else in the folder: they import fedlab from the course's environment,
which reads data/ from the repository. Notebook 07 reads its example folder as
../data/hospitals, relative to itself: it works from student/, as from notebooks/, because both
sit next to data/; the script warns when an edition is built where such a path does not resolve.

Usage: python tools/make_student.py [--outputs keep|clear] [--out student] [--lessons notebooks]
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import unquote

import nbformat

import course

ROOT = Path(__file__).resolve().parent.parent
MARKER = ".student-edition"
NO_ANSWERS = "Your teacher has the answers."
SOLUTION_TAG = "solution"
OUTPUT_CHOICES = ("keep", "clear")

# "Answers: `notebooks/solutions/03_solutions.ipynb`." or
# "Answers: [...](solutions/03_solutions.ipynb)."
ANSWER_REFERENCE = re.compile(
    r"Answers?:\s*(?:`[^`\n]*solutions/[^`\n]*`|\[[^\]\n]*\]\([^)\n]*solutions/[^)\n]*\))\.?")
# Any other Markdown link into the solutions: keep its text, drop the link.
SOLUTION_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*solutions/[^)\n]*\)")
MENTION = re.compile(r"solution", re.IGNORECASE)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
                  r"|(?:href|src)\s*=\s*[\"']([^\"']+)[\"']")


class EditionError(Exception):
    """The lessons cannot be turned into a clean student edition; the message says why."""


def lesson_paths(lessons: Path) -> list[Path]:
    """The lessons: notebooks named NN_*.ipynb directly in `lessons` (not in solutions/)."""
    paths = course.lessons(lessons)
    if not paths:
        raise EditionError(f"no lessons (NN_*.ipynb) found in {lessons}")
    return paths


def relative_links(markdown: str) -> list[str]:
    """Targets of the Markdown and HTML links in `markdown` that are paths relative to the
    notebook."""
    targets = []
    for match in LINK.finditer(markdown):
        target = match.group(1) or match.group(2)
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", target) or target.startswith(("#", "/")):
            continue  # a URL (https:, mailto:, attachment:), an anchor or an absolute path
        targets.append(unquote(target.split("#", 1)[0]))
    return [t for t in targets if t]


def parent_paths(code: str) -> list[str]:
    """String literals in a code cell that name a path outside the notebook's folder ("../...")."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # IPython magics and the like: nothing to check
        return []
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value.startswith("../")]


def student_copy(path: Path, outputs: str) -> tuple[nbformat.NotebookNode, dict]:
    """The student version of one lesson, and what was changed:
    {'references': n, 'stripped': n}."""
    nb = nbformat.read(path, as_version=4)
    kept, stripped, references = [], 0, 0
    for cell in nb.cells:
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            stripped += 1
            continue
        if cell.cell_type == "markdown":
            cell.source, n = ANSWER_REFERENCE.subn(NO_ANSWERS, cell.source)
            cell.source, m = SOLUTION_LINK.subn(r"\1", cell.source)
            references += n + m
        if cell.cell_type == "code" and outputs == "clear":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        kept.append(cell)
    nb.cells = kept
    return nb, {"references": references, "stripped": stripped}


def check(name: str, nb: nbformat.NotebookNode, names: set[str]) -> None:
    """Stops if the copy still mentions the solutions or links to a file the edition lacks."""
    if MENTION.search(str(nb.metadata)):
        raise EditionError(f"{name}: the notebook's metadata mentions the solutions")
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index} ({cell.cell_type})"
        for part in (cell.source, str(cell.get("outputs", "")), str(cell.get("attachments", ""))):
            match = MENTION.search(part)
            if match:
                line = part[part.rfind("\n", 0, match.start()) + 1:].split("\n", 1)[0]
                raise EditionError(
                    f"{where} still mentions the solutions after the known references were "
                    f"replaced; write it as "
                    f"\"Answers: `notebooks/solutions/NN_solutions.ipynb`.\" "
                    f"or extend ANSWER_REFERENCE in tools/make_student.py: {line.strip()!r}")
        if cell.cell_type == "markdown":
            for target in relative_links(cell.source):
                if os.path.normpath(target) not in names:
                    raise EditionError(f"{where} links to {target}, which the student edition "
                                       f"does not contain")


def prepare_folder(out: Path) -> None:
    """Empties `out` for a new edition; refuses a folder that this script did not build."""
    if out.exists():
        if not out.is_dir():
            raise EditionError(
                f"{out} exists and is not a folder; remove it or choose another --out")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise EditionError(f"refusing to replace {out}: it is not empty and holds no {MARKER} "
                               f"file, so it is not an edition that this script built; remove it "
                               f"or choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("Built by tools/make_student.py; it is rebuilt from scratch on "
                              "every run.\n")


def build(out: Path, outputs: str, lessons: Path = ROOT / "notebooks") -> list[str]:
    """Writes the student edition into `out`; returns the warnings (paths that do not resolve)."""
    if outputs not in OUTPUT_CHOICES:
        raise EditionError(f"STUDENT_OUTPUTS (--outputs) must be keep or clear, not {outputs!r}")
    paths = lesson_paths(lessons)
    names = {p.name for p in paths}
    copies = {}
    for path in paths:
        nb, changes = student_copy(path, outputs)
        check(path.name, nb, names)
        nbformat.validate(nb)
        copies[path.name] = (nb, changes)
    prepare_folder(out)
    warnings = []
    for name, (nb, _) in copies.items():
        nbformat.write(nb, out / name)
        for cell in nb.cells:
            if cell.cell_type == "code":
                for target in parent_paths(cell.source):
                    if not (out / target).exists():
                        warnings.append(f"{name} reads {target}, which does not exist next to "
                                        f"{out}; build the edition next to the repository's "
                                        f"data/ folder (student/ is) for it to run")
    references = sum(c["references"] for _, c in copies.values())
    stripped = sum(c["stripped"] for _, c in copies.values())
    print(f"{out}: {len(copies)} lessons, outputs {'kept' if outputs == 'keep' else 'cleared'}; "
          f"{references} references to the answers replaced, {stripped} answer cells left out.")
    return warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outputs", default="keep", help="keep (default) or clear")
    parser.add_argument("--out", type=Path, default=ROOT / "student",
                        help="the edition's folder, rebuilt from scratch (default: student/)")
    parser.add_argument("--lessons", type=Path, default=ROOT / "notebooks",
                        help="the folder of the lessons (default: notebooks/)")
    args = parser.parse_args(argv)
    try:
        warnings = build(args.out, args.outputs, args.lessons)
    except EditionError as error:
        print(f"make_student: {error}.", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"make_student: warning: {warning}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
