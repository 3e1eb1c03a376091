"""Tests of fedlab.program: pure client selection, resuming, exactly-once metrics, bad checkpoints.

One test runs the program as a process of its own, kills it with SIGKILL and starts it again.
"""

from __future__ import annotations

import asyncio
import csv
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from fedlab import program

NUM_FEATURES, NUM_CLASSES, NUM_CLIENTS, CLIENTS_PER_ROUND = 64, 10, 8, 3
OPTIONS = dict(local_epochs=1, batch_size=10, client_lr=0.3)


@pytest.fixture(scope="module")
def tff_setup():
    from fedlab import runtime

    runtime.setup(seed=0, verbose=False)


@pytest.fixture(scope="module")
def clients(tmp_path_factory, tff_setup):
    """Paths of NUM_CLIENTS client files of digits, and the folder that holds them."""
    from fedlab import clientfiles, data, partition

    x, y, _ = data.load_dataset("digits")
    folder = tmp_path_factory.mktemp("clients")
    names = clientfiles.write_client_files(
        folder, x[:400] / 16, y[:400], partition.iid_partition(400, NUM_CLIENTS, seed=0))
    return folder, [str(folder / name) for name in names]


def _process(**overrides):
    from fedlab import fedavg

    kwargs = dict(OPTIONS, **overrides)
    num_features = kwargs.pop("num_features", NUM_FEATURES)
    return fedavg.build_fedavg_process(num_features, NUM_CLASSES, **kwargs)


@pytest.fixture(scope="module")
def fedavg_program(tff_setup):
    process = _process()
    return process, program.build_round(process, NUM_FEATURES)


def _run(fedavg_program, clients, output_dir, num_rounds):
    process, round_fn = fedavg_program
    return asyncio.run(program.run_program(
        round_fn, process.initialize(), clients[1], output_dir, num_rounds=num_rounds,
        clients_per_round=CLIENTS_PER_ROUND, seed=0, log=lambda line: None))


def _csv_rounds(output_dir) -> list[int]:
    with open(output_dir / program.METRICS_CSV) as f:
        return [int(row["round_num"]) for row in csv.DictReader(f)]


def _same(a, b) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(a.weights, b.weights))


# ------------------------------------------------------------ select_clients


def test_select_clients_is_a_pure_function_of_the_round():
    first = [program.select_clients(20, 5, r, seed=0) for r in range(1, 30)]
    again = [program.select_clients(20, 5, r, seed=0) for r in reversed(range(1, 30))][::-1]
    assert first == again
    assert len({tuple(c) for c in first}) > 20  # rounds differ
    for cohort in first:
        assert cohort == sorted(set(cohort)) and len(cohort) == 5
        assert 0 <= cohort[0] and cohort[-1] < 20
    assert program.select_clients(20, 5, 1, seed=1) != program.select_clients(20, 5, 1, seed=0)
    assert program.select_clients(4, 4, 7, seed=0) == [0, 1, 2, 3]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_clients=0), ValueError, "num_clients must be an integer >= 1, got 0"),
    (dict(clients_per_round=21), ValueError,
     "clients_per_round must be an integer between 1 and 20"),
    (dict(round_num=0), ValueError, "round_num must be an integer >= 1, got 0"),
    (dict(seed=-1), ValueError, "seed must be an integer >= 0, got -1"),
    (dict(round_num=1.5), TypeError, "round_num must be an integer >= 1, got 1.5"),
])
def test_select_clients_rejects_bad_arguments(kwargs, error, match):
    args = {**dict(num_clients=20, clients_per_round=5, round_num=1, seed=0), **kwargs}
    with pytest.raises(error, match=match):
        program.select_clients(**args)


# ------------------------------------------------------------ resuming in one process


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path, clients, fedavg_program):
    full = _run(fedavg_program, clients, tmp_path / "full", 5)
    _run(fedavg_program, clients, tmp_path / "split", 2)
    resumed = _run(fedavg_program, clients, tmp_path / "split", 5)
    assert int(resumed.round_num) == 5 and _same(full, resumed)
    assert _csv_rounds(tmp_path / "split") == [1, 2, 3, 4, 5] == _csv_rounds(tmp_path / "full")
    assert (tmp_path / "full" / program.METRICS_CSV).read_text() == \
        (tmp_path / "split" / program.METRICS_CSV).read_text()


