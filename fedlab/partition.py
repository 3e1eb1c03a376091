"""Split a labelled data set across simulated clients.

Every partitioner returns ``list[np.ndarray]``: one sorted ``int64`` array of
example indices per client. Unless a docstring says otherwise, every index
``0 .. N-1`` appears exactly once across clients and every client gets at least
one example; arguments that make that impossible raise ``ValueError``.

The statistics at the bottom (:func:`client_sizes`, :func:`label_counts`,
:func:`label_skew`) describe how heterogeneous a split is.
"""

from __future__ import annotations

import numpy as np

from fedlab._checks import check_int, check_labels, check_number

__all__ = [
    "iid_partition",
    "shard_partition",
    "dirichlet_partition",
    "quantity_skew_partition",
    "make_feature_subsets",
    "client_sizes",
    "label_counts",
    "label_skew",
]


_AT_MOST_EXAMPLES = " (no more clients than examples)"


def _split(order: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """Cuts ``order`` into consecutive pieces of ``sizes``, each sorted."""
    pieces = np.split(order, np.cumsum(sizes)[:-1])
    return [np.sort(piece).astype(np.int64) for piece in pieces]


# --------------------------------------------------------------------------
# Partitioners
# --------------------------------------------------------------------------


def iid_partition(num_examples: int, num_clients: int, seed: int) -> list[np.ndarray]:
    """Shuffles the examples and splits them as evenly as possible.

    Args:
        num_examples: Number of examples N (>= 1).
        num_clients: Number of clients, between 1 and N.
        seed: Seed for ``np.random.default_rng``.

    Returns:
        One sorted int64 index array per client; sizes differ by at most one.
    """
    num_examples = check_int("num_examples", num_examples, 1)
    num_clients = check_int("num_clients", num_clients, 1, num_examples, _AT_MOST_EXAMPLES)
    order = np.random.default_rng(seed).permutation(num_examples)
    return [np.sort(p).astype(np.int64) for p in np.array_split(order, num_clients)]


def shard_partition(
    labels: np.ndarray, num_clients: int, shards_per_client: int, seed: int
) -> list[np.ndarray]:
    """Pathological non-IID split of McMahan et al. 2017 (FedAvg paper).

    Sorts the examples by label (stable), cuts them into
    ``num_clients * shards_per_client`` consecutive shards whose sizes differ
    by at most one, and gives each client ``shards_per_client`` shards chosen
    at random. With MNIST, 100 clients and 2 shards each, most clients see
    only two digits.

    Args:
        labels: 1-D integer array of length N.
        num_clients: Number of clients, between 1 and N.
        shards_per_client: Shards per client (>= 1).
        seed: Seed for ``np.random.default_rng``.

    Returns:
        One sorted int64 index array per client.

    Raises:
        ValueError: If there are more shards than examples.
    """
    labels = check_labels("labels", labels)
    num_clients = check_int("num_clients", num_clients, 1, len(labels), _AT_MOST_EXAMPLES)
    shards_per_client = check_int("shards_per_client", shards_per_client, 1)
    num_shards = num_clients * shards_per_client
    if num_shards > len(labels):
        raise ValueError(
            f"num_clients * shards_per_client = {num_shards} shards is more "
            f"shards than examples ({len(labels)}); it must be at most {len(labels)}"
        )
    shards = np.array_split(np.argsort(labels, kind="stable"), num_shards)
    owners = np.random.default_rng(seed).permutation(num_shards)
    owners = owners.reshape(num_clients, shards_per_client)
    return [
        np.sort(np.concatenate([shards[s] for s in row])).astype(np.int64)
        for row in owners
    ]


def dirichlet_partition(
    labels: np.ndarray, num_clients: int, alpha: float, seed: int, min_size: int = 1
) -> list[np.ndarray]:
    """Per-client Dirichlet label skew of Hsu, Qi & Brown 2019 (arXiv:1909.06335).

    Each client k gets a fixed size (N // num_clients; the first
    N % num_clients clients get one more) and a class mix
    ``q_k ~ Dir(alpha * p)``, where p is the global class distribution.
    The client is filled by drawing classes from q_k among the examples not
    yet assigned; when a class runs out, q_k is renormalised over the classes
    that still have examples (if q_k puts no weight at all on them, which can
    happen for tiny alpha, the remaining class proportions are used instead).
    Clients are filled in order, so the last clients get what is left and
    may be less skewed than their q_k. Every example is assigned once.

    Small alpha (0.1) gives clients dominated by one or two classes; large
    alpha (100) approaches an IID split.

    Not to be confused with the other scheme also called "Dirichlet"
    (Yurochkin et al. 2019, Wang et al. 2020): there each CLASS draws its
    proportions over clients from Dir(alpha), so client sizes vary too.

    Args:
        labels: 1-D integer array of length N.
        num_clients: Number of clients, between 1 and N.
        alpha: Concentration (> 0).
        seed: Seed for ``np.random.default_rng``.
        min_size: Smallest allowed client size (>= 1); sizes are fixed, so
            this only checks that N // num_clients >= min_size.

    Returns:
        One sorted int64 index array per client.
    """
    labels = check_labels("labels", labels)
    num_examples = len(labels)
    num_clients = check_int("num_clients", num_clients, 1, num_examples, _AT_MOST_EXAMPLES)
    alpha = check_number("alpha", alpha, 0, low_open=True)
    min_size = check_int("min_size", min_size, 1)
    if num_examples // num_clients < min_size:
        raise ValueError(
            f"each client gets {num_examples // num_clients} examples "
            f"({num_examples} examples // {num_clients} clients), fewer than "
            f"min_size={min_size}"
        )

    rng = np.random.default_rng(seed)
    classes, class_of = np.unique(labels, return_inverse=True)
    pools = [rng.permutation(np.flatnonzero(class_of == c)) for c in range(len(classes))]
    used = np.zeros(len(classes), dtype=np.int64)  # examples assigned so far, per class
    available = np.array([len(pool) for pool in pools], dtype=np.int64)
    prior = available / num_examples
    sizes = np.full(num_clients, num_examples // num_clients)
    sizes[: num_examples % num_clients] += 1

    partition = []
    for size in sizes:
        q = rng.dirichlet(alpha * prior)
        take = np.zeros(len(classes), dtype=np.int64)
        while take.sum() < size:
            weights = np.where(available > take, q, 0.0)
            if not weights.sum() > 0:  # q_k ignores every class still available
                weights = (available - take).astype(float)
            draws = rng.multinomial(size - take.sum(), weights / weights.sum())
            take += np.minimum(draws, available - take)
        chosen = [pools[c][used[c] : used[c] + take[c]] for c in range(len(classes))]
        used += take
        available -= take
        partition.append(np.sort(np.concatenate(chosen)).astype(np.int64))
    return partition


def quantity_skew_partition(
    num_examples: int, num_clients: int, sigma: float, seed: int, min_size: int = 1
) -> list[np.ndarray]:
    """IID content, unequal sizes drawn from a lognormal distribution.

    Each client gets ``min_size`` examples plus a share of the remaining
    ``N - num_clients * min_size`` proportional to a lognormal(0, sigma)
    draw (largest-remainder rounding). sigma = 0 gives equal sizes; sigma
    around 1-2 gives a few large clients and many small ones.

    Args:
        num_examples: Number of examples N (>= 1).
        num_clients: Number of clients, between 1 and N.
        sigma: Standard deviation of the underlying normal (>= 0).
        seed: Seed for ``np.random.default_rng``.
        min_size: Smallest client size (>= 1).

    Returns:
        One sorted int64 index array per client.
    """
    num_examples = check_int("num_examples", num_examples, 1)
    num_clients = check_int("num_clients", num_clients, 1, num_examples, _AT_MOST_EXAMPLES)
    sigma = check_number("sigma", sigma, 0)
    min_size = check_int("min_size", min_size, 1)
    if num_clients * min_size > num_examples:
        raise ValueError(
            f"num_clients * min_size = {num_clients * min_size} is more than the "
            f"{num_examples} examples; min_size must be at most "
            f"{num_examples // num_clients}"
        )
    rng = np.random.default_rng(seed)
    weights = rng.lognormal(0.0, sigma, num_clients)
    share = (num_examples - num_clients * min_size) * weights / weights.sum()
    extra = np.floor(share).astype(np.int64)
    short = num_examples - num_clients * min_size - extra.sum()
    extra[np.argsort(extra - share, kind="stable")[:short]] += 1
    return _split(rng.permutation(num_examples), min_size + extra)


def make_feature_subsets(
    num_features: int,
    num_clients: int,
    num_shared: int,
    num_extra_per_client: int,
    seed: int,
) -> list[np.ndarray]:
    """Column subsets for cross-silo clients that record different features.

    Think of hospitals: all record the same ``num_shared`` columns (chosen at
    random, identical for every client), and each also records
    ``num_extra_per_client`` further columns drawn at random from the rest,
    independently per client (so two clients' extra columns may overlap).

    Args:
        num_features: Total number of columns (>= 1).
        num_clients: Number of clients (>= 1).
        num_shared: Columns every client has, between 0 and num_features.
        num_extra_per_client: Further columns per client, between 0 and
            num_features - num_shared.
        seed: Seed for ``np.random.default_rng``.

    Returns:
        One sorted int64 array of column indices per client.

    Raises:
        ValueError: If a subset would be empty (num_shared + num_extra_per_client == 0).
    """
    num_features = check_int("num_features", num_features, 1)
    num_clients = check_int("num_clients", num_clients, 1)
    num_shared = check_int("num_shared", num_shared, 0, num_features)
    num_extra_per_client = check_int(
        "num_extra_per_client", num_extra_per_client, 0, num_features - num_shared
    )
    if num_shared + num_extra_per_client == 0:
        raise ValueError(
            "num_shared + num_extra_per_client must be >= 1: a client with an "
            "empty feature subset records nothing"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(num_features)
    shared, rest = order[:num_shared], order[num_shared:]
    return [
        np.sort(np.concatenate([shared, rng.choice(rest, num_extra_per_client, replace=False)]))
        .astype(np.int64)
        for _ in range(num_clients)
    ]


# --------------------------------------------------------------------------
# Heterogeneity statistics
# --------------------------------------------------------------------------


def client_sizes(partition: list[np.ndarray]) -> np.ndarray:
    """Returns the number of examples of each client as an int64 array."""
    return np.array([len(indices) for indices in partition], dtype=np.int64)


def label_counts(
    labels: np.ndarray, partition: list[np.ndarray], num_classes: int | None = None
) -> np.ndarray:
    """Counts each client's examples per class.

    Args:
        labels: 1-D integer array with values in ``[0, num_classes)``.
        partition: One index array per client.
        num_classes: Number of classes; defaults to ``labels.max() + 1``.

    Returns:
        An int64 matrix of shape (num_clients, num_classes).
    """
    labels = check_labels("labels", labels)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if len(labels) else 1
    num_classes = check_int("num_classes", num_classes, 1)
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must be between 0 and num_classes - 1 = {num_classes - 1}, "
            f"got values from {labels.min()} to {labels.max()}"
        )
    return np.array(
        [np.bincount(labels[indices], minlength=num_classes) for indices in partition],
        dtype=np.int64,
    ).reshape(len(partition), num_classes)


def label_skew(labels: np.ndarray, partition: list[np.ndarray]) -> float:
    """Mean total-variation distance between client and global label mixes.

    For each client, TV = 0.5 * sum_c |p_k(c) - p(c)|, where p is the class
    distribution of all of ``labels``; the result is the unweighted mean over
    clients. 0 means every client has exactly the global mix; with C balanced
    classes and one class per client it is 1 - 1/C.

    Args:
        labels: 1-D integer array (any integer values).
        partition: One non-empty index array per client.

    Returns:
        A float in [0, 1).
    """
    labels = check_labels("labels", labels)
    if len(labels) == 0:
        raise ValueError("labels must not be empty")
    _, class_of = np.unique(labels, return_inverse=True)
    counts = label_counts(class_of, partition, int(class_of.max()) + 1)
    sizes = counts.sum(axis=1, keepdims=True)
    if np.any(sizes == 0):
        empty = int(np.flatnonzero(sizes[:, 0] == 0)[0])
        raise ValueError(f"client {empty} has no examples; label_skew needs non-empty clients")
    global_mix = np.bincount(class_of) / len(labels)
    return float(np.mean(0.5 * np.abs(counts / sizes - global_mix).sum(axis=1)))
