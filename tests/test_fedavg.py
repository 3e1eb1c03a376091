"""Tests for fedlab.fedavg: plain-TF client and server updates, the TFF process, the driver."""

import collections
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedlab import fedavg, runtime

NUM_FEATURES, NUM_CLASSES = 4, 3
SIZES = (5, 9, 16)  # examples per client: unequal, so weighting matters


@pytest.fixture(scope="module", autouse=True)
def tff_runtime():
    runtime.setup(seed=0, verbose=False)


def make_data(num_examples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fixed toy data whose label depends on the features, so there is something to learn."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(num_examples, NUM_FEATURES)).astype(np.float32)
    y = np.argmax(x[:, :NUM_CLASSES] + 0.5 * rng.normal(size=(num_examples, NUM_CLASSES)), 1)
    return x, y.astype(np.int32)


@pytest.fixture(scope="module")
def clients():
    """(x, y, partition, client_data) for len(SIZES) clients of unequal size."""
    x, y = make_data(sum(SIZES))
    partition = np.split(np.arange(sum(SIZES)), np.cumsum(SIZES)[:-1])
    return x, y, partition, fedavg.make_client_datasets(x, y, partition, batch_size=4)


def build(**kwargs):
    args = dict(local_epochs=1, batch_size=4, client_lr=0.1)
    return fedavg.build_fedavg_process(NUM_FEATURES, NUM_CLASSES, **{**args, **kwargs})


@pytest.fixture(scope="module")
def process():
    return build()


def numpy_gradient(weights, x, y):
    """Gradient of the mean softmax cross-entropy of softmax regression, by hand."""
    logits = x @ weights[0] + weights[1]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return [x.T @ p / len(y), p.mean(0)]


def numpy_local_sgd(weights, x, y, local_epochs, batch_size, client_lr):
    w = [v.astype(np.float64) for v in weights]
    for _ in range(local_epochs):
        for start in range(0, len(x), batch_size):
            grads = numpy_gradient(w, x[start : start + batch_size], y[start : start + batch_size])
            w = [v - client_lr * g for v, g in zip(w, grads)]
    return [v - w0 for v, w0 in zip(w, weights)]


# ------------------------------------------------------------ layer 1


def test_make_model_weights_shapes_and_seed():
    w = fedavg.make_model_weights(64, 10)
    assert [v.shape for v in w] == [(64, 10), (10,)] and all(v.dtype == np.float32 for v in w)
    mlp = fedavg.make_model_weights(64, 10, hidden_units=8, seed=3)
    assert [v.shape for v in mlp] == [(64, 8), (8,), (8, 10), (10,)]
    again = fedavg.make_model_weights(64, 10, hidden_units=8, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(mlp, again))
    assert fedavg.predict_logits(mlp, np.ones((2, 64), np.float32)).shape == (2, 10)


def test_one_full_batch_step_is_minus_lr_times_gradient():
    x, y = make_data(20)
    weights = fedavg.make_model_weights(NUM_FEATURES, NUM_CLASSES, seed=1)
    out = fedavg.client_update(weights, (x, y), local_epochs=1, batch_size=len(x), client_lr=0.3)
    for delta, grad in zip(out.weights_delta, numpy_gradient(weights, x, y)):
        np.testing.assert_allclose(delta, -0.3 * grad, atol=1e-6)
    assert float(out.num_examples) == 20
    np.testing.assert_allclose(out.loss, fedavg.mean_loss(weights, x, y), atol=1e-6)


def test_local_epochs_and_batch_size_match_a_numpy_loop():
    x, y = make_data(20)
    weights = fedavg.make_model_weights(NUM_FEATURES, NUM_CLASSES, seed=1)
    expected = numpy_local_sgd(weights, x, y, local_epochs=3, batch_size=7, client_lr=0.2)
    batched = fedavg.make_client_datasets(x, y, [np.arange(20)], batch_size=5)[0]
    for data in [(x, y), batched]:  # batches of 5 are re-cut to 7
        out = fedavg.client_update(weights, data, local_epochs=3, batch_size=7, client_lr=0.2)
        for delta, want in zip(out.weights_delta, expected):
            np.testing.assert_allclose(delta, want, atol=1e-5)
        assert float(out.num_examples) == 20


def test_server_update_is_sgd_on_the_mean_delta():
    w, d = [np.ones((2, 2), np.float32)], [np.full((2, 2), 0.5, np.float32)]
    np.testing.assert_allclose(fedavg.server_update(w, d, server_lr=2.0)[0], 2.0)


# ------------------------------------------------------------ layer 2


def test_type_signature_prints_the_round(process):
    text = str(process.next.type_signature)
    assert "@SERVER" in text and "@CLIENTS" in text and "train_loss=float32" in text
    assert "round_num=int32" in str(process.initialize.type_signature)


def test_loss_at_the_end_is_below_the_loss_at_the_start(process, clients):
    state, client_data = process.initialize(), clients[3]
    losses = []
    for _ in range(10):
        state, metrics = process.next(state, client_data)
        losses.append(float(metrics["train_loss"]))
    assert losses[-1] < losses[0]
    assert int(state.round_num) == 10


@pytest.mark.parametrize("weighted", [True, False])
def test_one_round_is_the_weighted_mean_of_client_deltas(weighted, clients):
    x, y, partition, client_data = clients
    process = build(server_lr=0.5, weighted=weighted, local_epochs=2)
    state = process.initialize()
    outs = [fedavg.client_update(state.weights, (x[p], y[p]), 2, 4, 0.1) for p in partition]
    sizes = np.array([float(o.num_examples) for o in outs])
    np.testing.assert_array_equal(sizes, SIZES)
    mean_delta = [
        np.average([np.asarray(o.weights_delta[i]) for o in outs], axis=0,
                   weights=sizes if weighted else None)
        for i in range(2)
    ]
    new_state, metrics = process.next(state, client_data)
    for new, old, delta in zip(new_state.weights, state.weights, mean_delta):
        np.testing.assert_allclose(new, old + 0.5 * delta, atol=1e-6)
    losses = [float(o.loss) for o in outs]
    np.testing.assert_allclose(metrics["train_loss"], np.average(losses, weights=sizes), atol=1e-6)
    assert metrics["num_examples"] == sum(SIZES)


def test_two_runs_from_the_same_seed_are_identical(clients):
    runs = [fedavg.run_training(build(seed=7), clients[3], num_rounds=3, clients_per_round=2)
            for _ in range(2)]
    assert runs[0].train_loss == runs[1].train_loss
    assert runs[0].client_ids == runs[1].client_ids
    for a, b in zip(runs[0].server_state.weights, runs[1].server_state.weights):
        np.testing.assert_array_equal(a, b)


def build_reference_process(local_epochs=2, batch_size=4, client_lr=0.1, server_lr=0.5, seed=0):
    """Notebook 03's FedAvg as it is written there: federated_mean and `server_update`."""
    import tensorflow as tf
    import tensorflow_federated as tff

    initial = fedavg.make_model_weights(NUM_FEATURES, NUM_CLASSES, seed=seed)

    class State(NamedTuple):
        weights: list
        round_num: Any

    @tff.tensorflow.computation
    def server_init():
        return State([tf.constant(w) for w in initial], tf.constant(0))

    state_type = server_init.type_signature.result
    data_type = tff.SequenceType(collections.OrderedDict(
        x=tff.TensorType(np.float32, [None, NUM_FEATURES]), y=tff.TensorType(np.int32, [None])))

    @tff.tensorflow.computation(state_type.weights, data_type)
    def client_fn(weights, dataset):
        return fedavg.client_update(weights, dataset, local_epochs, batch_size, client_lr)

    @tff.tensorflow.computation(state_type, state_type.weights)
    def server_fn(state, mean_delta):
        weights = fedavg.server_update(state.weights, mean_delta, server_lr)
        return State(weights, state.round_num + 1)

    @tff.federated_computation(tff.FederatedType(state_type, tff.SERVER),
                               tff.FederatedType(data_type, tff.CLIENTS))
    def next_fn(state, client_data):
        weights_at_clients = tff.federated_broadcast(state.weights)
        outputs = tff.federated_map(client_fn, (weights_at_clients, client_data))
        mean_delta = tff.federated_mean(outputs.weights_delta, weight=outputs.num_examples)
        metrics = collections.OrderedDict(
            train_loss=tff.federated_mean(outputs.loss, weight=outputs.num_examples))
        return tff.federated_map(server_fn, (state, mean_delta)), tff.federated_zip(metrics)

    initialize = tff.federated_computation(lambda: tff.federated_eval(server_init, tff.SERVER))
    return tff.templates.IterativeProcess(initialize, next_fn)


def test_the_default_server_optimizer_reproduces_the_hand_written_round_bit_for_bit(clients):
    reference = fedavg.run_training(build_reference_process(), clients[3], num_rounds=3,
                                    clients_per_round=2, seed=5)
    saved = fedavg.run_training(build(local_epochs=2, server_lr=0.5), clients[3], num_rounds=3,
                                clients_per_round=2, seed=5)
    assert saved.client_ids == reference.client_ids and saved.train_loss == reference.train_loss
    for mine, theirs in zip(saved.server_state.weights, reference.server_state.weights):
        np.testing.assert_array_equal(mine, theirs)
    assert dict(saved.server_state.optimizer_state) == {"learning_rate": np.float32(0.5)}


def keras_model_fn(element_spec):
    import tensorflow as tf
    import tensorflow_federated as tff

    def model_fn():
        model = tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(NUM_FEATURES,)),
                                     tf.keras.layers.Dense(NUM_CLASSES)])
        return tff.learning.models.from_keras_model(
            model, input_spec=element_spec,
            loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    return model_fn


def run_tff_learning(clients, server_optimizer, num_rounds=3):
    """`build_weighted_fed_avg` from fedavg's starting weights, every client, one pass of SGD."""
    import tensorflow_federated as tff

    client_data = clients[3]
    process = tff.learning.algorithms.build_weighted_fed_avg(
        keras_model_fn(client_data[0].element_spec),
        client_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=0.1),
        server_optimizer_fn=server_optimizer,
        loop_implementation=tff.learning.LoopImplementation.DATASET_ITERATOR)
    start = fedavg.make_model_weights(NUM_FEATURES, NUM_CLASSES)
    state = process.set_model_weights(
        process.initialize(), tff.learning.models.ModelWeights(trainable=start, non_trainable=[]))
    for _ in range(num_rounds):
        state = process.next(state, client_data).state
    return process.get_model_weights(state).trainable


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fedavg_and_fedadam_equal_tff_learning_bit_for_bit(optimizer, clients):
    """FedOpt (Reddi et al. 2021, arXiv:2003.00295) is the server optimizer, not a new process."""
    import tensorflow_federated as tff

    builders = {"sgd": lambda: tff.learning.optimizers.build_sgdm(learning_rate=1.0),
                "adam": lambda: tff.learning.optimizers.build_adam(learning_rate=0.05)}
    process = build(server_optimizer=builders[optimizer]())
    state = process.initialize()
    for _ in range(3):
        state, _ = process.next(state, clients[3])
    theirs = run_tff_learning(clients, builders[optimizer]())
    for mine, want in zip(state.weights, theirs):  # bit for bit: the same float32 operations
        np.testing.assert_array_equal(mine, want)
    if optimizer == "adam":  # Adam's moments travel in the server state from round to round
        assert {"accumulator", "preconditioner"} <= set(state.optimizer_state)
        assert int(state.optimizer_state["step"]) == 3


