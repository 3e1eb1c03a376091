"""fedlab.learning.make_model_fn: the Keras model the lessons hand to tff.learning."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from fedlab import fedavg, learning

NUM_FEATURES, NUM_CLASSES = 5, 3
GLOROT = "glorot_uniform"


def _input_spec(batched: bool = True):
    import tensorflow as tf

    x_shape = (None, NUM_FEATURES) if batched else (NUM_FEATURES,)
    return collections.OrderedDict(x=tf.TensorSpec(x_shape, tf.float32),
                                   y=tf.TensorSpec((None,) if batched else (), tf.int32))


def _batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(7, NUM_FEATURES)).astype(np.float32)
    y = rng.integers(0, NUM_CLASSES, 7).astype(np.int32)
    return collections.OrderedDict(x=x, y=y)


def test_each_call_builds_a_fresh_softmax_regression_starting_from_zeros():
    model_fn = learning.make_model_fn(_input_spec(), NUM_CLASSES)
    first, second = model_fn(), model_fn()
    shapes = [tuple(v.shape) for v in first.trainable_variables]
    assert shapes == [(NUM_FEATURES, NUM_CLASSES), (NUM_CLASSES,)]
    assert all(not np.any(v.numpy()) for v in first.trainable_variables)
    assert first.trainable_variables[0] is not second.trainable_variables[0]
    assert first.input_spec == _input_spec()


def test_the_loss_is_fedavgs_mean_loss_for_the_same_weights():
    model = learning.make_model_fn(_input_spec(), NUM_CLASSES, kernel_initializer=GLOROT)()
    weights = fedavg.make_model_weights(NUM_FEATURES, NUM_CLASSES, seed=3)
    for variable, value in zip(model.trainable_variables, weights):
        variable.assign(value)
    batch = _batch()
    output = model.forward_pass(batch, training=False)
    expected = float(fedavg.mean_loss(weights, batch["x"], batch["y"]))
    assert abs(float(output.loss) - expected) < 1e-6
    logits = np.asarray(fedavg.predict_logits(weights, batch["x"]))
    np.testing.assert_allclose(np.asarray(output.predictions), logits, rtol=0, atol=1e-6)


def test_glorot_initializer_gives_a_nonzero_kernel():
    model = learning.make_model_fn(_input_spec(), NUM_CLASSES, kernel_initializer=GLOROT)()
    kernel, bias = (v.numpy() for v in model.trainable_variables)
    limit = np.sqrt(6.0 / (NUM_FEATURES + NUM_CLASSES))
    assert np.any(kernel) and np.all(np.abs(kernel) <= limit) and not np.any(bias)


def test_accuracy_is_reported_only_when_asked_for():
    plain = learning.make_model_fn(_input_spec(), NUM_CLASSES)()
    with_accuracy = learning.make_model_fn(_input_spec(), NUM_CLASSES, with_accuracy=True)()
    assert "sparse_categorical_accuracy" not in plain.metric_finalizers()
    assert "sparse_categorical_accuracy" in with_accuracy.metric_finalizers()


def test_an_unbatched_spec_is_accepted_too():
    model = learning.make_model_fn(_input_spec(batched=False), NUM_CLASSES)()
    assert [tuple(v.shape) for v in model.trainable_variables][0] == (NUM_FEATURES, NUM_CLASSES)


@pytest.mark.parametrize("bad_spec, words", [
    ([1, 2], "mapping with keys 'x' and 'y'"),
    ({"x": None}, "mapping with keys 'x' and 'y'"),
    ({"x": "features", "y": "labels"}, "known last dimension"),
])
def test_a_spec_without_x_y_or_a_feature_count_is_refused(bad_spec, words):
    with pytest.raises(ValueError, match=words):
        learning.make_model_fn(bad_spec, NUM_CLASSES)


def test_a_spec_with_an_unknown_feature_count_is_refused():
    import tensorflow as tf

    spec = {"x": tf.TensorSpec((None, None), tf.float32), "y": tf.TensorSpec((None,), tf.int32)}
    with pytest.raises(ValueError, match=r"input_spec\['x'\] must have a known last dimension"):
        learning.make_model_fn(spec, NUM_CLASSES)


@pytest.mark.parametrize("num_classes, error", [(1, ValueError), (0, ValueError), (2.0, TypeError),
                                                (True, TypeError)])
def test_num_classes_must_be_an_integer_of_at_least_two(num_classes, error):
    with pytest.raises(error, match="num_classes must be an integer >= 2"):
        learning.make_model_fn(_input_spec(), num_classes)


def test_an_unknown_initializer_or_a_non_bool_flag_is_refused():
    with pytest.raises(ValueError, match="kernel_initializer must be one of"):
        learning.make_model_fn(_input_spec(), NUM_CLASSES, kernel_initializer="ones")
    with pytest.raises(TypeError, match="with_accuracy must be True or False"):
        learning.make_model_fn(_input_spec(), NUM_CLASSES, with_accuracy="yes")
