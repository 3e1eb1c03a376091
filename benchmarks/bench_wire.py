"""Bytes per round on the driver -> TFF worker wire, measured, and as the TFF types predict them.

The `wire` benchmark (`run.py --only wire`); it can also be run by hand:

    .venv/bin/python -m benchmarks.bench_wire                 # sites 1, 2, 4; 10 and 100 clients
    .venv/bin/python -m benchmarks.bench_wire --quick         # sites 1, 2; 10 clients; 2 rounds
    .venv/bin/python -m benchmarks.bench_wire --child --sites 2 --out /tmp/wire.json

Workload: the `rounds` workload of bench_rounds.py (scikit-learn digits split IID into 100
clients, `fedlab.fedavg.build_fedavg_process` softmax regression, 1 local epoch, batch 10),
at 10 and 100 clients per round, with the client data given two ways:

- by value: the driver passes each client's `tf.data.Dataset` (the examples travel inside it);
- by reference: each client's examples are in a file of its own
  (`fedlab.clientfiles.write_client_files`), the driver passes the file NAMES and the round
  opens them inside the worker: `process.next(state, federated_map(load_client, names))`.

Sites: 1 is one worker through TFF's plain ("sync") context, as TFF's default local context
runs; 2 and 4 are one worker per site (`fedlab.workers.LocalWorkers(site_dirs=...)`) through
TFF's mergeable context; each site's folder holds the files of its own clients only (a block of
100 / sites clients), and each round draws, from each site, the number of clients that TFF's
split of the list sends to that site (see `fedlab.workers`), so every name reaches the worker
that has the file. Every worker sits behind a `fedlab.wire.Relay`, which counts the bytes both
ways (TCP payload: gRPC/HTTP2 frames included, IP/TCP headers not).

Predicted bytes, per site and round, from what crosses as TFF sees it. Each call that the
context makes on a worker (logged by wrapping the worker's context) sends the computation and
its argument and brings back its result:

- `computations`: the serialized TFF computation of each call (TFF sends it with every call:
  the compiled round for "sync"; `up_to_merge`, `merge`, `after_merge` for "mergeable");
- `arguments`: the argument's tensors, counted from the TFF type and the values (server
  state: weights and round number; client data by value: every example's float32 features and
  int32 label; by reference: the UTF-8 bytes of each file name; a partial aggregate);
- `results`: the result's tensors (a partial aggregate up; the new server state and metrics).

`ratio` = measured / predicted (both directions together); `ratio_payload_only` leaves the
computations out of the prediction. The rest of the measured bytes are the protocol: gRPC and
HTTP/2 framing, protobuf field tags, the executor calls around a call (GetExecutor, CreateValue,
CreateCall, CreateStruct, CreateSelection, Compute, Dispose), value references. By value, the
datasets travel as serialized `tf.data` graphs, whose size exceeds the raw examples.
"""

from __future__ import annotations

import argparse
import collections
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import bench_common as common

DATA_MODES = ("by_value", "by_reference")
NUM_FEATURES, NUM_CLASSES = 64, 10


def split_sizes(count: int, parts: int) -> list[int]:
    """How TFF's mergeable context splits `count` clients over `parts` workers: contiguous
    chunks of ceil(remaining / remaining workers), in order (empty chunks dropped)."""
    sizes, remaining = [], count
    for left in range(parts, 0, -1):
        size = math.ceil(remaining / left)
        if size == 0:
            break
        sizes.append(size)
        remaining -= size
    return sizes


def site_blocks(num_clients: int, sites: int) -> list[np.ndarray]:
    """The clients each site holds: contiguous blocks of the client ids."""
    return [np.asarray(b) for b in np.array_split(np.arange(num_clients), sites)]


