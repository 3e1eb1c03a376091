"""Federated Averaging (McMahan et al. 2017, arXiv:1602.05629) with TFF, in three layers.

1. Records and plain TensorFlow, testable without TFF: the model is a list of arrays
   ``[kernel, bias, ...]`` (softmax regression or a one-hidden-layer MLP), not a Keras model.
2. One builder, :func:`build_fedavg_process`: broadcast -> map -> mean -> map.
3. A thin driver: :func:`make_client_datasets`, :func:`evaluate`, :func:`run_training`.

`client_update` is taught in `notebooks/02_local_training.ipynb`, the rest in
`notebooks/03_aggregation.ipynb`.

Records that pass through TFF are NamedTuples: TFF 0.87 carries namedtuples through a
computation, not dataclasses. TensorFlow and TFF are imported inside the functions, so
importing this module does nothing and `runtime.setup()` can quiet TensorFlow before it loads.
"""

from __future__ import annotations

import collections
import dataclasses
import sys
import time
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

__all__ = [
    "ClientOutput", "ServerState", "History", "make_model_weights", "predict_logits",
    "mean_loss", "client_update", "server_update", "build_fedavg_process",
    "make_client_datasets", "evaluate", "run_training",
]


class ClientOutput(NamedTuple):
    """What one client sends back after local training (`notebooks/02_local_training.ipynb`)."""

    weights_delta: list  # trained weights minus the broadcast weights
    num_examples: Any  # float32: examples in one pass over the client's data (mean weight)
    loss: Any  # float32: mean training loss over every example seen, before each step


class ServerState(NamedTuple):
    """What the server keeps between rounds (`notebooks/03_aggregation.ipynb`)."""

    weights: list
    round_num: Any  # int32: rounds completed


@dataclasses.dataclass(frozen=True)
class History:
    """Per-round record of :func:`run_training` (`notebooks/03_aggregation.ipynb`).

    `eval_metrics` holds what `eval_fn` returned, one tuple per key; `accuracy` is its
    "accuracy" entry (empty without `eval_fn`).
    """

    round_num: tuple[int, ...]
    train_loss: tuple[float, ...]
    seconds: tuple[float, ...]  # wall time of `process.next` alone
    client_ids: tuple[tuple[int, ...], ...]  # the clients sampled in each round
    eval_metrics: dict[str, tuple[float, ...]]
    server_state: ServerState  # after the last round run
    stopped_early: bool

    @property
    def accuracy(self) -> tuple[float, ...]:
        return self.eval_metrics.get("accuracy", ())


