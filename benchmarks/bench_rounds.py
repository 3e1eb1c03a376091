"""One FedAvg implementation, one cohort size, R rounds: round times, CPU and memory (a child).

Run by `run.py` in a fresh process for every (implementation, clients per round), for the
`rounds` and `memory` benchmarks; it can also be run by hand:

    .venv/bin/python -m benchmarks.bench_rounds --impl fedlab --clients-per-round 100 \
        --rounds 10 --out /tmp/fedlab.json

Where the time goes: each record holds the CPU seconds per round of this process
(`python_cpu_per_round`: tracing, serializing the arguments, gRPC, all threads) and of TFF's
worker (`worker_cpu_per_round`: running the computation). cProfile is of little use here: TFF
runs the round on its event-loop thread, and the main thread only waits for it.

The workload is the same for every implementation: scikit-learn digits (1,797 examples,
64 features, 10 classes) split IID into `--num-clients` clients (default 100, about 18
examples each), a softmax regression from `fedlab.fedavg.make_model_weights(64, 10)`, plain
local SGD (`--local-epochs`, `--batch-size`, `--client-lr`), server learning rate 1, clients
weighted by their example count. Each round's cohort is `--clients-per-round` clients drawn
WITH replacement from that fixed set (the same draws for every implementation), so 1000
clients per round means each client about 10 times, and the work per client stays the same at
every cohort size. The process and the datasets are built once; the cohort size is fixed, so
TFF does not retrace.

Implementations:
  bare_tf       no TFF: a Python loop over the cohort calls `fedlab.fedavg.client_update` in
                one `tf.function` per client, accumulates the weighted deltas, then
                `server_update`. The floor: the same local training with no federated runtime.
  fedlab        `fedlab.fedavg.build_fedavg_process` (the course's FedAvg), TFF default context.
  tff_learning  `tff.learning.algorithms.build_weighted_fed_avg` with the same model as a Keras
                `Dense(10)` (weights set to the same start), SGD client and server optimizers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from benchmarks import bench_common as common

IMPLEMENTATIONS = ("bare_tf", "fedlab", "tff_learning")
NUM_FEATURES, NUM_CLASSES = 64, 10


def make_cohorts(num_clients: int, clients_per_round: int, num_rounds: int, seed: int):
    """The clients of every round: drawn with replacement, the same for every implementation."""
    rng = np.random.default_rng(seed)
    return [rng.choice(num_clients, clients_per_round, replace=True) for _ in range(num_rounds)]


def _setup(impl: str, seed: int, op_determinism: bool) -> None:
    if impl == "bare_tf":  # seeds as runtime.setup does, without importing TFF
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        np.random.seed(seed)
        tf.keras.utils.set_random_seed(seed)
        # runtime.setup turns op determinism on in the notebook's process, but TFF runs the
        # rounds in its worker process, where it is off. It about doubles the CPU time of a
        # client step in this process, so the floor leaves it off unless asked.
        if op_determinism:
            tf.config.experimental.enable_op_determinism()
    else:
        from fedlab import runtime

        runtime.setup(seed=seed, verbose=False)


class BareTF:
    """FedAvg rounds with no TFF: `client_update` per client in a tf.function, then average."""

    def __init__(self, args, datasets):
        import tensorflow as tf

        from fedlab import fedavg

        self.fedavg, self.tf, self.datasets = fedavg, tf, datasets
        self.server_lr = args.server_lr

        @tf.function
        def client_step(weights, dataset, delta_sums, num_sum, loss_sum):
            out = fedavg.client_update(weights, dataset, args.local_epochs, args.batch_size,
                                       args.client_lr)
            delta_sums = [s + out.num_examples * d for s, d in zip(delta_sums, out.weights_delta)]
            return delta_sums, num_sum + out.num_examples, loss_sum + out.loss * out.num_examples

        self.client_step = client_step

    def initialize(self):
        return [self.tf.constant(w) for w in
                self.fedavg.make_model_weights(NUM_FEATURES, NUM_CLASSES)]

    def next(self, weights, cohort):
        tf = self.tf
        delta_sums = [tf.zeros_like(w) for w in weights]
        num_sum = loss_sum = tf.constant(0.0)
        for client in cohort:
            delta_sums, num_sum, loss_sum = self.client_step(
                weights, self.datasets[client], delta_sums, num_sum, loss_sum)
        mean_delta = [s / num_sum for s in delta_sums]
        return self.fedavg.server_update(weights, mean_delta, self.server_lr)

    def weights(self, state):
        return [np.asarray(w) for w in state]

    def worker_pids(self):
        return []

    def tracing_count(self):
        return self.client_step.experimental_get_tracing_count()


class FedlabTFF:
    """The course's FedAvg: `fedlab.fedavg.build_fedavg_process`."""

    def __init__(self, args, datasets):
        from fedlab import fedavg, runtime

        self.runtime, self.datasets = runtime, datasets
        self.process = fedavg.build_fedavg_process(
            NUM_FEATURES, NUM_CLASSES, local_epochs=args.local_epochs, batch_size=args.batch_size,
            client_lr=args.client_lr, server_lr=args.server_lr)

    def initialize(self):
        return self.process.initialize()

    def next(self, state, cohort):
        state, _ = self.process.next(state, [self.datasets[c] for c in cohort])
        return state

    def weights(self, state):
        return [np.asarray(w) for w in state.weights]

    def worker_pids(self):
        return self.runtime.worker_pids()

    def tracing_count(self):
        return None


