"""What a single client's model update gives away: taught in
`notebooks/04_secure_aggregation.ipynb`.

For a linear or softmax-regression layer `logits = x @ W + b` trained on ONE example, the
gradient of the loss is `dL/dW = outer(x, dL/db)`: every column of the weight gradient is the
input `x` scaled by one entry of the bias gradient. So `x = dL/dW[:, c] / dL/db[c]` for any
class `c` whose bias gradient is not zero, exactly. With a batch, each bias-gradient entry averages
`p_c - [label = c]` over the examples: it is positive for every class absent from the batch, so
a negative entry proves that its class is among the client's labels. The converse can fail: a
present class whose examples the model already predicts confidently may still get a positive
entry. At a model of zeros (p_c = 1/C) with fewer examples than classes, the negative entries
are exactly the labels present.
"""

from __future__ import annotations

import numpy as np

from fedlab._checks import check_number


def reconstruct_input(grad_weights, grad_bias, min_abs_bias_grad: float = 1e-12) -> np.ndarray:
    """Recovers the input of a one-example update of `logits = x @ W + b` from its gradients.

    Args:
        grad_weights: `dL/dW`, shape `[num_features, num_classes]` (a weight delta of one plain
            SGD step works too: it is `-lr * dL/dW`, and the `-lr` cancels).
        grad_bias: `dL/db`, shape `[num_classes]` (or the matching bias delta).
        min_abs_bias_grad: Entries of `grad_bias` at or below this size are not divided by.

    Returns:
        The input `x`, shape `[num_features]`, from the class with the largest `|dL/db|`.
    """
    grad_weights = np.asarray(grad_weights, np.float64)
    grad_bias = np.asarray(grad_bias, np.float64)
    if grad_weights.ndim != 2 or grad_bias.ndim != 1:
        raise ValueError(f"grad_weights must be 2-D and grad_bias 1-D, got shapes "
                         f"{grad_weights.shape} and {grad_bias.shape}")
    if grad_weights.shape[1] != grad_bias.shape[0]:
        raise ValueError(f"grad_weights has {grad_weights.shape[1]} columns but grad_bias has "
                         f"{grad_bias.shape[0]} entries; they must match (one per class)")
    c = int(np.argmax(np.abs(grad_bias)))
    if abs(grad_bias[c]) <= min_abs_bias_grad:
        raise ValueError("grad_bias is zero (to min_abs_bias_grad): the update carries no input")
    return grad_weights[:, c] / grad_bias[c]


def labels_in_update(grad_bias, tolerance: float = 0.0) -> np.ndarray:
    """Classes whose bias gradient is negative: each is a label of the batch (softmax
    cross-entropy).

    Every class it returns is present in the batch; a present class can be missed when the model
    already predicts it confidently (see the module docstring).

    Args:
        grad_bias: `dL/db` of a softmax-regression update (not a `-lr`-scaled delta: for a
            delta, pass `-delta`).
        tolerance: Entries must be below `-tolerance` to count.
    """
    grad_bias = np.asarray(grad_bias, np.float64)
    if grad_bias.ndim != 1:
        raise ValueError(f"grad_bias must be 1-D, got shape {grad_bias.shape}")
    tolerance = check_number("tolerance", tolerance, 0)
    return np.flatnonzero(grad_bias < -tolerance)
