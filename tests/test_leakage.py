"""fedlab.leakage: the single-example reconstruction and the label leak, checked with numpy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab import leakage


def _softmax_gradients(x, y, weights, bias):
    """dL/dW and dL/db of mean softmax cross-entropy, written out by hand."""
    logits = x @ weights + bias
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return x.T @ p / len(y), p.mean(axis=0)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), num_features=st.integers(1, 80),
       num_classes=st.integers(2, 12))
def test_one_example_is_recovered_exactly(seed, num_features, num_classes):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (1, num_features))
    y = rng.integers(0, num_classes, 1)
    grad_w, grad_b = _softmax_gradients(x, y, rng.normal(0, 0.1, (num_features, num_classes)),
                                        rng.normal(0, 0.1, num_classes))
    np.testing.assert_allclose(leakage.reconstruct_input(grad_w, grad_b), x[0],
                               rtol=1e-9, atol=1e-12)
    # A plain SGD delta works as well: the learning rate cancels.
    np.testing.assert_allclose(leakage.reconstruct_input(-0.3 * grad_w, -0.3 * grad_b), x[0],
                               rtol=1e-9, atol=1e-12)


def test_a_batch_is_not_recovered_but_its_labels_are():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (8, 20))
    y = np.array([1, 1, 3, 3, 3, 7, 7, 1])
    grad_w, grad_b = _softmax_gradients(x, y, np.zeros((20, 10)), np.zeros(10))
    guess = leakage.reconstruct_input(grad_w, grad_b)
    assert min(np.abs(guess - row).max() for row in x) > 0.05
    assert leakage.labels_in_update(grad_b).tolist() == [1, 3, 7]


@pytest.mark.parametrize("grad_w, grad_b, match", [
    (np.zeros(5), np.zeros(5), "grad_weights must be 2-D"),
    (np.zeros((4, 3)), np.zeros(5), "has 3 columns but grad_bias has 5"),
    (np.ones((4, 3)), np.zeros(3), "grad_bias is zero"),
])
def test_reconstruct_rejects_bad_input(grad_w, grad_b, match):
    with pytest.raises(ValueError, match=match):
        leakage.reconstruct_input(grad_w, grad_b)


def test_labels_rejects_bad_input():
    with pytest.raises(ValueError, match="grad_bias must be 1-D"):
        leakage.labels_in_update(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="tolerance must be a finite number >= 0, got -1.0"):
        leakage.labels_in_update(np.zeros(3), tolerance=-1)
