"""Several TFF worker processes, and TFF execution contexts that send computations to them.

Taught in `notebooks/08_where_data_lives.ipynb` ("One worker per site"); also used by
`benchmarks/remote_workers.py` and `benchmarks/bench_wire.py`.

TFF's default local context starts ONE C++ `worker_binary` and sends it every computation
over gRPC on a localhost port. The same binary is a TFF executor service that any process can
reach at HOST:PORT. This module:

- starts N `worker_binary` processes on 127.0.0.1 at free ports (:class:`LocalWorkers`),
  optionally one per site folder, each started inside its folder (`site_dirs`), so that a
  relative file name is read from that site's folder only;
- builds one TFF execution context per worker (:func:`make_context`: a
  `tff.framework.RemoteExecutor` on a gRPC channel, as TFF's own local context does minus
  starting the worker; TFF 0.87 has no ready-made remote context), and installs them
  (:func:`set_context`): "sync" for one worker, "mergeable" for TFF's mergeable-computation
  context over any number of workers.

A notebook that meters each worker's wire puts a `fedlab.wire.Relay` in front of each one and
gives the relays' addresses instead of the workers':

    with workers.LocalWorkers(site_dirs=dirs) as w:
        relays = [wire.Relay(t) for t in w.targets]
        workers.set_context([r.address for r in relays], "mergeable")
        ...                                   # rounds; relays[i].counts() per site
        for r in relays:
            r.close()
    runtime.setup(...)    # back to TFF's normal local context (or
                          # tff.backends.native.set_sync_local_cpp_execution_context())

How TFF 0.87's mergeable context runs one call (read in its source,
`tensorflow_federated/python/core/impl/execution_contexts/mergeable_comp_execution_context.py`):

- It compiles the computation into three parts: `up_to_merge` (everything up to and
  including the clients' aggregation, giving a partial aggregate at SERVER), `merge` (combines
  two partial aggregates) and `after_merge` (what follows the aggregation, e.g. the server
  update). `after_merge` takes the ORIGINAL argument and the merged aggregate.
- The argument is split for worker i = 0, 1, ...: each CLIENTS-placed list is cut into
  contiguous chunks, `ceil(remaining clients / remaining workers)` at a time, chunk i to
  worker i (10 clients on 4 workers: 3, 3, 2, 2; 3 clients on 4 workers: only workers 0-2 get
  a call). Everything else (SERVER-placed values, e.g. the server state) is copied to every
  worker. A call with no argument (e.g. `initialize`) runs `up_to_merge` on every worker.
- `up_to_merge` runs on every worker with its chunk. It is started on all of them as asyncio
  tasks, but TFF's `RemoteExecutor` makes blocking gRPC calls inside the event loop, so the
  workers compute nearly one after another: in a round of two 1-s client computations on two
  local workers, both workers used CPU in at most 1 of about 35 samples taken every 50 ms.
- `merge` runs in the driver's order of completion: the first partial aggregate to come back
  is kept; each later one is merged with the running result ON THE WORKER THAT HAS JUST
  RETURNED it. So `merge` runs (number of workers - 1) times, never on the first worker to
  finish, and the running result travels driver -> worker and back each time.
- `after_merge`, when its result has no per-client values (FedAvg's `next`: the new server
  state and metrics, all at SERVER), runs ONCE, on the worker that finished last (the one that
  ran the last merge), with worker 0's slice of the original argument and the merged result.
  So worker 0's client values (its datasets, or its file names) are also sent to that worker,
  though `after_merge` does not use them. Only when the result holds per-client values does
  `after_merge` run on every worker with its own chunk.

TFF's default context is per thread (its context stack is a `threading.local`):
:func:`set_context` affects computations called from the thread that called it.

A worker that dies: TFF's remote contexts retry a call that fails with gRPC UNAVAILABLE
forever (`retrying.retry` on `AsyncExecutionContext.invoke`, backing off to one try every
30 s), so a dead worker would hang the notebook. The contexts made here check the worker when a
call fails that way: if it cannot be reached within `lost_after` seconds, the call raises
:class:`WorkerLostError` naming the worker instead. TFF's own default context restarts its
worker; nothing restarts these.

A worker that answers with an error (e.g. a site's worker asked to read a file that is not in
its folder: "c0.txt; No such file or directory") raises :class:`WorkerError` naming the worker
and giving the first line of its error (the gRPC error is its `__cause__`). In the mergeable
context, when several sub-rounds fail, TFF raises the first error; asyncio then logs each other
one as "Task exception was never retrieved" on stderr.

Security: a worker serves unauthenticated, unencrypted gRPC: anyone who can reach its port can
make it run TensorFlow graphs and read what it holds. TFF's `worker_binary` has a `--port` flag
but no address flag: it listens on every interface of its host, not only 127.0.0.1 (where
:class:`LocalWorkers` points its targets). Run workers only on a private network or behind a
firewall; across hosts, reach a worker through an SSH tunnel
(`ssh -N -L 8000:127.0.0.1:8000 host`, then target "127.0.0.1:8000").

Workers started here die with the process that started them
(`fedlab._processes.die_with_parent`: the kernel sends SIGKILL even if this process is killed),
and are stopped on leaving the `with` block, at normal interpreter exit (atexit) and by
:meth:`LocalWorkers.stop`.
"""