def test_server_momentum_differs_from_fedavg_after_round_one(clients):
    import tensorflow_federated as tff

    fedavgm = build(server_optimizer=tff.learning.optimizers.build_sgdm(1.0, momentum=0.9))
    plain = build()
    states = {"FedAvgM": fedavgm.initialize(), "FedAvg": plain.initialize()}
    gaps = []
    for _ in range(2):
        states["FedAvgM"], _ = fedavgm.next(states["FedAvgM"], clients[3])
        states["FedAvg"], _ = plain.next(states["FedAvg"], clients[3])
        gaps.append(max(np.abs(a - b).max()
                        for a, b in zip(states["FedAvgM"].weights, states["FedAvg"].weights)))
    assert gaps[0] < 1e-6 < gaps[1]  # the momentum starts at zero, then carries the last step


def float16_broadcast(server_state):
    import tensorflow as tf

    return [tf.cast(w, tf.float16) for w in server_state.weights]


def float32_receive(message):
    import tensorflow as tf

    return [tf.cast(w, tf.float32) for w in message]


def test_a_float16_broadcast_plugs_in_as_a_hook(clients):
    x, y, partition, client_data = clients
    process = build(broadcast_fn=float16_broadcast, receive_fn=float32_receive)
    state = process.initialize()
    received = [np.float32(np.float16(w)) for w in state.weights]  # what each client starts from
    outs = [fedavg.client_update(received, (x[p], y[p]), 1, 4, 0.1) for p in partition]
    sizes = np.array([float(o.num_examples) for o in outs])
    new_state, _ = process.next(state, client_data)
    for i, (new, old) in enumerate(zip(new_state.weights, state.weights)):
        deltas = [np.asarray(o.weights_delta[i]) for o in outs]
        mean_delta = np.average(deltas, axis=0, weights=sizes)
        np.testing.assert_allclose(new, old + mean_delta, atol=1e-6)  # applied to float32 weights
    exact, _ = build().next(state, client_data)
    assert max(np.abs(a - b).max() for a, b in zip(new_state.weights, exact.weights)) > 0


