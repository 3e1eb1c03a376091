"""Runtime set-up for every notebook: seeds, quiet logs, TFF's execution context, versions.

Taught in `notebooks/00_can_clients_share_data.ipynb` (its setup cell explains each step).
Nothing here runs on import; a notebook calls :func:`setup` once, in its first code cell.

TFF runs federated computations in a separate C++ process, ``worker_binary``, that it starts
itself and stops only from a finalizer that often never runs, so the process outlives the
kernel or script that started it. :func:`setup` makes every worker started afterwards die with
its parent: Linux sends the worker SIGKILL when the thread that started it ends (TFF starts it
from the event-loop thread of its execution context, which lives as long as the context or the
process), however the process ends: normal exit, exception, shutdown after an interrupt, or
SIGKILL. At a normal exit the workers are also stopped politely first (`stop_workers`).

The worker is also started with at most two glibc malloc arenas (`MALLOC_ARENA_MAX=2`, unless
the environment already sets it). With glibc's default (8 per core) the worker's resident memory
crept up by about 0.2 MB a round at 100 clients per round, freed memory scattered over many
per-thread arenas; with two it stayed nearly flat (benchmarks/README.md, "memory").
"""

from __future__ import annotations

import atexit
import logging
import os
import platform
import random
import subprocess
import sys
import types
import weakref

from fedlab import _processes
from fedlab._checks import check_int

CONTEXTS = ("default", "test")

_workers: "weakref.WeakSet[subprocess.Popen]" = weakref.WeakSet()


class _WorkerPopen(subprocess.Popen):
    """`subprocess.Popen` for TFF's worker: it dies with this process and is stopped at exit."""

    def __init__(self, args, **kwargs):
        parent_pid = os.getpid()
        kwargs.setdefault("preexec_fn", lambda: _processes.die_with_parent(parent_pid))
        kwargs["env"] = _processes.worker_env(kwargs.get("env"))
        super().__init__(args, **kwargs)
        _workers.add(self)


def worker_pids() -> list[int]:
    """Process ids of the TFF worker processes that this process started and that still run."""
    return sorted(p.pid for p in list(_workers) if p.poll() is None)


def stop_workers(timeout: float = 5.0) -> int:
    """Stops every TFF worker process started by this process; returns how many were running."""
    return _processes.stop_processes(list(_workers), timeout)


def _kill_if_running(pid: int, sig: int) -> None:
    """`os.kill` that ignores a process that has already ended."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _guard_tff_workers() -> None:
    """Makes TFF start its worker through `_WorkerPopen`. Idempotent.

    TFF's module `executor_factory` starts the worker with `subprocess.Popen` and, from a
    finalizer, signals it with `os.kill`; both names are replaced in that module only. The
    second replacement keeps the finalizer quiet when `stop_workers` has already ended the worker.
    """
    from tensorflow_federated.python.core.impl.executor_stacks import executor_factory

    if getattr(executor_factory.subprocess, "Popen", None) is _WorkerPopen:
        return
    executor_factory.subprocess = types.SimpleNamespace(
        **{**vars(subprocess), "Popen": _WorkerPopen})
    executor_factory.os = types.SimpleNamespace(**{**vars(os), "kill": _kill_if_running})
    atexit.register(stop_workers)


class _DropNeverUsed(logging.Filter):
    """Drops TensorFlow's 'Object was never used' reports, logged when secure sums are traced."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Object was never used" not in record.getMessage()


def _quiet_logs() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # read when TensorFlow's C++ code loads
    # gRPC's C++ core logs to stderr, e.g. "Other threads are currently calling into gRPC,
    # skipping fork() handlers" when a worker is started while a gRPC channel is busy; read
    # when gRPC loads (with TFF), so this must come before the first TFF import.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.setLevel(logging.ERROR)
    if not any(isinstance(f, _DropNeverUsed) for f in tf_logger.filters):
        tf_logger.addFilter(_DropNeverUsed())


def check_platform() -> None:
    """Raises `RuntimeError` with one sentence if this machine cannot run TFF 0.87.0."""
    if sys.platform != "linux" or platform.machine() != "x86_64":
        raise RuntimeError(
            f"TensorFlow Federated 0.87.0 needs Linux on x86-64; this is {sys.platform} on "
            f"{platform.machine()}."
        )
    if sys.version_info[:2] != (3, 11):
        raise RuntimeError(
            f"This course needs Python 3.11; this is Python {platform.python_version()}."
        )


def setup(
    seed: int = 0, context: str = "default", verbose: bool = True, deterministic_ops: bool = True
) -> dict[str, str]:
    """Prepares a notebook or script to run TFF reproducibly and quietly.

    Seeds Python, numpy and TensorFlow; turns deterministic TensorFlow ops on (or off); silences
    TensorFlow and absl log noise; makes TFF's worker process die with this process; and
    installs TFF's execution context.

    Args:
        seed: Seed for Python's `random`, numpy and TensorFlow (0 to 2**32 - 1).
        context: "default" for TFF's normal local C++ context, or "test" for the test
            context, which the secure sums need (it compiles a secure sum to a plain sum).
        verbose: Print the versions that matter.
        deterministic_ops: True turns TensorFlow's op determinism on: the same seed gives the
            same numbers, and TensorFlow refuses random ops without an op-level seed. False
            turns it off (again), which TFF's DP aggregators need: they draw their noise with
            unseeded random ops on purpose (`notebooks/05_differential_privacy.ipynb`).

    Returns:
        The versions of Python, TensorFlow, TFF and numpy, by name.
    """
    if context not in CONTEXTS:
        raise ValueError(f"context must be one of {CONTEXTS}, got {context!r}")
    seed = check_int("seed", seed, 0, 2**32 - 1)
    if not isinstance(deterministic_ops, bool):
        raise TypeError(f"deterministic_ops must be True or False, got {deterministic_ops!r}")
    check_platform()
    _quiet_logs()

    import numpy as np
    import tensorflow as tf
    import tensorflow_federated as tff

    # TensorFlow sets its logger to INFO the first time it is asked for it in an interactive
    # session (a Jupyter kernel), e.g. "Assets written to ..." on every saved state: ask first.
    tf.get_logger().setLevel(logging.ERROR)
    random.seed(seed)
    np.random.seed(seed)
    tf.keras.utils.set_random_seed(seed)
    if deterministic_ops:
        tf.config.experimental.enable_op_determinism()
    else:
        # TensorFlow 2.14 exports only the switch that turns determinism on; this is its pair.
        from tensorflow.python.framework import config as tf_config

        tf_config.disable_op_determinism()

    _guard_tff_workers()
    stop_workers()  # a second setup() in the same kernel replaces the context and its worker
    if context == "test":
        tff.backends.test.set_sync_test_cpp_execution_context()
    else:
        tff.backends.native.set_sync_local_cpp_execution_context()

    versions = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "tensorflow_federated": tff.__version__,
        "numpy": np.__version__,
    }
    if verbose:
        print(", ".join(f"{name} {version}" for name, version in versions.items()))
        ops = "" if deterministic_ops else ", TensorFlow op determinism off"
        print(f"seed {seed}, TFF context: {context}{ops}")
    return versions
