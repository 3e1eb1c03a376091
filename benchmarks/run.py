"""fedlab's benchmarks: `make bench`, or `python -m benchmarks.run [--quick] [--only NAME]`.

Benchmarks (names for --only, comma-separated or repeated):
  rounds   seconds per round against clients per round (10, 50, 100, 500, 1000) for
           bare_tf, fedlab and tff_learning, side by side, each in a fresh process
  memory   peak RSS after 50 and 500 rounds at 100 clients per round (fedlab, tff_learning)
  secagg   fedlab.secagg.secure_sum: time and bytes against clients (10, 100, 1000) and vector
           length (10^3, 10^5, 10^6); cells predicted to exceed the budget are skipped
  course   run time of each notebook in notebooks/, each in a fresh kernel, not written back
  remote   the same round on 1, 2, 4 TFF worker processes (remote_workers.py)
  wire     bytes per round on the driver -> worker wire, by value and by reference, at 10 and
           100 clients per round, on 1 worker and per site on 2 and 4 (bench_wire.py)

Prints one table on stdout (progress goes to stderr) and writes every figure to
benchmarks/results.json (with --quick: benchmarks/results-quick.json, so that a quick check
never overwrites a full run), a list of records described in benchmarks/README.md. A full run
takes about an hour on 2 cores, half of it the 500-round memory benchmark (`--memory-impls
fedlab` halves that); `--quick` runs every benchmark with small settings in a few minutes, to
check that they work, not to measure. Exits with status 1 if a benchmark failed
(a missed target is not a failure).
"""

from __future__ import annotations

import argparse
import datetime
import glob
import importlib.metadata
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import bench_common as common
from benchmarks import bench_secagg
from benchmarks.bench_wire import print_table as print_wire_table

BENCHMARKS = ("rounds", "memory", "secagg", "course", "remote", "wire")
IMPLEMENTATIONS = ("bare_tf", "fedlab", "tff_learning")

# The targets the issue sets, checked against the full run's settings only.
TARGET_RATIO_FEDLAB_TFF = 1.1  # fedlab s/round <= 1.1 x tff_learning at 100 clients per round
TARGET_CLIENTS = 100
TARGET_MEMORY_GROWTH_PCT = 10.0  # peak RSS growth from round 50 to round 500, 100 clients
TARGET_MEMORY_ROUNDS = (50, 500)
TARGET_MASKING_SECONDS = 2.0  # masking, 100 clients, 10^5 parameters
TARGET_MASKING_CELL = (100, 100_000)
TARGET_COURSE_SECONDS = 300.0  # every notebook, run one after the other
TARGET_WIRE_RATIO = 1.2  # by reference: measured / predicted bytes, per site per round
TARGET_WIRE_SITES = (2, 4)
TARGET_WIRE_CLIENTS = (10, 100)


def _ints(text: str) -> list[int]:
    return [int(float(v)) for v in text.split(",") if v.strip()]


