"""Run the same TFF round across several TFF worker processes, and time it.

TFF's default local context starts ONE C++ `worker_binary` and sends it every computation
over gRPC on a localhost port. The same binary is a TFF executor service that any process
can reach at HOST:PORT. This script:

1. starts N `worker_binary` processes on 127.0.0.1 (free ports), or uses workers that are
   already running somewhere (`--targets HOST:PORT,...`);
2. builds one TFF execution context per worker (a `tff.framework.RemoteExecutor` on a gRPC
   channel to it; `fedlab.workers` holds these pieces) and, for more than one worker, TFF's
   `tff.backends.native.create_mergeable_comp_execution_context` over them: each round is
   compiled to "mergeable" form, the clients are split into one sub-round per worker, the
   workers run their sub-rounds concurrently, and the partial aggregates are merged;
3. runs the course's FedAvg (`fedlab.fedavg.build_fedavg_process`, or TFF's
   `build_weighted_fed_avg` with `--impl tff_learning`) on the same workload as the `rounds`
   benchmark (see bench_rounds.py) and records the round time with 1, 2, 4 workers.

TFF 0.87 has no ready-made "remote" context (`set_sync_remote_cpp_execution_context` exists in
older or newer releases, not in this one); the contexts here are built from the public
`tff.framework` pieces, the way `tff.backends.native.create_sync_local_cpp_execution_context`
builds its own, minus starting the worker.

Usage:
    .venv/bin/python -m benchmarks.remote_workers                     # 1, 2, 4 local workers
    .venv/bin/python -m benchmarks.remote_workers --workers 1,2 --clients-per-round 10 --rounds 3
    .venv/bin/python -m benchmarks.remote_workers --targets 10.0.0.5:8000,10.0.0.6:8000

On other hosts, start a worker with the binary of the same TFF version (0.87.0) and Python
environment (e.g. `make env` there), on a port of your choice:
    .venv/lib/python3.11/site-packages/tensorflow_federated/data/worker_binary --port=8000
It serves unauthenticated, unencrypted gRPC on every interface of that host: anyone who can
reach the port can make it run TensorFlow graphs. Keep it on a private network or behind a
firewall, or reach it through an SSH tunnel (`ssh -N -L 8000:127.0.0.1:8000 host`, then
`--targets 127.0.0.1:8000`). Workers started by this script are stopped when it ends, however
it ends (try/finally, and the kernel kills them if this process dies: PR_SET_PDEATHSIG);
workers given with --targets are never stopped by it.
"""

from __future__ import annotations

import argparse

from benchmarks import bench_common as common
from fedlab.workers import LocalWorkers, parse_targets, set_context


def run_config(args) -> list[dict]:
    """One configuration, in this process: start (or reach) the workers, run the rounds."""
    from benchmarks import bench_rounds

    extra = {"mode": args.mode}

    def measure(targets, pids_fn, workers_started_here):
        def after_setup():
            set_context(targets, args.mode)

        extra.update(workers=len(targets), workers_started_here=workers_started_here,
                     targets=targets)
        records = bench_rounds.run(args, after_setup=after_setup, worker_pids=pids_fn,
                                   extra=extra)
        from fedlab import runtime

        for rec in records:  # the context replaced TFF's own: it must not have started one
            rec["tff_default_workers_started"] = len(runtime.worker_pids())
        return records

    if args.targets:
        return measure(parse_targets(args.targets), lambda: [], False)
    with LocalWorkers(args.local_workers, verbose=args.verbose) as workers:
        return measure(workers.targets, workers.pids, True)


