"""Tests for fedlab.clientfiles: one file per client, read back inside TFF (data by reference)."""

import numpy as np
import pytest

from fedlab import clientfiles, fedavg, runtime


@pytest.fixture(scope="module", autouse=True)
def tff_runtime():
    runtime.setup(seed=0, verbose=False)


def _data(rows=30, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    y = rng.integers(0, classes, rows).astype(np.int32)
    return x, y


def test_files_hold_each_clients_rows_in_order(tmp_path):
    x, y = _data()
    partition = [np.array([3, 1, 2]), np.arange(10, 30)]
    names = clientfiles.write_client_files(tmp_path / "site", x, y, partition)
    assert names == ["client_000.tfrecord", "client_001.tfrecord"]
    for name, rows in zip(names, partition):
        elements = list(clientfiles.read_client_file(str(tmp_path / "site" / name), 4))
        assert len(elements) == 1
        np.testing.assert_array_equal(elements[0]["x"].numpy(), x[rows])
        np.testing.assert_array_equal(elements[0]["y"].numpy(), y[rows])


def test_names_widen_with_many_clients_and_take_a_prefix(tmp_path):
    x, y = _data(rows=1200)
    names = clientfiles.write_client_files(tmp_path, x, y, [[i] for i in range(1001)],
                                           prefix="site_a")
    assert names[0] == "site_a_0000.tfrecord" and names[-1] == "site_a_1000.tfrecord"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def test_a_round_by_reference_equals_the_round_by_value(tmp_path):
    import tensorflow_federated as tff

    x, y = _data(rows=40, features=4)
    partition = [np.arange(0, 15), np.arange(15, 22), np.arange(22, 40)]
    names = clientfiles.write_client_files(tmp_path, x, y, partition)
    process = fedavg.build_fedavg_process(4, 3, local_epochs=2, batch_size=4, client_lr=0.1)
    load_client = clientfiles.build_load_client(4)
    assert str(load_client.type_signature) == "(str -> <x=float32[?,4],y=int32[?]>*)"

    @tff.federated_computation(process.next.type_signature.parameter[0],
                               tff.FederatedType(np.str_, tff.CLIENTS))
    def next_by_reference(server_state, paths):
        return process.next(server_state, tff.federated_map(load_client, paths))

    state = process.initialize()
    by_value, _ = process.next(state, fedavg.make_client_datasets(x, y, partition, 4))
    by_reference, metrics = next_by_reference(state, [str(tmp_path / n) for n in names])
    assert float(metrics["num_examples"]) == 40
    for a, b in zip(by_value.weights, by_reference.weights):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(by_value.weights[0], state.weights[0])


def test_a_missing_file_fails_naming_it(tmp_path):
    import tensorflow as tf

    with pytest.raises(tf.errors.NotFoundError, match="nowhere.tfrecord"):
        list(clientfiles.read_client_file(str(tmp_path / "nowhere.tfrecord"), 4))


def test_a_file_with_other_features_fails(tmp_path):
    import tensorflow as tf

    x, y = _data(features=4)
    names = clientfiles.write_client_files(tmp_path, x, y, [np.arange(5)])
    with pytest.raises(tf.errors.InvalidArgumentError):
        list(clientfiles.read_client_file(str(tmp_path / names[0]), 5))


@pytest.mark.parametrize("x, y, partition, match", [
    (np.zeros(4), np.zeros(4, np.int32), [[0]], "x must be"),
    (np.zeros((4, 2)), np.zeros(3, np.int32), [[0]], "y must hold"),
    (np.zeros((4, 2)), np.zeros(4, np.float32), [[0]], "y must hold"),
    (np.full((4, 2), np.nan), np.zeros(4, np.int32), [[0]], "finite"),
    (np.zeros((4, 2)), np.zeros(4, np.int32), [], "at least 1 client"),
    (np.zeros((4, 2)), np.zeros(4, np.int32), [[0], []], r"partition\[1\]"),
    (np.zeros((4, 2)), np.zeros(4, np.int32), [[4]], r"partition\[0\]"),
    (np.zeros((4, 2)), np.zeros(4, np.int32), [[-1]], r"partition\[0\]"),
    (np.zeros((4, 2)), np.zeros(4, np.int32), [[0.5]], r"partition\[0\]"),
])
def test_bad_inputs_are_refused(tmp_path, x, y, partition, match):
    with pytest.raises(ValueError, match=match):
        clientfiles.write_client_files(tmp_path, x, y, partition)


@pytest.mark.parametrize("prefix", ["", "a/b", 3])
def test_bad_prefix_is_refused(tmp_path, prefix):
    with pytest.raises(ValueError, match="prefix"):
        clientfiles.write_client_files(tmp_path, np.zeros((2, 2)), np.zeros(2, np.int32), [[0]],
                                       prefix=prefix)


@pytest.mark.parametrize("num_features, error", [
    (0, ValueError), (-1, ValueError), (2.0, TypeError), (True, TypeError), ("4", TypeError)])
def test_bad_num_features_is_refused(num_features, error):
    match = f"num_features must be an integer >= 1, got {num_features!r}"
    with pytest.raises(error, match=match):
        clientfiles.build_load_client(num_features)
    with pytest.raises(error, match=match):
        clientfiles.read_client_file("x.tfrecord", num_features)