def test_the_float16_message_halves_the_download(clients):
    import tensorflow_federated as tff

    from fedlab import payload

    downloads = {}
    for name, hooks in [("float32", {}), ("float16", dict(broadcast_fn=float16_broadcast,
                                                           receive_fn=float32_receive))]:
        form = tff.backends.mapreduce.get_map_reduce_form_for_computation(build(**hooks).next)
        downloads[name] = payload.tensor_bytes(form.work.type_signature.parameter[1])
    assert downloads["float16"] * 2 == downloads["float32"] == 4 * (NUM_FEATURES + 1) * NUM_CLASSES


@pytest.fixture
def random_ops():
    """Op determinism off for one test: TFF's encoders draw unseeded random numbers on purpose."""
    runtime.setup(seed=0, verbose=False, deterministic_ops=False)
    yield
    runtime.setup(seed=0, verbose=False)


def test_a_quantizing_aggregator_plugs_in_as_a_factory(clients, random_ops):
    """Stochastic 8-bit quantization of each client's update (Suresh et al. 2017, ICML)."""
    import tensorflow_federated as tff

    quantized = tff.aggregators.MeanFactory(
        value_sum_factory=tff.aggregators.EncodedSumFactory.quantize_above_threshold(
            quantization_bits=8, threshold=0))
    process = build(model_aggregator=quantized)
    state = process.initialize()
    new_state, metrics = process.next(state, clients[3])
    exact_process = build()  # same starting weights; its aggregator state is another type
    exact, exact_metrics = exact_process.next(exact_process.initialize(), clients[3])
    gaps = [np.abs(a - b).max() for a, b in zip(new_state.weights, exact.weights)]
    steps = [np.abs(a - b).max() for a, b in zip(exact.weights, state.weights)]
    assert 0 < max(gaps) < 0.05 * max(steps)  # 8 bits: close to the exact mean, not equal
    assert metrics["train_loss"] == exact_metrics["train_loss"]  # same broadcast, same training
    history = fedavg.run_training(process, clients[3], num_rounds=8)
    assert history.train_loss[-1] < history.train_loss[0]


