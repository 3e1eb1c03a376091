"""fedlab.runtime: arguments, and TFF's worker process never outliving its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest
from jupyter_client.manager import start_new_kernel

from fedlab import runtime

START_TFF = textwrap.dedent(
    """
    import numpy as np
    from fedlab import runtime
    runtime.setup(seed=0, verbose=False)
    import tensorflow_federated as tff

    @tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))
    def mean(x):
        return tff.federated_mean(x)

    assert mean([1.0, 2.0, 3.0]) == 2.0
    print("WORKERS", *runtime.worker_pids(), flush=True)
    """
)


def _gone(pids: list[int], timeout: float = 15.0) -> bool:
    """True once none of `pids` runs any more (a zombie counts as gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive:
            return True
        time.sleep(0.2)
    return False


def _worker_pids(text: str) -> list[int]:
    line = next(line for line in text.splitlines() if line.startswith("WORKERS"))
    return [int(pid) for pid in line.split()[1:]]


def test_setup_rejects_unknown_context():
    with pytest.raises(ValueError, match="context must be one of"):
        runtime.setup(context="secure")


@pytest.mark.parametrize("seed, error", [
    (-1, ValueError), (2**32, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)])
def test_setup_rejects_bad_seed(seed, error):
    with pytest.raises(error, match="seed must be an integer between 0 and 4294967295, got"):
        runtime.setup(seed=seed)


@pytest.mark.parametrize("ending", ["", "raise RuntimeError('the script failed')"])
def test_worker_ends_with_script(ending):
    proc = subprocess.run(
        [sys.executable, "-c", START_TFF + ending], capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == (1 if ending else 0), proc.stderr[-2000:]
    pids = _worker_pids(proc.stdout)
    assert len(pids) == 1
    assert _gone(pids), f"TFF worker {pids} outlived its script"


def test_worker_ends_when_script_is_killed():
    proc = subprocess.Popen(
        [sys.executable, "-c", START_TFF + "import time; time.sleep(600)"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = next(line for line in proc.stdout if line.startswith("WORKERS"))
        pids = _worker_pids(line)
        assert psutil.pid_exists(pids[0])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert _gone(pids), f"TFF worker {pids} outlived a script killed with SIGKILL"


def test_script_piped_to_another_program_exits(tmp_path):
    """The worker used to hold the script's stdout open, so `python script.py | tail` hung."""
    script = tmp_path / "script.py"
    script.write_text(START_TFF)
    pipeline = f"{sys.executable} {script} | tail -n 1"
    out = subprocess.run(["bash", "-c", pipeline], capture_output=True, text=True, timeout=180)
    assert out.stdout.startswith("WORKERS")


def _run_in_kernel(client, code: str, timeout: float = 180) -> str:
    """Executes `code` in a kernel and returns what it printed."""
    printed = []
    reply = client.execute_interactive(
        code, timeout=timeout,
        output_hook=lambda msg: printed.append(msg["content"].get("text", ""))
        if msg["msg_type"] == "stream" else None,
    )
    assert reply["content"]["status"] in ("ok", "error")
    return "".join(printed)


@pytest.fixture
def kernel():
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=120)
    yield manager, client
    client.stop_channels()
    if manager.is_alive():
        manager.shutdown_kernel(now=True)


def test_worker_ends_with_interrupted_kernel(kernel):
    manager, client = kernel
    pids = _worker_pids(_run_in_kernel(client, START_TFF))
    # stop_on_error=False: the interrupt must not make the kernel abort the next request.
    msg_id = client.execute("import time; time.sleep(600)", stop_on_error=False)
    time.sleep(2)
    manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=60)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    # TFF still works after the interrupt (it restarts its worker if the interrupt stopped it).
    pids += _worker_pids(_run_in_kernel(client, "assert mean([2.0, 4.0]) == 3.0\n"
                                        "print('WORKERS', *runtime.worker_pids(), flush=True)"))
    manager.shutdown_kernel(now=False)
    assert _gone(pids), f"TFF workers {pids} outlived an interrupted kernel"


def test_worker_ends_with_killed_kernel(kernel):
    manager, client = kernel
    pids = _worker_pids(_run_in_kernel(client, START_TFF))
    assert len(pids) == 1
    os.kill(manager.provisioner.process.pid, signal.SIGKILL)
    assert _gone(pids), f"TFF worker {pids} outlived a kernel killed with SIGKILL"


def test_second_setup_replaces_the_worker():
    code = START_TFF + textwrap.dedent(
        """
        first = runtime.worker_pids()
        runtime.setup(seed=1, context="test", verbose=False)
        assert runtime.worker_pids() == [], runtime.worker_pids()
        assert mean([1.0, 3.0]) == 2.0
        print("WORKERS", *(first + runtime.worker_pids()), flush=True)
        """
    )
    code += "import gc; del mean; gc.collect()\n"  # runs TFF's finalizer for the first worker
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=180, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    pids = _worker_pids(proc.stdout.splitlines()[-1])
    assert len(pids) == 2 and _gone(pids)
    assert "Exception ignored" not in proc.stderr, proc.stderr[-2000:]


@pytest.mark.parametrize("preset, expected", [(None, "2"), ("4", "4")])
def test_worker_gets_the_malloc_arena_limit(preset, expected):
    """TFF's worker runs with MALLOC_ARENA_MAX=2 unless the environment already sets it."""
    code = START_TFF + textwrap.dedent(
        """
        pid = runtime.worker_pids()[0]
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(item.split(b"=", 1) for item in f.read().split(b"\\0") if b"=" in item)
        print("ARENAS", env.get(b"MALLOC_ARENA_MAX", b"unset").decode(), flush=True)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    if preset is not None:
        env["MALLOC_ARENA_MAX"] = preset
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=180, env=dict(env, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("ARENAS"))
    assert line.split()[1] == expected


@pytest.mark.parametrize("preset, expected", [(None, "ERROR"), ("INFO", "INFO")])
def test_grpc_logs_only_errors_unless_told_otherwise(preset, expected):
    """setup() sets GRPC_VERBOSITY before TFF loads gRPC: its fork warnings stay off stderr."""
    code = ("import os, sys\nfrom fedlab import runtime\nruntime.setup(seed=0, verbose=False)\n"
            "print('GRPC', os.environ.get('GRPC_VERBOSITY'), 'grpc' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "GRPC_VERBOSITY"}
    if preset is not None:
        env["GRPC_VERBOSITY"] = preset
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("GRPC"))
    assert line.split()[1:] == [expected, "True"]  # set, and gRPC was loaded after it


def test_tensorflow_logs_only_errors_in_an_interactive_session():
    """In a kernel (sys.ps1 set) TensorFlow resets its logger to INFO when first asked for it."""
    code = ("import logging, sys\nsys.ps1 = '>>> '\nfrom fedlab import runtime\n"
            "runtime.setup(seed=0, verbose=False)\nimport tensorflow as tf\n"
            "print('LEVEL', logging.getLevelName(tf.get_logger().level))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "LEVEL ERROR" in proc.stdout.splitlines()


def test_leftover_worker_check_sees_a_running_worker(tmp_path):
    """The end-of-run check (tests/notebook_report.py) must be able to fail."""
    from notebook_report import leftover_workers

    since = time.time()
    fake = tmp_path / "worker_binary"
    fake.write_bytes(open("/bin/sleep", "rb").read())
    fake.chmod(0o755)
    proc = subprocess.Popen([str(fake), "60"])
    try:
        assert [p.pid for p in leftover_workers(since, timeout=0)] == [proc.pid]
    finally:
        proc.kill()
        proc.wait()
    assert leftover_workers(since, timeout=0) == []


@pytest.mark.parametrize("attribute, value, match", [
    ("platform", "darwin", "needs Linux on x86-64; this is darwin"),
    ("version_info", (3, 12, 1), "needs Python 3.11; this is Python"),
])
def test_check_platform_says_what_is_needed(monkeypatch, attribute, value, match):
    monkeypatch.setattr(runtime.sys, attribute, value)
    with pytest.raises(RuntimeError, match=match):
        runtime.check_platform()


@pytest.mark.parametrize("value", ["no", 0, None])
def test_setup_rejects_a_determinism_switch_that_is_not_a_bool(value):
    with pytest.raises(TypeError, match="deterministic_ops must be True or False"):
        runtime.setup(deterministic_ops=value)


DP_AGGREGATOR = textwrap.dedent(
    """
    import numpy as np
    from fedlab import runtime
    import tensorflow_federated as tff
    from tensorflow.python.framework import config as tf_config

    def dp_sum_of_zeros():
        factory = tff.aggregators.DifferentiallyPrivateFactory.gaussian_fixed(
            noise_multiplier=1.0, clients_per_round=2.0, clip=1.0)
        process = factory.create(tff.TensorType(np.float32, [1000]))
        return process.next(process.initialize(), [np.zeros(1000, np.float32)] * 2).result

    runtime.setup(seed=0, verbose=False)
    print("ON", tf_config.is_op_determinism_enabled(), flush=True)
    try:
        dp_sum_of_zeros()
    except RuntimeError as error:
        print("REFUSED", "Random ops require a seed" in str(error), flush=True)
    runtime.setup(seed=0, verbose=False, deterministic_ops=False)
    print("OFF", tf_config.is_op_determinism_enabled(), flush=True)
    noise = dp_sum_of_zeros()
    print("NOISE STD", round(float(np.std(noise)), 1), flush=True)
    runtime.setup(seed=0, verbose=False)
    print("ON AGAIN", tf_config.is_op_determinism_enabled(), flush=True)
    """
)


def test_determinism_switch_lets_a_dp_aggregator_run():
    # Deterministic ops (the default) refuse the unseeded random op that draws TFF's DP noise;
    # deterministic_ops=False lets it run, with the noise std z * clip / clients_per_round.
    proc = subprocess.run(
        [sys.executable, "-c", DP_AGGREGATOR], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert "ON True" in lines
    assert "REFUSED True" in lines
    assert "OFF False" in lines
    assert "NOISE STD 0.5" in lines
    assert "ON AGAIN True" in lines
