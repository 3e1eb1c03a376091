"""The model the lessons hand to `tff.learning`: softmax regression as a one-layer Keras model.

Written out in `notebooks/03_aggregation.ipynb` (its `model_fn`), where `tff.learning`'s FedAvg
is checked against the course's own; later lessons (04 secure aggregation, 05 differential
privacy, 07 bring your own data) call :func:`make_model_fn`. TensorFlow and TFF are imported
inside the functions, so importing this module does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from fedlab._checks import check_int

__all__ = ["KERNEL_INITIALIZERS", "make_model_fn"]

KERNEL_INITIALIZERS = ("zeros", "glorot_uniform")  # zeros: every run starts from the same model


def make_model_fn(input_spec, num_classes: int, *, kernel_initializer: str = "zeros",
                  with_accuracy: bool = False):
    """A no-argument `model_fn` for `tff.learning.algorithms.build_*`: softmax regression.

    Each call of the returned function builds a fresh Keras model (an input of the features,
    one `Dense(num_classes)` layer giving logits) and wraps it with
    `tff.learning.models.from_keras_model`, loss sparse categorical cross-entropy from logits:
    the same model and loss as `fedlab.fedavg`. Written out in
    `notebooks/03_aggregation.ipynb`.

    Args:
        input_spec: The `element_spec` of a client dataset: a mapping with `"x"` (features,
            last dimension known) and `"y"` (labels), e.g. `client_data[0].element_spec`.
        num_classes: Outputs of the layer (>= 2).
        kernel_initializer: One of `KERNEL_INITIALIZERS`; the bias starts at zero either way.
        with_accuracy: Also report Keras' `SparseCategoricalAccuracy` in the metrics.

    Raises:
        ValueError: `input_spec` without `"x"` and `"y"` or without a known feature count, a
            `num_classes` below 2, or an unknown `kernel_initializer`.
        TypeError: `num_classes` not an integer, `with_accuracy` not a bool.
    """
    if not isinstance(input_spec, Mapping) or not {"x", "y"} <= set(input_spec):
        raise ValueError(f"input_spec must be a mapping with keys 'x' and 'y' (a client "
                         f"dataset's element_spec), got {input_spec!r}")
    x_shape = getattr(input_spec["x"], "shape", None)
    if x_shape is None or len(x_shape) == 0 or x_shape[-1] is None:
        raise ValueError(f"input_spec['x'] must have a known last dimension (the features), "
                         f"got {input_spec['x']!r}")
    num_features = int(x_shape[-1])
    num_classes = check_int("num_classes", num_classes, 2)
    if kernel_initializer not in KERNEL_INITIALIZERS:
        raise ValueError(f"kernel_initializer must be one of {KERNEL_INITIALIZERS}, got "
                         f"{kernel_initializer!r}")
    if not isinstance(with_accuracy, bool):
        raise TypeError(f"with_accuracy must be True or False, got {with_accuracy!r}")

    def model_fn():
        import tensorflow as tf
        import tensorflow_federated as tff

        keras_model = tf.keras.Sequential([
            tf.keras.layers.InputLayer(input_shape=(num_features,)),
            tf.keras.layers.Dense(num_classes, kernel_initializer=kernel_initializer),
        ])
        metrics = [tf.keras.metrics.SparseCategoricalAccuracy()] if with_accuracy else None
        return tff.learning.models.from_keras_model(
            keras_model, input_spec=input_spec,
            loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=metrics)

    return model_fn
