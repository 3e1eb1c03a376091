"""Re-runs notebooks in place and stores their outputs (`make execute`): for authors.

    python tools/execute.py [NOTEBOOK ...]     # no argument: every lesson and solution

Each notebook runs top to bottom in a fresh kernel started in its own folder, as nbval runs it.
A cell tagged `raises-exception` may raise; any other error stops with the cell's traceback.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import course


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # per-cell timestamps: noise in diffs
    nbformat.write(nb, path)
    return time.monotonic() - start


def main(paths: list[str]) -> None:
    for path in [Path(p) for p in paths] or course.notebooks():
        print(f"{os.path.relpath(path)}: {execute(path):.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
