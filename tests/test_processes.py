"""fedlab/_processes.py: children that end with their parent, their environment, stopping them."""

import os
import signal
import subprocess
import sys
import time

from fedlab import _processes


def test_worker_env_limits_malloc_arenas_unless_already_set():
    assert _processes.worker_env({"A": "1"}) == {"A": "1", "MALLOC_ARENA_MAX": "2"}
    assert _processes.worker_env({"MALLOC_ARENA_MAX": "8"}) == {"MALLOC_ARENA_MAX": "8"}
    assert _processes.worker_env()["MALLOC_ARENA_MAX"] == os.environ.get("MALLOC_ARENA_MAX", "2")


def test_stop_processes_stops_running_ones_and_counts_them():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    assert _processes.stop_processes([sleeper, done], timeout=5) == 1
    assert sleeper.poll() is not None
    assert _processes.stop_processes([sleeper, done]) == 0


def test_a_child_dies_with_its_parent():
    # The parent starts a grandchild that calls die_with_parent, prints its pid and exits.
    code = ("import os, subprocess, sys\n"
            "from fedlab import _processes\n"
            "me = os.getpid()\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],\n"
            "                         preexec_fn=lambda: _processes.die_with_parent(me))\n"
            "print(child.pid, flush=True)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in "ZX":  # dead, not yet reaped
                    return
        except FileNotFoundError:
            return
        time.sleep(0.1)
    os.kill(pid, 9)
    raise AssertionError(f"process {pid} outlived its parent")


def _ignores_sigint(pid: int) -> bool:
    with open(f"/proc/{pid}/status") as status:
        mask = next(line for line in status if line.startswith("SigIgn:")).split()[1]
    return bool(int(mask, 16) & (1 << (signal.SIGINT - 1)))


def test_a_child_gets_sigints_default_when_its_parent_ignores_sigint():
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        me = os.getpid()
        plain = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                 preexec_fn=lambda: _processes.die_with_parent(me))
    finally:
        signal.signal(signal.SIGINT, before)
    try:
        time.sleep(0.5)  # both have exec'd the interpreter by now
        assert _ignores_sigint(plain.pid)  # what a child inherits without the fix
        assert not _ignores_sigint(child.pid)
        assert _processes.stop_processes([child], timeout=5) == 1
        assert child.returncode == -signal.SIGINT  # stopped by SIGINT, not by the SIGKILL after
    finally:
        _processes.stop_processes([plain, child], timeout=1)