class TFFLearning:
    """`tff.learning.algorithms.build_weighted_fed_avg`, same model, same start, SGD."""

    def __init__(self, args, datasets):
        import tensorflow as tf
        import tensorflow_federated as tff

        from fedlab import fedavg, runtime

        self.runtime, self.tff = runtime, tff
        # build_weighted_fed_avg makes one pass over what it is given: repeat for more epochs.
        self.datasets = [d.repeat(args.local_epochs) if args.local_epochs > 1 else d
                         for d in datasets]
        input_spec = datasets[0].element_spec
        self.initial = fedavg.make_model_weights(NUM_FEATURES, NUM_CLASSES)

        def model_fn():
            keras_model = tf.keras.Sequential([
                tf.keras.layers.InputLayer(input_shape=(NUM_FEATURES,)),
                tf.keras.layers.Dense(NUM_CLASSES),
            ])
            return tff.learning.models.from_keras_model(
                keras_model, input_spec=input_spec,
                loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))

        self.process = tff.learning.algorithms.build_weighted_fed_avg(
            model_fn,
            client_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=args.client_lr),
            server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=args.server_lr))

    def initialize(self):
        state = self.process.initialize()
        start = self.tff.learning.models.ModelWeights(trainable=list(self.initial),
                                                      non_trainable=[])
        return self.process.set_model_weights(state, start)

    def next(self, state, cohort):
        return self.process.next(state, [self.datasets[c] for c in cohort]).state

    def weights(self, state):
        return [np.asarray(w) for w in self.process.get_model_weights(state).trainable]

    def worker_pids(self):
        return self.runtime.worker_pids()

    def tracing_count(self):
        return None


BUILDERS = {"bare_tf": BareTF, "fedlab": FedlabTFF, "tff_learning": TFFLearning}


def build(args):
    """Data, client datasets and the implementation, built once."""
    from fedlab import data, fedavg, partition

    x, y, _ = data.load_dataset("digits")
    parts = partition.iid_partition(len(x), args.num_clients, seed=args.seed)
    datasets = fedavg.make_client_datasets(x, y, parts, args.batch_size)
    return BUILDERS[args.impl](args, datasets)