def test_a_stateful_aggregator_keeps_its_state_in_the_server_state(clients):
    import tensorflow_federated as tff

    clipped = tff.aggregators.clipping_factory(
        tff.aggregators.PrivateQuantileEstimationProcess.no_noise(
            initial_estimate=0.01, target_quantile=0.5, learning_rate=0.5),
        tff.aggregators.MeanFactory())
    process = build(model_aggregator=clipped)
    state = process.initialize()
    norms = []
    for _ in range(3):
        state, metrics = process.next(state, clients[3])
        norms.append(float(metrics["aggregator"]["clipping_norm"]))
    assert norms[0] < norms[1] < norms[2]  # the adaptive norm grows round by round


# ------------------------------------------------------------ layer 3


def test_run_training_samples_a_fixed_cohort(process, clients):
    x, y, _, client_data = clients
    history = fedavg.run_training(process, client_data, num_rounds=4, clients_per_round=2,
                                  seed=3, eval_fn=lambda w: fedavg.evaluate(w, x, y))
    assert all(len(set(ids)) == 2 and set(ids) <= {0, 1, 2} for ids in history.client_ids)
    assert history.round_num == (1, 2, 3, 4) and not history.stopped_early
    lengths = {len(history.train_loss), len(history.seconds), len(history.client_ids),
               len(history.accuracy), len(history.eval_metrics["loss"])}
    assert lengths == {4}
    assert 0.0 <= min(history.accuracy) <= max(history.accuracy) <= 1.0


