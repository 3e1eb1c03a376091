"""Tests for fedlab.plots: what is drawn, and a clear ValueError for each bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fedlab import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_one_line_per_curve_from_round_one():
    ax = plots.plot_curves({"a": [0.1, 0.5, 0.9], "b": (0.2, 0.4)}, "round", "accuracy")
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["a", "b"]
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines[0].get_ydata(), [0.1, 0.5, 0.9])
    np.testing.assert_array_equal(lines[1].get_xdata(), [1, 2])
    assert ax.get_xlabel() == "round" and ax.get_ylabel() == "accuracy"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]


def test_target_is_a_dashed_horizontal_line():
    ax = plots.plot_curves({"a": np.array([0.5, 0.8])}, "round", "accuracy", target=0.9)
    target = ax.get_lines()[-1]
    assert target.get_label() == "target" and target.get_linestyle() == "--"
    np.testing.assert_array_equal(target.get_ydata(), [0.9, 0.9])


def test_draws_on_the_given_axes_and_does_not_show(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plot_curves called show()"))
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.plot_curves({"a": [1.0]}, "x", "y", ax=right) is right
    assert len(left.get_lines()) == 0 and len(right.get_lines()) == 1
    assert len(plt.get_fignums()) == 1  # no new figure


def test_a_new_figure_when_no_axes_is_given():
    ax = plots.plot_curves({"a": [1, 2]}, "x", "y")
    assert tuple(ax.figure.get_size_inches()) == (6, 3)


@pytest.mark.parametrize("curves, match", [
    ({}, "curves must be a non-empty dict"),
    ([[0.1, 0.2]], "curves must be a non-empty dict"),
    ({"a": []}, r"curves\['a'\] must be a 1-D sequence with at least one value"),
    ({"a": [0.1], "b": np.zeros((2, 2))}, r"curves\['b'\] must be a 1-D sequence"),
    ({"a": ["x", "y"]}, r"curves\['a'\] must be a sequence of numbers"),
    ({"a": [np.nan, np.nan]}, r"curves\['a'\] has no finite value"),
])
def test_bad_curves_are_rejected(curves, match):
    with pytest.raises(ValueError, match=match):
        plots.plot_curves(curves, "round", "accuracy")


def test_styles_apply_to_the_named_curves():
    ax = plots.plot_curves({"a": [1, 2], "b": [2, 1]}, "x", "y",
                           styles={"b": {"color": "red", "ls": ":"}})
    a, b = ax.get_lines()
    assert b.get_color() == "red" and b.get_linestyle() == ":"
    assert a.get_linestyle() == "-"


def test_styles_for_an_unknown_curve_are_rejected():
    with pytest.raises(ValueError, match=r"styles must name labels of curves; unknown: \['c'\]"):
        plots.plot_curves({"a": [1.0]}, "x", "y", styles={"c": {"color": "red"}})
    with pytest.raises(ValueError, match="styles must be a dict"):
        plots.plot_curves({"a": [1.0]}, "x", "y", styles=["red"])


@pytest.mark.parametrize("target, error", [
    (np.inf, ValueError), (float("nan"), ValueError), ("0.9", TypeError), (True, TypeError)])
def test_bad_target_is_rejected(target, error):
    with pytest.raises(error, match="target must be a finite number or None, got"):
        plots.plot_curves({"a": [0.5]}, "round", "accuracy", target=target)
