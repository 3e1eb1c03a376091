"""The student edition (`make student`, tools/make_student.py): the lessons without the answers.

Each edition is built in a temporary folder laid out as in the repository: the edition's folder
next to data/ (a link to the repository's), so that notebook 07's ../data/hospitals resolves as
it does from student/. The cleared edition is then run top to bottom, notebook by notebook.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import course
import execute
import minutes
from notebook_checks import ROOT

TOOL = ROOT / "tools" / "make_student.py"
LESSONS = course.lessons()
# The lesson with the shortest measured run time (tools/minutes.py): the one run here.
QUICKEST = min(minutes.RUN_SECONDS, key=minutes.RUN_SECONDS.get)
NO_ANSWERS = "Your teacher has the answers."
SOLUTION_TAG = "solution"
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)|(?:href|src)\s*=\s*[\"']([^\"']+)[\"']")


def _ids(paths):
    return [p.name[:2] for p in paths]


def _run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True,
                          timeout=300)


def _build(base: Path, outputs: str) -> Path:
    base.mkdir(parents=True)
    (base / "data").symlink_to(ROOT / "data")
    out = base / "student"
    result = _run_tool("--outputs", outputs, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", f"the build warned:\n{result.stderr}"
    return out


@pytest.fixture(scope="module")
def editions(tmp_path_factory) -> dict[str, Path]:
    """{'keep': edition with the outputs kept, 'clear': edition with the outputs cleared}."""
    base = tmp_path_factory.mktemp("editions")
    return {outputs: _build(base / outputs, outputs) for outputs in ("keep", "clear")}


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _lesson_cells(path: Path) -> list[dict]:
    """The lesson's cells that the edition keeps: all but those tagged as answers."""
    return [c for c in _cells(path) if SOLUTION_TAG not in c.get("metadata", {}).get("tags", [])]


def test_there_are_lessons():
    # Every lesson, numbered from 00 without a gap (tests/test_lesson_list.py checks the pages
    # that list them).
    assert [p.name[:2] for p in LESSONS] == [f"{n:02d}" for n in range(len(LESSONS))]
    assert len(LESSONS) >= 2


@pytest.mark.parametrize("outputs", ["keep", "clear"])
def test_the_edition_holds_the_lessons_and_no_answers(editions, outputs):
    out = editions[outputs]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".student-edition"] + [p.name for p in LESSONS])
    assert not (out / "solutions").exists()
    for path in sorted(out.glob("*.ipynb")):
        text = path.read_text()
        assert not re.search(r"solution", text, re.IGNORECASE), \
            f"{path.name} mentions the solutions"
        exercises = [_source(c) for c in _cells(path) if "## Exercises" in _source(c)]
        assert len(exercises) == 1 and NO_ANSWERS in exercises[0], path.name


@pytest.mark.parametrize("outputs", ["keep", "clear"])
def test_every_relative_link_resolves_inside_the_edition(editions, outputs):
    out = editions[outputs].resolve()
    for path in sorted(out.glob("*.ipynb")):
        for cell in _cells(path):
            if cell["cell_type"] != "markdown":
                continue
            for match in LINK.finditer(_source(cell)):
                target = (match.group(1) or match.group(2)).split("#", 1)[0]
                if not target or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", target):
                    continue  # an anchor or a URL
                resolved = (path.parent / target).resolve()
                assert resolved.is_relative_to(out) and resolved.exists(), (
                    f"{path.name} links to {target}, which is not in the edition")


@pytest.mark.parametrize("outputs", ["keep", "clear"])
@pytest.mark.parametrize("lesson", LESSONS, ids=_ids(LESSONS))
def test_same_cells_as_the_lesson(editions, outputs, lesson):
    """Every cell but the tagged answers, in order; code as in the lesson, the exercises' default
    cells included; outputs and execution counts exactly as stored, or cleared."""
    copy = _cells(editions[outputs] / lesson.name)
    original = _lesson_cells(lesson)
    assert [c["cell_type"] for c in copy] == [c["cell_type"] for c in original]
    defaults = 0
    for ours, theirs in zip(copy, original):
        assert ours.get("metadata") == theirs.get("metadata")
        if ours["cell_type"] != "code":
            continue
        assert _source(ours) == _source(theirs)
        defaults += "# change me" in _source(ours)
        if outputs == "keep":
            assert ours["outputs"] == theirs["outputs"]
            assert ours["execution_count"] == theirs["execution_count"]
        else:
            assert ours["outputs"] == [] and ours["execution_count"] is None
    assert defaults >= 2, "the exercises' cells with working defaults ('# change me') are missing"


def test_only_the_reference_to_the_answers_changes(editions):
    """The kept edition is the lesson file itself but for the line that named the answers."""
    for lesson in LESSONS:
        ours = (editions["keep"] / lesson.name).read_text().splitlines()
        theirs = lesson.read_text().splitlines()
        changed = [(a, b) for a, b in zip(theirs, ours) if a != b]
        assert len(ours) == len(theirs) and len(changed) == 1, lesson.name
        assert "solutions/" in changed[0][0] and NO_ANSWERS in changed[0][1]


def test_a_wrong_outputs_value_is_refused_in_one_sentence(tmp_path):
    result = _run_tool("--outputs", "strip", "--out", str(tmp_path / "student"))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "make_student: STUDENT_OUTPUTS (--outputs) must be keep or clear, not 'strip'."]
    assert not (tmp_path / "student").exists()


def test_a_folder_it_did_not_build_is_not_replaced(tmp_path):
    keep = tmp_path / "student" / "notes.txt"
    keep.parent.mkdir()
    keep.write_text("mine")
    result = _run_tool("--out", str(keep.parent))
    assert result.returncode != 0 and "refusing to replace" in result.stderr
    assert keep.read_text() == "mine"


def test_make_student_passes_the_outputs_choice(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "requirements.lock", tmp_path / "requirements.lock")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / ".installed").touch()  # an environment that is up to date
    dry_run = subprocess.run(["make", "--no-print-directory", "-n", "student",
                              "STUDENT_OUTPUTS=clear"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert dry_run.stdout.strip() == (
        '.venv/bin/python tools/make_student.py --outputs "clear" --out student')


def test_the_lesson_run_is_a_lesson():
    assert QUICKEST in [p.name[:2] for p in LESSONS]


@pytest.mark.slow
def test_the_quickest_lesson_of_the_cleared_edition_runs_top_to_bottom(editions):
    """In a fresh kernel started in the edition's folder; a cell tagged raises-exception may
    raise, any other error fails with the cell's traceback. notebooks/ is left alone."""
    lesson = next(p for p in LESSONS if p.name.startswith(f"{QUICKEST}_"))
    before = hashlib.sha256(lesson.read_bytes()).hexdigest()
    path = editions["clear"] / lesson.name
    execute.execute(path)  # writes the outputs into the temporary edition
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    assert code and all(c["execution_count"] is not None for c in code), "not every cell ran"
    for cell in code:
        if "raises-exception" not in cell["metadata"].get("tags", []):
            assert not [o for o in cell["outputs"] if o["output_type"] == "error"], _source(cell)
    assert hashlib.sha256(lesson.read_bytes()).hexdigest() == before, (
        f"running the edition changed {lesson.relative_to(ROOT)}")
