"""Tests for fedlab.synthetic."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab.synthetic import ClientSplit, make_synthetic

FAST = settings(max_examples=50, deadline=None)


def all_labels(client: ClientSplit) -> np.ndarray:
    return np.concatenate([client.y_train, client.y_test])


def mean_top_class_share(clients: list[ClientSplit]) -> float:
    """Average over clients of the fraction of samples in the client's top class."""
    return float(np.mean([np.bincount(all_labels(c)).max() / len(all_labels(c)) for c in clients]))


@FAST
@given(
    st.floats(0.0, 5.0),
    st.floats(0.0, 5.0),
    st.integers(1, 8),
    st.integers(1, 20),
    st.integers(2, 12),
    st.integers(0, 2**32 - 1),
    st.sampled_from([None, 2, 10, 120]),
)
def test_shapes_dtypes_and_split(alpha, beta, num_clients, num_features, num_classes, seed, cap):
    clients = make_synthetic(
        alpha, beta, num_clients, num_features, num_classes, seed, max_samples=cap
    )
    assert len(clients) == num_clients
    for c in clients:
        n = len(c.x_train) + len(c.x_test)
        assert n >= min(50, cap or 50)
        if cap is not None:
            assert n <= cap
        assert len(c.x_train) == int(0.9 * n) and len(c.y_train) == len(c.x_train)
        assert len(c.y_test) == len(c.x_test) >= 1
        assert c.x_train.shape[1:] == c.x_test.shape[1:] == (num_features,)
        assert c.x_train.dtype == c.x_test.dtype == np.float32
        assert c.y_train.dtype == c.y_test.dtype == np.int32
        assert all_labels(c).min() >= 0 and all_labels(c).max() < num_classes


def test_default_is_30_clients_60_features_10_classes():
    clients = make_synthetic(1, 1, max_samples=300)
    assert len(clients) == 30
    assert {c.x_train.shape[1] for c in clients} == {60}
    pooled = np.concatenate([all_labels(c) for c in clients])
    assert len(np.unique(pooled)) >= 5  # 9-10 classes seen for 200 seeds
    sizes = [len(all_labels(c)) for c in clients]
    assert min(sizes) >= 50


def test_deterministic_and_seed_dependent():
    a, b = make_synthetic(1, 1, seed=3), make_synthetic(1, 1, seed=3)
    for x, y in zip(a, b):
        for field in dataclasses.fields(ClientSplit):
            np.testing.assert_array_equal(getattr(x, field.name), getattr(y, field.name))
    c = make_synthetic(1, 1, seed=4)
    assert not np.array_equal(a[0].x_train[:5], c[0].x_train[:5])


def test_record_is_frozen():
    client = make_synthetic(0, 0, num_clients=1)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        client.x_train = client.x_test


def test_cap_keeps_small_clients_unchanged_in_size():
    free = [len(all_labels(c)) for c in make_synthetic(1, 1, seed=0)]
    capped = [len(all_labels(c)) for c in make_synthetic(1, 1, seed=0, max_samples=200)]
    assert capped == [min(n, 200) for n in free]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alpha_does_not_change_the_data(seed):
    # u_k adds the same amount to every class logit, so the argmax ignores it.
    a = make_synthetic(0, 1, seed=seed, max_samples=300)
    b = make_synthetic(5, 1, seed=seed, max_samples=300)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.x_train, y.x_train)
    agree = np.mean(np.concatenate([all_labels(x) == all_labels(y) for x, y in zip(a, b)]))
    assert agree > 0.99  # exactly 1.0 observed; float rounding could flip a near-tie


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_large_beta_concentrates_client_labels(seed):
    # Over 200 seeds: mean top-class share 0.72-0.89 at beta=0, 0.89-1.0 at beta=10,
    # and larger at beta=10 for every seed.
    low = mean_top_class_share(make_synthetic(0, 0, seed=seed, max_samples=200))
    high = mean_top_class_share(make_synthetic(0, 10, seed=seed, max_samples=200))
    assert high > low


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(alpha=-0.1, beta=1), "alpha must be .* >= 0"),
        (dict(alpha=1, beta=-1), "beta must be .* >= 0"),
        (dict(alpha=float("nan"), beta=1), "alpha must be a finite number"),
        (dict(alpha=1, beta=1, num_clients=0), "num_clients must be an integer >= 1"),
        (dict(alpha=1, beta=1, num_features=0), "num_features must be an integer >= 1"),
        (dict(alpha=1, beta=1, num_classes=1), "num_classes must be an integer >= 2"),
        (dict(alpha=1, beta=1, max_samples=1), "max_samples must be an integer >= 2"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(alpha=1, beta=1, max_samples=50.0), "max_samples must be an integer >= 2, got 50.0"),
        (dict(alpha="1", beta=1), "alpha must be a finite number >= 0, got '1'"),
    ],
)
def test_arguments_of_the_wrong_kind_raise_type_error(kwargs, match):
    with pytest.raises(TypeError, match=match):
        make_synthetic(**kwargs)
