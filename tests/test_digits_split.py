"""fedlab.data.load_digits and split_train_test: the digits and their held-out split, once."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab import data


def test_load_digits_scales_the_pixels_to_zero_one_and_keeps_the_file_order():
    x_raw, y_raw, _ = data.load_dataset("digits")
    x, y = data.load_digits()
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(x * 16.0, x_raw)  # dividing by a power of two is exact
    np.testing.assert_array_equal(y, y_raw)


def test_the_split_is_the_lessons_shuffle_then_hold_out():
    x, y = data.load_digits()
    (x_train, y_train), (x_test, y_test) = data.split_train_test(x, y, test_fraction=0.2, seed=0)
    order = np.random.default_rng(0).permutation(len(x))  # notebook 01, written out
    num_test = int(0.2 * len(x))
    assert num_test == 359 == len(x_test) and len(x_train) == len(x) - 359
    np.testing.assert_array_equal(x_test, x[order[:num_test]])
    np.testing.assert_array_equal(y_test, y[order[:num_test]])
    np.testing.assert_array_equal(x_train, x[order[num_test:]])
    np.testing.assert_array_equal(y_train, y[order[num_test:]])


def test_num_test_holds_out_exactly_that_many_rows():
    x, y = data.load_digits()
    (x_train, _), (x_test, _) = data.split_train_test(x, y, num_test=297)
    assert len(x_test) == 297 and len(x_train) == len(x) - 297


def test_num_test_zero_is_the_whole_set_shuffled():
    x, y = data.load_digits()
    (x_train, y_train), (x_test, y_test) = data.split_train_test(x, y, num_test=0, seed=0)
    order = np.random.default_rng(0).permutation(len(x))
    np.testing.assert_array_equal(x_train, x[order])
    assert len(x_test) == 0 == len(y_test) and y_train.shape == y.shape


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(2, 60), share=st.floats(0.0, 0.99), seed=st.integers(0, 2**32 - 1))
def test_the_split_is_a_partition_of_the_rows_and_repeats_with_the_seed(rows, share, seed):
    x = np.arange(rows * 2).reshape(rows, 2)
    y = np.arange(rows)
    (x_train, y_train), (_, y_test) = data.split_train_test(x, y, test_fraction=share, seed=seed)
    assert len(y_test) == int(share * rows) and len(y_train) == rows - len(y_test)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(rows))
    np.testing.assert_array_equal(x_train[:, 0] // 2, y_train)  # rows stay with their labels
    again = data.split_train_test(x, y, test_fraction=share, seed=seed)
    np.testing.assert_array_equal(again[1][1], y_test)


@pytest.mark.parametrize("kwargs, error, words", [
    ({}, ValueError, "exactly one of test_fraction and num_test"),
    ({"test_fraction": 0.2, "num_test": 3}, ValueError, "exactly one of test_fraction and"),
    ({"test_fraction": 1.0}, ValueError, "test_fraction must be a finite number in"),
    ({"test_fraction": -0.1}, ValueError, "test_fraction must be a finite number in"),
    ({"test_fraction": float("nan")}, ValueError, "test_fraction must be a finite number in"),
    ({"test_fraction": "0.2"}, TypeError, "test_fraction must be a finite number"),
    ({"num_test": 10}, ValueError, r"num_test must be an integer between 0 and 9 \(leave a"),
    ({"num_test": -1}, ValueError, "num_test must be an integer between 0 and 9"),
    ({"num_test": 2.0}, TypeError, "num_test must be an integer"),
    ({"num_test": 2, "seed": -1}, ValueError, "seed must be an integer >= 0"),
    ({"num_test": 2, "seed": 0.5}, TypeError, "seed must be an integer"),
])
def test_bad_split_arguments_are_refused_by_name(kwargs, error, words):
    x, y = np.zeros((10, 2)), np.zeros(10, np.int32)
    with pytest.raises(error, match=words):
        data.split_train_test(x, y, **kwargs)


@pytest.mark.parametrize("x, y", [
    (np.zeros((10, 2)), np.zeros(9)),
    (np.zeros((1, 2)), np.zeros(1)),
    (np.float32(1.0), np.zeros(3)),
])
def test_rows_that_do_not_pair_up_are_refused(x, y):
    with pytest.raises(ValueError, match=r"x and y must hold the same number \(>= 2\) of rows"):
        data.split_train_test(x, y, num_test=0)


def test_a_missing_data_folder_is_named_by_load_digits(tmp_path):
    with pytest.raises(FileNotFoundError, match="no data manifest"):
        data.load_digits(data_dir=tmp_path)