def test_a_round_released_but_not_saved_appears_once(tmp_path, clients, fedavg_program):
    """Killed between releasing round 3's metrics and saving its state: round 3 runs again."""
    full = _run(fedavg_program, clients, tmp_path / "full", 4)
    _run(fedavg_program, clients, tmp_path / "cut", 3)
    shutil.rmtree(tmp_path / "cut" / program.STATE_DIR / f"{program.STATE_PREFIX}3")
    assert _csv_rounds(tmp_path / "cut") == [1, 2, 3]  # round 3's row is already there
    resumed = _run(fedavg_program, clients, tmp_path / "cut", 4)
    assert _csv_rounds(tmp_path / "cut") == [1, 2, 3, 4]
    assert _same(full, resumed)


def test_a_program_killed_before_round_1_was_saved_resumes(tmp_path, clients, fedavg_program):
    """Only round 0's state on disk (killed during round 1): the restart runs from round 1."""
    full = _run(fedavg_program, clients, tmp_path / "full", 2)
    _run(fedavg_program, clients, tmp_path / "cut", 1)
    shutil.rmtree(tmp_path / "cut" / program.STATE_DIR / f"{program.STATE_PREFIX}1")
    resumed = _run(fedavg_program, clients, tmp_path / "cut", 2)
    assert _same(full, resumed) and _csv_rounds(tmp_path / "cut") == [1, 2]


def test_a_finished_program_runs_no_more_rounds(tmp_path, clients, fedavg_program):
    first = _run(fedavg_program, clients, tmp_path, 2)
    again = _run(fedavg_program, clients, tmp_path, 2)
    assert _same(first, again) and _csv_rounds(tmp_path) == [1, 2]


def test_run_program_rejects_bad_arguments(tmp_path, clients, fedavg_program):
    process, round_fn = fedavg_program
    with pytest.raises(ValueError, match="clients_per_round must be an integer between 1 and 8"):
        asyncio.run(program.run_program(round_fn, process.initialize(), clients[1], tmp_path,
                                        num_rounds=2, clients_per_round=9))
    with pytest.raises(ValueError, match="client_paths must hold at least 1 client file"):
        asyncio.run(program.run_program(round_fn, process.initialize(), [], tmp_path,
                                        num_rounds=2, clients_per_round=1))
    with pytest.raises(ValueError, match="num_rounds must be an integer >= 1"):
        asyncio.run(program.run_program(round_fn, process.initialize(), clients[1], tmp_path,
                                        num_rounds=0, clients_per_round=2))


# ------------------------------------------------------------ bad checkpoints


def test_no_saved_state_starts_at_round_0(tmp_path, fedavg_program):
    initial = fedavg_program[0].initialize()
    state, round_num = asyncio.run(program.load_latest_state(tmp_path / "none", initial))
    assert round_num == 0 and state is initial


def _truncate(path):
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])


def _scribble(path):
    blob = bytearray(path.read_bytes())
    blob[40:80] = b"\xff" * 40
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("damage", [
    lambda d: _truncate(d / "saved_model.pb"),
    lambda d: _truncate(d / "variables" / "variables.data-00000-of-00001"),
    lambda d: _scribble(d / "variables" / "variables.data-00000-of-00001"),
    lambda d: _truncate(d / "variables" / "variables.index"),
    lambda d: (shutil.rmtree(d), d.mkdir()),
], ids=["pb truncated", "data truncated", "data scribbled", "index truncated", "empty folder"])
def test_a_damaged_checkpoint_is_one_error_naming_it(tmp_path, clients, fedavg_program, damage):
    _run(fedavg_program, clients, tmp_path, 2)
    latest = tmp_path / program.STATE_DIR / f"{program.STATE_PREFIX}2"
    damage(latest)
    with pytest.raises(program.CheckpointError, match="resume from round 1") as err:
        _run(fedavg_program, clients, tmp_path, 3)
    assert str(latest) in str(err.value)
    assert _csv_rounds(tmp_path) == [1, 2]  # nothing was re-run from round 0


@pytest.mark.parametrize("other", [dict(num_features=32), dict(hidden_units=8)],
                         ids=["other shapes", "other structure"])
def test_a_checkpoint_of_another_model_is_refused(tmp_path, fedavg_program, other):
    from tensorflow_federated import program as tff_program

    state_dir = tmp_path / program.STATE_DIR
    asyncio.run(tff_program.FileProgramStateManager(state_dir).save(
        _process(**other).initialize(), 0))
    with pytest.raises(program.CheckpointError, match="another") as err:
        asyncio.run(program.load_latest_state(state_dir, fedavg_program[0].initialize()))
    assert str(state_dir / f"{program.STATE_PREFIX}0") in str(err.value)


# ------------------------------------------------------------ a real crash


