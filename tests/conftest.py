"""Shared test set-up: the per-notebook report printed at the end of every test run."""

from __future__ import annotations

import collections
from pathlib import Path

from notebook_checks import compared_share

_durations: dict[str, float] = collections.defaultdict(float)
_failed: set[str] = set()


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _durations[path] += report.duration
        if report.failed:
            _failed.add(path)


def pytest_terminal_summary(terminalreporter):
    if not _durations:
        return
    write = terminalreporter.write_line
    terminalreporter.section("notebooks: run time and share of code cells compared by nbval")
    total = 0.0
    for path in sorted(_durations):
        seconds = _durations[path]
        total += seconds
        compared, code_cells = compared_share(Path(terminalreporter.config.rootpath, path))
        status = "FAILED" if path in _failed else "ok"
        write(
            f"{path:60s} {seconds:6.1f} s  {compared}/{code_cells} cells compared "
            f"({compared / max(code_cells, 1):.0%})  {status}"
        )
    write(f"{'all notebooks':60s} {total:6.1f} s")
