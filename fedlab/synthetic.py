"""The Synthetic(alpha, beta) federated data of the FedProx paper.

Li, Sahu, Zaheer, Sanjabi, Talwalkar & Smith, "Federated Optimization in
Heterogeneous Networks", MLSys 2020 (arXiv:1812.06127), Section 5.1.

For each client k (the paper's "device"):

* ``n_k = int(lognormal(4, 2)) + 50`` samples;
* ``u_k ~ N(0, alpha)``; ``W_k`` (classes x features) and ``b_k`` (classes)
  elementwise ``~ N(u_k, 1)``;
* ``B_k ~ N(0, beta)``; ``v_k`` (features) elementwise ``~ N(B_k, 1)``;
* ``x ~ N(v_k, Sigma)`` with ``Sigma`` diagonal, ``Sigma_jj = j ** -1.2``;
* ``y = argmax(softmax(W_k x + b_k))``;
* 90% of the samples for training, 10% for testing.

The authors' generator (``data/synthetic_1_1/generate_synthetic.py`` in
github.com/litian96/FedProx) uses the same formulas. Two readings of the
notation follow that code: the second argument of ``N(., .)`` is passed to
``np.random.normal`` as the *standard deviation* (so alpha and beta are
standard deviations), and ``n_k`` is truncated, not rounded, to an integer.
The train split is ``int(0.9 * n_k)`` samples, as there. The random streams
differ (this module uses ``np.random.default_rng``), so the numbers do not.

Note that adding the same ``u_k`` to every entry of ``W_k`` and ``b_k`` adds
``u_k * (1 + sum(x))`` to every class's logit alike, which leaves the argmax
unchanged: alpha does not change the distribution of the data. Clients'
models differ anyway (each ``W_k`` has its own N(0, 1) noise); beta shifts
the clients' inputs and so does change their label mixes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedlab._checks import check_int, check_number

__all__ = ["ClientSplit", "make_synthetic"]


@dataclass(frozen=True, eq=False)
class ClientSplit:
    """One client's data: float32 features (n, num_features), int32 labels (n,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def make_synthetic(
    alpha: float,
    beta: float,
    num_clients: int = 30,
    num_features: int = 60,
    num_classes: int = 10,
    seed: int = 0,
    max_samples: int | None = None,
) -> list[ClientSplit]:
    """Generates Synthetic(alpha, beta), one ClientSplit per client.

    Args:
        alpha: Standard deviation of u_k, the mean of W_k and b_k (>= 0).
        beta: Standard deviation of B_k, the mean of v_k (>= 0).
        num_clients: Number of clients (>= 1); 30 in the paper.
        num_features: Input dimension (>= 1); 60 in the paper.
        num_classes: Number of classes (>= 2); 10 in the paper.
        seed: Seed for ``np.random.default_rng``.
        max_samples: If given (>= 2), each client keeps at most this many
            samples (before the 90/10 split). lognormal(4, 2) + 50 has a
            median of about 100 but a heavy tail (a client can get tens of
            thousands), so a cap such as 500 keeps notebooks fast. The cap
            does not change the clients' models (u_k, W_k, b_k, v_k), only
            how many points are drawn.

    Returns:
        A list of ``num_clients`` ClientSplit records; client k has
        ``int(0.9 * n_k)`` training and ``n_k - int(0.9 * n_k)`` test samples.
    """
    alpha = check_number("alpha", alpha, 0)
    beta = check_number("beta", beta, 0)
    num_clients = check_int("num_clients", num_clients, 1)
    num_features = check_int("num_features", num_features, 1)
    num_classes = check_int("num_classes", num_classes, 2)
    if max_samples is not None:
        max_samples = check_int("max_samples", max_samples, 2)

    rng = np.random.default_rng(seed)
    sizes = rng.lognormal(4.0, 2.0, num_clients).astype(np.int64) + 50
    if max_samples is not None:
        sizes = np.minimum(sizes, max_samples)
    u = rng.normal(0.0, alpha, num_clients)
    big_b = rng.normal(0.0, beta, num_clients)
    v = rng.normal(big_b[:, None], 1.0, (num_clients, num_features))
    w = rng.normal(u[:, None, None], 1.0, (num_clients, num_classes, num_features))
    b = rng.normal(u[:, None], 1.0, (num_clients, num_classes))
    std = np.arange(1, num_features + 1, dtype=np.float64) ** -0.6  # sqrt(j ** -1.2)

    clients = []
    for k, n in enumerate(sizes):
        x = (v[k] + rng.standard_normal((n, num_features)) * std).astype(np.float32)
        # Label the float32 features actually returned; softmax does not change the argmax.
        y = np.argmax(x.astype(np.float64) @ w[k].T + b[k], axis=1).astype(np.int32)
        n_train = int(0.9 * n)
        clients.append(ClientSplit(x[:n_train], y[:n_train], x[n_train:], y[n_train:]))
    return clients