def print_table(records: list[dict]) -> None:
    print(f"{'impl':13s} {'workers':>7s} {'mode':10s} {'clients/round':>13s} {'s/round':>8s} "
          f"{'x 1 worker':>10s} {'peak RSS MB':>11s}")
    base = next((r["seconds_per_round"] for r in records
                 if r.get("workers") == 1 and r.get("mode") == "sync" and r["status"] == "ok"),
                None)
    for r in records:
        if r["status"] != "ok":
            print(f"{r['implementation']:13s} {r.get('workers', '?')!s:>7s} "
                  f"{r.get('mode', '?'):10s} {r['status']}: {r.get('reason', '')}")
            continue
        ratio = (f"{r['seconds_per_round'] / base:10.2f}" if base and r["seconds_per_round"]
                 else " " * 10)
        print(f"{r['implementation']:13s} {r['workers']:7d} {r['mode']:10s} "
              f"{r['clients_per_round']:13d} {r['seconds_per_round']:8.3f} {ratio} "
              f"{r['peak_rss_mb']:11.0f}")


def run_all(args) -> list[dict]:
    """Every configuration, each in a fresh child process (its own workers and memory)."""
    if args.targets:  # the given workers, all together; 'sync' needs exactly one
        count = len(parse_targets(args.targets))
        configs = [(count, args.mode if count == 1 else "mergeable")]
    else:  # one worker through the plain context too, then the mergeable context
        configs = ([(1, "sync")] if 1 in args.workers else []) + \
                  [(k, "mergeable") for k in args.workers]
    records = []
    for count, mode in configs:
        common.progress(f"remote_workers: {count} worker(s), {mode}")
        child = ["-m", "benchmarks.remote_workers", "--child", "--mode", mode,
                 "--impl", args.impl, "--clients-per-round", str(args.clients_per_round),
                 "--rounds", str(args.rounds), "--num-clients", str(args.num_clients),
                 "--local-epochs", str(args.local_epochs), "--batch-size", str(args.batch_size),
                 "--client-lr", str(args.client_lr), "--seed", str(args.seed)]
        child += ["--targets", args.targets] if args.targets else ["--local-workers", str(count)]
        result = common.run_child(child, timeout=args.timeout, what=f"{count} worker(s) {mode}")
        if isinstance(result, str):
            records.append(common.record("remote_workers", args.impl, args.clients_per_round,
                                         None, None, status="error", reason=result,
                                         workers=count, mode=mode))
        else:
            records.extend(result)
    return records


def parse_args(argv=None):
    from benchmarks import bench_rounds

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    bench_rounds.add_workload_args(p, impls=("fedlab", "tff_learning"), default_impl="fedlab")
    p.add_argument("--workers", default=None,
                   type=lambda s: sorted({int(v) for v in s.split(",") if v}),
                   help="numbers of local workers to compare (default 1,2,4)")
    p.add_argument("--targets", help="HOST:PORT,... of running workers to use instead of "
                                     "starting local ones")
    p.add_argument("--mode", choices=("sync", "mergeable"), default="mergeable",
                   help="with --targets and one target: 'sync' uses TFF's plain context")
    p.add_argument("--quick", action="store_true",
                   help="defaults 1,2 workers, 10 clients per round, 3 rounds")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per configuration")
    p.add_argument("--verbose", action="store_true", help="show the workers' own output")
    p.add_argument("--out", help="also write the records here as JSON")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--local-workers", type=int, default=1, help=argparse.SUPPRESS)
    p.set_defaults(clients_per_round=None, rounds=None)  # filled in below, after --quick
    args = p.parse_args(argv)
    for key, full, quick in (("workers", [1, 2, 4], [1, 2]), ("clients_per_round", 100, 10),
                             ("rounds", 8, 3)):
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    if args.rounds < 2 or args.clients_per_round < 1:
        p.error("--rounds must be >= 2 and --clients-per-round >= 1")
    if any(k < 1 for k in args.workers) or args.local_workers < 1:
        p.error("worker counts must be >= 1")
    if args.targets:
        try:
            parse_targets(args.targets)
        except ValueError as err:
            p.error(str(err))
    args.benchmark, args.checkpoints = "remote_workers", None
    return args


def main(argv=None) -> None:
    common.child_or_parent_main(argv, parse_args, run_config, run_all, print_table)


if __name__ == "__main__":
    main()