def _check_int(name: str, value: int, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return int(value)


def _check_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _check_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2 or y.ndim != 1 or len(x) == 0:
        raise ValueError(f"x must be 2-D and y 1-D, non-empty, got shapes {x.shape}, {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    return x.astype(np.float32), y.astype(np.int32)


# ------------------------------------------------------------ layer 1: plain TensorFlow


def make_model_weights(
    num_features: int, num_classes: int, hidden_units: int = 0, seed: int = 0
) -> list[np.ndarray]:
    """Seeded float32 weights: Glorot-uniform kernels (as Keras `Dense`), zero biases.

    `hidden_units=0` gives softmax regression `[kernel, bias]`; otherwise a one-hidden-layer
    ReLU MLP `[kernel1, bias1, kernel2, bias2]`. Taught in `notebooks/03_aggregation.ipynb`.
    """
    num_features = _check_int("num_features", num_features, 1)
    num_classes = _check_int("num_classes", num_classes, 2)
    hidden_units = _check_int("hidden_units", hidden_units, 0)
    rng = np.random.default_rng(seed)
    sizes = [num_features] + ([hidden_units] if hidden_units else []) + [num_classes]
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        weights.append(np.zeros(fan_out, np.float32))
    return weights


def predict_logits(weights: Sequence, x):
    """Logits `[batch, num_classes]` of the model `weights` (ReLU between layers), in TF."""
    import tensorflow as tf

    h = tf.convert_to_tensor(x, tf.float32)
    for i in range(0, len(weights), 2):
        h = tf.matmul(tf.nn.relu(h) if i else h, weights[i]) + weights[i + 1]
    return h


def mean_loss(weights: Sequence, x, y):
    """Mean softmax cross-entropy over the batch (Keras' sparse categorical loss), in TF."""
    import tensorflow as tf

    labels = tf.cast(y, tf.int32)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, predict_logits(weights, x))
    return tf.reduce_mean(losses)


def _examples(dataset, num_features: int):
    """A `tf.data.Dataset` of single `{x, y}` examples from arrays or an (un)batched dataset."""
    import tensorflow as tf

    if isinstance(dataset, (tuple, list)):
        x, y = _check_xy(*dataset)
        dataset = tf.data.Dataset.from_tensor_slices(collections.OrderedDict(x=x, y=y))
    x_shape = dataset.element_spec["x"].shape
    if x_shape[-1] != num_features:
        raise ValueError(f"x must have {num_features} features (the model's), got shape {x_shape}")
    return dataset.unbatch() if x_shape.rank == 2 else dataset


def client_update(
    weights: Sequence, dataset, local_epochs: int, batch_size: int, client_lr: float
) -> ClientOutput:
    """Plain local SGD from `weights`; works eagerly and inside a TFF computation.

    The client's examples are cut into batches of `batch_size` (the last may be smaller), in
    the order given, and passed over `local_epochs` times; each batch is one step
    `w -= client_lr * grad(mean batch loss)`. FedSGD is `local_epochs=1` with `batch_size` at
    least the client's size: one full-batch gradient step. Taught in
    `notebooks/02_local_training.ipynb`.

    Args:
        weights: The broadcast model, a list of float32 arrays or tensors.
        dataset: A `tf.data.Dataset` of `{"x", "y"}` examples or batches (batches are re-cut
            to `batch_size`), or a pair of arrays `(x, y)`.
        local_epochs: Passes over the client's data (>= 1).
        batch_size: Examples per local step (>= 1).
        client_lr: Client learning rate (> 0).
    """
    import tensorflow as tf

    local_epochs = _check_int("local_epochs", local_epochs, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    client_lr = _check_positive("client_lr", client_lr)
    start = tuple(tf.convert_to_tensor(w, tf.float32) for w in weights)
    batches = _examples(dataset, start[0].shape[0]).batch(batch_size).repeat(local_epochs)

    def sgd_step(state, batch):
        w, seen, loss_sum = state
        with tf.GradientTape() as tape:
            tape.watch(w)
            loss = mean_loss(w, batch["x"], batch["y"])
        grads = tape.gradient(loss, w)
        n = tf.shape(batch["y"])[0]
        new_w = tuple(wi - client_lr * gi for wi, gi in zip(w, grads))
        return new_w, seen + n, loss_sum + loss * tf.cast(n, tf.float32)

    trained, seen, loss_sum = batches.reduce((start, 0, 0.0), sgd_step)
    return ClientOutput(
        weights_delta=[t - s for t, s in zip(trained, start)],
        num_examples=tf.cast(seen // local_epochs, tf.float32),
        loss=tf.math.divide_no_nan(loss_sum, tf.cast(seen, tf.float32)),
    )


def server_update(weights: Sequence, mean_delta: Sequence, server_lr: float) -> list:
    """Server SGD `w + server_lr * mean_delta`; `server_lr=1` is FedAvg. In TF."""
    server_lr = _check_positive("server_lr", server_lr)
    return [w + server_lr * d for w, d in zip(weights, mean_delta)]


# ------------------------------------------------------------ layer 2: the TFF process


def build_fedavg_process(
    num_features: int, num_classes: int, *, local_epochs: int, batch_size: int,
    client_lr: float, server_lr: float = 1.0, hidden_units: int = 0, weighted: bool = True,
    seed: int = 0,
):
    """FedAvg as a `tff.templates.IterativeProcess`. Taught in `notebooks/03_aggregation.ipynb`.

    `initialize()` returns `ServerState(weights=make_model_weights(...), round_num=0)` at
    SERVER. `next(server_state, client_data)` broadcasts the weights, runs
    :func:`client_update` on every client, averages the deltas (weighted by `num_examples` if
    `weighted`, else each client counts once), applies :func:`server_update`, and returns
    `(server_state, metrics)`; `metrics` holds `train_loss` (example-weighted mean client
    loss) and `num_examples` (the round's total). Arguments as in :func:`client_update`.
    """
    import tensorflow as tf
    import tensorflow_federated as tff

    _check_int("local_epochs", local_epochs, 1)
    _check_int("batch_size", batch_size, 1)
    _check_positive("client_lr", client_lr)
    _check_positive("server_lr", server_lr)
    initial_weights = make_model_weights(num_features, num_classes, hidden_units, seed)

    @tff.tensorflow.computation
    def server_init():
        return ServerState([tf.constant(w) for w in initial_weights], tf.constant(0))

    server_state_type = server_init.type_signature.result
    weights_type = server_state_type.weights
    client_data_type = tff.SequenceType(collections.OrderedDict(
        x=tff.TensorType(np.float32, [None, num_features]), y=tff.TensorType(np.int32, [None])))

    @tff.tensorflow.computation(weights_type, client_data_type)
    def client_update_fn(weights, dataset):
        return client_update(weights, dataset, local_epochs, batch_size, client_lr)

    @tff.tensorflow.computation(server_state_type, weights_type)
    def server_update_fn(server_state, mean_delta):
        weights = server_update(server_state.weights, mean_delta, server_lr)
        return ServerState(weights, server_state.round_num + 1)

    @tff.federated_computation
    def initialize():
        return tff.federated_eval(server_init, tff.SERVER)

    @tff.federated_computation(
        tff.FederatedType(server_state_type, tff.SERVER),
        tff.FederatedType(client_data_type, tff.CLIENTS),
    )
    def next_fn(server_state, client_data):
        weights_at_clients = tff.federated_broadcast(server_state.weights)
        outputs = tff.federated_map(client_update_fn, (weights_at_clients, client_data))
        weight = outputs.num_examples if weighted else None
        mean_delta = tff.federated_mean(outputs.weights_delta, weight=weight)
        server_state = tff.federated_map(server_update_fn, (server_state, mean_delta))
        metrics = collections.OrderedDict(
            train_loss=tff.federated_mean(outputs.loss, weight=outputs.num_examples),
            num_examples=tff.federated_sum(outputs.num_examples),
        )
        return server_state, tff.federated_zip(metrics)

    return tff.templates.IterativeProcess(initialize, next_fn)


# ------------------------------------------------------------ layer 3: the driver


def make_client_datasets(x, y, partition: Sequence[np.ndarray], batch_size: int) -> list:
    """One `tf.data.Dataset` of `{x, y}` batches per client; build it once, before the rounds.

    Batches keep the partition's order. :func:`build_fedavg_process` re-cuts them to its own
    `batch_size`; TFF's `build_weighted_fed_avg` uses them as they are. Taught in
    `notebooks/03_aggregation.ipynb`.
    """
    import tensorflow as tf

    x, y = _check_xy(x, y)
    batch_size = _check_int("batch_size", batch_size, 1)
    if not 1 <= len(partition) <= len(x):
        raise ValueError(f"partition must have between 1 and {len(x)} clients (the number of "
                         f"examples), got {len(partition)}")
    datasets = []
    for client, indices in enumerate(partition):
        indices = np.asarray(indices, np.int64)
        if len(indices) == 0 or indices.min() < 0 or indices.max() >= len(x):
            raise ValueError(f"partition[{client}] must hold 1 or more indices between 0 and "
                             f"{len(x) - 1}, got {len(indices)} indices")
        examples = collections.OrderedDict(x=x[indices], y=y[indices])
        datasets.append(tf.data.Dataset.from_tensor_slices(examples).batch(batch_size))
    return datasets


def evaluate(weights: Sequence, x, y) -> dict[str, float]:
    """Mean loss and accuracy of `weights` on `(x, y)`; taught in `notebooks/03_aggregation.ipynb`.
    """
    x, y = _check_xy(x, y)
    if x.shape[1] != np.shape(weights[0])[0]:
        raise ValueError(f"x must have {np.shape(weights[0])[0]} features (the model's), got "
                         f"shape {x.shape}")
    logits = predict_logits(weights, x)
    accuracy = np.mean(np.argmax(logits, axis=1) == y)
    return {"loss": float(mean_loss(weights, x, y)), "accuracy": float(accuracy)}


def _check_client_data(process, client_data: Sequence) -> None:
    import tensorflow as tf
    import tensorflow_federated as tff

    expected = process.next.type_signature.parameter[1].member.element
    for client, dataset in enumerate(client_data):
        if not isinstance(dataset, tf.data.Dataset):
            raise ValueError(f"client_data[{client}] must be a tf.data.Dataset, got "
                             f"{type(dataset).__name__}")
        actual = tff.types.tensorflow_to_type(dataset.element_spec)
        if not expected.is_assignable_from(actual):
            raise ValueError(f"client_data[{client}] holds {actual}, but the process expects "
                             f"{expected}: check the feature count and dtypes")
        size = int(dataset.cardinality())
        if size == tf.data.INFINITE_CARDINALITY:
            raise ValueError(f"client_data[{client}] is infinite; it must be finite")
        if size == 0 or (size < 0 and not any(True for _ in dataset.take(1))):
            raise ValueError(f"client_data[{client}] has 0 examples; every client needs >= 1")


def run_training(
    process, client_data: Sequence, num_rounds: int, clients_per_round: int | None = None,
    seed: int = 0, eval_fn: Callable[[list], dict] | None = None, progress: bool | None = None,
    patience: int | None = None, server_state: ServerState | None = None,
) -> History:
    """Runs `num_rounds` rounds of a :func:`build_fedavg_process` process.

    Each round samples `clients_per_round` distinct clients (all if None) with a
    `np.random.default_rng(seed)`; the cohort size stays fixed, so TFF does not retrace. Taught
    in `notebooks/03_aggregation.ipynb`.

    Args:
        process: The process from :func:`build_fedavg_process`.
        client_data: One dataset per client, e.g. from :func:`make_client_datasets`.
        num_rounds: Rounds to run (>= 1).
        clients_per_round: Between 1 and `len(client_data)`; None means every client.
        seed: Seed of the client sampling.
        eval_fn: Called after each round as `eval_fn(weights) -> dict of floats`.
        progress: Show a tqdm bar; None shows one only if stderr is a terminal.
        patience: Stop once `eval_fn(...)["accuracy"]` has not risen above its best for
            `patience` rounds in a row (>= 1; needs `eval_fn`). None never stops early.
        server_state: Start from this state instead of `process.initialize()`.
    """
    from tqdm import tqdm

    num_rounds = _check_int("num_rounds", num_rounds, 1)
    num_clients = len(client_data)
    if num_clients == 0:
        raise ValueError("client_data must hold at least 1 client, got 0")
    if clients_per_round is None:
        clients_per_round = num_clients
    clients_per_round = _check_int("clients_per_round", clients_per_round, 1, num_clients)
    if patience is not None:
        patience = _check_int("patience", patience, 1)
        if eval_fn is None:
            raise ValueError("patience needs an eval_fn that returns an 'accuracy' key")
    _check_client_data(process, client_data)
    if progress is None:
        progress = sys.stderr.isatty()

    rng = np.random.default_rng(seed)
    state = process.initialize() if server_state is None else server_state
    round_nums, train_losses, seconds, cohorts = [], [], [], []
    evals: dict[str, list[float]] = collections.defaultdict(list)
    best, since_best = -np.inf, 0
    for _ in (bar := tqdm(range(num_rounds), desc="rounds", disable=not progress)):
        ids = tuple(int(i) for i in np.sort(rng.choice(num_clients, clients_per_round, False)))
        start = time.perf_counter()
        state, metrics = process.next(state, [client_data[i] for i in ids])
        seconds.append(time.perf_counter() - start)
        round_nums.append(int(state.round_num))
        train_losses.append(float(metrics["train_loss"]))
        cohorts.append(ids)
        bar.set_postfix(train_loss=f"{train_losses[-1]:.4f}", refresh=False)
        for key, value in (eval_fn(state.weights) if eval_fn else {}).items():
            evals[key].append(float(value))
        if patience is not None:
            if "accuracy" not in evals:
                raise ValueError("patience needs eval_fn to return an 'accuracy' key")
            if evals["accuracy"][-1] > best:
                best, since_best = evals["accuracy"][-1], 0
            else:
                since_best += 1
            if since_best >= patience:
                break
    return History(
        round_num=tuple(round_nums), train_loss=tuple(train_losses), seconds=tuple(seconds),
        client_ids=tuple(cohorts), eval_metrics={k: tuple(v) for k, v in evals.items()},
        server_state=state, stopped_early=len(round_nums) < num_rounds,
    )