def run(args, after_setup=None, worker_pids=None, extra=None) -> list[dict]:
    """Builds once, runs `args.rounds` rounds, returns one record per checkpoint.

    `after_setup()` runs after the seeds and TFF's context are set and before anything is
    built (`remote_workers.py` installs its own context there); `worker_pids()` replaces the
    implementation's list of worker processes (for memory and CPU); `extra` is added to every
    record.
    """
    checkpoints = sorted(set(args.checkpoints or [args.rounds]) | {args.rounds})
    if checkpoints[0] < 1:
        raise ValueError(f"checkpoints must be >= 1, got {checkpoints}")
    _setup(args.impl, args.seed, args.op_determinism)
    if after_setup is not None:
        after_setup()
    start = time.perf_counter()
    impl = build(args)
    if worker_pids is not None:
        impl.worker_pids = worker_pids
    state = impl.initialize()
    build_seconds = time.perf_counter() - start
    cohorts = make_cohorts(args.num_clients, args.clients_per_round, args.rounds, args.seed)

    seconds, python_cpu, worker_cpu, curve, records = [], [], [], [], []
    curve_every = max(1, args.rounds // 25)
    for r, cohort in enumerate(cohorts, start=1):
        pids = impl.worker_pids()
        cpu0, wcpu0 = common.cpu_seconds(), [common.cpu_seconds(p) for p in pids]
        t0 = time.perf_counter()
        state = impl.next(state, cohort)
        seconds.append(time.perf_counter() - t0)
        python_cpu.append(common.cpu_seconds() - cpu0)
        pids_after = impl.worker_pids()
        if pids and pids_after == pids:
            worker_cpu.append(sum(common.cpu_seconds(p) - c for p, c in zip(pids, wcpu0)))
        if r % curve_every == 0 or r == 1:
            curve.append((r, round(common.memory_of(pids_after)["rss_mb"], 1)))
        if r in checkpoints:
            mem = common.memory_of(pids_after)
            records.append(common.record(
                args.benchmark, args.impl, args.clients_per_round,
                common.median_after_first(seconds), mem["peak_rss_mb"],
                rounds=r, rss_mb=mem["rss_mb"], peak_rss_python_mb=mem["peak_rss_python_mb"],
                peak_rss_workers_mb=mem["peak_rss_workers_mb"],
                first_round_seconds=seconds[0], build_seconds=build_seconds,
                python_cpu_per_round=common.median_after_first(python_cpu),
                worker_cpu_per_round=(statistics.median(worker_cpu[1:])
                                      if len(worker_cpu) > 1 else None),
                num_clients=args.num_clients, sampling="with replacement",
                local_epochs=args.local_epochs, batch_size=args.batch_size,
                client_lr=args.client_lr, worker_processes=len(pids_after),
                tracing_count=impl.tracing_count(), **(extra or {}),
                op_determinism=(args.op_determinism if args.impl == "bare_tf"
                                else "python process only"),
            ))
        if r == 1 or r % max(1, args.rounds // 10) == 0:
            common.progress(f"{args.benchmark} {args.impl} cpr={args.clients_per_round}: "
                            f"round {r}/{args.rounds} {seconds[-1]:.3f} s")
    last = records[-1]
    last["round_seconds"] = [round(s, 4) for s in seconds] if args.rounds <= 50 else None
    last["rss_curve_mb"] = curve
    if args.weights_out:
        np.savez(args.weights_out, *impl.weights(state))
    return records


def add_workload_args(p: argparse.ArgumentParser, impls=IMPLEMENTATIONS,
                      default_impl: str | None = None) -> None:
    """The arguments that define the workload (shared with remote_workers.py)."""
    p.add_argument("--impl", choices=impls, default=default_impl, required=default_impl is None)
    p.add_argument("--clients-per-round", type=int, default=100)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--checkpoints", type=lambda s: [int(v) for v in s.split(",") if v],
                   default=None, help="rounds after which to record memory, e.g. 50,500")
    p.add_argument("--num-clients", type=int, default=100)
    p.add_argument("--local-epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--client-lr", type=float, default=0.1)
    p.add_argument("--server-lr", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--op-determinism", action="store_true",
                   help="bare_tf only: turn on tf.config.experimental.enable_op_determinism")
    p.add_argument("--weights-out", help="save the final weights here (.npz)")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_workload_args(p)
    p.add_argument("--benchmark", default="rounds", help="the records' benchmark name")
    p.add_argument("--out", required=True, help="write the records here as JSON")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.clients_per_round < 1:
        p.error("--rounds and --clients-per-round must be >= 1")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    records = run(args)
    common.write_records(args.out, records)


if __name__ == "__main__":
    main()
