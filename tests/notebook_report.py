"""The report of every test run, loaded by the repository's conftest.py.

- At the end it prints, per notebook, the run time and the share of code cells whose output
  nbval compares.
- Under pytest-xdist it also prints each test process's summed test time and the run's wall
  time, which shows how evenly the work was spread.
- It restores SIGINT's handler when the run was started with SIGINT ignored (see
  pytest_configure).
- It sets FEDLAB_NOT_PRIVATE_SEED=0 (unless set) before any kernel starts, as tools/offline.sh
  does, so that notebook 07's DP noise, and so its stored outputs, reproduce when pytest is run
  without that wrapper (README, "Running one notebook").
- It fails the run if a TFF `worker_binary` process, or a federated program
  (`python -m fedlab.program`, notebook 09), that started during the run is still running at
  the end: the course promises that none outlives the kernel or script that started it.

With pytest-xdist (`make test` runs the tests in two processes) each test process stops its
own TFF workers when it ends, and the check runs once, in the process that started the others,
after they have all ended: a test process cannot tell a leftover from a worker that a notebook
in the other process is still using. The times table is printed there too, from the reports the
test processes send back.
"""

from __future__ import annotations

import collections
import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from notebook_checks import compared_share

_durations: dict[str, float] = collections.defaultdict(float)
_failed: set[str] = set()
_busy: dict[str, float] = collections.defaultdict(float)  # per xdist test process
_started = time.time()


def pytest_configure(config):
    os.environ.setdefault("FEDLAB_NOT_PRIVATE_SEED", "0")
    # A run started with SIGINT ignored (a background job of a script, nohup, some CI runners)
    # passes that on to every kernel and TFF worker it starts, and TFF stops its worker with
    # SIGINT and waits for it with no timeout: the run hung there. Ignored signals are the only
    # ones a new program inherits, so restoring Python's own handler here gives every process
    # this run starts the default.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_runtest_logreport(report):
    node = getattr(report, "node", None)  # under pytest-xdist: the test process that ran it
    if node is not None:
        _busy[node.gateway.id] += report.duration
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _durations[path] += report.duration
        if report.failed:
            _failed.add(path)


def is_program(cmdline: list[str] | None) -> bool:
    """True for the command line of a federated program, `python -m fedlab.program ...`."""
    cmdline = cmdline or []
    return any(a == "-m" and b == "fedlab.program" for a, b in zip(cmdline, cmdline[1:]))


def leftover_workers(since: float, timeout: float = 10.0,
                     programs: bool = False) -> list[psutil.Process]:
    """TFF workers created after `since` that still run (zombies count as ended); with
    `programs`, federated programs (`python -m fedlab.program`) too."""
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for proc in psutil.process_iter(["name", "create_time", "status", "cmdline"]):
            info = proc.info
            wanted = info["name"] == "worker_binary" or (programs and is_program(info["cmdline"]))
            if (wanted and info["create_time"] >= since - 1
                    and info["status"] != psutil.STATUS_ZOMBIE):
                left.append(proc)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session, exitstatus):
    # Innermost wrapper: runs after pytest-xdist has stopped its test processes, and before the
    # terminal summary is written.
    result = yield
    # The workers of this pytest process's own TFF context are stopped at its exit (atexit);
    # stop them now, so that what is left is what a kernel, a script or a test failed to stop.
    runtime = sys.modules.get("fedlab.runtime")
    if runtime is not None:
        runtime.stop_workers()
    if not _is_xdist_worker(session.config):
        left = leftover_workers(_started, programs=True)
        if left:
            session.config._fedlab_leftover = [p.pid for p in left]
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    return result


def pytest_terminal_summary(terminalreporter, config):
    if _is_xdist_worker(config):
        return
    write = terminalreporter.write_line
    leftover = getattr(config, "_fedlab_leftover", None)
    if leftover:
        terminalreporter.section("TFF workers or federated programs left running", red=True)
        write(f"FAILED: TFF worker or federated program processes started by this run are still "
              f"running: pids {leftover}")
    if _busy:
        # How evenly pytest-xdist spread the work: each test process's summed test time.
        terminalreporter.section("test processes: time spent in tests")
        for name in sorted(_busy):
            write(f"{name:8s} {_busy[name]:7.1f} s")
        write(f"{'run':8s} {time.time() - _started:7.1f} s from start to end")
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
