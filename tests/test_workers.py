"""fedlab.workers: TFF workers in site folders, remote and mergeable contexts, lost workers.

The first tests need no TensorFlow. The others start real TFF workers on 127.0.0.1 and run
tiny federated computations through them, checked against TFF's normal local context.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from fedlab import runtime, wire, workers

LOST_AFTER = 3.0  # seconds: how long the tests let a context try to reach a lost worker


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_until(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# ------------------------------------------------------------------ arguments (no TensorFlow)


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:8000", ["127.0.0.1:8000"]),
    ("127.0.0.1:8000, 10.0.0.5:1,", ["127.0.0.1:8000", "10.0.0.5:1"]),
])
def test_parse_targets_reads_a_comma_separated_list(text, expected):
    assert workers.parse_targets(text) == expected


@pytest.mark.parametrize("text", ["", " , ", "127.0.0.1", "127.0.0.1:http", ":8000",
                                  "host:0", "host:70000", "host:-1", None, 8000])
def test_parse_targets_rejects_bad_input_naming_targets(text):
    with pytest.raises(ValueError, match="targets"):
        workers.parse_targets(text)


@pytest.mark.parametrize("kwargs, error, match", [
    ({}, ValueError, "count"),
    ({"count": 0}, ValueError, "count must be an integer >= 1"),
    ({"count": True}, TypeError, "count must be an integer >= 1, got True"),
    ({"count": "2"}, TypeError, "count must be an integer >= 1, got '2'"),
    ({"site_dirs": []}, ValueError, "site_dirs"),
    ({"site_dirs": "site0"}, TypeError, "site_dirs"),
    ({"count": 3, "site_dirs": [".", "."]}, ValueError, "count must be None or len"),
])
def test_local_workers_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        workers.LocalWorkers(**kwargs)


def test_a_missing_site_folder_stops_before_any_worker_starts(tmp_path):
    (tmp_path / "site0").mkdir()
    (tmp_path / "not_a_folder").write_text("x")
    for bad in ("site1", "not_a_folder"):
        w = workers.LocalWorkers(site_dirs=[tmp_path / "site0", tmp_path / bad])
        before = {c.pid for c in psutil.Process().children(recursive=True)}
        with pytest.raises(FileNotFoundError, match=rf"site_dirs: .*{bad}"):
            with w:
                pass
        assert w.procs == [] and w.targets == []
        assert {c.pid for c in psutil.Process().children(recursive=True)} <= before


@pytest.mark.parametrize("targets, mode, match", [
    (["127.0.0.1:1"], "local", "mode must be 'sync' or 'mergeable'"),
    (["127.0.0.1:1", "127.0.0.1:2"], "sync", "exactly one worker"),
    ([], "mergeable", "targets is empty"),
    (["127.0.0.1"], "mergeable", "targets"),
])
def test_set_context_rejects_bad_arguments(targets, mode, match):
    with pytest.raises(ValueError, match=match):
        workers.set_context(targets, mode)


@pytest.mark.parametrize("kwargs, match", [
    ({"target": "127.0.0.1:1,127.0.0.1:2"}, "target must be one"),
    ({"lost_after": 0}, "lost_after"),
    ({"ready_timeout": -1.0}, "ready_timeout"),
])
def test_make_context_rejects_bad_arguments(kwargs, match):
    args = {"target": "127.0.0.1:1", "asynchronous": True, **kwargs}
    with pytest.raises(ValueError, match=match):
        workers.make_context(**args)


# ------------------------------------------------------------------ processes (no TensorFlow)


def test_workers_run_in_their_site_folders_and_stop(tmp_path):
    dirs = [tmp_path / "site0", tmp_path / "site1"]
    for d in dirs:
        d.mkdir()
    with workers.LocalWorkers(site_dirs=dirs) as w:
        pids = w.pids()
        assert len(pids) == 2 and len(w.targets) == 2
        assert wait_until(lambda: all(psutil.Process(p).name() == "worker_binary" for p in pids))
        assert [Path(psutil.Process(p).cwd()) for p in pids] == [d.resolve() for d in dirs]
    assert w.pids() == []
    assert not any(running(p) for p in pids)


def test_workers_die_with_a_parent_that_is_killed(tmp_path):
    """SIGKILL of the process that started the workers: the kernel ends them too."""
    script = textwrap.dedent("""
        import sys, time
        from fedlab import workers
        w = workers.LocalWorkers(2).start()
        print(*w.pids(), flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              text=True, cwd=tmp_path)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2
        assert wait_until(lambda: all(psutil.Process(p).name() == "worker_binary" for p in pids))
        parent.kill()
        parent.wait(10)
        assert wait_until(lambda: not any(running(p) for p in pids)), "workers outlived parent"
    finally:
        parent.kill()
        parent.wait()


