"""Notebook hygiene, read from the stored files: what a reader sees must be clean and honest.

nbval (run over notebooks/ by the same pytest command) re-executes each notebook and compares
outputs; these checks cover what nbval does not: the shape of each notebook and its outputs.
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from notebook_checks import (
    REASON_PREFIX,
    ROOT,
    code_cells,
    compared_share,
    course_notebooks,
    is_compared,
    source,
)

NOTEBOOKS = course_notebooks()
LESSONS = [p for p in NOTEBOOKS if p.parent.name == "notebooks"]
MIN_COMPARED_SHARE = 0.8
MAX_STREAM_LINES = 40
MAX_PNG_BYTES = 150_000
MAX_NOTEBOOK_BYTES = 1_500_000


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def test_there_are_notebooks():
    assert [p.name for p in LESSONS][:1] == ["00_can_clients_share_data.ipynb"]


def test_every_notebook_file_is_a_lesson_or_a_solution():
    """tools/course.py finds the notebooks by their names: a notebook named otherwise would escape
    the checks here, the student edition and the book, while nbval still ran it."""
    found = {p for p in (ROOT / "notebooks").rglob("*.ipynb")
             if ".ipynb_checkpoints" not in p.parts}
    assert found == set(NOTEBOOKS), sorted(str(p.relative_to(ROOT))
                                           for p in found ^ set(NOTEBOOKS))
    assert [p.name[:2] for p in LESSONS] == [f"{n:02d}" for n in range(len(LESSONS))]
    assert [p.name[:2] for p in NOTEBOOKS if p.parent.name == "solutions"] == [
        p.name[:2] for p in LESSONS], "one solutions notebook per lesson, named NN_solutions.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_stored_as_run_top_to_bottom_in_a_fresh_kernel(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    counts = [cell["execution_count"] for cell in code_cells(path)]
    assert counts == list(range(1, len(counts) + 1)), \
        "restart the kernel and run all (make execute)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_setup_cell_comes_first(path):
    first = source(code_cells(path)[0])
    assert "runtime.setup(" in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_stored_errors(path):
    # An expected error is caught, printed as `TypeName: message` and asserted in its cell; a
    # stored traceback is a wall of lines under the paths of the machine that ran it.
    for cell in code_cells(path):
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert not errors, f"stored error in:\n{source(cell)}"
        assert "raises-exception" not in _tags(cell), (
            f"catch the expected error, print it in one line and assert it, instead of tagging "
            f"the cell raises-exception:\n{source(cell)}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_outputs_are_short_and_quiet(path):
    for cell in code_cells(path):
        for out in cell["outputs"]:
            if out["output_type"] != "stream":
                continue
            text = "".join(out["text"])
            assert out["name"] == "stdout", \
                f"stderr output (log noise?) in:\n{source(cell)}\n{text}"
            assert len(text.splitlines()) <= MAX_STREAM_LINES, f"long output in:\n{source(cell)}"
            assert not re.search(r"Traceback|WARNING|\d+%\|", text), f"noise in:\n{text}"
        for out in cell["outputs"]:
            png = out.get("data", {}).get("image/png")
            if png:
                assert len(base64.b64decode(png)) <= MAX_PNG_BYTES, "keep figures small"
    assert path.stat().st_size <= MAX_NOTEBOOK_BYTES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_most_outputs_are_compared_and_exceptions_say_why(path):
    compared, total = compared_share(path)
    assert compared / total >= MIN_COMPARED_SHARE, f"only {compared}/{total} cells compared"
    for cell in code_cells(path):
        if not is_compared(cell):
            assert REASON_PREFIX in source(cell), (
                f"a cell that nbval does not compare must say why ('{REASON_PREFIX} ...'):\n"
                f"{source(cell)}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_lesson_asserts_something(path):
    asserts = [c for c in code_cells(path) if re.search(r"^assert ", source(c), re.M)]
    assert asserts, "a notebook states its lesson as assert cells"


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lesson_shape(path):
    nb = json.loads(path.read_text())
    markdown = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    number = path.name[:2]
    assert markdown[0].startswith(f"# {number} · "), "title: '# NN · ...'"
    text = "\n".join(markdown)
    for heading in ("## Exercises", "## Summary"):
        assert heading in text, f"missing {heading}"
    assert (ROOT / "notebooks" / "solutions" / f"{number}_solutions.ipynb").exists()
    assert f"solutions/{number}_solutions.ipynb" in text, "the exercises name their answers"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_links_to_notebooks_resolve(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for target in re.findall(r"\]\(([^)#]+\.ipynb)", "".join(cell["source"])):
            assert (path.parent / target).exists(), f"broken link to {target}"


# A stored output must not show where the notebook happened to run: a user's home, the
# repository's folder, a temporary folder, or an installed package (a traceback lists them all).
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|home|tmp|root|usr|opt|var|private|Users)/|"
                          r"site-packages|dist-packages|\b[A-Z]:\\Users\\")


def _output_texts(cell):
    for out in cell["outputs"]:
        if out["output_type"] == "stream":
            yield "".join(out["text"])
        elif out["output_type"] == "error":
            yield "\n".join([out["ename"], out["evalue"], *out["traceback"]])
        else:
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    yield value if isinstance(value, str) else json.dumps(value)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_stored_output_shows_a_machine_path(path):
    for cell in code_cells(path):
        for text in _output_texts(cell):
            found = MACHINE_PATH.search(text)
            assert not found, (f"stored output shows a path of the machine that ran it "
                               f"({found.group(0)!r}; print relative names, catch errors) in:\n"
                               f"{source(cell)}")