def test_early_stopping_stops_after_patience_rounds_without_improvement(process, clients):
    history = fedavg.run_training(process, clients[3], num_rounds=10, patience=2,
                                  eval_fn=lambda w: {"accuracy": 0.5})
    assert history.stopped_early and history.round_num == (1, 2, 3)
    assert history.accuracy == (0.5, 0.5, 0.5) and len(history.train_loss) == 3


def counter_stop_round(accuracy, patience):
    """The rule as a counter of rounds since the best: the round after which training stops."""
    best, since_best = -np.inf, 0
    for round_num, value in enumerate(accuracy, start=1):
        best, since_best = (value, 0) if value > best else (best, since_best + 1)
        if since_best >= patience:
            return round_num
    return len(accuracy)


@given(st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.4]), min_size=1, max_size=12),
       st.integers(1, 4))
def test_the_patience_rule_stops_where_a_counter_since_the_best_would(accuracy, patience):
    stop = next((n for n in range(1, len(accuracy) + 1)
                 if fedavg._patience_ran_out(accuracy[:n], patience)), len(accuracy))
    assert stop == counter_stop_round(accuracy, patience)


def test_evaluate_matches_numpy():
    x, y = make_data(30)
    weights = fedavg.make_model_weights(NUM_FEATURES, NUM_CLASSES, seed=2)
    result = fedavg.evaluate(weights, x, y)
    assert result["accuracy"] == np.mean(np.argmax(x @ weights[0] + weights[1], 1) == y)


# ------------------------------------------------------------ bad inputs


@pytest.mark.parametrize("kwargs, match", [
    (dict(client_lr=0.0), "client_lr must be a finite number > 0"),
    (dict(client_lr=-0.1), "client_lr must be a finite number > 0"),
    (dict(server_lr=0.0), "server_lr must be a finite number > 0"),
    (dict(server_lr=-1.0), "server_lr must be a finite number > 0"),
    (dict(local_epochs=0), "local_epochs must be an integer >= 1"),
    (dict(batch_size=0), "batch_size must be an integer >= 1"),
])
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(**kwargs)
    if "server_lr" not in kwargs:
        x, y = make_data(4)
        args = {"local_epochs": 1, "batch_size": 2, "client_lr": 0.1, **kwargs}
        with pytest.raises(ValueError, match=match):
            fedavg.client_update(fedavg.make_model_weights(4, 3), (x, y), **args)