# ------------------------------------------------------------------ TFF through the workers


@pytest.fixture(scope="module")
def tff_env():
    """TFF set up as a notebook does; after the tests, back to TFF's normal local context."""
    runtime.setup(verbose=False)
    import numpy as np
    import tensorflow as tf
    import tensorflow_federated as tff

    @tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))
    def total(values):
        return tff.federated_sum(values)

    @tff.tensorflow.computation(np.str_)
    def read_number(path):
        return tf.strings.to_number(tf.io.read_file(path))

    @tff.federated_computation(tff.FederatedType(np.str_, tff.CLIENTS))
    def total_of_files(paths):
        return tff.federated_sum(tff.federated_map(read_number, paths))

    env = {"np": np, "tf": tf, "tff": tff, "total": total, "total_of_files": total_of_files}
    env["local_total"] = float(total([1.0, 2.0, 3.5, 4.0, 5.0]))
    yield env
    runtime.setup(verbose=False)  # leave TFF's normal context for the next test module


def test_a_federated_sum_through_workers_equals_the_local_one(tff_env):
    values = [1.0, 2.0, 3.5, 4.0, 5.0]
    assert tff_env["local_total"] == 15.5
    with workers.LocalWorkers(2) as w:
        workers.set_context(w.targets[:1], "sync", lost_after=LOST_AFTER)
        assert float(tff_env["total"](values)) == tff_env["local_total"]
        workers.set_context(w.targets, "mergeable", lost_after=LOST_AFTER)
        assert float(tff_env["total"](values)) == tff_env["local_total"]
    runtime.setup(verbose=False)


def test_relays_in_front_of_the_workers_count_every_call(tff_env):
    values = [1.0, 2.0, 3.5, 4.0, 5.0]
    with workers.LocalWorkers(2) as w:
        relays = [wire.Relay(t) for t in w.targets]
        try:
            workers.set_context([r.address for r in relays], "mergeable", lost_after=LOST_AFTER)
            for r in relays:
                r.reset()
            assert float(tff_env["total"](values)) == tff_env["local_total"]
            counts = [r.counts() for r in relays]
            assert all(c["to_target"] > 0 and c["from_target"] > 0 for c in counts), counts
            assert all(r.connections >= 1 for r in relays)
            for r in relays:
                r.check()
        finally:
            for r in relays:
                r.close()
    runtime.setup(verbose=False)


def test_each_site_reads_only_its_own_files_and_the_split_is_contiguous(tff_env, tmp_path):
    # 5 clients on 2 workers: TFF's mergeable context sends clients 0-2 (ceil(5/2) = 3) to
    # worker 0 and clients 3-4 to worker 1; each file exists only in its site's folder.
    dirs = [tmp_path / "site0", tmp_path / "site1"]
    for d in dirs:
        d.mkdir()
    values = [1.0, 2.0, 3.5, 4.0, 5.0]
    for i, v in enumerate(values):
        (dirs[0 if i < 3 else 1] / f"client{i}.txt").write_text(str(v))
    names = [f"client{i}.txt" for i in range(5)]
    with workers.LocalWorkers(site_dirs=dirs) as w:
        workers.set_context(w.targets, "mergeable", lost_after=LOST_AFTER)
        assert float(tff_env["total_of_files"](names)) == tff_env["local_total"]
        # a handle on the wrong side of the split: client0.txt is in site0 only
        wrong = names[:4] + names[:1]  # worker 1 gets client3.txt and client0.txt
        with pytest.raises(workers.WorkerError, match=rf"{w.targets[1]} failed: .*client0.txt"
                                                      r".*No such file"):
            tff_env["total_of_files"](wrong)
        # the workers still serve
        assert float(tff_env["total_of_files"](names)) == tff_env["local_total"]
    runtime.setup(verbose=False)