from __future__ import annotations

import atexit
import functools
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

from fedlab import _processes
from fedlab._checks import check_int, check_number

__all__ = ["GRPC_OPTIONS", "MODES", "WorkerLostError", "WorkerError", "parse_targets",
           "LocalWorkers", "make_context", "set_context"]

MODES = ("sync", "mergeable")
GRPC_OPTIONS = [  # as TFF's own local context (executor_stacks/executor_factory.py)
    ("grpc.max_message_length", 2 * 1000 * 1000 * 1000),
    ("grpc.max_receive_message_length", 2 * 1000 * 1000 * 1000),
    ("grpc.max_send_message_length", 2 * 1000 * 1000 * 1000),
]
READY_TIMEOUT_SECONDS = 60.0
LOST_AFTER_SECONDS = 10.0


class WorkerLostError(ConnectionError):
    """A TFF worker stopped answering (it died, or its host or port is unreachable)."""


class WorkerError(RuntimeError):
    """A TFF worker answered a call with an error (e.g. a file it could not read); the
    message names the worker and gives the first line of its error."""


def _worker_binary_path() -> str:
    """TFF's C++ worker: `tensorflow_federated/data/worker_binary` inside site-packages."""
    import importlib.util

    spec = importlib.util.find_spec("tensorflow_federated")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("tensorflow_federated is not installed in this Python")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "worker_binary")
    if not os.path.isfile(path):
        raise RuntimeError(f"TFF's worker binary is missing: expected it at {path}")
    return path


def parse_targets(text: str) -> list[str]:
    """'host:port,host:port' -> ['host:port', ...], with the ports checked (1-65535).

    Raises:
        ValueError: naming `targets`, for an empty list or an item that is not HOST:PORT.
    """
    if not isinstance(text, str):
        raise ValueError(f"targets must be a string 'HOST:PORT[,HOST:PORT...]', got {text!r}")
    targets = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"targets must be HOST:PORT[,HOST:PORT...] with ports from 1 to "
                             f"65535, got {item!r}")
        targets.append(item)
    if not targets:
        raise ValueError("targets is empty: give at least one HOST:PORT")
    return targets


# Starts a program that dies with this process: `_processes.die_with_parent`, then exec. Run as
# `python -c _LAUNCHER PARENT_PID PROGRAM ARGS...` instead of calling die_with_parent from
# `preexec_fn`: a `preexec_fn` makes Python fork(), and a fork() while gRPC's threads run (any
# TFF context has used gRPC) makes gRPC print "Other threads are currently calling into gRPC,
# skipping fork() handlers" on stderr, into the notebook. Without `preexec_fn` Python starts
# the child with vfork(), which runs no fork handlers. The signal on the parent's death
# survives the exec.
_LAUNCHER = ("import os, sys\n"
             "from fedlab._processes import die_with_parent\n"
             "die_with_parent(int(sys.argv[1]))\n"
             "os.execv(sys.argv[2], sys.argv[2:])\n")


