"""What the tests need to know about a notebook file, read as JSON (no kernel)."""

from __future__ import annotations

import json
from pathlib import Path

import course

ROOT = Path(__file__).resolve().parent.parent
IGNORE_MARKERS = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP")
IGNORE_TAGS = ("nbval-ignore-output", "nbval-skip")
REASON_PREFIX = "# Not compared:"


def course_notebooks() -> list[Path]:
    """Every notebook that nbval runs: the lessons and the solutions (tools/course.py)."""
    return course.notebooks()


def code_cells(path: Path) -> list[dict]:
    nb = json.loads(Path(path).read_text())
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def is_compared(cell: dict) -> bool:
    """True if nbval compares this cell's output with the stored one."""
    comments = {line.strip().lstrip("#").strip() for line in source(cell).splitlines()}
    tags = set(cell.get("metadata", {}).get("tags", []))
    return not (comments & set(IGNORE_MARKERS) or tags & set(IGNORE_TAGS))


def compared_share(path: Path) -> tuple[int, int]:
    """(code cells whose output nbval compares, all code cells)."""
    cells = code_cells(path)
    return sum(is_compared(c) for c in cells), len(cells)
