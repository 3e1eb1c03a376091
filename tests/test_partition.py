"""Tests for fedlab.partition."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab import partition as P

FAST = settings(max_examples=50, deadline=None)


def assert_exact_cover(parts: list[np.ndarray], num_examples: int, num_clients: int) -> None:
    """Every index 0..N-1 exactly once, every client non-empty, sorted int64."""
    assert len(parts) == num_clients
    for part in parts:
        assert part.dtype == np.int64
        assert len(part) >= 1
        assert np.all(np.diff(part) > 0)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(num_examples))


def assert_same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@st.composite
def labelled_split(draw):
    """(labels, num_clients, seed) with 1 <= num_clients <= N."""
    num_examples = draw(st.integers(1, 300))
    num_classes = draw(st.integers(1, 10))
    seed = draw(st.integers(0, 2**32 - 1))
    labels = np.random.default_rng(seed).integers(0, num_classes, num_examples)
    return labels, draw(st.integers(1, num_examples)), seed


# --------------------------------------------------------------------------
# Properties: nothing lost, nothing duplicated, nobody empty, deterministic
# --------------------------------------------------------------------------


@FAST
@given(st.data())
def test_iid_partition_covers_and_balances(data):
    n = data.draw(st.integers(1, 500))
    k = data.draw(st.integers(1, n))
    seed = data.draw(st.integers(0, 2**32 - 1))
    parts = P.iid_partition(n, k, seed)
    assert_exact_cover(parts, n, k)
    assert np.ptp(P.client_sizes(parts)) <= 1
    assert_same(parts, P.iid_partition(n, k, seed))


@FAST
@given(labelled_split(), st.integers(1, 5))
def test_shard_partition_covers(split, shards_per_client):
    labels, k, seed = split
    shards_per_client = min(shards_per_client, len(labels) // k)
    parts = P.shard_partition(labels, k, shards_per_client, seed)
    assert_exact_cover(parts, len(labels), k)
    assert_same(parts, P.shard_partition(labels, k, shards_per_client, seed))
    # Shards are runs of the label-sorted data, so each class boundary falls
    # inside at most one shard: sum of classes per client <= shards + classes - 1.
    counts = P.label_counts(labels, parts, int(labels.max()) + 1)
    num_classes = len(np.unique(labels))
    assert (counts > 0).sum() <= k * shards_per_client + num_classes - 1


@FAST
@given(st.integers(2, 10), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_shard_partition_limits_classes_per_client(num_classes, shards_per_client, seed):
    # Classes at least as large as a shard: a shard spans at most two classes.
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(num_classes), 30))
    k = len(labels) // (30 * shards_per_client) + 1
    parts = P.shard_partition(labels, k, shards_per_client, seed)
    counts = P.label_counts(labels, parts, num_classes)
    assert np.all((counts > 0).sum(axis=1) <= 2 * shards_per_client)


def test_shard_partition_one_class_per_shard_when_sizes_divide():
    labels = np.repeat(np.arange(10), 60)  # 20 clients x 3 shards of 10 examples
    parts = P.shard_partition(labels, 20, 3, seed=0)
    counts = P.label_counts(labels, parts, 10)
    assert np.all((counts > 0).sum(axis=1) <= 3)
    assert np.all(P.client_sizes(parts) == 30)


@FAST
@given(labelled_split(), st.floats(0.01, 1000.0))
def test_dirichlet_partition_covers(split, alpha):
    labels, k, seed = split
    parts = P.dirichlet_partition(labels, k, alpha, seed)
    assert_exact_cover(parts, len(labels), k)
    sizes = P.client_sizes(parts)
    assert set(sizes) <= {len(labels) // k, len(labels) // k + 1}
    assert_same(parts, P.dirichlet_partition(labels, k, alpha, seed))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dirichlet_skew_falls_as_alpha_grows(seed):
    labels = np.repeat(np.arange(10), 100)
    skews = [
        P.label_skew(labels, P.dirichlet_partition(labels, 50, a, seed)) for a in (0.1, 1, 100)
    ]
    # Observed about 0.86, 0.73, 0.30 for seeds 0-4.
    assert skews[0] > skews[1] > skews[2]
    assert skews[0] > 0.75 and skews[2] < 0.45


def test_dirichlet_depends_on_seed():
    labels = np.repeat(np.arange(10), 100)
    a = P.dirichlet_partition(labels, 10, 0.5, seed=0)
    b = P.dirichlet_partition(labels, 10, 0.5, seed=1)
    assert any(not np.array_equal(x, y) for x, y in zip(a, b))


@FAST
@given(st.data(), st.floats(0.0, 3.0))
def test_quantity_skew_partition_covers(data, sigma):
    n = data.draw(st.integers(1, 500))
    k = data.draw(st.integers(1, n))
    min_size = data.draw(st.integers(1, n // k))
    seed = data.draw(st.integers(0, 2**32 - 1))
    parts = P.quantity_skew_partition(n, k, sigma, seed, min_size=min_size)
    assert_exact_cover(parts, n, k)
    assert P.client_sizes(parts).min() >= min_size
    assert_same(parts, P.quantity_skew_partition(n, k, sigma, seed, min_size=min_size))


def test_quantity_skew_sigma_spreads_sizes():
    spreads = [
        np.ptp(P.client_sizes(P.quantity_skew_partition(1000, 50, s, seed=0))) for s in (0, 0.5, 2)
    ]
    assert spreads[0] == 0
    assert spreads[0] < spreads[1] < spreads[2]


@FAST
@given(st.data())
def test_make_feature_subsets(data):
    num_features = data.draw(st.integers(1, 40))
    k = data.draw(st.integers(1, 8))
    num_shared = data.draw(st.integers(0, num_features))
    extra = data.draw(st.integers(1 if num_shared == 0 else 0, num_features - num_shared))
    seed = data.draw(st.integers(0, 2**32 - 1))
    subsets = P.make_feature_subsets(num_features, k, num_shared, extra, seed)
    assert len(subsets) == k
    common = set(range(num_features))
    for cols in subsets:
        assert cols.dtype == np.int64 and len(cols) == num_shared + extra
        assert np.all(np.diff(cols) > 0) and cols.min() >= 0 and cols.max() < num_features
        common &= set(cols.tolist())
    assert len(common) >= num_shared
    assert_same(subsets, P.make_feature_subsets(num_features, k, num_shared, extra, seed))


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------


def test_label_counts_and_sizes():
    labels = np.array([0, 1, 1, 2, 2, 2])
    parts = [np.array([0, 1]), np.array([2, 3, 4, 5])]
    np.testing.assert_array_equal(P.label_counts(labels, parts, 4), [[1, 1, 0, 0], [0, 1, 3, 0]])
    np.testing.assert_array_equal(P.label_counts(labels, parts).shape, (2, 3))
    np.testing.assert_array_equal(P.client_sizes(parts), [2, 4])


def test_label_skew_extremes():
    labels = np.tile(np.arange(5), 4)  # 20 examples, 5 balanced classes
    iid = [np.arange(0, 10), np.arange(10, 20)]
    assert P.label_skew(labels, iid) == pytest.approx(0.0)
    one_class = [np.flatnonzero(labels == c) for c in range(5)]
    assert P.label_skew(labels, one_class) == pytest.approx(1 - 1 / 5)
    # Any integer labels, not only 0..C-1.
    assert P.label_skew(labels * 7 - 3, one_class) == pytest.approx(0.8)


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------

LABELS = np.repeat(np.arange(4), 5)  # 20 examples


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: P.iid_partition(10, 0, 0), "num_clients must be"),
        (lambda: P.iid_partition(10, 11, 0),
         "num_clients must be an integer between 1 and 10 "
         "\\(no more clients than examples\\), got 11"),
        (lambda: P.iid_partition(0, 1, 0), "num_examples must be an integer >= 1"),
        (lambda: P.shard_partition(LABELS, 21, 1, 0), "more clients than examples"),
        (lambda: P.shard_partition(LABELS, 5, 0, 0), "shards_per_client must be an integer >= 1"),
        (lambda: P.shard_partition(LABELS, 5, 5, 0), "more shards than examples"),
        (lambda: P.dirichlet_partition(LABELS, 4, 0.0, 0), "alpha must be .* > 0"),
        (lambda: P.dirichlet_partition(LABELS, 4, -1.0, 0), "alpha must be .* > 0"),
        (lambda: P.dirichlet_partition(LABELS, 0, 1.0, 0), "num_clients must be"),
        (lambda: P.dirichlet_partition(LABELS, 30, 1.0, 0), "more clients than examples"),
        (lambda: P.dirichlet_partition(LABELS, 4, 1.0, 0, min_size=6), "fewer than min_size"),
        (lambda: P.dirichlet_partition(LABELS.reshape(4, 5), 2, 1.0, 0), "labels must be 1-D"),
        (lambda: P.dirichlet_partition(LABELS.astype(float), 2, 1.0, 0),
         "labels must be integers"),
        (lambda: P.shard_partition(LABELS.astype(float), 2, 1, 0), "labels must be integers"),
        (lambda: P.quantity_skew_partition(20, 4, -0.1, 0), "sigma must be .* >= 0"),
        (lambda: P.quantity_skew_partition(20, 21, 1.0, 0), "more clients than examples"),
        (lambda: P.quantity_skew_partition(20, 4, 1.0, 0, min_size=6), "num_clients \\* min_size"),
        (lambda: P.quantity_skew_partition(20, 4, 1.0, 0, min_size=0),
         "min_size must be an integer >= 1"),
        (lambda: P.make_feature_subsets(10, 3, 0, 0, 0), "empty feature subset"),
        (lambda: P.make_feature_subsets(10, 3, 11, 0, 0),
         "num_shared must be an integer between 0 and 10"),
        (lambda: P.make_feature_subsets(10, 3, 4, 7, 0),
         "num_extra_per_client must be an integer between"),
        (lambda: P.make_feature_subsets(10, 0, 2, 2, 0), "num_clients must be an integer >= 1"),
        (lambda: P.make_feature_subsets(0, 3, 0, 0, 0), "num_features must be an integer >= 1"),
        (lambda: P.label_counts(LABELS, [np.arange(20)], 3), "labels must be between 0 and"),
        (lambda: P.label_skew(LABELS, [np.arange(20), np.array([], dtype=int)]),
         "client 1 has no"),
        (lambda: P.label_skew(LABELS.reshape(2, 10), [np.arange(20)]), "labels must be 1-D"),
    ],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: P.iid_partition(10, 2.0, 0),
         r"num_clients must be an integer between 1 and 10 "
         r"\(no more clients than examples\), got 2.0"),
        (lambda: P.shard_partition(LABELS, 5, True, 0),
         "shards_per_client must be an integer >= 1, got True"),
        (lambda: P.dirichlet_partition(LABELS, 4, "1", 0),
         "alpha must be a finite number > 0, got '1'"),
        (lambda: P.quantity_skew_partition(20, 4, None, 0),
         "sigma must be a finite number >= 0, got None"),
    ],
)
def test_arguments_of_the_wrong_kind_raise_type_error(call, match):
    with pytest.raises(TypeError, match=match):
        call()