def _launch_args(program: str, *args: str) -> list[str]:
    return [sys.executable, "-c", _LAUNCHER, str(os.getpid()), program, *args]


def _launch_env() -> dict[str, str]:
    """`_processes.worker_env()`, with fedlab importable by the launcher from any folder."""
    env = _processes.worker_env()
    package_parent = str(Path(_processes.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH"))
                                        if p)
    return env


def _pick_port() -> int:
    import portpicker

    return portpicker.pick_unused_port()


class LocalWorkers:
    """TFF `worker_binary` processes on this machine, stopped on exit (a context manager).

    Taught in `notebooks/08_where_data_lives.ipynb`.

    Args:
        count: How many workers (>= 1). With `site_dirs`, None or `len(site_dirs)`.
        site_dirs: One folder per worker; worker i runs with that folder as its working
            directory, so a relative file name given to it is read from that folder only.
            Every folder must exist (checked before any worker starts).
        verbose: Let the workers print to this process's stdout/stderr (default: silenced).

    Attributes:
        targets: "127.0.0.1:PORT" of each worker, in order (after entering the `with` block,
            or after :meth:`start`).
        site_dirs: The folders, resolved to absolute paths (or None).
        procs: The `subprocess.Popen` of each worker.

    Every process dies with this one (PR_SET_PDEATHSIG, also if this process is killed) and
    is stopped on leaving the `with` block, at normal interpreter exit and by :meth:`stop`.
    """

    def __init__(self, count: int | None = None, *,
                 site_dirs: Sequence[str | os.PathLike] | None = None, verbose: bool = False):
        if site_dirs is not None:
            if isinstance(site_dirs, (str, bytes, os.PathLike)):
                raise TypeError("site_dirs must be a sequence of folders, not one path")
            site_dirs = [Path(d) for d in site_dirs]
            if not site_dirs:
                raise ValueError("site_dirs must name at least one folder, got none")
            if count is not None and count != len(site_dirs):
                raise ValueError(f"count must be None or len(site_dirs) = {len(site_dirs)}, "
                                 f"got {count}")
            count = len(site_dirs)
        if count is None:
            raise ValueError("give count (the number of workers) or site_dirs")
        count = check_int("count", count, 1)
        self.count, self.verbose = count, bool(verbose)
        self.site_dirs = None if site_dirs is None else [d.resolve() for d in site_dirs]
        self.procs: list[subprocess.Popen] = []
        self.targets: list[str] = []

    def _check_site_dirs(self) -> None:
        for folder in self.site_dirs or []:
            if not folder.is_dir():
                what = "is not a folder" if folder.exists() else "does not exist"
                raise FileNotFoundError(f"site_dirs: the folder {folder} {what}")

    def start(self) -> "LocalWorkers":
        """Starts the workers (entering the `with` block does this). Returns self."""
        if self.procs:
            raise RuntimeError("these workers were started already; make a new LocalWorkers")
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("start workers from the main thread (PR_SET_PDEATHSIG ties a "
                               "worker to the thread that started it)")
        self._check_site_dirs()
        binary = _worker_binary_path()
        atexit.register(self.stop)
        try:
            for i in range(self.count):
                port = _pick_port()
                out = None if self.verbose else subprocess.DEVNULL
                proc = subprocess.Popen(
                    _launch_args(binary, f"--port={port}",
                                 "--max_concurrent_computation_calls=-1"),
                    stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=_launch_env(),
                    cwd=None if self.site_dirs is None else self.site_dirs[i])
                self.procs.append(proc)
                self.targets.append(f"127.0.0.1:{port}")
            for proc, target in zip(self.procs, self.targets):
                _wait_listening(proc, target, READY_TIMEOUT_SECONDS)
        except BaseException:
            self.stop()
            raise
        return self

    def pids(self) -> list[int]:
        """Process ids of the workers that still run."""
        return [p.pid for p in self.procs if p.poll() is None]

    def stop(self, timeout: float = 5.0) -> int:
        """Stops the workers (SIGINT, SIGKILL after `timeout` s); returns how many ran."""
        return _processes.stop_processes(self.procs, timeout)

    def __enter__(self) -> "LocalWorkers":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        atexit.unregister(self.stop)

    def __repr__(self) -> str:
        return f"LocalWorkers(targets={self.targets}, running={len(self.pids())})"


def _wait_listening(proc: subprocess.Popen, target: str, timeout: float) -> None:
    """Waits until the worker `proc` accepts TCP connections at `target`."""
    host, port = target.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the TFF worker for {target} exited with status "
                               f"{proc.returncode} before it listened (verbose=True shows "
                               "its output)")
        try:
            socket.create_connection((host, int(port)), timeout=1.0).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the TFF worker for {target} did not listen within "
                                   f"{timeout:g} s") from None
            time.sleep(0.05)


