"""Federated Averaging (McMahan et al. 2017, arXiv:1602.05629) with TFF, in three layers.

The layers follow TFF's `simple_fedavg` example (tensorflow_federated/examples/simple_fedavg/ at
tag v0.87.0):

1. Records and plain TensorFlow, testable without TFF: the model is a list of arrays
   ``[kernel, bias, ...]`` (softmax regression or a one-hidden-layer MLP), not a Keras model.
2. One builder, :func:`build_fedavg_process`: broadcast -> map -> aggregate -> map. Three hooks
   leave room for later lessons without forking it: a server optimizer
   (`tff.learning.optimizers`, FedAvgM, FedAdam), a broadcast hook that transforms what the
   server sends (like simple_fedavg's `build_server_broadcast_message`, e.g. compression), and
   a model aggregator (a TFF aggregation factory: secure, private or compressed sums).
3. A thin driver, :func:`run_training`: for each round, pick clients, call `next`, record;
   with :func:`make_client_datasets` and :func:`evaluate`.

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

from fedlab._checks import check_int, check_number

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
    """What the server keeps between rounds (`notebooks/03_aggregation.ipynb`).

    `optimizer_state` is the server optimizer's (its learning rate; FedAvgM's momentum, Adam's
    moments); `aggregator_state` is the model aggregator's (empty for the plain mean; a private
    aggregator's clipping norm). Both default to empty: `ServerState(weights, round_num)` is
    the two-field state that notebooks 01 and 03 write themselves.
    """

    weights: list
    round_num: Any  # int32: rounds completed
    optimizer_state: Any = ()
    aggregator_state: Any = ()


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
    num_features = check_int("num_features", num_features, 1)
    num_classes = check_int("num_classes", num_classes, 2)
    hidden_units = check_int("hidden_units", hidden_units, 0)
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

    local_epochs = check_int("local_epochs", local_epochs, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    client_lr = check_number("client_lr", client_lr, 0, low_open=True)
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
    """Server SGD `w + server_lr * mean_delta`; `server_lr=1` is FedAvg. In TF.

    :func:`build_fedavg_process` takes this step with `tff.learning.optimizers.build_sgdm(
    learning_rate=server_lr)` on the "gradient" `-mean_delta`, which gives the same weights bit
    for bit (negation is exact in floating point). Taught in `notebooks/03_aggregation.ipynb`.
    """
    server_lr = check_number("server_lr", server_lr, 0, low_open=True)
    return [w + server_lr * d for w, d in zip(weights, mean_delta)]


def _broadcast_weights(server_state: ServerState) -> list:
    """The default `broadcast_fn`: the server sends its weights as they are (notebook 01)."""
    return list(server_state.weights)


# ------------------------------------------------------------ layer 2: the TFF process


def _server_optimizer(server_optimizer, server_lr: float):
    """The optimizer the server steps with: `server_optimizer`, or SGD with `server_lr`."""
    import tensorflow_federated as tff

    server_lr = check_number("server_lr", server_lr, 0, low_open=True)
    if server_optimizer is None:
        return tff.learning.optimizers.build_sgdm(learning_rate=server_lr)
    if not isinstance(server_optimizer, tff.learning.optimizers.Optimizer):
        raise TypeError("server_optimizer must be a tff.learning.optimizers.Optimizer, e.g. "
                        "tff.learning.optimizers.build_adam(learning_rate=0.01), got "
                        f"{type(server_optimizer).__name__}")
    if server_lr != 1.0:
        raise ValueError(f"server_lr={server_lr} applies only to the default server optimizer; "
                         "set the learning rate in server_optimizer instead")
    return server_optimizer


def _aggregation_process(model_aggregator, weighted: bool, weights_type):
    """`model_aggregator` (default: TFF's weighted or unweighted mean) made for the weights."""
    import tensorflow_federated as tff

    if model_aggregator is None:
        model_aggregator = (tff.aggregators.MeanFactory() if weighted
                            else tff.aggregators.UnweightedMeanFactory())
    if isinstance(model_aggregator, tff.aggregators.WeightedAggregationFactory):
        if not weighted:
            raise ValueError("model_aggregator is a weighted aggregation factory, but "
                             "weighted=False: pass an unweighted one or weighted=True")
        return model_aggregator.create(weights_type, tff.TensorType(np.float32))
    if isinstance(model_aggregator, tff.aggregators.UnweightedAggregationFactory):
        if weighted:
            raise ValueError("model_aggregator is an unweighted aggregation factory (e.g. a "
                             "differentially private one): pass weighted=False to use it")
        return model_aggregator.create(weights_type)
    raise TypeError("model_aggregator must be a tff.aggregators factory, e.g. "
                    "tff.aggregators.MeanFactory(), got " + type(model_aggregator).__name__)


def build_fedavg_process(
    num_features: int, num_classes: int, *, local_epochs: int, batch_size: int,
    client_lr: float, server_lr: float = 1.0, hidden_units: int = 0, weighted: bool = True,
    seed: int = 0, server_optimizer=None, broadcast_fn: Callable | None = None,
    receive_fn: Callable | None = None, model_aggregator=None,
):
    """FedAvg as a `tff.templates.IterativeProcess`. Taught in `notebooks/03_aggregation.ipynb`.

    `initialize()` returns a :class:`ServerState` at SERVER: `make_model_weights(...)`,
    `round_num=0`, the server optimizer's and the aggregator's initial states.
    `next(server_state, client_data)`, one round:

    1. broadcast `broadcast_fn(server_state)` (default: the weights) to the clients;
    2. each client turns it into weights with `receive_fn` (default: as it is) and runs
       :func:`client_update`;
    3. `model_aggregator` combines the clients' `weights_delta` (default: their mean, weighted
       by `num_examples` if `weighted`, else each client counts once);
    4. the server optimizer takes one step on the "gradient" `-mean_delta` and `round_num`
       grows by 1.

    It returns `(server_state, metrics)`; `metrics` holds `train_loss` (example-weighted mean
    client loss), `num_examples` (the round's total) and, if the aggregator reports any, its
    measurements as `aggregator`. With the defaults this is notebook 03's process, bit for bit.

    Args:
        num_features, num_classes, hidden_units, seed: The model, as in :func:`make_model_weights`.
        local_epochs, batch_size, client_lr: Local training, as in :func:`client_update`.
        server_lr: The learning rate of the default server optimizer, SGD (1.0 is FedAvg).
        weighted: Weight each client's update by its number of examples.
        server_optimizer: A `tff.learning.optimizers.Optimizer`, e.g.
            `build_sgdm(learning_rate=1.0, momentum=0.9)` (FedAvgM) or
            `build_adam(learning_rate=0.01)` (FedAdam). None means
            `build_sgdm(learning_rate=server_lr)`.
        broadcast_fn: `broadcast_fn(server_state) -> message`, TensorFlow run at the server
            (simple_fedavg's `build_server_broadcast_message`): what is sent to the clients, any
            structure of tensors.
        receive_fn: `receive_fn(message) -> weights`, TensorFlow run on each client before
            training; needed when the message is not the weights themselves.
        model_aggregator: A `tff.aggregators` factory for the weights deltas: weighted (e.g.
            `MeanFactory(value_sum_factory=...)`) if `weighted`, unweighted otherwise.
    """
    import tensorflow as tf
    import tensorflow_federated as tff

    check_int("local_epochs", local_epochs, 1)
    check_int("batch_size", batch_size, 1)
    check_number("client_lr", client_lr, 0, low_open=True)
    optimizer = _server_optimizer(server_optimizer, server_lr)
    for name, hook in [("broadcast_fn", broadcast_fn), ("receive_fn", receive_fn)]:
        if hook is not None and not callable(hook):
            raise TypeError(f"{name} must be a function, got {type(hook).__name__}")
    initial_weights = make_model_weights(num_features, num_classes, hidden_units, seed)
    weight_specs = [tf.TensorSpec(w.shape, tf.float32) for w in initial_weights]
    weights_type = tff.types.tensorflow_to_type(weight_specs)
    aggregation = _aggregation_process(model_aggregator, weighted, weights_type)

    @tff.tensorflow.computation
    def server_init():
        return ServerState([tf.constant(w) for w in initial_weights], tf.constant(0),
                           optimizer.initialize(weight_specs))

    init_type = server_init.type_signature.result
    aggregator_state_type = aggregation.initialize.type_signature.result.member
    server_state_type = tff.types.to_type(ServerState(
        init_type.weights, init_type.round_num, init_type.optimizer_state, aggregator_state_type))
    client_data_type = tff.SequenceType(collections.OrderedDict(
        x=tff.TensorType(np.float32, [None, num_features]), y=tff.TensorType(np.int32, [None])))

    @tff.tensorflow.computation(server_state_type)
    def broadcast_message(server_state):
        return (broadcast_fn or _broadcast_weights)(server_state)

    message_type = broadcast_message.type_signature.result

    received_type = (message_type if receive_fn is None else
                     tff.tensorflow.computation(receive_fn, message_type).type_signature.result)
    if not weights_type.is_assignable_from(received_type):
        raise ValueError(f"the clients train on {received_type} but the model is {weights_type}: "
                         "a broadcast_fn that changes what is sent needs a receive_fn that "
                         "turns it back into weights")

    @tff.tensorflow.computation(message_type, client_data_type)
    def client_update_fn(message, dataset):
        weights = message if receive_fn is None else receive_fn(message)
        return client_update(weights, dataset, local_epochs, batch_size, client_lr)

    @tff.tensorflow.computation(server_state_type, weights_type, aggregator_state_type)
    def server_update_fn(server_state, mean_delta, aggregator_state):
        gradient = [-d for d in mean_delta]
        optimizer_state, weights = optimizer.next(
            server_state.optimizer_state, list(server_state.weights), gradient)
        return ServerState(weights, server_state.round_num + 1, optimizer_state, aggregator_state)

    @tff.federated_computation
    def initialize():
        state = tff.federated_eval(server_init, tff.SERVER)
        return tff.federated_zip(ServerState(state.weights, state.round_num,
                                             state.optimizer_state, aggregation.initialize()))

    measurements_type = aggregation.next.type_signature.result.measurements.member
    report_measurements = tff.types.contains(
        measurements_type, lambda t: isinstance(t, tff.TensorType))

    @tff.federated_computation(
        tff.FederatedType(server_state_type, tff.SERVER),
        tff.FederatedType(client_data_type, tff.CLIENTS),
    )
    def next_fn(server_state, client_data):
        message = tff.federated_broadcast(tff.federated_map(broadcast_message, server_state))
        outputs = tff.federated_map(client_update_fn, (message, client_data))
        if weighted:
            aggregated = aggregation.next(
                server_state.aggregator_state, outputs.weights_delta, outputs.num_examples)
        else:
            aggregated = aggregation.next(server_state.aggregator_state, outputs.weights_delta)
        server_state = tff.federated_map(
            server_update_fn, (server_state, aggregated.result, aggregated.state))
        metrics = collections.OrderedDict(
            train_loss=tff.federated_mean(outputs.loss, weight=outputs.num_examples),
            num_examples=tff.federated_sum(outputs.num_examples),
        )
        if report_measurements:
            metrics["aggregator"] = aggregated.measurements
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
    batch_size = check_int("batch_size", batch_size, 1)
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


def _check_run_arguments(process, client_data, num_rounds, clients_per_round, eval_fn, patience):
    """`run_training`'s arguments checked; returns (num_rounds, clients_per_round, patience)."""
    num_rounds = check_int("num_rounds", num_rounds, 1)
    if len(client_data) == 0:
        raise ValueError("client_data must hold at least 1 client, got 0")
    if clients_per_round is None:
        clients_per_round = len(client_data)
    clients_per_round = check_int("clients_per_round", clients_per_round, 1, len(client_data))
    if patience is not None:
        patience = check_int("patience", patience, 1)
        if eval_fn is None:
            raise ValueError("patience needs an eval_fn that returns an 'accuracy' key")
    _check_client_data(process, client_data)
    return num_rounds, clients_per_round, patience


def _pick_clients(rng: np.random.Generator, num_clients: int, clients_per_round: int) -> tuple:
    """A cohort: `clients_per_round` distinct client ids, sorted (notebook 03's loop)."""
    return tuple(int(i) for i in np.sort(rng.choice(num_clients, clients_per_round, False)))


class _Record:
    """What :func:`run_training` records, round by round; `history()` freezes it."""

    def __init__(self, eval_fn: Callable[[list], dict] | None):
        self.eval_fn = eval_fn
        self.round_num, self.train_loss, self.seconds, self.client_ids = [], [], [], []
        self.eval_metrics: dict[str, list[float]] = collections.defaultdict(list)

    def add(self, state, metrics, client_ids: tuple, seconds: float) -> None:
        self.round_num.append(int(state.round_num))
        self.train_loss.append(float(metrics["train_loss"]))
        self.client_ids.append(client_ids)
        self.seconds.append(seconds)
        for key, value in (self.eval_fn(state.weights) if self.eval_fn else {}).items():
            self.eval_metrics[key].append(float(value))

    def history(self, state, stopped_early: bool) -> History:
        return History(
            round_num=tuple(self.round_num), train_loss=tuple(self.train_loss),
            seconds=tuple(self.seconds), client_ids=tuple(self.client_ids),
            eval_metrics={k: tuple(v) for k, v in self.eval_metrics.items()},
            server_state=state, stopped_early=stopped_early)


def _patience_ran_out(accuracy: Sequence[float], patience: int | None) -> bool:
    """True once the last `patience` accuracies have not risen above the best before them."""
    if patience is None:
        return False
    if not accuracy:
        raise ValueError("patience needs eval_fn to return an 'accuracy' key")
    return len(accuracy) > patience and max(accuracy[-patience:]) <= max(accuracy[:-patience])


def run_training(
    process, client_data: Sequence, num_rounds: int, clients_per_round: int | None = None,
    seed: int = 0, eval_fn: Callable[[list], dict] | None = None, progress: bool | None = None,
    patience: int | None = None, server_state: ServerState | None = None,
) -> History:
    """Runs `num_rounds` rounds of a :func:`build_fedavg_process` process.

    Each round samples `clients_per_round` distinct clients (all if None) with a
    `np.random.default_rng(seed)`; the cohort size stays fixed, so TFF does not retrace. Any
    process whose state has `weights` and `round_num` and whose metrics have `train_loss`
    works (notebook 03's own does). Taught in `notebooks/03_aggregation.ipynb`.

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

    num_rounds, clients_per_round, patience = _check_run_arguments(
        process, client_data, num_rounds, clients_per_round, eval_fn, patience)
    rng = np.random.default_rng(seed)
    state = process.initialize() if server_state is None else server_state
    record = _Record(eval_fn)
    bar = tqdm(total=num_rounds, desc="rounds", disable=not (
        sys.stderr.isatty() if progress is None else progress))
    with bar:
        for _ in range(num_rounds):
            client_ids = _pick_clients(rng, len(client_data), clients_per_round)
            start = time.perf_counter()
            state, metrics = process.next(state, [client_data[i] for i in client_ids])
            record.add(state, metrics, client_ids, time.perf_counter() - start)
            bar.update(1)
            bar.set_postfix(train_loss=f"{record.train_loss[-1]:.4f}", refresh=False)
            if _patience_ran_out(record.eval_metrics.get("accuracy", []), patience):
                break
    return record.history(state, stopped_early=len(record.round_num) < num_rounds)