def make_cohort(blocks: list[np.ndarray], clients_per_round: int, round_num: int,
                seed: int) -> list[int]:
    """A round's clients: from site s, as many of its own clients as TFF's split sends to s.

    A pure function of (round_num, seed). Raises ValueError if a site holds too few clients.
    """
    rng = np.random.default_rng([seed, round_num])
    cohort = []
    for site, size in enumerate(split_sizes(clients_per_round, len(blocks))):
        if size > len(blocks[site]):
            raise ValueError(f"site {site} holds {len(blocks[site])} clients, the split sends "
                             f"it {size}")
        cohort.extend(int(c) for c in np.sort(rng.choice(blocks[site], size, replace=False)))
    return cohort


# ------------------------------------------------------------------ what the types say crosses


def payload_bytes(value, type_spec) -> int:
    """Bytes of the tensors in `value`, walked along its TFF type `type_spec`.

    Numbers: element count x itemsize (as `fedlab.payload.tensor_bytes`); strings: their UTF-8
    bytes; a sequence (a client's `tf.data.Dataset`): the sum over its elements.
    """
    import tensorflow as tf
    import tensorflow_federated as tff

    if isinstance(type_spec, tff.FederatedType):
        if type_spec.placement is tff.CLIENTS and not type_spec.all_equal:
            return sum(payload_bytes(v, type_spec.member) for v in value)
        return payload_bytes(value, type_spec.member)
    if isinstance(type_spec, tff.StructType):
        elements = tff.structure.to_elements(type_spec)
        if isinstance(value, tff.structure.Struct):
            values = [v for _, v in tff.structure.to_elements(value)]
        elif isinstance(value, collections.abc.Mapping):
            values = [value[name] for name, _ in elements]
        elif isinstance(value, (list, tuple)):
            values = list(value)
        else:
            values = [getattr(value, name) for name, _ in elements]
        if len(values) != len(elements):
            raise ValueError(f"value has {len(values)} parts, its type {type_spec} has "
                             f"{len(elements)}")
        return sum(payload_bytes(v, t) for v, (_, t) in zip(values, elements))
    if isinstance(type_spec, tff.SequenceType):
        return sum(payload_bytes(e, type_spec.element) for e in value)
    if isinstance(type_spec, tff.TensorType):
        array = value.numpy() if isinstance(value, tf.Tensor) else np.asarray(value)
        if array.dtype.kind in "SUO":
            return sum(len(s if isinstance(s, bytes) else str(s).encode("utf-8"))
                       for s in array.reshape(-1))
        return int(array.nbytes)
    raise ValueError(f"cannot count bytes of a value of type {type_spec}")


_COMPUTATION_BYTES: dict[int, tuple[object, int]] = {}


def computation_bytes(comp) -> int:
    """Size of the computation as the worker's context sends it: compiled as
    `fedlab.workers.make_context` compiles it, then serialized."""
    import tensorflow_federated as tff

    key = id(comp)
    if key not in _COMPUTATION_BYTES:
        compiled = tff.backends.native.desugar_and_transform_to_native(comp)
        size = len(tff.framework.ConcreteComputation.get_proto(compiled).SerializeToString())
        _COMPUTATION_BYTES[key] = (comp, size)  # keep comp alive: its id stays unique
    return _COMPUTATION_BYTES[key][1]


def make_logging_context(inner, log: list, kinds):
    """`inner` (a sync or async TFF context) with every call appended to `log` as
    (kind, comp, arg, result); `kinds(comp)` names the call."""
    from tensorflow_federated.python.core.impl.context_stack import context_base

    if isinstance(inner, context_base.AsyncContext):
        class Logging(context_base.AsyncContext):
            async def invoke(self, comp, arg):
                result = await inner.invoke(comp, arg)
                log.append((kinds(comp), comp, arg, result))
                return result
    else:
        class Logging(context_base.SyncContext):
            def invoke(self, comp, arg):
                result = inner.invoke(comp, arg)
                log.append((kinds(comp), comp, arg, result))
                return result
    return Logging()


