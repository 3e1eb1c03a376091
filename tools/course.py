"""The course's notebooks, found in one place: the tests, tools/ and the book's checks use these.

A lesson is a notebook named NN_*.ipynb (two digits, an underscore, a name) directly in
notebooks/; its answers are notebooks/solutions/NN_solutions.ipynb. Both are listed in the
order of their numbers. tests/test_notebooks.py checks that notebooks/ holds no other notebook,
so that none escapes the checks by its name.

Usage from a script in tools/ (its folder is on sys.path) or a test (pytest puts tools/ on the
path, see pyproject.toml): `import course; course.lessons()`.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LESSON_PATTERN = "[0-9][0-9]_*.ipynb"
SOLUTION_PATTERN = "[0-9][0-9]_solutions.ipynb"


def lessons(folder: Path = NOTEBOOKS) -> list[Path]:
    """The lessons in `folder` (default notebooks/), NN_*.ipynb, in order."""
    return sorted(Path(folder).glob(LESSON_PATTERN))


def solutions(folder: Path = NOTEBOOKS) -> list[Path]:
    """The solutions, `folder`/solutions/NN_solutions.ipynb, in order."""
    return sorted((Path(folder) / "solutions").glob(SOLUTION_PATTERN))


def notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """Every notebook of the course: the lessons, then the solutions."""
    return lessons(folder) + solutions(folder)
