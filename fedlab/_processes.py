"""Child processes that end with the process that started them (private plumbing).

Used by `fedlab.runtime` (TFF's own worker), `fedlab.workers` (workers started for a remote
context) and `fedlab.program` (a training program started from a notebook). Notebook 09 shows
why it matters: a worker that outlives its kernel keeps holding memory and ports.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WORKER_MALLOC_ARENA_MAX = "2"


def die_with_parent(parent_pid: int) -> None:
    """Runs in a child between fork and exec (`preexec_fn`): Linux sends the child SIGKILL when
    the parent (strictly, the parent's thread that started it) ends, however it ends.

    It also gives the child SIGINT's default action. A process started by nohup or as a
    background job ignores SIGINT, and its children would inherit that; TFF stops its worker
    with SIGINT and waits for it without a time limit, so such a worker would hang its parent."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(127)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(0)


def worker_env(env=None) -> dict[str, str]:
    """The environment for a TFF worker: `env` (default: this process's) with the malloc arena
    limit added, unless `env` already sets `MALLOC_ARENA_MAX`."""
    env = dict(os.environ if env is None else env)
    env.setdefault("MALLOC_ARENA_MAX", WORKER_MALLOC_ARENA_MAX)
    return env


def stop_processes(procs, timeout: float = 5.0) -> int:
    """Stops processes: SIGINT, SIGKILL after `timeout` s; reaps them; returns how many ran."""
    running = [p for p in procs if p.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGINT)
    for proc in running:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return len(running)
