"""Small plotting helpers that the notebooks share. Introduced in `notebooks/03_aggregation.ipynb`.

Each function takes data and returns the matplotlib `Axes` it drew on; none calls `show()`,
so a notebook cell ends with `plt.show()` itself. matplotlib is imported inside the functions,
so importing this module does nothing.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from fedlab._checks import check_number

__all__ = ["plot_curves"]


def plot_curves(
    curves: Mapping[str, Sequence[float]], xlabel: str, ylabel: str,
    target: float | None = None, ax=None, styles: Mapping[str, Mapping] | None = None,
):
    """One line per named curve against round 1, 2, ...; returns the matplotlib `Axes`.

    Used for accuracy or loss per round (`notebooks/03_aggregation.ipynb`). Curves may have
    different lengths (a run that stopped early is shorter).

    Args:
        curves: Label -> values, one value per round (the first at x = 1). At least one
            curve; each with at least one finite number.
        xlabel: Label of the x axis, e.g. "round".
        ylabel: Label of the y axis, e.g. "held-out accuracy".
        target: If given, a finite number drawn as a dashed horizontal line labelled "target".
        ax: The `Axes` to draw on; None draws on a new figure of size (6, 3).
        styles: Optional label -> keyword arguments for `Axes.plot` (e.g. `color`, `ls`),
            for some or all of the curves.

    Raises:
        ValueError: If `curves` is empty, a curve is empty, not 1-D, or not numbers,
            `target` is not a finite number, or `styles` names a label not in `curves`.
    """
    if not isinstance(curves, Mapping) or len(curves) == 0:
        raise ValueError(f"curves must be a non-empty dict of label -> values, got {curves!r}")
    arrays = {}
    for label, values in curves.items():
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"curves[{label!r}] must be a sequence of numbers") from None
        if array.ndim != 1 or len(array) == 0:
            raise ValueError(f"curves[{label!r}] must be a 1-D sequence with at least one "
                             f"value, got shape {array.shape}")
        if not np.isfinite(array).any():
            raise ValueError(f"curves[{label!r}] has no finite value to plot")
        arrays[str(label)] = array
    if target is not None:
        target = check_number("target", target, why=" or None")
    styles = {} if styles is None else styles
    if not isinstance(styles, Mapping):
        raise ValueError("styles must be a dict of label -> plot keywords or None, "
                         f"got {styles!r}")
    unknown = sorted(str(label) for label in styles if str(label) not in arrays)
    if unknown:
        raise ValueError(f"styles must name labels of curves; unknown: {unknown}")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3))
    for label, array in arrays.items():
        ax.plot(np.arange(1, len(array) + 1), array, label=label, **dict(styles.get(label, {})))
    if target is not None:
        ax.axhline(float(target), color="gray", ls="--", lw=1, label="target")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return ax