def predict(calls: list) -> dict:
    """Predicted bytes of the logged calls on one worker, by part and direction."""
    parts = {"computations": 0, "arguments": 0, "results": 0}
    for _, comp, arg, result in calls:
        parts["computations"] += computation_bytes(comp)
        if comp.type_signature.parameter is not None:
            parts["arguments"] += payload_bytes(arg, comp.type_signature.parameter)
        parts["results"] += payload_bytes(result, comp.type_signature.result)
    return {**parts, "to_target": parts["computations"] + parts["arguments"],
            "from_target": parts["results"]}


# ------------------------------------------------------------------ one configuration


def run_sites(args, sites: int) -> list[dict]:
    """Every (data mode, clients per round) on `sites` workers, in this process."""
    from fedlab import clientfiles, data, fedavg, partition, runtime, wire, workers

    runtime.setup(seed=args.seed, verbose=False)
    import tensorflow_federated as tff
    from tensorflow_federated.python.core.backends.native import mergeable_comp_compiler

    x, y, _ = data.load_dataset("digits")
    parts = partition.iid_partition(len(x), args.num_clients, seed=args.seed)
    raw_bytes = [len(p) * (NUM_FEATURES * 4 + 4) for p in parts]  # float32 x, int32 y
    datasets = fedavg.make_client_datasets(x, y, parts, args.batch_size)
    blocks = site_blocks(args.num_clients, sites)
    process = fedavg.build_fedavg_process(
        NUM_FEATURES, NUM_CLASSES, local_epochs=args.local_epochs, batch_size=args.batch_size,
        client_lr=args.client_lr)
    load_client = clientfiles.build_load_client(NUM_FEATURES)
    state_type = process.next.type_signature.parameter[0]

    @tff.federated_computation(state_type, tff.FederatedType(np.str_, tff.CLIENTS))
    def next_by_ref(server_state, names):
        return process.next(server_state, tff.federated_map(load_client, names))

    rounds_fn = {"by_value": process.next, "by_reference": next_by_ref}
    mode = "sync" if sites == 1 else "mergeable"
    forms = {}
    if mode == "mergeable":
        for data_mode, comp in rounds_fn.items():
            form = mergeable_comp_compiler.compile_to_mergeable_comp_form(comp)
            forms[data_mode] = {name: getattr(form, name).type_signature
                                for name in ("up_to_merge", "merge", "after_merge")}

    def kind_of(comp):
        if mode == "sync":
            return "call"
        for names in forms.values():
            for name, signature in names.items():
                if comp.type_signature.is_equivalent_to(signature):
                    return name
        return "other"

    records = []
    with tempfile.TemporaryDirectory(prefix="fedlab-wire-") as tmp:
        site_dirs = [Path(tmp, f"site_{s}") for s in range(sites)]
        names = [""] * args.num_clients
        for s, block in enumerate(blocks):  # each site holds the files of its own clients
            written = clientfiles.write_client_files(site_dirs[s], x, y, [parts[c] for c in block])
            for c, name in zip(block, written):
                names[c] = name
        with workers.LocalWorkers(site_dirs=site_dirs) as local:
            relays = [wire.Relay(t) for t in local.targets]
            logs = [[] for _ in relays]
            try:
                contexts = [make_logging_context(
                    workers.make_context(r.address, asynchronous=(mode == "mergeable")), log,
                    kind_of) for r, log in zip(relays, logs)]
                if mode == "sync":
                    tff.framework.set_default_context(contexts[0])
                else:
                    tff.backends.native.set_mergeable_comp_execution_context(contexts)
                for cpr in args.clients_per_round:
                    final = {}
                    for data_mode in DATA_MODES:
                        common.progress(f"wire: {sites} site(s), {data_mode}, {cpr} clients per "
                                        f"round, {args.rounds} rounds")
                        recs, final[data_mode] = measure(
                            args, process, rounds_fn[data_mode], data_mode, cpr, blocks,
                            datasets if data_mode == "by_value" else names, raw_bytes,
                            relays, logs, local, mode)
                        records.extend(recs)
                    diff = max(float(np.max(np.abs(a - b)))
                               for a, b in zip(final["by_value"], final["by_reference"]))
                    for rec in records:
                        if rec["clients_per_round"] == cpr:
                            rec["max_abs_diff_by_reference_vs_by_value"] = diff
                for r in relays:
                    r.check()
            finally:
                for r in relays:
                    r.close()
    runtime.setup(seed=args.seed, verbose=False)  # back to TFF's own context
    return records