def _names(values: list[str] | None, allowed: tuple[str, ...], what: str) -> list[str]:
    if not values:
        return list(allowed)
    names = [v.strip() for value in values for v in value.split(",") if v.strip()]
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise SystemExit(f"run.py: unknown {what} {unknown}; choose from {', '.join(allowed)}")
    return [n for n in allowed if n in names]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="small settings that check the benchmarks work (figures not meaningful)")
    p.add_argument("--only", action="append", metavar="NAME",
                   help=f"run only these benchmarks: {', '.join(BENCHMARKS)}")
    p.add_argument("--results", help="where to write the records (default: benchmarks/"
                                     "results.json, or results-quick.json with --quick)")
    g = p.add_argument_group("rounds")
    g.add_argument("--clients-per-round", type=_ints, help="default 10,50,100,500,1000")
    g.add_argument("--impls", action="append", help=f"default {','.join(IMPLEMENTATIONS)}")
    g.add_argument("--rounds", type=int, help="rounds per measurement (default 8; the first "
                                              "is left out of the median)")
    g = p.add_argument_group("memory")
    g.add_argument("--memory-rounds", type=_ints, help="checkpoints, default 50,500")
    g.add_argument("--memory-clients", type=int, help="clients per round, default 100")
    g.add_argument("--memory-impls", action="append", help="default fedlab,tff_learning")
    g = p.add_argument_group("secagg")
    g.add_argument("--secagg-clients", type=_ints, help="default 10,100,1000")
    g.add_argument("--secagg-lengths", type=_ints, help="default 1e3,1e5,1e6")
    g.add_argument("--secagg-budget", type=float, default=60.0,
                   help="skip cells predicted to take longer, in seconds (default 60)")
    g.add_argument("--secagg-max-mb", type=float, default=6000.0,
                   help="skip cells predicted to need more memory, in MB (default 6000)")
    g = p.add_argument_group("course")
    g.add_argument("--notebooks", nargs="+", help="default notebooks/*.ipynb (sorted)")
    g.add_argument("--with-solutions", action="store_true",
                   help="also time notebooks/solutions/*.ipynb (not part of the course target)")
    g = p.add_argument_group("remote")
    g.add_argument("--remote-workers", default=None, help="default 1,2,4")
    g.add_argument("--remote-clients", type=int, help="clients per round, default 100")
    g = p.add_argument_group("wire")
    g.add_argument("--wire-sites", default=None, help="numbers of sites, default 1,2,4")
    g.add_argument("--wire-clients", default=None, help="clients per round, default 10,100")
    g.add_argument("--wire-rounds", type=int, help="rounds per configuration, default 4 (the "
                                                   "first is left out)")
    args = p.parse_args(argv)
    args.only = _names(args.only, BENCHMARKS, "benchmark")
    args.impls = _names(args.impls, IMPLEMENTATIONS, "implementation")
    args.memory_impls = (_names(args.memory_impls, IMPLEMENTATIONS, "implementation")
                         if args.memory_impls else None)
    q = args.quick
    defaults = {
        "clients_per_round": [10] if q else [10, 50, 100, 500, 1000],
        "rounds": 3 if q else 8,
        "memory_rounds": [3, 6] if q else list(TARGET_MEMORY_ROUNDS),
        "memory_clients": 10 if q else TARGET_CLIENTS,
        "memory_impls": ["fedlab"] if q else ["fedlab", "tff_learning"],
        "secagg_clients": [10] if q else [10, 100, 1000],
        "secagg_lengths": [1000] if q else [1000, 100_000, 1_000_000],
        "remote_workers": "1,2" if q else "1,2,4",
        "remote_clients": 10 if q else TARGET_CLIENTS,
        "wire_sites": "1,2" if q else "1,2,4",
        "wire_clients": "10" if q else "10,100",
        "wire_rounds": 2 if q else 4,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.rounds < 2:
        p.error("--rounds must be >= 2 (the first round is left out of the median)")
    if args.results is None:
        args.results = str(common.BENCH_DIR / ("results-quick.json" if q else "results.json"))
    if args.notebooks is None:
        args.notebooks = sorted(glob.glob(str(common.ROOT / "notebooks" / "*.ipynb")))
        if q:
            args.notebooks = args.notebooks[:1]
        if args.with_solutions:
            args.notebooks += sorted(glob.glob(str(common.ROOT / "notebooks" / "solutions" /
                                                   "*.ipynb")))
    return args


# ------------------------------------------------------------------ the benchmarks


def _error(benchmark, impl, cpr, reason, **details) -> dict:
    common.progress(f"ERROR {reason}")
    return common.record(benchmark, impl, cpr, None, None, status="error", reason=reason,
                         **details)


def _rounds_timeout(rounds: int, clients_per_round: int) -> float:
    return 600 + rounds * clients_per_round * 0.5  # generous: 0.5 s per client


def bench_rounds(args, tmp: Path) -> list[dict]:
    records = []
    for cpr in args.clients_per_round:  # all implementations at one size, then the next size
        weights = {}
        for impl in args.impls:
            common.progress(f"rounds: {impl}, {cpr} clients per round, {args.rounds} rounds")
            weights_file = tmp / f"{impl}-{cpr}.npz"
            result = common.run_child(
                ["-m", "benchmarks.bench_rounds", "--impl", impl,
                 "--clients-per-round", str(cpr), "--rounds", str(args.rounds),
                 "--weights-out", str(weights_file)],
                timeout=_rounds_timeout(args.rounds, cpr), what=f"rounds {impl} cpr={cpr}")
            if isinstance(result, str):
                records.append(_error("rounds", impl, cpr, result))
                continue
            records.extend(result)
            weights[impl] = [np.load(weights_file)[k] for k in np.load(weights_file).files]
        by_impl = {r["implementation"]: r for r in records
                   if r["clients_per_round"] == cpr and r["status"] == "ok"}
        floor = by_impl.get("bare_tf", {}).get("seconds_per_round")
        for impl, rec in by_impl.items():
            rec["ratio_to_bare_tf"] = (rec["seconds_per_round"] / floor
                                       if floor and rec["seconds_per_round"] else None)
            if "bare_tf" in weights and impl in weights:
                rec["max_abs_diff_vs_bare_tf"] = max(
                    float(np.max(np.abs(a - b)))
                    for a, b in zip(weights[impl], weights["bare_tf"]))
        if "fedlab" in weights and "tff_learning" in weights:
            by_impl["fedlab"]["max_abs_diff_vs_tff_learning"] = max(
                float(np.max(np.abs(a - b)))
                for a, b in zip(weights["fedlab"], weights["tff_learning"]))
    return records


def bench_memory(args, tmp: Path) -> list[dict]:
    records = []
    first, last = min(args.memory_rounds), max(args.memory_rounds)
    for impl in args.memory_impls:
        common.progress(f"memory: {impl}, {args.memory_clients} clients per round, {last} rounds")
        result = common.run_child(
            ["-m", "benchmarks.bench_rounds", "--impl", impl, "--benchmark", "memory",
             "--clients-per-round", str(args.memory_clients), "--rounds", str(last),
             "--checkpoints", ",".join(map(str, args.memory_rounds))],
            timeout=_rounds_timeout(last, args.memory_clients), what=f"memory {impl}")
        if isinstance(result, str):
            records.append(_error("memory", impl, args.memory_clients, result))
            continue
        start = next(r for r in result if r["rounds"] == first)
        for rec in result:
            rec["peak_rss_growth_pct"] = 100 * (rec["peak_rss_mb"] / start["peak_rss_mb"] - 1)
            rec["rss_growth_pct"] = 100 * (rec["rss_mb"] / start["rss_mb"] - 1)
            rec["growth_from_round"] = first
        records.extend(result)
    return records


def bench_secagg_grid(args, tmp: Path) -> list[dict]:
    common.progress("secagg: calibrating the cost model")
    costs = bench_secagg.calibrate()
    records = []
    for n, d, t, guess, reason in bench_secagg.plan(args.secagg_clients, args.secagg_lengths,
                                                     args.secagg_budget, args.secagg_max_mb,
                                                     costs):
        if reason is not None:
            common.progress(f"secagg n={n} d={d}: skipped, {reason}")
            records.append(bench_secagg.skipped_record(n, d, t, guess, reason))
            continue
        common.progress(f"secagg n={n} d={d}: predicted {guess['seconds']:.1f} s")
        result = common.run_child(
            ["-m", "benchmarks.bench_secagg", "--clients", str(n), "--length", str(d),
             "--threshold", str(t)],
            timeout=max(120.0, 10 * guess["seconds"]), what=f"secagg n={n} d={d}")
        if isinstance(result, str):
            records.append(_error("secagg", "fedlab.secagg", n, result, vector_length=d))
            continue
        for rec in result:
            rec["predicted_seconds"] = guess["seconds"]
            rec["calibration"] = costs
        records.extend(result)
    return records


def bench_course(args, tmp: Path) -> list[dict]:
    records = []
    if not args.notebooks:
        return [_error("course", "notebooks/*.ipynb", None, "no notebooks found")]
    for path in args.notebooks:
        common.progress(f"course: {path}")
        result = common.run_child(["-m", "benchmarks.bench_course", path],
                                  timeout=1800, what=f"course {path}")
        if isinstance(result, str):
            records.append(_error("course", os.path.relpath(path, common.ROOT), None, result))
        else:
            records.extend(result)
    return records


def bench_remote(args, tmp: Path) -> list[dict]:
    common.progress(f"remote: {args.remote_workers} worker(s), {args.remote_clients} clients "
                    "per round")
    rounds = args.rounds
    result = common.run_child(
        ["-m", "benchmarks.remote_workers", "--workers", args.remote_workers,
         "--clients-per-round", str(args.remote_clients), "--rounds", str(rounds)],
        timeout=3600, what="remote_workers.py")
    if isinstance(result, str):
        # remote_workers.py exits 1 when one configuration failed but still writes the others
        return [_error("remote_workers", "fedlab", args.remote_clients, result)]
    return result


def bench_wire(args, tmp: Path) -> list[dict]:
    common.progress(f"wire: sites {args.wire_sites}, {args.wire_clients} clients per round, "
                    f"{args.wire_rounds} rounds")
    result = common.run_child(
        ["-m", "benchmarks.bench_wire", "--sites", args.wire_sites,
         "--clients-per-round", args.wire_clients, "--rounds", str(args.wire_rounds)],
        timeout=3600, what="bench_wire.py")
    if isinstance(result, str):
        return [_error("wire", "-", None, result)]
    return result


RUNNERS = {"rounds": bench_rounds, "memory": bench_memory, "secagg": bench_secagg_grid,
           "course": bench_course, "remote": bench_remote, "wire": bench_wire}


# ------------------------------------------------------------------ targets


def _target(name: str, description: str, value, threshold, passed: bool | None, note: str = "",
            cpr: int | None = None) -> dict:
    verdict = "n/a" if passed is None else ("PASS" if passed else "MISS")
    return common.record("target", name, cpr, None, None,
                         status="skipped" if passed is None else "ok",
                         reason=note or None, description=description, value=value,
                         threshold=threshold, verdict=verdict)


def evaluate_targets(records: list[dict], args) -> list[dict]:
    ok = [r for r in records if r["status"] == "ok"]
    targets = []

    # 1. fedlab within 1.1x of tff_learning per round at 100 clients per round.
    at = {r["implementation"]: r for r in ok
          if r["benchmark"] == "rounds" and r["clients_per_round"] == TARGET_CLIENTS}
    desc = (f"fedlab s/round <= {TARGET_RATIO_FEDLAB_TFF} x tff_learning at {TARGET_CLIENTS} "
            "clients per round")
    if "fedlab" in at and "tff_learning" in at:
        ratio = at["fedlab"]["seconds_per_round"] / at["tff_learning"]["seconds_per_round"]
        targets.append(_target("fedlab_vs_tff_learning", desc, ratio, TARGET_RATIO_FEDLAB_TFF,
                               ratio <= TARGET_RATIO_FEDLAB_TFF, cpr=TARGET_CLIENTS))
    else:
        targets.append(_target("fedlab_vs_tff_learning", desc, None, TARGET_RATIO_FEDLAB_TFF,
                               None, f"not measured (rounds at {TARGET_CLIENTS} clients per "
                                     "round for fedlab and tff_learning)"))

    # 2. memory over 500 rounds grows < 10% from round 50 (fedlab).
    desc = (f"fedlab peak RSS grows < {TARGET_MEMORY_GROWTH_PCT:g}% from round "
            f"{TARGET_MEMORY_ROUNDS[0]} to {TARGET_MEMORY_ROUNDS[1]} at {TARGET_CLIENTS} clients")
    mem = [r for r in ok if r["benchmark"] == "memory" and r["implementation"] == "fedlab"]
    last = max(mem, key=lambda r: r["rounds"]) if mem else None
    if last is not None:
        growth = last["peak_rss_growth_pct"]
        exact = ((last["growth_from_round"], last["rounds"]) == TARGET_MEMORY_ROUNDS
                 and last["clients_per_round"] == TARGET_CLIENTS)
        targets.append(_target(
            "memory_growth", desc, growth, TARGET_MEMORY_GROWTH_PCT,
            growth < TARGET_MEMORY_GROWTH_PCT if exact else None,
            "" if exact else f"measured from round {last['growth_from_round']} to "
                             f"{last['rounds']} at {last['clients_per_round']} clients instead",
            cpr=TARGET_CLIENTS))
    else:
        targets.append(_target("memory_growth", desc, None, TARGET_MEMORY_GROWTH_PCT, None,
                               "not measured"))

    # 3. masking for 100 clients and 10^5 parameters in under 2 s.
    n, d = TARGET_MASKING_CELL
    desc = f"secagg masking round, {n} clients x {d:.0e} parameters < {TARGET_MASKING_SECONDS:g} s"
    cell = next((r for r in ok if r["benchmark"] == "secagg" and r["clients_per_round"] == n
                 and r.get("vector_length") == d), None)
    if cell is not None:
        targets.append(_target("secagg_masking", desc, cell["masking_seconds"],
                               TARGET_MASKING_SECONDS,
                               cell["masking_seconds"] < TARGET_MASKING_SECONDS,
                               f"CPU time {cell['masking_cpu_seconds']:.2f} s", cpr=n))
    else:
        targets.append(_target("secagg_masking", desc, None, TARGET_MASKING_SECONDS, None,
                               "not measured"))

    # 4. the whole course executes in 5 minutes or less.
    desc = f"every notebook in notebooks/, one after the other, <= {TARGET_COURSE_SECONDS:g} s"
    course = [r for r in records if r["benchmark"] == "course"
              and "/solutions/" not in r["implementation"]]
    everything = sorted(glob.glob(str(common.ROOT / "notebooks" / "*.ipynb")))
    if course and all(r["status"] == "ok" for r in course):
        total = sum(r["seconds"] for r in course)
        complete = len(course) == len(everything)
        targets.append(_target("course_time", desc, total, TARGET_COURSE_SECONDS,
                               total <= TARGET_COURSE_SECONDS if complete else None,
                               "" if complete else f"{len(course)} of {len(everything)} "
                                                   "notebooks timed"))
    else:
        targets.append(_target("course_time", desc, None, TARGET_COURSE_SECONDS, None,
                               "not measured, or a notebook failed"))

    # 5. by reference, measured / predicted wire bytes <= 1.2 per site per round.
    desc = (f"wire by reference: measured / predicted bytes <= {TARGET_WIRE_RATIO:g} per site "
            f"per round, {' and '.join(map(str, TARGET_WIRE_SITES))} sites, "
            f"{' and '.join(map(str, TARGET_WIRE_CLIENTS))} clients per round")
    wire = [r for r in ok if r["benchmark"] == "wire" and r["implementation"] == "by_reference"
            and r.get("sites") in TARGET_WIRE_SITES]
    if wire:
        worst = max(wire, key=lambda r: r["ratio"])
        measured = {(r["sites"], r["clients_per_round"]) for r in wire}
        wanted = {(s, c) for s in TARGET_WIRE_SITES for c in TARGET_WIRE_CLIENTS}
        complete = wanted <= measured
        payload = max(r["ratio_payload_only"] for r in wire)
        note = (f"worst: {worst['sites']} sites, site {worst['site']}, "
                f"{worst['clients_per_round']} clients per round; without the computations in "
                f"the prediction up to {payload:.1f}")
        if not complete:
            note = f"measured {sorted(measured)} of {sorted(wanted)}; " + note
        targets.append(_target("wire_ratio", desc, worst["ratio"], TARGET_WIRE_RATIO,
                               worst["ratio"] <= TARGET_WIRE_RATIO if complete else None, note))
    else:
        targets.append(_target("wire_ratio", desc, None, TARGET_WIRE_RATIO, None,
                               "not measured"))
    return targets


# ------------------------------------------------------------------ the table


def _f(value, fmt: str, width: int) -> str:
    return f"{value:{width}{fmt}}" if isinstance(value, (int, float)) else f"{'-':>{width}}"


def print_table(records: list[dict], env: dict, out=None) -> None:
    out = sys.stdout if out is None else out
    w = lambda line="": print(line, file=out)  # noqa: E731
    w("fedlab benchmarks"
      f"{' (QUICK: small settings, figures not meaningful)' if env['quick'] else ''}"
      f" - {env['started']}")
    w(f"{env['cpus']} CPUs, load average {env['loadavg_start'][0]:.1f} at start and "
      f"{env['loadavg_end'][0]:.1f} at end; TensorFlow {env['versions']['tensorflow']}, "
      f"TFF {env['versions']['tensorflow-federated']}, Python {env['python']}")
    by = lambda name: [r for r in records if r["benchmark"] == name]  # noqa: E731

    if rows := by("rounds"):
        ok = next((r for r in rows if r["status"] == "ok"), {})
        w()
        w(f"== rounds: seconds per round, median of rounds 2..{ok.get('rounds', '?')}; digits, "
          f"softmax regression, {ok.get('local_epochs', '?')} local epoch(s), batch "
          f"{ok.get('batch_size', '?')}; cohorts drawn with replacement from "
          f"{ok.get('num_clients', '?')} IID clients")
        w(f"{'clients':>7s} {'implementation':14s} {'s/round':>8s} {'x bare_tf':>9s} "
          f"{'1st round':>9s} {'build s':>7s} {'py CPU':>7s} {'wkr CPU':>7s} {'peak MB':>7s} "
          f"{'max|w-bare|':>11s}")
        for r in rows:
            if r["status"] != "ok":
                w(f"{r['clients_per_round']:7d} {r['implementation']:14s} {r['status'].upper()}: "
                  f"{r.get('reason', '')}")
                continue
            w(f"{r['clients_per_round']:7d} {r['implementation']:14s} "
              f"{_f(r['seconds_per_round'], '.3f', 8)} {_f(r.get('ratio_to_bare_tf'), '.2f', 9)} "
              f"{_f(r['first_round_seconds'], '.2f', 9)} {_f(r['build_seconds'], '.1f', 7)} "
              f"{_f(r['python_cpu_per_round'], '.3f', 7)} "
              f"{_f(r['worker_cpu_per_round'], '.3f', 7)} "
              f"{_f(r['peak_rss_mb'], '.0f', 7)} "
              f"{_f(r.get('max_abs_diff_vs_bare_tf'), '.1e', 11)}")
        w("  py CPU / wkr CPU: CPU seconds per round of the Python process / of TFF's worker "
          "(medians); peak MB: both processes' peaks added")

    if rows := by("memory"):
        w()
        w("== memory: peak RSS (Python + TFF worker) after N rounds, fixed cohort size")
        w(f"{'implementation':14s} {'clients':>7s} {'rounds':>6s} {'peak MB':>8s} {'RSS now':>8s} "
          f"{'peak growth':>11s} {'s/round':>8s}")
        for r in rows:
            if r["status"] != "ok":
                w(f"{r['implementation']:14s} {r['status'].upper()}: {r.get('reason', '')}")
                continue
            w(f"{r['implementation']:14s} {r['clients_per_round']:7d} {r['rounds']:6d} "
              f"{r['peak_rss_mb']:8.0f} {r['rss_mb']:8.0f} "
              f"{r['peak_rss_growth_pct']:10.1f}% {_f(r['seconds_per_round'], '.3f', 8)}")

    if rows := by("secagg"):
        w()
        w("== secagg: one secure_sum (32-bit modulus, threshold N//2+1, no dropouts); bytes per "
          "client; expansion = bytes / vector in the clear")
        w(f"{'clients':>7s} {'length':>9s} {'seconds':>8s} {'CPU s':>7s} {'masking s':>9s} "
          f"{'predicted':>9s} {'peak MB':>7s} {'bytes/client':>12s} {'expansion':>9s}  status")
        for r in rows:
            status = (r["status"] if r["status"] == "ok"
                      else f"{r['status']}: {r.get('reason', '')}")
            if r["status"] == "ok" and not r.get("sum_ok", True):
                status = "ok, BUT THE SUM IS WRONG"
            w(f"{r['clients_per_round']:7d} {r.get('vector_length', 0):9.0e} "
              f"{_f(r['seconds_per_round'], '.2f', 8)} {_f(r.get('cpu_seconds'), '.2f', 7)} "
              f"{_f(r.get('masking_seconds'), '.2f', 9)} "
              f"{_f(r.get('predicted_seconds'), '.2f', 9)} "
              f"{_f(r['peak_rss_mb'], '.0f', 7)} {_f(r.get('bytes_per_client'), 'd', 12)} "
              f"{_f(r.get('expansion'), '.3f', 9)}  {status}")

    if rows := by("course"):
        w()
        w("== course: each notebook in a fresh kernel (kernel start included), not written back")
        total = 0.0
        for r in rows:
            total += r.get("seconds") or 0.0
            status = "ok" if r["status"] == "ok" else f"{r['status']}: {r.get('reason', '')}"
            w(f"{r['implementation']:56s} {_f(r.get('seconds'), '.1f', 7)} s  "
              f"peak {_f(r['peak_rss_mb'], '.0f', 5)} MB  {status}")
        w(f"{'all of them':56s} {total:7.1f} s")

    if rows := by("remote_workers"):
        w()
        w("== remote workers: the same round on N TFF worker processes (127.0.0.1)")
        base = next((r["seconds_per_round"] for r in rows if r["status"] == "ok"
                     and r.get("workers") == 1 and r.get("mode") == "sync"), None)
        w(f"{'implementation':14s} {'workers':>7s} {'mode':10s} {'clients':>7s} {'s/round':>8s} "
          f"{'x 1 worker':>10s} {'wkr CPU':>7s} {'peak MB':>7s}")
        for r in rows:
            if r["status"] != "ok":
                w(f"{r['implementation']:14s} {r['status'].upper()}: {r.get('reason', '')}")
                continue
            ratio = r["seconds_per_round"] / base if base and r["seconds_per_round"] else None
            w(f"{r['implementation']:14s} {r['workers']:7d} {r['mode']:10s} "
              f"{r['clients_per_round']:7d} {_f(r['seconds_per_round'], '.3f', 8)} "
              f"{_f(ratio, '.2f', 10)} {_f(r.get('worker_cpu_per_round'), '.3f', 7)} "
              f"{_f(r['peak_rss_mb'], '.0f', 7)}")

    if rows := by("wire"):
        w()
        w("== wire: bytes per round and site on the driver -> TFF worker wire (fedlab.wire.Relay "
          "per worker)")
        print_wire_table(rows, out)

    if rows := by("target"):
        w()
        w("== targets")
        for r in rows:
            value = r["value"]
            shown = "-" if value is None else f"{value:.3g}"
            note = f"  ({r['reason']})" if r.get("reason") else ""
            w(f"{r['verdict']:4s}  {r['description']}: {shown}{note}")


# ------------------------------------------------------------------ main


def environment(args) -> dict:
    def version(name):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "quick": args.quick, "only": args.only,
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
        "python": ".".join(map(str, sys.version_info[:3])),
        "versions": {n: version(n) for n in ("tensorflow", "tensorflow-federated", "numpy",
                                             "cryptography", "fedlab")},
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    env = environment(args)
    common.progress(f"benchmarks {', '.join(args.only)}{' (quick)' if args.quick else ''}; "
                    f"results -> {args.results}")
    records: list[dict] = []
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fedlab-bench-") as tmp:
        for name in args.only:
            t0 = time.monotonic()
            try:
                records.extend(RUNNERS[name](args, Path(tmp)))
            except Exception as err:  # one broken benchmark must not lose the others
                records.append(_error(name, "-", None, f"{type(err).__name__}: {err}"))
            common.progress(f"{name} done in {time.monotonic() - t0:.0f} s")
            common.write_records(args.results, records)  # partial results survive an interrupt
    env["loadavg_end"] = os.getloadavg()
    env["seconds"] = time.monotonic() - start
    records.extend(evaluate_targets(records, args))
    records.append(common.record("environment", "-", None, None, None, **env))
    problems = common.check_schema(records)
    if problems:
        raise AssertionError("records break the results.json schema: " + "; ".join(problems))
    common.write_records(args.results, records)
    print_table(records, env)
    common.progress(f"wrote {len(records)} records to {args.results} "
                    f"({env['seconds']:.0f} s in all)")
    return 1 if any(r["status"] == "error" for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
