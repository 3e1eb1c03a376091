"""Argument checks shared by every fedlab module (private: the lessons never call these).

Each check names the argument, states the rule and shows the value it got:
``num_clients must be an integer >= 1, got 0``. A value of the wrong kind raises ``TypeError``
(``2.0`` where an integer is needed, ``"1"`` where a number is needed); a value of the right
kind outside the allowed range raises ``ValueError``. Both carry the same sentence.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def _interval(low, high, low_open: bool, high_open: bool) -> str:
    """The rule as words: '', ' >= 0', ' > 0', ' <= 1', ' between 1 and 3', ' in (0, 1]'."""
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low}"
    if low is None:
        return f" {'<' if high_open else '<='} {high}"
    if not (low_open or high_open):
        return f" between {low} and {high}"
    return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def check_int(name: str, value, low: int | None = None, high: int | None = None,
              why: str = "") -> int:
    """Returns `value` as a Python int if it is an integer in [low, high] (None: no bound).

    Args:
        name: The argument's name, as the caller wrote it (``"num_clients"``, ``"partition[3]"``).
        value: What the caller passed. ``bool`` is refused though Python counts it as an int.
        low, high: Inclusive bounds; None for no bound.
        why: Words appended to the rule, e.g. ``" (more than half of the 10 clients)"``.

    Raises:
        TypeError: `value` is not an integer (int or numpy integer).
        ValueError: `value` is outside [low, high].
    """
    rule = f"{name} must be an integer{_interval(low, high, False, False)}{why}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{rule}, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{rule}, got {value!r}")
    return value


def check_number(name: str, value, low: float | None = None, high: float | None = None, *,
                 low_open: bool = False, high_open: bool = False, why: str = "") -> float:
    """Returns `value` as a Python float if it is a finite real number within the bounds.

    Args:
        name: The argument's name, as the caller wrote it.
        value: What the caller passed: a Python or numpy real number (``bool`` is refused).
        low, high: Bounds; None for no bound.
        low_open, high_open: True excludes the bound itself (``> 0`` rather than ``>= 0``).
        why: Words appended to the rule.

    Raises:
        TypeError: `value` is not a real number.
        ValueError: `value` is NaN, infinite, or outside the bounds.
    """
    rule = f"{name} must be a finite number{_interval(low, high, low_open, high_open)}{why}"
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise TypeError(f"{rule}, got {value!r}")
    value = float(value)
    if (not math.isfinite(value)
            or (low is not None and (value <= low if low_open else value < low))
            or (high is not None and (value >= high if high_open else value > high))):
        raise ValueError(f"{rule}, got {value!r}")
    return value


def check_labels(name: str, labels) -> np.ndarray:
    """Returns `labels` as a 1-D numpy array of integers; raises ValueError naming `name`."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {labels.dtype}")
    return labels


def check_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Returns (x as float32, y as int32) for a data set of rows: x numeric [rows, features] with
    finite values and at least one row, y one integer label per row. Raises ValueError."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2 or len(x) == 0 or not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"x must be a non-empty numeric array of shape [rows, features], got "
                         f"shape {x.shape} of {x.dtype}")
    if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold one integer label per row of x ({len(x)}), got shape "
                         f"{y.shape} of {y.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must hold finite numbers only (no NaN or infinity)")
    return x.astype(np.float32), y.astype(np.int32)