def measure(args, process, round_fn, data_mode, cpr, blocks, client_values, raw_bytes,
            relays, logs, local, mode):
    """R rounds of one configuration; one record per site (rounds after the first)."""
    sites = len(relays)
    state = process.initialize()
    measured, predicted, calls, seconds, raw = [], [], [], [], []
    for round_num in range(1, args.rounds + 1):
        cohort = make_cohort(blocks, cpr, round_num, args.seed)
        for r, log in zip(relays, logs):
            r.reset()
            log.clear()
        start = time.perf_counter()
        state, _ = round_fn(state, [client_values[c] for c in cohort])
        seconds.append(time.perf_counter() - start)
        measured.append([r.counts() for r in relays])
        predicted.append([predict(log) for log in logs])
        calls.append([[kind for kind, *_ in log] for log in logs])
        chunks = np.split(np.asarray(cohort), np.cumsum(split_sizes(cpr, sites))[:-1])
        raw.append([int(sum(raw_bytes[c] for c in chunk)) for chunk in chunks])
    mem = common.memory_of(local.pids())
    weights = [np.asarray(w) for w in state.weights]
    first = 1 if args.rounds > 1 else 0  # round 1 also sets up the connections
    records = []
    for s in range(sites):
        per_round = []
        for r in range(first, args.rounds):
            m, p = measured[r][s], predicted[r][s]
            m_total = m["to_target"] + m["from_target"]
            p_total = p["to_target"] + p["from_target"]
            per_round.append({
                "round": r + 1, "calls": calls[r][s],
                "measured_to_target": m["to_target"], "measured_from_target": m["from_target"],
                "predicted_to_target": p["to_target"], "predicted_from_target": p["from_target"],
                "predicted_parts": {k: p[k] for k in ("computations", "arguments", "results")},
                "raw_data_bytes": raw[r][s],
                "ratio": m_total / p_total if p_total else None,
                "ratio_payload_only": (m_total / (p_total - p["computations"])
                                       if p_total - p["computations"] else None),
            })
        worst = max(per_round, key=lambda d: d["ratio"] or 0.0)
        records.append(common.record(
            "wire", data_mode, cpr, common.median_after_first(seconds) if args.rounds > 1
            else seconds[0], mem["peak_rss_mb"],
            sites=sites, site=s, context=mode, rounds=args.rounds,
            rounds_measured=len(per_round),
            bytes_to_worker=int(np.median([d["measured_to_target"] for d in per_round])),
            bytes_from_worker=int(np.median([d["measured_from_target"] for d in per_round])),
            predicted_to_worker=int(np.median([d["predicted_to_target"] for d in per_round])),
            predicted_from_worker=int(np.median([d["predicted_from_target"] for d in per_round])),
            raw_data_bytes=int(np.median([d["raw_data_bytes"] for d in per_round])),
            ratio=worst["ratio"], ratio_payload_only=worst["ratio_payload_only"],
            worst_round=worst, by_round=per_round,
            num_clients=args.num_clients, local_epochs=args.local_epochs,
            batch_size=args.batch_size, client_lr=args.client_lr,
        ))
    return records, weights


# ------------------------------------------------------------------ the parent