def slow_total(tff_env, iterations: int):
    """A federated sum whose clients each spin `iterations` steps first (seconds of work)."""
    np, tf, tff = tff_env["np"], tff_env["tf"], tff_env["tff"]

    @tff.tensorflow.computation(np.float32)
    def spin(x):
        def body(i, acc):
            noise = tf.random.stateless_normal([100, 100], seed=tf.stack([i, 0]))
            return i + 1, acc + tf.reduce_sum(noise)

        _, acc = tf.while_loop(lambda i, _: i < iterations, body, (0, 0.0))
        return x + tf.cast(acc > 1e30, tf.float32)  # + 0, but the loop must run

    @tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))
    def total(values):
        return tff.federated_sum(tff.federated_map(spin, values))

    return total


def call_with_deadline(fn, deadline: float):
    """Runs fn() in a new thread; returns (result or exception, seconds); fails on a hang.

    TFF's default context is per thread: `fn` must set the context itself."""
    out = {}

    def run():
        start = time.monotonic()
        try:
            out["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - reported to the test
            out["value"] = err
        out["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(deadline)
    assert not thread.is_alive(), f"the call did not return within {deadline} s: it hangs"
    return out["value"], out["seconds"]


def test_a_worker_killed_between_calls_gives_a_clear_error(tff_env):
    total = tff_env["total"]
    with workers.LocalWorkers(2) as w:
        contexts = [workers.make_context(t, asynchronous=True, lost_after=LOST_AFTER)
                    for t in w.targets]

        def use_workers_then(fn):  # in the calling thread (contexts are per thread)
            tff_env["tff"].backends.native.set_mergeable_comp_execution_context(contexts)
            return fn()

        result, _ = call_with_deadline(lambda: use_workers_then(lambda: total([1.0, 2.0])), 60)
        assert float(result) == 3.0
        w.procs[1].send_signal(signal.SIGKILL)
        w.procs[1].wait(10)
        result, seconds = call_with_deadline(
            lambda: use_workers_then(lambda: total([1.0, 2.0])), LOST_AFTER + 30)
        assert isinstance(result, workers.WorkerLostError), result
        assert w.targets[1] in str(result) and "unreachable" in str(result)
        # the next call fails at once: the context remembers the lost worker
        result, seconds = call_with_deadline(
            lambda: use_workers_then(lambda: total([1.0, 2.0])), 30)
        assert isinstance(result, workers.WorkerLostError) and seconds < LOST_AFTER, result


def test_a_worker_killed_mid_computation_gives_a_clear_error(tff_env):
    """Without fedlab's check TFF 0.87 retries the call forever: the notebook would hang."""
    total = slow_total(tff_env, iterations=200_000)  # far longer than the test waits
    with workers.LocalWorkers(1) as w:
        worker = psutil.Process(w.procs[0].pid)
        cpu_before = sum(worker.cpu_times()[:2])

        def kill_once_busy():  # kill when the worker has spent 0.5 s computing this call
            if wait_until(lambda: sum(worker.cpu_times()[:2]) > cpu_before + 0.5, 60):
                worker.send_signal(signal.SIGKILL)

        def call():
            workers.set_context(w.targets, "sync", lost_after=LOST_AFTER)
            threading.Thread(target=kill_once_busy, daemon=True).start()
            return total([1.0, 2.0])

        result, seconds = call_with_deadline(call, 60 + LOST_AFTER + 30)
        assert isinstance(result, workers.WorkerLostError), result
        assert w.targets[0] in str(result)
        assert wait_until(lambda: not running(worker.pid), 10)


def test_back_to_the_normal_local_context_after_the_workers(tff_env):
    with workers.LocalWorkers(1) as w:
        workers.set_context(w.targets, "sync", lost_after=LOST_AFTER)
        assert float(tff_env["total"]([1.0, 2.0])) == 3.0
    tff = tff_env["tff"]
    tff.backends.native.set_sync_local_cpp_execution_context()
    assert float(tff_env["total"]([1.0, 2.0])) == 3.0
    runtime.setup(verbose=False)
    assert float(tff_env["total"]([1.0, 2.0])) == 3.0
    assert runtime.worker_pids(), "TFF's own worker runs again"
