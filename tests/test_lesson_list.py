"""The lessons' own titles are the one list of lessons; every page that lists them must agree.

A lesson's name is its title (`# NN · Title` in its first cell) up to the first colon, or
through the first question mark: "Differential privacy: noise that hides each client" is listed
as "Differential privacy", "Can clients share data in TensorFlow Federated?" as itself. Pages
that list the lessons: README.md and docs/book/intro.md (learning path), notebook 00 (the map of
the course), docs/WORKSHOP.md (timings) and docs/book/_toc.yml (the book's pages). Adding a
lesson means adding its row to each; this test names what is missing or out of order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import course

ROOT = Path(__file__).resolve().parent.parent
TITLE = re.compile(r"^# (\d\d) · (.+)$")


def name(title: str) -> str:
    """`title` up to its first colon, or through its first question mark."""
    return re.match(r"[^:?]*\??", title).group(0).strip()


def lesson_names() -> list[tuple[str, str, str]]:
    """(number, name, file name) of every lesson, in order, from the notebooks' titles."""
    found = []
    for path in course.lessons():
        first = "".join(json.loads(path.read_text())["cells"][0]["source"]).splitlines()[0]
        match = TITLE.match(first)
        assert match, f"{path.name}: the first line must be '# NN · Title', not {first!r}"
        assert match.group(1) == path.name[:2], f"{path.name}: the title's number differs"
        found.append((match.group(1), name(match.group(2)), path.name))
    return found


LESSONS = lesson_names()


def test_name_is_the_title_up_to_a_colon_or_through_a_question_mark():
    assert name("Differential privacy: noise that hides each client") == "Differential privacy"
    assert name("Can clients share data?") == "Can clients share data?"
    assert name("Capstone: bring your own data") == "Capstone"
    assert name("Aggregation") == "Aggregation"


def _linked_rows(text: str, prefix: str) -> list[tuple[str, str, str]]:
    # `| [NN Name](PREFIXfile.ipynb) |` rows, in order of appearance.
    return re.findall(r"^\| \[(\d\d) ([^\]]+)\]\(" + re.escape(prefix) + r"([^)]+\.ipynb)\) \|",
                      text, re.M)


@pytest.mark.parametrize("page, prefix", [("README.md", "notebooks/"),
                                          ("docs/book/intro.md", "../../notebooks/")])
def test_the_learning_path_lists_every_lesson_by_its_title(page, prefix):
    assert _linked_rows((ROOT / page).read_text(), prefix) == LESSONS, (
        f"{page}: the learning-path rows must be, in order: "
        + "; ".join(f"[{n} {t}]({prefix}{f})" for n, t, f in LESSONS))


def test_notebook_00s_map_lists_every_lesson_by_its_title():
    cells = json.loads((ROOT / "notebooks" / LESSONS[0][2]).read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    rows = re.findall(r"^\| \*\*(\d\d)\*\* ([^|]+?) \(this one\) \|", text, re.M)
    rows += _linked_rows(text, "")
    assert [(n, t) for n, t, *_ in rows] == [(n, t) for n, t, _ in LESSONS], (
        "notebook 00's map of the course must list every lesson, in order, by its name")
    assert [f for *_, f in rows[1:]] == [f for *_, f in LESSONS[1:]]


def test_the_workshop_timings_list_every_lesson_by_its_title():
    text = (ROOT / "docs" / "WORKSHOP.md").read_text()
    rows = re.findall(r"^\| (\d\d) ([^|]+?) \| \d+ min \|", text, re.M)
    assert rows == [(n, t) for n, t, _ in LESSONS], (
        "docs/WORKSHOP.md's timings table must list every lesson, in order, by its name")


def test_the_book_has_a_page_for_every_lesson_and_solution_in_order():
    toc = (ROOT / "docs" / "book" / "_toc.yml").read_text()
    pages = re.findall(r"^\s+- file: (notebooks/\S+)$", toc, re.M)
    expected = [str(p.relative_to(ROOT).with_suffix("")) for p in course.notebooks()]
    assert pages == expected, "docs/book/_toc.yml must list every lesson, then every solution"


def test_a_page_missing_a_lesson_fails(tmp_path):
    # The check can fail: a learning path without its last row is not the list.
    text = (ROOT / "README.md").read_text()
    last = LESSONS[-1]
    shortened = "\n".join(line for line in text.splitlines() if f"]({'notebooks/'}{last[2]})"
                          not in line)
    assert _linked_rows(shortened, "notebooks/") == LESSONS[:-1]