def _reachable(target: str, timeout: float) -> bool:
    """True if a gRPC connection to `target` becomes ready within `timeout` seconds.

    A gRPC handshake, not only a TCP connect: a `fedlab.wire.Relay` in front of a dead worker
    still accepts TCP connections, but closes them at once.
    """
    import grpc

    channel = grpc.insecure_channel(target)
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
        return True
    except grpc.FutureTimeoutError:
        return False
    finally:
        channel.close()


def _describe(err: Exception) -> str:
    """'UNAVAILABLE: first line of the details' for a gRPC error, else the error's text."""
    try:
        code, details = err.code(), err.details() or ""
    except Exception:  # not a finished gRPC call
        return f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"
    first = details.splitlines()[0] if details else ""
    return f"gRPC {getattr(code, 'name', code)}: {first[:160]}"


@functools.cache
def _checked_stub_class():
    """A `RemoteExecutorGrpcStub` that turns a lost worker into `WorkerLostError` (see the
    module's docstring); built on first use so that importing this module imports no TFF."""
    import grpc
    import tensorflow_federated as tff
    from tensorflow_federated.python.core.impl.executors import executors_errors

    class CheckedStub(tff.framework.RemoteExecutorGrpcStub):
        def __init__(self, channel, target: str, lost_after: float):
            super().__init__(channel)
            self.target, self.lost_after, self.lost = target, lost_after, False

        def _checked(self, name, request):
            try:
                response = getattr(super(), name)(request)
            except executors_errors.RetryableError as err:
                # Once lost, later calls fail at once; a worker that answers again is found
                # by the next call that succeeds.
                if not self.lost and _reachable(self.target, self.lost_after):
                    raise  # the worker answers: let TFF retry
                self.lost = True
                raise WorkerLostError(
                    f"TFF worker at {self.target} is unreachable ({_describe(err)}); no "
                    f"connection could be made within {self.lost_after:g} s. It may have "
                    "died: start the workers again and set the context again.") from None
            except grpc.RpcError as err:  # the worker answered with an error
                raise WorkerError(f"TFF worker at {self.target} failed: {_describe(err)}") from err
            self.lost = False
            return response

    # The calls of a computation. Not `dispose`/`dispose_executor`: TFF sends them while
    # cleaning up and ignores their gRPC errors.
    for name in ("get_executor", "create_value", "create_struct", "create_call",
                 "create_selection", "compute"):
        setattr(CheckedStub, name,
                lambda self, request, _name=name: self._checked(_name, request))
    return CheckedStub


