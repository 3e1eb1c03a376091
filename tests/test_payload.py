"""Tests for fedlab.payload: bytes of tensors, TFF types and one FedAvg round."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab import fedavg, payload, runtime


@pytest.fixture(scope="module", autouse=True)
def tff_runtime():
    runtime.setup(seed=0, verbose=False)


def test_numpy_structures():
    weights = fedavg.make_model_weights(64, 10)
    assert payload.tensor_bytes(weights) == (64 * 10 + 10) * 4
    nested = {"a": np.zeros((2, 3), np.float64), "b": (np.zeros(5, np.int8), np.float32(1))}
    assert payload.tensor_bytes(nested) == 2 * 3 * 8 + 5 + 4
    assert payload.tensor_bytes([]) == 0


def test_tff_types_count_the_member_once():
    import tensorflow as tf
    import tensorflow_federated as tff

    weights = tff.StructType([tff.TensorType(np.float32, [64, 10]),
                              tff.TensorType(np.float32, [10])])
    assert payload.tensor_bytes(weights) == 2600
    assert payload.tensor_bytes(tff.FederatedType(weights, tff.CLIENTS)) == 2600
    assert payload.tensor_bytes(tf.zeros([3, 4], tf.int32)) == 48
    state_type = tff.FederatedType(
        tff.StructType([("weights", weights), ("round_num", tff.TensorType(np.int32))]),
        tff.SERVER)
    assert payload.tensor_bytes(state_type) == 2600 + 4  # the weights and round_num


def test_sizes_that_are_not_fixed_are_rejected():
    import tensorflow_federated as tff

    with pytest.raises(ValueError, match="must hold numbers of known shape"):
        payload.tensor_bytes(tff.TensorType(np.float32, [None, 64]))
    with pytest.raises(ValueError, match="must have a fixed size"):
        payload.tensor_bytes(tff.SequenceType(tff.TensorType(np.float32, [64])))
    with pytest.raises(ValueError, match="must hold numbers"):
        payload.tensor_bytes(np.array(["a", "b"]))


def test_round_bytes():
    assert payload.round_bytes(2600, 10) == {"down": 26000, "up": 26000}
    with pytest.raises(ValueError, match="clients_per_round must be an integer >= 1"):
        payload.round_bytes(2600, 0)
    with pytest.raises(ValueError, match="model_bytes must be an integer >= 0"):
        payload.round_bytes(-1, 10)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(0, 5), max_size=3),
                          st.sampled_from(["int8", "int32", "float32", "float64"])), max_size=4))
def test_bytes_are_the_sum_of_numpy_nbytes(specs):
    arrays = [np.zeros(shape, dtype) for shape, dtype in specs]
    assert payload.tensor_bytes(arrays) == sum(a.nbytes for a in arrays)
