"""Shared helpers of the benchmarks: records, memory readings, child processes, progress lines.

Every benchmark that touches TensorFlow runs in a fresh child process (`run_child`), so that
its peak memory is its own and TFF's traced computations, executors and worker do not carry
over from one measurement to the next. A child writes its records as JSON to a file named by
`--out`; its stdout and stderr go to the parent's stderr, so stdout carries only the table.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

# Every record has these keys (None where a key does not apply, e.g. clients for a notebook).
REQUIRED_KEYS = ("benchmark", "implementation", "clients_per_round", "seconds_per_round",
                 "peak_rss_mb")
STATUSES = ("ok", "skipped", "error")


def progress(message: str) -> None:
    """A progress line on stderr (stdout is reserved for the table)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def record(benchmark: str, implementation: str, clients_per_round: int | None,
           seconds_per_round: float | None, peak_rss_mb: float | None, *,
           status: str = "ok", reason: str | None = None, **details: Any) -> dict:
    """One entry of results.json: the required keys first, then `status`, then details."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    rec = {"benchmark": benchmark, "implementation": implementation,
           "clients_per_round": clients_per_round, "seconds_per_round": seconds_per_round,
           "peak_rss_mb": peak_rss_mb, "status": status}
    if reason is not None:
        rec["reason"] = reason
    rec.update(details)
    return rec


def median_after_first(seconds: Sequence[float]) -> float | None:
    """Median round time without the first round (which traces and compiles); None if < 2."""
    rest = list(seconds)[1:]
    return statistics.median(rest) if rest else None


# ------------------------------------------------------------------ memory


def _status_kb(pid: int, field: str) -> int | None:
    """A `kB` field of /proc/PID/status (VmHWM: peak resident set; VmRSS: current), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def peak_rss_mb(pid: int | None = None) -> float | None:
    """Peak resident set size (the kernel's VmHWM) of one process, in MB (10^6 bytes)."""
    kb = _status_kb(os.getpid() if pid is None else pid, "VmHWM")
    return None if kb is None else kb * 1024 / 1e6


def rss_mb(pid: int | None = None) -> float | None:
    """Current resident set size (VmRSS) of one process, in MB."""
    kb = _status_kb(os.getpid() if pid is None else pid, "VmRSS")
    return None if kb is None else kb * 1024 / 1e6


def memory_of(pids: Sequence[int]) -> dict[str, float | None]:
    """Peak and current RSS of this process plus `pids` (e.g. TFF workers), in MB.

    `peak_rss_mb` adds up each process's own peak: the processes may peak at different times,
    so the sum is an upper bound of the peak of their total (exact when there is one process).
    """
    python_peak, python_now = peak_rss_mb(), rss_mb()
    worker_peaks = [peak_rss_mb(p) for p in pids]
    worker_nows = [rss_mb(p) for p in pids]
    worker_peak = sum(v for v in worker_peaks if v is not None) if pids else None
    worker_now = sum(v for v in worker_nows if v is not None) if pids else None
    return {
        "peak_rss_mb": python_peak + (worker_peak or 0.0),
        "rss_mb": python_now + (worker_now or 0.0),
        "peak_rss_python_mb": python_peak,
        "peak_rss_workers_mb": worker_peak,
    }


def cpu_seconds(pid: int | None = None) -> float | None:
    """User + system CPU seconds used so far by one process (from /proc/PID/stat)."""
    try:
        with open(f"/proc/{os.getpid() if pid is None else pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15)


# ------------------------------------------------------------------ child processes


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONUNBUFFERED"] = "1"
    # No PYTHONPATH: a child runs as `python -m benchmarks.NAME` from the repository's root
    # (run_child's cwd), which puts the package on its path; fedlab is installed.
    return env


def _die_with_parent(parent_pid: int) -> None:
    """`preexec_fn` of a benchmark's child: Linux kills the child (SIGKILL) when its parent ends.

    fedlab does the same for the processes it starts, privately; the benchmarks keep their own.
    """
    pr_set_pdeathsig = 1  # from <linux/prctl.h>
    if ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(127)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(0)


def run_child(args: Sequence[str], timeout: float, what: str) -> list[dict] | str:
    """Runs `python args... --out FILE` in a fresh process; its records, or an error message.

    The child's output goes to this process's stderr. It is killed if this process dies, and
    on timeout; its TFF workers die with it (`fedlab.runtime.setup` and `remote_workers.py` ask
    the kernel for that), and so do its own children (started here too).
    """
    parent = os.getpid()
    with tempfile.TemporaryDirectory(prefix="fedlab-bench-") as tmp:
        out = Path(tmp, "records.json")
        cmd = [sys.executable, *args, "--out", str(out)]
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr, env=child_env(),
                                  timeout=timeout, cwd=ROOT,
                                  preexec_fn=lambda: _die_with_parent(parent))
        except subprocess.TimeoutExpired:
            return f"{what}: timed out after {timeout:.0f} s"
        if out.exists():  # a child that fails part-way writes error records for that part
            if proc.returncode != 0:
                progress(f"{what}: exited with status {proc.returncode}; keeping its records")
            return json.loads(out.read_text())
        if proc.returncode != 0:
            return (f"{what}: exited with status {proc.returncode} after "
                    f"{time.monotonic() - start:.0f} s (its traceback is on stderr above)")
        return f"{what}: wrote no records"


def write_records(path: str | os.PathLike, records: list[dict]) -> None:
    Path(path).write_text(json.dumps(records, indent=1, default=float) + "\n")


def check_schema(records: list[dict]) -> list[str]:
    """Problems with `records` as results.json promises them; empty when they are fine."""
    problems = []
    if not isinstance(records, list):
        return [f"results must be a list of records, got {type(records).__name__}"]
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            problems.append(f"record {i} is not an object")
            continue
        missing = [k for k in REQUIRED_KEYS if k not in rec]
        if missing:
            problems.append(f"record {i} ({rec.get('benchmark')}) lacks {missing}")
        if rec.get("status") not in STATUSES:
            problems.append(f"record {i} has status {rec.get('status')!r}")
        for key in ("seconds_per_round", "peak_rss_mb"):
            value = rec.get(key)
            if value is not None and not (isinstance(value, (int, float)) and value >= 0):
                problems.append(f"record {i}: {key} = {value!r} is not a number >= 0 or null")
        cpr = rec.get("clients_per_round")
        if cpr is not None and not (isinstance(cpr, int) and cpr >= 1):
            problems.append(f"record {i}: clients_per_round = {cpr!r} is not an integer >= 1")
    return problems


def child_or_parent_main(argv, parse_args, run_child, run_all, print_table) -> None:
    """The `main` of a benchmark script that runs each configuration in a child of itself:
    `--child` runs one configuration (`run_child(args)`), otherwise `run_all(args)` starts the
    children and prints their table. Records go to `--out`; any error record exits with 1."""
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    args = parse_args(argv)
    if args.child:
        records = run_child(args)
    else:
        records = run_all(args)
        print_table(records)
    if args.out:
        write_records(args.out, records)
    if any(r["status"] == "error" for r in records):
        sys.exit(1)