@pytest.mark.parametrize("kwargs, match", [
    (dict(clients_per_round=0), r"clients_per_round must be an integer between 1 and 3, got 0"),
    (dict(clients_per_round=4), r"clients_per_round must be an integer between 1 and 3, got 4"),
    (dict(num_rounds=0), "num_rounds must be an integer >= 1"),
    (dict(patience=0), "patience must be an integer >= 1"),
    (dict(patience=2), "patience needs an eval_fn"),
])
def test_bad_run_training_arguments(process, clients, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fedavg.run_training(process, clients[3], **{"num_rounds": 1, **kwargs})


def test_an_empty_client_is_rejected(process, clients):
    import tensorflow as tf

    empty = tf.data.Dataset.from_tensor_slices(collections.OrderedDict(
        x=np.zeros((0, NUM_FEATURES), np.float32), y=np.zeros(0, np.int32))).batch(4)
    with pytest.raises(ValueError, match=r"client_data\[1\] has 0 examples"):
        fedavg.run_training(process, [clients[3][0], empty], num_rounds=1)


def test_wrong_feature_count_is_rejected(process):
    x, y = make_data(8)
    three = fedavg.make_client_datasets(x[:, :3], y, [np.arange(8)], batch_size=4)
    with pytest.raises(ValueError, match=r"client_data\[0\] holds .*feature count"):
        fedavg.run_training(process, three, num_rounds=1)
    weights = fedavg.make_model_weights(NUM_FEATURES, NUM_CLASSES)
    with pytest.raises(ValueError, match="x must have 4 features"):
        fedavg.client_update(weights, (x[:, :3], y), 1, 4, 0.1)
    with pytest.raises(ValueError, match="x must have 4 features"):
        fedavg.evaluate(weights, x[:, :3], y)


def test_bad_arrays_for_make_client_datasets():
    x, y = make_data(5)
    with pytest.raises(ValueError, match="x and y must have the same length, got 5 and 4"):
        fedavg.make_client_datasets(x, y[:4], [np.arange(5)], batch_size=2)
    with pytest.raises(ValueError, match="partition must have between 1 and 5 clients"):
        fedavg.make_client_datasets(x, y, [np.array([i % 5]) for i in range(6)], batch_size=2)
    with pytest.raises(ValueError, match=r"partition\[1\] must hold 1 or more indices"):
        fedavg.make_client_datasets(x, y, [np.arange(5), np.array([], int)], batch_size=2)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        fedavg.make_client_datasets(x, y, [np.arange(5)], batch_size=0)


def test_bad_hooks_are_rejected():
    import tensorflow_federated as tff

    with pytest.raises(TypeError, match="server_optimizer must be a tff.learning.optimizers"):
        build(server_optimizer="adam")
    with pytest.raises(ValueError, match="server_lr=0.5 applies only to the default"):
        build(server_optimizer=tff.learning.optimizers.build_adam(0.01), server_lr=0.5)
    with pytest.raises(TypeError, match="broadcast_fn must be a function"):
        build(broadcast_fn=1.0)
    with pytest.raises(ValueError, match="needs a receive_fn"):
        build(broadcast_fn=float16_broadcast)
    with pytest.raises(TypeError, match="model_aggregator must be a tff.aggregators factory"):
        build(model_aggregator="mean")
    with pytest.raises(ValueError, match="unweighted aggregation factory .* weighted=False"):
        build(model_aggregator=tff.aggregators.UnweightedMeanFactory())
    with pytest.raises(ValueError, match="weighted aggregation factory, but weighted=False"):
        build(model_aggregator=tff.aggregators.MeanFactory(), weighted=False)