def _wait_ready(stub, target: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not stub.is_ready:
        if time.monotonic() > deadline:
            raise WorkerLostError(f"no TFF worker answered at {target} within {timeout:g} s")
        time.sleep(0.05)


def make_context(target: str, asynchronous: bool, *, lost_after: float = LOST_AFTER_SECONDS,
                 ready_timeout: float = READY_TIMEOUT_SECONDS):
    """A TFF execution context whose computations run on the TFF worker at `target`.

    Taught in `notebooks/08_where_data_lives.ipynb`. Waits until the worker answers (at most
    `ready_timeout` s, else `WorkerLostError`).

    Args:
        target: "HOST:PORT" of a running TFF worker (or of a `fedlab.wire.Relay` to one).
        asynchronous: True for an async context (what the mergeable context takes), False
            for a sync one (what `tff.framework.set_default_context` takes for one worker).
        lost_after: When a call fails because the worker cannot be reached, how many seconds
            to try to reach it before raising `WorkerLostError` (> 0).
        ready_timeout: Seconds to wait for the worker at the start (> 0).
    """
    found = parse_targets(target)
    if len(found) != 1:
        raise ValueError(f"target must be one HOST:PORT, got {target!r}")
    target = found[0]
    lost_after = check_number("lost_after", lost_after, 0, low_open=True, why=" (seconds)")
    ready_timeout = check_number("ready_timeout", ready_timeout, 0, low_open=True,
                                 why=" (seconds)")
    import grpc
    import tensorflow_federated as tff
    from tensorflow_federated.python.core.environments.tensorflow_frontend import (
        tensorflow_computation,
    )

    stub = _checked_stub_class()(grpc.insecure_channel(target, GRPC_OPTIONS), target,
                                 float(lost_after))
    _wait_ready(stub, target, ready_timeout)

    def stack_fn(cardinalities):
        if cardinalities.get(tff.CLIENTS) is None:  # e.g. initialize(): no client values
            cardinalities[tff.CLIENTS] = 0
        executor = tff.framework.RemoteExecutor(stub)
        executor.set_cardinalities(cardinalities)
        return executor

    factory = tff.framework.ResourceManagingExecutorFactory(executor_stack_fn=stack_fn)
    cls = (tff.framework.AsyncExecutionContext if asynchronous
           else tff.framework.SyncExecutionContext)
    return cls(executor_fn=factory,
               compiler_fn=tff.backends.native.desugar_and_transform_to_native,
               transform_args=tensorflow_computation.transform_args,
               transform_result=tensorflow_computation.transform_result)


def set_context(targets: Sequence[str], mode: str, *,
                lost_after: float = LOST_AFTER_SECONDS) -> None:
    """Makes the TFF workers at `targets` TFF's default context.

    Taught in `notebooks/08_where_data_lives.ipynb`. Go back to TFF's normal local context
    with `fedlab.runtime.setup(...)` or
    `tff.backends.native.set_sync_local_cpp_execution_context()`.

    Args:
        targets: "HOST:PORT" of each worker (or relay), e.g. `LocalWorkers.targets`.
        mode: "sync" (exactly one worker, TFF's plain context) or "mergeable" (TFF's
            mergeable-computation context over any number; see the module's docstring for how
            it splits the clients).
        lost_after: As in :func:`make_context`.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'sync' or 'mergeable', got {mode!r}")
    if isinstance(targets, str):
        targets = parse_targets(targets)
    targets = list(targets)
    if not targets:
        raise ValueError("targets is empty: give at least one HOST:PORT")
    for target in targets:
        parse_targets(target)  # a bad item raises ValueError naming targets
    if mode == "sync" and len(targets) != 1:
        raise ValueError(f"mode 'sync' takes exactly one worker in targets, got {len(targets)}")
    import tensorflow_federated as tff

    if mode == "sync":
        tff.framework.set_default_context(
            make_context(targets[0], asynchronous=False, lost_after=lost_after))
    else:
        tff.backends.native.set_mergeable_comp_execution_context(
            [make_context(t, asynchronous=True, lost_after=lost_after) for t in targets])
