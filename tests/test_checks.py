"""fedlab/_checks.py: the argument's name, the rule and the value, in one sentence."""

import numpy as np
import pytest

from fedlab._checks import check_int, check_labels, check_number, check_xy


@pytest.mark.parametrize("value", [0, 1, 5, np.int64(3), np.uint8(2)])
def test_check_int_returns_a_python_int(value):
    out = check_int("k", value, 0, 5)
    assert out == int(value) and type(out) is int


@pytest.mark.parametrize("args, message", [
    (("num_clients", 0, 1), "num_clients must be an integer >= 1, got 0"),
    (("clients_per_round", 4, 1, 3),
     "clients_per_round must be an integer between 1 and 3, got 4"),
    (("k", 10, None, 9), "k must be an integer <= 9, got 10"),
    (("threshold", 2, 3, 4, " (more than half)"),
     "threshold must be an integer between 3 and 4 (more than half), got 2"),
])
def test_check_int_refuses_values_out_of_range_with_value_error(args, message):
    with pytest.raises(ValueError) as info:
        check_int(*args)
    assert str(info.value) == message


@pytest.mark.parametrize("value", [2.0, True, False, "3", None, np.float32(1)])
def test_check_int_refuses_non_integers_with_type_error(value):
    with pytest.raises(TypeError) as info:
        check_int("num_rounds", value, 1)
    assert str(info.value) == f"num_rounds must be an integer >= 1, got {value!r}"


def test_check_int_without_bounds_accepts_any_integer():
    assert check_int("seed", -7) == -7
    with pytest.raises(TypeError, match="^seed must be an integer, got 1.5$"):
        check_int("seed", 1.5)


@pytest.mark.parametrize("value", [0.5, 1, np.float32(0.25), np.int64(1)])
def test_check_number_returns_a_python_float(value):
    out = check_number("rate", value, 0, 1, low_open=True)
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize("kwargs, value, message", [
    (dict(low=0, low_open=True), 0.0, "lr must be a finite number > 0, got 0.0"),
    (dict(low=0), -1, "lr must be a finite number >= 0, got -1.0"),
    (dict(high=1), 2, "lr must be a finite number <= 1, got 2.0"),
    (dict(high=1, high_open=True), 1, "lr must be a finite number < 1, got 1.0"),
    (dict(low=0, high=1), 1.5, "lr must be a finite number between 0 and 1, got 1.5"),
    (dict(low=0, high=1, low_open=True), 0, "lr must be a finite number in (0, 1], got 0.0"),
    (dict(low=0, high=1, low_open=True, high_open=True), 1,
     "lr must be a finite number in (0, 1), got 1.0"),
    (dict(low=0, high=1, high_open=True), 1, "lr must be a finite number in [0, 1), got 1.0"),
    (dict(), float("nan"), "lr must be a finite number, got nan"),
    (dict(low=0), float("inf"), "lr must be a finite number >= 0, got inf"),
])
def test_check_number_refuses_values_out_of_range_with_value_error(kwargs, value, message):
    with pytest.raises(ValueError) as info:
        check_number("lr", value, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize("value", ["0.1", None, True, [0.1], np.array([0.1]), 1j])
def test_check_number_refuses_non_numbers_with_type_error(value):
    with pytest.raises(TypeError) as info:
        check_number("lr", value, 0, low_open=True)
    assert str(info.value) == f"lr must be a finite number > 0, got {value!r}"


def test_check_number_appends_the_reason():
    match = r"^step must be a finite number > 0 \(the grid\), got -1.0$"
    with pytest.raises(ValueError, match=match):
        check_number("step", -1.0, 0, low_open=True, why=" (the grid)")


def test_check_labels_returns_integer_arrays_and_names_the_argument():
    assert check_labels("y", [0, 2, 1]).tolist() == [0, 2, 1]
    with pytest.raises(ValueError, match=r"^y must be 1-D, got shape \(2, 1\)$"):
        check_labels("y", [[0], [1]])
    with pytest.raises(ValueError, match="^labels must be integers, got dtype float64$"):
        check_labels("labels", [0.0, 1.0])


def test_check_xy_casts_and_refuses_mismatches():
    x, y = check_xy(np.ones((3, 2), np.float64), np.array([0, 1, 0], np.int64))
    assert x.dtype == np.float32 and y.dtype == np.int32 and x.shape == (3, 2)
    with pytest.raises(ValueError, match="x must be a non-empty numeric array"):
        check_xy(np.zeros((0, 2)), np.zeros(0, np.int32))
    with pytest.raises(ValueError, match="x must be a non-empty numeric array"):
        check_xy(np.zeros(3), np.zeros(3, np.int32))
    with pytest.raises(ValueError, match=r"y must hold one integer label per row of x \(3\)"):
        check_xy(np.zeros((3, 2)), np.zeros(2, np.int32))
    with pytest.raises(ValueError, match="x must hold finite numbers only"):
        check_xy(np.array([[np.nan]]), np.zeros(1, np.int32))