def _command(clients, output_dir, num_rounds, parent_pid):
    return [sys.executable, "-m", "fedlab.program", str(clients[0]), str(output_dir),
            "--num-rounds", str(num_rounds), "--clients-per-round", str(CLIENTS_PER_ROUND),
            "--parent-pid", str(parent_pid)]


def _start(clients, output_dir, num_rounds):
    with open(output_dir.parent / f"{output_dir.name}.log", "a") as log:
        return subprocess.Popen(_command(clients, output_dir, num_rounds, os.getpid()),
                                stdout=log, stderr=subprocess.STDOUT)


def _ended(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE  # ended; its new parent has not reaped it
    except psutil.NoSuchProcess:
        return True


def _wait_ended(procs, timeout=15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not all(_ended(p) for p in procs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _wait_for(path, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        running = proc.poll() is None if hasattr(proc, "poll") else not _ended(proc)
        assert running, "the program ended before it saved the state waited for"
        assert time.monotonic() < deadline, f"no {path.name} after {timeout} s"
        time.sleep(0.02)


def test_sigkill_and_restart_give_the_uninterrupted_weights(tmp_path, clients, fedavg_program):
    num_rounds = 8
    output_dir = tmp_path / "crash"
    output_dir.mkdir()
    proc = _start(clients, output_dir, num_rounds)
    try:
        _wait_for(output_dir / program.STATE_DIR / f"{program.STATE_PREFIX}2", proc)
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
                   if p.name() == "worker_binary"]
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(workers) == 1 and _wait_ended(workers)  # the program's worker died with it
    killed_at = max(int(p.name.removeprefix(program.STATE_PREFIX))
                    for p in (output_dir / program.STATE_DIR).iterdir()
                    if p.name.removeprefix(program.STATE_PREFIX).isdigit())
    assert 2 <= killed_at < num_rounds

    proc = _start(clients, output_dir, num_rounds)
    try:
        assert proc.wait(180) == 0
    finally:
        proc.kill()
        proc.wait()
    log = (tmp_path / "crash.log").read_text()
    assert f"resumed after round {killed_at}" in log
    resumed, _ = asyncio.run(program.load_latest_state(output_dir / program.STATE_DIR,
                                                       fedavg_program[0].initialize()))
    full = _run(fedavg_program, clients, tmp_path / "full", num_rounds)
    assert int(resumed.round_num) == num_rounds and _same(full, resumed)
    assert _csv_rounds(output_dir) == list(range(1, num_rounds + 1))


def test_the_program_ends_when_its_parent_ends(tmp_path, clients):
    """--parent-pid: a parent killed with SIGKILL takes the program and its worker with it."""
    output_dir = tmp_path / "orphan"
    command = _command(clients, output_dir, 1000, "PARENT")
    code = (f"import os, subprocess, time; cmd = {command!r}; "
            "cmd[-1] = str(os.getpid()); p = subprocess.Popen(cmd); print(p.pid, flush=True); "
            "time.sleep(600)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = psutil.Process(int(parent.stdout.readline()))
        _wait_for(output_dir / program.STATE_DIR / f"{program.STATE_PREFIX}1", child)
        workers = [p for p in child.children(recursive=True) if p.name() == "worker_binary"]
        parent.kill()
        parent.wait()
        assert _wait_ended([child] + workers)
        assert len(workers) == 1
    finally:
        parent.kill()
        parent.wait()
        if child is not None and not _ended(child):
            child.kill()


def test_the_command_line_refuses_a_folder_without_client_files(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "fedlab.program", str(tmp_path), str(tmp_path),
                           "--num-rounds", "2", "--clients-per-round", "1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "holds no *.tfrecord files" in proc.stderr


# ------------------------------------------------------------ the end-of-run check


def test_leftover_check_sees_a_running_program():
    """The end-of-run check (tests/notebook_report.py) must be able to fail for programs too."""
    from notebook_report import is_program, leftover_workers

    assert is_program(["python", "-m", "fedlab.program", "a", "b"])
    assert not is_program(["python", "-m", "pytest", "tests/test_program.py"])
    since = time.time()
    code = "import time; time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code, "-m", "fedlab.program"])
    try:
        while "fedlab.program" not in psutil.Process(proc.pid).cmdline():  # until exec is done
            time.sleep(0.01)
        found = leftover_workers(since, timeout=0, programs=True)
        assert [p.pid for p in found] == [proc.pid]
        assert leftover_workers(since, timeout=0) == []  # workers only
    finally:
        proc.kill()
        proc.wait()
    assert leftover_workers(since, timeout=0, programs=True) == []
