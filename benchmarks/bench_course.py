"""Run time of each notebook of the course, each in a fresh kernel, never written back (a child).

    .venv/bin/python -m benchmarks.bench_course notebooks/00_*.ipynb --out /tmp/course.json

Each notebook runs top to bottom with nbclient in a fresh `python3` kernel started in the
notebook's own folder, as `tools/execute.py` and nbval run it; a cell tagged
`raises-exception` may raise. Unlike `tools/execute.py` (`make execute`), the executed
notebook is dropped: the file on disk is not touched. `seconds` runs from asking for the kernel
to the kernel's shutdown, so it includes the kernel's start (a student's "Restart and run all"
pays it too); `cells_seconds` is the cells alone. `peak_rss_mb` is the kernel's peak resident
memory plus that of its child processes (TFF's worker), read after every cell.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks import bench_common as common


def _tree_peak_mb(pid: int) -> float | None:
    """Sum of the peak RSS of `pid` and of its descendants that are alive now."""
    import psutil

    try:
        procs = [psutil.Process(pid)] + psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return None
    peaks = [common.peak_rss_mb(p.pid) for p in procs]
    return sum(v for v in peaks if v is not None)


def run_notebook(path: Path, timeout: float) -> dict:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    code_cells = sum(1 for c in nb.cells if c.cell_type == "code")
    state = {"peak": None, "cells_start": None, "cells_end": None}
    client = NotebookClient(nb, kernel_name="python3", timeout=timeout,
                            resources={"metadata": {"path": str(path.parent)}})

    def on_notebook_start(notebook):
        state["cells_start"] = time.perf_counter()

    def on_cell_executed(cell, cell_index, execute_reply):
        state["cells_end"] = time.perf_counter()
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        if pid is not None:
            peak = _tree_peak_mb(pid)
            if peak is not None:
                state["peak"] = max(state["peak"] or 0.0, peak)

    client.on_notebook_start = on_notebook_start
    client.on_cell_executed = on_cell_executed
    start = time.perf_counter()
    status, reason = "ok", None
    try:
        client.execute()
    except CellExecutionError as err:
        status, reason = "error", f"a cell raised: {str(err).strip().splitlines()[-1][:300]}"
    except (CellTimeoutError, DeadKernelError) as err:
        status, reason = "error", f"{type(err).__name__}: {str(err)[:300]}"
    seconds = time.perf_counter() - start
    cells_seconds = (state["cells_end"] - state["cells_start"]
                     if state["cells_start"] and state["cells_end"] else None)
    rel = path.resolve().relative_to(common.ROOT) if path.resolve().is_relative_to(common.ROOT) \
        else path
    common.progress(f"course {rel}: {seconds:.1f} s ({status})")
    return common.record("course", str(rel), None, None, state["peak"], status=status,
                         reason=reason, seconds=seconds, cells_seconds=cells_seconds,
                         code_cells=code_cells)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Time each notebook in a fresh kernel.")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--timeout", type=float, default=600, help="seconds per cell")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    records = [run_notebook(Path(name), args.timeout) for name in args.notebooks]
    common.write_records(args.out, records)


if __name__ == "__main__":
    main()
