"""The report that every test run ends with (tests/notebook_report.py, loaded by conftest.py).

Each case runs pytest on a small project in a temporary folder, once in one process and once
spread over two with pytest-xdist as `make test` does: a test that leaves a process named
`worker_binary` running must fail the run and be named; a clean run must pass.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent

LEAVES_A_WORKER = """
import os, subprocess

def test_leaves_a_worker():
    proc = subprocess.Popen([os.environ["FAKE_WORKER"], "120"], start_new_session=True)
    with open(os.environ["PID_FILE"], "a") as f:
        f.write(f"{proc.pid}\\n")
"""
CLEAN = """
import os, subprocess

def test_stops_its_worker():
    proc = subprocess.Popen([os.environ["FAKE_WORKER"], "120"])
    proc.kill()
    proc.wait()
"""


CHILD_SIGINT = """
import signal, subprocess

def test_a_child_process_does_not_ignore_sigint():
    status = subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True).stdout
    ignored = int(next(l for l in status.splitlines() if l.startswith("SigIgn:")).split()[1], 16)
    assert not ignored & (1 << (signal.SIGINT - 1))
"""


def _run(tmp_path: Path, files: dict[str, str], *args: str, sigint_ignored: bool = False):
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (tmp_path / "conftest.py").write_text(
        (ROOT / "conftest.py").read_text())  # the repository's own conftest.py
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    fake = tmp_path / "worker_binary"
    shutil.copy("/bin/sleep", fake)
    pid_file = tmp_path / "pids.txt"
    # Only the plugins the case needs (xdist is named where used): the others take seconds to load.
    env = dict(os.environ, FAKE_WORKER=str(fake), PID_FILE=str(pid_file),
               PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT / "tools")]),
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", *args], cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=300,
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored
            else None)
    finally:
        pids = [int(p) for p in pid_file.read_text().split()] if pid_file.exists() else []
        for pid in pids:
            try:
                psutil.Process(pid).kill()
            except psutil.NoSuchProcess:
                pass
    return result, pids


XDIST = ["-p", "xdist.plugin", "-n", "2"]


@pytest.mark.parametrize("processes", [[], XDIST], ids=["one process", "xdist -n 2"])
def test_a_leftover_worker_fails_the_run_and_is_named(tmp_path, processes):
    result, pids = _run(tmp_path, {"test_a.py": LEAVES_A_WORKER, "test_b.py": CLEAN},
                        *processes)
    assert len(pids) == 1
    assert result.returncode == 1, result.stdout[-3000:]
    assert "2 passed" in result.stdout
    assert (f"TFF worker or federated program processes started by this run are still running: "
            f"pids [{pids[0]}]") in result.stdout


def test_a_clean_run_passes_under_xdist(tmp_path):
    result, pids = _run(tmp_path, {"test_b.py": CLEAN, "test_c.py": CLEAN}, *XDIST)
    assert pids == []
    assert result.returncode == 0, result.stdout[-3000:]
    assert "left running" not in result.stdout


@pytest.mark.parametrize("processes", [[], XDIST], ids=["one process", "xdist -n 2"])
def test_a_run_started_with_sigint_ignored_starts_processes_that_do_not_ignore_it(tmp_path,
                                                                                   processes):
    """TFF stops its worker with SIGINT and waits with no timeout: an ignored SIGINT hung it."""
    result, _ = _run(tmp_path, {"test_d.py": CHILD_SIGINT}, *processes, sigint_ignored=True)
    assert result.returncode == 0, result.stdout[-3000:]
