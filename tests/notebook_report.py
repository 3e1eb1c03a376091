"""A pytest plugin (loaded with `-p notebook_report`, see pyproject.toml) for every test run.

- At the end it prints, per notebook, the run time and the share of code cells whose output
  nbval compares.
- It fails the run if a TFF `worker_binary` process that started during the run is still running
  at the end: the course promises that none outlives the kernel or script that started it.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

import psutil
import pytest

from notebook_checks import compared_share

_durations: dict[str, float] = collections.defaultdict(float)
_failed: set[str] = set()
_started = time.time()


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _durations[path] += report.duration
        if report.failed:
            _failed.add(path)


def leftover_workers(since: float, timeout: float = 10.0) -> list[psutil.Process]:
    """TFF workers created after `since` that still run (zombies count as ended)."""
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for proc in psutil.process_iter(["name", "create_time", "status"]):
            info = proc.info
            if (info["name"] == "worker_binary" and info["create_time"] >= since - 1
                    and info["status"] != psutil.STATUS_ZOMBIE):
                left.append(proc)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    left = leftover_workers(_started)
    if left:
        session.config._fedlab_leftover = [p.pid for p in left]
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config):
    write = terminalreporter.write_line
    leftover = getattr(config, "_fedlab_leftover", None)
    if leftover:
        terminalreporter.section("TFF workers left running", red=True)
        write(f"FAILED: TFF worker processes started by this run are still running: pids {leftover}")
    if not _durations:
        return
    terminalreporter.section("notebooks: run time and share of code cells compared by nbval")
    total = 0.0
    for path in sorted(_durations):
        seconds = _durations[path]
        total += seconds
        compared, code_cells = compared_share(Path(config.rootpath, path))
        status = "FAILED" if path in _failed else "ok"
        write(f"{path:58s} {seconds:6.1f} s  {compared:3d}/{code_cells:<3d} cells compared "
              f"({compared / max(code_cells, 1):4.0%})  {status}")
    write(f"{'all notebooks':58s} {total:6.1f} s")