def run_all(args) -> list[dict]:
    """Each number of sites in a fresh child process (its own workers, relays, memory)."""
    records = []
    for sites in args.sites:
        child = ["-m", "benchmarks.bench_wire", "--child", "--sites", str(sites),
                 "--clients-per-round", ",".join(map(str, args.clients_per_round)),
                 "--rounds", str(args.rounds), "--num-clients", str(args.num_clients),
                 "--local-epochs", str(args.local_epochs), "--batch-size", str(args.batch_size),
                 "--client-lr", str(args.client_lr), "--seed", str(args.seed)]
        result = common.run_child(child, timeout=args.timeout, what=f"wire {sites} site(s)")
        if isinstance(result, str):
            for data_mode in DATA_MODES:
                records.append(common.record("wire", data_mode, None, None, None,
                                             status="error", reason=result, sites=sites))
        else:
            records.extend(result)
    return records


def _ratio(value, width: int) -> str:
    return f"{value:{width}.2f}" if value is not None else " " * (width - 1) + "-"


def print_table(records: list[dict], out=None) -> None:
    out = sys.stdout if out is None else out
    w = lambda line="": print(line, file=out)  # noqa: E731
    w(f"{'data':12s} {'clients':>7s} {'sites':>5s} {'site':>4s} {'to worker':>10s} "
      f"{'predicted':>10s} {'from worker':>11s} {'predicted':>10s} {'raw data':>9s} "
      f"{'ratio':>6s} {'payload':>8s}")
    for r in records:
        if r["status"] != "ok":
            w(f"{r['implementation']:12s} {'':>7s} {r.get('sites', '?')!s:>5s} "
              f"{r['status'].upper()}: {r.get('reason', '')}")
            continue
        w(f"{r['implementation']:12s} {r['clients_per_round']:7d} {r['sites']:5d} {r['site']:4d} "
          f"{r['bytes_to_worker']:10d} {r['predicted_to_worker']:10d} "
          f"{r['bytes_from_worker']:11d} {r['predicted_from_worker']:10d} "
          f"{r['raw_data_bytes']:9d} {_ratio(r['ratio'], 6)} {_ratio(r['ratio_payload_only'], 8)}")
    w("  bytes per round and site (median over the rounds after the first); ratio = measured / "
      "predicted, worst round; payload = the same without the computations in the prediction")


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--quick", action="store_true",
                   help="sites 1,2; 10 clients per round; 2 rounds (checks that it works)")
    p.add_argument("--sites", type=_ints, help="numbers of sites (workers), default 1,2,4")
    p.add_argument("--clients-per-round", type=_ints, help="default 10,100")
    p.add_argument("--rounds", type=int, help="rounds per configuration (default 4; the first "
                                              "is left out)")
    p.add_argument("--num-clients", type=int, default=100)
    p.add_argument("--local-epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--client-lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=1800, help="seconds per number of sites")
    p.add_argument("--out", help="also write the records here as JSON")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for key, full, quick in (("sites", [1, 2, 4], [1, 2]), ("clients_per_round", [10, 100], [10]),
                             ("rounds", 4, 2)):
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    if args.rounds < 1 or any(c < 1 for c in args.clients_per_round):
        p.error("--rounds and --clients-per-round must be >= 1")
    if any(s < 1 for s in args.sites) or (args.child and len(args.sites) != 1):
        p.error("--sites must be >= 1 (one value with --child)")
    for sites in args.sites:
        for cpr in args.clients_per_round:
            try:
                make_cohort(site_blocks(args.num_clients, sites), cpr, 1, args.seed)
            except ValueError as err:
                p.error(f"{cpr} clients per round on {sites} sites of {args.num_clients} "
                        f"clients: {err}")
    return args


def main(argv=None) -> None:
    common.child_or_parent_main(argv, parse_args, lambda args: run_sites(args, args.sites[0]),
                                run_all, print_table)


if __name__ == "__main__":
    main()
